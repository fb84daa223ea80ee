"""A cache of whole answers for `searchkit serve`, valid for one state of the index on disk.

Searches repeat (the same words, the next page of the same query, a post opened twice), and
a search costs 5-100 ms of the library's time where a cached answer costs well under one. An
answer is kept only for the index state it was computed on: `CURRENT` (a rebuild flips it),
the live generation's Whoosh TOC files (each commit of an update writes a new one) and the
index's `synonyms.txt`. Any change and every key misses, so an answer is never older than
the index, as with `Index`'s own check before each search.

Identical requests that miss at the same time are computed once: the first runs, the others
wait for its answer. Right after a rebuild every key misses at once, and under load the same
few popular searches arrive many times over before the first is answered; computing each of
them once per waiting client queued ~50 searches in 4 threads, past the time budget (the
503s of an earlier load run, docs/serve.md).

Only GET answers with status 200 from the pages and the API are kept; static files have
their own caching, errors are never cached (a request that waited for one runs itself).
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from pathlib import Path

from ..storage import CURRENT

# Bytes of answers kept a process: every post of a 2,644-post archive (~4 KB each as JSON),
# the popular searches (~6 KB) and pages (~40 KB) fit. A count of answers would not bound
# the memory, and 512 answers were too few: a stream of searches asked once (each a new
# filter) pushed out the posts before they were asked again (docs/serve.md).
MEGABYTES = 64


def index_state(path: Path) -> tuple | None:
    """What identifies the index's content on disk, or None when there is no index."""
    try:
        generation = _generation(path)
        tocs = sorted(name for name in os.listdir(path / generation) if name.endswith(".toc"))
    except OSError:
        return None
    try:
        synonyms = os.stat(path / "synonyms.txt").st_mtime_ns
    except OSError:
        synonyms = None
    return generation, tuple(tocs), synonyms


_pointers: dict[tuple, str] = {}  # (CURRENT's path, inode, mtime, size) -> what it names


def _generation(path: Path) -> str:
    """The generation `CURRENT` names, read again only when its inode, time or size change
    (a rebuild replaces it, `os.replace`): a stat costs the event loop one system call,
    where opening and reading it cost three, and each lets a search thread take the GIL
    for up to a switch interval (5 ms)."""
    pointer = os.path.join(path, CURRENT)
    status = os.stat(pointer)
    key = (pointer, status.st_ino, status.st_mtime_ns, status.st_size)
    generation = _pointers.get(key)
    if generation is None:
        with open(pointer, encoding="utf-8") as file:
            generation = file.read().strip()
        if len(_pointers) > 64:
            _pointers.clear()
        _pointers[key] = generation
    return generation


class AnswerCache:
    """ASGI middleware: replays a cached 200 answer to the same GET on the same index state,
    and lets identical requests that miss together share one computation."""

    def __init__(self, app, index_path: Path, megabytes: float = MEGABYTES):
        self.app = app
        self.index_path = Path(index_path)
        self.capacity = int(megabytes * 1024 * 1024)
        self.size = 0  # bytes of the bodies kept
        self._answers: OrderedDict[tuple, tuple[list, bytes]] = OrderedDict()
        self._pending: dict[tuple, asyncio.Future] = {}  # key -> the answer being computed

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not self.capacity
            or scope["path"].startswith("/static/")
        ):
            return await self.app(scope, receive, send)
        state = index_state(self.index_path)
        if state is None:
            return await self.app(scope, receive, send)
        key = (state, scope["path"], scope["query_string"])
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        elif key in self._pending:
            answer = await asyncio.shield(self._pending[key])
        if answer is None:
            return await self._compute(key, scope, receive, send)
        headers, body = answer
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _compute(self, key: tuple, scope, receive, send) -> None:
        """Run the app for `key`, keep a 200 answer, and hand it to the requests waiting."""
        pending = None
        if key not in self._pending:
            pending = self._pending[key] = asyncio.get_running_loop().create_future()
        start, parts, answer = {}, [], None

        async def keep(message):
            nonlocal answer
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body") and start.get("status") == 200:
                    answer = (list(start.get("headers", [])), b"".join(parts))
                    self._store(key, answer)
            await send(message)

        try:
            await self.app(scope, receive, keep)
        finally:
            # The waiting requests get the answer, or None to compute their own (an error,
            # or this request was cancelled because its client went away).
            if pending is not None:
                del self._pending[key]
                pending.set_result(answer)

    def _store(self, key: tuple, answer: tuple[list, bytes]) -> None:
        body = answer[1]
        if len(body) > self.capacity // 8:
            return  # one answer never takes most of the cache
        if key in self._answers:
            self.size -= len(self._answers.pop(key)[1])
        self._answers[key] = answer
        self.size += len(body)
        while self.size > self.capacity:
            _, (_, dropped) = self._answers.popitem(last=False)
            self.size -= len(dropped)
