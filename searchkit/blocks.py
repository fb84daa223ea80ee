"""The postings block (index format 7): how a term's postings that its term record does not
hold (`codec.INLINE_POSTINGS`) lie in a segment's postings file, up to 128 to a block. No
Whoosh here: `codec.py` writes blocks for Whoosh's postings writer and reads them for
Whoosh's matchers and for the search path.

Whoosh's `W3` block pickles (gaps between documents, weights, values) as one tuple and
compresses it whole, so a reader that wants only the documents and their frequencies, as
every scored word and every count does, inflated and unpickled every position too: ~160-200
ns a posting on the news corpus, half of a headline's first run at 60,000 articles. Here the
documents and weights are arrays, compressed together, and the values (a word's positions)
are compressed apart, read only when asked for; the header is a struct, not a pickle.

A term's postings are Whoosh's 4-byte tag, then its blocks, each::

    length    a big-endian int, as Whoosh's: the header's and both parts' bytes, negative
              for the term's last block
    header    `HEADER`, little-endian: count, first and last document, largest weight,
              compression level (0: none), shortest and longest length (Whoosh's length
              bytes), the typecodes of the gaps and the weights, the kind of the values,
              and the size of the first part as stored
    part 1    the gaps between the documents after the first (`array`, the smallest of
              B/H/I that holds them), then the weights (`NO_WEIGHTS` when every weight is
              1, else B/H/I for whole numbers, f for others), raw deflate if compressed
    part 2    the values (`PACKED`: NUL between them; `PICKLED`: Whoosh's own minified
              values; `NO_VALUES`), raw deflate if compressed and not empty
"""

from __future__ import annotations

import pickle
import struct
import sys
import zlib
from array import array
from collections.abc import Sequence
from itertools import accumulate
from operator import sub
from typing import NamedTuple

LENGTH = struct.Struct("!i")  # Whoosh's `write_int`
HEADER = struct.Struct("<IIIdBBBcccI")
NO_WEIGHTS = b"-"  # every weight is 1.0: none stored
PACKED, PICKLED, NO_VALUES = b"0", b"p", b"-"
# The typecodes for whole numbers, smallest first: 1, 2 and 4 bytes wherever a C int has 32
# bits (every platform CPython supports), so the files read the same on each.
_WHOLE_CODES = "BHI"
_BIG_ENDIAN = sys.byteorder == "big"
_RAW_DEFLATE = -15  # zlib's wbits for a deflate stream without zlib's header and checksum


class Header(NamedTuple):
    count: int
    first: int
    last: int
    max_weight: float
    compression: int
    shortest: int  # Whoosh's length bytes (`length_to_byte`)
    longest: int
    id_code: bytes
    weight_code: bytes
    value_code: bytes
    first_part: int  # the size of part 1 as stored


def encode(
    ids: Sequence[int],
    weights: Sequence[float],
    values: bytes | None,
    value_code: bytes,
    stats: tuple[float, int, int],
    compression: int,
    last: bool,
) -> bytes:
    """A block of postings: documents `ids` ascending, their `weights`, and the block's
    values already joined (`PACKED`, `PICKLED`; None for `NO_VALUES`); `stats` is (the
    largest weight, the shortest and longest length bytes). With its length first.

    >>> block = encode([3, 9], [1.0, 2.0], b"a\\0b", PACKED, (2.0, 1, 4), 1, last=True)
    >>> header = header_of(block[LENGTH.size :])
    >>> documents_and_weights(block[LENGTH.size :], header)
    ([3, 9], b'\\x01\\x02')
    >>> values(block[LENGTH.size :], header)
    [b'a', b'b']
    """
    id_code, gaps = _smallest(list(map(sub, ids[1:], ids[:-1])))
    weight_code, numbers = _weight_array(weights)
    first = gaps + numbers
    rest = values or b""
    if compression:
        first = _deflate(first, compression)
        rest = _deflate(rest, compression) if rest else rest
    max_weight, shortest, longest = stats
    header = HEADER.pack(
        len(ids),
        ids[0],
        ids[-1],
        max_weight,
        compression,
        shortest,
        longest,
        id_code.encode("ascii"),
        weight_code,
        value_code if values is not None else NO_VALUES,
        len(first),
    )
    length = HEADER.size + len(first) + len(rest)
    return b"".join([LENGTH.pack(-length if last else length), header, first, rest])


def header_of(block: bytes) -> Header:
    """The header at the start of `block` (a block's bytes after its length)."""
    return Header._make(HEADER.unpack_from(block))


def documents(block: bytes, header: Header) -> list[int]:
    """The block's documents (`documents_and_weights` without the weights)."""
    return documents_and_weights(block, header, weights=False)[0]


def documents_and_weights(
    block: bytes, header: Header, weights: bool = True
) -> tuple[list[int], Sequence[float] | None]:
    """The block's documents (a list) and, if `weights`, their weights (else None) as
    stored: whole numbers as a bytes object (a sequence of ints) or an array of ints, others
    as float32s. Not Whoosh's float32 array for every block: converting a block's whole
    numbers to one costs ~6 µs, most of the rest of decoding it. `block`: its bytes after
    its length, or at least its header and part 1."""
    first = block[HEADER.size : HEADER.size + header.first_part]
    if header.compression:
        first = zlib.decompress(first, _RAW_DEFLATE)
    gaps = _array(header.id_code, first, 0, header.count - 1)
    # `accumulate` at C speed (Whoosh's reader adds the gaps up in a Python generator,
    # `delta_decode`: ~1.4 µs a document, 9 ms of the first run of ＧＤＰ).
    docs = list(accumulate(gaps, initial=header.first))
    if not weights:
        return docs, None
    if header.weight_code == NO_WEIGHTS:
        return docs, b"\1" * header.count
    start = len(gaps) * gaps.itemsize
    if header.weight_code == b"B":
        return docs, first[start : start + header.count]
    return docs, _array(header.weight_code, first, start, header.count)


def values(block: bytes, header: Header):
    """The block's values as stored: for `PACKED`, one bytes object each; for `PICKLED`,
    what Whoosh's writer minified; for `NO_VALUES`, None."""
    if header.value_code == NO_VALUES:
        return None
    rest = block[HEADER.size + header.first_part :]
    if header.compression and rest:
        rest = zlib.decompress(rest, _RAW_DEFLATE)
    if header.value_code == PACKED:
        return rest.split(b"\0")
    return pickle.loads(rest)


def _smallest(numbers: list[int]) -> tuple[str, bytes]:
    """The typecode of the smallest array of B/H/I that holds `numbers` (non-negative, below
    2**32), and that array's bytes, little-endian."""
    top = max(numbers, default=0)
    code = next(code for code in _WHOLE_CODES if top < 1 << (8 * array(code).itemsize))
    return code, _bytes(array(code, numbers))


def _weight_array(weights: Sequence[float]) -> tuple[bytes, bytes]:
    """The typecode and bytes of the weights: none when all are 1.0 (searchkit's are
    frequencies, most of them 1 in news text), whole numbers in the smallest array, else
    float32 (what Whoosh's reader turns them into)."""
    if all(weight == 1.0 for weight in weights):
        return NO_WEIGHTS, b""
    if all(float(weight).is_integer() and 0 <= weight < 1 << 32 for weight in weights):
        code, data = _smallest(list(map(int, weights)))
        return code.encode("ascii"), data
    return b"f", _bytes(array("f", weights))


def _bytes(numbers: array) -> bytes:
    if _BIG_ENDIAN:
        numbers = array(numbers.typecode, numbers)
        numbers.byteswap()
    return numbers.tobytes()


def _array(code: bytes, data: bytes, start: int, count: int) -> array:
    """`count` numbers of typecode `code` from `data` at `start`, little-endian."""
    numbers = array(code.decode("ascii"))
    numbers.frombytes(data[start : start + count * numbers.itemsize])
    if _BIG_ENDIAN:
        numbers.byteswap()
    return numbers


def _deflate(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, _RAW_DEFLATE)
    return compressor.compress(data) + compressor.flush()
