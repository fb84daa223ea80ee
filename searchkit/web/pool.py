"""Where the web app's library calls run: a few threads, each with its own `Index`, and a
time budget per call.

Each thread opens its own `Index` because an `Index` keeps one Whoosh searcher (open files,
a cached vocabulary) that is not shared safely between threads. `Index` checks `CURRENT`
before each call, so every thread moves to a rebuilt or updated index on its next search,
without a restart.

A call that outlives the budget is answered with `SearchTimeout` at once; its thread finishes
in the background (Python cannot stop a thread), and the other threads keep serving.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ..errors import IncompatibleIndexError, IndexNotFoundError, SearchkitError
from ..index import Index

T = TypeVar("T")

THREADS = 4
# A query that needs more is pathological (the slowest of the 2,644-post benchmark questions
# takes under 0.5 s warm): answer it with an error and keep the thread pool for others.
BUDGET_SECONDS = 5.0


class SearchTimeout(SearchkitError):
    """A library call took longer than the pool's time budget."""


class IndexPool:
    """Runs `function(index, ...)` in a worker thread with that thread's own open `Index`."""

    def __init__(self, path: Path, threads: int = THREADS, budget: float = BUDGET_SECONDS):
        self.path = Path(path)
        self.budget = budget
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="searchkit-web")
        self._local = threading.local()

    async def run(self, function: Callable[..., T], *args) -> T:
        """`function(index, *args)` in a worker thread. Raises what it raises,
        `IndexNotFoundError`/`IncompatibleIndexError` while there is no usable index, and
        `SearchTimeout` after the budget."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._call, function, args)
        try:
            return await asyncio.wait_for(future, self.budget)
        except asyncio.TimeoutError:
            raise SearchTimeout(
                f"the search took longer than {self.budget:g} s and was stopped; "
                "try fewer or more specific words"
            ) from None

    def _call(self, function: Callable[..., T], args: tuple) -> T:
        index = getattr(self._local, "index", None)
        if index is None:
            index = self._local.index = Index.open(self.path)
        try:
            return function(index, *args)
        except (IndexNotFoundError, IncompatibleIndexError):
            # The index was removed or replaced by one this version cannot read: open it
            # afresh on the next call (it may be back by then).
            self._local.index = None
            index.close()
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
