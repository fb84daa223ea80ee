"""The term table (`searchkit.terms`) and the term records the codec keeps in it: what is
written reads back, odd keys included; an index's terms, through commits, deletions and
merges, read the same through Whoosh's public API as by brute force from its posts; a
damaged table is found by `check`."""

from __future__ import annotations

import io
from collections import Counter
from itertools import accumulate

import pytest
from corpus import FINEWS
from hypothesis import given, settings
from hypothesis import strategies as st
from segments import damaged_checks
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.index import open_dir
from whoosh.util.numeric import byte_to_length, length_to_byte

from searchkit import Index, load_posts
from searchkit.analysis import Analyzer
from searchkit.codec import (
    TERMS_EXT,
    _pack,
    _postings_place,
    _term_info,
    _term_record,
    read_frequencies,
)
from searchkit.storage import read_pointer
from searchkit.terms import BLOCK_TERMS, DamagedTermTable, TermTable, TermTableWriter

# Keys as Whoosh's fields make them, and odd ones: empty, bytes that are no UTF-8 (an ID or a
# numeric field's), longer than a block's one-byte shared prefix and than its 2-byte offsets,
# and many sharing long prefixes.
KEYS = (
    st.binary(max_size=12)
    | st.text(alphabet="央行降准息预", max_size=6).map(str.encode)
    | st.integers(0, 400).map(lambda n: b"xwlb-2024-01-0" + str(n).encode())
    | st.sampled_from([b"", b"\xff\xfe\x00", b"k" * 300, b"k" * 300 + b"z", b"L" * 70_000])
)
RECORDS = st.binary(max_size=40) | st.sampled_from([b"r" * 70_000])
TABLES = st.dictionaries(
    st.sampled_from(["body", "id", "title", "date"]),
    st.dictionaries(KEYS, RECORDS, max_size=3 * BLOCK_TERMS + 3),
)


def written(tables: dict[str, dict[bytes, bytes]]) -> bytes:
    handle = io.BytesIO()
    writer = TermTableWriter(handle)
    for field in sorted(tables):
        for key in sorted(tables[field]):
            writer.add(field, key, tables[field][key])
    writer.finish()
    return handle.getvalue()


@settings(max_examples=150, deadline=None)
@given(tables=TABLES, probes=st.lists(KEYS, max_size=10))
def test_a_table_reads_back_every_term_and_no_other(tables, probes):
    table = TermTable(written(tables))
    expected = [
        (field, key, tables[field][key])
        for field in sorted(tables)
        for key in sorted(tables[field])
    ]
    assert list(table.items()) == expected
    assert list(table.check()) == expected
    assert table.fields() == [field for field in sorted(tables) if tables[field]]
    for field, key, record in expected:
        assert table.get(field, key) == record
    for key in probes:
        for field in ("body", "id", "tags"):
            assert table.get(field, key) == tables.get(field, {}).get(key)
            after = [item for item in expected if (item[0], item[1]) >= (field, key)]
            from_key = list(table.items_from(field, key))
            assert from_key == (after if field in table.fields() else [])


def test_terms_go_in_order_and_a_field_at_a_time():
    writer = TermTableWriter(io.BytesIO())
    writer.add("body", b"b", b"")
    with pytest.raises(ValueError, match="ascend"):
        writer.add("body", b"a", b"")
    with pytest.raises(ValueError, match="ascend"):
        writer.add("body", b"b", b"")
    writer.add("id", b"a", b"")
    with pytest.raises(ValueError, match="together"):
        writer.add("body", b"c", b"")


def test_bytes_that_are_no_term_table_are_refused():
    with pytest.raises(DamagedTermTable):
        TermTable(b"PK\x03\x04 not a term table")
    data = written({"body": {f"词{n}".encode(): b"r" for n in range(40)}})
    with pytest.raises(DamagedTermTable):
        TermTable(data[:-3])
    damaged = bytearray(data)
    damaged[4] = 0  # the first block's term count
    with pytest.raises(DamagedTermTable):
        list(TermTable(bytes(damaged)).check())


@pytest.mark.parametrize(
    ("offset", "value"),
    [(4, 0), (5, 3), (4, BLOCK_TERMS - 1), (4 + 2 + BLOCK_TERMS, 0)],
    ids=["no terms", "no offset width", "a term fewer", "offsets that do not add up"],
)
def test_a_lookup_in_a_damaged_block_is_refused(offset, value):
    data = written({"body": {f"词{n}".encode(): b"r" for n in range(40)}})
    damaged = bytearray(data)
    damaged[offset] = value  # in the first block: its term count, its offsets' width, ...
    with pytest.raises(DamagedTermTable):
        TermTable(bytes(damaged)).get("body", "词1".encode())
    assert TermTable(bytes(damaged)).get("body", "词7".encode()) == b"r"  # another block


# --- term records -----------------------------------------------------------------------------


def inlined(ids, weights, values) -> W3TermInfo:
    info = W3TermInfo(weight=sum(weights), df=len(ids), minlength=3, maxlength=90)
    info._maxweight, info._minid, info._maxid = max(weights), ids[0], ids[-1]
    info.set_inlined(ids, weights, values)
    return info


def stats(info: W3TermInfo) -> tuple:
    """What a term record keeps; lengths as Whoosh keeps them, in one byte."""
    return (
        info.weight(),
        info.doc_frequency(),
        byte_to_length(length_to_byte(info.min_length())),
        byte_to_length(length_to_byte(info.max_length())),
        info.max_weight(),
        info.min_id(),
        info.max_id(),
        info.is_inlined() and info.inlined_postings(),
        not info.is_inlined() and info.extent(),
    )


@pytest.mark.parametrize(
    "info",
    [
        inlined((7,), (1,), ()),  # an ID field's term
        inlined((0, 5, 3_000_000), (2, 1, 7), (_pack([b"\x01", b"\x02\x05", b"\x03"]),)),
        inlined((4, 1_200_000, 5_000_000), (1, 1, 1), ()),  # gaps past one character
        inlined((1, 2), (1.5, 2.0), ()),  # fractional weights: Whoosh's own record
        inlined((1, 2), (1, 1), (b"v1", b"v2")),  # another format's values: Whoosh's own
    ],
)
def test_an_inlined_term_record_reads_back(info):
    record = _term_record(info)
    assert stats(_term_info(record)) == stats(info)


@pytest.mark.parametrize("offset", [0, 1_048_575, 1_048_576, 5_000_000_000])
def test_a_block_term_record_reads_back(offset):
    info = W3TermInfo(weight=3000.0, df=1500, minlength=1, maxlength=4000, maxweight=12.0)
    info._minid, info._maxid = 3, 1_500_000
    info.set_extent(offset, 70_000)
    record = _term_record(info)
    assert stats(_term_info(record)) == stats(info)
    assert len(record) < 32  # Whoosh's: 40


def place(info: W3TermInfo) -> tuple:
    """`_postings_place` of inlined postings as `W3TermInfo` says it."""
    assert info.is_inlined()
    ids, weights, _ = info.inlined_postings()
    return -1, list(ids), list(map(float, weights))


# Inlined postings: gaps within a character and past it, weights of 1, whole or fractional
# (Whoosh's own record), with positions or without.
INLINED = st.builds(
    lambda gaps, weights, positions: inlined(
        tuple(accumulate(gaps, initial=-1))[1:],
        tuple(weights[: len(gaps)]) + (1,) * (len(gaps) - len(weights)),
        (_pack([b"\x01"] * len(gaps)),) if positions else (),
    ),
    st.lists(st.integers(1, 20) | st.integers(1_000_000, 3_000_000), min_size=1, max_size=16),
    st.lists(st.integers(1, 3) | st.sampled_from([1.5, 70_000]), max_size=16),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(info=INLINED, offset=st.integers(0, 5_000_000_000), weight=st.sampled_from([9.0, 9.5]))
def test_where_a_record_says_its_postings_are_is_what_its_term_info_says(info, offset, weight):
    """The search path's reading of a record (`_postings_place`) against `_term_info`'s, of
    inlined postings and of blocks, in searchkit's records and Whoosh's (a weight of 9.5)."""
    offset_place, documents, weights = _postings_place(_term_record(info))
    if weights is None:
        weights = [1] * len(documents)
    found = (offset_place, documents, list(map(float, weights)))
    assert found == place(_term_info(_term_record(info)))
    blocks = W3TermInfo(weight=weight, df=5, minlength=1, maxlength=9, maxweight=2.0)
    blocks._minid, blocks._maxid = 3, 90
    blocks.set_extent(offset, 300)
    assert _postings_place(_term_record(blocks)) == (offset, [], None)


# --- in an index ------------------------------------------------------------------------------


def brute_force_terms(leaf) -> dict[tuple[str, str], Counter]:
    """{(field, word): {document: count}} of a segment, deleted documents included, from
    its stored posts analyzed again."""
    analyzer, found = Analyzer(), {}
    for docnum in range(leaf.doc_count_all()):
        fields = leaf.stored_fields(docnum)
        found[("id", fields["id"])] = Counter({docnum: 1})
        for field in ("title", "body"):
            for word, positions in analyzer.postings(fields[field])[0].items():
                found.setdefault((field, word), Counter())[docnum] = len(positions)
    return found


@pytest.mark.needs_corpus
def test_a_segmented_index_reads_through_whoosh_as_its_posts_say(tmp_path):
    posts = list(load_posts(FINEWS))[:160]
    path = tmp_path / "index"
    with Index.create(path) as index:  # two segments; the largest keeps deleted documents
        index.add(posts[:120])
        index.add(posts[120:135])
        index.add(posts[135:])
        assert index.delete([post.id for post in posts[:135:9]]) == 15
    whoosh_index = open_dir(str(path / read_pointer(path)))
    with whoosh_index.reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert len(leaves) == 2 and any(leaf.has_deletions() for leaf in leaves)
        for leaf in leaves:
            expected = brute_force_terms(leaf)
            assert {term for term in leaf.all_terms() if term[0] in ("id", "title", "body")} == {
                (field, word.encode()) for field, word in expected
            }
            deleted = {doc for doc in range(leaf.doc_count_all()) if leaf.is_deleted(doc)}
            for (field, word), counts in expected.items():
                info = leaf.term_info(field, word)
                assert leaf.doc_frequency(field, word) == info.doc_frequency() == len(counts)
                assert leaf.frequency(field, word) == info.weight() == sum(counts.values())
                assert (info.min_id(), info.max_id()) == (min(counts), max(counts))
                live = sorted((doc, float(n)) for doc, n in counts.items() if doc not in deleted)
                if field != "id":
                    assert list(zip(*read_frequencies(leaf, field, word), strict=True)) == live
                public = leaf.postings(field, word)
                assert list(public.all_ids()) == [doc for doc, _ in live]
            for prefix in ("中", "经济", "xwlb"):
                words = sorted(w for f, w in expected if f == "body" and w.startswith(prefix))
                assert list(leaf.expand_prefix("body", prefix)) == [w.encode() for w in words]
            assert leaf.doc_frequency("body", "没有这个词语") == 0
            assert ("body", "没有这个词语".encode()) not in leaf
            word = max((w for f, w in expected if f == "body"), key=len)
            assert word in set(leaf.terms_within("body", word[:-1] + "龘", 1))  # spelling
        # Across the segments, as the vocabulary and suggestions read them.
        everything = set().union(*(brute_force_terms(leaf) for leaf in leaves))
        assert set(reader.lexicon("title")) == {w.encode() for f, w in everything if f == "title"}
        assert [term for term, _ in reader.iter_field("id")] == sorted(
            w.encode() for f, w in everything if f == "id"
        )
    whoosh_index.close()


@pytest.mark.needs_corpus
def test_a_damaged_term_table_is_found_by_its_checksum_and_by_reading_it(tmp_path):
    def damage(data, offset, length):
        data[offset + 4] = 3  # the first block's number of terms

    segment, by_checksum, by_reading = damaged_checks(tmp_path / "index", TERMS_EXT, damage)
    assert [(problem.file, "checksum" in problem.what) for problem in by_checksum] == [
        (segment, True)
    ]
    (problem,) = by_reading
    assert "DamagedTermTable" in problem.what
