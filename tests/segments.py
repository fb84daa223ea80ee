"""Test helpers for a segment's own files inside its compound file (`.skt` term table,
`.jns` join table): where one lies, and what `check` says when its bytes are damaged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from corpus import FINEWS
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage

from searchkit import Index, check_index, load_posts
from searchkit.integrity import file_checksum


def file_range(segment_file: Path, ext: str) -> tuple[int, int]:
    """Where a compound segment file holds its file ending with `ext`: (offset, length)."""
    storage = FileStorage(str(segment_file.parent))
    compound = CompoundStorage(storage.open_file(segment_file.name), use_mmap=False)
    name = next(name for name in compound.list() if name.endswith(ext))
    offset, length = compound.range(name)
    compound.close()
    return offset, length


def damaged_checks(
    path: Path, ext: str, damage: Callable[[bytearray, int, int], None]
) -> tuple[str, list, list]:
    """Index 40 shared posts at `path`, `damage(data, offset, length)` the segment's `ext`
    file, and return the segment's name as `check` gives it and what `check_index` finds:
    first with the commit's checksum record as written, then with the record rewritten to
    match the damaged bytes (so that only reading the file can tell)."""
    with Index.create(path) as index:
        index.add(list(load_posts(FINEWS))[:40])
        folder = path / index.generation
    assert check_index(path) == []
    (segment,) = folder.glob("*.seg")
    offset, length = file_range(segment, ext)
    data = bytearray(segment.read_bytes())
    damage(data, offset, length)
    segment.write_bytes(bytes(data))
    by_checksum = check_index(path)
    (record,) = folder.glob("checksums-*.json")
    sums = json.loads(record.read_text())
    sums[segment.name] = file_checksum(segment)
    record.write_text(json.dumps(sums))
    return f"{folder.name}/{segment.name}", by_checksum, check_index(path)
