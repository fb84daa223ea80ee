"""Reliability (issue #6): bad posts, kill -9 mid-write, concurrent readers and writers,
hostile queries and output safety. Nothing lost, nothing hangs.

Scaled to run in CI in well under a minute; `tests/bench/reliability.py` runs the same checks
at full scale (all 2,644 shared posts, 200 kill trials, 10,000 fuzzed queries) and prints the
figures. The helpers return lists of problems, so that script can count instead of stopping.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from badposts import BadCorpus, write_corpus
from click.testing import CliRunner
from corpus import FINEWS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchkit import Document, Index, QueryError, storage
from searchkit.cli import cli, rebuild_main
from searchkit.highlight import to_html

pytestmark = pytest.mark.needs_corpus

QUERY_TIME_LIMIT = 5.0  # seconds: the bound every query must keep, however hostile
NEXT_WRITE_LIMIT = 10.0  # seconds: a write after a kill -9 may wait this long for the lock
BIG_POST_MEMORY_LIMIT_MB = 400  # peak RSS of `searchkit index` over the corpus with 50 MB post


def command(name: str) -> list[str]:
    """The installed console script `name` (searchkit, searchkit-rebuild) of this Python."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    main = "cli" if name == "searchkit" else "rebuild_main"
    return [sys.executable, "-c", f"from searchkit.cli import {main}; {main}()"]


# --- 1. bad posts ----------------------------------------------------------------------------


@dataclass
class MeasuredRun:
    """A finished command: exit code, output, wall time and peak memory (it and its workers)."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


# Linux keeps a process's peak RSS across exec, so a command started straight from a big
# pytest process would report pytest's size: a small Python process starts it and reports
# its peak (wait4's rusage, which covers the pool workers it reaped).
_PEAK_RSS = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(args: list[str], timeout: float = 600) -> MeasuredRun:
    """Run a command to its end (killed after `timeout` seconds: a hang is a failure too)."""
    with tempfile.TemporaryDirectory() as folder:
        out, err, rss = (Path(folder, name) for name in ("out", "err", "rss"))
        started = time.monotonic()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            wrapper = [sys.executable, "-c", _PEAK_RSS, str(rss), *args]
            process = subprocess.Popen(
                wrapper, stdout=stdout, stderr=stderr, start_new_session=True
            )
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        peak_kb = int(rss.read_text()) if rss.exists() else -1024
        return MeasuredRun(
            process.returncode,
            out.read_text("utf-8"),
            err.read_text("utf-8"),
            time.monotonic() - started,
            peak_kb / 1024,
        )


def reported_problems(output: str, root: Path) -> tuple[list[tuple[str, str]], dict[str, list]]:
    """The `skipped PATH: reason` lines of a report as (id, reason), and warnings by id."""
    skipped, warnings = [], {}
    prefix = f"{root}/"
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("skipped", "warning") and rest.startswith(prefix):
            post_id, _, reason = rest[len(prefix) :].partition(": ")
            if kind == "skipped":
                skipped.append((post_id, reason))
            else:
                warnings.setdefault(post_id, []).append(reason)
    return skipped, warnings


def bad_corpus_problems(corpus: BadCorpus, output: str, index: Index) -> list[str]:
    """Everything indexing `corpus` got wrong: broken files not reported (or reported twice, or
    with the wrong reason), good posts skipped, missing caveats, good posts not found by
    their word (or other posts found by it)."""
    problems = []
    skipped, warnings = reported_problems(output, corpus.root)
    reasons = dict(skipped)
    if len(reasons) != len(skipped):
        problems.append(f"a file was reported twice: {sorted(p for p, _ in skipped)}")
    for post_id, keyword in corpus.broken.items():
        if keyword not in reasons.get(post_id, ""):
            problems.append(f"{post_id}: reason {reasons.get(post_id)!r} lacks {keyword!r}")
    for post_id in reasons.keys() - corpus.broken.keys():
        problems.append(f"{post_id} was skipped: {reasons[post_id]}")
    for post in corpus.good.values():
        if post.caveat and not any(post.caveat in w for w in warnings.get(post.id, [])):
            problems.append(f"{post.id}: no warning with {post.caveat!r}: {warnings.get(post.id)}")
        if post.word is None:
            try:
                index.get(post.id)
            except KeyError:
                problems.append(f"{post.id} is not in the index")
            continue
        # Every post that has the word, near-duplicates too (a search folds them into one row).
        hits = index.search(post.word, limit=10_000, exact_only=True, collapse=False)
        found = {hit.id for hit in hits}
        if found != post.found_by:
            problems.append(f"{post.id}: {post.word} finds {sorted(found)}")
    if index.count() != len(corpus.good):
        problems.append(f"{index.count()} posts indexed, {len(corpus.good)} good ones")
    return problems


@dataclass
class IndexedBadCorpus:
    corpus: BadCorpus
    index_path: Path
    run: MeasuredRun


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory) -> IndexedBadCorpus:
    """100 real posts, the hostile files (one of them 50 MB), indexed by `searchkit index`."""
    folder = tmp_path_factory.mktemp("bad-corpus")
    corpus = write_corpus(folder / "posts", real_posts=100, big_post_mb=50)
    index_path = folder / "index"
    run = run_measured(
        [*command("searchkit"), "index", str(corpus.root), "--index", str(index_path)]
    )
    return IndexedBadCorpus(corpus, index_path, run)


def test_indexing_bad_posts_finishes_reports_every_broken_file_and_finds_every_good_post(
    bad_corpus,
):
    run = bad_corpus.run
    assert run.exit_code == 0, run.stderr
    with Index.open(bad_corpus.index_path) as index:
        assert bad_corpus_problems(bad_corpus.corpus, run.stdout, index) == []


def test_memory_stays_bounded_on_the_50_mb_post(bad_corpus):
    assert bad_corpus.corpus.big_post_bytes >= 50 * 2**20
    assert bad_corpus.run.max_rss_mb < BIG_POST_MEMORY_LIMIT_MB
    _, warnings = reported_problems(bad_corpus.run.stdout, bad_corpus.corpus.root)
    assert warnings["huge.md"] == [
        "the file is 50.0 MB; indexed only its first 2.0 MB (the limit for one post)"
    ]


# --- 2. kill -9 mid-write --------------------------------------------------------------------


def _state(paths: list[Path], changed: list[Path], tag: str) -> dict[str, bytes]:
    """File name -> content: `paths`, with a probe word of this state added to `changed`."""
    state = {path.name: path.read_bytes() for path in paths}
    for n, path in enumerate(changed):
        state[path.name] += f"\n<p>probe{n}{tag}</p>\n".encode()
    return state


class CrashRig:
    """A posts folder that flips between two states, A and B, and an index of it.

    From A to B, 30 posts go, 39 come and 10 change (each carries a probe word of its state),
    so an update adds, updates and deletes. `snapshot()` is what searches answer.
    """

    def __init__(self, folder: Path):
        self.posts = folder / "posts"
        self.index_path = folder / "index"
        self.posts.mkdir(parents=True)
        files = sorted(FINEWS.glob("*.md"))
        changed = files[30:40]
        self.states = {"A": _state(files[:90], changed, "a"), "B": _state(files[30:], changed, "b")}
        self.probes = [f"probe{n}{s}" for s in "ab" for n in range(10)] + ["美联储", "缩表", "央行"]
        self.state = None
        self.expected: dict[str, tuple] = {}
        with Index.create(self.index_path) as index:
            for name in ("A", "B"):
                self.set_state(name)
                index.update_from(self.posts)
                self.expected[name] = self.snapshot(index)
        assert self.expected["A"] != self.expected["B"]

    def set_state(self, name: str) -> None:
        wanted = self.states[name]
        for path in self.posts.iterdir():
            if path.name not in wanted:
                path.unlink()
        for file_name, content in wanted.items():
            path = self.posts / file_name
            if not path.exists() or path.read_bytes() != content:
                path.write_bytes(content)
        self.state = name

    def flip(self) -> str:
        """Put the folder in the other state; returns its name."""
        self.set_state("B" if self.state == "A" else "A")
        return self.state

    def snapshot(self, index: Index | None = None) -> tuple:
        """The ids, and the ids each probe finds, of the index as it is now."""
        if index is None:
            with Index.open(self.index_path) as opened:
                return self.snapshot(opened)
        found = [
            tuple(sorted(h.id for h in index.search(q, limit=1000, exact_only=True)))
            for q in self.probes
        ]
        return tuple(index.ids()), tuple(found)

    def command(self, kind: str) -> list[str]:
        if kind == "index":
            return [
                *command("searchkit"),
                "index",
                str(self.posts),
                "--index",
                str(self.index_path),
            ]
        return [*command("searchkit-rebuild"), "--index", str(self.index_path), "--quiet"]

    def next_write_seconds(self) -> float:
        """How long a small write takes now: it waits for the lock if anything holds it."""
        with Index.open(self.index_path) as index:
            started = time.monotonic()
            index.delete(["no-such-post.md"])
            return time.monotonic() - started


@dataclass
class KillTrial:
    kind: str  # "index" or "rebuild"
    delay: float
    killed: bool
    outcome: str  # "before" or "after": the state searches answer afterwards
    next_write_seconds: float
    problems: list[str] = field(default_factory=list)


def kill_trial(rig: CrashRig, kind: str, delay: float) -> KillTrial:
    """Run a write, kill -9 it after `delay` seconds (unless done), then check the index:
    it opens, answers as before the write or as after it, and takes the next write."""
    before = rig.snapshot()
    target = "B" if before == rig.expected["A"] else "A"  # the state the index is not in
    rig.set_state(target)
    with tempfile.TemporaryFile() as err:  # not a pipe: orphaned workers would hold it open
        process = subprocess.Popen(rig.command(kind), stdout=subprocess.DEVNULL, stderr=err)
        try:
            process.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            killed = True
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    problems = []
    try:
        after = rig.snapshot()
    except Exception as error:  # noqa: BLE001 - the trial reports whatever went wrong
        return KillTrial(kind, delay, killed, "broken", -1, [f"cannot search: {error!r}"])
    outcome = "after" if after == rig.expected[target] else "before"
    if after not in (before, rig.expected[target]):
        problems.append(f"{kind} killed after {delay:.2f} s: searches answer neither state")
    if not killed and (process.returncode != 0 or outcome != "after"):
        problems.append(f"{kind} finished with {process.returncode}, {outcome}: {stderr}")
    seconds = rig.next_write_seconds()
    if seconds > NEXT_WRITE_LIMIT:
        problems.append(f"the next write waited {seconds:.1f} s")
    if rig.snapshot() != after:
        problems.append("the next write changed what searches answer")
    return KillTrial(kind, delay, killed, outcome, seconds, problems)


def kill_trials(rig: CrashRig, trials: int, rng: random.Random) -> list[KillTrial]:
    """`trials` kill trials, alternating `searchkit index` and `searchkit-rebuild`, killed at
    random moments of each command's run (timed first, uninterrupted)."""
    durations = {}
    for kind in ("index", "rebuild"):
        started = time.monotonic()
        trial = kill_trial(rig, kind, delay=120)
        assert not trial.killed and not trial.problems, trial
        durations[kind] = time.monotonic() - started
    results = []
    for n in range(trials):
        kind = ("index", "rebuild")[n % 2]
        # Half the kills anywhere in the run, half near its end, around the commit.
        low, high = (0, 1.2) if n % 4 < 2 else (0.8, 1.05)
        delay = rng.uniform(low, high) * durations[kind]
        results.append(kill_trial(rig, kind, delay))
    return results


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> CrashRig:
    """One rig for the kill -9 and concurrency tests; each leaves it in state A or B."""
    return CrashRig(tmp_path_factory.mktemp("rig"))


def test_kill_9_mid_write_loses_nothing_and_leaves_no_stale_lock(rig):
    assert rig.snapshot() == rig.expected[rig.state]
    trials = kill_trials(rig, trials=6, rng=random.Random(6))
    assert [problem for trial in trials for problem in trial.problems] == []
    assert any(trial.killed for trial in trials)
    # And an uninterrupted write afterwards brings the index to the folder's state.
    rig.flip()
    assert run_measured(rig.command("index"), timeout=120).exit_code == 0
    assert rig.snapshot() == rig.expected[rig.state]


# --- 3. concurrency ----------------------------------------------------------------------------


def reader(index_path: Path, probes, allowed, fresh: bool, stop, results) -> None:
    """Search until `stop`; count searches, errors and answers no committed state gives.
    `fresh`: open the index for each search (as the CLI does), else keep one open."""
    rng = random.Random(os.getpid())
    tally = {"searches": 0, "errors": [], "partial": []}
    index = None
    while not stop.is_set():
        query = rng.choice(probes)
        try:
            if index is None or fresh:
                index = Index.open(index_path)
            hits = index.search(query, limit=1000, exact_only=True)
            found = tuple(sorted(hit.id for hit in hits))
            if found not in allowed[query] or hits.total != len(found):
                tally["partial"].append((query, len(found), hits.total))
        except Exception as error:  # noqa: BLE001 - counted, not raised
            tally["errors"].append(repr(error))
        tally["searches"] += 1
        time.sleep(rng.uniform(0, 0.05))  # leave the writers some of the two cores
    results.put(tally)


def cli_reader(index_path: Path, probes, allowed, stop, results) -> None:
    """Like `reader`, through `searchkit search --json` processes."""
    rng = random.Random(os.getpid())
    tally = {"searches": 0, "errors": [], "partial": []}
    while not stop.is_set():
        query = rng.choice(probes)
        args = [*command("searchkit"), "search", query, "--index", str(index_path)]
        options = ["--exact", "--json", "-n", "1000"]
        done = subprocess.run([*args, *options], capture_output=True, timeout=60)
        tally["searches"] += 1
        try:
            found = tuple(sorted(hit["id"] for hit in json.loads(done.stdout)["hits"]))
        except ValueError:
            tally["errors"].append(f"exit {done.returncode}: {done.stderr.decode()[-300:]}")
            continue
        if done.returncode not in (0, 1) or found not in allowed[query]:
            tally["partial"].append((query, done.returncode, len(found)))
        time.sleep(rng.uniform(0, 0.5))
    results.put(tally)


@dataclass
class ConcurrencyFigures:
    searches: int
    errors: list
    partial: list
    writes: int


def concurrent_use(
    rig: CrashRig, seconds: float, readers: int = 2, min_writes: int = 4
) -> ConcurrencyFigures:
    """Readers (long-lived, one index per search, and the CLI) search while two writers write
    at once: this process flips the folder and updates or rebuilds, while a process runs
    `searchkit-rebuild` or `searchkit index`. Flips happen under the index lock, so every
    commit is of state A or B. Runs `seconds`, and at least `min_writes` writes."""
    allowed = {q: {rig.expected[s][1][i] for s in "AB"} for i, q in enumerate(rig.probes)}
    context = multiprocessing.get_context("fork")
    stop, results = context.Event(), context.Queue()
    shared = (rig.index_path, rig.probes, allowed)
    processes = [
        context.Process(target=reader, args=(*shared, n % 2, stop, results)) for n in range(readers)
    ]
    processes.append(context.Process(target=cli_reader, args=(*shared, stop, results)))
    for process in processes:
        process.start()
    deadline = time.monotonic() + seconds
    writes = 0
    with Index.open(rig.index_path) as index:
        while writes < min_writes or time.monotonic() < deadline:
            with storage.lock(rig.index_path):
                rig.flip()
            rebuild_here = writes % 4 == 0  # one of the two rebuilds, the other updates
            other = rig.command("index" if rebuild_here else "rebuild")
            second_writer = subprocess.Popen(other, stdout=subprocess.DEVNULL)
            if rebuild_here:
                index.rebuild()
            else:
                index.update_from(rig.posts)
            assert second_writer.wait(timeout=120) == 0
            writes += 2
    stop.set()
    tallies = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return ConcurrencyFigures(
        sum(t["searches"] for t in tallies),
        [e for t in tallies for e in t["errors"]],
        [p for t in tallies for p in t["partial"]],
        writes,
    )


def test_searches_during_updates_and_rebuilds_never_fail_or_see_half_a_write(rig):
    assert rig.snapshot() == rig.expected[rig.state]
    figures = concurrent_use(rig, seconds=4, min_writes=4)
    assert figures.errors == [] and figures.partial == []
    assert figures.searches > 100 and figures.writes >= 4
    assert rig.snapshot() == rig.expected[rig.state]


def test_two_writers_creating_one_index_lose_nothing(tmp_path):
    files = sorted(FINEWS.glob("*.md"))
    halves = [tmp_path / "first", tmp_path / "second"]
    for half, chunk in zip(halves, (files[:20], files[20:40]), strict=True):
        half.mkdir()
        for path in chunk:
            shutil.copy(path, half)
    index_path = tmp_path / "index"
    writers = [
        subprocess.Popen([*command("searchkit"), "index", str(half), "--index", str(index_path)])
        for half in halves
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    with Index.open(index_path) as index:
        assert index.count() == 40


def test_opening_survives_a_generation_removed_under_it(tmp_path, monkeypatch):
    # A reader reads CURRENT; two rebuilds later, the generation it names is gone (the
    # concurrency run found this: a `searchkit search` failed with Whoosh's EmptyIndexError).
    path = tmp_path / "index"
    Index.create(path).add([Document(id="a", title="降准", body="央行降准")])
    live, meta = storage.read_current(path)
    read_current = storage.read_current
    stale = iter([("gen-removed-by-a-rebuild", meta)])
    monkeypatch.setattr(storage, "read_current", lambda p: next(stale, None) or read_current(p))
    with Index.open(path) as index:
        assert index.count() == 1 and index.generation == live


def hold_lock(index_path: Path, seconds: float, ready) -> None:
    with storage.lock(index_path):
        ready.set()
        time.sleep(seconds)


@pytest.mark.parametrize("program, args", [(cli, ["index"]), (rebuild_main, [])])
def test_a_writer_that_cannot_get_the_lock_fails_with_one_clear_line(
    tmp_path, monkeypatch, program, args
):
    posts = tmp_path / "posts"
    posts.mkdir()
    shutil.copy(FINEWS / "2022-06-07-202206072404046437.md", posts)
    index_path = tmp_path / "index"
    Index.create(index_path).update_from(posts)
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    holder = context.Process(target=hold_lock, args=(index_path, 5, ready))
    holder.start()
    try:
        assert ready.wait(10)
        monkeypatch.setattr(storage, "LOCK_TIMEOUT", 0.3)
        result = CliRunner().invoke(program, [*args, str(posts), "--index", str(index_path)])
    finally:
        holder.kill()
        holder.join()
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "another process is writing" in result.stderr
    assert Index.open(index_path).count() == 1


# --- 4. hostile queries ----------------------------------------------------------------------

CURATED_QUERIES = [
    *['"', '""', '"缩表', '缩表"', '"缩表" "', "“", "”", "“缩表", "缩表”", "'", "`"],
    *["(", ")", "((缩表", "缩表))", "(缩表 OR 降准", "[", "]", "{", "}", "<", ">"],
    *["OR", "AND", "NOT", "-", "--", "- -", "OR OR", "NOT NOT", "AND AND", "缩表 OR"],
    *["OR 缩表", "缩表 NOT", "NOT 缩表", "-缩表", "缩表 -", "-OR", "-NOT", "NOT -缩表"],
    *["缩表 OR -降准", "缩表 OR OR 降准", "ＯＲ", "or", "not 缩表", "+", "+缩表", "!", "~", "^"],
    *["title:", "body:", "tag:", "tags:", "category:", "date:", "title: 缩表", "-title:"],
    *["title:-", 'title:""', 'title:"', 'tag:""', 'date:""', "date:..", "date:...."],
    *["date:2022-13", "date:2022-02-30", "date:0000", "date:0", "date:-1", "date:99999"],
    *["date:2022..2021", "date:abc", "date:2022-06-07T10:00", "date:1e9", "date:٢٠٢٢"],
    *["date:2022-06-", "date:--", "date:2022..2022..2022", "foo:", "foo:bar", ":", "::"],
    *[":缩表", "缩表:", "http://example.com/a?b=c#d", "C:\\Windows", "a:b:c:d"],
    *["*", "**", "?", "*缩*", "缩*", "*表", "%", "_", ".*", "[a-z]+", "\\", "\\\\"],
    *["的", "一", "是", "在", "了", "a", "e", "1", "0", "0.0", "1,000", "-1", "2.5"],
    *["的" * 2000, "一" * 2000, "缩表 " * 666, "a " * 1000, "a OR " * 400, "-缩表 " * 600],
    *['"' + "缩表" * 999 + '"', "title:的 " * 250, "date:2022 " * 200, "OR " * 666],
    *["x" * 2001, "x" * 10_000, "缩" * 10_000, "缩表 " * 5000, "🙂" * 10_000],
    *["🙂", "🙂" * 100, "👨‍👩‍👧‍👦", "🇨🇳", "\u200b", "\u200d", "\ufeff", "\ufffd", "\u202e缩表"],
    *["\0", "a\0b", "\0" * 100, "缩\0表", "\x1b[2J", "\x07", "\x7f", "\x85", "\u2028"],
    *["\ud800", "缩表\udcff", "\udfff\ud800", "\n", "\t", "\r\n", " ", "　", "", "   "],
    *["<script>alert(1)</script>", "&lt;", "&amp;", "%s%n%x", "${jndi:ldap://x}", "' OR 1=1 --"],
    *["美联储什么时候开始缩表", "缩表是什么意思？", "谁 什么 哪 吗", "的的的的的的的的的的的"],
    *["ＭＬＦ", "縮表", "ﾃｽﾄ", "Ǆ", "ß", "İ", "ﬁ", "①②③", "㍿", "\U00020000\U0002a6d6"],
]


def timed_query(index: Index, query: str, **options) -> tuple[str, float]:
    """Run one search: ("results" | "query error", seconds). Anything else is raised."""
    started = time.monotonic()
    try:
        results = index.search(query, **options)
        assert results.total >= len(results.hits)
        outcome = "results"
    except QueryError as error:
        assert str(error) and "\n" not in str(error)
        outcome = "query error"
    return outcome, time.monotonic() - started


@pytest.fixture(scope="module")
def searched_index(bad_corpus):
    with Index.open(bad_corpus.index_path) as index:
        yield index


def test_curated_hostile_queries_give_results_or_a_query_error_quickly(searched_index):
    for n, query in enumerate(CURATED_QUERIES):
        sort, exact_only = ("relevance", "date")[n % 2], n % 3 == 2
        _outcome, seconds = timed_query(
            searched_index, query, sort=sort, limit=20, exact_only=exact_only
        )
        assert seconds < QUERY_TIME_LIMIT, (query[:50], seconds)


QUERY_PIECES = st.sampled_from(
    [
        '"',
        "“",
        "”",
        "OR",
        "NOT",
        "AND",
        "-",
        "(",
        ")",
        ":",
        "title:",
        "tag:",
        "date:",
        "..",
        "date:2022-06",
        "*",
        "?",
        "缩表",
        "回购",
        "的",
        "ＭＬＦ",
        " ",
        "\0",
        "🙂",
        "　",
        "\ud800",
    ]
)
ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates and controls included


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(ANY_CHARACTER, max_size=300),
        st.lists(st.one_of(QUERY_PIECES, st.text(ANY_CHARACTER, max_size=8)), max_size=12).map(
            "".join
        ),
    )
)
def test_any_unicode_query_gives_results_or_a_query_error_quickly(searched_index, query):
    _outcome, seconds = timed_query(searched_index, query, limit=10)
    assert seconds < QUERY_TIME_LIMIT


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(QUERY_PIECES, st.text(max_size=12)), max_size=8).map("".join))
def test_any_query_on_a_small_index_gives_results_or_a_query_error(handmade_index, query):
    """The same on the hand-made posts (traditional script, full width, Latin words)."""
    _outcome, seconds = timed_query(handmade_index, query)
    assert seconds < QUERY_TIME_LIMIT


def cli_query_problems(index_path: Path, query: str, options: list[str]) -> list[str]:
    """What is wrong with `searchkit search QUERY`: exit 0/1 with valid JSON, or exit 2 with
    one line on stderr, are right."""
    args = ["search", "--index", str(index_path), *options, "--", query]  # query may start with -
    result = CliRunner().invoke(cli, args)
    if result.exception and not isinstance(result.exception, SystemExit):
        return [f"{query[:40]!r}: {result.exception!r}"]
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("searchkit: error: "):
            return [f"{query[:40]!r}: exit 2 with {result.stderr!r}"]
        return []
    if result.exit_code not in (0, 1):
        return [f"{query[:40]!r}: exit {result.exit_code}"]
    if "--json" in options:
        try:
            document = json.loads(result.stdout)
        except ValueError as error:
            return [f"{query[:40]!r}: invalid JSON ({error})"]
        if document["total"] < len(document["hits"]):
            return [f"{query[:40]!r}: total below the hits"]
    return []


def test_the_cli_answers_hostile_queries_with_results_or_one_error_line(bad_corpus):
    problems = []
    for n, query in enumerate(CURATED_QUERIES[::3]):  # all of them: tests/bench/reliability.py
        options = ["--json", "--exact"] if n % 2 else ["--exact"]  # exact: no jieba per run
        problems += cli_query_problems(bad_corpus.index_path, query, options)
    for query in ("美联储什么时候开始缩表", '"缩表', "缩表 OR"):
        problems += cli_query_problems(bad_corpus.index_path, query, ["--json"])
    assert problems == []


def test_a_query_that_is_not_utf8_is_one_error_line(bad_corpus):
    args = [*command("searchkit"), "search", b"\xff\xfe", "--index", str(bad_corpus.index_path)]
    done = subprocess.run(args, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "searchkit: error: the query is not valid UTF-8 text"
    ]


# --- 5. output safety ------------------------------------------------------------------------


def test_html_highlighting_escapes_a_script_in_title_and_body(searched_index, bad_corpus):
    word = bad_corpus.corpus.good["script.md"].word
    [hit] = searched_index.search(word, exact_only=True)
    assert "<script>" in hit.title
    title_html = to_html(hit.title, list(hit.title_marks))
    assert "<script" not in title_html and "<b>" not in title_html
    assert "&lt;script&gt;alert(&#x27;标题&#x27;)&lt;/script&gt;&lt;b&gt;粗" in title_html
    post = searched_index.get("script.md")
    assert "alert('正文')" not in post.body  # the <script> element is no text
    assert "<script>alert(1)</script>" in post.body  # the escaped one is
    body_html = to_html(post.body, [])
    assert "<script" not in body_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in body_html
    snippet_html = to_html(hit.snippet, list(hit.marks))
    assert f"<mark>{word}</mark>" in snippet_html and "<script" not in snippet_html


def test_no_control_character_reaches_the_terminal(bad_corpus):
    for post_id in ("controls.md", "script.md"):
        result = CliRunner().invoke(cli, ["show", post_id, "--index", str(bad_corpus.index_path)])
        assert result.exit_code == 0
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stdout), result.stdout


def test_json_output_is_valid_for_every_good_post(bad_corpus):
    problems = []
    for post in bad_corpus.corpus.good.values():
        if post.word is not None and not post.id.startswith(("finews/", "finance/")):
            problems += cli_query_problems(bad_corpus.index_path, post.word, ["--json", "--exact"])
            result = CliRunner().invoke(
                cli, ["show", post.id, "--json", "--index", str(bad_corpus.index_path)]
            )
            assert json.loads(result.stdout)["id"] == post.id
    assert problems == []
