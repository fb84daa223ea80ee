"""What the pages need besides the library's results: the request's search parameters
checked, URLs that keep the whole state, pages, safe links, highlighted HTML, the timeline.

Nothing here searches: `app.py` hands `SearchForm.search_args()` to `Index.search` as the
CLI hands its options.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import quote, urlencode, urlsplit

from markupsafe import Markup

from ..highlight import to_html

MAX_QUERY_CHARS = 200  # a search box, not a paste bin: longer queries are a 400
MAX_FIELD_CHARS = 100  # since, until, category, tag
MAX_PAGE = 500
PAGE_SIZE = 10
MAX_API_LIMIT = 100
SORTS = ("relevance", "date")


class BadRequest(ValueError):
    """A request parameter the app refuses (HTTP 400), with a one-line message."""


@dataclass(frozen=True)
class SearchForm:
    """The search state a URL holds: `/?q=缩表&since=2022-06&category=cls&page=2`."""

    q: str = ""
    since: str = ""
    until: str = ""
    category: str = ""
    tag: str = ""
    sort: str = "relevance"
    page: int = 1
    limit: int = PAGE_SIZE
    all: int = 0  # 1: every post, near-duplicates not folded (`Index.search(collapse=False)`)

    @classmethod
    def from_params(cls, params: Mapping[str, str], max_limit: int = PAGE_SIZE) -> SearchForm:
        """The form from query parameters. Raises `BadRequest` for a value out of bounds."""
        q = params.get("q", "").strip()
        if len(q) > MAX_QUERY_CHARS:
            raise BadRequest(f"the query is longer than {MAX_QUERY_CHARS} characters")
        texts = {}
        for name in ("since", "until", "category", "tag"):
            texts[name] = params.get(name, "").strip()
            if len(texts[name]) > MAX_FIELD_CHARS:
                raise BadRequest(f"{name} is longer than {MAX_FIELD_CHARS} characters")
        sort = params.get("sort", "relevance") or "relevance"
        if sort not in SORTS:
            raise BadRequest("sort must be relevance or date")
        page = _integer(params, "page", 1, 1, MAX_PAGE)
        limit = _integer(params, "limit", PAGE_SIZE, 0, max_limit)
        every = _integer(params, "all", 0, 0, 1)
        return cls(q, sort=sort, page=page, limit=limit, all=every, **texts)

    def search_args(self) -> dict:
        """Keyword arguments for `Index.search` (empty filters left out)."""
        return {
            "limit": self.limit,
            "offset": (self.page - 1) * self.limit,
            "sort": self.sort,
            "collapse": not self.all,
            **self.filters(),
        }

    def filters(self) -> dict:
        """The filters as `Index.search`/`Index.facets` keywords."""
        names = ("since", "until", "category", "tag")
        return {name: getattr(self, name) for name in names if getattr(self, name)}

    def url(self, **changes) -> str:
        """`/?...` for this state with `changes`; a changed filter goes back to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        state = replace(self, **changes)
        defaults = SearchForm()
        params = {
            f.name: getattr(state, f.name)
            for f in fields(state)
            if f.name != "limit" and getattr(state, f.name) != getattr(defaults, f.name)
        }
        return "/?" + urlencode(params) if params else "/"


def _integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, "")
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return number


def page_numbers(page: int, total: int, size: int = PAGE_SIZE) -> list[int]:
    """The page numbers to link: the first, the last, and two either side of `page`."""
    last = min(max(math.ceil(total / size), 1), MAX_PAGE)
    shown = {1, last, *range(max(page - 2, 1), min(page + 2, last) + 1)}
    return sorted(shown)


def post_url(doc_id: str, query: str = "") -> str:
    """The post page of `doc_id`, with `query`'s matches to highlight."""
    url = "/posts/" + quote(doc_id, safe="")
    return f"{url}?{urlencode({'q': query})}" if query else url


def marked(text: str, marks) -> Markup:
    """`text` as HTML, escaped, with each mark in `<mark>`."""
    return Markup(to_html(text, list(marks)))


def safe_link(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL a link may point to, else None: a post's
    front matter is not trusted (`javascript:`, `data:`, a scheme split by a tab or newline,
    which browsers ignore, and anything with control characters are shown as text only)."""
    if not url or any(ord(char) < 33 or ord(char) == 127 for char in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


@dataclass(frozen=True)
class Bar:
    month: str
    count: int
    x: float
    y: float
    width: float
    height: float


def timeline_bars(months: list[tuple[str, int]], width: int = 320, height: int = 100) -> list[Bar]:
    """One bar a month, scaled to the busiest month, for the SVG timeline."""
    if not months:
        return []
    top = max(count for _, count in months) or 1
    step = width / len(months)
    gap = min(step * 0.2, 2)
    return [
        Bar(
            month,
            count,
            round(i * step, 2),
            round(height - count / top * height, 2),
            round(max(step - gap, 1), 2),
            round(count / top * height, 2),
        )
        for i, (month, count) in enumerate(months)
    ]
