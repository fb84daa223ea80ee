"""storage.py: the folder layout of an index (`CURRENT`, generations with their metadata,
`LOCK`), switched atomically, locked for writers, and cleaned of generations no reader holds."""

import errno
import json

import pytest

from searchkit import DiskFullError, IncompatibleIndexError, IndexLockedError, IndexNotFoundError
from searchkit.analysis import Analyzer
from searchkit.storage import (
    CURRENT,
    FORMAT_VERSION,
    LOCK,
    META,
    disk_full_is_an_error,
    hold_generation,
    lock,
    new_generation,
    point_to,
    read_current,
    read_pointer,
    remove_index,
    remove_leftovers,
    remove_old_generations,
    write_durably,
    write_meta,
)


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "index"
    path.mkdir()
    return path


def test_a_new_generation_records_its_format_analyzer_and_sources(folder):
    generation = new_generation(folder, "缩表 100\n", ["/posts"])
    point_to(folder, generation)
    assert read_pointer(folder) == generation
    name, meta = read_current(folder)
    assert name == generation and generation.startswith("gen-")
    assert meta["format"] == FORMAT_VERSION and meta["sources"] == ["/posts"]
    assert meta["userdict"] == "缩表 100\n"
    assert meta["analyzer"] == Analyzer("缩表 100\n").fingerprint


def test_no_current_is_no_index(folder):
    with pytest.raises(IndexNotFoundError):
        read_pointer(folder)
    with pytest.raises(IndexNotFoundError):
        read_pointer(folder / "missing")


def test_unreadable_metadata_is_an_incompatible_index(folder):
    generation = new_generation(folder, None, [])
    point_to(folder, generation)
    (folder / generation / META).write_text("{not json", "utf-8")
    with pytest.raises(IncompatibleIndexError, match="unreadable"):
        read_current(folder)


def test_written_durably_is_written_whole_with_nothing_left_beside_it(folder):
    write_durably(folder / "note.txt", "缩表\n")
    write_durably(folder / "note.txt", "加息\n")
    assert (folder / "note.txt").read_text("utf-8") == "加息\n"
    assert sorted(p.name for p in folder.iterdir()) == ["note.txt"]
    write_meta(folder, {"sources": ["/新闻"]})
    assert json.loads((folder / META).read_text("utf-8")) == {"sources": ["/新闻"]}


def test_what_a_killed_writer_leaves_is_removed_files_and_whooshs_working_folder(folder):
    generation = new_generation(folder, None, [])
    point_to(folder, generation)
    live = folder / generation
    working = live / "MAIN.tmp"  # Whoosh's temp_storage, left by a writer killed mid-write
    working.mkdir()
    (working / "a.pst").write_bytes(b"half")
    (live / "_MAIN_3.toc.1700000000").write_bytes(b"half")
    (live / "meta.json.tmp").write_text("{", "utf-8")
    (folder / (CURRENT + ".tmp")).write_text(generation, "utf-8")
    kept = sorted(
        p.name
        for p in live.iterdir()
        if p.name not in {"MAIN.tmp", "_MAIN_3.toc.1700000000", "meta.json.tmp"}
    )
    remove_leftovers(folder, generation)
    assert sorted(p.name for p in live.iterdir()) == kept
    assert sorted(p.name for p in folder.iterdir()) == sorted([CURRENT, generation])


def test_the_writer_lock_is_one_at_a_time_and_let_go_after_the_block(folder):
    with lock(folder):
        with pytest.raises(IndexLockedError):
            with lock(folder, timeout=0.1):
                pass
    with lock(folder, timeout=0.1):  # free again
        assert (folder / LOCK).exists()


def test_a_full_disk_is_a_disk_full_error_and_other_os_errors_stay_what_they_are(folder):
    with pytest.raises(DiskFullError, match="no space left"):
        with disk_full_is_an_error(folder):
            raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(PermissionError):
        with disk_full_is_an_error(folder):
            raise PermissionError(errno.EACCES, "Permission denied")


def test_old_generations_go_unless_a_reader_holds_them(folder):
    held, unheld, live = (new_generation(folder, None, []) for _ in range(3))
    point_to(folder, live)
    reader = hold_generation(folder, held)
    remove_old_generations(folder, live)
    assert sorted(p.name for p in folder.glob("gen-*")) == sorted([held, live])
    assert not (folder / unheld).exists()
    reader.close()
    remove_old_generations(folder, live)
    assert [p.name for p in folder.glob("gen-*")] == [live]


def test_a_generation_being_removed_cannot_be_held(folder):
    generation = new_generation(folder, None, [])
    with pytest.raises(FileNotFoundError):
        hold_generation(folder, generation + "-gone")


def test_removing_an_index_keeps_a_folder_that_held_other_files(tmp_path, folder):
    point_to(folder, new_generation(folder, None, []))
    (folder / "README").write_text("my notes", "utf-8")
    remove_index(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["README"]
    bare = tmp_path / "bare"
    bare.mkdir()
    point_to(bare, new_generation(bare, None, []))
    remove_index(bare)
    assert not bare.exists() and not (folder / CURRENT).exists()
