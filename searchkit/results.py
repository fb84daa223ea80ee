"""What a search returns: `SearchResults`, an iterable of `Hit`s that knows its `total`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Hit:
    """One matching post. `marks` are (start, end) offsets into `snippet` of each match,
    `title_marks` into `title`; `exact` is False for best-match hits of a relaxed
    natural-language query."""

    id: str
    path: Path | None
    url: str | None
    title: str
    date: datetime | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    score: float
    exact: bool
    snippet: str
    marks: tuple[tuple[int, int], ...]
    title_marks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SearchResults:
    """A page of hits. `total` counts every match (exact + relaxed); `exact_total` the exact."""

    query: str
    total: int
    exact_total: int
    hits: list[Hit] = field(default_factory=list)
    terms: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index: int) -> Hit:
        return self.hits[index]
