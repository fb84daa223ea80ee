"""What a search returns: `SearchResults`, an iterable of `Hit`s that knows its `total`;
`SimilarPosts` for "more like this"; `MarkedPost`, a post with a query's matches marked.

Each has a `to_dict()`: the one JSON shape of `searchkit search/similar/show --json` and of
the HTTP API (`searchkit serve`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .highlight import find_marks, make_snippet, marked_terms

if TYPE_CHECKING:
    from .documents import Document
    from .stored import StoredText


@dataclass(frozen=True)
class Hit:
    """One matching post. `marks` are (start, end) offsets into `snippet` of each match,
    `title_marks` into `title`. `match` says why it was found: "exact" (contains the query's
    terms, or an unquoted term's words), "synonym" (contains a synonym of a term instead) or
    "relaxed" (a best-match hit on the query's words); they rank in that order.
    `duplicates` counts the other matching posts that are near-duplicates of this one (the
    same body, or a notice differing only in numbers and dates), folded into this row.

    The body, and the snippet and marks made from it and `terms`, are read when first
    asked for: a program that wants only ids or titles does not pay for them (the body
    comes from the index still compressed, a `stored.StoredText`, and stays readable after
    the index is closed). A best-match hit does not mark a lone character or digit that
    jieba cut out of a longer query term (see `marked_terms`)."""

    id: str
    path: Path | None
    url: str | None
    title: str
    date: datetime | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    score: float
    match: str
    stored_body: str | StoredText = field(default="", repr=False, compare=False)
    terms: tuple[str, ...] = ()  # the texts to mark
    duplicates: int = 0

    @cached_property
    def body(self) -> str:
        """The post's body. Raises `zlib.error` if the index's copy of it is damaged."""
        body = self.stored_body
        return body if isinstance(body, str) else body.text()

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

    def to_dict(self) -> dict:
        """The hit as JSON values: the post's fields, score, match, snippet and marks."""
        return {
            **post_fields(self),
            "score": self.score if math.isfinite(self.score) else 0.0,
            "exact": self.exact,
            "match": self.match,
            "snippet": self.snippet,
            "marks": [[start, end] for start, end in self.marks],
            "title_marks": [[start, end] for start, end in self.title_marks],
            "duplicates": self.duplicates,
        }

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

    def to_dict(self) -> dict:
        """The page as JSON values (`searchkit search --json`, `GET /api/search`)."""
        return {
            "query": self.query,
            "total": self.total,
            "exact_total": self.exact_total,
            "synonym_total": self.synonym_total,
            "suggestion": self.suggestion,
            "rows": self.rows,
            "collapsed": self.collapsed,
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass(frozen=True)
class SimilarPosts(SearchResults):
    """What `Index.similar` returns: `SearchResults` for the posts most like post `post_id`,
    whose `terms` are the words searched for (the post's most telling words)."""

    post_id: str = ""

    @classmethod
    def of(cls, results: SearchResults, post_id: str) -> SimilarPosts:
        return cls(**{f.name: getattr(results, f.name) for f in fields(results)}, post_id=post_id)

    def to_dict(self) -> dict:
        """`searchkit similar --json`'s document (`GET /api/posts/{id}/similar`)."""
        return {
            "id": self.post_id,
            "words": list(self.terms),
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass(frozen=True)
class MarkedPost:
    """A stored post with the matches of a query's terms marked, as `searchkit show --query`
    prints it: `title_marks` and `body_marks` are (start, end) offsets into `post.title` and
    `post.body`. See `Index.marked_post`."""

    post: Document
    terms: tuple[str, ...] = ()  # the texts to mark

    @cached_property
    def title_marks(self) -> tuple[tuple[int, int], ...]:
        return tuple(find_marks(self.post.title, list(self.terms)))

    @cached_property
    def body_marks(self) -> tuple[tuple[int, int], ...]:
        return tuple(find_marks(self.post.body, list(self.terms)))

    @property
    def match_count(self) -> int:
        """How many matches are marked, in the title and the body."""
        return len(self.title_marks) + len(self.body_marks)

    def to_dict(self) -> dict:
        """`searchkit show --json`'s document (`GET /api/posts/{id}`)."""
        return {
            **post_fields(self.post),
            "body": self.post.body,
            "title_marks": [list(mark) for mark in self.title_marks],
            "body_marks": [list(mark) for mark in self.body_marks],
        }


def post_fields(post: Hit | Document) -> dict:
    """The fields a `Hit` shares with a `Document`, as JSON values."""
    return {
        "id": post.id,
        "path": str(post.path) if post.path else None,
        "url": post.url,
        "title": post.title,
        "date": post.date.isoformat() if post.date else None,
        "categories": list(post.categories),
        "tags": list(post.tags),
    }
