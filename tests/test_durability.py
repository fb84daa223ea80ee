"""Durability (issue #17): what a commit syncs, and in which order; a full disk.

Runs on hand-made posts, without the shared corpus.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from pathlib import Path

import crashes
import pytest
from click.testing import CliRunner
from conftest import HANDMADE
from crashes import write_posts
from test_reliability import command

from searchkit import Index, check_index, storage
from searchkit.cli import cli
from searchkit.storage import CURRENT
from searchkit.vocabulary import SUFFIX_FILE, VOCAB_FILE


class FileOperations:
    """The fsyncs and renames a process makes, in order: ("fsync", path) and
    ("rename", old, new)."""

    def __init__(self, monkeypatch):
        self.events: list[tuple] = []
        fsync, replace, rename = os.fsync, os.replace, os.rename

        def record_fsync(fd):
            self.events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
            return fsync(fd)

        def recorder(real):
            def record_rename(old, new, *args, **kwargs):
                self.events.append(("rename", os.path.abspath(old), os.path.abspath(new)))
                return real(old, new, *args, **kwargs)

            return record_rename

        monkeypatch.setattr(os, "fsync", record_fsync)
        monkeypatch.setattr(os, "replace", recorder(replace))
        monkeypatch.setattr(os, "rename", recorder(rename))

    def rename_to(self, target: Path) -> int:
        """The position of the (last) rename onto `target`."""
        found = [i for i, e in enumerate(self.events) if e[0] == "rename" and e[2] == str(target)]
        assert found, f"nothing was renamed to {target}: {self.events}"
        return found[-1]

    def synced_before(self, path: Path, position: int) -> bool:
        """Whether `path`'s data was synced before `position`: the file itself, or the file
        renamed onto it, synced under its earlier name."""
        names = {str(path)}
        for event in reversed(self.events[: position + 1]):
            if event[0] == "rename" and event[2] in names:
                names.add(event[1])
            elif event[0] == "fsync" and event[1] in names:
                return True
        return False

    def synced_after(self, path: Path, position: int) -> bool:
        return ("fsync", str(path)) in self.events[position + 1 :]


def test_an_update_syncs_every_new_file_and_the_folder_around_the_toc_rename(tmp_path, monkeypatch):
    index = Index.create(tmp_path / "index")
    index.add(HANDMADE[:2])
    folder = (tmp_path / "index" / index.generation).resolve()
    before = set(folder.iterdir())
    operations = FileOperations(monkeypatch)
    index.add(HANDMADE[2:])
    index.close()
    monkeypatch.undo()

    tocs = sorted(folder.glob("_MAIN_*.toc"))
    assert len(tocs) == 1
    toc_rename = operations.rename_to(tocs[0])
    new_files = [f for f in folder.iterdir() if f not in before and f.name != "LOCK"]
    assert any(f.suffix == ".seg" for f in new_files), new_files
    for new_file in new_files + [folder / VOCAB_FILE, folder / SUFFIX_FILE]:
        assert operations.synced_before(new_file, toc_rename), new_file.name
    assert operations.synced_before(folder, toc_rename)
    assert operations.synced_after(folder, toc_rename)


def test_a_rebuild_syncs_every_file_of_the_generation_before_current_names_it(
    tmp_path, monkeypatch
):
    posts = write_posts(tmp_path / "posts", 6)
    index = Index.create(tmp_path / "index")
    index.update_from(posts)
    operations = FileOperations(monkeypatch)
    index.rebuild()
    monkeypatch.undo()

    root = (tmp_path / "index").resolve()
    folder = root / index.generation
    index.close()
    current_rename = operations.rename_to(root / CURRENT)
    files = [f for f in folder.iterdir() if f.is_file() and f.name != "LOCK"]
    assert {"meta.json", VOCAB_FILE, SUFFIX_FILE, "READERS"} <= {f.name for f in files}
    for path in files + [folder, root]:
        assert operations.synced_before(path, current_rename), path.name
    assert operations.synced_before(root / CURRENT, current_rename)
    assert operations.synced_after(root, current_rename)


# --- a full disk -----------------------------------------------------------------------------


def searchkit(*args: str, file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    """Run the installed `searchkit` command; with `file_size_limit`, no file it writes may
    grow past that many bytes (RLIMIT_FSIZE): a write beyond it fails with EFBIG, as one
    would on a full disk with ENOSPC (SIGXFSZ, which would kill it instead, is ignored)."""

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [*command("searchkit"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size if file_size_limit is not None else None,
    )


def index_files(path: Path) -> dict[str, bytes]:
    """Every file of the index but the vocabulary and its suffix array (a failed update may
    leave them listing the update's words, which match nothing), by path relative to the
    index folder."""
    return {
        str(f.relative_to(path)): f.read_bytes()
        for f in sorted(path.rglob("*"))
        if f.is_file() and f.name not in (VOCAB_FILE, SUFFIX_FILE, "LOCK")
    }


@pytest.fixture
def built(tmp_path) -> tuple[Path, Path]:
    posts = write_posts(tmp_path / "posts", 20)
    index = tmp_path / "index"
    assert searchkit("index", str(posts), "--index", str(index)).returncode == 0
    return posts, index


def assert_failed_on_a_full_disk_leaving_the_index_as_it_was(run, index: Path, before: dict):
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("searchkit: error: no space left"), lines
    assert "index is unchanged" in lines[0]
    assert index_files(index) == before
    search = searchkit("search", "降准", "--index", str(index), "--json", "--limit", "100", "--all")
    assert search.returncode == 0
    assert len(json.loads(search.stdout)["hits"]) == 20


# The three limits fail an update at three stages: writing meta.json, flushing the new
# segment, assembling it into its compound file; a rebuild at its empty TOC and in its segment.
FULL_DISK_LIMITS = [100, 2000, "largest"]


def limit_below(index: Path, limit: int | str) -> int:
    """`limit`, or for "largest" half the size of the index's largest file (its segment): a
    rebuild writes as big a segment again (give or take a few bytes of zlib), an update that
    merges the old segment into its own a bigger one."""
    if limit != "largest":
        return limit
    return max(f.stat().st_size for f in index.rglob("*") if f.is_file()) // 2


@pytest.mark.parametrize("limit", FULL_DISK_LIMITS)
def test_an_update_that_runs_out_of_space_fails_in_one_line_and_changes_nothing(built, limit):
    posts, index = built
    before = index_files(index)
    write_posts(posts, 20, start=20)
    limit = limit_below(index, limit)
    run = searchkit("index", str(posts), "--index", str(index), file_size_limit=limit)
    assert_failed_on_a_full_disk_leaving_the_index_as_it_was(run, index, before)


@pytest.mark.parametrize("limit", FULL_DISK_LIMITS)
def test_a_rebuild_that_runs_out_of_space_fails_in_one_line_and_changes_nothing(built, limit):
    _, index = built
    before = index_files(index)
    run = searchkit("rebuild", "--index", str(index), file_size_limit=limit_below(index, limit))
    assert_failed_on_a_full_disk_leaving_the_index_as_it_was(run, index, before)


def test_a_first_build_that_runs_out_of_space_leaves_no_index(tmp_path):
    posts = write_posts(tmp_path / "posts", 20)
    run = searchkit("index", str(posts), "--index", str(tmp_path / "index"), file_size_limit=100)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "no space left" in run.stderr
    assert not (tmp_path / "index" / CURRENT).exists()


# --- checksums and `searchkit check` ---------------------------------------------------------


@pytest.fixture
def checked(tmp_path) -> tuple[Path, Path]:
    """A hand-made index (two commits, so two segments) and its live generation folder."""
    path = tmp_path / "index"
    with Index.create(path) as index:
        index.add(HANDMADE[:2])
        index.add(HANDMADE[2:])
        return path, path / index.generation


def test_a_new_empty_index_checks_healthy(tmp_path):
    Index.create(tmp_path / "index").close()
    assert check_index(tmp_path / "index") == []


def test_an_intact_index_checks_healthy(checked):
    path, folder = checked
    assert check_index(path) == []
    with Index.open(path) as index:
        assert index.check() == []
    records = list(folder.glob("checksums-*.json"))
    assert len(records) == 1  # the earlier commit's record is gone
    recorded = json.loads(records[0].read_text("utf-8"))
    assert {f.name for f in folder.glob("*.seg")} | {
        next(folder.glob("*.toc")).name,
        "vocab.txt",
    } == set(recorded)


def damage(folder: Path, how: str) -> str:
    """Damage the generation in `folder` as `how` says; returns the damaged file's name."""
    segment = max(folder.glob("*.seg"), key=lambda f: f.stat().st_size)
    if how == "truncate":
        segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 2])
        return segment.name
    if how == "flip":
        data = bytearray(segment.read_bytes())
        data[len(data) // 2] ^= 0x40
        segment.write_bytes(bytes(data))
        return segment.name
    if how == "delete-segment":
        segment.unlink()
        return segment.name
    toc = next(folder.glob("_MAIN_*.toc"))
    toc.unlink()
    return ""  # the problem is the generation folder's: it names no TOC


@pytest.mark.parametrize("how", ["truncate", "flip", "delete-segment", "delete-toc"])
def test_check_names_the_damaged_file(checked, how):
    path, folder = checked
    name = damage(folder, how)
    problems = check_index(path)
    assert problems, how
    assert problems[0].file == f"{folder.name}/{name}"
    assert "searchkit rebuild" in problems[0].fix


def test_check_on_the_command_line(checked):
    path, folder = checked
    healthy = CliRunner().invoke(cli, ["check", "--index", str(path)])
    assert healthy.exit_code == 0 and "healthy" in healthy.output
    name = damage(folder, "flip")
    damaged = CliRunner().invoke(cli, ["check", "--index", str(path)])
    assert damaged.exit_code == 1
    lines = damaged.output.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "searchkit rebuild" in lines[0]
    as_json = CliRunner().invoke(cli, ["check", "--index", str(path), "--json"])
    assert as_json.exit_code == 1
    assert [p["file"] for p in json.loads(as_json.output)] == [f"{folder.name}/{name}"]


def test_check_without_an_index_is_a_user_error(tmp_path):
    run = CliRunner().invoke(cli, ["check", "--index", str(tmp_path / "none")])
    assert run.exit_code == 2 and "no searchkit index" in run.output


def test_a_full_temp_folder_costs_jieba_its_cache_not_the_command(tmp_path):
    """jieba saves a 9 MB dictionary cache in $TMPDIR: on a full one (here: a file-size
    limit of 1 MB, and no cache there yet) the build goes on, with one line about it. An
    empty cache folder, so that jieba's dictionary is loaded in full (searchkit's compact
    copy of it, `dictionary.py`, would be read instead), and fails to be written there too."""
    posts = write_posts(tmp_path / "posts", 3)
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "XDG_CACHE_HOME": str(tmp_path / "c")}

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    run = subprocess.run(
        [*command("searchkit"), "index", str(posts), "--index", str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        preexec_fn=limit_file_size,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "jieba could not save its dictionary cache" in run.stderr


def test_no_usable_temp_folder_does_not_stop_jieba(tmp_path, monkeypatch, caplog):
    import tempfile

    from searchkit import analysis

    def no_temp_folder():
        raise FileNotFoundError("No usable temporary directory found")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(analysis, "_TOKENIZERS", {})
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # no cache there: jieba builds and saves one
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))  # nor a compact dictionary
    with monkeypatch.context() as patched:  # undone before pytest's own use of tempfile
        patched.setattr(tempfile, "gettempdir", no_temp_folder)
        patched.setattr(tempfile, "mkstemp", full)
        words = [token.text for token in analysis.Analyzer().tokenize("央行宣布降准")]
    assert "降准" in words
    # jieba's own handler writes to the sys.stderr of its import: read what it was given.
    failures = [r for r in caplog.records if "could not save its dictionary cache" in r.msg]
    assert len(failures) == 1 and failures[0].exc_info is None  # no traceback


# --- power cuts: every state a crash can leave of a commit (tests/crashes.py) ---------------


@pytest.mark.parametrize("scenario", ["update", "delete", "rebuild"])
def test_every_state_a_power_cut_can_leave_opens_as_before_or_after_the_commit(tmp_path, scenario):
    name, index, commit = next(s for s in crashes.scenarios(tmp_path, 12) if s[0] == scenario)
    counts = crashes.replay(index, commit)
    assert counts["old"] and counts["new"], counts  # crashes before and after the commit point
    assert counts["old"] + counts["new"] == counts["states"], counts


def test_without_the_syncs_a_power_cut_can_leave_something_else(tmp_path, monkeypatch):
    """The replay's teeth: with the commit's segment files left unsynced (only the small
    files `write_durably` writes are), some crash state is neither the old nor the new index
    (open refuses it: the checksums say its segment lost its data)."""
    monkeypatch.setattr(storage, "fsync_file", lambda path: None)
    _, index, commit = next(crashes.scenarios(tmp_path, 12))
    counts = crashes.replay(index, commit)
    assert counts["old"] + counts["new"] < counts["states"], counts
    assert not any(kind.startswith("WRONG") for kind in counts), counts
