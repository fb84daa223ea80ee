"""The term table: a segment's terms, each with its record (statistics and where its postings
are), sorted and front-coded in blocks, that a term is found in by a bisection of the blocks'
first keys and a binary search of one block. No Whoosh here: `codec.py` writes each
segment's table and reads it back, and decides what a record holds (`codec._term_record`).

It replaces Whoosh's term table (`.trm`, an on-disk hash table): on 19,547 news articles
that was 13.4 MB for 127,000 terms, ~34 bytes a term of hash slots, lengths and position
index beside a key and a 28-byte record of statistics and pickled postings.

Layout::

    b"skt1"
    blocks    up to BLOCK_TERMS terms of one field each, in key order
    firsts    the first key of every block, separated by 0xFF bytes when none holds one
              (UTF-8 never does; the trailer says "separated"), else end to end
    index     4-byte little-endian numbers: where each block starts (from the table's
              start) and where the last ends; then, unless separated, where each first
              key ends in `firsts`
    trailer   JSON: {"fields": {name: [first block, end block]}, "terms": how many,
              "separated": true or false}
    trailer length (4 bytes, big-endian)

A block: how many terms it has (1 byte) and the width W of its offsets (1 byte: 2 or 4);
for each term, how many bytes of its key it shares with the block's first key (1 byte, at
most 255); its offsets, W bytes each, little-endian: where the first key suffix starts,
where each key suffix ends, then where each record ends (records follow the suffixes); the
key suffixes end to end; the records end to end. Keys are front-coded against the block's
first key (kept whole in `firsts`), not the previous key, so any key of a block is one
slice and a concatenation away and a block is searched by bisection too; its offsets read
in one step into an `array`. (The lengths as UTF-8 characters, as `joins.py` keeps numbers,
took 0.25 MB less on the news corpus but ~4 µs more a lookup to decode.)
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate, pairwise
from mmap import mmap

MAGIC = b"skt1"
# Terms a block: 8 take a lookup 3 probes of its keys and cost 2% more bytes than 16 (4
# probes, ~0.9 µs more a lookup); 16,000 blocks' first keys read in ~1 ms.
BLOCK_TERMS = 8
_LENGTH = struct.Struct(">I")
_SEPARATOR = b"\xff"
# A block's offsets: their width in bytes, and the `array` typecode of that width.
_OFFSETS = {2: "H", 4: "I"}
_BIG_ENDIAN = sys.byteorder == "big"


class DamagedTermTable(ValueError):
    """A term table's bytes are not a term table (truncated, overwritten)."""


class TermTableWriter:
    """Writes a term table to `handle` (a file with `write`), a term at a time, fields and
    keys in ascending order. Raises ValueError for a term out of order."""

    def __init__(self, handle):
        self._handle = handle
        self._handle.write(MAGIC)
        self._fields: dict[str, list[int]] = {}
        self._field: str | None = None
        self._last: bytes | None = None
        self._block: list[tuple[bytes, bytes]] = []
        self._block_starts = array("I", [len(MAGIC)])
        self._firsts: list[bytes] = []
        self._terms = 0

    def add(self, field: str, key: bytes, record: bytes) -> None:
        if field != self._field:
            if field in self._fields:
                raise ValueError(f"the terms of field {field!r} must be added together")
            self._flush()
            self._field, self._last = field, None
            self._fields[field] = [len(self._firsts), len(self._firsts)]
        elif key <= self._last:
            raise ValueError(f"terms must ascend: {self._last!r} .. {key!r} in {field!r}")
        self._block.append((key, record))
        self._last = key
        self._terms += 1
        if len(self._block) == BLOCK_TERMS:
            self._flush()

    def finish(self) -> None:
        """Write the blocks' index and the trailer (the handle stays open)."""
        self._flush()
        separated = not any(_SEPARATOR in first for first in self._firsts)
        if separated:
            firsts, index = _SEPARATOR.join(self._firsts), self._block_starts
        else:
            firsts = b"".join(self._firsts)
            index = self._block_starts + array("I", accumulate(map(len, self._firsts)))
        if self._block_starts[-1] + len(firsts) >= 1 << 32:
            raise ValueError("a segment's term table exceeds 4 GB")
        if sys.byteorder == "big":
            index.byteswap()
        fields = {"fields": self._fields, "terms": self._terms, "separated": separated}
        trailer = json.dumps(fields).encode("utf-8")
        self._handle.write(firsts + index.tobytes() + trailer + _LENGTH.pack(len(trailer)))

    def _flush(self) -> None:
        if not self._block:
            return
        first = self._block[0][0]
        prefixes = bytes(min(_shared(first, key), 255) for key, _ in self._block)
        suffixes = [key[prefix:] for prefix, (key, _) in zip(prefixes, self._block, strict=True)]
        records = [record for _, record in self._block]
        count = len(self._block)
        lengths = [*map(len, suffixes), *map(len, records)]
        for width in _OFFSETS:
            start = 2 + count + width * (2 * count + 1)
            if start + sum(lengths) < 1 << (8 * width):
                break
        else:
            raise ValueError("a term table block exceeds 4 GB")
        offsets = array(_OFFSETS[width], accumulate(lengths, initial=start))
        if sys.byteorder == "big":
            offsets.byteswap()
        block = b"".join([bytes((count, width)), prefixes, offsets.tobytes(), *suffixes, *records])
        self._handle.write(block)
        self._block_starts.append(self._block_starts[-1] + len(block))
        self._firsts.append(first)
        self._fields[self._field][1] = len(self._firsts)
        self._block = []


def _shared(first: bytes, key: bytes) -> int:
    """How many leading bytes `key` shares with `first`."""
    limit = min(len(first), len(key))
    shared = 0
    while shared < limit and first[shared] == key[shared]:
        shared += 1
    return shared


class TermTable:
    """A term table: `length` bytes of `data` from `start` (all of it by default). `data` is
    bytes or a memory map of a segment's compound file, of which a lookup reads one block.
    The blocks' first keys and starts are read on the first lookup (~1 ms for 16,000
    blocks).
    Raises `DamagedTermTable` when the trailer is not a term table's."""

    def __init__(self, data: bytes | mmap, start: int = 0, length: int | None = None):
        self._data = data
        self._start = start
        end = len(data) if length is None else start + length
        try:
            if data[start : start + 4] != MAGIC or end - start < 8:
                raise ValueError("no term table header")
            (size,) = _LENGTH.unpack(data[end - 4 : end])
            trailer = json.loads(data[end - 4 - size : end - 4])
            self._fields = {name: tuple(span) for name, span in trailer["fields"].items()}
            self.term_count = int(trailer["terms"])
            self._separated = bool(trailer["separated"])
            self._blocks_count = max((last for _, last in self._fields.values()), default=0)
            entries = self._blocks_count + 1 + (0 if self._separated else self._blocks_count)
            self._index, self._index_end = end - 4 - size - 4 * entries, end - 4 - size
            if self._index < start + 4:
                raise ValueError("truncated")
        except (ValueError, KeyError, TypeError, struct.error) as error:
            raise DamagedTermTable(f"not a term table: {error}") from None
        self._firsts: list[bytes] | None = None
        self._starts = array("I")

    def fields(self) -> list[str]:
        """The fields that have terms, in the table's order."""
        return list(self._fields)

    def get(self, field: str, key: bytes) -> bytes | None:
        """The record of `key` in `field`, or None when the field has no such term."""
        first, end = self._fields.get(field, (0, 0))
        if first == end:
            return None
        firsts = self._firsts if self._firsts is not None else self._read_index()
        number = bisect_right(firsts, key, first, end) - 1
        if number < first:
            return None
        # The block and its offsets inline (`_block`, `_offsets`): a keyword looks up ~20
        # terms, and the two calls were ~0.4 µs of a ~4.5 µs lookup.
        start, starts = self._start, self._starts
        block = self._data[start + starts[number] : start + starts[number + 1]]
        count, width = block[0], block[1]
        head = 2 + count + width * (2 * count + 1)  # where the key suffixes start
        if width not in _OFFSETS:
            raise DamagedTermTable("damaged term table: a block's offsets have no width")
        offsets = array(_OFFSETS[width], block[2 + count : head])
        if _BIG_ENDIAN:
            offsets.byteswap()
        if not count or offsets[0] != head or offsets[-1] != len(block):
            raise DamagedTermTable("damaged term table: a block's offsets do not add up")
        first_key, probe = firsts[number], None
        low, high = 0, count  # the first term of the block whose key is not below `key`
        while low < high:
            middle = (low + high) // 2
            found = first_key[: block[2 + middle]] + block[offsets[middle] : offsets[middle + 1]]
            if found < key:
                low = middle + 1
            else:
                high, probe = middle, found  # the last probe kept is term `low`'s key
        if probe != key:
            return None
        return block[offsets[count + low] : offsets[count + low + 1]]

    def items_from(self, field: str, key: bytes = b"") -> Iterator[tuple[str, bytes, bytes]]:
        """(field, key, record) of every term from `key` in `field` (its first term at or
        after it) to the end of the table, through the fields after it; nothing when the
        table has no such field."""
        if field not in self._fields:
            return
        names = list(self._fields)
        first, end = self._fields[field]
        firsts = self._firsts if self._firsts is not None else self._read_index()
        number = max(bisect_right(firsts, key, first, end) - 1, first)
        for name in names[names.index(field) :]:
            start, stop = self._fields[name]
            for block_number in range(max(number, start), stop):
                for term, record in self._terms(block_number):
                    if name != field or term >= key:
                        yield name, term, record

    def items(self) -> Iterator[tuple[str, bytes, bytes]]:
        """(field, key, record) of every term, in the table's order."""
        for name, (first, end) in self._fields.items():
            for number in range(first, end):
                for term, record in self._terms(number):
                    yield name, term, record

    def check(self) -> Iterator[tuple[str, bytes, bytes]]:
        """`items`, checking as it goes that every block lies inside the table and that keys
        ascend in each field; raises `DamagedTermTable` when not."""
        try:
            self._read_index()
            if list(self._starts) != sorted(self._starts):
                raise ValueError("its blocks are not in order")
            count, read = 0, 0
            for name, (first, end) in self._fields.items():
                if first != read or end < first:
                    raise ValueError(f"the blocks of {name} are not where the trailer says")
                read, previous = end, None
                for number in range(first, end):
                    for term, record in self._terms(number):
                        if previous is not None and term <= previous:
                            raise ValueError(f"{name} {term!r} is out of order")
                        previous = term
                        count += 1
                        yield name, term, record
            if count != self.term_count:
                raise ValueError(f"{count} terms, the trailer says {self.term_count}")
        except DamagedTermTable:
            raise
        except (ValueError, IndexError, struct.error) as error:
            raise DamagedTermTable(f"damaged term table: {error}") from None

    def release(self) -> None:
        """Let go of the bytes or map (a reader's, when it closes)."""
        self._data, self._firsts = b"", []

    def _read_index(self) -> list[bytes]:
        """The blocks' first keys (and where the blocks start), read once."""
        data, count = self._data, self._blocks_count
        index = array("I", data[self._index : self._index_end])
        if sys.byteorder == "big":
            index.byteswap()
        starts = index[: count + 1]
        firsts = data[self._start + starts[-1] : self._index]
        if self._separated:
            self._firsts = firsts.split(_SEPARATOR) if count else []
        else:
            ends = [0, *index[count + 1 :]]
            self._firsts = [firsts[a:b] for a, b in pairwise(ends)]
        if len(self._firsts) != count:
            raise DamagedTermTable("damaged term table: its index does not add up")
        self._starts = starts
        return self._firsts

    def _block(self, number: int) -> bytes:
        start, starts = self._start, self._starts
        return self._data[start + starts[number] : start + starts[number + 1]]

    def _terms(self, number: int) -> Iterator[tuple[bytes, bytes]]:
        """(key, record) of every term of a block."""
        if self._firsts is None:
            self._read_index()
        block, first_key = self._block(number), self._firsts[number]
        count, offsets = _offsets(block)
        for i in range(count):
            key = first_key[: block[2 + i]] + block[offsets[i] : offsets[i + 1]]
            yield key, block[offsets[count + i] : offsets[count + i + 1]]


def _offsets(block: bytes) -> tuple[int, array]:
    """A block's number of terms, and its offsets: where each key suffix starts (and the
    last ends), then where each record ends."""
    count, width = block[0], block[1]
    if width not in _OFFSETS:
        raise DamagedTermTable("damaged term table: a block's offsets have no width")
    start = 2 + count
    offsets = array(_OFFSETS[width], block[start : start + width * (2 * count + 1)])
    if _BIG_ENDIAN:
        offsets.byteswap()
    if not count or offsets[0] != start + width * (2 * count + 1) or offsets[-1] != len(block):
        raise DamagedTermTable("damaged term table: a block's offsets do not add up")
    return count, offsets
