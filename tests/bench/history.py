"""Long histories of updates (issue #18): does an index that lives on nightly updates stay
correct, small and fast? Not a test suite; `tests/test_codec.py` runs short versions.

    python tests/bench/history.py --cron           # the report: 500 posts, 25 updates of 20
    python tests/bench/history.py --nights 100     # 100 nightly updates, then latency
    python tests/bench/history.py --cron --nights 100 --seed 7

--cron runs `searchkit index` as a real subprocess each night, as cron would, and counts the
updates that fail. --nights drives `Index.update_from` over a changing folder of the finance
posts (300 to start; each night 1-30 new posts, up to 5 edited, up to 4 removed), then builds
the final folder fresh and compares: every exact query over the public finance terms, count, ids and
stats; segments and size on disk; and query latency, each query's first run and its median of
5 warm runs, for 100 keywords (the public terms and words of the index) and 60 post
titles used as questions. The target: the grown index within 1.2x of the fresh build's p50
and p95.

Exit code 0 when every update succeeded and the grown index answers as the fresh one.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: history, corpus

from corpus import FINANCE, public_terms  # noqa: E402
from evaluate import percentile  # noqa: E402
from history import ChangingFolder, differences, segment_count  # noqa: E402

from searchkit import Index, load_posts  # noqa: E402
from searchkit.analysis import is_cjk  # noqa: E402


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def cron(work: Path) -> bool:
    """500 posts, then 25 nightly `searchkit index` runs with 20 new posts each."""
    folder = ChangingFolder(sorted(FINANCE.glob("*.md"))[:1000], work / "cron-posts", None)
    folder.add(500)
    index = work / "cron-index"
    searchkit = str(Path(sys.executable).parent / "searchkit")  # the installed command
    command = [searchkit, "index", "--index", str(index)]
    first = subprocess.run([*command, str(folder.folder)], capture_output=True, text=True)
    failed = [0] if first.returncode else []
    seconds = []
    for night in range(1, 26):
        folder.add(20)
        started = time.monotonic()
        run = subprocess.run(command, capture_output=True, text=True)
        seconds.append(time.monotonic() - started)
        if run.returncode:
            failed.append(night)
            print(f"  update {night}: exit {run.returncode}: {run.stderr.strip()[-300:]}")
    grown = Index.open(index)
    fresh = Index.create(work / "cron-fresh")
    fresh.update_from(folder.folder)
    diff = differences(grown, fresh, public_terms())
    print(
        f"cron: 25 updates, {len(failed)} failed {failed or ''}; {grown.count()} posts "
        f"(expected 1000); {segment_count(grown)} segments; update median "
        f"{statistics.median(seconds):.2f} s; answers as a fresh build: {not diff}"
    )
    for line in diff[:10]:
        print("  ", line)
    return not failed and not diff and grown.count() == 1000


def nights(work: Path, count: int, seed: int) -> bool:
    rng = random.Random(seed)
    folder = ChangingFolder(sorted(FINANCE.glob("*.md")), work / "posts", rng)
    folder.add(300)
    grown = Index.create(work / "grown")
    grown.update_from(folder.folder)
    failed, segments, seconds = [], [], []
    for night in range(1, count + 1):
        if not folder.pending:
            print(f"  the finance posts ran out after {night - 1} nights")
            break
        folder.random_change(most_added=30, most_edited=5, most_removed=4)
        started = time.monotonic()
        try:
            grown.update_from(folder.folder)
        except Exception as error:  # noqa: BLE001 - a report, not a test: count and go on
            failed.append((night, error))
        seconds.append(time.monotonic() - started)
        segments.append(segment_count(grown))
    fresh = Index.create(work / "fresh")
    fresh.update_from(folder.folder)
    diff = differences(grown, fresh, public_terms())
    print(
        f"nights: {len(seconds)} updates, {len(failed)} failed; {grown.count()} posts; "
        f"segments after each update: max {max(segments)}, final {segments[-1]}; "
        f"update median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s"
    )
    for night, error in failed[:5]:
        print(f"  night {night}: {type(error).__name__}: {error}")
    for line in diff[:10]:
        print("  ", line)
    grown_size = folder_size(grown.path / grown.stats().generation)
    fresh_size = folder_size(fresh.path / fresh.stats().generation)
    print(
        f"size on disk: grown {grown_size / 2**20:.1f} MiB, fresh {fresh_size / 2**20:.1f} MiB "
        f"({grown_size / fresh_size:.2f}x)"
    )
    titles = [doc.title for doc in load_posts(folder.folder)]
    questions = random.Random(seed).sample(titles, min(60, len(titles)))
    words = sorted(w for w in fresh.vocabulary() if 2 <= len(w) <= 4 and is_cjk(w))
    keywords = public_terms() + random.Random(seed).sample(words, 85)
    ok = True
    for name, queries in (("keywords", keywords), ("titles as questions", questions)):
        ok &= latency(name, queries, grown, fresh)
    return ok and not failed and not diff


def latency(name: str, queries: list[str], grown: Index, fresh: Index) -> bool:
    """Each query's first run and warm median on both indexes, interleaved so that the load
    of the machine weighs on both alike."""
    timings: dict[str, dict[str, list[float]]] = {
        "grown": {"first": [], "warm": []},
        "fresh": {"first": [], "warm": []},
    }
    for query in queries:
        for label, index in (("grown", grown), ("fresh", fresh)):
            runs = []
            for _ in range(6):
                started = time.perf_counter()
                list(index.search(query, limit=10))
                runs.append((time.perf_counter() - started) * 1000)
            timings[label]["first"].append(runs[0])
            timings[label]["warm"].append(statistics.median(runs[1:]))
    ok = True
    for kind in ("first", "warm"):
        row = []
        for stat, fraction in (("p50", 0.5), ("p95", 0.95)):
            ours = percentile(timings["grown"][kind], fraction)
            theirs = percentile(timings["fresh"][kind], fraction)
            row.append(f"{stat} {ours:.2f} vs {theirs:.2f} ms ({ours / theirs:.2f}x)")
            ok &= ours <= 1.2 * theirs
        print(f"latency, {name}, {kind} run, grown vs fresh: " + "; ".join(row))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cron", action="store_true", help="the nightly-cron report case")
    parser.add_argument("--nights", type=int, default=0, help="nightly updates to run")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    if not (args.cron or args.nights):
        parser.error("give --cron, --nights N, or both")
    ok = True
    with tempfile.TemporaryDirectory(prefix="searchkit-history-") as work:
        if args.cron:
            ok &= cron(Path(work))
        if args.nights:
            ok &= nights(Path(work), args.nights, args.seed)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
