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
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

from searchkit import Index  # noqa: E402

SIZES = (None, 60_000)  # the whole news corpus (19,547), and filled up with copies


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


def first_runs(path: Path, queries: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Each query's first-run CPU ms, the least of `rounds` freshly opened indexes."""
    with Index.open(path) as index:
        index.search("天气预报 明天")  # jieba's dictionary loads once per process
    best = {kind: [float("inf")] * len(texts) for kind, texts in queries.items()}
    for _ in range(rounds):
        with Index.open(path) as index:
            for kind, texts in queries.items():
                for i, text in enumerate(texts):
                    started = time.thread_time()
                    index.search(text)
                    spent = (time.thread_time() - started) * 1000
                    best[kind][i] = min(best[kind][i], spent)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the two indexes are (or are built)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default="headline,natural", help="keyword, natural, headline")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args(argv)
    options.folder.mkdir(parents=True, exist_ok=True)
    paths, records = indexes(options.folder)
    sets = bench.query_sets(records, argparse.Namespace(nl_queries=300, headlines=50))
    queries = {kind: sets[kind] for kind in options.kinds.split(",")}
    p50 = {}
    for path in paths:
        times = first_runs(path, queries, options.rounds)
        if "keyword" in times and "headline" in times:  # the set, as bench.mixed takes it
            keywords = times["keyword"]
            times["half each"] = keywords + times["headline"][: len(keywords)]
        p50[path.name] = {kind: statistics.median(spent) for kind, spent in times.items()}
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
