"""Facets: how the posts matching a query spread over categories, tags and months.

Counted over **every** post a search can list for the query and filters (each tier: exact,
synonym, best match), not only one page of hits, so "缩表, month by month, and in which
sources?" is answered by the counts and the timeline beside the results.

Built on the public `Index.search` with a limit of the whole index: a `Hit` reads its stored
fields once and makes its snippet only when asked, so this reads ids, dates, categories and
tags alone (about 0.1 ms a hit: 240 ms for a query matching 2,016 of 2,644 posts).

>>> from searchkit.facets import facets
>>> counts = facets(index, "缩表", since="2022")     # doctest: +SKIP
>>> counts.months[:2]                                # doctest: +SKIP
[('2022-01', 3), ('2022-02', 0)]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from .dates import china_month

if TYPE_CHECKING:
    from .index import Index
    from .synonyms import Synonyms


@dataclass(frozen=True)
class Facets:
    """Counts over all the posts matching a query. `categories` and `tags` are sorted by
    count (then name); `months` runs from the first month with a match to the last, every
    month in between included (with 0), as `("YYYY-MM", count)` in the archive's calendar
    (UTC+08:00, as `since`/`until` read dates). `undated` posts are in no month."""

    query: str
    total: int
    categories: list[tuple[str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)
    months: list[tuple[str, int]] = field(default_factory=list)
    undated: int = 0

    def to_dict(self) -> dict:
        """The counts as JSON values: `[name, count]` pairs, months as `["YYYY-MM", count]`
        (the "facets" of `searchkit search --facets --json` and `GET /api/search`)."""
        return {
            "total": self.total,
            "categories": [list(pair) for pair in self.categories],
            "tags": [list(pair) for pair in self.tags],
            "months": [list(pair) for pair in self.months],
            "undated": self.undated,
        }


def facets(
    index: Index,
    query: str,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    category: str | None = None,
    tag: str | None = None,
    exact_only: bool = False,
    synonyms: bool | Synonyms = True,
) -> Facets:
    """The category, tag and month counts of every post `index.search(query, ...)` finds
    with these filters. Raises `QueryError` as `Index.search` does."""
    results = index.search(
        query,
        limit=max(index.count(), 1),
        since=since,
        until=until,
        category=category,
        tag=tag,
        exact_only=exact_only,
        synonyms=synonyms,
        collapse=False,  # counts of posts, near-duplicates included
    )
    categories, tags, months = Counter(), Counter(), Counter()
    undated = 0
    for hit in results.hits:
        categories.update(set(hit.categories))
        tags.update(set(hit.tags))
        if hit.date is None:
            undated += 1
        else:
            months[china_month(hit.date)] += 1
    return Facets(
        query,
        len(results.hits),
        _by_count(categories),
        _by_count(tags),
        _every_month(months),
        undated,
    )


def _by_count(counter: Counter) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def _every_month(counts: Counter) -> list[tuple[str, int]]:
    """Months from the first to the last counted, the empty ones with 0: a timeline shows a
    gap as a gap."""
    if not counts:
        return []
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:])
    months = []
    while True:
        key = f"{year:04d}-{month:02d}"
        months.append((key, counts.get(key, 0)))
        if key >= last:
            return months
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
