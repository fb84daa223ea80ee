"""Whether an index's files are what its commits wrote: the checksums every commit records,
and `check_index`, which verifies them and the index's internal consistency.

Every commit (`codec.Writer._commit_toc`) records the size and CRC-32 of each file of the
live segments and of the new TOC in `checksums-<N>.json` beside `_MAIN_<N>.toc`, synced
before the TOC's rename makes them live, so the two always go together. Whoosh never
changes a segment file once written (deletions are kept in the TOC), so a commit reads only
its new files: the others keep the figures the previous commit recorded.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from . import storage
from .codec import check_joins, check_terms, latest_generation
from .errors import IndexCorruptError, SearchkitError
from .vocabulary import VOCAB_FILE

INDEX_NAME = "MAIN"  # Whoosh's default index name, which every generation uses
CHECKSUMS = re.compile(r"^checksums-([0-9]+)\.json$")


@dataclass(frozen=True)
class IndexProblem:
    """Something wrong with an index: `file` (relative to the index folder), `what` is
    wrong with it, and the `fix`."""

    file: str
    what: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def checksum_name(toc_generation: int) -> str:
    return f"checksums-{toc_generation}.json"


def file_checksum(path: Path) -> dict[str, int]:
    """A file's size and CRC-32 (zlib's, ~2 GB/s: the 21 MB index of the shared posts in
    9 ms, from the page cache)."""
    crc, size = 0, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return {"size": size, "crc32": crc}


# Checksums this process has computed, by the file's identity (path, inode, size, mtime):
# Whoosh never rewrites a file in place, so a server that opens the same generation again
# after every commit reads only the new files.
_SEEN: dict[tuple, dict[str, int]] = {}
_SEEN_LIMIT = 10_000


def _identity(path: Path) -> tuple:
    stat = path.stat()
    return str(path.absolute()), stat.st_ino, stat.st_size, stat.st_mtime_ns


def known_checksum(path: Path) -> dict[str, int]:
    """`file_checksum`, computed once a process for each version of a file."""
    key = _identity(path)
    if key not in _SEEN:
        if len(_SEEN) >= _SEEN_LIMIT:
            _SEEN.clear()
        _SEEN[key] = file_checksum(path)
    return _SEEN[key]


def record_checksums(folder: Path, toc_generation: int, files: dict[str, Path]) -> None:
    """Write (durably) the checksums of `files` (name in the folder → path to read it from,
    e.g. a TOC still under its temporary name) for TOC `toc_generation`. Figures of files
    the latest earlier record has, at the same size, are reused. The vocabulary's is added:
    every update rewrites that file in place, so its figures are never reused."""
    previous = _latest_record(folder)
    sums = {}
    for name, path in sorted(files.items()):
        known = previous.get(name)
        if known and known["size"] == path.stat().st_size:
            sums[name] = known
        elif path == folder / name:  # not a TOC under its temporary name
            sums[name] = known_checksum(path)  # the writer's next open need not read it again
        else:
            sums[name] = file_checksum(path)
    if (folder / VOCAB_FILE).is_file():
        sums[VOCAB_FILE] = known_checksum(folder / VOCAB_FILE)
    storage.write_durably(folder / checksum_name(toc_generation), json.dumps(sums, indent=1))


def record_empty_index(folder: Path) -> None:
    """Record the checksum of the TOC Whoosh writes for a new, empty index (generation 0),
    which no searchkit commit writes."""
    toc = folder / f"_{INDEX_NAME}_0.toc"
    record_checksums(folder, 0, {toc.name: toc})


def remove_stale_records(folder: Path, toc_generation: int) -> None:
    """Delete the checksum records of TOCs older than `toc_generation` (after its commit)."""
    for path in folder.glob("checksums-*.json"):
        match = CHECKSUMS.match(path.name)
        if match and int(match.group(1)) < toc_generation:
            path.unlink(missing_ok=True)


def _latest_record(folder: Path) -> dict:
    generations = [
        int(m.group(1)) for p in folder.glob("checksums-*.json") if (m := CHECKSUMS.match(p.name))
    ]
    if not generations:
        return {}
    try:
        sums = json.loads((folder / checksum_name(max(generations))).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return sums if _is_record(sums) else {}


def check_index(path: Path | str, posts: bool | Iterable[Path | str] = False) -> list[IndexProblem]:
    """Verify the index at `path`: `CURRENT`, the live generation's metadata, vocabulary,
    TOC, the size and checksum of every file its commit recorded, and that Whoosh reads as
    many stored documents as the TOC counts. With `posts` (True: the folders the index was
    built from; or folders and files), also compare it with the posts (`compare_with_posts`).
    Returns the problems found ([] when healthy). Raises `IndexNotFoundError` when there is
    no index at all.

    >>> check_index("index")                                     # doctest: +SKIP
    [IndexProblem(file='gen-…/MAIN_x.seg', what='is 1,000 bytes, expected 4,096 …', fix='…')]
    """
    path = Path(path)
    fix = f"rebuild the index from its posts: `searchkit rebuild --index {path}`"
    try:
        generation = storage.read_pointer(path)  # IndexNotFoundError: nothing to check
    except IndexCorruptError as error:
        return [IndexProblem(error.file, error.why, fix)]
    folder = path / generation
    if not folder.is_dir():
        return [IndexProblem(storage.CURRENT, f"names {generation}, which does not exist", fix)]
    problems = []
    try:
        meta = json.loads((folder / storage.META).read_text("utf-8"))
    except (OSError, ValueError) as error:
        meta = {}
        problems.append(
            IndexProblem(f"{generation}/{storage.META}", f"is unreadable: {error}", fix)
        )
    files = FileStorage(str(folder))
    toc_generation = latest_generation(files, INDEX_NAME)
    if toc_generation < 0:
        return [*problems, IndexProblem(f"{generation}/", NO_TOC, fix)]
    problems += _checksum_problems(folder, generation, toc_generation, fix)
    # The vocabulary only slows searches down (see `vocabulary_intact`); reading damaged
    # files would only repeat what the checksums said.
    if all(map(_slows_only, problems)):
        problems += _content_problems(files, generation, toc_generation, fix)
    if posts and all(map(_slows_only, problems)):
        roots = meta.get("sources") if posts is True else posts
        if not roots:
            raise SearchkitError("this index records no posts folder to compare with; give one")
        problems += compare_with_posts(path, [Path(root) for root in roots])
    return problems


def compare_with_posts(path: Path, roots: list[Path]) -> list[IndexProblem]:
    """The posts of `roots` (folders or files) that the index at `path` lacks or holds in an
    older version, and the posts it holds from `roots` whose files are gone: what the next
    `searchkit index ROOT` would add, update and delete, decided as it decides
    (`ingest.compare_with_index`, then the content's checksum). A post that cannot be
    read is not one (`searchkit index` reports it). Raises `SearchkitError` for a missing
    root."""
    from whoosh import index as whoosh_index

    from .documents import post_files, read_post
    from .ingest import compare_with_index, existing_source, gone_from
    from .schema import known_files

    whoosh = whoosh_index.open_dir(str(path / storage.read_pointer(path)))
    with whoosh.reader() as reader:
        known = known_files(reader)
    problems = []
    for root in map(existing_source, roots):
        update = f"run `searchkit index {root} --index {path}`"
        files = post_files(root)
        _, todo = compare_with_index(files, known)
        for post, _, indexed in todo:
            try:
                checksum = read_post(post, root).checksum
            except (OSError, SearchkitError):
                continue
            if indexed is None:
                problems.append(IndexProblem(str(post.absolute()), "is not in the index", update))
            elif checksum != indexed:
                what = "has changed since it was indexed"
                problems.append(IndexProblem(str(post.absolute()), what, update))
        for doc_id in sorted(gone_from(root, files, known)):
            what = "is in the index, but the file is gone"
            gone = Path(known[doc_id]["path"]).absolute()
            problems.append(IndexProblem(str(gone), what, update))
    return problems


def verify_generation(path: Path, generation: str, meta: dict) -> None:
    """What every open checks before Whoosh reads a generation: that it has a TOC, and that
    every file its commit recorded has the recorded size and CRC-32 (`known_checksum`: read
    once a process). Raises `IndexCorruptError` naming the first damaged file.

    A generation made before searchkit recorded checksums (no `checksums` in its metadata)
    is only checked for a TOC. A commit in another process may replace the TOC and delete
    the files of the one being verified: then the new TOC is verified instead.
    """
    folder = path / generation
    while True:
        toc_generation = latest_generation(FileStorage(str(folder)), INDEX_NAME)
        if toc_generation < 0:
            if not folder.is_dir():
                raise IndexCorruptError(path, storage.CURRENT, f"names {generation}, which is gone")
            raise IndexCorruptError(path, f"{generation}/", NO_TOC)
        if not meta.get("checksums"):
            return
        problems = _checksum_problems(folder, generation, toc_generation, "", known_checksum)
        problems = [p for p in problems if not _slows_only(p)]
        if not problems:
            return
        if latest_generation(FileStorage(str(folder)), INDEX_NAME) == toc_generation:
            raise IndexCorruptError(path, problems[0].file, problems[0].what)


def vocabulary_intact(folder: Path) -> bool:
    """Whether the generation's `vocab.txt` is as its live commit recorded it (True when no
    commit recorded it). It is not when damaged, or when an update failed after writing it
    (its extra words match nothing): searches then read the words from the index instead,
    which is slower but never misses a post, until the next commit writes it again."""
    expected = _latest_record(folder).get(VOCAB_FILE)
    try:
        return expected is None or known_checksum(folder / VOCAB_FILE) == expected
    except OSError:
        return False


def _is_record(sums) -> bool:
    """Whether JSON read from a checksums file has its shape: {file name: {size, crc32}},
    the names plain file names (a damaged one could name `../CURRENT`)."""
    return isinstance(sums, dict) and all(
        isinstance(name, str)
        and "/" not in name
        and name not in ("", ".", "..")
        and isinstance(figures, dict)
        and set(figures) == {"size", "crc32"}
        and all(type(value) is int for value in figures.values())
        for name, figures in sums.items()
    )


def _slows_only(problem: IndexProblem) -> bool:
    """Whether `problem` is about the vocabulary, which costs speed, not answers."""
    return problem.file.endswith("/" + VOCAB_FILE)


NO_TOC = "has no Whoosh TOC (_MAIN_<N>.toc): its segments cannot be found"


def _checksum_problems(
    folder: Path, generation: str, toc_generation: int, fix: str, checksum=file_checksum
) -> list:
    record = folder / checksum_name(toc_generation)
    try:
        sums = json.loads(record.read_text("utf-8"))
        if not _is_record(sums):
            raise ValueError("not a record of file checksums")
    except FileNotFoundError:
        what = "is missing: this commit's files cannot be verified (a rebuild records it)"
        return [IndexProblem(f"{generation}/{record.name}", what, fix)]
    except (OSError, ValueError) as error:
        return [IndexProblem(f"{generation}/{record.name}", f"is unreadable: {error}", fix)]
    problems = []
    for name, expected in sorted(sums.items()):
        where = f"{generation}/{name}"
        try:
            actual = checksum(folder / name)
        except FileNotFoundError:
            problems.append(IndexProblem(where, "is missing", fix))
            continue
        except OSError as error:  # a folder, an I/O error
            problems.append(IndexProblem(where, f"cannot be read ({error.strerror})", fix))
            continue
        if name == VOCAB_FILE and actual != expected:
            what = (
                "is not as the last commit wrote it (damaged, or left by a failed update): "
                "searches read the index's words instead, more slowly"
            )
            problems.append(IndexProblem(where, what, "the next update or a rebuild rewrites it"))
        elif actual["size"] != expected["size"]:
            what = f"is {actual['size']:,} bytes, expected {expected['size']:,} (truncated?)"
            problems.append(IndexProblem(where, what, fix))
        elif actual["crc32"] != expected["crc32"]:
            problems.append(IndexProblem(where, "has changed since it was written (checksum)", fix))
    return problems


def _content_problems(files, generation: str, toc_generation: int, fix: str) -> list:
    """What Whoosh finds reading the index: the TOC, every stored document it counts, and
    every segment's term table and join table (`codec.check_terms`, `codec.check_joins`)."""
    toc_name = f"{generation}/_{INDEX_NAME}_{toc_generation}.toc"
    try:
        toc = TOC.read(files, INDEX_NAME, toc_generation)
        from whoosh.reading import SegmentReader

        for segment in toc.segments:
            reader = SegmentReader(files, toc.schema, segment)
            try:
                stored = sum(1 for _ in reader.all_stored_fields())
                check_terms(reader)
                check_joins(reader)
            finally:
                reader.close()
            if stored != segment.doc_count():
                what = f"segment {segment.segment_id()} holds {stored} documents, its TOC says "
                return [IndexProblem(toc_name, what + f"{segment.doc_count()}", fix)]
    except Exception as error:  # noqa: BLE001 - whatever Whoosh raises on a damaged file
        what = f"Whoosh cannot read it: {type(error).__name__}: {error}"
        return [IndexProblem(toc_name, what, fix)]
    return []
