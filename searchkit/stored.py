"""A segment's stored fields: each document's pickled fields compressed alone (a search reads
one document's text for a snippet), with zlib, against a preset dictionary made from the
segment's own documents and kept with them. No Whoosh here: `codec.py` writes this column
in place of Whoosh's stored-fields column and reads it back.

A document's body comes after the rest of its fields, behind a flush point: a page of hits
needs each hit's id, title and date at once but its body only for a snippet, and the body
is nearly all of a document's bytes (~12 µs of the ~15 µs that reading a news article's
fields took, ten times a page). `StoredReader.head` inflates the fields up to that point and
hands the body over still compressed (`StoredText`), to inflate when it is first wanted.
One stream, not two records: a record of its own cost the body's Huffman table and a
checksum, ~31 bytes a news article against the flush's ~12 (measured on the 19,547-article
index: with two records it passed 1.5× its text).

Whoosh compresses each document alone without a dictionary (zlib level 3), and a short
Chinese article has little to repeat within itself. A preset dictionary is text that zlib
may refer back to as if it came before the document: here the first kilobyte of 32
documents spread over the segment's first few megabytes, which holds the pickle's field
names, the corpus's usual openings (央视网消息（新闻联播）：) and common phrasing. On the
news corpus (19,547 articles) the stored fields take 13.70 MB instead of Whoosh's 19.18
(0.71). Measured on 3,000 articles against Whoosh's bytes, other ways did worse: a 32 KB
dictionary of the most common 2-4 character n-grams of other articles 0.80-0.82, of jieba's
most frequent words 0.93; level 9 alone 0.99; lzma 1.05. Decompressing against the
dictionary costs what Whoosh's decompression costs (~12 µs an article, `compress`).

Layout (numbers little-endian)::

    documents   each document's record, one after the other (nothing for a document
                without stored fields): a varint, the length of the compressed fields
                times two, plus one when a body follows; then the fields but the body
                (pickled) and the body (UTF-8) as one raw deflate stream, flushed
                (Z_SYNC_FLUSH) after the fields; then the Adler-32 of both (4 bytes,
                big-endian)
    dictionary  the preset dictionary, itself compressed (zlib)
    ends        where each document ends in `documents`, 4 bytes each
    trailer     the compressed dictionary's length and the number of documents, 4 bytes each

Each document keeps its checksum (Adler-32, as zlib's format would), so `searchkit check`,
which reads every stored document, still finds a damaged one. Reading the fields alone
(`head`) does not check it: every open checks the whole file's CRC-32 (`integrity.py`),
and reading the body checks the document's.
"""

from __future__ import annotations

import pickle
import struct
import sys
import zlib
from array import array

# zlib's window is 32 KB: it can use no more of a preset dictionary than that.
DICTIONARY_BYTES = 32 * 1024
# The first kilobyte of each sampled document: on news articles 1 KB pieces of 32 documents
# gave 0.67 of Whoosh's bytes, 512 B pieces of 64 0.73, 2 KB of 16 0.69, 4 KB of 8 0.71.
PIECE_BYTES = 1024
# Documents held back (their pickles' bytes) to sample the dictionary from before the first
# is written: enough to spread the sample over ~2,500 news articles, few enough to hold.
SAMPLE_BYTES = 4 * 1024 * 1024
# Level 6: on 500 news articles against their segment's dictionary, level 3 took 3% more
# bytes, level 1 9%, level 9 0.4% less. It compresses an article in ~140 µs (Whoosh's level 3
# without a dictionary ~50 µs): ~1.7 s more for 19,547 articles, within a build's noise.
LEVEL = 6
PICKLE_PROTOCOL = 5
BODY = "body"  # the field that comes after the flush point (see the module docstring)

_TRAILER = struct.Struct("<II")


class DamagedStoredFields(ValueError):
    """A stored-fields column's bytes are not one (truncated, overwritten)."""


def make_dictionary(documents: list[bytes]) -> bytes:
    """A preset dictionary for `documents` (pickled stored fields) and their like: the first
    `PIECE_BYTES` of documents evenly spaced among them, at most `DICTIONARY_BYTES` in all
    (longer pieces when there are fewer documents than pieces). b"" when there are none.

    >>> make_dictionary([b"abc", b"def"])
    b'abcdef'
    """
    documents = [document for document in documents if document]
    if not documents:
        return b""
    pieces = DICTIONARY_BYTES // PIECE_BYTES
    step = max(1, len(documents) // pieces)
    length = max(PIECE_BYTES, DICTIONARY_BYTES // len(documents))
    # The end of the dictionary is nearest the document, so cheapest to refer to: there the
    # pieces of the later documents, which are kept whole when there are too many.
    return b"".join(document[:length] for document in documents[::step])[-DICTIONARY_BYTES:]


def compress(fields: bytes, dictionary: bytes, body: bytes | None = None) -> bytes:
    """A document's record (see the layout above): its pickled `fields` and `body`, if any,
    compressed against `dictionary` (raw deflate), then their Adler-32 (4 bytes).

    Not zlib's own format, which keeps the same checksum: with a preset dictionary it also
    checksums the dictionary (32 KB) on every read, which doubled the time to decompress a
    news article (22 µs instead of 11 µs), and its header and the dictionary's checksum
    cost 6 bytes a document."""
    return _compressed(fields, body, _compressor(dictionary))


def _compressor(dictionary: bytes):
    """A compressor primed with `dictionary`, for `_compressed` to copy: setting a preset
    dictionary costs ~230 µs a document (hashing its 32 KB), a copy of one set ~80."""
    options = {"zdict": dictionary} if dictionary else {}
    return zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, **options)


def _compressed(fields: bytes, body: bytes | None, compressor) -> bytes:
    head = compressor.compress(fields) + compressor.flush(zlib.Z_SYNC_FLUSH)
    rest = compressor.compress(body or b"") + compressor.flush()
    checksum = zlib.adler32(body or b"", zlib.adler32(fields)).to_bytes(4, "big")
    return _varint(2 * len(head) + (body is not None)) + head + rest + checksum


def decompress(data: bytes, dictionary: bytes) -> tuple[bytes, bytes | None]:
    """What `compress(fields, dictionary, body)` was given: (fields, body). Raises
    `zlib.error` when `data` is damaged (or `dictionary` is not the one it was compressed
    against)."""
    head_end, has_body, start = _head(data)
    decompressor = _decompressor(dictionary)
    fields = decompressor.decompress(data[start:head_end])
    body = decompressor.decompress(data[head_end:-4])
    if not decompressor.eof or decompressor.unused_data:
        raise zlib.error("a stored document's compressed data does not end where it should")
    if zlib.adler32(body, zlib.adler32(fields)).to_bytes(4, "big") != data[-4:]:
        raise zlib.error("a stored document does not match its checksum")
    return fields, body if has_body else None


def decompress_fields(data: bytes, dictionary: bytes) -> tuple[bytes, bool]:
    """The pickled fields of `compress`'s record, inflated up to the flush point (its
    checksum not checked: that needs the body too), and whether a body follows."""
    head_end, has_body, start = _head(data)
    return _decompressor(dictionary).decompress(data[start:head_end]), has_body


def _decompressor(dictionary: bytes):
    options = {"zdict": dictionary} if dictionary else {}
    return zlib.decompressobj(-zlib.MAX_WBITS, **options)


def _varint(number: int) -> bytes:
    """`number` in 7-bit groups, lowest first, the high bit set on all but the last."""
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _head(data: bytes) -> tuple[int, bool, int]:
    """Where a record's compressed fields end, whether a body follows, and where they start
    (after the varint)."""
    number, shift, start = 0, 0, 0
    while True:
        if start >= len(data):
            raise zlib.error("a stored document's record is cut short")
        byte = data[start]
        number |= (byte & 0x7F) << shift
        start += 1
        if byte < 0x80:
            break
        shift += 7
    head_end = start + number // 2
    if head_end > len(data) - 4:
        raise zlib.error("a stored document's fields run past its record")
    return head_end, bool(number & 1), start


class StoredText:
    """A stored body as read from the column, still compressed (with the fields before it:
    one stream): `text()` inflates and checks it. It holds its own bytes, so it stays
    readable after the index is closed."""

    __slots__ = ("_data", "_dictionary")

    def __init__(self, data: bytes, dictionary: bytes):
        self._data, self._dictionary = data, dictionary

    def text(self) -> str:
        """The body. Raises `zlib.error` or `UnicodeDecodeError` when it is damaged."""
        return (decompress(self._data, self._dictionary)[1] or b"").decode("utf-8")


class StoredWriter:
    """Writes a segment's stored fields, a document at a time, to `file` (anything with
    `write`): holds the first `SAMPLE_BYTES` back to make the dictionary from, then writes
    each document as it comes."""

    def __init__(self, file):
        self._file = file
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._dictionary: bytes | None = None
        self._ends = array("I")
        self._end = 0

    def __len__(self) -> int:
        return len(self._held) + len(self._ends)

    def add(self, fields: dict | None) -> None:
        """Add the next document's stored fields (None or {} for none)."""
        document = _parts(fields)
        if self._dictionary is not None:
            self._write(document)
            return
        self._held.append(document)
        self._held_bytes += len(document[0]) + len(document[1] or b"")
        if self._held_bytes >= SAMPLE_BYTES:
            self._write_held()

    def finish(self) -> None:
        """Write the dictionary, the documents' ends and the trailer."""
        if self._dictionary is None:
            self._write_held()
        packed = zlib.compress(self._dictionary, 9)
        ends = array("I", self._ends)
        if sys.byteorder == "big":
            ends.byteswap()
        self._file.write(packed)
        self._file.write(ends.tobytes())
        self._file.write(_TRAILER.pack(len(packed), len(ends)))

    def _write_held(self) -> None:
        self._dictionary = make_dictionary([fields + (body or b"") for fields, body in self._held])
        self._primed = _compressor(self._dictionary)
        held, self._held = self._held, []
        for document in held:
            self._write(document)

    def _write(self, document: tuple[bytes, bytes | None]) -> None:
        if document[0]:
            data = _compressed(*document, self._primed.copy())
            self._file.write(data)
            self._end += len(data)
            if self._end > 0xFFFFFFFF:  # the ends are 4 bytes
                raise OverflowError("a segment's compressed stored fields passed 4 GB")
        self._ends.append(self._end)


def _parts(fields: dict | None) -> tuple[bytes, bytes | None]:
    """A document's pickled fields but its `BODY` (a text), and that body (None if none);
    (b"", None) for a document without stored fields."""
    if not fields:
        return b"", None
    body = fields.get(BODY)
    if not isinstance(body, str):
        return pickle.dumps(fields, PICKLE_PROTOCOL), None
    rest = {name: value for name, value in fields.items() if name != BODY}
    return pickle.dumps(rest, PICKLE_PROTOCOL), body.encode("utf-8")


class StoredReader:
    """A segment's stored fields as `StoredWriter` wrote them in `data[start:start + length]`
    (`data`: anything sliceable to bytes, such as a memory map). Raises `DamagedStoredFields`
    when those bytes are not such a column."""

    def __init__(self, data, start: int, length: int):
        if length < _TRAILER.size:
            raise DamagedStoredFields("the stored fields are cut short")
        end = start + length
        packed_length, count = _TRAILER.unpack(data[end - _TRAILER.size : end])
        ends_start = end - _TRAILER.size - 4 * count
        packed_start = ends_start - packed_length
        if packed_start < start:
            raise DamagedStoredFields("the stored fields are cut short")
        self._ends = array("I")
        self._ends.frombytes(data[ends_start : end - _TRAILER.size])
        if sys.byteorder == "big":
            self._ends.byteswap()
        if count and self._ends[-1] != packed_start - start:
            raise DamagedStoredFields("the stored documents do not end where the column says")
        try:
            self._dictionary = zlib.decompress(data[packed_start:ends_start])
        except zlib.error as error:
            raise DamagedStoredFields(f"a damaged stored-fields dictionary: {error}") from None
        self._data, self._start = data, start
        # The bytes that are not documents: the dictionary, the ends and the trailer.
        self.overhead = length - (self._ends[-1] if count else 0)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, docnum: int) -> dict | None:
        """The document's stored fields, or None when it has none. Raises IndexError for a
        number past the column, `zlib.error` or an unpickling error when it is damaged."""
        data = self._record(docnum)
        if not data:
            return None
        fields, body = decompress(data, self._dictionary)
        fields = pickle.loads(fields)
        if body is not None:
            fields[BODY] = body.decode("utf-8")
        return fields

    def head(self, docnum: int) -> tuple[dict | None, StoredText | None]:
        """The document's stored fields but its body (None when it has none), and its body
        still compressed (None when it has none). Raises as `[docnum]` does, but finds
        damage to the body only when its `text()` is read."""
        data = self._record(docnum)
        if not data:
            return None, None
        fields, has_body = decompress_fields(data, self._dictionary)
        return pickle.loads(fields), StoredText(data, self._dictionary) if has_body else None

    def _record(self, docnum: int) -> bytes:
        end = self._ends[docnum]
        begin = self._ends[docnum - 1] if docnum else 0
        return self._data[self._start + begin : self._start + end]
