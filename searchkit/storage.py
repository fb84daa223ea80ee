"""The on-disk layout of an index folder: the live-generation pointer, generation folders
with their metadata, and the writer lock.

* `CURRENT` names the live generation folder; it is replaced atomically (`os.replace`).
* `gen-*` folders each hold a Whoosh index, `meta.json` and `vocab.txt`.
* `LOCK` is held (fcntl) by whichever process writes; readers never take it. The OS releases
  it when the process dies, so a killed writer leaves no stale lock behind.
* `gen-*/READERS` is held shared (fcntl) by each open `Index` reading that generation, so a
  rebuild can tell which old generations no reader uses any more and delete them.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

from whoosh import index as whoosh_index

from .analysis import ANALYZER_VERSION, Analyzer
from .errors import (
    DiskFullError,
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
)
from .schema import make_schema
from .vocabulary import Vocabulary

# 2: the join fields (title_joins, body_joins); 3: compact word positions (codec.WordPositions);
# 4: the joins in each segment's join table (joins.py), not in Whoosh's term table;
# 5: the terms in each segment's term table (terms.py), not in Whoosh's hash table;
# 6: a document's stored body a record apart from its other stored fields (stored.py);
# 7: postings blocks with documents and weights apart from positions (blocks.py)
FORMAT_VERSION = 7
CURRENT = "CURRENT"
META = "meta.json"
LOCK = "LOCK"
READERS = "READERS"
LOCK_TIMEOUT = 30.0


def read_pointer(path: Path) -> str:
    """The live generation's name, from `CURRENT`. Raises `IndexNotFoundError` when there is
    none, `IndexCorruptError` when it does not hold a generation's name."""
    try:
        generation = (path / CURRENT).read_bytes().decode("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        raise IndexNotFoundError(path) from None
    except UnicodeDecodeError:
        generation = ""
    except OSError as error:  # a folder, an I/O error
        raise IndexCorruptError(path, CURRENT, f"cannot be read ({error.strerror})") from None
    if not GENERATION_NAME.fullmatch(generation):
        raise IndexCorruptError(path, CURRENT, "does not name a generation (gen-…)")
    return generation


GENERATION_NAME = re.compile(r"gen-[A-Za-z0-9_.-]+")  # never "..", "/", a NUL


def read_current(path: Path) -> tuple[str, dict]:
    """The live generation's name and metadata. Raises `IndexNotFoundError`, or
    `IndexCorruptError` when `CURRENT` names a missing generation or its metadata is
    unreadable.

    A rebuild may swap in a new generation, and remove the one before the last, between
    reading `CURRENT` and reading the metadata it names: then `CURRENT` is read again.
    """
    while True:
        generation = read_pointer(path)
        try:
            return generation, json.loads((path / generation / META).read_text("utf-8"))
        except (OSError, ValueError) as error:
            if read_pointer(path) != generation:
                continue
            if not (path / generation).is_dir():
                why = f"names {generation}, which is gone"
                raise IndexCorruptError(path, CURRENT, why) from None
            why = f"is unreadable ({getattr(error, 'strerror', None) or error})"
            raise IndexCorruptError(path, f"{generation}/{META}", why) from None


def write_meta(folder: Path, meta: dict) -> None:
    write_durably(folder / META, json.dumps(meta, ensure_ascii=False, indent=2))


# --- durability ----------------------------------------------------------------------------
# A rename is only as durable as the files it makes visible: after a power cut the kernel may
# have written the new directory entry but not the file's blocks, leaving a pointer to zeros.
# So every commit syncs its new files and their folder before the rename that makes them
# live (`CURRENT` here, Whoosh's TOC in `codec.Writer._commit_toc`), and the folder after.


def fsync_file(path: Path | str) -> None:
    """Flush a file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path | str) -> None:
    """Flush a folder's entries (files created, renamed or deleted in it) to the disk."""
    fsync_file(path)  # a folder opens read-only like a file, and fsyncs the same way


def write_durably(target: Path, content: str | bytes) -> None:
    """Replace `target` with `content` (text is written as UTF-8) atomically and durably: a
    temporary file, synced, renamed over `target`, then the folder synced."""
    tmp = target.with_name(target.name + ".tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


# Out of space: the disk (ENOSPC), the process's file-size limit (EFBIG, RLIMIT_FSIZE), a quota.
DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


@contextmanager
def disk_full_is_an_error(path: Path):
    """Turn an `OSError` that says the space ran out into `DiskFullError`; the caller has
    abandoned the write by then (its `except`/`finally` ran inside this block)."""
    try:
        yield
    except OSError as error:
        if error.errno in DISK_FULL:
            raise DiskFullError(path, os.strerror(error.errno).lower()) from error
        raise


def sync_folder(folder: Path) -> None:
    """Flush every file of `folder` (not recursive), then the folder itself."""
    for entry in folder.iterdir():
        if entry.is_file():
            fsync_file(entry)
    fsync_dir(folder)


def new_generation(path: Path, userdict: str | None, sources: list[str]) -> str:
    """Create an empty Whoosh index in a new generation folder; returns its name."""
    generation = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
    folder = path / generation
    folder.mkdir()
    try:
        whoosh_index.create_in(str(folder), make_schema())
        from .integrity import record_empty_index  # integrity imports this module

        record_empty_index(folder)
        analyzer = Analyzer(userdict)
        write_meta(
            folder,
            {
                "format": FORMAT_VERSION,
                "checksums": 1,  # its commits record them: a missing record is damage
                "analyzer": analyzer.fingerprint,
                "analyzer_version": ANALYZER_VERSION,
                "userdict": userdict,
                "sources": sources,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
        )
        Vocabulary().save(folder)
        (folder / READERS).touch()
    except BaseException:  # a full disk: no half-made generation is left behind
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return generation


def point_to(path: Path, generation: str) -> None:
    """Make `generation` the live one, atomically and durably: its files, its folder and its
    entry in `path` reach the disk before `CURRENT` names it."""
    sync_folder(path / generation)
    fsync_dir(path)
    if (path / CURRENT).is_dir():  # damage no rename can replace; the rebuild repairs it
        shutil.rmtree(path / CURRENT)
    write_durably(path / CURRENT, generation + "\n")


def hold_generation(path: Path, generation: str):
    """Take a shared lock on `generation`'s `READERS` file, for as long as an `Index` reads
    that generation; returns the open file to close to let it go (None for a generation made
    before searchkit had reader locks). Raises `FileNotFoundError` when the generation is
    gone or being removed: the caller reads `CURRENT` again."""
    import fcntl

    folder = path / generation
    try:
        handle = open(folder / READERS, "rb")  # read-only: readers may not own the index
    except FileNotFoundError:
        if (folder / META).is_file():
            return None
        raise
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        if not (folder / READERS).exists():  # removed between our open and our lock
            raise BlockingIOError
    except BlockingIOError:
        handle.close()
        raise FileNotFoundError(f"generation {generation} is being removed") from None
    return handle


def remove_old_generations(path: Path, live: str, replaced: str | None = None) -> None:
    """Delete every generation folder but `live` that no reader holds (see
    `hold_generation`), including those a crashed rebuild left half-built. Call it under
    the writer `lock`, so that no other rebuild's new generation is taken for an old one.

    A generation without `READERS` (made by an older searchkit) cannot say whether it is in
    use: it is kept if it is the one just `replaced`, as older versions did.
    """
    import fcntl

    for folder in path.glob("gen-*"):
        if folder.name == live or not folder.is_dir():
            continue
        try:
            handle = open(folder / READERS, "rb")
        except FileNotFoundError:
            if folder.name != replaced:
                shutil.rmtree(folder, ignore_errors=True)
            continue
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a reader is still on it; the next rebuild tries again
            shutil.rmtree(folder, ignore_errors=True)


def remove_leftovers(path: Path, generation: str) -> None:
    """Delete the temporary files a killed writer leaves: Whoosh's TOC before its rename
    (`_MAIN_<N>.toc.<time>`), `write_durably`'s `*.tmp` files and Whoosh's working folder
    `MAIN.tmp` (a killed update's half segment is Whoosh's to delete, at the next commit).
    Call it under the writer `lock`."""
    for leftover in (
        *(path / generation).glob("_*.toc.*"),
        *(path / generation).glob("*.tmp"),
        path / (CURRENT + ".tmp"),
    ):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def folder_size(folder: Path) -> int:
    """The bytes of every file under `folder` (files a rebuild deletes meanwhile count 0)."""
    total = 0
    for entry in folder.rglob("*"):
        with suppress(OSError):
            if entry.is_file():
                total += entry.stat().st_size
    return total


def remove_index(path: Path) -> None:
    """Delete the index at `path`: `CURRENT`, the generation folders and `LOCK`, under the
    lock; then the folder itself if nothing else is left in it (a README, a synonyms.txt
    someone wrote there, stay)."""
    with lock(path):
        (path / CURRENT).unlink(missing_ok=True)
        (path / (CURRENT + ".tmp")).unlink(missing_ok=True)
        for folder in path.glob("gen-*"):
            shutil.rmtree(folder, ignore_errors=True)
    (path / LOCK).unlink(missing_ok=True)
    try:
        path.rmdir()
    except OSError:  # not empty: the folder held other files before the index
        pass


@contextmanager
def lock(path: Path, timeout: float | None = None):
    """The index's writer lock (fcntl: released by the OS even if the process is killed).

    Waits up to `timeout` seconds (default `LOCK_TIMEOUT`), then raises `IndexLockedError`.
    """
    import fcntl

    handle = open(path / LOCK, "a+")
    deadline = time.monotonic() + (LOCK_TIMEOUT if timeout is None else timeout)
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(path) from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()
