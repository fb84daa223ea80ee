"""Work in a forked process beside this one (`searchkit.forked`): its result or its error comes
back, a failure kills it, and it leaves no trace in this process's files or processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchkit import forked

pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="no fork here")


def test_the_result_comes_from_another_process():
    with forked.beside(os.getpid) as result:
        assert result() != os.getpid()


def test_the_childs_error_is_raised_here_as_itself():
    def fail():
        raise ValueError("a join is two characters, not 'x'")

    with forked.beside(fail) as result, pytest.raises(ValueError, match="two characters"):
        result()


def test_a_result_is_asked_for_once():
    with forked.beside(lambda: 1) as result:
        assert result() == 1
        with pytest.raises(RuntimeError):
            result()


def test_leaving_the_block_on_a_failure_kills_the_child(tmp_path):
    pid_file = tmp_path / "child"

    def slow():
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)

    started = time.monotonic()
    with pytest.raises(KeyError), forked.beside(slow):
        _wait_for(lambda: pid_file.exists() and pid_file.read_text())
        raise KeyError("the parent's own work failed")
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    assert not _alive(child)
    with pytest.raises(ChildProcessError):  # already reaped
        os.waitpid(child, os.WNOHANG)


def test_a_child_killed_before_it_answers_leaves_the_work_to_this_process():
    def answer():
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return "computed here"

    parent = os.getpid()
    with forked.beside(answer) as result:
        assert result() == "computed here"


def test_the_child_flushes_no_buffer_it_inherited(tmp_path):
    path = tmp_path / "file"
    with path.open("w") as handle:
        handle.write("written once")  # still in the buffer when the process forks
        with forked.beside(lambda: None) as result:
            result()
    assert path.read_text() == "written once"


def test_without_fork_the_work_runs_when_its_result_is_asked_for(monkeypatch):
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    with forked.beside(os.getpid) as result:
        assert result() == os.getpid()


@pytest.mark.skipif(forked.resident_bytes() is None, reason="no /proc here")
def test_resident_bytes_grow_with_what_the_process_holds():
    before = forked.resident_bytes()
    held = bytearray(64 * 2**20)
    held[::4096] = b"x" * len(held[::4096])  # touched: every page resident
    assert forked.resident_bytes() - before >= 60 * 2**20


_KILLED_PARENT = """
import os, sys, time
from searchkit import forked

def work():
    with open(sys.argv[1], "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(60)

with forked.beside(work) as result:
    result()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_dies_with_a_killed_parent(tmp_path):
    pid_file = tmp_path / "child"
    parent = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT, str(pid_file)])
    _wait_for(lambda: pid_file.exists() and pid_file.read_text())
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    _wait_for(lambda: not _alive(child))
    assert not _alive(child)


def _wait_for(condition, seconds: float = 30) -> None:
    """Poll `condition` until it holds or `seconds` pass (a loaded machine is slow)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie awaiting its reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
