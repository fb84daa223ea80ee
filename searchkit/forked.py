"""Work done in a forked process beside this one, for a result this one collects later.

A commit writes its segment on one core while the other idles (the analysis workers are
gone by then); part of that work (`codec.Writer`'s join table) needs nothing but what the
process already holds, so a forked copy of the process can compute it meanwhile and hand
back the bytes. No Whoosh here.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

Result = TypeVar("Result")


def can_fork() -> bool:
    """Whether `beside` would fork: the platform has `fork` and this process runs one thread
    (a fork copies only the calling thread; another's locks would stay held in the child)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def resident_bytes() -> int | None:
    """This process's resident memory (RSS) now, from /proc; None where there is none."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def beside(compute: Callable[[], Result]) -> Iterator[Callable[[], Result]]:
    """`with beside(compute) as result:` `compute()` runs in a forked process while the
    block runs; `result()` waits for it and returns its result (or raises its exception).
    Leaving the block without asking (a failure) kills the child.

    The child shares nothing with this process after the fork: it must only read what it
    inherited (a file it reads must be one this process does not read meanwhile, as the
    two share its offset) and write nothing but its result. It ends with `os._exit`, so no
    inherited file buffer is flushed and no exit handler runs twice, and dies with this
    process (PR_SET_PDEATHSIG on Linux), so a killed build leaves no process holding the
    index's lock. When the child ends without a result (killed), `result()` computes it
    here; so it does without `can_fork()`.
    """
    if not can_fork():
        yield compute
        return
    readable, writable = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(readable)
        _exit_with(writable, compute, parent)
    os.close(writable)
    running = True

    def result() -> Result:
        nonlocal running
        if not running:
            raise RuntimeError("a forked result is asked for once")
        running = False
        try:
            with os.fdopen(readable, "rb") as pipe:
                data = pipe.read()
        finally:
            os.waitpid(pid, 0)
        if not data:  # the child was killed before it answered
            return compute()
        kind, value = pickle.loads(data)
        if kind == "error":
            raise value
        return value

    try:
        yield result
    finally:
        if running:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(readable)


def _exit_with(writable: int, compute: Callable, parent: int) -> None:
    """The child: die with the parent, compute, send the result or error, `os._exit`."""
    code = 1
    try:
        _die_with_parent(parent)
        try:
            answer = ("result", compute())
        except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
            answer = ("error", error)
        try:
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - an error that does not pickle
            data = pickle.dumps(("error", RuntimeError(f"{type(error).__name__}: {error}")))
        with os.fdopen(writable, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (a best effort elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request
        os._exit(1)
