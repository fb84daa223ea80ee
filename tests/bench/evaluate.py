"""Evaluation runner for searchkit: ranking quality and exact-recall reports.

Not a test suite: it builds throwaway indexes in a temp dir and prints figures.

Relevance (MRR@10, Recall@10/100, nDCG@10 where queries carry grades, the share of queries
with no result, latency) on a corpus folder with `corpus.jsonl` ({id, title, body}) and
`queries.jsonl` ({qid, query, relevant: [ids]}, optionally grades: {id: 0-2}):

    python tests/bench/evaluate.py relevance ../shared/corpus/qbqtc
    python tests/bench/evaluate.py relevance ../shared/corpus/cmrc2018
    python tests/bench/evaluate.py relevance ../shared/corpus/drcd --t2s   # simplified queries
    python tests/bench/evaluate.py relevance ../shared/corpus/drcd --limit-queries 200 --json

Exact recall against a brute-force substring scan of the normalized posts:

    python tests/bench/evaluate.py recall ../shared/corpus/finews/_posts \\
        ../shared/corpus/finance/_posts --terms ../shared/corpus/finance_terms_public.txt
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from searchkit import Document, Index, QueryError, load_posts
from searchkit.analysis import normalize

WARMUP_QUERIES = 20


def read_jsonl(path: Path) -> list[dict]:
    """Return the JSON objects of a JSON-lines file, one per non-blank line."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values` (0.0 if empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ndcg_at_10(ids: list[str], grades: dict[str, float]) -> float:
    """nDCG@10 of a ranking, gain 2^grade - 1 (0.0 when no document has a grade above 0)."""

    def dcg(gains: list[float]) -> float:
        return sum((2**gain - 1) / math.log2(rank + 1) for rank, gain in enumerate(gains, 1))

    ideal = dcg(sorted(grades.values(), reverse=True)[:10])
    return dcg([grades.get(doc_id, 0) for doc_id in ids[:10]]) / ideal if ideal else 0.0


def ranked_ids(index: Index, query: str) -> list[str] | None:
    """Return the ids of the top 100 hits for `query`, or None if it is a `QueryError`."""
    try:
        return [hit.id for hit in index.search(query, limit=100)]
    except QueryError:
        return None


def relevance(folder: Path, t2s: bool, limit_queries: int | None) -> dict:
    """Index `folder`/corpus.jsonl, run its queries, return the figures as a dict."""
    corpus = read_jsonl(folder / "corpus.jsonl")
    queries = read_jsonl(folder / "queries.jsonl")[:limit_queries]
    if t2s:
        import opencc  # only this mode needs it (the test extra installs it)

        converter = opencc.OpenCC("t2s")
        queries = [{**q, "query": converter.convert(q["query"])} for q in queries]
    with tempfile.TemporaryDirectory() as tmp, Index.create(tmp) as index:
        started = time.monotonic()
        index.add(Document(id=d["id"], title=d["title"], body=d["body"]) for d in corpus)
        build_seconds = time.monotonic() - started
        for query in queries[:WARMUP_QUERIES]:
            ranked_ids(index, query["query"])
        reciprocal_ranks, recall10, recall100, ndcg10, latencies = [], [], [], [], []
        query_errors = empty = 0
        for query in queries:
            started = time.perf_counter()
            ids = ranked_ids(index, query["query"])
            latencies.append((time.perf_counter() - started) * 1000)
            if ids is None:
                query_errors += 1
                ids = []
            empty += not ids
            relevant = set(query["relevant"])
            rank = next((i for i, doc_id in enumerate(ids[:10], 1) if doc_id in relevant), None)
            reciprocal_ranks.append(1 / rank if rank else 0.0)
            recall10.append(len(relevant & set(ids[:10])) / len(relevant))
            recall100.append(len(relevant & set(ids)) / len(relevant))
            if "grades" in query:
                ndcg10.append(ndcg_at_10(ids, query["grades"]))
    return {
        "corpus": str(folder),
        "t2s": t2s,
        "documents": len(corpus),
        "queries": len(queries),
        "query_errors": query_errors,
        "mrr@10": statistics.fmean(reciprocal_ranks),
        "recall@10": statistics.fmean(recall10),
        "recall@100": statistics.fmean(recall100),
        **({"ndcg@10": statistics.fmean(ndcg10)} if ndcg10 else {}),
        "no_result": empty / len(queries),
        "latency_p50_ms": percentile(latencies, 0.50),
        "latency_p95_ms": percentile(latencies, 0.95),
        "build_seconds": build_seconds,
    }


def read_terms(path: Path) -> list[str]:
    """Return the terms of a terms file: one per line, blank lines and `#` comments skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def exact_recall(folders: list[Path], terms_file: Path) -> dict:
    """Compare exact-only search with a brute-force substring scan; return the figures."""
    folders = [folder.absolute() for folder in folders]
    terms = read_terms(terms_file)
    skipped = []  # bad posts are skipped by the index too; they are counted, not compared
    # Normalize each post once; the scan below is then plain substring tests.
    posts = [
        (str(doc.path.absolute()), normalize(doc.title), normalize(doc.body))
        for folder in folders
        for doc in load_posts(folder, on_problem=skipped.append)
    ]
    found = expected = correct = 0
    failures = []
    with tempfile.TemporaryDirectory() as tmp, Index.create(tmp) as index:
        for folder in folders:
            index.update_from(folder)
        for term in terms:
            needle = normalize(term)
            truth = {path for path, title, body in posts if needle in title or needle in body}
            every = index.search(term, exact_only=True, limit=100000, collapse=False)
            hits = {str(hit.path) for hit in every}
            found, expected, correct = (
                found + len(hits),
                expected + len(truth),
                correct + len(hits & truth),
            )
            missing, extra = sorted(truth - hits), sorted(hits - truth)
            if missing or extra:
                failures.append(
                    {
                        "term": term,
                        "expected": len(truth),
                        "missing": len(missing),
                        "extra": len(extra),
                        "missing_example": missing[0] if missing else None,
                        "extra_example": extra[0] if extra else None,
                    }
                )
    return {
        "posts": len(posts),
        "skipped_posts": sum(problem.skipped for problem in skipped),
        "terms": len(terms),
        "expected_matches": expected,
        "recall": correct / expected if expected else 1.0,
        "precision": correct / found if found else 1.0,
        "failing_terms": failures,
    }


def print_figures(figures: dict) -> None:
    """Print `figures` as aligned `key: value` lines, failing terms one per line."""
    failures = figures.pop("failing_terms", None)
    width = max(map(len, figures))
    for key, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    for failure in failures or []:
        print(
            f"  FAIL {failure['term']}: expected {failure['expected']}, "
            f"missing {failure['missing']} (e.g. {failure['missing_example']}), "
            f"extra {failure['extra']} (e.g. {failure['extra_example']})"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run one evaluation, print it. Always returns 0."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    rel = modes.add_parser("relevance", help="MRR/recall/latency on a QA corpus folder")
    rel.add_argument("folder", type=Path, help="folder with corpus.jsonl and queries.jsonl")
    rel.add_argument("--t2s", action="store_true", help="convert queries to simplified first")
    rel.add_argument("--limit-queries", type=int, metavar="N", help="run only the first N")
    rel.add_argument("--json", action="store_true", help="print one JSON object")
    rec = modes.add_parser("recall", help="exact-only search vs brute-force substring scan")
    rec.add_argument("folders", type=Path, nargs="+", help="Jekyll posts folders")
    rec.add_argument("--terms", type=Path, required=True, help="one term a line, # comments")
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.mode == "relevance":
        figures = relevance(args.folder, args.t2s, args.limit_queries)
    else:
        figures = exact_recall(args.folders, args.terms)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
