"""A cache of whole answers for `searchkit serve`, valid for one state of the index on disk.

Searches repeat (the same words, the next page of the same query, a post opened twice), and
a search costs 5-100 ms of the library's time where a cached answer costs well under one. An
answer is kept only for the index state it was computed on: `CURRENT` (a rebuild flips it),
the live generation's Whoosh TOC files (each commit of an update writes a new one) and the
index's `synonyms.txt`. Any change and every key misses, so an answer is never older than
the index, as with `Index`'s own check before each search.

Only GET answers with status 200 from the pages and the API are kept; static files have
their own caching, errors are never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from ..storage import CURRENT

ENTRIES = 512  # answers of at most ~40 KB (a search page): ~20 MB at worst a process


def index_state(path: Path) -> tuple | None:
    """What identifies the index's content on disk, or None when there is no index."""
    try:
        generation = (path / CURRENT).read_text("utf-8").strip()
        tocs = sorted(
            entry.name for entry in (path / generation).iterdir() if entry.suffix == ".toc"
        )
    except OSError:
        return None
    try:
        synonyms = (path / "synonyms.txt").stat().st_mtime_ns
    except OSError:
        synonyms = None
    return generation, tuple(tocs), synonyms


class AnswerCache:
    """ASGI middleware: replays a cached 200 answer to the same GET on the same index state."""

    def __init__(self, app, index_path: Path, entries: int = ENTRIES):
        self.app = app
        self.index_path = Path(index_path)
        self.entries = entries
        self._answers: OrderedDict[tuple, tuple[list, bytes]] = OrderedDict()

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not self.entries
            or scope["path"].startswith("/static/")
        ):
            return await self.app(scope, receive, send)
        state = index_state(self.index_path)
        key = (state, scope["path"], scope["query_string"])
        cached = self._answers.get(key) if state is not None else None
        if cached is not None:
            self._answers.move_to_end(key)
            headers, body = cached
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start, parts = {}, []

        async def keep(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") == 200 and state:
                    self._store(key, list(start.get("headers", [])), b"".join(parts))
            await send(message)

        await self.app(scope, receive, keep)

    def _store(self, key: tuple, headers: list, body: bytes) -> None:
        self._answers[key] = (headers, body)
        while len(self._answers) > self.entries:
            self._answers.popitem(last=False)
