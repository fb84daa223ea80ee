"""The cyclic garbage collector paused while a write runs (`searchkit.gcpause`): off in the
block, on again after it however it ends, and left alone where turning it back on is not
certain (another thread) or not ours to do (a program that turned it off)."""

from __future__ import annotations

import gc
import threading

import pytest

from searchkit import Document, Index, gcpause


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_in_the_block_and_on_after():
    with gcpause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_failure():
    with pytest.raises(ValueError), gcpause.paused():
        raise ValueError("a bad post")
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off():
    gc.disable()
    with gcpause.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_another_threads_block_leaves_the_collector_alone():
    seen = []

    def write():
        with gcpause.paused():
            seen.append(gc.isenabled())

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert seen == [True]
    assert gc.isenabled()


def test_a_write_runs_paused_and_a_search_does_not(tmp_path):
    seen = []

    def posts():
        seen.append(gc.isenabled())
        yield Document(id="a", title="美联储缩表", body="美联储宣布缩表。")

    with Index.create(tmp_path / "index") as index:
        index.add(posts())
        assert seen == [False]
        assert gc.isenabled()
        assert [hit.id for hit in index.search("缩表")] == ["a"]
        assert gc.isenabled()
