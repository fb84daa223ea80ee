"""What a search returns: `SearchResults`, an iterable of `Hit`s that knows its `total`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from .highlight import find_marks, make_snippet, marked_terms


@dataclass(frozen=True)
class Hit:
    """One matching post. `marks` are (start, end) offsets into `snippet` of each match,
    `title_marks` into `title`. `match` says why it was found: "exact" (contains the query's
    terms, or an unquoted term's words), "synonym" (contains a synonym of a term instead) or
    "relaxed" (a best-match hit on the query's words); they rank in that order.
    `duplicates` counts the other matching posts that are near-duplicates of this one (the
    same body, or a notice differing only in numbers and dates), folded into this row.

    The snippet and marks are made from `body` and `terms` when first read: a program that
    wants only ids or titles does not pay for them. A best-match hit does not mark a lone
    character or digit that jieba cut out of a longer query term (see `marked_terms`)."""

    id: str
    path: Path | None
    url: str | None
    title: str
    date: datetime | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    score: float
    match: str
    body: str = field(default="", repr=False)
    terms: tuple[str, ...] = ()  # the texts to mark
    duplicates: int = 0

    @property
    def exact(self) -> bool:
        """True when the post contains the query's own terms."""
        return self.match == "exact"

    @property
    def snippet(self) -> str:
        """A short excerpt of the body around the best match (see `make_snippet`)."""
        return self._snippet[0]

    @property
    def marks(self) -> tuple[tuple[int, int], ...]:
        return self._snippet[1]

    @cached_property
    def title_marks(self) -> tuple[tuple[int, int], ...]:
        return tuple(find_marks(self.title, self._marked_terms))

    @cached_property
    def _snippet(self) -> tuple[str, tuple[tuple[int, int], ...]]:
        snippet, marks = make_snippet(self.title, self.body, self._marked_terms)
        return snippet, tuple(marks)

    @cached_property
    def _marked_terms(self) -> list[str]:
        return marked_terms(self.terms, self.match)


@dataclass(frozen=True)
class SearchResults:
    """A page of hits. `total` counts every match (exact + synonym + relaxed); `exact_total`
    the exact ones. `suggestion` is a corrected query (did you mean ...?) when no post contains
    the terms or their synonyms and the index knows a near-miss of a term that does.
    `collapsed` counts the posts folded into another post's row (`Hit.duplicates`): the
    pages hold `rows` rows, and `total` still counts every post, on every page."""

    query: str
    total: int
    exact_total: int
    hits: list[Hit] = field(default_factory=list)
    terms: tuple[str, ...] = ()
    synonym_total: int = 0
    suggestion: str | None = None
    collapsed: int = 0

    @property
    def rows(self) -> int:
        """How many rows the pages hold: `total` less the posts folded into other rows."""
        return self.total - self.collapsed

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, index: int) -> Hit:
        return self.hits[index]
