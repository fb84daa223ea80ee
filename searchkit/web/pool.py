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
opens a fresh one for its next call. An asynchronous exception that lands where Python
ignores exceptions (a `__del__`, a garbage-collector callback: seen in CI, where Hypothesis
installs one) is lost and the search runs on, so the stop is sent again every
`RESTOP_SECONDS` until the call has ended.

The budget counts a call's own running time, not its wait for a free thread: under load
(after a rebuild every cached answer is stale at once) a quick search could wait seconds
behind others and was answered 503 without having run at all. The wait has its own, longer
limit (`ServerBusy`), so that a flood of requests is refused rather than queued forever.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ..errors import IncompatibleIndexError, IndexNotFoundError, SearchkitError
from ..index import Index

T = TypeVar("T")

# The searches share one GIL, so more threads add no throughput, only more contention
# for it with the event loop, which answers cached requests meanwhile: under the load
# runner, 2 threads gave 913 and 1,038 requests/s where 4 gave 812 and 623 (alternate runs
# of 20 s, 1 worker, on a busy machine).
THREADS = 2
# Warm, the slowest of 100 benchmark questions takes well under a second on 2,644 posts;
# 5 s leaves room for a loaded machine and stops only what is pathological.
BUDGET_SECONDS = 5.0
WAIT_SECONDS = 30.0  # for a free thread, before the request is refused
RESTOP_SECONDS = 0.1  # between stops sent to a call that has not ended yet


class SearchTimeout(SearchkitError):
    """A library call took longer than the pool's time budget (the answer to the request)."""


class ServerBusy(SearchkitError):
    """No thread was free to start a library call within the pool's wait limit."""

    def __init__(self, seconds: float):
        super().__init__(f"the server is busy: no search started within {seconds:g} s")


class SearchStopped(BaseException):
    """Raised inside a worker thread to stop a call past its budget. A BaseException, so
    that no `except Exception` in the library or Whoosh swallows it."""


class _Call:
    """One call's progress, changed under the pool's lock: queued -> running -> done, or
    abandoned while queued (it will not run), or stopped while running -> ended."""

    __slots__ = ("state", "thread")

    def __init__(self):
        self.state = "queued"
        self.thread = 0


class IndexPool:
    """Runs `function(index, ...)` in a worker thread with that thread's own open `Index`."""

    def __init__(
        self,
        path: Path,
        threads: int = THREADS,
        budget: float = BUDGET_SECONDS,
        wait: float = WAIT_SECONDS,
    ):
        self.path = Path(path)
        self.budget = budget
        self.wait = wait
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="searchkit-web")
        self._local = threading.local()
        self._lock = threading.Lock()

    async def run(self, function: Callable[..., T], *args) -> T:
        """`function(index, *args)` in a worker thread. Raises what it raises,
        `IndexNotFoundError`/`IncompatibleIndexError` while there is no usable index,
        `SearchTimeout` when it runs longer than the budget, and `ServerBusy` when no thread
        was free to start it within the wait limit."""
        loop = asyncio.get_running_loop()
        call, started = _Call(), asyncio.Event()

        def on_start():
            loop.call_soon_threadsafe(started.set)

        future = loop.run_in_executor(self._executor, self._call, call, on_start, function, args)
        try:
            await asyncio.wait_for(started.wait(), self.wait)
        except asyncio.TimeoutError:
            self._stop(call)
            future.cancel()
            raise ServerBusy(self.wait) from None
        try:
            return await asyncio.wait_for(future, self.budget)
        except asyncio.TimeoutError:
            self._stop(call)
            self._stop_again_until_ended(call, loop)
            raise SearchTimeout(
                f"the search took longer than {self.budget:g} s and was stopped; "
                "try fewer or more specific words"
            ) from None

    def _call(self, call: _Call, on_start, function: Callable[..., T], args: tuple) -> T | None:
        with self._lock:
            if call.state == "abandoned":
                return None  # its request was refused while it waited
            call.state, call.thread = "running", threading.get_ident()
        try:
            on_start()
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
            # Until the state says the call is over, a stop may still come (and be sent
            # again and again): one raised before the state was set sets it again.
            while True:
                try:
                    with self._lock:
                        call.state = "done" if call.state == "running" else "ended"
                    _checkpoint()  # a stop sent just before is raised here, in this call
                    break
                except SearchStopped:
                    self._local.index = None

    def _index(self) -> Index:
        index = getattr(self._local, "index", None)
        if index is None:
            index = self._local.index = Index.open(self.path)
        return index

    def _stop(self, call: _Call) -> None:
        """Make sure `call` does no more work: it never starts if still queued, and
        `SearchStopped` is raised in its thread if it is running."""
        with self._lock:
            if call.state == "queued":
                call.state = "abandoned"
            elif call.state in ("running", "stopped"):
                call.state = "stopped"
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(call.thread), ctypes.py_object(SearchStopped)
                )

    def _stop_again_until_ended(self, call: _Call, loop: asyncio.AbstractEventLoop) -> None:
        def again():
            if call.state == "stopped":  # re-read under the lock by _stop
                self._stop(call)
                loop.call_later(RESTOP_SECONDS, again)

        loop.call_later(RESTOP_SECONDS, again)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _checkpoint() -> None:
    """A Python call: CPython delivers a pending asynchronous exception on entering it."""
