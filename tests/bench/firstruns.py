"""Each query's first run in CPU time, in a process that keeps its index open (issue #15: "first-
run query p50 <= 1.0x plain Whoosh").

bench.py times first runs in wall time, in one process with the other engines, and growth.py
in CPU time on a freshly opened index per round. This keeps one index open, as a program
that embeds searchkit does, and before every run drops what the process kept of earlier
queries (the searcher's match caches, the vocabulary's plans and looked-up ranges), so each
run costs what a query new to the process costs, on a warm machine. It prints each query's
median of `--runs` runs, then their median and sum:

    python tests/bench/firstruns.py INDEX                        # the 15 public finance terms
    python tests/bench/firstruns.py INDEX --kind headline --runs 5   # 50 news headlines

INDEX is an index of the news corpus (`bench.py`'s xwlb, e.g. growth.py's idx-19547).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

from searchkit import Index  # noqa: E402


def forget(index: Index) -> None:
    """Drop what `index` keeps of earlier queries (private attributes: a benchmark's view)."""
    searcher, vocab = index._current_searcher(), index._loaded_vocabulary()
    for name in ("_searchkit_matches", "_searchkit_postings"):
        searcher.__dict__.pop(name, None)
    vocab.plans.clear()
    getattr(vocab, "_ranges", {}).clear()  # (commits before session 10 kept no ranges)


def first_runs(index: Index, queries: list[str], runs: int) -> list[float]:
    """Each query's median CPU milliseconds over `runs` first runs (garbage collection off:
    its pauses are another matter, counted by bench.py's wall-clock runs)."""
    times = []
    gc.disable()
    try:
        for query in queries:
            each = []
            for _ in range(runs):
                forget(index)
                started = time.thread_time_ns()
                index.search(query, limit=10)
                each.append((time.thread_time_ns() - started) / 1e6)
            times.append(statistics.median(each))
    finally:
        gc.enable()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path, help="an index of the news corpus")
    parser.add_argument("--kind", choices=("keyword", "headline", "natural"), default="keyword")
    parser.add_argument("--runs", type=int, default=40, help="first runs of each query")
    parser.add_argument("--headlines", type=int, default=50)
    parser.add_argument("--nl-queries", type=int, default=300)
    options = parser.parse_args()
    records = bench.load_corpus("xwlb") if options.kind == "headline" else []
    queries = bench.query_sets(records, options)[options.kind]
    with Index.open(options.index) as index:
        index.search("今天的新闻联播", limit=10)  # the vocabulary and searcher, once a process
        times = first_runs(index, queries, options.runs)
    for query, milliseconds in zip(queries, times, strict=True):
        print(f"{milliseconds:8.3f} ms  {query}")
    print(
        f"{options.kind}: {len(times)} queries, median {statistics.median(times):.3f} ms, "
        f"sum {sum(times):.1f} ms (CPU, median of {options.runs} first runs each)"
    )


if __name__ == "__main__":
    main()
