"""A damaged index is refused, never searched (issue #17, point 3); `check --posts`; what
killed writers leave is cleaned up by the next one.

Runs on hand-made posts, without the shared corpus.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from crashes import answers, write_posts

from searchkit import Index, IndexCorruptError, SearchkitError, check_index
from searchkit.cli import cli
from searchkit.storage import CURRENT


@pytest.fixture
def built(tmp_path) -> tuple[Path, Path, Path]:
    """An index of 12 posts made in two commits (two segments): posts, index, generation."""
    posts = write_posts(tmp_path / "posts", 8)
    with Index.create(tmp_path / "index") as index:
        index.update_from(posts)
        write_posts(posts, 4, start=8)
        index.update_from(posts)
        return posts, tmp_path / "index", tmp_path / "index" / index.generation


def search_ids(index: Path) -> list[str]:
    with Index.open(index) as opened:
        return [hit.id for hit in opened.search("降准", limit=100, collapse=False)]


def largest_segment(folder: Path) -> Path:
    return max(folder.glob("*.seg"), key=lambda f: f.stat().st_size)


def flip_a_byte(file: Path, where: float = 0.5) -> None:
    data = bytearray(file.read_bytes())
    data[int(len(data) * where)] ^= 0x40
    file.write_bytes(bytes(data))


# How each kind of damage is made, and the file the error must name (relative to the index).
DAMAGE = {
    "truncated segment": lambda index, folder: (
        largest_segment(folder).write_bytes(largest_segment(folder).read_bytes()[:1000]),
        largest_segment(folder).relative_to(index),
    )[1],
    "flipped byte in a segment": lambda index, folder: (
        flip_a_byte(largest_segment(folder)),
        largest_segment(folder).relative_to(index),
    )[1],
    "deleted segment": lambda index, folder: (
        (segment := largest_segment(folder)).unlink(),
        segment.relative_to(index),
    )[1],
    "garbage TOC": lambda index, folder: (
        (toc := next(folder.glob("_MAIN_*.toc"))).write_bytes(os.urandom(toc.stat().st_size)),
        toc.relative_to(index),
    )[1],
    "deleted TOC": lambda index, folder: (
        next(folder.glob("_MAIN_*.toc")).unlink(),
        f"{folder.name}/",
    )[1],
    "deleted checksums": lambda index, folder: (
        (record := next(folder.glob("checksums-*.json"))).unlink(),
        record.relative_to(index),
    )[1],
    "garbage metadata": lambda index, folder: (
        (folder / "meta.json").write_text("{garbage", "utf-8"),
        f"{folder.name}/meta.json",
    )[1],
    "garbage CURRENT": lambda index, folder: (
        (index / CURRENT).write_bytes(b"\xff\x00garbage/../\n"),
        CURRENT,
    )[1],
    "segment replaced by a folder": lambda index, folder: (
        (segment := largest_segment(folder)).unlink(),
        segment.mkdir(),
        segment.relative_to(index),
    )[2],
    "CURRENT replaced by a folder": lambda index, folder: (
        (index / CURRENT).unlink(),
        (index / CURRENT).mkdir(),
        CURRENT,
    )[2],
    "CURRENT naming a missing generation": lambda index, folder: (
        (index / CURRENT).write_text("gen-20260101T000000-1-1\n", "utf-8"),
        CURRENT,
    )[1],
}


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_index_is_refused_naming_the_file_and_a_rebuild_repairs_it(built, how):
    posts, index, folder = built
    healthy = search_ids(index)
    assert len(healthy) == 12
    damaged = str(DAMAGE[how](index, folder))

    with pytest.raises(IndexCorruptError) as raised:
        Index.open(index)
    assert str(raised.value.file) == damaged
    assert "searchkit rebuild" in str(raised.value)

    run = CliRunner().invoke(cli, ["search", "降准", "--index", str(index)])
    assert run.exit_code == 2, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and "is damaged" in lines[0] and damaged in lines[0], lines
    problems = check_index(index)
    assert problems and problems[0].file == damaged, problems

    # CURRENT or the metadata lost: the index no longer knows its posts folder.
    source = [str(posts)] if damaged in (CURRENT, f"{folder.name}/meta.json") else []
    run = CliRunner().invoke(cli, ["rebuild", *source, "--index", str(index)])
    assert run.exit_code == 0, run.output
    assert sorted(search_ids(index)) == sorted(healthy)
    assert check_index(index) == []
    assert [f.name for f in index.glob("gen-*")] == [Index.open(index).generation]


def test_random_damage_never_gives_wrong_hits_or_a_traceback(built):
    """Any file of the index flipped, cut, zeroed, deleted or lengthened: opening and
    searching answer as before, or raise a `SearchkitError` (a deleted CURRENT is "no
    index")."""
    _, index, _ = built
    healthy = answers(index)
    rng = random.Random(17)
    outcomes = set()
    for trial in range(60):
        copy = index.with_name(f"copy{trial}")
        shutil.copytree(index, copy)
        file = rng.choice(sorted(f for f in copy.rglob("*") if f.is_file() and f.stat().st_size))
        data = bytearray(file.read_bytes())
        how = rng.choice(["flip", "cut", "zero", "delete", "lengthen"])
        if how == "flip":
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        file.unlink()
        if how != "delete":
            cut = rng.randrange(len(data)) if how == "cut" else len(data)
            tail = b"x" if how == "lengthen" else b""
            file.write_bytes(bytes(len(data)) if how == "zero" else bytes(data[:cut]) + tail)
        try:
            assert answers(copy) == healthy, (file, how)
            outcomes.add("as before")
        except SearchkitError as error:
            outcomes.add(type(error).__name__)
        shutil.rmtree(copy)
    assert {"as before", "IndexCorruptError"} <= outcomes, outcomes


def test_damage_after_opening_is_found_when_the_next_commit_is_read(built):
    posts, index, folder = built
    reader = Index.open(index)
    assert len(reader.search("降准", limit=100, collapse=False)) == 12
    write_posts(posts, 2, start=12)
    with Index.open(index) as writer:
        writer.update_from(posts)
    flip_a_byte(largest_segment(folder), 0.3)
    with pytest.raises(IndexCorruptError):
        reader.search("降准")
    reader.close()


@pytest.mark.parametrize("how", ["garbled", "a word lost"])
def test_a_damaged_vocabulary_is_read_again_from_the_index(built, how):
    """The vocabulary finds the words that contain a query's text: one without 降准 would
    miss every post. It is checksummed too, but a failed update may leave it changed, so a
    changed one is not an error: the words are read from the index instead."""
    posts, index, folder = built
    healthy = search_ids(index)
    vocab = folder / "vocab.txt"
    if how == "garbled":
        vocab.write_bytes(b"\xff\xfe\x00garbage")
    else:
        vocab.write_text(vocab.read_text("utf-8").replace("\n降准\n", "\n"), "utf-8")
    assert search_ids(index) == healthy
    problems = check_index(index)
    assert [p.file for p in problems] == [f"{folder.name}/vocab.txt"]
    assert "searchkit rebuild" not in problems[0].fix
    write_posts(posts, 1, start=12)
    with Index.open(index) as opened:
        opened.update_from(posts)  # writes it again, whole
    assert check_index(index) == []
    assert len(search_ids(index)) == 13


def test_an_update_of_a_damaged_index_says_to_rebuild_it(built):
    posts, index, folder = built
    flip_a_byte(largest_segment(folder))
    run = CliRunner().invoke(cli, ["index", str(posts), "--index", str(index)])
    assert run.exit_code == 2
    assert "is damaged" in run.output and "searchkit rebuild" in run.output


# --- check --posts ---------------------------------------------------------------------------


def test_check_posts_lists_posts_missing_changed_and_gone(built):
    posts, index, _ = built
    assert check_index(index, posts=True) == []
    touched = posts / "2026-01-01-post0.md"
    os.utime(touched, (1, 1))  # a new modification time, the same content: still indexed
    new = write_posts(posts, 1, start=12) / "2026-01-13-post12.md"
    changed = posts / "2026-01-02-post1.md"
    changed.write_text(changed.read_text("utf-8").replace("降准", "降息"), "utf-8")
    gone = posts / "2026-01-03-post2.md"
    gone.unlink()

    problems = {(Path(p.file).name, p.what) for p in check_index(index, posts=[posts])}
    assert problems == {
        (new.name, "is not in the index"),
        (changed.name, "has changed since it was indexed"),
        (gone.name, "is in the index, but the file is gone"),
    }
    with Index.open(index) as opened:
        assert len(opened.check(posts=True)) == 3

    run = CliRunner().invoke(cli, ["check", "--posts", "--index", str(index)])
    assert run.exit_code == 1
    lines = run.output.strip().splitlines()
    assert len(lines) == 3 and all(f"searchkit index {posts}" in line for line in lines), lines
    as_json = CliRunner().invoke(cli, ["check", str(posts), "--index", str(index), "--json"])
    assert as_json.exit_code == 1 and len(json.loads(as_json.output)) == 3

    assert CliRunner().invoke(cli, ["index", str(posts), "--index", str(index)]).exit_code == 0
    healthy = CliRunner().invoke(cli, ["check", "--posts", "--index", str(index)])
    assert healthy.exit_code == 0 and "healthy" in healthy.output


# --- what killed writers leave ---------------------------------------------------------------


def test_the_next_update_removes_a_killed_rebuilds_generation_and_temporary_files(built):
    posts, index, folder = built
    killed = index / "gen-20260101T000000-1-1"  # a rebuild killed half-way: no READERS yet
    shutil.copytree(folder, killed)
    (killed / "READERS").unlink()
    leftovers = [folder / "_MAIN_9.toc.1796104831.91", folder / "meta.json.tmp"]
    for leftover in leftovers + [index / "CURRENT.tmp"]:
        leftover.write_bytes(b"half")
    with Index.open(index) as opened:
        before = opened.stats()
        assert before.folder_size_bytes > 2 * before.size_bytes
        write_posts(posts, 1, start=12)
        opened.update_from(posts)
        after = opened.stats()
    assert not killed.exists()
    assert not any(f.exists() for f in leftovers + [index / "CURRENT.tmp"])
    assert after.size_bytes < after.folder_size_bytes < after.size_bytes + 1000  # + LOCK...


def test_a_generation_a_reader_holds_stays_until_the_reader_lets_go(built):
    posts, index, folder = built
    reader = Index.open(index)
    with Index.open(index) as writer:
        writer.rebuild()
    assert folder.exists()  # the reader is still on it
    reader.close()
    with Index.open(index) as writer:
        write_posts(posts, 1, start=12)
        writer.update_from(posts)
    assert not folder.exists()
