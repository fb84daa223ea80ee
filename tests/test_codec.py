"""searchkit's codec and posting pool (`searchkit.codec`): segments that every Whoosh code path
reads back, merges over long histories of commits, whoosh-reloaded's own test suite, and the
block readers checked against Whoosh's public matcher API."""

from __future__ import annotations

import importlib.metadata
import os
import random
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HANDMADE
from corpus import FINANCE, FINEWS, public_terms
from history import ChangingFolder, differences, segment_count
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import FileStorage
from whoosh.index import open_dir

from searchkit import Index, IndexDamagedError, load_posts
from searchkit.analysis import Analyzer
from searchkit.cli import cli
from searchkit.codec import (
    INLINE_POSTINGS,
    TermPool,
    WordPositions,
    bytes_column,
    field_length_column,
    latest_generation,
    read_documents,
    read_frequencies,
    read_positions,
)
from searchkit.documents import read_post
from searchkit.schema import document_fields, encode_joins, encode_postings
from searchkit.storage import read_pointer

WHOOSH_SUITE_PLUGIN = Path(__file__).parent / "whoosh_suite"


def test_term_pool_yields_postings_in_field_term_document_order():
    pool = TermPool()
    for item in [
        ("body", "逆回购".encode(), 0, 1.0, b"p0"),
        ("body", b"a", 3, 2.0, b"p3"),
        ("body", b"a", 1, 1.0, b"p1"),  # out of order: sorted on the way out
        ("body_joins", "息预".encode(), 2, 1.0, b""),
        ("body", b"a", 5, 1.0, b"p5"),
    ]:
        pool.add(item)
    pool.add_postings("body", b"b", [4, 0], [1.0, 3.0], [b"long value", b"v"])  # a merge
    pool.add_postings("id", b"x", [7], [1.0], [b""])  # no values
    assert list(pool.iter_postings()) == [
        ("body", b"a", 1, 1.0, b"p1"),
        ("body", b"a", 3, 2.0, b"p3"),
        ("body", b"a", 5, 1.0, b"p5"),
        ("body", b"b", 0, 3.0, b"v"),
        ("body", b"b", 4, 1.0, b"long value"),
        ("body", "逆回购".encode(), 0, 1.0, b"p0"),
        ("body_joins", "息预".encode(), 2, 1.0, b""),
        ("id", b"x", 7, 1.0, b""),
    ]


def test_term_pool_takes_packed_postings_as_their_tuples():
    words = encode_postings({"缩表": [0, 4], "a": [1], "预期": [2]})
    counts = encode_joins({"息预": 2, "表a": 1})
    joins = frozenset({"body_joins"})
    packed, tuples = TermPool(joins), TermPool(joins)
    for docnum, boost in ((0, 1.0), (1, 1.0), (2, 2.0)):  # boosted: through the tuples
        assert packed.add_field("body", docnum, words, boost) == 4
        assert tuples.add_field("body", docnum, words.items(), boost) == 4
        packed.add_field("body_joins", docnum, counts, boost)
        tuples.add_field("body_joins", docnum, counts.items(), boost)
    assert packed.add_field("title", 3, encode_postings({})) == 0
    assert list(packed.iter_postings()) == list(tuples.iter_postings())
    assert ("body", "缩表".encode(), 2, 4.0, WordPositions().encode([0, 4])) in list(
        packed.iter_postings()
    )

    def rows(pool):
        return [(j, list(d), list(c)) for j, d, c in pool.join_postings()["body_joins"]]

    expected = [("息预", [0, 1, 2], [2, 2, 4]), ("表a", [0, 1, 2], [1, 1, 2])]  # by UTF-8
    assert rows(packed) == rows(tuples) == expected


def test_term_pool_spilled_to_runs_yields_what_it_would_have_held(tmp_path):
    documents = [
        [(b"a", 1, 1.0, b"p0"), ("逆回购".encode(), 2, 2.0, b"p00")],
        [(b"b", 1, 1.0, b"q1")],
        [(b"a", 1, 1.0, b"p2"), (b"b", 1, 1.0, b"q2")],
        [(b"c", 3, 3.0, b"r3")],
    ]
    joins = frozenset({"body_joins", "title_joins"})
    held, spilled = TermPool(joins), TermPool(joins, spill_folder=str(tmp_path), spill_bytes=1)
    for docnum, items in enumerate(documents):
        for pool in (held, spilled):
            pool.add_field("body", docnum, items)
            pool.add_field("body_joins", docnum, [("息预".encode(), docnum, docnum, b"")])
            pool.add_field("id", docnum, [(f"d{docnum}".encode(), 1, 1.0, b"")])
        assert spilled.spill_due()
        if docnum < 3:  # the last document's postings stay in memory
            spilled.spill()
    assert sum(map(len, spilled.terms.values())) == 2 and len(spilled._runs) == 3
    assert list(spilled.iter_postings()) == list(held.iter_postings())
    assert ("body", b"a", 2, 1.0, b"p2") in list(spilled.iter_postings())

    def tables(pool):
        return {
            field: [(j, list(d), list(c)) for j, d, c in rows]
            for field, rows in pool.join_postings().items()
        }

    assert (
        tables(spilled)
        == tables(held)
        == {
            "body_joins": [("息预", [0, 1, 2, 3], [0, 1, 2, 3])],
            "title_joins": [],
        }
    )
    assert not list(tmp_path.iterdir())  # the runs have no names
    spilled.cleanup()
    assert not spilled._runs


@pytest.mark.needs_corpus
def test_a_build_that_spills_writes_the_index_a_build_in_memory_writes(tmp_path, monkeypatch):
    from searchkit import codec

    posts = list(load_posts(FINANCE))[:80]  # past ingest.PARALLEL_THRESHOLD

    def postings(path):
        with Index.create(path) as index:
            index.add(posts)
            reader = index.searcher().reader()
            words = [
                (field, text, list(reader.postings(field, text).items_as("positions")))
                for field, text in reader.all_terms()
                if field in ("title", "body")
            ]
            joins = [(f, j, list(d), list(c)) for f, j, d, c in codec.join_table(reader).items()]
            return words, joins

    in_memory = postings(tmp_path / "memory")
    spills = []
    monkeypatch.setattr(codec, "SPILL_BYTES", 20_000)  # a few posts a run
    monkeypatch.setattr(codec.TermPool, "spill", _counting(codec.TermPool.spill, spills))
    assert postings(tmp_path / "spilled") == in_memory
    assert len(spills) > 3


@pytest.mark.needs_corpus
def test_a_join_table_encoded_beside_the_commit_leaves_the_same_segment(tmp_path, monkeypatch):
    from searchkit import codec, forked

    posts = list(load_posts(FINANCE))[:80]  # past ingest.PARALLEL_THRESHOLD

    def segment_files(path) -> dict[str, bytes]:
        with Index.create(path) as index:
            index.add(posts)
            reader = index.searcher().reader()
            storage, segment = reader.storage(), reader.segment()
            return {
                ext: storage.open_file(segment.make_filename(ext)).read()
                for ext in (codec.JOINS_EXT, codec.TERMS_EXT, ".pst", codec.STORED_EXT)
            }

    monkeypatch.setattr(forked, "can_fork", lambda: False)
    serial = segment_files(tmp_path / "serial")
    monkeypatch.undo()
    forks = []
    monkeypatch.setattr(codec, "BESIDE_JOINS", 0)
    monkeypatch.setattr(forked, "beside", _counting_calls(forked.beside, forks))
    assert segment_files(tmp_path / "beside") == serial
    monkeypatch.setattr(codec, "SPILL_BYTES", 20_000)  # and merged back from spilled runs
    assert segment_files(tmp_path / "spilled") == serial
    assert len(forks) == 2
    assert serial[codec.JOINS_EXT].startswith(b"skj1")
    # A process past the memory it may fork from commits in one process.
    monkeypatch.setattr(codec, "BESIDE_RESIDENT_BYTES", forked.resident_bytes() // 2)
    assert segment_files(tmp_path / "large") == serial
    assert len(forks) == 2


def _counting_calls(function, calls: list):
    def counted(*args):
        calls.append(args)
        return function(*args)

    return counted


def _counting(method, calls: list):
    def counted(self):
        calls.append(1)
        method(self)

    return counted


# Gaps up to ~3.3 M: past the 1.1 M that one character holds, and through the surrogates.
GAPS = st.lists(st.integers(1, 3_300_000) | st.integers(1, 300), max_size=40)


@settings(max_examples=300, deadline=None)
@given(first=st.integers(0, 70_000), gaps=GAPS)
def test_word_positions_decode_to_what_was_encoded(first, gaps):
    positions = [first]
    for gap in gaps:
        positions.append(positions[-1] + gap)
    value = WordPositions().encode(positions)
    assert b"\0" not in value  # a block's values are kept NUL-separated
    assert WordPositions().decode_positions(value) == positions
    assert WordPositions().decode_frequency(value) == len(positions)


def test_word_positions_take_a_byte_or_two_each():
    assert len(WordPositions().encode([0, 5, 9, 120])) == 4
    assert len(WordPositions().encode([300, 2000])) == 4


@pytest.mark.needs_corpus
def test_positions_read_back_as_the_analyzer_made_them(tmp_path):
    """Every word's positions in every post, inlined or in blocks, as `Analyzer.postings`
    gave them at indexing time."""
    posts = list(load_posts(FINEWS))
    path = tmp_path / "index"
    with Index.create(path) as index:
        index.add(posts)
    analyzer, checked = Analyzer(), 0
    whoosh_index = open_dir(str(path / read_pointer(path)))
    with whoosh_index.reader() as reader:  # one commit: one segment
        docnums = {fields["id"]: docnum for docnum, fields in reader.iter_docs()}
        for post in posts[::7]:
            for field, text in (("title", post.title), ("body", post.body)):
                for word, positions in analyzer.postings(text)[0].items():
                    docnum = docnums[post.id]
                    found = read_positions(reader, field, word, [docnum])
                    assert found == {docnum: set(positions)}, (post.id, field, word)
                    checked += 1
    whoosh_index.close()
    assert checked > 1000


def test_merged_segments_answer_as_the_unmerged_ones(tmp_path):
    """Many one-document commits make Whoosh merge (MERGE_SMALL), then an optimize merges
    everything: every segment's postings, inlined or in blocks, with values or without (the
    joins, the ids), are read back and written again."""
    index = Index.create(tmp_path / "index")
    terms = ["缩表", "回购", "逆回购", "北向", "降息预期", "ＭＬＦ", "Federal", "息预"]
    expected = {}
    for doc in HANDMADE * 3:  # the same ids again: each commit also deletes the old post
        index.add([doc])
    expected = {term: {hit.id for hit in index.search(term, exact_only=True)} for term in terms}
    assert segment_count(index) <= 2  # merged along the way
    index.optimize()
    assert segment_count(index) == 1
    assert index.count() == len(HANDMADE)
    for term in terms:
        assert {hit.id for hit in index.search(term, exact_only=True)} == expected[term]


def test_a_commit_whoosh_cannot_write_is_one_error_that_says_rebuild(tmp_path, monkeypatch):
    index = Index.create(tmp_path / "index")
    index.add(HANDMADE[:2])

    def broken_commit(self, *args, **kwargs):
        raise IndexError("tuple index out of range")

    monkeypatch.setattr("whoosh.writing.SegmentWriter.commit", broken_commit)
    with pytest.raises(IndexDamagedError, match="searchkit rebuild"):
        index.add(HANDMADE[2:])
    monkeypatch.undo()
    index.add(HANDMADE[2:])  # the failed commit released Whoosh's write lock
    assert index.count() == len(HANDMADE)


@pytest.mark.needs_corpus
def test_a_random_history_of_updates_equals_a_fresh_build(tmp_path):
    """Adds, edits and removals in batches of varying size, updated after each, enough
    commits for several merges; then the same folder built fresh."""
    rng = random.Random(18)
    source = sorted(FINANCE.glob("*.md"))[:900]
    folder = ChangingFolder(source, tmp_path / "posts", rng)
    folder.add(200)
    grown = Index.create(tmp_path / "grown")
    grown.update_from(folder.folder)
    most_segments = merges = 0
    for _ in range(30):
        before = segment_count(grown)
        change = folder.random_change(most_added=40, most_edited=5, most_removed=4)
        report = grown.update_from(folder.folder)
        assert sorted(report.added) == sorted(change.added)
        assert sorted(report.updated) == sorted(change.edited)
        assert sorted(report.deleted) == sorted(change.removed)
        assert not report.skipped
        merges += segment_count(grown) <= before
        most_segments = max(most_segments, segment_count(grown))
    assert merges >= 2 and most_segments <= 2  # codec.fold_into_largest
    fresh = Index.create(tmp_path / "fresh")
    fresh.update_from(folder.folder)
    terms = public_terms() + ["补记", "美联储加息", "2026年"]
    assert differences(grown, fresh, terms) == []
    again = grown.update_from(folder.folder)
    assert (again.added, again.updated, again.deleted) == ([], [], [])
    assert again.unchanged == len(folder.present())


@pytest.mark.needs_corpus
def test_a_history_of_library_adds_and_deletes_equals_a_fresh_build(tmp_path):
    rng = random.Random(60)
    posts = list(load_posts(FINANCE))[:420]
    grown = Index.create(tmp_path / "grown")
    live: dict[str, object] = {}
    while posts:
        size = rng.randint(16, 45)
        batch, posts = posts[:size], posts[size:]
        again = rng.sample(list(live.values()), min(10, len(live)))  # re-added unchanged
        grown.add(batch + again)
        live.update((doc.id, doc) for doc in batch)
        gone = rng.sample(sorted(live), min(rng.randint(0, 8), len(live)))
        assert grown.delete(gone) == len(gone)
        for doc_id in gone:
            del live[doc_id]
    fresh = Index.create(tmp_path / "fresh")
    fresh.add(list(live.values()))
    assert differences(grown, fresh, public_terms()) == []


@pytest.mark.needs_corpus
def test_nightly_cron_updates_through_the_cli_keep_working(tmp_path):
    """The report of #18, shortened (`tests/bench/history.py --cron` runs it whole: 500
    posts, then 25 updates of 20): a cron job runs `searchkit index` every night; from the
    first update that made Whoosh merge segments on, every update failed."""
    folder = ChangingFolder(sorted(FINANCE.glob("*.md"))[:360], tmp_path / "posts", None)
    folder.add(160)
    runner, index_path = CliRunner(), str(tmp_path / "index")
    result = runner.invoke(cli, ["index", str(folder.folder), "--index", index_path])
    assert result.exit_code == 0, result.output
    for night in range(10):
        folder.add(20)  # a segment of 20 posts has blocks of postings, not only inlined ones
        result = runner.invoke(cli, ["index", "--index", index_path])
        assert result.exit_code == 0, f"update {night + 1}: {result.output}"
    grown = Index.open(index_path)
    assert grown.count() == 360
    assert segment_count(grown) <= 2  # merged
    fresh = Index.create(tmp_path / "fresh")
    fresh.update_from(folder.folder)
    assert differences(grown, fresh, public_terms()) == []


def test_whoosh_suite_passes_on_searchkit_codec_and_pool(tmp_path):
    """whoosh-reloaded's own tests (its sdist, of the installed version) with searchkit's
    codec and pool in every segment writer (`tests/whoosh_suite/searchkit_plugin.py`).
    Skipped when the sdist cannot be downloaded, unless SEARCHKIT_WHOOSH_SUITE=required."""
    version = importlib.metadata.version("whoosh-reloaded")
    download = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
         ":all:", "--dest", str(tmp_path), f"whoosh-reloaded=={version}"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if download.returncode:
        message = f"cannot download the whoosh-reloaded {version} sdist: {download.stderr[-300:]}"
        if os.environ.get("SEARCHKIT_WHOOSH_SUITE") == "required":
            pytest.fail(message)
        pytest.skip(message)
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tests,) = tmp_path.glob("*/tests")
    # Whoosh's in-memory indexes keep temporary files in $TMPDIR/MAIN.tmp, a fixed name: two
    # runs of this suite at once on one machine deleted each other's files (8 failures).
    env = dict(os.environ, PYTHONPATH=str(WHOOSH_SUITE_PLUGIN), TMPDIR=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "searchkit_plugin", "-p", "no:cacheprovider"],
        cwd=tests,
        env=env,
        capture_output=True,
        text=True,
    )
    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " failed" not in summary and " error" not in summary, summary
    assert "2 skipped" in summary, summary  # exactly the tests listed in the plugin


# --- the block readers against Whoosh's public matcher API -------------------------------------

POSTINGS_BLOCK = 128  # Whoosh's postings per block (W3Codec's blocklimit)


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """A Whoosh index of finews and 300 finance posts in three commits, then a commit that
    deletes 40 posts: two segments (`fold_into_largest` keeps the large first one), and the
    large one has deleted documents. Yields the open Whoosh index."""
    posts = list(load_posts(FINEWS)) + list(load_posts(FINANCE))[:300]
    path = tmp_path_factory.mktemp("segmented") / "index"
    index = Index.create(path)
    index.add(posts[:390])
    index.add(posts[390:410])
    index.add(posts[410:])
    assert index.delete([post.id for post in posts[:390:10]]) == 39
    index.close()
    whoosh_index = open_dir(str(path / read_pointer(path)))
    yield whoosh_index
    whoosh_index.close()


def public_postings(reader, fieldname: str, word: bytes) -> list[tuple[int, float, bytes]]:
    """(document, weight, value) of a term's live postings, one at a time through Whoosh's
    public matcher API (which leaves out the segment's deleted documents)."""
    matcher, found = reader.postings(fieldname, word), []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    return found


def stored_as(postings: int) -> str:
    """How the codec stores a term's postings in a segment."""
    if postings < INLINE_POSTINGS:
        return "inlined"
    return "one block" if postings <= POSTINGS_BLOCK else "blocks"


@pytest.mark.needs_corpus
def test_read_frequencies_equals_whoosh_matcher_api_on_segments_with_deletions(segmented):
    with segmented.reader() as multi:
        leaves = [leaf for leaf, _ in multi.leaf_readers()]
        assert len(leaves) == 2 and any(reader.has_deletions() for reader in leaves)
        seen_kinds, seen_deleted = set(), 0
        for reader in leaves:
            for fieldname in ("title", "body", "title_joins", "body_joins", "id", "tags"):
                for word in reader.lexicon(fieldname):
                    text = reader.schema[fieldname].from_bytes(word)
                    expected = public_postings(reader, fieldname, word)
                    assert list(zip(*read_frequencies(reader, fieldname, text), strict=True)) == [
                        (doc, weight) for doc, weight, _ in expected
                    ], (fieldname, text)
                    documents = [doc for doc, _, _ in expected]
                    assert read_documents(reader, fieldname, text) == documents
                    stored = reader.doc_frequency(fieldname, word)
                    seen_deleted += stored - len(expected)
                    seen_kinds.add(stored_as(stored))
            assert list(zip(*read_frequencies(reader, "body", "no such word"), strict=True)) == []
            assert read_documents(reader, "body", "no such word") == []
    assert seen_deleted > 0  # some postings of deleted documents were left out
    assert seen_kinds == {"inlined", "one block", "blocks"}


@pytest.mark.needs_corpus
def test_read_positions_equals_whoosh_matcher_api(segmented):
    """Positions of the wanted live documents only, whether a document is in the first,
    a middle or the last block of the term's postings, or lacks the term."""
    rng = random.Random(16)
    with segmented.reader() as multi:
        checked = 0
        for reader, _ in multi.leaf_readers():
            live = list(reader.all_doc_ids())
            for word in reader.lexicon("body"):
                if rng.random() > 0.1:
                    continue
                expected = {
                    doc: set(reader.schema["body"].format.decoder("positions")(value))
                    for doc, _, value in public_postings(reader, "body", word)
                }
                # Few wanted documents in a block are looked up, many are scanned for.
                docs = sorted(rng.sample(live, min(len(live), rng.choice([1, 5, 60, len(live)]))))
                found = read_positions(reader, "body", word.decode(), docs)
                assert found == {doc: expected[doc] for doc in docs if doc in expected}
                checked += bool(found)
    assert checked > 100


@pytest.mark.needs_corpus
def test_whole_columns_equal_whoosh_one_document_at_a_time(segmented):
    """Field lengths and a bytes column, read whole, as Whoosh's public readers give them
    document by document (deleted documents included: they keep their numbers)."""
    with segmented.reader() as multi:
        for reader, _ in multi.leaf_readers():
            count = reader.doc_count_all()
            for fieldname in ("title", "body", "title_joins", "date"):
                # Whoosh: `default` (scoring asked for 1) for a field without lengths (joins,
                # date), None for a length of 0.
                expected = [reader.doc_field_length(doc, fieldname, 1) or 0 for doc in range(count)]
                assert field_length_column(reader, fieldname) == expected, fieldname
            assert field_length_column(reader, "body")[0] > 0
            assert bytes_column(reader, "dupkey") == list(reader.column_reader("dupkey"))
            assert bytes_column(reader, "file") == list(reader.column_reader("file"))
            assert len(set(bytes_column(reader, "dupkey"))) > count // 2


def expected_stored(reader, path: str, analyzer: Analyzer) -> dict:
    """The stored fields Whoosh keeps of the post at `path` read afresh: each stored field's
    `_stored_<name>` value when given, else its value, without Nones."""
    values = document_fields(read_post(path), analyzer)
    stored = {}
    for name, field in reader.schema.items():
        value = values.get(f"_stored_{name}", values.get(name))
        if field.stored and value is not None:
            stored[name] = value
    return stored


@pytest.mark.needs_corpus
def test_stored_fields_read_back_as_the_posts_after_merges_and_deletions(segmented, tmp_path):
    """Every stored field of every live post, in each segment (merged ones and one with
    deleted documents) and after `optimize` merges them into one, equals the post read
    again; a deleted document keeps its stored fields until a merge drops it."""
    analyzer = Analyzer()
    folder = Path(segmented.storage.folder)
    copy = tmp_path / "index"
    shutil.copytree(folder.parent, copy)
    Index.open(copy).optimize()
    for path, segments in ((folder, 2), (copy / read_pointer(copy), 1)):
        with open_dir(str(path)).reader() as multi:
            leaves = [leaf for leaf, _ in multi.leaf_readers()]
            assert len(leaves) == segments
            checked = 0
            for reader in leaves:
                for docnum in range(reader.doc_count_all()):
                    fields = reader.stored_fields(docnum)
                    if reader.is_deleted(docnum):
                        assert fields["id"]  # still readable until a merge drops it
                        continue
                    assert fields == expected_stored(reader, fields["path"], analyzer)
                    checked += 1
            assert checked == multi.doc_count() == len(list(load_posts(FINEWS))) + 300 - 39


@pytest.mark.needs_corpus
def test_latest_generation_is_the_live_toc(segmented):
    storage = FileStorage(str(segmented.storage.folder))
    assert latest_generation(storage, segmented.indexname) == segmented.latest_generation() > 0
    assert latest_generation(storage, "NO_SUCH_INDEX") == -1


def test_both_pickled_codec_paths_still_load():
    """Every segment's TOC pickles its codec by import path; indexes written before the
    codec had a module of its own name `searchkit.schema.Codec`."""
    import pickle

    from searchkit import codec, schema

    assert schema.Codec is codec.Codec
    for path in (b"searchkit.codec", b"searchkit.schema"):
        loaded = pickle.loads(b"\x80\x04c" + path + b"\nCodec\n)\x81.")
        assert type(loaded) is codec.Codec
