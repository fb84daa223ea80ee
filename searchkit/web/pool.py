"""Where the web app's library calls run: a few threads, each with its own `Index`, and a
time budget per call that stops a call running past it.

Each thread opens its own `Index` because an `Index` keeps one Whoosh searcher (open files,
a cached vocabulary) that is not shared safely between threads. `Index` checks `CURRENT`
before each call, so every thread moves to a rebuilt or updated index on its next search,
without a restart.

A call still running when its budget is spent is answered with `SearchTimeout` at once, and
stopped: `SearchStopped` is raised inside its thread (CPython's `PyThreadState_SetAsyncExc`,
delivered at the thread's next bytecode boundary; searching is pure Python, so within
milliseconds). Only waiting on the budget would not do: the slowest hostile queries seen
(`的 的 的 …`, 100 times) take a minute, and four of them would hold every thread that long.
The stopped thread's `Index` may have been left half way through something, so that thread
opens a fresh one for its next call.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ..errors import IncompatibleIndexError, IndexNotFoundError, SearchkitError
from ..index import Index

T = TypeVar("T")

THREADS = 4
# Warm, the slowest of 100 benchmark questions takes well under a second on 2,644 posts;
# 5 s leaves room for a loaded machine and stops only what is pathological.
BUDGET_SECONDS = 5.0


class SearchTimeout(SearchkitError):
    """A library call took longer than the pool's time budget (the answer to the request)."""


class SearchStopped(BaseException):
    """Raised inside a worker thread to stop a call past its budget. A BaseException, so
    that no `except Exception` in the library or Whoosh swallows it."""


class IndexPool:
    """Runs `function(index, ...)` in a worker thread with that thread's own open `Index`."""

    def __init__(self, path: Path, threads: int = THREADS, budget: float = BUDGET_SECONDS):
        self.path = Path(path)
        self.budget = budget
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="searchkit-web")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._running: dict[int, int] = {}  # call number -> the thread running it
        self._numbers = itertools.count()

    async def run(self, function: Callable[..., T], *args) -> T:
        """`function(index, *args)` in a worker thread. Raises what it raises,
        `IndexNotFoundError`/`IncompatibleIndexError` while there is no usable index, and
        `SearchTimeout` when it is not done within the budget (waiting for a thread
        included)."""
        number = next(self._numbers)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._call, number, function, args)
        try:
            return await asyncio.wait_for(future, self.budget)
        except asyncio.TimeoutError:
            self._stop(number)
            raise SearchTimeout(
                f"the search took longer than {self.budget:g} s and was stopped; "
                "try fewer or more specific words"
            ) from None

    def _call(self, number: int, function: Callable[..., T], args: tuple) -> T:
        with self._lock:
            self._running[number] = threading.get_ident()
        try:
            return function(self._index(), *args)
        except SearchStopped:
            self._local.index = None
            raise
        except (IndexNotFoundError, IncompatibleIndexError):
            # The index was removed or replaced by one this version cannot read: open it
            # afresh on the next call (it may be back by then).
            self._local.index = None
            raise
        finally:
            try:
                with self._lock:
                    self._running.pop(number, None)
                _checkpoint()  # a stop sent just before the pop is raised here, in this call
            except SearchStopped:
                self._local.index = None

    def _index(self) -> Index:
        index = getattr(self._local, "index", None)
        if index is None:
            index = self._local.index = Index.open(self.path)
        return index

    def _stop(self, number: int) -> None:
        """Raise `SearchStopped` in the thread running call `number`, if it still is."""
        with self._lock:
            thread = self._running.pop(number, None)
            if thread is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(thread), ctypes.py_object(SearchStopped)
                )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _checkpoint() -> None:
    """A Python call: CPython delivers a pending asynchronous exception on entering it."""
