"""The join table: a segment's joins (`Analyzer.postings`: the two characters around a token
boundary) and, for each, the documents that have it and how often, packed in one file that
a join is found in by one binary search (between two of its sampled keys). No Whoosh here:
`codec.py` writes the table into each segment and reads it back.

On 19,547 news articles a segment has 370,000 joins and 3.0 M join postings. As Whoosh terms
they took ~40 MB (a term record of ~29 bytes each, a hash index over them, postings inlined
in pickles or in blocks); here ~10 MB: a 10-byte record a join, about 2 bytes a posting.

Layout (numbers big-endian)::

    b"skj1"  header length (4 bytes)  header (JSON: {"fields": {name: [first, end]}})
    records  one per join, sorted by field then join: the join's two code points (3 bytes
             each), then where its postings end in the data (4 bytes, from the data's start)
    data     each join's postings, one after the other

A join's postings are text, stored as UTF-8 (the trick of `codec.WordPositions`): a
character for each gap between its documents (the first from -1, so no gap is 0), and
decoding is `accumulate` over the characters, at C speed; then, if any of its documents has
the join more than once (9% of postings), a NUL and a pair of characters for each such
document: the gap to the previous such posting's index (from -1) and its count. A number
too large for a character (1,114,111 and over) takes `ESCAPE` characters before it, each
adding `CARRY`.
"""

from __future__ import annotations

import json
import struct
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, islice
from mmap import mmap
from operator import sub

MAGIC = b"skj1"
_LENGTH = struct.Struct(">I")
# A record: a join's two code points, 3 bytes each (its key), and the end of its postings.
_RECORD = struct.Struct(">6sI")
RECORD_BYTES = _RECORD.size
_KEY = 6
# Every 128th record's key, read on a table's first lookup (~0.4 ms and ~110 KB for the news
# corpus's 370,000 records), narrows its binary search from ~19 probes of the map to 7: a
# lookup of an absent join took 4.7 µs instead of 7.4, of a present one 10.1 instead of 13.0
# (3,000 random joins each), and a keyword looks up ~17 joins.
SAMPLE_EVERY = 128
ESCAPE = "\U0010ffff"
CARRY = 0x100000


class DamagedJoinTable(ValueError):
    """A join table's bytes are not a join table (truncated, overwritten)."""


def encode(fields: dict[str, Iterable[tuple[str, Sequence[int], Sequence[int]]]]) -> bytes:
    """The join table of {field: (join, documents, counts) in join order}: documents
    ascending, counts of at least 1. Raises ValueError for a join that is not two characters.

    >>> JoinTable(encode({"body_joins": [("息预", [3, 9], [1, 2])]})).postings("body_joins", "息预")
    ([3, 9], [1, 2])
    """
    ranges, records, data, end = {}, [], [], 0
    for field, joins in fields.items():
        first = len(records)
        for join, documents, counts in joins:
            if len(join) != 2:
                raise ValueError(f"a join is two characters, not {join!r}")
            postings = encode_postings(documents, counts)
            data.append(postings)
            end += len(postings)
            records.append(_key(join) + _LENGTH.pack(end))
        ranges[field] = [first, len(records)]
    if end >= 1 << 32:
        raise ValueError("a segment's join postings exceed 4 GB")
    header = json.dumps({"fields": ranges}).encode("utf-8")
    return b"".join([MAGIC, _LENGTH.pack(len(header)), header, *records, *data])


def encode_postings(documents: Sequence[int], counts: Sequence[int]) -> bytes:
    """One join's postings: ascending documents and their counts (see the module's doc)."""
    gaps = list(map(sub, documents, [-1, *documents[:-1]]))
    if gaps and min(gaps) < 1:
        raise ValueError("a join's documents must ascend")
    text = to_chars(gaps)
    extra, previous = [], -1
    for index, count in enumerate(counts):
        if count != 1:
            extra += (index - previous, count)
            previous = index
    if extra:
        text += "\0" + to_chars(extra)
    return text.encode("utf-8", "surrogatepass")


def decode_postings(packed: bytes) -> tuple[list[int], list[int]]:
    """(documents, counts) of `encode_postings`' bytes."""
    text = str(packed, "utf-8", "surrogatepass")
    gaps, _, extra = text.partition("\0")
    documents = list(accumulate(from_chars(gaps), initial=-1))
    del documents[0]
    counts = [1] * len(documents)
    if extra:
        numbers, index = from_chars(extra), -1
        for gap, count in zip(numbers[::2], numbers[1::2], strict=True):
            index += gap
            counts[index] = count
    return documents, counts


def to_chars(numbers: Sequence[int]) -> str:
    """Non-negative numbers as characters, each its own code point (`ESCAPE` characters
    before a number too large for one, each adding `CARRY`): their UTF-8 is a
    variable-length integer code that `from_chars` decodes at C speed. Also the code of
    the term records (`codec._term_record`)."""
    if not numbers or max(numbers) < ord(ESCAPE):
        return "".join(map(chr, numbers))
    chars = []
    for number in numbers:
        while number >= ord(ESCAPE):
            chars.append(ESCAPE)
            number -= CARRY
        chars.append(chr(number))
    return "".join(chars)


def from_chars(text: str) -> list[int]:
    """The numbers of `to_chars`' text."""
    if ESCAPE not in text:
        return list(map(ord, text))
    return leading_numbers(text)[0]


def leading_numbers(text: str, count: int | None = None) -> tuple[list[int], str]:
    """The first `count` numbers of `to_chars`' text (all of them by default), and the text
    after them; fewer numbers when the text ends first (a term record's inlined postings are
    followed by their positions, `codec._term_info`)."""
    numbers, carry = [], 0
    for end, char in enumerate(text, 1):
        if char == ESCAPE:
            carry += CARRY
            continue
        numbers.append(carry + ord(char))
        carry = 0
        if len(numbers) == count:
            return numbers, text[end:]
    return numbers, ""


def _key(join: str) -> bytes:
    return ord(join[0]).to_bytes(3, "big") + ord(join[1]).to_bytes(3, "big")


class JoinTable:
    """A join table: `length` bytes of `data` from `start` (all of it by default). `data` is
    bytes or a memory map of a segment's compound file, where only every `SAMPLE_EVERY`-th
    record (on the first lookup), the records a search probes and the postings it reads are
    touched: slicing a map gives bytes in one step (a memoryview's slice costs a second
    object and a copy, ~2x per probe). Raises `DamagedJoinTable` when the header is not a
    join table's."""

    def __init__(self, data: bytes | mmap, start: int = 0, length: int | None = None):
        self._data = data
        self._end = len(data) if length is None else start + length
        try:
            if data[start : start + 4] != MAGIC:
                raise ValueError("no join table header")
            (size,) = _LENGTH.unpack(data[start + 4 : start + 8])
            header = json.loads(data[start + 8 : start + 8 + size])
            self._fields = {name: tuple(span) for name, span in header["fields"].items()}
            self._records = start + 8 + size
            count = max((end for _, end in self._fields.values()), default=0)
            self._postings = self._records + count * RECORD_BYTES
            if self._postings > self._end:
                raise ValueError("truncated")
        except (ValueError, KeyError, TypeError, struct.error) as error:
            raise DamagedJoinTable(f"not a join table: {error}") from None
        self._samples: list[bytes] | None = None

    def postings(self, field: str, join: str) -> tuple[list[int], list[int]]:
        """(documents, counts) of `join` in `field`; ([], []) when no document has it."""
        first, end = self._fields.get(field, (0, 0))
        if len(join) != 2 or first == end:
            return [], []
        key, data, records = _key(join), self._data, self._records
        samples = self._samples if self._samples is not None else self._read_samples()
        # Between the sampled records either side of `key`: the first sampled at or above
        # it bounds the search above, the one before it below.
        sample_low, sample_high = -(-first // SAMPLE_EVERY), -(-end // SAMPLE_EVERY)
        sample = bisect_left(samples, key, sample_low, sample_high)
        low = (sample - 1) * SAMPLE_EVERY + 1 if sample > sample_low else first
        high = sample * SAMPLE_EVERY if sample < sample_high else end
        while low < high:  # the first record whose key is not below `key`
            middle = (low + high) // 2
            start = records + middle * RECORD_BYTES
            if data[start : start + _KEY] < key:
                low = middle + 1
            else:
                high = middle
        start = records + low * RECORD_BYTES
        if low == end or data[start : start + _KEY] != key:
            return [], []
        return decode_postings(self._packed(low))

    def items(self) -> Iterator[tuple[str, str, list[int], list[int]]]:
        """(field, join, documents, counts) of every join, in the table's order."""
        for field, join, _, packed in self._records_read():
            yield field, join, *decode_postings(packed)

    def check(self, document_count: int) -> None:
        """Decode every join's postings, as a search would; raises `DamagedJoinTable` when a
        record or its postings are not what `encode` writes, or name a document at or past
        `document_count`."""
        previous = ("", b"")
        try:
            for field, join, key, packed in self._records_read():
                if (field, key) <= previous:
                    raise ValueError(f"{field} {join!r} is out of order")
                previous = (field, key)
                documents, counts = decode_postings(packed)
                if not documents or documents[-1] >= document_count or min(counts) < 1:
                    raise ValueError(f"{field} {join!r} has impossible postings")
        except (ValueError, IndexError) as error:
            raise DamagedJoinTable(f"damaged join table: {error}") from None

    def _records_read(self) -> Iterator[tuple[str, str, bytes, bytes]]:
        """(field, join, key, its packed postings) of every record: the records are read in
        one piece (a slice of the table a record costs 8x as much)."""
        data, postings = self._data, self._postings
        records = _RECORD.iter_unpack(data[self._records : postings])
        read = begin = 0
        for field, (first, end) in self._fields.items():
            if first != read:
                raise DamagedJoinTable(f"the records of {field} are not where the header says")
            for key, stop in islice(records, end - first):
                if stop < begin or postings + stop > self._end:
                    raise DamagedJoinTable("a join's postings lie outside its table")
                join = chr(int.from_bytes(key[:3], "big")) + chr(int.from_bytes(key[3:], "big"))
                yield field, join, key, data[postings + begin : postings + stop]
                begin = stop
            read = end

    def release(self) -> None:
        """Let go of the bytes or map (a reader's, when it closes)."""
        self._data, self._end, self._samples = b"", 0, []

    def _read_samples(self) -> list[bytes]:
        """The key of every `SAMPLE_EVERY`-th record, read once."""
        step = SAMPLE_EVERY * RECORD_BYTES
        data, records = self._data, self._records
        self._samples = [data[at : at + _KEY] for at in range(records, self._postings, step)]
        return self._samples

    def _packed(self, index: int) -> bytes:
        data, records = self._data, self._records
        start = records + index * RECORD_BYTES + _KEY  # where the join's postings end
        end = _LENGTH.unpack(data[start : start + 4])[0]
        before = start - RECORD_BYTES  # ... and the previous join's, where its begin
        begin = _LENGTH.unpack(data[before : before + 4])[0] if index else 0
        if self._postings + end > self._end or begin > end:
            raise DamagedJoinTable("a join's postings lie outside its table")
        return data[self._postings + begin : self._postings + end]
