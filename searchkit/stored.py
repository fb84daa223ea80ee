"""A segment's stored fields: each document's pickled fields compressed alone (a search reads
one document's text for a snippet), with zlib, against a preset dictionary made from the
segment's own documents and kept with them. No Whoosh here: `codec.py` writes this column
in place of Whoosh's stored-fields column and reads it back.

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

    documents   each document's pickle, compressed (raw deflate) and then its Adler-32
                (4 bytes big-endian), one after the other (nothing for a document
                without stored fields)
    dictionary  the preset dictionary, itself compressed (zlib)
    ends        where each document ends in `documents`, 4 bytes each
    trailer     the compressed dictionary's length and the number of documents, 4 bytes each

Each document keeps its checksum (Adler-32, as zlib's format would), so `searchkit check`,
which reads every stored document, still finds a damaged one.
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


def compress(document: bytes, dictionary: bytes) -> bytes:
    """`document` compressed against `dictionary` (raw deflate), then its Adler-32 (4 bytes).

    Not zlib's own format, which keeps the same checksum: with a preset dictionary it also
    checksums the dictionary (32 KB) on every read, which doubled the time to decompress a
    news article (22 µs instead of 11 µs), and its header and the dictionary's checksum
    cost 6 bytes a document."""
    return _compressed(document, _compressor(dictionary))


def _compressor(dictionary: bytes):
    """A compressor primed with `dictionary`, for `_compressed` to copy: setting a preset
    dictionary costs ~230 µs a document (hashing its 32 KB), a copy of one set ~80."""
    options = {"zdict": dictionary} if dictionary else {}
    return zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, **options)


def _compressed(document: bytes, compressor) -> bytes:
    checksum = zlib.adler32(document).to_bytes(4, "big")
    return compressor.compress(document) + compressor.flush() + checksum


def decompress(data: bytes, dictionary: bytes) -> bytes:
    """What `compress(document, dictionary)` was given. Raises `zlib.error` when `data`
    is damaged (or `dictionary` is not the one it was compressed against)."""
    options = {"zdict": dictionary} if dictionary else {}
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS, **options)
    document = decompressor.decompress(data[:-4])
    if not decompressor.eof or decompressor.unused_data:
        raise zlib.error("a stored document's compressed data does not end where it should")
    if zlib.adler32(document).to_bytes(4, "big") != data[-4:]:
        raise zlib.error("a stored document does not match its checksum")
    return document


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
        document = pickle.dumps(fields, PICKLE_PROTOCOL) if fields else b""
        if self._dictionary is not None:
            self._write(document)
            return
        self._held.append(document)
        self._held_bytes += len(document)
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
        self._dictionary = make_dictionary(self._held)
        self._primed = _compressor(self._dictionary)
        held, self._held = self._held, []
        for document in held:
            self._write(document)

    def _write(self, document: bytes) -> None:
        if document:
            data = _compressed(document, self._primed.copy())
            self._file.write(data)
            self._end += len(data)
            if self._end > 0xFFFFFFFF:  # the ends are 4 bytes
                raise OverflowError("a segment's compressed stored fields passed 4 GB")
        self._ends.append(self._end)


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
        end = self._ends[docnum]
        begin = self._ends[docnum - 1] if docnum else 0
        if begin == end:
            return None
        data = self._data[self._start + begin : self._start + end]
        return pickle.loads(decompress(data, self._dictionary))
