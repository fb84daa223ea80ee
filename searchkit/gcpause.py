"""Python's cyclic garbage collector paused while a write runs (`Index` writes and rebuilds).

A write's posting pool (`codec.TermPool`) holds hundreds of thousands of arrays and tuples,
which the collector tracks, and a write makes almost no reference cycles, so every full
collection walks them for nothing: in a build of the 19,547 news articles the writing
process held ~800,000 tracked objects, and 15 full collections took 3.1 s of its 22 s
(a build of 8,000 found 651 objects in cycles in all). Paused, the build of the 19,547
took 8–20% less wall time in three alternating trials (31.8–35.7 s → 28.3–32.4 s; the
writing process's CPU 26–30 → 22–26 s; docs/speed.md). The analysis workers, forked in the
block, inherit the pause. The few cycles are collected after the write.

Searches are not paused: their young collections walk big lists of postings too (~4% of a
question's time), but a paused search leaves its collection to the next one, a keyword's
first run took a 0.5 ms collection that was not its own, and the keywords' median rose.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, and on again after, when the block runs
    in the main thread and the collector is on. Another thread's write leaves it alone: a
    program's threads may be stopped by an exception raised in them (as the web server stops
    a search past its budget, `web.pool`), which could land before the collector is turned
    back on and leave it off for good. (A program that turns the collector off while a
    write of the main thread runs finds it on again after.)"""
    if not gc.isenabled() or threading.current_thread() is not threading.main_thread():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
