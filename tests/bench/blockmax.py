"""How many posts block-max pruning could skip in a relaxed tier (issue #15: the growth of
first runs from 20k to 60k documents).

A headline's relaxed tier is a best match on all its words (`scoring.BestMatchPostings`),
and on growth.py's indexes its work grows with the postings of its words (docs/speed.md,
"Where the growth is, by tier"). This asks what an index that kept, for each block of a
word's postings, a bound on the scores in it (Lucene's "impacts") would save: for each
headline it scores every posting of its relaxed words, cuts each word's postings into blocks
of `--block`, and counts the posts whose bound reaches the final 10th-best score, even when
pruning knows that score from the start (an oracle: real pruning finds it as it goes). Two
bounds: the blocks a post is in (a lower bound of the work, which needs each block read),
and, as block-max pruning sees it, for every word the block whose range spans the post. A
block's bound is its best score, or with `--loose` the score of its largest frequency at
its shortest length (two numbers a block header could keep). Last, how many posts have a
word that is in at most 2% (5%) of the posts: what the tier would match if the more common
words only added to the scores of the posts that have a rarer one.

    python tests/bench/blockmax.py /tmp/growth                 # growth.py's two indexes
    python tests/bench/blockmax.py /tmp/growth --loose --block 64
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
from bisect import bisect_left
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))  # (as growth.py: appended)

import bench  # noqa: E402
import growth  # noqa: E402

from searchkit import Index  # noqa: E402
from searchkit import query as query_module  # noqa: E402
from searchkit.scoring import BestMatch, _Word, prunable  # noqa: E402

# Shares of the posts: a relaxed tier in which words more common than this only added to
# the posts that have a rarer word would match only the posts with a rarer word.
RARER = (0.02, 0.05)


def unskippable(words: list[_Word], block: int, loose: bool, limit: int = 10) -> tuple:
    """(matches, posts whose own blocks' bounds reach the `limit`-th best score, posts whose
    spanning blocks' bounds do) of a best match on `words` (`scoring._Word`s of one
    segment). A post's own bound adds the bounds of the blocks it is in; its spanning bound
    adds, for every word, the bound of the word's block whose documents span the post,
    whether or not the post is in it: pruning knows a block's range and bound, not its
    posts, so only the second can be skipped without reading the block."""
    scores: dict[int, float] = {}
    own: dict[int, float] = {}
    spans = []  # per word: (its first document, each block's last document, their bounds)
    for word in words:
        if not word.docs:
            continue
        scale, norm, slope, lengths = word.scale, word.norm, word.slope, word.lengths
        lasts, bounds = [], []
        for start in range(0, len(word.docs), block):
            docs = word.docs[start : start + block]
            tfs = word.weights[start : start + block]
            each = [
                scale * tf / (tf + norm + slope * lengths[doc])
                for doc, tf in zip(docs, tfs, strict=True)
            ]
            if loose:
                most, shortest = max(tfs), min(lengths[doc] for doc in docs)
                bound = scale * most / (most + norm + slope * shortest)
            else:
                bound = max(each)
            lasts.append(docs[-1])
            bounds.append(bound)
            for doc, score in zip(docs, each, strict=True):
                scores[doc] = scores.get(doc, 0.0) + score
                own[doc] = own.get(doc, 0.0) + bound
        spans.append((word.docs[0], lasts, bounds))
    if len(scores) <= limit:
        return len(scores), len(scores), len(scores)
    threshold = heapq.nlargest(limit, scores.values())[-1]
    spanning = 0
    for doc in scores:
        bound = 0.0
        for first, lasts, bounds in spans:
            i = bisect_left(lasts, doc)
            if i < len(lasts) and (i > 0 or doc >= first):
                bound += bounds[i]
        spanning += bound >= threshold
    return len(scores), sum(bound >= threshold for bound in own.values()), spanning


def headline_counts(path: Path, headlines: list[str], block: int, loose: bool) -> dict:
    """{headline: (`unskippable`'s three counts, then the posts with a word in at most each
    share of `RARER` of the posts)} of each headline's relaxed tier on the index at `path`
    (its first segment: growth.py's indexes have one)."""
    counts = {}
    with Index.open(path) as index:
        searcher, synonyms = index.searcher(), index.synonyms()
        vocab = index._loaded_vocabulary()  # private: a benchmark's view
        segment, posts = next(iter(searcher.leaf_searchers()))[0], searcher.doc_count_all()
        for text in headlines:
            parsed = query_module.parse(text)
            plan = query_module.build(parsed, vocab, index.analyzer, False, synonyms)
            relaxed = plan.relaxed
            if isinstance(relaxed, BestMatch) and prunable(relaxed, searcher):
                words = [_Word(segment, term) for term in relaxed.required + relaxed.optional]
                rarer = [
                    len(set().union(*(w.docs for w in words if len(w.docs) <= share * posts)))
                    for share in RARER
                ]
                counts[text] = (*unskippable(words, block, loose), *rarer)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="growth.py's folder (built if missing)")
    parser.add_argument("--block", type=int, default=128, help="postings a block (Whoosh: 128)")
    parser.add_argument("--loose", action="store_true", help="bound: largest tf, shortest post")
    options = parser.parse_args(argv)
    paths, records = growth.indexes(options.folder)
    options_sets = argparse.Namespace(nl_queries=0, headlines=50)
    headlines = bench.query_sets(records, options_sets)["headline"]
    small, large = (headline_counts(p, headlines, options.block, options.loose) for p in paths)
    both = [text for text in small if text in large]
    print(f"| {len(both)} headlines' relaxed tiers, medians | {paths[0].name} | {paths[1].name} |")
    print("|---|---:|---:|")
    shares = enumerate(RARER)
    rows = (
        ("matches", 0),
        ("posts not skipped, knowing which blocks hold them", 1),
        ("posts not skipped, knowing only the blocks' ranges (pruning)", 2),
        *((f"posts with a word in at most {share:.0%} of posts", 3 + i) for i, share in shares),
    )
    for label, column in rows:
        a = statistics.median(small[text][column] for text in both)
        b = statistics.median(large[text][column] for text in both)
        print(f"| {label} | {a:,.0f} | {b:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
