"""The postings block format (`searchkit.blocks`): what is encoded decodes the same, in each
of its kinds of documents, weights and values, compressed or not."""

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from searchkit import blocks


def _decoded(block: bytes):
    """(length, header, documents, weights, values) of an encoded block."""
    length = blocks.LENGTH.unpack_from(block)[0]
    body = block[blocks.LENGTH.size :]
    assert abs(length) == len(body)
    header = blocks.header_of(body)
    docs, weights = blocks.documents_and_weights(body, header)
    assert blocks.documents(body, header) == docs
    assert blocks.documents_and_weights(body, header, weights=False) == (docs, None)
    return length, header, docs, weights, blocks.values(body, header)


@given(
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=128, unique=True),
    st.sampled_from(["ones", "whole", "large", "fractions"]),
    st.integers(0, 9),
    st.booleans(),
)
def test_a_block_decodes_to_what_was_encoded(ids, kind, compression, last):
    ids.sort()
    weights = {
        "ones": [1.0] * len(ids),
        "whole": [float(1 + i % 7) for i in range(len(ids))],
        "large": [float(70_000 + i) for i in range(len(ids))],
        "fractions": [0.5 + i for i in range(len(ids))],
    }[kind]
    values = [f"v{i}".encode() for i in range(len(ids))]
    stats = (max(weights), 1, 200)
    block = blocks.encode(ids, weights, b"\0".join(values), blocks.PACKED, stats, compression, last)
    length, header, docs, found, found_values = _decoded(block)
    assert (length < 0) == last
    assert docs == ids
    assert list(found) == weights  # whole numbers as ints
    assert found_values == values
    assert (header.count, header.first, header.last) == (len(ids), ids[0], ids[-1])
    assert (header.max_weight, header.shortest, header.longest) == stats
    assert header.compression == compression


@pytest.mark.parametrize(
    ("gap", "code"), [(255, b"B"), (256, b"H"), (65_535, b"H"), (65_536, b"I")]
)
def test_document_gaps_take_the_smallest_array_that_holds_them(gap, code):
    block = blocks.encode([5, 5 + gap], [1.0, 1.0], None, blocks.PACKED, (1.0, 1, 1), 0, True)
    _, header, docs, weights, values = _decoded(block)
    assert header.id_code == code
    assert docs == [5, 5 + gap]
    assert header.weight_code == blocks.NO_WEIGHTS and list(weights) == [1, 1]
    assert header.value_code == blocks.NO_VALUES and values is None


def test_positions_are_stored_apart_from_documents_and_counts():
    """Documents and counts decode from the header and part 1 alone: a reader that wants
    no positions never inflates them."""
    ids, positions = list(range(0, 256, 2)), [bytes([1 + i % 100]) * 20 for i in range(128)]
    block = blocks.encode(
        ids, [2.0] * 128, b"\0".join(positions), blocks.PACKED, (2.0, 1, 9), 3, False
    )
    body = block[blocks.LENGTH.size :]
    header = blocks.header_of(body)
    first_part = body[: blocks.HEADER.size + header.first_part]
    assert blocks.documents_and_weights(first_part, header) == (ids, bytes([2]) * 128)
    assert blocks.values(body, header) == positions


def test_other_formats_values_are_whoosh_minified_pickles():
    minified = (b"\x00\x01", b"")
    block = blocks.encode(
        [1, 2], [1.0, 3.0], pickle.dumps(minified, 2), blocks.PICKLED, (3.0, 1, 1), 1, True
    )
    _, header, _, _, values = _decoded(block)
    assert header.value_code == blocks.PICKLED
    assert values == minified
