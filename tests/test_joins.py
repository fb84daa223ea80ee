"""The join table (`searchkit.joins`) and how the codec keeps one in every segment: what is
encoded reads back; an index's joins, through commits, deletions and merges, are exactly
the joins of its live posts; a damaged table is found by `check`."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from corpus import FINEWS
from hypothesis import given, settings
from hypothesis import strategies as st
from segments import damaged_checks
from whoosh.index import open_dir

from searchkit import Index, joins, load_posts
from searchkit.analysis import Analyzer
from searchkit.codec import JOINS_EXT, join_table, read_join_documents, read_joins
from searchkit.joins import DamagedJoinTable, JoinTable, decode_postings, encode, encode_postings
from searchkit.schema import JOINS
from searchkit.storage import read_pointer

# Characters through the surrogates and past the BMP (CJK extension B), as a key holds them.
CHARS = st.characters(min_codepoint=0x4E00, max_codepoint=0x4E10) | st.characters(
    min_codepoint=0x20000, max_codepoint=0x20004
)
# Gaps and counts past the 1.1 M that one character holds, and through the surrogates.
NUMBERS = st.integers(1, 3_300_000) | st.integers(1, 3) | st.integers(0xD7F0, 0xE010)


def postings_of(gaps: list[int], counts: list[int]) -> tuple[list[int], list[int]]:
    documents, document = [], -1
    for gap in gaps:
        document += gap
        documents.append(document)
    return documents, counts[: len(documents)] + [1] * (len(documents) - len(counts))


@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(NUMBERS, max_size=30), counts=st.lists(NUMBERS, max_size=30))
def test_postings_decode_to_what_was_encoded(gaps, counts):
    documents, counts = postings_of(gaps, counts)
    assert decode_postings(encode_postings(documents, counts)) == (documents, counts)


def test_postings_take_a_byte_a_near_document_and_nothing_for_counts_of_one():
    assert len(encode_postings([0, 5, 9, 120], [1, 1, 1, 1])) == 4
    assert len(encode_postings([0, 5], [1, 3])) == 2 + 3  # a NUL, then index gap and count


TABLES = st.dictionaries(
    st.sampled_from(["body_joins", "title_joins"]),
    st.dictionaries(
        st.tuples(CHARS, CHARS).map("".join),
        st.tuples(st.lists(NUMBERS, min_size=1, max_size=8), st.lists(NUMBERS, max_size=8)),
        max_size=12,
    ),
)


@settings(max_examples=200, deadline=None)
@given(tables=TABLES)
def test_a_table_reads_back_every_join_and_no_other(tables):
    fields = {
        field: [(join, *postings_of(*tables[field][join])) for join in sorted(tables[field])]
        for field in sorted(tables)
    }
    table = JoinTable(encode(fields))
    expected = [(field, *row) for field, rows in fields.items() for row in rows]
    assert list(table.items()) == expected
    for field, join, documents, counts in expected:
        assert table.postings(field, join) == (documents, counts)
        assert table.postings(field, join[::-1]) == (fields_postings(fields, field, join[::-1]))
    assert table.postings("body_joins", "一丁") == fields_postings(fields, "body_joins", "一丁")
    assert table.postings("tags", "一丁") == ([], [])
    table.check(max((row[2][-1] for row in expected), default=0) + 1)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(["body_joins", "title_joins", "tags_joins"]),
        st.lists(st.tuples(CHARS, CHARS).map("".join), unique=True, max_size=40),
    ),
    probes=st.lists(st.tuples(CHARS, CHARS).map("".join), max_size=8),
    every=st.sampled_from([1, 2, 3, 7]),
)
def test_a_lookup_between_sampled_keys_finds_what_a_scan_does(fields, probes, every):
    """`postings` narrows its search by every `SAMPLE_EVERY`-th key (128 in a real table,
    which a few dozen joins would not reach): any join of any field, present or absent, is
    found as a scan of `items` finds it."""
    rows = {
        field: [(join, [n], [1]) for n, join in enumerate(sorted(joins))]
        for field, joins in fields.items()
    }
    with patch.object(joins, "SAMPLE_EVERY", every):
        table = JoinTable(encode(dict(sorted(rows.items()))))
        scanned = {(field, join): (docs, counts) for field, join, docs, counts in table.items()}
        for field in ("body_joins", "title_joins", "tags_joins", "other"):
            for join in [*fields.get(field, []), *probes]:
                assert table.postings(field, join) == scanned.get((field, join), ([], []))


def fields_postings(fields, field: str, join: str) -> tuple[list[int], list[int]]:
    for found, documents, counts in fields.get(field, []):
        if found == join:
            return documents, counts
    return [], []


def test_a_join_is_two_characters_and_documents_ascend():
    with pytest.raises(ValueError, match="two characters"):
        encode({"body_joins": [("息", [1], [1])]})
    with pytest.raises(ValueError, match="ascend"):
        encode({"body_joins": [("息预", [4, 4], [1, 1])]})


def test_bytes_that_are_no_join_table_are_refused():
    with pytest.raises(DamagedJoinTable):
        JoinTable(b"PK\x03\x04 not a join table")
    table = encode({"body_joins": [("息预", [3, 9], [1, 2])]})
    with pytest.raises(DamagedJoinTable):
        JoinTable(table[:20])
    with pytest.raises(DamagedJoinTable, match="impossible"):
        JoinTable(table).check(document_count=5)  # document 9 is past the segment's end


# --- in an index ------------------------------------------------------------------------------


def live_joins(posts) -> dict[tuple[str, str], dict[str, int]]:
    """{(join field, join): {post id: count}}, from the posts' text, by brute force."""
    analyzer, found = Analyzer(), {}
    for post in posts:
        for field, text in (("title", post.title), ("body", post.body)):
            for join, count in analyzer.postings(text)[1].items():
                found.setdefault((JOINS[field], join), {})[post.id] = count
    return found


def indexed_joins(path) -> dict[tuple[str, str], dict[str, int]]:
    """The same, from every segment's join table, through `read_joins` (which leaves out
    deleted documents); and the number of segments."""
    whoosh_index = open_dir(str(path / read_pointer(path)))
    found: dict = {}
    with whoosh_index.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            ids = {docnum: fields["id"] for docnum, fields in leaf.iter_docs()}
            joins = {(field, join) for field, join, *_ in join_table(leaf).items()}
            for field, join in joins:
                documents, counts = read_joins(leaf, field, join)
                assert read_join_documents(leaf, field, join) == documents
                for docnum, count in zip(documents, counts, strict=True):
                    found.setdefault((field, join), {})[ids[docnum]] = count
        segments = len(reader.leaf_readers())
    whoosh_index.close()
    return found, segments


@pytest.mark.needs_corpus
def test_the_joins_are_those_of_the_live_posts_through_deletions_and_merges(tmp_path):
    posts = list(load_posts(FINEWS))[:160]
    path = tmp_path / "index"
    with Index.create(path) as index:
        index.add(posts[:120])
        index.add(posts[120:135])
        index.add(posts[135:])
        gone = {post.id for post in posts[:135:9]}
        assert index.delete(gone) == len(gone)
        live = [post for post in posts if post.id not in gone]
        found, segments = indexed_joins(path)
        assert segments == 2  # the largest, and one of recent posts with deletions in both
        assert found == live_joins(live)
        index.optimize()
        found, segments = indexed_joins(path)
        assert segments == 1
        assert found == live_joins(live)
        assert len(found) > 1000


@pytest.mark.needs_corpus
def test_a_damaged_join_table_is_found_by_its_checksum_and_by_reading_it(tmp_path):
    def damage(data, offset, length):
        data[offset + length - 2] = 0xFF  # no UTF-8 holds this byte

    segment, by_checksum, by_reading = damaged_checks(tmp_path / "index", JOINS_EXT, damage)
    assert [(problem.file, "checksum" in problem.what) for problem in by_checksum] == [
        (segment, True)
    ]
    (problem,) = by_reading
    assert "DamagedJoinTable" in problem.what
