"""Every reach below Whoosh's public API: how a searchkit commit writes Whoosh segments,
merges them and reads their postings back, and named accessors for the few other Whoosh
privates searchkit needs.

searchkit extends Whoosh's file format (`W3Codec`) through its own seams: a codec that
inlines rare terms' postings and writes the others' blocks in a layout of its own
(`_PostingsWriter`; its format is `blocks.py`), readers for every term record and block it
writes (`LeafMatcher`, `InlineMatcher`), a posting pool (`TermPool`), a segment writer
that merges segments a block at a time (`Writer`), a term table in every segment instead
of Whoosh's hash table (`_FieldWriter`, `_TermsReader`; its format is `terms.py`), a join
table in every segment (`JoinTableField`, `read_joins`; its format is `joins.py`), stored
fields compressed against a dictionary of the segment's own documents (`_PerDocWriter`,
`_PerDocReader`; their format is `stored.py`), and a merge policy that keeps at most two
segments (`fold_into_largest`). Every Whoosh code path reads these segments back:
searches, segment merges on commit, `add_reader`, deletions,
`doc_count`. For speed the search path reads postings a block at a time (`read_documents`,
`read_frequencies`, `read_positions`), below Whoosh's matcher API.
What else needs a Whoosh private has a named function here (`set_total`, `finish_writer`,
`live_toc`, `latest_generation`), so no other module touches one.

`tests/test_codec.py` checks the block readers against Whoosh's public matcher API on an
index of several segments with deletions, and runs whoosh-reloaded's own test suite with this
writer, codec and pool in place; `pyproject.toml` pins the Whoosh version those tests cover,
so a Whoosh upgrade breaks that test file rather than the hit lists.

The module keeps the name `codec`: Whoosh's own codec is where its block readers and segment
files live, and every segment's TOC pickles its codec class by import path
(`searchkit.codec.Codec`; `searchkit.schema.Codec` in older indexes): another name would be a
third path that indexes depend on for good.
"""

from __future__ import annotations

import heapq
import io
import pickle
import tempfile
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from contextlib import nullcontext
from functools import partial
from itertools import accumulate, groupby, islice, pairwise, repeat
from mmap import mmap
from operator import sub
from pathlib import Path
from typing import NamedTuple

from whoosh import columns, fields, formats
from whoosh.codec import base
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3LeafMatcher,
    W3PerDocReader,
    W3PerDocWriter,
    W3PostingsWriter,
    W3TermInfo,
    _lenfield,
)
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.structfile import BufferFile
from whoosh.index import TOC
from whoosh.matching import ListMatcher
from whoosh.reading import EmptyReader, MultiReader, ReaderClosed, SegmentReader, TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from . import blocks, forked, joins, stored, terms

# Postings of fewer documents than this are kept in the term record (up to 16 before
# session 10): on the news corpus a word in 16-63 documents read from its record instead of a
# block costs ~8 µs less (央行's 51 postings: 29 → 22 µs, a keyword reads a dozen words), and
# the index is 0.86 MB smaller (a block's header and pickle cost more than the record's
# numbers); 128 saved 0.08 MB more and no time.
INLINE_POSTINGS = 64
JOINS_EXT = ".jns"  # a segment's join table (`joins.py`), a file of its compound file
TERMS_EXT = ".skt"  # a segment's term table (`terms.py`), instead of Whoosh's `.trm`
# A segment's stored fields (`stored.py`): Whoosh's name for its stored-fields column.
STORED_EXT = "._stored" + W3Codec.COLUMN_EXT


_ONE_CHAR = ord(joins.ESCAPE) - 1  # the positions below it are one character's gap


class WordPositions(formats.Positions):
    """The positions of a word in a document, as Whoosh's `Positions` format keeps them, in
    fewer bytes: each gap to the previous position (the first from -1, so no gap is 0) is one
    character (`joins.to_chars`, the join table's code), and the value is their UTF-8, itself
    a variable-length integer code (a gap under 128 is one byte, under 2,048 two). Whoosh's
    format pickles a list of gaps after a 4-byte count: 10 bytes a position on 30 MB of news,
    where this takes about 2.

    Decoding is `accumulate` over the characters, at C speed. The UTF-8 never holds a NUL
    byte, so the codec stores a block's values as one string, NUL-separated (`_pack`).
    """

    def encode(self, poslist):
        if len(poslist) == 1 and poslist[0] < _ONE_CHAR:
            # Three words of four in a news article: its gap is one character (half the
            # encoding time of 6 M postings a build).
            return chr(poslist[0] + 1).encode("utf-8", "surrogatepass")
        gaps = list(map(sub, poslist, [-1, *poslist[:-1]]))
        return joins.to_chars(gaps).encode("utf-8", "surrogatepass")

    def decode_positions(self, valuestring):
        text = valuestring.decode("utf-8", "surrogatepass")
        positions = list(accumulate(joins.from_chars(text), initial=-1))
        del positions[0]
        return positions

    def decode_frequency(self, valuestring):
        return len(self.decode_positions(valuestring))


def _pack(values) -> str:
    """A block's `WordPositions` values as one string. Whoosh pickles each value of a block
    (protocol 2: a bytes object is a call of `_codecs.encode` on its latin-1 text, 15 bytes
    and more beside its own); a string pickles as its UTF-8."""
    return b"\0".join(values).decode("utf-8", "surrogatepass")


def _unpack(packed: str) -> tuple[bytes, ...]:
    return tuple(packed.encode("utf-8", "surrogatepass").split(b"\0"))


class PackedPostings(NamedTuple):
    """A document's postings of one field as `TermPool.add_field` takes them from
    `field.index`: three bytes objects, which an analysis worker hands to the writing
    process for the cost of copying them. The same postings as Whoosh's list of (term,
    frequency, weight, value) tuples, which cost five objects a posting to pickle and
    unpickle again (~4 CPU s of a 30 MB build's writing process, and ~2 s of the workers').

    Terms are runs of letters, digits or Han characters, and `WordPositions` values are
    UTF-8, so neither holds a NUL byte: NUL separates them. A posting's weight is its
    frequency.
    """

    terms: bytes  # their UTF-8, NUL between them
    frequencies: bytes  # an array("I")'s bytes, one a term
    values: bytes  # one a term, NUL between them; b"" for a field without values

    @classmethod
    def of(cls, terms: list[bytes], frequencies: list[int], values: list[bytes] | None = None):
        return cls(b"\0".join(terms), array("I", frequencies).tobytes(), b"\0".join(values or ()))

    def columns(self) -> tuple[list[bytes], array, list[bytes] | None]:
        """The terms, their frequencies and their values (None for a field without)."""
        frequencies = array("I", self.frequencies)
        terms = self.terms.split(b"\0") if frequencies else []
        return terms, frequencies, self.values.split(b"\0") if self.values else None

    def items(self) -> list[tuple[bytes, int, float, bytes]]:
        """Whoosh's (term, frequency, weight, value) tuples."""
        terms, frequencies, values = self.columns()
        rows = zip(terms, frequencies, values or [b""] * len(terms), strict=True)
        return [(term, frequency, float(frequency), value) for term, frequency, value in rows]

    def words(self) -> list[str]:
        """The terms as text."""
        return self.terms.decode("utf-8").split("\0") if self.terms else []


def _small_weights(weights):
    """Whole-number weights (searchkit's are frequencies) as ints: a pickled float takes 9
    bytes, an int under 256 two. The readers turn them back into floats."""
    if all(weight.is_integer() for weight in weights):
        return tuple(map(int, weights))
    return tuple(weights)


class Codec(W3Codec):
    """Whoosh's file format, with these changes to what a commit writes:

    * no per-block field-length statistics: they only bound scores for Whoosh's pruning,
      which searchkit turns off (it counts every match), and gathering them costs a
      field-length lookup per posting;
    * the postings of a term in fewer than `INLINE_POSTINGS` documents are kept inside its
      term record, as Whoosh's format allows, instead of in a compressed block of their own
      (most joins and many words are that rare, and a block costs a pickle and a zlib call);
    * a term record's `WordPositions` values are one string (`_pack`), and its
      whole-number weights ints (`_small_weights`): with Whoosh's pickles of each value and
      float, positions were a third of the index (docs/internals.md, "Index format and size");
    * a block keeps its documents and weights apart from its values (`blocks.py`), so that
      reading a word's documents and frequencies does not inflate its positions;
    * the stored fields are compressed against a preset dictionary made from the segment's
      own documents (`stored.py`; `_PerDocWriter`, `_PerDocReader`), not each alone;
    * the terms and their records are in a sorted, front-coded term table (`terms.py`;
      `_FieldWriter`, `_TermsReader`), not Whoosh's on-disk hash table, and a record is
      its numbers as UTF-8 characters (`_term_record`), not a struct and a pickle.

    Segments pickle their codec: indexes written before this module existed name it
    `searchkit.schema.Codec`, which `schema.py` keeps importing for them.
    """

    length_stats = False

    def __init__(self):
        super().__init__(inlinelimit=INLINE_POSTINGS)

    def postings_writer(self, dbfile, byteids=False):
        return _PostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            weights = array("f", weights)
            if values and isinstance(values[0], str):
                values = _unpack(values[0])
            return InlineMatcher(
                ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo
            )
        offset, length = terminfo.extent()
        return LeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def per_document_writer(self, storage, segment):
        return _PerDocWriter(self, storage, segment)

    def per_document_reader(self, storage, segment):
        return _PerDocReader(storage, segment)

    def field_writer(self, storage, segment):
        return _FieldWriter(self, storage, segment)

    def terms_reader(self, storage, segment):
        where = _segment_file(storage, segment, TERMS_EXT, terms.DamagedTermTable)
        return _TermsReader(self, terms.TermTable(*where), _postings_file(storage, segment))


class JoinTableField(fields.FieldType):
    """A field whose postings (two-character terms and their counts, as weights) `Writer`
    keeps in the segment's join table (`joins.py`) instead of Whoosh's term table, and
    `read_joins` reads: a join's term record, hash slot and block cost more than its
    postings (40 MB of a 91 MB index on 30 MB of news, ~10 MB as a join table)."""


def join_fields(schema) -> frozenset[str]:
    """The names of the schema's `JoinTableField`s."""
    return frozenset(name for name, field in schema.items() if isinstance(field, JoinTableField))


class _FieldWriter(base.FieldWriter):
    """Whoosh's field writer (`W3FieldWriter`), with the term records in the segment's term
    table (`terms.py`, `TERMS_EXT`) instead of Whoosh's hash table."""

    def __init__(self, codec, storage, segment):
        self._codec = codec
        self._tablefile = segment.create_file(storage, TERMS_EXT)
        self._table = terms.TermTableWriter(self._tablefile)
        self._postfile = segment.create_file(storage, W3Codec.POSTS_EXT)
        self._fieldname = self._format = self._btext = self._postwriter = None
        self.is_closed = False

    def start_field(self, fieldname, fieldobj):
        self._fieldname, self._format = fieldname, fieldobj.format
        self._postwriter = self._codec.postings_writer(self._postfile)

    def start_term(self, btext):
        self._btext = btext
        self._postwriter.start_postings(self._format, W3TermInfo())

    def add(self, docnum, weight, vbytes, length):
        self._postwriter.add_posting(docnum, weight, vbytes, length)

    def finish_term(self):
        terminfo = self._postwriter.finish_postings()
        self._table.add(self._fieldname, self._btext, _term_record(terminfo))

    def finish_field(self):
        self._postwriter = None

    def close(self):
        self._table.finish()
        self._tablefile.close()
        self._postfile.close()
        self.is_closed = True


# A term record (`_term_record`) is numbers as characters in UTF-8 (`joins.to_chars`), the
# first its kind: postings in blocks of the postings file, or inlined in the record, with
# their weights unless all are 1 and with their packed positions (`_pack`) after the
# numbers; or `_WHOOSH`, a NUL byte and the record as Whoosh writes it (`W3TermInfo`), for
# what the others cannot hold (fractional weights, other formats' values: Whoosh's tests).
_BLOCKS, _INLINED, _WEIGHTS, _POSITIONS = 1, 2, 4, 8
_WHOOSH = b"\0"
# A block term's postings offset is two numbers, the bits above and below the 20th: any one
# above 1.1 M would take an escape character for each 1 M (`joins.to_chars`).
_OFFSET_BITS = 20
_OFFSET_MASK = (1 << _OFFSET_BITS) - 1


def _term_record(info: W3TermInfo) -> bytes:
    """A term's record in the term table: its statistics and where its postings are, or its
    inlined postings, in ~12 bytes beside the postings (Whoosh's: 40 and a pickle)."""
    minlength = 0 if info._minlength is None else length_to_byte(info._minlength)
    numbers = [minlength, length_to_byte(info._maxlength)]
    tail = ""
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        kind, numbers = _INLINED, [*numbers, len(ids), *map(sub, ids, [-1, *ids[:-1]])]
        if any(weight != 1 for weight in weights):
            kind |= _WEIGHTS
            numbers += weights
        if values:
            kind |= _POSITIONS
            tail = values[0] if len(values) == 1 and isinstance(values[0], str) else None
    elif info._minid is None or info._maxid is None:
        tail = None  # no postings: Whoosh's record says so
    else:
        kind, offset = _BLOCKS, info._offset
        numbers += [info._df, info._weight, info._maxweight, info._minid]
        numbers += [info._maxid - info._minid, offset >> _OFFSET_BITS, offset & _OFFSET_MASK]
        numbers.append(info._length)
    whole = all(number >= 0 and float(number).is_integer() for number in numbers)
    if tail is None or not whole or (kind & _INLINED and not numbers[2]):
        return _WHOOSH + info.to_bytes()
    text = chr(kind) + joins.to_chars(list(map(int, numbers))) + tail
    return text.encode("utf-8", "surrogatepass")


def _term_info(record: bytes) -> W3TermInfo:
    """The `W3TermInfo` of a term record (what Whoosh's readers and `postings_reader` use),
    its inlined postings' weights as ints."""
    if record[:1] == _WHOOSH:
        info = W3TermInfo.from_bytes(record[1:])
        if isinstance(info._length, tuple):  # Whoosh reads it with `unpack_int`, a 1-tuple
            info._length = info._length[0]
        return info
    text = str(record, "utf-8", "surrogatepass")
    kind = ord(text[0])
    info = W3TermInfo.__new__(W3TermInfo)  # every attribute is set below
    info._minlength = byte_to_length(ord(text[1]))
    info._maxlength = byte_to_length(ord(text[2]))
    if kind == _BLOCKS:
        df, weight, maxweight, minid, span, high, low, length = joins.from_chars(text[3:])
        info._df, info._weight, info._maxweight = df, float(weight), float(maxweight)
        info._minid, info._maxid = minid, minid + span
        info._offset, info._length = (high << _OFFSET_BITS) + low, length
        info._inlined = None
        return info
    count = ord(text[3])
    end = 4 + count * (2 if kind & _WEIGHTS else 1)
    if joins.ESCAPE in text[4:end]:  # a gap of more than 1.1 M documents
        numbers, tail = joins.leading_numbers(text[4:], end - 4)
        if len(numbers) < end - 4:
            raise terms.DamagedTermTable("damaged term table: a term record ends early")
    else:
        numbers, tail = list(map(ord, text[4:end])), text[end:]
    ids = tuple(accumulate(numbers[:count], initial=-1))[1:]
    weights = tuple(numbers[count:]) if kind & _WEIGHTS else (1,) * count
    info._inlined = (ids, weights, (tail,) if kind & _POSITIONS else ())
    info._df, info._weight, info._maxweight = count, float(sum(weights)), float(max(weights))
    info._minid, info._maxid = ids[0], ids[-1]
    info._offset = info._length = None
    return info


def _doc_frequency(record: bytes) -> int:
    """A term record's document frequency, without decoding the rest (searches ask it of
    every vocabulary word that may match): the fourth number of either kind."""
    if record[:1] != _WHOOSH:
        text = str(record, "utf-8", "surrogatepass")
        if text[3] != joins.ESCAPE:
            return ord(text[3])
    return _term_info(record).doc_frequency()


# Term records a segment's term table reader keeps for one search (`_TermsReader.record`).
RECORDS_KEPT = 50_000


class _TermsReader(base.TermsReader):
    """Whoosh's term table reader over the segment's term table (`terms.py`); it also opens
    the segment's join table (on first use: a search that needs no join does not map it).

    A term is found by a bisection of the blocks' first keys and a binary search of a block:
    `SegmentReader.doc_frequency` of a random word took 7.6 µs instead of 10.1 µs with
    Whoosh's hash table (an MD5, several reads and an unpickling; loaded machine)."""

    def __init__(self, codec, table: terms.TermTable, postfile):
        self._codec = codec
        self._table = table
        self._postfile = postfile
        self.joins: joins.JoinTable | None = None
        self._records: dict[tuple[str, bytes], bytes | None] = {}

    def __contains__(self, term):
        return self.record(*term) is not None

    def record(self, fieldname: str, tbytes: bytes) -> bytes | None:
        """The term's record (None: the field has no such term), kept until `forget_read`
        (at the end of each search, up to `RECORDS_KEPT`): a search looks a text's words up
        once to size it (`doc_frequency`, for `matching.Contains._document_frequency`) and
        again to read their postings (`_record_of`), and a common character is in hundreds
        of words (大: 1,500 at 60,000 articles, ~5 µs a lookup). `term_info` (Whoosh's
        matchers: a merge asks it of every term) looks the table up itself."""
        key = (fieldname, tbytes)
        records = self._records
        if key in records:
            return records[key]
        if len(records) >= RECORDS_KEPT:
            records.clear()
        record = records[key] = self._table.get(fieldname, tbytes)
        return record

    def forget_records(self) -> None:
        self._records = {}

    def indexed_field_names(self):
        return self._table.fields()

    def cursor(self, fieldname, fieldobj):
        return _FieldCursor(self._table, fieldname, fieldobj)

    def terms(self):
        return ((fieldname, key) for fieldname, key, _ in self._table.items())

    def terms_from(self, fieldname, prefix):
        return ((name, key) for name, key, _ in self._table.items_from(fieldname, prefix))

    def items(self):
        return (((name, key), _term_info(record)) for name, key, record in self._table.items())

    def items_from(self, fieldname, prefix):
        items = self._table.items_from(fieldname, prefix)
        return (((name, key), _term_info(record)) for name, key, record in items)

    def term_info(self, fieldname, tbytes):
        record = self._table.get(fieldname, tbytes)
        if record is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return _term_info(record)

    def frequency(self, fieldname, tbytes):
        return self._record_info(fieldname, tbytes).weight()

    def doc_frequency(self, fieldname, tbytes):
        return _doc_frequency(self._record(fieldname, tbytes))

    def _record_info(self, fieldname, tbytes):
        return _term_info(self._record(fieldname, tbytes))

    def _record(self, fieldname, tbytes) -> bytes:
        """A term's record; raises KeyError (what Whoosh's `SegmentReader` counts as 0)."""
        record = self.record(fieldname, tbytes)
        if record is None:
            raise KeyError((fieldname, tbytes))
        return record

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        terminfo = self.term_info(fieldname, tbytes)
        return self._codec.postings_reader(
            self._postfile, terminfo, format_, term=(fieldname, tbytes), scorer=scorer
        )

    def join_table(self, storage, segment) -> joins.JoinTable:
        if self.joins is None:
            self.joins = joins.JoinTable(*_segment_file(storage, segment, JOINS_EXT))
        return self.joins

    def close(self):
        self.forget_records()
        if self.joins is not None:
            self.joins.release()
        self._table.release()
        self._postfile.close()


class _FieldCursor(base.FieldCursor):
    """Whoosh's cursor over a field's terms (`W3FieldCursor`: spelling's `terms_within`)."""

    def __init__(self, table: terms.TermTable, fieldname: str, fieldobj):
        self._table, self._fieldname, self._fieldobj = table, fieldname, fieldobj
        self.first()

    def first(self):
        return self._start(b"")

    def find(self, term):
        return self._start(term if isinstance(term, bytes) else self._fieldobj.to_bytes(term))

    def next(self):
        name, key, self._record = next(self._items, (None, None, None))
        if name != self._fieldname:
            self._items, self._text, self._record = iter(()), None, None
            return None
        self._text = self._fieldobj.from_bytes(key)
        return self._text

    def text(self):
        return self._text

    def term_info(self):
        return None if self._record is None else _term_info(self._record)

    def is_valid(self):
        return self._record is not None

    def _start(self, key: bytes):
        self._items = self._table.items_from(self._fieldname, key)
        return self.next()


def _segment_file(
    storage, segment, ext: str, missing: type[ValueError] = joins.DamagedJoinTable
) -> tuple[bytes | mmap, int, int]:
    """Where a segment's file is: (the memory map of the compound file, offset, length) when
    the segment is one (Whoosh's own `open_file` copies the whole file into a BytesIO), else
    (its bytes, 0, their length). Raises `missing` when the segment lacks the file."""
    name = segment.make_filename(ext)
    compound = getattr(storage, "a", storage)  # a SegmentReader's OverlayStorage
    if isinstance(compound, CompoundStorage) and compound.file_exists(name) and compound._source:
        return compound._source, *compound.range(name)
    if not storage.file_exists(name):
        raise missing(f"segment {segment.segment_id()} has no {ext} file")
    handle = storage.open_file(name)
    try:
        data = handle.read()
    finally:
        handle.close()
    return data, 0, len(data)


def _postings_file(storage, segment):
    """A segment's postings file, as Whoosh's `open_file` gives it, but over the compound
    file's memory map without a copy (`_MappedFile`) when the segment is one."""
    name = segment.make_filename(W3Codec.POSTS_EXT)
    compound = getattr(storage, "a", storage)  # a SegmentReader's OverlayStorage
    if isinstance(compound, CompoundStorage) and compound.file_exists(name) and compound._source:
        offset, length = compound.range(name)
        return _MappedFile(memoryview(compound._source)[offset : offset + length], name)
    return storage.open_file(name)


class _MappedFile(BufferFile):
    """Whoosh's `BufferFile` over a slice of a memory map, whose stream (a `BytesIO`, which
    copies the whole slice) is made only if something reads it as a stream (`seek`, `read`):
    searchkit's readers and its `LeafMatcher` (Whoosh's matchers, merges) read postings
    with `get`, a slice. The copy of a segment's postings file was ~20 ms of every index
    open on 60,000 news articles (39 MB), and as many megabytes held by every searcher."""

    def __init__(self, buf, name=None):  # `BufferFile.__init__` but its stream
        self._buf, self._name, self.onclose = buf, name, None
        self.is_real, self.is_closed = False, False
        self._stream = None

    @property
    def file(self):
        if self._stream is None:
            self._stream = io.BytesIO(self._buf)
        return self._stream

    def close(self):
        if self._stream is None:
            self._stream = io.BytesIO()  # closing needs no copy
        super().close()


class _PerDocWriter(W3PerDocWriter):
    """Whoosh's per-document writer, with the stored fields in a `stored.StoredWriter`."""

    def _create_column(self, fieldname, column):
        if fieldname == "_stored":  # Whoosh's name for them
            column = _StoredColumn()
        super()._create_column(fieldname, column)


class _StoredColumn(columns.Column):
    """Whoosh's column seam for `stored.StoredWriter`: Whoosh's per-document writer gives
    it each document's stored fields (a dict). `_PerDocReader` reads them back."""

    def writer(self, dbfile):
        return _StoredColumnWriter(dbfile)


class _StoredColumnWriter(columns.ColumnWriter):
    def __init__(self, dbfile):
        super().__init__(dbfile)
        self._stored = stored.StoredWriter(dbfile)

    def add(self, docnum, value):
        self.fill(docnum)
        self._stored.add(value)

    def fill(self, docnum):
        while len(self._stored) < docnum:  # documents without stored fields
            self._stored.add(None)

    def finish(self, doccount):
        self.fill(doccount)
        self._stored.finish()


class _PerDocReader(W3PerDocReader):
    """Whoosh's per-document reader, reading the stored fields `_PerDocWriter` writes."""

    _stored: stored.StoredReader | None = None

    def stored_fields(self, docnum):
        """The document's stored fields ({} for none). Raises `stored.DamagedStoredFields`,
        `zlib.error` or an unpickling error when they are damaged."""
        return self._reader()[docnum] or {}

    def stored_head(self, docnum) -> tuple[dict, stored.StoredText | None]:
        """The document's stored fields but its body ({} for none), and its body still
        compressed (`stored.StoredReader.head`). Raises as `stored_fields` does."""
        fields, body = self._reader().head(docnum)
        return fields or {}, body

    def _reader(self) -> stored.StoredReader:
        if self._stored is None:
            damaged = stored.DamagedStoredFields
            where = _segment_file(self._storage, self._segment, STORED_EXT, damaged)
            self._stored = stored.StoredReader(*where)
        return self._stored

    def close(self):
        self._stored = None  # let go of the compound file's map
        super().close()


class _PostingsWriter(W3PostingsWriter):
    """Whoosh's postings writer, inlining as its term records allow (Whoosh's own calls a
    `set_inline` that does not exist). A term vector's postings (`byteids`) always go to the
    file: Whoosh finds them by their offset."""

    def finish_postings(self):
        terminfo, self._terminfo = self._terminfo, None
        if not self._byteids and not self.written() and len(self) < self._inlinelimit:
            terminfo.add_block(self)
            values = self._values
            if isinstance(self._format, WordPositions):
                values = (_pack(values),)
            terminfo.set_inlined(self._ids, _small_weights(self._weights), values)
        else:
            if self._ids:
                self._terminfo = terminfo  # _write_block adds the block's statistics to it
                self._write_block(last=True)
                self._terminfo = None
            terminfo.set_extent(self._startoffset, self._postfile.tell() - self._startoffset)
        return terminfo

    def add_postings(self, ids, weights, values) -> None:
        """A term's postings at once, as `add_posting` adds them one at a time (with no
        field lengths: `Codec` keeps no length statistics): full blocks are written, the
        last is left for `finish_postings`. `values`: one each (b"" for none), or None."""
        limit = self._blocklimit
        for start in range(0, len(ids), limit):
            if start:
                self._write_block()
            block_weights = weights[start : start + limit]
            self._ids.extend(ids[start : start + limit])
            self._weights.extend(block_weights)
            self._maxweight = max(self._maxweight, max(block_weights))
            if values:
                self._values.extend(value for value in values[start : start + limit] if value)

    def _write_block(self, last=False):
        """A block in searchkit's layout (`blocks.py`); a term vector's (`byteids`) in
        Whoosh's, which reads those itself."""
        if self._byteids:
            super()._write_block(last)
            return
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)  # the term's statistics, from the block's
        if isinstance(self._format, WordPositions):  # (never a NUL in one: `_pack`)
            values, kind = b"\0".join(self._values), blocks.PACKED
        else:  # Whoosh's own minified values (its tests' formats)
            minified = super()._mini_values()
            values, kind = pickle.dumps(minified, 2) if minified else b"", blocks.PICKLED
        stats = (self._maxweight, length_to_byte(self._minlength), length_to_byte(self._maxlength))
        block = blocks.encode(
            self._ids, self._weights, values or None, kind, stats, self._compression, last
        )
        self._postfile.write(block)
        self._blockcount += 1
        self._new_block()

    def _mini_weights(self):  # (a term vector's blocks: Whoosh's layout)
        weights = super()._mini_weights()
        return _small_weights(weights) if isinstance(weights, tuple) else weights


class LeafMatcher(W3LeafMatcher):
    """Whoosh's block reader, for searchkit's blocks (`blocks.py`); a term vector's blocks,
    in Whoosh's layout, as Whoosh reads them. It reads with `get`, not `seek` and `read`
    (`_MappedFile`).

    searchkit's join fields record a frequency per posting (its weight) and no value bytes,
    although their format (`Frequency`) declares four bytes a posting; Whoosh's reader then
    finds no values and fails with an IndexError on `value()`, which a segment merge calls
    for every posting. Such a block reads as Whoosh reads a format without values: None.
    """

    def _read_ids(self):
        if self._byteids:
            super()._read_ids()
            return
        self._ids = blocks.documents(self._block(), self._header)

    def _read_weights(self):
        if self._byteids:
            super()._read_weights()
            if isinstance(self._weights, tuple):  # as Whoosh writes them: float32s
                self._weights = array("f", self._weights)
            return
        ids, weights = blocks.documents_and_weights(self._block(), self._header)
        if self._ids is None:
            self._ids = ids
        # Whoosh's matchers give float32s (and `array(code, bytes)` would read the bytes as
        # machine values: a list of the numbers, not a block's bytes).
        self._weights = array("f", list(weights))

    def _read_values(self):
        if self._byteids:
            super()._read_values()
            return
        count, found = self._blocklength, blocks.values(self._block(), self._header)
        size = self._fixedsize
        if self._header.value_code == blocks.PICKLED and size is not None and size >= 0:
            # De-minified as Whoosh's reader does: a fixed size's values were joined.
            found = (None,) * count if size == 0 else _slices(found, size)
        if found is None or len(found) < count:
            found = (None,) * count
        self._values = found

    def _block(self) -> bytes:
        """The current block's bytes after its length (header and both parts)."""
        if self._raw is None:
            self._raw = self._postfile.get(self._blockstart, self._nextoffset - self._blockstart)
        return self._raw

    def _read_header(self):
        # Whoosh's, with `get` (a slice of the memory map) for its `seek` and `read`: a
        # segment's postings are read without a stream (`_MappedFile`).
        magic = self._postfile.get(self._startoffset, len(WHOOSH3_HEADER_MAGIC))
        if magic != WHOOSH3_HEADER_MAGIC:
            raise Exception(f"Block tag error {magic!r}")  # (Whoosh's error)
        self._baseoffset = self._startoffset + len(WHOOSH3_HEADER_MAGIC)

    def _goto(self, position):
        # Whoosh's, reading the block's length and header with `get`.
        self._data = self._raw = self._ids = self._weights = self._values = None
        self._i = 0
        if self._byteids:
            length, info, block = _whoosh_block_at(self._postfile, position)
            self._dataoffset = position + blocks.LENGTH.size + block.tell()
        else:
            length, self._header = _block_header(self._postfile, position)
            self._blockstart = position + blocks.LENGTH.size
            header = self._header
            info = (header.count, header.last, header.max_weight, header.compression)
            info += (header.shortest, header.longest)
        if length < 0:  # the last block
            self._lastblock = True
        self._nextoffset = position + blocks.LENGTH.size + abs(length)
        (
            self._blocklength,
            self._maxid,
            self._maxweight,
            self._compression,
            shortest,
            longest,
        ) = info
        self._minlength = byte_to_length(shortest)
        self._maxlength = byte_to_length(longest)


def _slices(joined: bytes, size: int) -> tuple[bytes, ...]:
    return tuple(joined[i : i + size] for i in range(0, len(joined), size))


class InlineMatcher(ListMatcher):
    """The postings kept in a term record, read as Whoosh's block reader reads postings.

    Whoosh's `ListMatcher` differs in two ways that only show once postings are inlined:
    it returns the *str* "" for a posting without a value, which Whoosh's writer refuses
    (values are bytes) when a merge copies the postings; and it asks its scorer for a score
    bound even when the scorer has none (`FunctionWeighting`)."""

    def value(self):
        return super().value() if self._values else None

    def replace(self, minquality=0):
        return super().replace(minquality if self.supports_block_quality() else 0)


# The postings a commit holds in memory before it spills them to a temporary file
# (`TermPool.spill`), by `TermPool.size`'s estimate: 19,547 news articles (30 MB) come to
# ~220 MB and do not spill; 200,000 spill ~9 runs.
SPILL_BYTES = 256 * 1024 * 1024


# Joins a pool holds from which its join table is encoded in a forked process, beside the
# rest of the commit (`TermPool.joins_beside`): a fork of a 500 MB build costs ~10 ms, and
# encoding 20,000 joins ~100 ms (19,547 news articles have 370,000).
BESIDE_JOINS = 20_000
# ... and the most the process may hold then: the child's RSS counts every page it shares
# with the parent again (and its own: ~50 MB at 19,547 news articles, more with more joins),
# and the build's memory cap, 1.5 GB at 60,000 articles, is checked on the sum of its
# processes' RSS. 19,547 articles hold ~520 MB at the commit (the child ~570); 60,000 forked
# under a limit of 640 MB and summed 1,400 MB, too near the cap: they commit in one process.
BESIDE_RESIDENT_BYTES = 576 * 2**20


class TermPool:
    """The postings of a commit, grouped by term as they arrive, for Whoosh's segment writer.

    Whoosh's own pool keeps one 5-tuple per posting, sorts them all at commit, and spills
    sorted runs to disk when its size estimate passes `limitmb`; on 31 MB of news that was
    1.7 GB and a sort of millions of tuples. Here each term keeps arrays of document numbers
    and weights, plus its position bytes, and only the terms are sorted.

    A posting's value is kept only when it is not empty, so a term's postings carry either
    a value each (positions) or none (ids); a term that mixes the two is refused. A term's
    values are kept end to end in one `bytearray` with an array of where each ends: a bytes
    object and a list slot each cost ~40 bytes a posting more, ~400 MB of a 60,000-post
    build's peak.

    The postings of `join_fields` (`JoinTableField`s) are kept apart, as document numbers
    and counts, for the segment's join table (`join_postings`).

    A pool given a `spill_folder` writes its postings to unnamed temporary files there
    (sorted runs, `spill`) when their estimated size (`size`) passes `spill_bytes`, and
    merges the runs with what it holds as the segment is written (`write_postings`,
    `join_postings`): a commit of 200,000 news articles held 2.9 GB of postings otherwise.
    A merge's postings (`add_postings`, `add_joins`) stay in memory.
    """

    def __init__(
        self,
        join_fields: frozenset[str] = frozenset(),
        spill_folder: str | None = None,
        spill_bytes: int = 0,
    ):
        # {field: {term: postings}}: a dict a field, so that a posting costs one lookup of
        # its term's bytes, not of a (field, term) tuple made for it.
        self.terms: dict[str, dict[bytes, tuple[array, array, bytearray, array]]] = {}
        self.fieldnames: set[str] = set()  # Whoosh's pool interface
        self.join_fields = join_fields
        self.joins: dict[str, dict[bytes, tuple[array, array]]] = {}
        # Whether every posting came through `add_field` in document order (a commit of new
        # documents, no merge): then no term's documents need checking for order.
        self._in_order = True
        self._last_docnum = -1
        self.spill_folder, self.spill_bytes = spill_folder, spill_bytes
        # Temporary files, each pair the terms' and the joins' postings of a run, in order.
        self._runs: list[tuple] = []
        self._postings_count = self._join_postings_count = 0  # of those held, for `size`

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        fieldname, text, docnum, weight, value = item
        self._in_order = False
        if fieldname in self.join_fields:
            self.add_joins(fieldname, text, (docnum,), (int(weight),))
            return
        docnums, weights, values, ends = self._postings(fieldname, text)
        docnums.append(docnum)
        weights.append(weight)
        if value:
            values += value
            ends.append(len(values))

    def add_field(self, fieldname: str, docnum: int, items, boost: float = 1.0) -> int:
        """Add a document's postings of one field, as `field.index` gives them (searchkit's
        `PackedPostings`, or Whoosh's (term, frequency, weight, value) tuples), each weight
        times `boost`. Returns the sum of the
        frequencies (the field's length in the document). What `add` does a posting at a
        time, in one loop: on 30 MB of news a commit takes 6.1 million postings, and the
        5-tuple and two calls of `add` for each cost the parent ~20 s of a 108 s build
        (the workers wait on it)."""
        if docnum < self._last_docnum:
            self._in_order = False
        self._last_docnum = docnum
        if isinstance(items, PackedPostings) and boost == 1.0:  # an analysis worker's
            texts, frequencies, values = items.columns()
            weights = frequencies
        else:  # Whoosh's tuples (a generator for its own fields), or a boosted field
            rows = items.items() if isinstance(items, PackedPostings) else list(items)
            texts = [row[0] for row in rows]
            frequencies = [row[1] for row in rows]
            weights = [row[2] * boost for row in rows]
            values = [row[3] for row in rows]
        if fieldname in self.join_fields:
            joins = self.joins.get(fieldname) or self.joins.setdefault(fieldname, {})
            for text, weight in zip(texts, weights, strict=True):
                postings = joins.get(text)
                if postings is None:
                    postings = joins[text] = (array("I"), array("I"))
                postings[0].append(docnum)
                postings[1].append(int(weight))
            self._join_postings_count += len(texts)
            return sum(frequencies)
        terms = self.terms.get(fieldname) or self._field_terms(fieldname)
        for text, weight, value in zip(texts, weights, values or [b""] * len(texts), strict=True):
            postings = terms.get(text)
            if postings is None:
                postings = terms[text] = _new_postings()
            docnums, term_weights, packed, ends = postings
            docnums.append(docnum)
            term_weights.append(weight)
            if value:
                packed += value
                ends.append(len(packed))
        self._postings_count += len(texts)
        return sum(frequencies)

    # What a term and a posting of `terms` take, for `size`: a term's key, tuple and four
    # arrays, ~600 bytes; a posting's number, weight and end, 16 bytes, and its positions.
    # A join's key, tuple and two arrays ~400; a posting's number and count 8 (measured
    # with tracemalloc on 3,000 news articles: 30 MB of terms, 47 MB of joins).
    TERM_BYTES, POSTING_BYTES, JOIN_BYTES, JOIN_POSTING_BYTES = 600, 22, 400, 9

    def size(self) -> int:
        """An estimate of the bytes the pool holds, from its counts of terms and postings."""
        return (
            self.TERM_BYTES * _count(self.terms)
            + self.POSTING_BYTES * self._postings_count
            + self.JOIN_BYTES * _count(self.joins)
            + self.JOIN_POSTING_BYTES * self._join_postings_count
        )

    def joins_beside(self) -> bool:
        """Whether the join table is worth encoding in a forked process (`Writer`): the pool
        has spilled, or holds `BESIDE_JOINS` joins or more, and the process can fork and
        holds at most `BESIDE_RESIDENT_BYTES`."""
        large = bool(self._runs) or _count(self.joins) >= BESIDE_JOINS
        if not large or not forked.can_fork():
            return False
        resident = forked.resident_bytes()
        return resident is not None and resident <= BESIDE_RESIDENT_BYTES

    def spill_due(self) -> bool:
        """Whether the pool should `spill` now: it has a folder and has passed its budget."""
        return bool(self.spill_folder) and self.size() > self.spill_bytes

    def spill(self) -> None:
        """Write `terms` in term order to a temporary file, unnamed (a killed build leaves
        nothing behind), and empty it: `write_postings` merges the runs back."""
        runs = []
        for held in (self.terms, self.joins):
            run = tempfile.TemporaryFile(dir=self.spill_folder)
            items = _in_order(held)
            # A batch at a time, arrays as their bytes: a pickle call and an array's pickle
            # (`array._array_reconstructor`) cost ~10 µs a term, seconds a run.
            while batch := list(islice(items, _RUN_BATCH)):
                batch = [(key, *map(bytes, postings)) for key, postings in batch]
                pickle.dump(batch, run, pickle.HIGHEST_PROTOCOL)
            runs.append(run)
        self._runs.append(tuple(runs))
        self.terms, self.joins = {}, {}
        self._postings_count = self._join_postings_count = 0

    def _sorted_terms(self) -> Iterator[tuple[tuple[str, bytes], list]]:
        """(key, [(docnums, weights, packed, ends) of each run, then of `terms`]) in key
        order: a term's postings in the order they came."""
        return _merged([terms for terms, _ in self._runs], self.terms, "If?Q")

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        """(fieldname, term, docnum, weight, value) in field, term, document order."""
        for key, parts in self._sorted_terms():
            docnums, weights, values = _joined(parts)
            rows = zip(docnums, weights, values or repeat(b"", len(docnums)), strict=True)
            for docnum, weight, value in sorted(rows) if _unsorted(docnums) else rows:
                yield key[0], key[1], docnum, weight, value

    def write_postings(self, schema, fieldwriter) -> None:
        """Write the postings to a segment's `fieldwriter`, field by field and term by term,
        as Whoosh's `FieldWriter.add_postings` writes `iter_postings`, but each term's
        postings at once (`_PostingsWriter.add_postings`): Whoosh's loop costs a generator
        step, a comparison of fields and terms and three calls a posting, ~10 s of a
        commit of 30 MB of news. Whoosh's field writers and ours (`_FieldWriter`) keep
        their postings writer as `_postwriter`."""
        fieldname = None
        for key, parts in self._sorted_terms():
            if key[0] != fieldname:
                if fieldname is not None:
                    fieldwriter.finish_field()
                fieldname = key[0]
                fieldwriter.start_field(fieldname, schema[fieldname])
            docnums, weights, values = _joined(parts)
            if not self._in_order and _unsorted(docnums):
                rows = sorted(zip(docnums, weights, values or repeat(None), strict=False))
                docnums, weights = [row[0] for row in rows], [row[1] for row in rows]
                values = [row[2] for row in rows] if values else None
            fieldwriter.start_term(key[1])
            fieldwriter._postwriter.add_postings(docnums, weights, values)
            fieldwriter.finish_term()
        if fieldname is not None:
            fieldwriter.finish_field()

    def add_postings(self, fieldname: str, text: bytes, docnums, weights, values) -> None:
        """Add a term's postings at once (a segment merge): values as `add` keeps them."""
        self._in_order = False
        if fieldname in self.join_fields:
            self.add_joins(fieldname, text, docnums, map(int, weights))
            return
        postings = self._postings(fieldname, text)
        postings[0].extend(docnums)
        postings[1].extend(weights)
        packed, ends = postings[2], postings[3]
        for value in values:
            if value:
                packed += value
                ends.append(len(packed))

    def add_joins(self, fieldname: str, text: bytes, docnums, counts) -> None:
        """Add a join's postings: document numbers and counts."""
        self._in_order = False
        joins = self.joins.setdefault(fieldname, {})
        postings = joins.get(text)
        if postings is None:
            postings = joins[text] = (array("I"), array("I"))
        postings[0].extend(docnums)
        postings[1].extend(counts)

    def join_postings(self) -> dict[str, Iterator[tuple[str, array, array]]]:
        """{join field: (join, documents, counts) ...}, fields and joins in order, documents
        ascending: what `joins.encode` takes. Every join field is there, if only empty. The
        joins are read from the runs as they are asked for: each field's once, in order."""
        rows = (
            (fieldname, text.decode("utf-8"), *self._join_row(parts))
            for (fieldname, text), parts in _merged(
                [joins for _, joins in self._runs], self.joins, "II"
            )
        )
        following = []  # the first row of the next field, read by the field before it

        def joins_of(field):
            while (row := following.pop() if following else next(rows, None)) is not None:
                if row[0] != field:
                    following.append(row)
                    return
                yield row[1:]

        return {field: joins_of(field) for field in sorted(self.join_fields)}

    def _join_row(self, parts: list) -> tuple[array, array]:
        docnums, counts = parts[0]
        if len(parts) > 1:
            docnums, counts = array("I", docnums), array("I", counts)
            for more_docnums, more_counts in parts[1:]:
                docnums.extend(more_docnums)
                counts.extend(more_counts)
        if not self._in_order and _unsorted(docnums):
            rows = sorted(zip(docnums, counts, strict=True))
            docnums, counts = array("I", [d for d, _ in rows]), array("I", [c for _, c in rows])
        return docnums, counts

    def cleanup(self) -> None:
        self.terms = {}
        self.joins = {}
        self._in_order, self._last_docnum = True, -1
        self._postings_count = self._join_postings_count = 0
        for run in self._runs:
            for part in run:
                part.close()
        self._runs = []

    def _postings(self, fieldname: str, text: bytes) -> tuple[array, array, bytearray, array]:
        terms = self.terms.get(fieldname) or self._field_terms(fieldname)
        postings = terms.get(text)
        if postings is None:
            postings = terms[text] = _new_postings()
        return postings

    def _field_terms(self, fieldname: str) -> dict[bytes, tuple]:
        """The terms of `fieldname`, a new dict for a field not met yet."""
        self.fieldnames.add(fieldname)
        return self.terms.setdefault(fieldname, {})


def _new_postings() -> tuple[array, array, bytearray, array]:
    """A term's postings in `TermPool.terms`: documents, weights, values end to end, their
    ends."""
    return array("I"), array("f"), bytearray(), array("Q")


def _count(held: dict[str, dict]) -> int:
    """How many terms (or joins) `TermPool.terms` (or `joins`) holds."""
    return sum(map(len, held.values()))


def _in_order(held: dict[str, dict]) -> Iterator[tuple[tuple[str, bytes], tuple]]:
    """((field, term), postings) of `TermPool.terms` (or `joins`) in field and term order."""
    for fieldname in sorted(held):
        terms = held[fieldname]
        for text in sorted(terms):
            yield (fieldname, text), terms[text]


_RUN_BATCH = 2048  # terms or joins a pickle of a run holds (`TermPool.spill`)


def _merged(runs: list, held: dict, typecodes: str) -> Iterator[tuple[tuple, list]]:
    """(key, [postings of each run that has the key, then of `held`]) in key order, from
    files of pickled lists of (key, *postings as bytes) in key order (`TermPool.spill`) and
    a pool's {field: {term: postings}} (`_in_order`). `typecodes`: the array type of each
    part of the postings (? for bytes)."""

    def parts(raw):
        pairs = zip(typecodes, raw, strict=True)
        return [array(code, data) if code != "?" else data for code, data in pairs]

    def read(run):
        run.seek(0)
        while True:
            try:
                batch = pickle.load(run)
            except EOFError:
                return
            for key, *postings in batch:
                yield key, parts(postings)

    if not runs:  # nothing spilled (most commits): no merge to pay for (~0.7 µs a term)
        yield from ((key, [postings]) for key, postings in _in_order(held))
        return
    merged = heapq.merge(*map(read, runs), _in_order(held), key=lambda item: item[0])
    for key, group in groupby(merged, key=lambda item: item[0]):
        yield key, [postings for _, postings in group]


def _joined(parts: list) -> tuple[array, array, list[bytes] | None]:
    """One term's postings from the (docnums, weights, packed values, ends) of each run:
    document numbers, weights and values (None for a term without values)."""
    if len(parts) == 1:
        docnums, weights, packed, ends = parts[0]
    else:
        docnums, weights = array("I"), array("f")
        for part in parts:
            docnums.extend(part[0])
            weights.extend(part[1])
    values = [
        bytes(packed[a:b]) for _, _, packed, ends in parts if ends for a, b in pairwise((0, *ends))
    ]
    return docnums, weights, values or None


def _unsorted(numbers: array) -> bool:
    """Documents arrive in order (a merge numbers the merged ones after the new ones), but
    Whoosh's format requires it, so it is checked, at C speed."""
    return numbers.tolist() != sorted(numbers)


class Writer(SegmentWriter):
    """Whoosh's segment writer with searchkit's codec and posting pool, and a merge that
    copies postings a block at a time.

    Whoosh merges a segment (`add_reader`) one posting at a time: a hash lookup for each of
    its terms, then five method calls and a 5-tuple for each posting. Here the merged
    segment's term records are read in order and each term's postings a block at a time
    into the pool, and its join table a join at a time.

    A segment of a schema with `JoinTableField`s gets a join table (`JOINS_EXT`), written
    after Whoosh's files and before they are assembled into the segment's compound file."""

    def __init__(self, whoosh_index, **kwargs):
        kwargs.setdefault("codec", Codec())
        super().__init__(whoosh_index, **kwargs)
        # Before any document: Whoosh's own pool stays empty. Runs are spilled beside the
        # index (a FileStorage's folder), not in a RamStorage's.
        folder = getattr(self.storage, "folder", None)
        self.pool = TermPool(join_fields(self.schema), folder, SPILL_BYTES)

    def add_document(self, **fields):
        """Whoosh's `add_document`, with each field's postings given to the pool in one call
        (`TermPool.add_field`) instead of one `pool.add` call a posting."""
        self._check_state()
        perdocwriter, schema, docnum = self.perdocwriter, self.schema, self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is not None:
                    self._add_field(fields, fieldname, schema[fieldname], value, docboost)
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        if self.pool.spill_due():
            self.pool.spill()

    def _add_field(self, fields: dict, fieldname: str, field, value, docboost: float) -> None:
        """One field of `add_document`, as Whoosh's adds it."""
        docnum, perdocwriter = self.docnum, self.perdocwriter
        length, items = 0, ()
        if field.indexed:
            boost = self._field_boost(fields, fieldname, docboost)
            items = field.index(value)
            if field.separate_spelling():
                items = list(items)
            length = self.pool.add_field(fieldname, docnum, items, boost)
            if not field.scorable:
                length = 0
        if field.separate_spelling():
            # As Whoosh does, which gives them the value of the field's last posting.
            spellfield, last = field.spelling_fieldname(fieldname), items[-1][3] if items else None
            for word in field.spellable_words(value):
                self.pool.add((spellfield, word.encode("utf-8"), 0, 1, last))
        if field.vector:
            items = field.vector.word_values(value, field.analyzer, mode="index")
            items = sorted((text, weight, vbytes) for text, _, weight, vbytes in items)
            perdocwriter.add_vector_items(fieldname, field, items)
        stored_value = fields.get(f"_stored_{fieldname}", value)
        perdocwriter.add_field(fieldname, field, stored_value if field.stored else None, length)
        if field.column_type and stored_value is not None:
            column_value = field.to_column_value(stored_value)
            perdocwriter.add_column_value(fieldname, field.column_type, column_value)

    def _flush_segment(self):
        """Write the segment's files; its join table in a forked process meanwhile, when it
        is large (`TermPool.joins_beside`): the commit's one core writes the rest, while the
        other core, idle since the analysis ended, encodes the joins (~40% of a commit)."""
        if not self.pool.join_fields:
            self._flush_files()
            return
        pool = self.pool
        beside = forked.beside if pool.joins_beside() else nullcontext
        with beside(lambda: joins.encode(pool.join_postings())) as encoded:
            self._flush_files()
            table = encoded()
        handle = self.newsegment.create_file(self.storage, JOINS_EXT)
        try:
            handle.write(table)
        finally:
            handle.close()

    def _flush_files(self):
        """Write the segment's stored fields, columns, postings and term table."""
        if not isinstance(self.codec, Codec):  # another codec (Whoosh's tests)
            super()._flush_segment()
        else:
            self.perdocwriter.close()
            self.pool.write_postings(self.schema, self.fieldwriter)
            self.fieldwriter.close()

    def add_postings_to_pool(self, reader, startdoc, docmap):
        if not isinstance(reader, SegmentReader) or not isinstance(reader._terms, _TermsReader):
            return super().add_postings_to_pool(reader, startdoc, docmap)
        postfile = reader._terms._postfile
        for (fieldname, text), terminfo in reader._terms.items():
            if fieldname not in self.schema:
                continue
            matcher = reader.codec().postings_reader(
                postfile, terminfo, self.schema[fieldname].format
            )
            docnums, weights, values = _all_postings(matcher)
            docnums, weights, values = _renumbered(docnums, startdoc, docmap, weights, values)
            if docnums:
                self.pool.add_postings(fieldname, text, docnums, weights, values)
        if not self.pool.join_fields:
            return
        for fieldname, join, docnums, counts in join_table(reader).items():
            if fieldname not in self.pool.join_fields:
                continue
            docnums, counts = _renumbered(docnums, startdoc, docmap, counts)
            if docnums:
                self.pool.add_joins(fieldname, join.encode("utf-8"), docnums, counts)

    def _commit_toc(self, segments):
        """Whoosh's commit point, made durable and checksummed. Whoosh writes the new TOC to
        a temporary file and renames it to `_MAIN_<generation>.toc`, and the highest such
        name is the live index; it syncs nothing. Here the files of every live segment and
        the folder are synced first; then the TOC, and the checksums of it and of those files
        (`integrity.record_checksums`), before its rename; and the folder again before Whoosh
        deletes the files the previous TOC named (else a power cut could keep the deletions
        and lose the rename)."""
        from whoosh.filedb.filestore import FileStorage
        from whoosh.index import clean_files

        # Imported here: storage imports schema, which imports this module.
        from . import integrity
        from .storage import fsync_dir, fsync_file

        storage = self.storage
        if isinstance(storage, FileStorage):  # not a RamStorage (Whoosh's own tests)
            folder = Path(storage.folder)
            live = {segment.segment_id() for segment in segments}
            pattern = TOC._segment_pattern(self.indexname)
            files = {}
            for name in storage.list():
                match = pattern.match(name)
                if match and match.group(1) in live:
                    files[name] = folder / name
                    fsync_file(files[name])
            fsync_dir(folder)

            def before_rename(toc: Path, name: str) -> None:
                fsync_file(toc)
                integrity.record_checksums(folder, self.generation, {**files, name: toc})

            storage = _SyncedRenames(storage, before_rename)
        TOC(self.schema, segments, self.generation).write(storage, self.indexname)
        clean_files(self.storage, self.indexname, self.generation, segments)
        if isinstance(self.storage, FileStorage):
            integrity.remove_stale_records(Path(self.storage.folder), self.generation)


def _renumbered(docnums, startdoc: int, docmap: dict | None, *columns) -> tuple:
    """A merged segment's document numbers in the new segment, with `columns` (weights,
    values, counts) kept in step: shifted by `startdoc`, or mapped through `docmap`, which
    has no number for a deleted document, so its postings are left out."""
    if docmap is None:
        return [docnum + startdoc for docnum in docnums], *columns
    kept = [i for i, docnum in enumerate(docnums) if docnum in docmap]
    return [docmap[docnums[i]] for i in kept], *([column[i] for i in kept] for column in columns)


class _SyncedRenames:
    """A Whoosh storage for `TOC.write`: calls `before_rename(path, new_name)` on the file
    it renames, and syncs the folder after the rename."""

    def __init__(self, storage, before_rename):
        self._storage = storage
        self._before_rename = before_rename

    def create_file(self, name, **kwargs):
        return self._storage.create_file(name, **kwargs)

    def rename_file(self, old, new, safe=False):
        from .storage import fsync_dir

        self._before_rename(Path(self._storage._fpath(old)), new)
        self._storage.rename_file(old, new, safe)
        fsync_dir(self._storage.folder)


def _all_postings(matcher) -> tuple[list, list, list]:
    """A term's document numbers, weights and values, a block at a time."""
    if isinstance(matcher, InlineMatcher):
        ids, weights, values = matcher._ids, matcher._weights, matcher._values
        return list(ids), list(weights), list(values) or [None] * len(ids)
    docnums, weights, values = [], [], []
    while matcher.is_active():
        matcher._read_ids()
        matcher._read_weights()
        matcher._read_values()
        docnums.extend(matcher._ids)
        weights.extend(matcher._weights)
        # As Whoosh reads them, a value per posting (a value longer than its format's fixed
        # size, as Whoosh's spelling fields write, is sliced into more parts than postings).
        values.extend(matcher._values[: len(matcher._ids)])
        matcher._next_block()
    return docnums, weights, values


# The live segments other than the largest may hold up to 1/FOLD_RATIO of its posts before
# everything is merged into one segment. See `fold_into_largest`.
FOLD_RATIO = 8


def fold_into_largest(writer, segments: list) -> list:
    """searchkit's merge policy: at most two segments, the largest and one of recent posts.

    A query pays for each segment it reads (a term lookup in each: five segments cost twice
    the time of one on 2,515 posts), so Whoosh's `MERGE_SMALL`, which let 100 nightly
    updates pile up to 13 segments, made searches up to 2x slower than on a fresh build.
    Here every commit merges the segments other than the largest into its new one; when
    those hold 1/FOLD_RATIO of the largest's posts, or the largest has that share deleted,
    everything is merged. A commit then rewrites at most about 1/8 of the index, and a full
    merge comes about every time the index grows by an eighth.
    """
    if not segments:
        return []
    largest = max(segments, key=lambda segment: segment.doc_count_all())
    others = [segment for segment in segments if segment is not largest]
    recent = writer.docnum - writer.docbase + sum(segment.doc_count() for segment in others)
    base = largest.doc_count_all()
    # `optimize` (`Index.optimize`) asks for one segment: Whoosh only honours it without a
    # merge policy of the writer's own, which this is.
    crowded = recent * FOLD_RATIO >= base or largest.deleted_count() * FOLD_RATIO >= base
    if writer.optimize or crowded:
        merged = segments
    else:
        merged = others
    for segment in merged:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [segment for segment in segments if segment not in merged]


def open_writer(whoosh_index) -> Writer:
    """A Whoosh writer with searchkit's codec, posting pool and merge policy."""
    writer = Writer(whoosh_index)
    writer.mergetype = fold_into_largest
    return writer


# --- reading postings a block at a time -----------------------------------------------------


def read_documents(reader, fieldname: str, word: str) -> list[int]:
    """The documents of a term's postings in a segment, in document order, without the
    segment's deleted documents ([] when the segment lacks the term): what a filter needs,
    at C speed (a set of a word's documents built from its postings' pairs costs ~3x)."""
    return _read(reader, fieldname, word, weights=False)[0]


def read_frequencies(reader, fieldname: str, word: str) -> tuple[list[int], list[float]]:
    """`read_documents` and their weights (the term's frequencies: ints, as a block stores
    whole numbers, `blocks.documents_and_weights`), as two lists at nearly the speed of
    `read_documents`: (document, weight) pairs cost ~2x, and a best match looks up only a
    few documents' weights in a common word's (`scoring.BestMatchPostings`)."""
    return _read(reader, fieldname, word, weights=True)


# Postings kept per segment reader for one search (`forget_read`), in documents at most
# (~48 MB: two lists of ints).
READ_CACHE_SIZE = 1_000_000


def _read(reader, fieldname: str, word: str, weights: bool) -> tuple[list[int], list | None]:
    """A term's documents in a segment and, if `weights`, their weights (else None), without
    the segment's deleted documents. Shared, not to be changed: kept on the reader until
    `forget_read`, because a search reads a word's postings in more than one of its parts
    (a question's words are counted for the exact tier and scored for the best match)."""
    kept = reader.__dict__.setdefault("_searchkit_read", {})
    found = kept.get((fieldname, word))
    if found is None or (weights and found[1] is None):
        found = _read_anew(reader, fieldname, word, weights)
        size = reader.__dict__.get("_searchkit_read_size", 0) + len(found[0])
        if size > READ_CACHE_SIZE:
            kept.clear()
            size = len(found[0])
        kept[fieldname, word] = found
        reader.__dict__["_searchkit_read_size"] = size
    return found


def forget_read(reader) -> None:
    """Drop the postings `_read` kept on a segment's reader, and the term records its term
    table reader kept (`_TermsReader.record`): they serve one search."""
    reader.__dict__.pop("_searchkit_read", None)
    reader.__dict__.pop("_searchkit_read_size", None)
    if _own_terms(reader):
        reader._terms.forget_records()


def _read_anew(reader, fieldname: str, word: str, weights: bool) -> tuple[list[int], list | None]:
    record = _record_of(reader, fieldname, word)
    if record is None:
        pairs = [] if _own_terms(reader) else _matcher_postings(reader, fieldname, word)
        return [doc for doc, _ in pairs], [weight for _, weight in pairs]
    offset, docs, inlined = _postings_place(record)
    if offset < 0:
        found = None
        if weights:
            found = inlined if inlined else [1] * len(docs)
    else:
        docs, found = [], [] if weights else None
        for block, header in _blocks(reader._terms._postfile, offset):
            block_docs, block_weights = blocks.documents_and_weights(block, header, weights)
            docs += block_docs
            if weights:
                found += block_weights
    hidden = reader.deleted_docs_set
    if hidden:
        kept = [i for i, doc in enumerate(docs) if doc not in hidden]
        docs = [docs[i] for i in kept]
        found = [found[i] for i in kept] if weights else None
    return docs, found


def _own_terms(reader) -> bool:
    """Whether `reader` is a segment's, with searchkit's term table."""
    return type(reader) is SegmentReader and type(reader._terms) is _TermsReader


def _record_of(reader, fieldname: str, word: str) -> bytes | None:
    """The term's record in a segment's term table; None when the segment lacks the term or
    `reader` is no segment's reader with searchkit's term table (`_own_terms`)."""
    if not _own_terms(reader):
        return None
    try:  # one lookup, not `in` and then `[]` (each ~0.35 µs; a keyword looks up ~20 terms)
        field = reader.schema[fieldname]
    except KeyError:
        return None
    if reader.is_closed:
        raise ReaderClosed
    return reader._terms.record(fieldname, field.to_bytes(word))


def _postings_place(record: bytes) -> tuple[int, list[int], list[int] | None]:
    """Where a term record says its postings are, read straight from it for the search path:
    (-1, its documents, their weights or None when all are 1) when they are inlined in the
    record, else (the offset of its blocks in the postings file, [], None). Most words a
    keyword reads have a few inlined postings, for which a `W3TermInfo` (`_term_info`) took
    ~4.8 µs of a 13 µs term read; Whoosh's own records still go through it."""
    if record[:1] != _WHOOSH:
        text = str(record, "utf-8", "surrogatepass")
        kind = ord(text[0])
        if kind == _BLOCKS:
            numbers = joins.from_chars(text[3:])
            return (numbers[5] << _OFFSET_BITS) + numbers[6], [], None
        count = ord(text[3])
        end = 4 + count * (2 if kind & _WEIGHTS else 1)
        if joins.ESCAPE not in text[4:end]:  # else a gap of more than 1.1 M documents
            documents = list(accumulate(map(ord, text[4 : 4 + count]), initial=-1))
            del documents[0]
            weights = list(map(ord, text[4 + count : end])) if kind & _WEIGHTS else None
            return -1, documents, weights
    info = _term_info(record)
    if not info.is_inlined():
        return info.extent()[0], [], None
    ids, weights, _ = info.inlined_postings()
    return -1, list(ids), list(weights)


def _blocks(postfile, offset: int) -> Iterator[tuple[bytes, blocks.Header]]:
    """Each block of a term's postings (its bytes after its length) and its header, laid
    out as `blocks.py` says: a tag, then for each block its length (negative for the last)
    and the block. Without Whoosh's matcher, which costs ~20 µs a term more (most words
    have one block, and a keyword reads a dozen)."""
    position = offset + len(WHOOSH3_HEADER_MAGIC)
    while True:
        length, header = _block_header(postfile, position)
        yield postfile.get(position + blocks.LENGTH.size, abs(length)), header
        if length < 0:
            return
        position += blocks.LENGTH.size + abs(length)


def _block_header(postfile, position: int) -> tuple[int, blocks.Header]:
    """The length (negative for a term's last block) and the header of the block at
    `position` of a postings file."""
    raw = postfile.get(position, blocks.LENGTH.size + blocks.HEADER.size)
    return blocks.LENGTH.unpack_from(raw)[0], blocks.header_of(raw[blocks.LENGTH.size :])


def _whoosh_block_at(postfile, position: int) -> tuple[int, tuple, io.BytesIO]:
    """A block in Whoosh's own layout (a term vector's): its length (negative for a term's
    last block), its pickled header (count, last id, max weight, compression, shortest and
    longest length), and its bytes as a stream positioned after the header, at its data."""
    length = blocks.LENGTH.unpack(postfile.get(position, blocks.LENGTH.size))[0]
    block = io.BytesIO(postfile.get(position + blocks.LENGTH.size, abs(length)))
    return length, pickle.load(block), block


def _matcher_postings(reader, fieldname: str, word: str) -> list[tuple[int, float]]:
    """A term's (document, weight) pairs through Whoosh's matcher API, for a reader of
    another kind."""
    try:
        matcher = reader.postings(fieldname, word)
    except TermNotFound:
        return []
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight()))
        matcher.next()
    return found


def read_joins(reader, fieldname: str, join: str) -> tuple[list[int], list[int]]:
    """The documents of a join's postings in a segment's join table, in document order,
    without the segment's deleted documents, and their counts ([], [] when no document has
    it), as `read_frequencies` gives a word's. Raises `joins.DamagedJoinTable` when the
    segment has no readable join table."""
    return _join_postings(reader, fieldname, join)


def read_join_documents(reader, fieldname: str, join: str) -> list[int]:
    """The documents of `read_joins`, without their counts."""
    return _join_postings(reader, fieldname, join)[0]


def _join_postings(reader, fieldname: str, join: str) -> tuple[list[int], list[int]]:
    if isinstance(reader, EmptyReader):  # an index without segments
        return [], []
    documents, counts = join_table(reader).postings(fieldname, join)
    if documents and reader.has_deletions():
        hidden = set(reader.segment().deleted_docs())
        kept = [i for i, doc in enumerate(documents) if doc not in hidden]
        return [documents[i] for i in kept], [counts[i] for i in kept]
    return documents, counts


def check_joins(reader) -> None:
    """Decode the whole join table of a segment, when its schema has join fields. Raises
    `joins.DamagedJoinTable` when it is missing or damaged."""
    if join_fields(reader.schema):
        join_table(reader).check(reader.doc_count_all())


def check_terms(reader) -> None:
    """Decode every term record of a segment's term table, as a search would, and check that
    each names documents of the segment and postings inside its postings file. Raises
    `terms.DamagedTermTable` when the table is damaged."""
    documents = reader.doc_count_all()
    storage, segment = reader.storage(), reader.segment()
    postings = storage.file_length(segment.make_filename(W3Codec.POSTS_EXT))
    for field, key, record in reader._terms._table.check():
        try:
            info = _term_info(record)
            first, last, count = info.min_id(), info.max_id(), info.doc_frequency()
            if not 0 <= first <= last < documents or count < 1:
                raise ValueError(f"documents {first}..{last} of {documents}")
            if info.is_inlined():
                ids = info.inlined_postings()[0]
                if len(ids) != count or list(ids) != sorted(set(ids)):
                    raise ValueError("its inlined documents are not in order")
            elif info._offset + info._length > postings:
                raise ValueError("its postings lie outside the postings file")
        except (ValueError, IndexError, TypeError) as error:
            message = f"damaged term table: {field} {key!r}: {error}"
            raise terms.DamagedTermTable(message) from None


def join_table(reader) -> joins.JoinTable:
    """A segment reader's join table, its deleted documents included (opened once a
    reader). Raises `joins.DamagedJoinTable` when the segment has no readable one."""
    return reader._terms.join_table(reader.storage(), reader.segment())


# `read_positions` tests each document a word has for the documents wanted when it has
# fewer than this many times as many, at C speed, else looks each wanted one up (a binary
# search in Python costs ~10x a set lookup).
HAVING_WALKED = 10


def read_positions(reader, fieldname: str, word: str, docs: list[int]) -> dict[int, set[int]]:
    """{document: positions of `word`} for those of `docs` (sorted live documents of the
    segment) that have it: a block at a time, decoding only the wanted postings (skipping
    one posting at a time costs ~10x). When this search has read the word's documents
    (`_read`), only those of `docs` it has are looked for: a text's proximity reads the
    positions of every word containing it (新: 762 words), most of them in none of `docs`."""
    kept = reader.__dict__.get("_searchkit_read", {}).get((fieldname, word))
    if kept is not None:
        having = kept[0]
        if len(having) < HAVING_WALKED * len(docs):  # walked at C speed
            docs = sorted(set(docs).intersection(having))
        else:  # a few looked up
            docs = [
                doc
                for doc in docs
                if (i := bisect_left(having, doc)) < len(having) and having[i] == doc
            ]
        if not docs:
            return {}
    record = _record_of(reader, fieldname, word)
    if record is None:
        return {} if _own_terms(reader) else _matcher_positions(reader, fieldname, word, docs)
    decode = reader.schema[fieldname].format.decoder("positions")
    info = _term_info(record)
    if info.is_inlined():
        ids, _, values = info.inlined_postings()
        packed = _unpack(values[0]) if values and isinstance(values[0], str) else values
        postings = [(ids[-1], lambda: ids, lambda: packed)]
    else:  # each block's documents and values decoded only if wanted (the parts apart)
        postings = (
            (
                header.last,
                partial(blocks.documents, block, header),
                partial(blocks.values, block, header),
            )
            for block, header in _blocks(reader._terms._postfile, info.extent()[0])
        )
    wanted, following = set(docs), 0  # docs[following]: the first not yet passed
    found = {}
    for top, read_ids, read_values in postings:
        if following == len(docs):
            break
        if docs[following] > top:  # no wanted document in this block: not decoded
            continue
        end = bisect_right(docs, top, following)
        ids, block_docs = read_ids(), docs[following:end]
        if 4 * len(block_docs) < len(ids):  # a few: look them up in the sorted ids
            hits = [
                i for doc in block_docs if (i := bisect_left(ids, doc)) < len(ids) and ids[i] == doc
            ]
        else:  # many: test every id (break-even ~30 of 128, measured)
            hits = [i for i, doc in enumerate(ids) if doc in wanted]
        if hits:
            values = read_values()
            found.update((ids[i], set(decode(values[i]))) for i in hits)
        following = end
    return found


def _matcher_positions(reader, fieldname: str, word: str, docs: list[int]) -> dict[int, set[int]]:
    """`read_positions` through Whoosh's matcher API, for a reader of another kind."""
    try:
        matcher = reader.postings(fieldname, word)
    except TermNotFound:
        return {}
    wanted, found = set(docs), {}
    while matcher.is_active():
        if matcher.id() in wanted:
            found[matcher.id()] = set(matcher.value_as("positions"))
        matcher.next()
    return found


# --- reading a column whole -------------------------------------------------------------------

# Whoosh keeps a field's length in a document as one byte (`length_to_byte`).
_BYTE_LENGTHS = [byte_to_length(byte) for byte in range(256)]


def field_length_column(reader, fieldname: str, default: int = 1) -> list[int]:
    """Every document's length of `fieldname` in a segment, by document number (0 for none;
    `default` for all when the segment has no lengths of it), as `reader.doc_field_length`
    reads them one at a time (~5 µs each: 0.1 s for the first search of 20,000 documents),
    read from the length column in one piece (~1 ms)."""
    count = reader.doc_count_all()
    perdoc = reader._perdoc
    if not perdoc.has_column(_lenfield(fieldname)):
        return [default] * count
    column = perdoc.column_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    lengths = column._dbfile.get(column._basepos, column._count)  # one byte a document
    return [_BYTE_LENGTHS[byte] for byte in lengths] + [0] * (count - len(lengths))


def bytes_column(reader, fieldname: str) -> list[bytes]:
    """Every document's value of a `VarBytesColumn` field in a segment, by document number
    (b"" for none): what iterating `reader.column_reader(fieldname)` gives, one read of the
    values instead of one per document (50 ms for 20,000 documents, here ~3 ms)."""
    if not reader.has_column(fieldname):
        return [b""] * reader.doc_count_all()
    column = reader.column_reader(fieldname, translate=False)
    ends = list(accumulate(column._lengths))
    values = column._dbfile.get(column._basepos, ends[-1] if ends else 0)
    return [values[end - length : end] for end, length in zip(ends, column._lengths, strict=True)]


def stored_head(reader, docnum: int) -> tuple[dict, stored.StoredText | str | None]:
    """A document's stored fields but its body, and its body: a `stored.StoredText` to
    decompress when wanted (`_PerDocReader.stored_head`), or the text itself from a reader
    that is not a searchkit segment's. `reader`: a segment's or Whoosh's multi-reader."""
    if type(reader) is MultiReader:
        segment, docnum = reader._segment_and_docnum(docnum)
        reader = reader.readers[segment]
    if reader.is_closed:
        raise ReaderClosed
    perdoc = getattr(reader, "_perdoc", None)
    if type(perdoc) is _PerDocReader:
        return perdoc.stored_head(docnum)
    fields = dict(reader.stored_fields(docnum))
    return fields, fields.pop(stored.BODY, None)


def stored_text(reader, docnum: int, fieldname: str) -> str:
    """A document's stored text in `fieldname` ("" for none): its body is inflated only when
    that is the field asked for (`stored_head`)."""
    fields, body = stored_head(reader, docnum)
    if fieldname == stored.BODY and body is not None:
        return body if isinstance(body, str) else body.text()
    return fields.get(fieldname) or ""


# --- other private attributes ----------------------------------------------------------------


def set_total(results, total: int) -> None:
    """Give Whoosh `Results` made without a collector (`searching._top`) their number of
    matches: `len(results)` otherwise asks a collector, which such results lack."""
    results._total = total


def finish_writer(writer) -> None:
    """Close a Whoosh writer's files and release its write lock without committing: what
    `cancel()` does after closing the new segment, for when that close failed."""
    writer._finish()


def live_toc(whoosh_index) -> TOC:
    """The TOC (segments, generation) that the Whoosh index's folder holds now, read afresh."""
    return whoosh_index._read_toc()


def latest_generation(storage, indexname: str) -> int:
    """The highest generation of the `_<indexname>_<N>.toc` files in a Whoosh storage (the
    live one), or -1 when there is none."""
    return TOC._latest_generation(storage, indexname)
