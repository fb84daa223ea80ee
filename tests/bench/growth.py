"""How searchkit's first runs grow from 19,547 to 60,000 news articles, in CPU time (issue #15:
"p50 growing at most 1.5x from 20k to 60k documents").

bench.py times wall clock, which a busy machine bends; this times each query's first run in
CPU time of the searching thread (`time.thread_time`), on a freshly opened index per round,
and keeps each query's least of the rounds. The indexes are built once (bench.py's corpus
and copies) and kept in the folder given, so runs of two commits compare on the same files:

    python tests/bench/growth.py /tmp/growth            # builds idx-19547 and idx-60000 once
    python tests/bench/growth.py /tmp/growth --rounds 5 --kinds headline,natural
    python tests/bench/growth.py /tmp/growth --kinds keyword,headline  # also "half each"

"half each" is the issue's own set, as bench.py's row of that name: every keyword and as
many headlines.

`--tiers` times the parts of each first run instead, as `searching.search` runs them: the
plan (`query.build`), then each tier's matches and top 10 (exact, synonym, relaxed; each
later tier masked by the earlier tiers' hits), and prints each part's p50 and sum at both
sizes. It shows which part grows: the relaxed tier (a best match on all of a headline's
words) is most of a headline's first run.

    python tests/bench/growth.py /tmp/growth --kinds headline --tiers

`--slowest N` prints the tails instead of the growth: each kind's p50, p90, p99 and sum at
both sizes, and its N slowest queries (what a user waits longest for):

    python tests/bench/growth.py /tmp/growth --kinds natural,headline,topic --slowest 10
    python tests/bench/growth.py /tmp/growth --kinds qbqtc --slowest 10   # real users' typing

`--floor` times, instead of searches, the least that any search giving searchkit's results
must do: make the plan, then read the documents of every word its tiers name (a text's: every
word containing it) at C speed (`codec.read_documents`) and unite them, as its exact totals
and its texts' exact document frequencies need. No scoring at all; it grows as the postings
do, so its growth is the least a search's can be:

    python tests/bench/growth.py /tmp/growth --kinds keyword,headline --floor
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

# Appended: tests/test_bench.py imports this module, and tests/bench has a history.py of
# its own beside tests/history.py. (Run as a script, its folder is already first.)
sys.path.append(str(Path(__file__).resolve().parent))

import bench  # noqa: E402
from whoosh.query import Term  # noqa: E402

from searchkit import Index, searching  # noqa: E402
from searchkit import query as query_module  # noqa: E402
from searchkit.codec import read_documents  # noqa: E402
from searchkit.matching import Contains, forget_counts  # noqa: E402

PARTS = ("plan", "exact", "synonym", "relaxed")

SIZES = (None, 60_000)  # the whole news corpus (19,547), and filled up with copies
QBQTC = bench.SHARED / "qbqtc" / "queries.jsonl"


def typed_queries(count: int = 400) -> list[str]:
    """`--kinds qbqtc`: the first `count` of qbqtc's real users' queries (evaluation data
    beside the repository, never shipped), searched on the news index for how people type,
    not for their answers: the set's labels are for its own page titles."""
    return [query["query"] for query in bench.read_jsonl(QBQTC)][:count]


def indexes(folder: Path) -> tuple[list[Path], list[dict]]:
    """The index folders of `SIZES` under `folder` (built if missing), and the records of the
    first size (the headlines are taken from them, as bench.py does)."""
    paths, first = [], None
    for size in SIZES:
        records = bench.load_corpus("xwlb", size)
        first = first or records
        path = folder / f"idx-{len(records)}"
        if not path.exists():
            seconds = bench.build_searchkit(records, path)
            print(f"built {path} in {seconds:.0f} s", file=sys.stderr)
        paths.append(path)
    return paths, first


def first_runs(
    path: Path, queries: dict[str, list[str]], rounds: int, run=Index.search
) -> dict[str, list[float]]:
    """Each query's first-run CPU ms, the least of `rounds` freshly opened indexes (each
    searched once first, untimed); `run`: what is timed (`least_work` for `--floor`)."""
    with Index.open(path) as index:
        index.search("天气预报 明天")  # jieba's dictionary loads once per process
    best = {kind: [float("inf")] * len(texts) for kind, texts in queries.items()}
    for _ in range(rounds):
        with Index.open(path) as index:
            # A throwaway query first, as bench.py's: the first search of an opened index
            # loads its vocabulary and tables (~20 ms at 60,000), whatever the query.
            index.search("天气预报 明天")
            for kind, texts in queries.items():
                for i, text in enumerate(texts):
                    started = time.thread_time()
                    run(index, text)
                    spent = (time.thread_time() - started) * 1000
                    best[kind][i] = min(best[kind][i], spent)
    return best


def least_work(index: Index, text: str) -> int:
    """`--floor`: the plan of `text`'s search, and the union of the documents of every word
    its tiers name, read as a search reads them (and forgotten after, as a search's are).
    Returns the number of documents."""
    searcher = index.searcher()
    plan = search_plan(index, text)
    found: set[int] = set()
    for tier in (plan.exact, plan.synonym, plan.relaxed):
        for leaf in tier.leaves() if tier is not None else ():
            if isinstance(leaf, Contains):
                words = [(leaf.fieldname, word) for word in leaf.plan.full]
            elif isinstance(leaf, Term):  # a word
                words = [(leaf.fieldname, leaf.text)]
            else:
                continue
            for sub, offset in searcher.leaf_searchers():
                for fieldname, word in words:
                    documents = read_documents(sub.reader(), fieldname, word)
                    found.update(documents if not offset else [d + offset for d in documents])
    forget_counts(searcher)
    return len(found)


def search_plan(index: Index, text: str) -> query_module.QueryPlan:
    """The plan `searching.search` makes for `text` (default options)."""
    searcher, vocab = index.searcher(), index._loaded_vocabulary()  # private: a bench's view
    return searching._plan(index, searcher, vocab, query_module.parse(text), False, True)


def tier_runs(path: Path, queries: list[str], rounds: int) -> dict[str, list[float]]:
    """Each query's first-run CPU ms by part (`PARTS`; ~0 for a tier its plan lacks), the
    least of `rounds` freshly opened indexes."""
    with Index.open(path) as index:
        index.search("天气预报 明天")  # jieba's dictionary loads once per process
    best = {part: [float("inf")] * len(queries) for part in PARTS}
    for _ in range(rounds):
        with Index.open(path) as index:
            index.search("天气预报 明天")  # (as `first_runs`)
            for i, text in enumerate(queries):
                for part, (seconds, _) in timed_parts(index, text).items():
                    best[part][i] = min(best[part][i], seconds * 1000)
    return best


def timed_parts(index: Index, text: str) -> dict[str, tuple[float, int]]:
    """(CPU seconds, matches) of each part of `text`'s search (`PARTS`; the plan's matches
    0), run as `searching.search` runs them (each tier masked by the earlier tiers' hits),
    without folding near-duplicates into rows and without the hits' stored fields."""
    searcher = index.searcher()
    started = time.thread_time()
    plan = search_plan(index, text)
    parts = {"plan": (time.thread_time() - started, 0)}
    seen: set[int] = set()
    for part in PARTS[1:]:
        tier, found = getattr(plan, part), set()
        started = time.thread_time()
        if tier is not None:
            found = searching.collect(searcher, tier, 10, mask=seen).docs()
            seen |= found
        parts[part] = (time.thread_time() - started, len(found))
    forget_counts(searcher)
    return parts


def print_tiers(paths: list[Path], queries: dict[str, list[str]], rounds: int) -> None:
    """`--tiers`: each part's p50 and sum (ms) at both sizes, and the p50's growth."""
    print(
        "| query kind | part | "
        + " | ".join(f"{p.name} p50 (sum) ms" for p in paths)
        + " | growth |"
    )
    print("|---|---|---:|---:|---:|")
    for kind, texts in queries.items():
        small, large = (tier_runs(path, texts, rounds) for path in paths)
        for part in PARTS:
            a, b = statistics.median(small[part]), statistics.median(large[part])
            growth = f"{b / a:.2f}×" if a >= 0.01 else "-"  # (a tier most queries lack)
            print(
                f"| {kind} | {part} | {a:.2f} ({sum(small[part]):.0f}) "
                f"| {b:.2f} ({sum(large[part]):.0f}) | {growth} |"
            )


def print_slowest(
    paths: list[Path], queries: dict[str, list[str]], spent_by_size: list[dict], count: int
) -> None:
    """`--slowest N`: each kind's p50, p90, p99 and sum at both sizes, then its `count`
    slowest queries at the larger size, with their times at both."""
    print("| query kind | size | p50 ms | p90 ms | p99 ms | sum ms |")
    print("|---|---|---:|---:|---:|---:|")
    for kind in queries:
        for path, spent in zip(paths, spent_by_size, strict=True):
            cuts = statistics.quantiles(spent[kind], n=100, method="inclusive")
            print(
                f"| {kind} | {path.name} | {cuts[49]:.1f} | {cuts[89]:.1f} | {cuts[98]:.1f} "
                f"| {sum(spent[kind]):.0f} |"
            )
    for kind, texts in queries.items():
        small, large = (spent[kind] for spent in spent_by_size)
        print(f"\n{kind}, slowest at {paths[-1].name} (ms at {paths[0].name} / {paths[-1].name}):")
        ranked = sorted(zip(texts, small, large, strict=True), key=lambda row: -row[2])
        for text, a, b in ranked[:count]:
            print(f"  {a:7.1f} {b:7.1f}  {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the two indexes are (or are built)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--kinds", default="headline,natural", help="keyword, natural, headline, topic, qbqtc"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--tiers", action="store_true", help="time each part of a first run")
    parser.add_argument("--floor", action="store_true", help="time the least work instead")
    parser.add_argument(
        "--slowest", type=int, default=0, metavar="N", help="the tails: N slowest of each kind"
    )
    options = parser.parse_args(argv)
    options.folder.mkdir(parents=True, exist_ok=True)
    paths, records = indexes(options.folder)
    sets = bench.query_sets(records, argparse.Namespace(nl_queries=300, headlines=50, topics=40))
    kinds = options.kinds.split(",")
    if "qbqtc" in kinds:
        sets["qbqtc"] = typed_queries()
    queries = {kind: sets[kind] for kind in kinds}
    if options.tiers:
        print_tiers(paths, queries, options.rounds)
        return 0
    p50, spent_by_size = {}, []
    for path in paths:
        run = least_work if options.floor else Index.search
        times = first_runs(path, queries, options.rounds, run)
        spent_by_size.append(times)
        if "keyword" in times and "headline" in times:  # the set, as bench.mixed takes it
            keywords = times["keyword"]
            times["half each"] = keywords + times["headline"][: len(keywords)]
        p50[path.name] = {kind: statistics.median(spent) for kind, spent in times.items()}
    if options.slowest:
        print_slowest(paths, queries, spent_by_size, options.slowest)
        return 0
    if options.json:
        print(json.dumps(p50))
        return 0
    small, large = (p50[path.name] for path in paths)
    print("| query kind | " + " | ".join(f"{p.name} p50 ms" for p in paths) + " | growth |")
    print("|---|---:|---:|---:|")
    for kind in small:
        growth = large[kind] / small[kind]
        print(f"| {kind} | {small[kind]:.1f} | {large[kind]:.1f} | {growth:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
