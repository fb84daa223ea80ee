"""Benchmark runner for did-you-mean (`searchkit.suggest`): quality and speed on a real index.

Not a test: it reads an existing index, makes synthetic typos of its words and prints, per
kind of typo, how often the top suggestion is the word meant, then the time per suggestion.

    python tests/bench/suggest.py --index /tmp/big/index
    python tests/bench/suggest.py --index /tmp/big/index --pad 100000   # a bigger vocabulary

Typos are made from words (2-4 Chinese characters, or 5-12 letters) found in 5+ posts:
one character replaced by a homophone, every character replaced by a homophone, or one random
edit (replace, insert, delete, swap). `--pad N` adds N words of jieba's dictionary to the
vocabulary (counted as in one post each) to time suggestions on a larger one.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from pathlib import Path

from searchkit import Index
from searchkit.analysis import is_cjk, normalize
from searchkit.suggest import _characters, _homophones, suggest

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def homophone_typo(word: str, every: bool, chars: frozenset[str]) -> str:
    positions = range(len(word)) if every else [random.randrange(len(word))]
    out = list(word)
    for i in positions:
        others = sorted(c for c in _homophones(word[i]) & chars if c != word[i])
        if others:
            out[i] = random.choice(others)
    return "".join(out)


def edit_typo(word: str, pool: list[str]) -> str:
    i = random.randrange(len(word))
    kind = random.choice(["replace", "insert", "delete", "swap"])
    if kind == "replace":
        return word[:i] + random.choice(pool) + word[i + 1 :]
    if kind == "insert":
        return word[:i] + random.choice(pool) + word[i:]
    if kind == "delete" and len(word) > 2:
        return word[:i] + word[i + 1 :]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--pad", type=int, default=0, help="add N jieba dictionary words")
    parser.add_argument("--words", type=int, default=200, help="typos of each kind")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    random.seed(args.seed)

    index = Index.open(args.index)
    vocab = index.vocabulary()
    searcher = index.searcher()

    def indexed_df(word: str) -> int:
        return searcher.doc_frequency("title", word) + searcher.doc_frequency("body", word)

    padding: set[str] = set()
    if args.pad:
        import jieba

        lines = (Path(jieba.__file__).parent / "dict.txt").read_text("utf-8").splitlines()
        extra = sorted({normalize(line.split(" ", 1)[0]) for line in lines} - set(vocab))
        padding = set(random.sample(extra, min(args.pad, len(extra))))
        vocab = vocab.union(padding)

    def df(word: str) -> int:
        return indexed_df(word) + (word in padding)

    t = time.perf_counter()
    suggest("缩标", vocab, df)
    print(f"{len(vocab):,} words; first suggestion {1000 * (time.perf_counter() - t):.0f} ms")

    cjk = [w for w in vocab if is_cjk(w) and 2 <= len(w) <= 4 and w not in padding]
    latin = [w for w in vocab if re.fullmatch("[a-z]{5,12}", w) and w not in padding]
    sample = [w for w in random.sample(cjk, min(len(cjk), 20 * args.words)) if df(w) >= 5]
    latin_sample = [w for w in random.sample(latin, min(len(latin), 2000)) if df(w) >= 5]
    chars = _characters(vocab)
    pool = sorted(chars & set("".join(cjk)))
    n = args.words
    kinds = {
        "one homophone": [(w, homophone_typo(w, False, chars)) for w in sample[:n]],
        "every character a homophone": [
            (w, homophone_typo(w, True, chars)) for w in sample[n : 2 * n]
        ],
        "one random edit (Chinese)": [(w, edit_typo(w, pool)) for w in sample[2 * n : 3 * n]],
        "one random edit (Latin)": [(w, edit_typo(w, list(LETTERS))) for w in latin_sample[:n]],
    }
    times = []
    print(f"{'typo':32} {'top-1 = word meant':>20}")
    for kind, cases in kinds.items():
        cases = [(meant, typed) for meant, typed in cases if typed != meant and not df(typed)]
        right = 0
        for meant, typed in cases:
            t = time.perf_counter()
            found = suggest(typed, vocab, df)
            times.append(1000 * (time.perf_counter() - t))
            right += found[:1] == [meant]
        share = f"{right}/{len(cases)} ({100 * right / max(1, len(cases)):.0f}%)"
        print(f"{kind:32} {share:>20}")
    times.sort()
    print(
        f"time per suggestion: median {statistics.median(times):.1f} ms, "
        f"95th percentile {times[int(0.95 * len(times))]:.1f} ms, max {times[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
