"""Benchmark runner: searchkit against the naive Whoosh + jieba baseline, in one run (issues
#5 and #15).

Not a test suite: it builds throwaway indexes in a temp dir and prints one table per corpus
size, with the ratio searchkit/baseline next to each figure and the targets of issue #15,
then where a query's first run spends its time and where the index's bytes go.

    python tests/bench/bench.py --corpus xwlb                        # 19,547 news articles
    python tests/bench/bench.py --corpus xwlb-2023+cmrc
    python tests/bench/bench.py --corpus all --sizes 5000,all        # growth with size
    python tests/bench/bench.py --corpus xwlb --skip-baseline --index DIR  # an index built before
    python tests/bench/bench.py --corpus all --sizes 20000,60000 --engines searchkit,naive,tantivy

Corpus: `+`-joined parts of `../shared/corpus`: `cmrc` (the 256 CMRC 2018 paragraphs),
`xwlb-2022` ... `xwlb-2026` (one year of bulk/xinwenlianbo), `xwlb` (all years), and `all`
(= `xwlb+cmrc`). CMRC paragraphs always come first, so `--sizes N` (the first N documents)
keeps them and the natural-language queries keep their answers. A size past the corpus's end
is filled with copies of its news articles (`replicas`: new ids, a tag word in letters at the
end of the body so that searchkit does not collapse a copy into its original).

The naive baseline is the issue's "OrGroup" row: a Whoosh schema with `ID(stored=True)` and
`TEXT(analyzer=jieba.analyse.ChineseAnalyzer())` title and body, the default writer and one
commit; queries parsed by `MultifieldParser(["title", "body"], group=OrGroup)`, top 10.
`--engines` adds tantivy + jieba (`pip install tantivy`, a benchmark-only dependency; skipped
with a line on stderr when missing): title and body cut by that same `ChineseAnalyzer` (jieba's
search mode) and joined by spaces into whitespace-tokenized fields; a query is cut the same
way, any of its words in title or body (an OR), top 10 by tantivy's BM25.

How each figure is measured:

- build: each engine builds in a fresh child interpreter (`--build-child`), timed from
  creating the index to its commit; reading the JSONL is not timed. docs/s and MB/s use the
  UTF-8 bytes of title + body ("text size").
- peak memory, three ways, because searchkit analyzes in a forked process pool whose
  workers share pages with their parent:
  "largest process" is the kernel's high-water RSS of the build process (`VmHWM`) or of
  its largest pool worker (`RUSAGE_CHILDREN`, read after the pool is joined), whichever is
  larger: exact, but blind to the other processes. "all processes, PSS" is the largest sum
  of proportional set size (shared pages split between their sharers) over the build
  process and all its descendants, sampled every 0.1 s from /proc: the best estimate of the
  physical memory the build needs. "all processes, RSS" is the same sum of RSS: an upper
  bound that counts shared pages once per process; the 1.5 GB target is checked on it.
  Both sums can miss a spike shorter than the sampling interval.
- index size: bytes of the files under the index folder. searchkit stores title and body
  (for snippets), the baseline stores only ids, so the ratio is not like for like.
  "Where the index's bytes go" splits searchkit's (`breakdown.index_parts`).
- exact recall: `index.search(term, exact_only=True, limit=100000, collapse=False)` ids for
  each public finance term against a brute-force scan of `normalize(title)`/`normalize(body)` by the
  README's contract: Chinese text as a substring, letters and digits as whole tokens
  (`gdp` does not match `gdp4.8`). The "plain substrings" row also counts those, for
  information. The baseline's rows use all documents its parser returns (`limit=None`).
- query latency: both indexes open in this process and one throwaway query each (the
  baseline loads jieba's dictionary on its first query, searchkit its vocabulary); then
  every query is timed on its **first run** (new to both engines: searchkit has no plan for
  it in memory), the headline figure, and warm (`--keyword-rounds` passes for keywords, one
  for the others). The first runs are repeated `--first-rounds` times (3), each round on
  engines opened afresh, and each query's median counts: one pass of the 15 keywords, most
  under a millisecond, swung their ratio by 10-15% between runs. The engines take turns
  query by query in alternating order, so load from other processes hits both alike.
  searchkit's time includes building its `Hit`s (stored fields) and its exact total; the
  baseline's is parsing plus Whoosh's top 10 and reading their ids. A `Hit` makes its
  snippet and marks when they are first read, so a third engine, interleaved with the two,
  also reads those: the "snippets read too" rows. Kinds: keyword (the public finance terms),
  natural-language (the first `--nl-queries` CMRC questions), headline (`--headlines` titles
  of the corpus, evenly spaced, as questions), topic (the `--topics` pairs of words most
  often side by side in the corpus's titles, typed together: 经济增长, 国务院常务会议;
  common subjects, thousands of posts each), and "keyword + headline, half each": issue
  #15's own set (its table timed "100 queries, half finance terms, half news headlines used
  as questions" as one list), here every keyword and as many headlines, from the runs above
  (no query runs twice).
- where a first run's time goes: each query kind again on a freshly opened index under
  cProfile, each function's own time added up by pipeline stage (`breakdown.stage_times`);
  cProfile slows Python more than C, so the shares matter, not the milliseconds.
- cold start: the wall time of `searchkit search QUERY --index DIR --json` (the console
  script next to this interpreter) as a new process, for each of `--cold-queries` (a keyword
  and a natural-language query), against `python -c "import jieba; jieba.initialize()"`;
  one untimed run of each first (it writes jieba's dictionary cache, and searchkit's compact
  dictionary, if missing, and the modules' bytecode: the runs ignore PYTHONDONTWRITEBYTECODE,
  since pip writes bytecode when it installs a package), then `--cold-runs` interleaved
  runs; medians.

The machine's load average is printed before and after: other jobs sharing the CPUs make
every figure noisy, so compare ratios from one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import pairwise
from pathlib import Path

import breakdown
from evaluate import percentile, read_jsonl, read_terms

from searchkit import Document, Index, QueryError
from searchkit.analysis import WORD_CHAR, normalize

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "corpus"
NEWS = SHARED / "bulk" / "xinwenlianbo"
CMRC = SHARED / "cmrc2018"
TERMS = SHARED / "finance_terms_public.txt"
NEWS_YEARS = ("2022", "2023", "2024", "2025", "2026")
MB = 1_000_000
MEMORY_LIMIT_MB = 1500
SAMPLE_SECONDS = 0.1


# --- corpus --------------------------------------------------------------------------------


def corpus_files(spec: str) -> list[Path]:
    """The JSONL files of a corpus spec such as `xwlb-2023+cmrc`, CMRC first.

    Raises `SystemExit` for an unknown part.
    """
    parts = set()
    for part in spec.split("+"):
        if part == "all":
            parts |= {"cmrc", *(f"xwlb-{year}" for year in NEWS_YEARS)}
        elif part == "xwlb":
            parts |= {f"xwlb-{year}" for year in NEWS_YEARS}
        elif part == "cmrc" or part in (f"xwlb-{year}" for year in NEWS_YEARS):
            parts.add(part)
        else:
            raise SystemExit(f"bench: unknown corpus part {part!r} (cmrc, xwlb, xwlb-YYYY, all)")
    files = [CMRC / "corpus.jsonl"] if "cmrc" in parts else []
    return files + [NEWS / f"{part}.jsonl" for part in sorted(parts - {"cmrc"})]


def load_corpus(spec: str, limit: int | None = None) -> list[dict]:
    """The first `limit` (default all) {id, title, body} records of a corpus spec; a `limit`
    past its end is filled with copies of its news articles (`replicas`)."""
    files = corpus_files(spec)
    parts = [read_jsonl(path) for path in files]
    records = [record for part in parts for record in part]
    if limit is None or limit <= len(records):
        return records[:limit]
    # News only: copies of the CMRC paragraphs would hand every natural-language query the
    # same answer several times over.
    news = [
        record
        for path, part in zip(files, parts, strict=True)
        if path.parent == NEWS
        for record in part
    ]
    return records + replicas(news or records, limit - len(records))


def replicas(records: list[dict], count: int) -> list[dict]:
    """`count` copies of `records`, cycling through them: copy number k of a record has the
    id `ID-copyK`, the same title, and its body ends with a tag in letters (`copy_tag`).

    The tag makes each copy a distinct post to searchkit: its near-duplicate key drops
    digits and whitespace (`collapse.duplicate_key`), so an untagged copy, or one numbered
    in digits, would collapse into its original in every result list, and searchkit would
    read deeper than on an archive of distinct posts. The title stays as it is, so the
    headline queries read the same at every size; a tag word is in no query.

    >>> [r["id"] for r in replicas([{"id": "a", "title": "", "body": ""}], 2)]
    ['a-copy1', 'a-copy2']
    """
    copies = []
    for n in range(count):
        record, number = records[n % len(records)], n // len(records) + 1
        copies.append(
            {
                "id": f"{record['id']}-copy{number}",
                "title": record["title"],
                "body": f"{record['body']}\n{copy_tag(number)}",
                "copy": number,
            }
        )
    return copies


def copy_tag(number: int) -> str:
    """`copya` for copy 1, ... `copyz`, `copyaa`: the copy number in letters (bijective base 26).

    >>> copy_tag(1), copy_tag(26), copy_tag(27)
    ('copya', 'copyz', 'copyaa')
    """
    letters = ""
    while number:
        number, digit = divmod(number - 1, 26)
        letters = chr(ord("a") + digit) + letters
    return "copy" + letters


def text_bytes(records: list[dict]) -> int:
    """The UTF-8 size of all titles and bodies."""
    return sum(len(r["title"].encode("utf-8")) + len(r["body"].encode("utf-8")) for r in records)


def folder_bytes(folder: Path) -> int:
    """The total size of the files under `folder`."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# --- building, in a child process ----------------------------------------------------------


def build_searchkit(records: list[dict], folder: Path) -> float:
    """Build a searchkit index of `records` in `folder`; return the seconds it took."""
    started = time.perf_counter()
    with Index.create(folder) as index:
        index.add(Document(id=r["id"], title=r["title"], body=r["body"]) for r in records)
    return time.perf_counter() - started


def naive_schema():
    """The baseline's schema: an id and two jieba-analyzed text fields, nothing else stored."""
    from jieba.analyse import ChineseAnalyzer
    from whoosh import fields

    analyzer = ChineseAnalyzer()
    return fields.Schema(
        id=fields.ID(stored=True),
        title=fields.TEXT(analyzer=analyzer),
        body=fields.TEXT(analyzer=analyzer),
    )


def build_naive(records: list[dict], folder: Path) -> float:
    """Build the baseline index of `records` in `folder`; return the seconds it took."""
    import jieba
    from whoosh import index as whoosh_index

    jieba.setLogLevel(logging.WARNING)
    schema = naive_schema()
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    writer = whoosh_index.create_in(str(folder), schema).writer()
    for r in records:
        writer.add_document(id=r["id"], title=r["title"], body=r["body"])
    writer.commit()
    return time.perf_counter() - started


def baseline_words(analyzer, text: str) -> str:
    """`text` as the baseline's analyzer cuts it (jieba's search mode, lower case, its stop
    list), the words joined by spaces for tantivy's whitespace tokenizer."""
    return " ".join(token.text for token in analyzer(text))


def tantivy_schema():
    """tantivy's schema: a stored raw id, and title and body already cut into words."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name="whitespace")
    builder.add_text_field("body", tokenizer_name="whitespace")
    return builder.build()


def build_tantivy(records: list[dict], folder: Path) -> float:
    """Build the tantivy index of `records` in `folder`; return the seconds it took.

    tantivy-py takes no Python tokenizer, so the text is cut before it gets there, by the
    baseline's own analyzer (`baseline_words`): both engines index the same words, and the
    comparison is of the engines. The cutting runs here, in one process (most of the time).
    """
    import jieba
    import tantivy
    from jieba.analyse import ChineseAnalyzer

    jieba.setLogLevel(logging.WARNING)
    analyzer = ChineseAnalyzer()
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    writer = tantivy.Index(tantivy_schema(), path=str(folder)).writer()
    for r in records:
        title, body = baseline_words(analyzer, r["title"]), baseline_words(analyzer, r["body"])
        writer.add_document(tantivy.Document(id=r["id"], title=title, body=body))
    writer.commit()
    writer.wait_merging_threads()
    return time.perf_counter() - started


BUILDERS = {"searchkit": build_searchkit, "naive": build_naive, "tantivy": build_tantivy}
ENGINE_NAMES = {"searchkit": "searchkit", "naive": "Whoosh + jieba", "tantivy": "tantivy + jieba"}


def build_child(engine: str, spec: str, limit: int | None, folder: Path) -> dict:
    """What `--build-child` prints: build time and the kernel's high-water RSS figures.

    The pool workers are joined when `index.add` returns, so `RUSAGE_CHILDREN` covers them
    (forked, not exec'd: their high-water mark is their own, shared pages included).
    """
    seconds = BUILDERS[engine](load_corpus(spec, limit), folder)
    # VmHWM, not RUSAGE_SELF: a process started by vfork + exec inherits in `ru_maxrss` the
    # high-water mark of its parent (the benchmark, with both engines loaded).
    status = Path("/proc/self/status").read_text()
    return {
        "seconds": seconds,
        "peak_main_kb": int(status.split("VmHWM:")[1].split()[0]),
        "peak_worker_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


class TreeMemory:
    """Samples the summed RSS and PSS of a process and its descendants in a thread."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_rss_kb = self.peak_pss_kb = self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            pids = descendants(self.pid)
            rss = pss = 0
            for pid in pids:
                figures = smaps_rollup(pid)
                rss, pss = rss + figures.get("Rss", 0), pss + figures.get("Pss", 0)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.peak_processes = max(self.peak_processes, len(pids))


def descendants(root: int) -> list[int]:
    """`root` and every live process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # gone since the listing
            ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the command name may hold ")"
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def smaps_rollup(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/smaps_rollup ({} if the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return {}
    return {line.split(":")[0]: int(line.split()[1]) for line in lines[1:] if line.endswith(" kB")}


def run_build(engine: str, spec: str, limit: int | None, folder: Path) -> dict:
    """Build one engine's index in a child interpreter; return its time, memory and size."""
    print(f"bench: building {engine} ({spec}, {limit or 'all'} documents)", file=sys.stderr)
    command = [
        sys.executable,
        __file__,
        "--build-child",
        engine,
        "--corpus",
        spec,
        "--out",
        str(folder),
    ] + (["--limit", str(limit)] if limit else [])
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    with TreeMemory(child.pid) as memory:
        output, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"bench: the {engine} build failed (exit {child.returncode})")
    figures = json.loads(output)
    largest_kb = max(figures.pop("peak_main_kb"), figures.pop("peak_worker_kb"))
    return {
        "seconds": figures["seconds"],
        "peak_largest_mb": largest_kb * 1024 / MB,
        "peak_pss_mb": memory.peak_pss_kb * 1024 / MB,
        "peak_rss_mb": memory.peak_rss_kb * 1024 / MB,
        "processes": memory.peak_processes,
        "index_bytes": folder_bytes(folder),
    }


# --- searching -----------------------------------------------------------------------------


class SearchkitEngine:
    """searchkit's `Index`, as the benchmark calls it."""

    def __init__(self, folder: Path, snippets: bool = False):
        self.index = Index.open(folder)
        self.snippets = snippets  # also read each hit's snippet and marks (made on demand)
        self.failed: set[str] = set()  # queries that raised QueryError

    def search(self, query: str) -> list[str]:
        try:
            hits = self.index.search(query, limit=10)
            if self.snippets:
                for hit in hits:
                    hit.marks, hit.title_marks  # noqa: B018
            return [hit.id for hit in hits]
        except QueryError:
            self.failed.add(query)
            return []

    def matching_ids(self, term: str) -> set[str]:
        return {
            hit.id
            for hit in self.index.search(term, exact_only=True, limit=100_000, collapse=False)
        }

    def close(self) -> None:
        self.index.close()


class NaiveEngine:
    """The baseline: Whoosh's `MultifieldParser` with `OrGroup`, top 10."""

    def __init__(self, folder: Path):
        import jieba
        from whoosh import index as whoosh_index
        from whoosh.qparser import MultifieldParser, OrGroup

        whoosh = whoosh_index.open_dir(str(folder))
        self.searcher = whoosh.searcher()
        self.parser = MultifieldParser(["title", "body"], whoosh.schema, group=OrGroup)
        jieba.setLogLevel(logging.WARNING)
        self.failed: set[str] = set()

    def search(self, query: str) -> list[str]:
        return [hit["id"] for hit in self.searcher.search(self.parser.parse(query), limit=10)]

    def matching_ids(self, term: str) -> set[str]:
        return {hit["id"] for hit in self.searcher.search(self.parser.parse(term), limit=None)}

    def close(self) -> None:
        self.searcher.close()


class TantivyEngine:
    """tantivy + jieba: the query cut as the baseline cuts it, any word in title or body
    (an OR, as `OrGroup`), top 10 by tantivy's BM25."""

    def __init__(self, folder: Path):
        import jieba
        import tantivy
        from jieba.analyse import ChineseAnalyzer

        jieba.setLogLevel(logging.WARNING)
        self.tantivy = tantivy
        index = tantivy.Index.open(str(folder))
        self.schema, self.searcher = index.schema, index.searcher()
        self.analyzer = ChineseAnalyzer()
        self.failed: set[str] = set()

    def query(self, text: str):
        should, term = self.tantivy.Occur.Should, self.tantivy.Query.term_query
        words = dict.fromkeys(baseline_words(self.analyzer, text).split())
        clauses = [(should, term(self.schema, f, w)) for w in words for f in ("title", "body")]
        return self.tantivy.Query.boolean_query(clauses)

    def search(self, query: str, limit: int = 10) -> list[str]:
        hits = self.searcher.search(self.query(query), limit).hits
        return [self.searcher.doc(address)["id"][0] for _, address in hits]

    def matching_ids(self, term: str) -> set[str]:
        return set(self.search(term, limit=max(self.searcher.num_docs, 1)))

    def close(self) -> None:
        pass  # tantivy's searcher holds no file open past its own lifetime


OTHER_ENGINES = {"naive": NaiveEngine, "tantivy": TantivyEngine}


def contract_pattern(needle: str) -> re.Pattern:
    """What searchkit promises for a normalized term: Chinese text matches as a substring,
    letters and digits as whole tokens (`gdp` does not match `gdp4.8`; README, "Exact
    semantics"), so a term starting or ending with one must not touch another there."""
    before = f"(?<!{WORD_CHAR})" if re.match(WORD_CHAR, needle[:1]) else ""
    after = f"(?!{WORD_CHAR})" if re.match(WORD_CHAR, needle[-1:]) else ""
    return re.compile(before + re.escape(needle) + after)


def exact_recall(engine, records: list[dict], terms: list[str]) -> dict:
    """Recall and precision of `engine.matching_ids` against brute-force scans of the
    normalized titles and bodies: by the contract (`contract_pattern`), and as plain
    substrings (which also counts letters inside longer tokens)."""
    texts = [(r["id"], normalize(r["title"]) + "\n" + normalize(r["body"])) for r in records]
    found = expected = correct = substring_expected = substring_correct = 0
    for term in terms:
        needle = normalize(term)
        pattern = contract_pattern(needle)
        truth = {doc_id for doc_id, text in texts if pattern.search(text)}
        substring = {doc_id for doc_id, text in texts if needle in text}
        hits = engine.matching_ids(term)
        found, expected, correct = (
            found + len(hits),
            expected + len(truth),
            correct + len(hits & truth),
        )
        substring_expected += len(substring)
        substring_correct += len(hits & substring)
    return {
        "matches": expected,
        "recall": correct / expected if expected else 1.0,
        "precision": correct / found if found else 1.0,
        "substring_matches": substring_expected,
        "substring_recall": substring_correct / substring_expected if substring_expected else 1.0,
    }


def latencies(
    engines: dict, queries: list[str], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per-query latencies in ms, (first runs, warm runs): one timed pass in which every
    query is new to every engine (searchkit has no plan for it in memory yet), then
    `rounds` warm passes. The engines take turns query by query, in alternating order."""
    names = list(engines)
    first: dict[str, list[float]] = {name: [] for name in names}
    for i, query in enumerate(queries):
        for name in names if i % 2 == 0 else reversed(names):
            started = time.perf_counter()
            engines[name].search(query)
            first[name].append((time.perf_counter() - started) * 1000)
    warm: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        for i, query in enumerate(queries):
            for name in names if (i + round_number) % 2 == 0 else reversed(names):
                started = time.perf_counter()
                engines[name].search(query)
                warm[name].append((time.perf_counter() - started) * 1000)
    return first, warm


def open_engines(folders: dict[str, Path], names: list[str]) -> dict:
    """The engines, freshly opened, each after one throwaway query: once a process (or an
    opened index), not a query's cost: the baseline's jieba dictionary (~1 s), searchkit's
    searcher and vocabulary. "First run" below means a query new to them."""
    engines = {"searchkit": SearchkitEngine(folders["searchkit"])}
    engines["snippets"] = SearchkitEngine(folders["searchkit"], snippets=True)
    for name in names[1:]:
        engines[name] = OTHER_ENGINES[name](folders[name])
    for engine in engines.values():
        engine.search("今天的新闻联播")
    return engines


def median_first_runs(rounds: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """`latencies` of several rounds, each on freshly opened engines, as one: each query's
    median first run over the rounds (one pass of sub-millisecond keywords swung the
    ratio by 10-15% from run to run), and the warm runs of the first round."""
    firsts = [first for first, _ in rounds]
    first = {
        name: [statistics.median(times) for times in zip(*(f[name] for f in firsts), strict=True)]
        for name in firsts[0]
    }
    return first, rounds[0][1]


def mixed(keyword: tuple[dict, dict], headline: tuple[dict, dict]) -> tuple[dict, dict]:
    """The issue's own query set, as (first runs, warm runs): half keywords, half headlines
    as questions (every keyword, and as many headlines), from the runs already timed; the
    first warm pass of the keywords only, so that each query counts once."""
    first_k, warm_k = keyword
    first_h, warm_h = headline
    count = {name: len(times) for name, times in first_k.items()}
    return (
        {name: times + first_h[name][: count[name]] for name, times in first_k.items()},
        {name: warm_k[name][: count[name]] + warm_h[name][: count[name]] for name in warm_k},
    )


def latency_figures(times: list[float]) -> dict:
    return {f"p{p}_ms": percentile(times, p / 100) for p in (50, 95, 99)} | {"n": len(times)}


def cold_starts(index_folder: Path, query: str, runs: int) -> dict:
    """Median wall times of a new `searchkit search` process and of loading jieba."""
    jieba_cache = Path(tempfile.gettempdir()) / "jieba.cache"
    had_cache = jieba_cache.exists()
    commands = {
        "searchkit": [
            str(Path(sys.executable).with_name("searchkit")),
            "search",
            query,
            "--index",
            str(index_folder),
            "--json",
        ],
        "jieba": [sys.executable, "-c", "import jieba; jieba.initialize()"],
    }
    # As a user's install runs: pip compiles the package's bytecode when it installs it, so an
    # environment that forbids writing bytecode (PYTHONDONTWRITEBYTECODE, set on some
    # machines) would have every timed start compile searchkit's modules from source (~60 ms
    # of a ~0.22 s start): the untimed first run writes them, as pip would have.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    first = subprocess.run(commands["searchkit"], capture_output=True, text=True, env=env)
    if first.returncode not in (0, 1):  # 1: no hits
        raise SystemExit(f"bench: `searchkit search` failed: {first.stderr.strip()}")
    hits = json.loads(first.stdout)["total"]
    subprocess.run(commands["jieba"], capture_output=True, check=True, env=env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs):
        for name in commands if run % 2 == 0 else reversed(list(commands)):
            started = time.perf_counter()
            subprocess.run(
                commands[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
            )
            times[name].append(time.perf_counter() - started)
    return {
        "searchkit_s": statistics.median(times["searchkit"]),
        "jieba_s": statistics.median(times["jieba"]),
        "runs": times,
        "query": query,
        "hits": hits,
        "jieba_cache_existed": had_cache,
    }


# --- one measurement -----------------------------------------------------------------------


QUERY_KINDS = {
    "keyword": "keyword",
    "natural": "natural-language",
    "headline": "headline as question",
    "topic": "common topic",
    "mixed": "keyword + headline, half each",
}


def query_sets(records: list[dict], options: argparse.Namespace) -> dict[str, list[str]]:
    """The queries of each kind: the public finance terms, CMRC questions, news headlines of
    the corpus used as questions (`--headlines` of them, evenly spaced), and common topics
    (`topics`, `--topics` of them)."""
    questions = [q["query"] for q in read_jsonl(CMRC / "queries.jsonl")][: options.nl_queries]
    # Originals only: past the corpus's size the same headlines at every size, none twice.
    originals = [r for r in records if "copy" not in r]
    step = max(len(originals) // max(options.headlines, 1), 1)
    headlines = [r["title"] for r in originals[::step]][: options.headlines]
    sets = {"keyword": read_terms(TERMS), "natural": questions, "headline": headlines}
    count = getattr(options, "topics", 0)
    return sets | {"topic": topics(originals, count)} if count else sets


def topics(records: list[dict], count: int) -> list[str]:
    """The `count` pairs of words (of two Chinese characters or more) most often side by
    side in the titles of `records`, each typed together as one query: 经济增长. Counted
    once a title; ties in the order first met."""
    import jieba

    pairs: dict[str, int] = {}
    for record in records:
        words = list(jieba.cut(record["title"]))
        side_by_side = [a + b for a, b in pairwise(words) if _chinese_word(a) and _chinese_word(b)]
        for pair in dict.fromkeys(side_by_side):
            pairs[pair] = pairs.get(pair, 0) + 1
    return sorted(pairs, key=lambda pair: -pairs[pair])[:count]


def _chinese_word(word: str) -> bool:
    return len(word) > 1 and all("\u4e00" <= char <= "\u9fff" for char in word)


def measure(spec: str, limit: int | None, options: argparse.Namespace, work: Path) -> dict:
    """Build, check and query the engines on the first `limit` documents of `spec`."""
    records = load_corpus(spec, limit)
    figures: dict = {"corpus": spec, "documents": len(records), "text_bytes": text_bytes(records)}
    names = options.engines
    folders = {name: work / f"{name}-{len(records)}" for name in names}
    if options.index:  # measure an index built before (same corpus): no build figures
        folders["searchkit"] = options.index
        figures["searchkit"] = {"build": {"index_bytes": folder_bytes(options.index)}}
    for name in names:
        if name not in figures:
            figures[name] = {"build": run_build(name, spec, limit, folders[name])}
    print(f"bench: bytes by part ({len(records)} documents)", file=sys.stderr)
    figures["parts"] = breakdown.index_parts(folders["searchkit"])
    print(f"bench: exact recall and queries ({len(records)} documents)", file=sys.stderr)
    queries = query_sets(records, options)
    rounds, engines = [], {}
    for number in range(max(options.first_rounds, 1)):
        for engine in engines.values():  # the last round's stay open for the recall below
            engine.close()
        engines = open_engines(folders, names)
        passes = {"keyword": options.keyword_rounds} if not number else {}  # warm: round 1's
        rounds.append(
            {
                kind: latencies(engines, texts, passes.get(kind, 0 if number else 1))
                for kind, texts in queries.items()
            }
        )
    figures["first_rounds"] = len(rounds)
    timed = {kind: median_first_runs([timed[kind] for timed in rounds]) for kind in queries}
    timed["mixed"] = mixed(timed["keyword"], timed["headline"])
    for name, engine in engines.items():
        figures.setdefault(name, {})
        for kind, (first, warm) in timed.items():
            figures[name][kind] = latency_figures(warm[name])
            figures[name][f"{kind}_first"] = latency_figures(first[name])
        figures[name]["query_errors"] = len(engine.failed)
        if name != "snippets":
            figures[name]["exact"] = exact_recall(engine, records, queries["keyword"])
        engine.close()
    print("bench: time by stage (cProfile)", file=sys.stderr)
    figures["stages"] = {
        kind: breakdown.stage_times(folders["searchkit"], texts) for kind, texts in queries.items()
    }
    print("bench: cold starts", file=sys.stderr)
    figures["cold"] = [
        cold_starts(folders["searchkit"], query, options.cold_runs)
        for query in options.cold_queries.split(",")
    ]
    return figures


# --- the table -----------------------------------------------------------------------------


def figure(engine: dict | None, path: str):
    """`figure(f, "build.seconds")` is `f["build"]["seconds"]`, or None if it is missing."""
    for key in path.split("."):
        if engine is None:
            return None
        engine = engine.get(key)
    return engine


def row(label, ours, theirs, shown, target="", ok=None, ratio=True) -> list[str]:
    """One table row: figure, searchkit, naive, ratio, target, ok?.

    `ok(ours, ratio)` decides the target; `-` when it needs a ratio and there is none.
    """
    quotient = ours / theirs if ratio and ours is not None and theirs else None
    if ok is None:
        verdict = ""
    elif ours is None or (quotient is None and ratio):
        verdict = "-"  # not measured (an index built before: no build figures), or no ratio
    else:
        verdict = "yes" if ok(ours, quotient) else "**NO**"

    def cell(value):
        return "-" if value is None else format(value, shown)

    shown_ratio = "-" if quotient is None else f"{quotient:.2f}×"
    return [label, cell(ours), cell(theirs), shown_ratio, target, verdict]


def rows(figures: dict) -> list[list[str]]:
    """The table rows of one measurement."""
    ours, theirs = figures["searchkit"], figures.get("naive")
    documents, text_bytes = figures["documents"], figures["text_bytes"]

    def both(path, scale=1.0):
        values = (figure(ours, path), figure(theirs, path))
        return [None if value is None else value * scale for value in values]

    def throughput(amount):
        return [amount / seconds if seconds else None for seconds in both("build.seconds")]

    def within(limit):
        return lambda _, quotient: quotient <= limit

    table = [
        row("build time (s)", *both("build.seconds"), ".2f", "≤ 0.4×", within(0.4)),
        row("build docs/s", *throughput(documents), ",.0f"),
        row("build MB/s", *throughput(text_bytes / MB), ".2f"),
        row("peak memory, largest process (MB)", *both("build.peak_largest_mb"), ",.0f"),
        row("peak memory, all processes, PSS (MB)", *both("build.peak_pss_mb"), ",.0f"),
        row(
            "peak memory, all processes, RSS (MB)",
            *both("build.peak_rss_mb"),
            ",.0f",
            f"< {MEMORY_LIMIT_MB:,} MB",
            lambda value, _: value < MEMORY_LIMIT_MB,
            ratio=False,
        ),
        row("index size (MB)", *both("build.index_bytes", 1 / MB), ".1f"),
        row(
            "index size / text size",
            *both("build.index_bytes", 1 / text_bytes),
            ".2f",
            "≤ 1.5",
            lambda value, _: value <= 1.5,
            ratio=False,
        ),
        row(
            "exact recall, public terms",
            *both("exact.recall"),
            ".3f",
            "1.000",
            lambda value, _: value == 1.0,
            ratio=False,
        ),
        row(
            "exact precision, public terms",
            *both("exact.precision"),
            ".3f",
            "1.000",
            lambda value, _: value == 1.0,
            ratio=False,
        ),
        row(
            "recall vs plain substrings (info)", *both("exact.substring_recall"), ".3f", ratio=False
        ),
    ]
    snippets = figures.get("snippets")
    for kind, label in QUERY_KINDS.items():
        if figure(ours, f"{kind}_first") is None:
            continue
        first = f"{kind}_first"
        table += [
            row(
                f"{label} p50, first run (ms)",
                *both(f"{first}.p50_ms"),
                ".1f",
                "≤ 1.0×",
                within(1.0),
            ),
            row(
                f"{label} p95, first run (ms)",
                *both(f"{first}.p95_ms"),
                ".1f",
                "≤ 1.0×",
                within(1.0),
            ),
            row(f"{label} p50, warm (ms)", *both(f"{kind}.p50_ms"), ".1f"),
            row(f"{label} p95, warm (ms)", *both(f"{kind}.p95_ms"), ".1f"),
            row(
                f"{label} p50, first run, snippets read too (ms)",
                figure(snippets, f"{first}.p50_ms"),
                figure(theirs, f"{first}.p50_ms"),
                ".1f",
            ),
        ]
    for cold in figures["cold"]:
        table.append(
            row(
                f"cold `searchkit search {cold['query']}` vs jieba init (s)",
                cold["searchkit_s"],
                cold["jieba_s"],
                ".2f",
                "≤ 0.5×",
                within(0.5),
            )
        )
    return table


def scale_rows(runs: list[dict]) -> list[list[str]]:
    """One row per size and engine: build, memory, size, and first-run and warm p50 / p95."""

    def pair(engine, path, shown=".1f"):
        values = [figure(engine, f"{path}.p{p}_ms") for p in (50, 95)]
        return " / ".join("-" if v is None else format(v, shown) for v in values)

    table = []
    for figures in runs:
        for name, label in ENGINE_NAMES.items():
            engine = figures.get(name)
            if engine is None:
                continue
            build = engine["build"]
            index_mb = build["index_bytes"] / MB
            table.append(
                [
                    f"{figures['documents']:,}",
                    label,
                    format(build["seconds"], ".1f") if "seconds" in build else "-",
                    f"{build['peak_pss_mb']:,.0f} / {build['peak_rss_mb']:,.0f}"
                    if "peak_rss_mb" in build
                    else "-",
                    f"{index_mb:,.1f} ({build['index_bytes'] / figures['text_bytes']:.2f}×)",
                ]
                + [pair(engine, f"{kind}{when}") for kind in QUERY_KINDS for when in ("_first", "")]
            )
    return table


def scale_head() -> list[str]:
    """The columns of `scale_rows`."""
    head = ["documents", "engine", "build s", "peak MB, PSS / RSS", "index MB (× text)"]
    return head + [
        f"{label} p50 / p95 ms, {when}"
        for label in QUERY_KINDS.values()
        for when in ("first run", "warm")
    ]


def growth_rows(runs: list[dict]) -> list[list[str]]:
    """First-run p50 of each engine and query kind at each size over the size before."""
    table = []
    for name, label in ENGINE_NAMES.items():
        for kind, kind_label in QUERY_KINDS.items():
            path = f"{kind}_first.p50_ms"
            cells = []
            for small, large in pairwise(runs):
                before, after = figure(small.get(name), path), figure(large.get(name), path)
                cells.append(f"{after / before:.2f}×" if before and after else "-")
            if any(cell != "-" for cell in cells):
                table.append([label, kind_label, *cells])
    return table


def growth_head(runs: list[dict]) -> list[str]:
    """The columns of `growth_rows`."""
    steps = [f"{a['documents']:,} → {b['documents']:,}" for a, b in pairwise(runs)]
    return ["engine", "query kind", *steps]


def markdown_table(table: list[list], head: list[str] | None = None) -> str:
    """`table` as a markdown table: the six standard columns, or `head` (its first two
    columns aligned left, the others right)."""
    if head is None:
        head = ["figure", "searchkit", "naive", "ratio", "target", "ok?"]
        align = ["---", "---:", "---:", "---:", "---", "---"]
    else:
        align = ["---", "---"] + ["---:"] * (len(head) - 2)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in table]
    return "\n".join(lines)


def describe(figures: dict) -> str:
    """The heading and notes of one measurement."""
    ours = figures["searchkit"]
    colds = figures["cold"]
    cache = "existed" if colds[0]["jieba_cache_existed"] else "was created by an untimed run"
    errors = ours["query_errors"]
    found = ", ".join(f"`{cold['query']}` {cold['hits']}" for cold in colds)
    processes = figure(ours, "build.processes")
    return (
        f"### {figures['corpus']}: {figures['documents']:,} documents, "
        f"{figures['text_bytes'] / MB:.1f} MB of text\n\n"
        f"Queries, each timed on its first run (its median of {figures.get('first_rounds', 1)} "
        f"rounds, engines opened afresh for each) and warm: keyword "
        f"{ours['keyword_first']['n']} (public finance terms; warm × rounds), natural-language "
        f"{ours['natural_first']['n']} CMRC questions, {ours['headline_first']['n']} headlines "
        f"of the corpus as questions{f' ({errors} raised QueryError)' if errors else ''}. "
        f"Exact recall over {ours['exact']['matches']:,} term matches. Cold start: medians of "
        f"{len(colds[0]['runs']['searchkit'])} runs; hits: {found}; jieba's cache {cache}."
        + (f" Build peak: {processes} searchkit processes at most." if processes else "")
    )


STAGE_ORDER = [
    "planning",
    "planning (jieba)",
    "vocabulary scans",
    "posting reads",
    "positions decoding",
    "scoring",
    "tiers and collection",
    "stored fields",
    "normalizing (stored texts, snippets)",
    "snippets",
    "suggestion (no hits)",
    "regular expressions (compiling)",
    "imports on first use",
    "index (searcher, generation check)",
    "other",
]


def stage_table(stages: dict[str, dict]) -> str:
    """Milliseconds per query by stage (first runs under cProfile), one column per kind."""
    kinds = [kind for kind in QUERY_KINDS if kind in stages]
    head = ["stage"] + [f"{QUERY_KINDS[kind]} ms (share)" for kind in kinds]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(kinds) + "|"]
    for stage in STAGE_ORDER + ["total"]:
        cells = []
        for kind in kinds:
            times = stages[kind]
            seconds, total = times.get(stage, 0.0), times["total"]
            per_query = seconds / times["queries"] * 1000
            cells.append(f"{per_query:.2f} ({seconds / total:.0%})" if total else "-")
        label = "**total (profiled)**" if stage == "total" else stage
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines)


def parts_table(parts: list[tuple[str, int]], text: int) -> str:
    """The index's bytes by part, largest first, with shares and the multiple of the text."""
    total = sum(size for _, size in parts)
    lines = ["| part | MB | share | × text |", "|---|---:|---:|---:|"]
    for part, size in parts:
        lines.append(f"| {part} | {size / MB:.2f} | {size / total:.1%} | {size / text:.2f} |")
    lines.append(f"| **total** | {total / MB:.2f} | 100% | {total / text:.2f} |")
    return "\n".join(lines)


def version() -> str:
    """The commit searchkit runs from, with `+changes` if its files differ from it."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "searchkit") else "")


# --- command line --------------------------------------------------------------------------


def parse_engines(options: argparse.Namespace) -> list[str]:
    """`--engines` as a list, searchkit first; tantivy dropped, with a line on stderr, when it
    is not installed (a benchmark-only dependency). Raises `SystemExit` for a bad list."""
    names = list(dict.fromkeys(options.engines.split(",")))
    unknown = [name for name in names if name not in BUILDERS]
    if unknown or "searchkit" not in names:
        raise SystemExit(
            f"bench: --engines takes searchkit and any of naive, tantivy, not {options.engines!r}"
        )
    if options.skip_baseline:
        names = [name for name in names if name != "naive"]
    if "tantivy" in names and importlib.util.find_spec("tantivy") is None:
        print("bench: tantivy is not installed (pip install tantivy): skipping it", file=sys.stderr)
        names.remove("tantivy")
    return ["searchkit"] + [name for name in names if name != "searchkit"]


def parse_sizes(text: str | None) -> list[int | None]:
    """`5000,all` -> [5000, None]; no `--sizes` means one run on the whole corpus."""
    if not text:
        return [None]
    return [None if size == "all" else int(size.replace("_", "")) for size in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the benchmark, print the tables. Returns 0."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", default="xwlb-2023+cmrc", help="e.g. xwlb-2023+cmrc, all")
    parser.add_argument(
        "--sizes",
        metavar="N,N",
        help="first N documents, e.g. 5000,all; past the corpus, copies of its news (replicas)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="measure searchkit only")
    parser.add_argument(
        "--engines",
        default="searchkit,naive",
        help="searchkit and any of naive (plain Whoosh), tantivy; e.g. searchkit,naive,tantivy",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--nl-queries", type=int, default=300, metavar="N")
    parser.add_argument("--keyword-rounds", type=int, default=20, metavar="N")
    parser.add_argument(
        "--first-rounds", type=int, default=3, metavar="N", help="first runs: median of N rounds"
    )
    parser.add_argument("--headlines", type=int, default=50, metavar="N")
    parser.add_argument("--topics", type=int, default=40, metavar="N")
    parser.add_argument("--cold-runs", type=int, default=5, metavar="N")
    parser.add_argument(
        "--cold-queries", default="缩表,美联储加息", help="comma-separated cold-start queries"
    )
    parser.add_argument(
        "--index", type=Path, help="measure this searchkit index of the corpus (no build)"
    )
    parser.add_argument("--build-child", choices=BUILDERS, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.build_child:
        figures = build_child(options.build_child, options.corpus, options.limit, options.out)
        print(json.dumps(figures))
        return 0
    options.engines = parse_engines(options)
    command = "python tests/bench/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="searchkit-bench-") as work:
        runs = [
            measure(options.corpus, size, options, Path(work))
            for size in parse_sizes(options.sizes)
        ]
    report = {
        "command": command.strip(),
        "searchkit": version(),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "runs": runs,
    }
    if options.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print(
        f"`{report['command']}` (searchkit {report['searchkit']}, {report['cpus']} CPUs, "
        f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after)\n"
    )
    for figures in runs:
        print(describe(figures) + "\n\n" + markdown_table(rows(figures)) + "\n")
        print("Where a first run's time goes (cProfile, ms per query and share):\n")
        print(stage_table(figures["stages"]) + "\n")
        print("Where the index's bytes go:\n")
        print(parts_table(figures["parts"], figures["text_bytes"]) + "\n")
    print("### scale\n\n" + markdown_table(scale_rows(runs), scale_head()) + "\n")
    if len(runs) > 1:
        print(
            "### growth of first-run p50\n\n" + markdown_table(growth_rows(runs), growth_head(runs))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
