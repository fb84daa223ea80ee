"""Histories of many commits, and the comparison of their index with a fresh build (#18).

A posts folder changes as a real archive does between nightly updates: new posts arrive, some
are edited, some are removed. After each change the index is updated; at the end a fresh index
of the same folder must give the same answers. `tests/test_codec.py` runs short histories,
`tests/bench/history.py` long ones with timings.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from searchkit import Index

# Appended to an edited post: words that also occur elsewhere, so edits change match sets.
EDIT_WORDS = ["逆回购", "缩表", "降准", "美联储加息", "人民币汇率", "北向资金", "MLF", "2026年"]


@dataclass
class Change:
    """What one step did to the folder: the ids of posts added, edited and removed."""

    added: list[str]
    edited: list[str]
    removed: list[str]


class ChangingFolder:
    """A posts folder fed from `source` files in order, edited and pruned at random."""

    def __init__(self, source: list[Path], folder: Path, rng: random.Random):
        self.pending = list(source)
        self.folder = folder
        self.rng = rng
        folder.mkdir(parents=True, exist_ok=True)

    def present(self) -> list[Path]:
        return sorted(self.folder.glob("*.md"))

    def add(self, count: int) -> list[str]:
        taken, self.pending = self.pending[:count], self.pending[count:]
        for path in taken:
            shutil.copyfile(path, self.folder / path.name)
        return [path.name for path in taken]

    def edit(self, count: int) -> list[str]:
        chosen = self.rng.sample(self.present(), min(count, len(self.present())))
        for path in chosen:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"\n\n补记：{self.rng.choice(EDIT_WORDS)}。\n")
        return [path.name for path in chosen]

    def remove(self, count: int) -> list[str]:
        chosen = self.rng.sample(self.present(), min(count, len(self.present())))
        for path in chosen:
            path.unlink()
        return [path.name for path in chosen]

    def random_change(self, most_added: int, most_edited: int, most_removed: int) -> Change:
        """Edits and removals first, so a post added in this step is not also edited."""
        edited = self.edit(self.rng.randint(0, most_edited))
        removed = self.remove(self.rng.randint(0, most_removed))
        added = self.add(self.rng.randint(1, most_added))
        return Change(added, sorted(set(edited) - set(removed)), removed)


def segment_count(index: Index) -> int:
    return len(index.searcher().reader().leaf_readers())


def exact_ids(index: Index, term: str) -> set[str]:
    # Every post, not folded: which of equally ranked near-duplicates stands for them is
    # a matter of document order, which a grown index and a fresh build need not share.
    every = index.search(term, exact_only=True, limit=100_000, collapse=False)
    return {hit.id for hit in every}


def differences(grown: Index, fresh: Index, terms: list[str]) -> list[str]:
    """How the index built by many commits answers differently from a fresh build: counts,
    ids, every exact query over `terms`, and the figures of `stats()` that describe posts."""
    found = []
    if grown.count() != fresh.count():
        found.append(f"count {grown.count()} != {fresh.count()}")
    if grown.ids() != fresh.ids():
        found.append(f"ids differ: {set(grown.ids()) ^ set(fresh.ids())}")
    for term in terms:
        ours, theirs = exact_ids(grown, term), exact_ids(fresh, term)
        if ours != theirs:
            found.append(f"{term}: {len(ours)} posts, fresh build {len(theirs)}")
    a, b = grown.stats(), fresh.stats()
    for name in ("documents", "first_date", "last_date", "categories", "tags"):
        if getattr(a, name) != getattr(b, name):
            found.append(f"stats().{name}: {getattr(a, name)} != {getattr(b, name)}")
    if not set(fresh.vocabulary()) <= set(grown.vocabulary()):
        found.append("the vocabulary lacks words of the fresh build")
    return found
