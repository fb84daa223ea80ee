"""Reliability report (issue #6): the checks of `tests/test_reliability.py` at full scale.

Not a test suite: it builds throwaway corpora and indexes in a temp dir and prints figures.

    python tests/bench/reliability.py                         # 200 kill trials, 10,000 queries
    python tests/bench/reliability.py --trials 20 --queries 1000 --real-posts 300   # quicker

1. Bad posts: all 2,644 shared posts mixed with the hostile files of `tests/badposts.py` (one
   of them 50 MB), indexed by `searchkit index` and rebuilt by `searchkit-rebuild`: every broken
   file reported with its reason, every good post found by a word only it contains, peak memory.
2. kill -9: `searchkit index` and `searchkit-rebuild` killed at random moments; afterwards the
   index must open, answer as before the write or as after it, and take the next write.
3. Concurrency: searches in several processes (and through the CLI) while two writers update
   and rebuild at once: no errors, no answer that no committed state gives.
4. Hostile queries: the curated list and fuzzed ones; each gives results or a QueryError
   within the time bound (a query still running at twice the bound is stopped and counted).
5. Output: HTML escaping and valid JSON for every good post.

`--skip kill,concurrency,queries,output` leaves sections out (section 1 always runs).

Exit code 0 when nothing was lost, nothing crashed and nothing hung; 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: badposts, helpers

from badposts import write_corpus  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from corpus import FINANCE  # noqa: E402
from test_reliability import (  # noqa: E402
    CURATED_QUERIES,
    QUERY_TIME_LIMIT,
    CrashRig,
    bad_corpus_problems,
    cli_query_problems,
    command,
    concurrent_use,
    kill_trials,
    reported_problems,
    run_measured,
    timed_query,
)

from searchkit import Index, documents, query  # noqa: E402
from searchkit.cli import cli  # noqa: E402
from searchkit.highlight import to_html  # noqa: E402

failures: list[str] = []


def section(title: str) -> None:
    print(f"\n## {title}", flush=True)


def figure(name: str, value) -> None:
    print(f"  {name:<50} {value}", flush=True)


def expect(ok: bool, what: str) -> None:
    if not ok:
        failures.append(what)
        print(f"  FAILED: {what}", flush=True)


def bad_posts(folder: Path, real_posts: int | None, big_post_mb: float) -> tuple:
    section("1. Bad posts")
    started = time.monotonic()
    corpus = write_corpus(folder / "posts", real_posts=real_posts, big_post_mb=big_post_mb)
    figure("corpus written in", f"{time.monotonic() - started:.1f} s")
    index_path = folder / "index"
    run = run_measured(
        [*command("searchkit"), "index", str(corpus.root), "--index", str(index_path)]
    )
    expect(run.exit_code == 0, f"searchkit index exited {run.exit_code}: {run.stderr[-500:]}")
    skipped, warnings = reported_problems(run.stdout, corpus.root)
    with Index.open(index_path) as index:
        problems = bad_corpus_problems(corpus, run.stdout, index)
        indexed = index.count()
    for problem in problems[:20]:
        print(f"    {problem}")
    expect(not problems, f"{len(problems)} bad-post problems")
    good, broken = len(corpus.good), len(corpus.broken)
    unique = sum(len(post.found_by) == 1 for post in corpus.good.values())
    figure("files (good posts + broken files)", f"{good + broken:,} ({good:,} + {broken})")
    figure("broken files reported, with the right reason", f"{len(skipped)} of {broken}")
    figure("good posts indexed", f"{indexed:,} of {good:,}")
    figure("  found by a word only they contain", f"{unique:,} (the rest share theirs)")
    figure("warnings (indexed with a caveat)", sum(map(len, warnings.values())))
    figure("huge post", f"{corpus.big_post_bytes / 2**20:.1f} MB: {warnings.get('huge.md')}")
    figure("searchkit index: seconds, peak RSS", f"{run.seconds:.1f} s, {run.max_rss_mb:.0f} MB")
    alone = folder / "huge-alone"
    alone.mkdir()
    (alone / "huge.md").symlink_to(corpus.root / "huge.md")
    huge = run_measured([*command("searchkit"), "index", str(alone), "--index", str(folder / "h")])
    figure(
        f"  the {corpus.big_post_bytes / 2**20:.0f} MB post alone: seconds, peak RSS",
        f"{huge.seconds:.1f} s, {huge.max_rss_mb:.0f} MB",
    )
    rebuild = run_measured([*command("searchkit-rebuild"), "--index", str(index_path)])
    expect(rebuild.exit_code == 0, f"searchkit-rebuild exited {rebuild.exit_code}")
    rebuilt_skips = sum("skipped" in line for line in rebuild.stderr.splitlines())
    expect(rebuilt_skips == broken, f"the rebuild reported {rebuilt_skips} of {broken}")
    figure(
        "searchkit-rebuild: seconds, peak RSS, skipped",
        f"{rebuild.seconds:.1f} s, {rebuild.max_rss_mb:.0f} MB, {rebuilt_skips}",
    )
    return corpus, index_path


def kill_9(folder: Path, trials: int, seed: int) -> CrashRig:
    section(f"2. kill -9 mid-write ({trials} trials)")
    rig = CrashRig(folder / "rig")
    started = time.monotonic()
    results = kill_trials(rig, trials, random.Random(seed))
    problems = [problem for trial in results for problem in trial.problems]
    for problem in problems[:20]:
        print(f"    {problem}")
    survived = sum(not trial.problems for trial in results)
    expect(survived == trials, f"{trials - survived} kill trials lost or broke something")
    for kind in ("index", "rebuild"):
        mine = [trial for trial in results if trial.kind == kind]
        killed = [trial for trial in mine if trial.killed]
        after = sum(trial.outcome == "after" for trial in killed)
        figure(
            f"searchkit{'-rebuild' if kind == 'rebuild' else ' index'}: trials, killed",
            f"{len(mine)}, {len(killed)} ({len(killed) - after} before the commit, "
            f"{after} after it)",
        )
    figure("trials survived (index opens, old or new state)", f"{survived} of {trials}")
    worst = max(trial.next_write_seconds for trial in results)
    figure("next write after a kill: worst wait", f"{worst:.3f} s")
    last = run_measured(rig.command("index"))
    expect(last.exit_code == 0, "the write after the last trial failed")
    figure("trials took", f"{time.monotonic() - started:.0f} s")
    return rig


def concurrency(rig: CrashRig, seconds: float) -> None:
    section(f"3. Concurrency ({seconds:.0f} s: 3 reader processes, 1 CLI reader, 2 writers)")
    figures = concurrent_use(rig, seconds, readers=3)
    for error in figures.errors[:10]:
        print(f"    {error}")
    expect(not figures.errors, f"{len(figures.errors)} search errors")
    expect(not figures.partial, f"{len(figures.partial)} partial results")
    figure("searches", f"{figures.searches:,}")
    figure("writes (updates and rebuilds)", figures.writes)
    figure("search errors, partial results", f"{len(figures.errors)}, {len(figures.partial)}")


PIECES = [
    *['"', "“", "”", "OR", "NOT", "AND", "-", "(", ")", ":", "..", "*", "?", "\\", " ", "  "],
    *["title:", "body:", "tag:", "category:", "date:", "date:2022-06", "date:2022-13-45"],
    *["缩表", "回购", "逆回购", "的", "一", "ＭＬＦ", "mlf", "2.5", "🙂", "　", "\0", "\x1b"],
    *["\ud800", "\n", "\u200b", "\u202e", "<script>", "&amp;", "%s", "foo:", "-缩表", "\ufeff"],
]
ALPHABETS = [(0x20, 0x7F), (0x4E00, 0x9FA6), (0x3000, 0x3040), (0xFF00, 0xFFEF), (0, 0x110000)]


def fuzzed_query(rng: random.Random, text: str) -> tuple[str, str]:
    """A random query and its kind: Unicode noise, syntax pieces, corpus words, a piece
    repeated up to past the length limit, or pasted corpus text."""
    kind = rng.random()
    if kind < 0.3:
        low, high = rng.choice(ALPHABETS)
        length = rng.choice([1, 3, 10, 60, 300])
        return "noise", "".join(chr(rng.randrange(low, high)) for _ in range(length))
    if kind < 0.6:
        return "pieces", "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 13)))
    if kind < 0.85:
        words = []
        for _ in range(rng.randrange(1, 6)):
            start = rng.randrange(len(text) - 30)
            words.append(text[start : start + rng.randrange(1, 12)])
            words.append(rng.choice(["", " ", " OR ", " -", ' "', " title:"]))
        return "words", "".join(words)
    if kind < 0.95:
        piece = rng.choice([*PIECES, "缩表 ", "a ", "的", "x"])
        return "repeated", piece * (rng.randrange(1, 2200) // len(piece) + 1)
    start = rng.randrange(len(text) - 2100)
    pasted = text[start : start + rng.randrange(20, 1990)]
    return "pasted", pasted.replace("，", " ") if rng.random() < 0.5 else pasted


class QueryTimeout(Exception):
    pass


def _stop_query(signum, frame):
    raise QueryTimeout


def hostile_queries(index_path: Path, count: int, seed: int) -> None:
    stop_after = 2 * QUERY_TIME_LIMIT
    section(
        f"4. Hostile queries (bound: {QUERY_TIME_LIMIT:.0f} s each; stopped at {stop_after:.0f} s)"
    )
    rng = random.Random(seed)
    text = "".join(path.read_text("utf-8") for path in sorted(FINANCE.glob("*.md"))[:300])
    queries = [("curated", q) for q in CURATED_QUERIES for _ in ("relevance", "date")]
    # Each query alternates sort by relevance and by date; every third is --exact.
    queries += [fuzzed_query(rng, text) for _ in range(count)]
    outcomes = {"results": 0, "query error": 0, "crash": 0, "stopped": 0}
    by_kind: dict[str, list[float]] = {}
    timed: list[tuple[float, str, bool]] = []
    signal.signal(signal.SIGALRM, _stop_query)
    started = time.monotonic()
    with Index.open(index_path) as index:
        timed_query(index, "美联储什么时候开始缩表")  # load jieba before timing
        for n, (kind, text_query) in enumerate(queries):
            sort = ("relevance", "date")[n % 2]
            exact_only = n % 3 == 2  # `searchkit search --exact`
            signal.setitimer(signal.ITIMER_REAL, stop_after)
            began = time.monotonic()
            try:
                outcome, seconds = timed_query(
                    index, text_query, sort=sort, limit=10, exact_only=exact_only
                )
            except QueryTimeout:
                outcome, seconds = "stopped", time.monotonic() - began
            except Exception as error:  # noqa: BLE001 - counted: a crash is a finding
                outcome, seconds = "crash", time.monotonic() - began
                print(f"    crash on {text_query[:60]!r}: {error!r}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            outcomes[outcome] += 1
            by_kind.setdefault(kind, []).append(seconds)
            timed.append((seconds, text_query, exact_only))
            if (n + 1) % 2000 == 0:
                print(f"    {n + 1:,} queries, {time.monotonic() - started:.0f} s", flush=True)
    slow = sorted((t for t in timed if t[0] > QUERY_TIME_LIMIT), reverse=True)
    expect(outcomes["crash"] == 0, f"{outcomes['crash']} queries crashed")
    expect(not slow, f"{len(slow)} queries took longer than {QUERY_TIME_LIMIT:.0f} s")
    for seconds, text_query, exact_only in slow[:10]:
        print(f"    {seconds:.1f} s: {_shape(text_query, exact_only)}")
    times = [seconds for seconds, _, _ in timed]
    figure("queries tried (curated x2 sorts + fuzzed)", f"{len(queries):,}")
    figure(
        "results / QueryError / crash / stopped",
        " / ".join(f"{v:,}" for v in outcomes.values()),
    )
    figure("median, 99th percentile", f"{_ms(statistics.median(times))}, {_ms(_p99(times))}")
    for kind, kind_times in by_kind.items():
        figure(
            f"  {kind}: queries, median, 99th pct, worst",
            f"{len(kind_times):,}, {_ms(statistics.median(kind_times))}, "
            f"{_ms(_p99(kind_times))}, {max(kind_times):.2f} s",
        )
    worst = max(timed)
    figure("worst query time", f"{worst[0]:.2f} s ({_shape(worst[1], worst[2])})")
    problems = []
    for n, text_query in enumerate(CURATED_QUERIES):
        options = ["--json", "--exact"] if n % 2 else ["--exact"]
        problems += cli_query_problems(index_path, text_query, options)
    expect(not problems, f"CLI: {problems[:5]}")
    figure(
        "CLI: curated queries with one error line or JSON",
        f"{len(CURATED_QUERIES) - len(problems)} of {len(CURATED_QUERIES)}",
    )


def _shape(text_query: str, exact_only: bool) -> str:
    start = text_query[:24] + ("…" if len(text_query) > 24 else "")
    return f"{len(text_query)} chars: {start!r}" + (", exact only" if exact_only else "")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * len(values))]


def output_safety(corpus, index_path: Path) -> None:
    section("5. Output safety")
    problems = []
    with Index.open(index_path) as index:
        [hit] = index.search(corpus.good["script.md"].word, exact_only=True)
        html = to_html(hit.title, list(hit.title_marks)) + to_html(hit.snippet, list(hit.marks))
        if "<script" in html or "&lt;script&gt;" not in html:
            problems.append("HTML of the <script> post is not escaped")
    checked = 0
    for post in corpus.good.values():
        if post.word is None:
            continue
        problems += cli_query_problems(index_path, post.word, ["--json", "--exact", "-n", "3"])
        checked += 1
    result = CliRunner().invoke(cli, ["show", "controls.md", "--index", str(index_path)])
    if "\x1b" in result.stdout or "\x00" in result.stdout:
        problems.append("a control character reached the terminal")
    expect(not problems, f"output: {problems[:5]}")
    figure("searches printed as JSON, all valid", f"{checked:,}")
    figure("<script> title and body rendered as text", "yes" if not problems else "NO")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200, help="kill -9 trials")
    parser.add_argument("--queries", type=int, default=10_000, help="fuzzed queries")
    parser.add_argument("--real-posts", default="all", help="shared posts in the bad corpus")
    parser.add_argument("--big-post-mb", type=float, default=50)
    parser.add_argument("--concurrency-seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--skip", default="", help="sections to leave out, e.g. kill,concurrency (1 always runs)"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    real_posts = None if args.real_posts == "all" else int(args.real_posts)
    started = time.monotonic()
    print("searchkit reliability report")
    figure("limits: bytes read of one post", f"{documents.MAX_POST_BYTES / 2**20:.0f} MB")
    figure("        HTML depth parsed as a tree", f"{documents.MAX_HTML_DEPTH:,}")
    figure("        query length, terms", f"{query.MAX_QUERY_LENGTH:,} chars, {query.MAX_TERMS}")
    with tempfile.TemporaryDirectory(prefix="searchkit-reliability-") as tmp:
        folder = Path(tmp)
        corpus, index_path = bad_posts(folder, real_posts, args.big_post_mb)
        if "kill" not in skip:
            rig = kill_9(folder, args.trials, args.seed)
        if "concurrency" not in skip:
            concurrency(
                rig if "kill" not in skip else CrashRig(folder / "rig"), args.concurrency_seconds
            )
        if "queries" not in skip:
            hostile_queries(index_path, args.queries, args.seed)
        if "output" not in skip:
            output_safety(corpus, index_path)
    section("Summary")
    figure("data lost, crashes, hangs", "none" if not failures else f"{len(failures)} FAILURES")
    for failure in failures:
        print(f"    {failure}")
    figure("report took", f"{(time.monotonic() - started) / 60:.1f} min")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
