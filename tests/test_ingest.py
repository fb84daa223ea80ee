"""ingest.py: posts -> Whoosh field values, in worker processes when there are many. Each
post comes back indexed (with its caveats), unchanged (the same checksum as indexed), or
skipped with its path and reason; the pool gives what one process gives, in order, and ends
when its reader stops early."""

import multiprocessing
import os
import time

import pytest
from corpus import FINEWS, REFERENCE_POST

from searchkit import Document, ingest
from searchkit.analysis import Analyzer
from searchkit.documents import LoadProblem, post_files, read_post
from searchkit.schema import document_fields, document_words

ANALYZER = Analyzer()


def load(paths, root, checksums=None):
    checksums = checksums or {}
    todo = [(path, path.name, checksums.get(path.name)) for path in paths]
    return list(ingest.load_and_analyze(todo, root, ANALYZER))


@pytest.mark.needs_corpus
def test_a_post_comes_back_as_its_field_values_and_words():
    [(kind, values, words, caveats)] = load([REFERENCE_POST], REFERENCE_POST.parent)
    post = read_post(REFERENCE_POST, root=REFERENCE_POST.parent)
    stat = REFERENCE_POST.stat()
    expected = document_fields(post, ANALYZER, ingest.file_signature(stat))
    expected_words = document_words(expected)
    assert (kind, caveats) == ("indexed", [])
    assert values == expected and words == expected_words
    assert ingest.file_signature(stat) == (stat.st_mtime_ns, stat.st_size)


@pytest.mark.needs_corpus
def test_a_post_with_the_checksum_already_indexed_is_unchanged():
    post = read_post(REFERENCE_POST)
    results = load([REFERENCE_POST], REFERENCE_POST.parent, {post.id: post.checksum})
    assert results == [("unchanged", post.id)]
    results = load([REFERENCE_POST], REFERENCE_POST.parent, {post.id: "0" * 64})
    assert results[0][0] == "indexed"


def test_a_post_that_cannot_be_read_is_skipped_with_its_path_and_reason(tmp_path):
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "gbk.md").write_bytes("---\ntitle: 国标\n---\n<p>人民币汇率</p>\n".encode("gbk"))
    gone, folder, gbk = tmp_path / "gone.md", tmp_path / "folder.md", tmp_path / "gbk.md"
    skipped_gone, skipped_folder, indexed = load([gone, folder, gbk], tmp_path)
    assert skipped_gone[0] == "skipped" and skipped_gone[1].path == gone
    assert skipped_gone[1].reason.startswith("cannot read it")
    assert skipped_folder == ("skipped", LoadProblem(folder, skipped_folder[1].reason))
    assert "not a regular file" in skipped_folder[1].reason
    kind, values, _words, caveats = indexed
    assert kind == "indexed" and values["_stored_title"] == "国标"
    assert [(c.path, c.skipped) for c in caveats] == [(gbk, False)]
    assert "GB18030" in caveats[0].reason


@pytest.mark.needs_corpus
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the pool needs two cores")
def test_the_worker_pool_gives_what_one_process_gives_in_order(monkeypatch):
    files = post_files(FINEWS)[: ingest.PARALLEL_THRESHOLD + 6]
    paths = [path for path, _ in files]
    pooled = load(paths, FINEWS)
    assert [(kind, values["id"]) for kind, values, *_ in pooled] == [
        ("indexed", path.name) for path in paths
    ]
    monkeypatch.setattr(ingest, "PARALLEL_THRESHOLD", len(paths) + 1)
    assert load(paths, FINEWS) == pooled


@pytest.mark.needs_corpus
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the pool needs two cores")
def test_a_reader_that_stops_early_ends_the_pool():
    files = post_files(FINEWS)
    todo = [(path, doc_id, None) for path, doc_id in files]
    assert len(todo) > ingest.PARALLEL_THRESHOLD
    results = ingest.load_and_analyze(todo, FINEWS, ANALYZER)
    first = next(results)
    assert first[0] == "indexed" and multiprocessing.active_children()  # the pool's workers
    results.close()  # as when the caller raised: the pool is fed no more and ends
    assert multiprocessing.active_children() == []


def test_the_workers_run_a_bounded_way_ahead_of_a_slow_reader(monkeypatch):
    """The index writer takes results slower than the workers make them: they are fed at
    most `AHEAD` documents more than it has taken (a build of 200,000 articles held ~800 MB
    of results otherwise), and every result still comes, in order."""
    monkeypatch.setattr(ingest, "AHEAD", 2 * ingest.CHUNK)
    fed = []

    class Fed(list):
        def __iter__(self):
            for doc in super().__iter__():
                fed.append(doc.id)
                yield doc

    docs = Fed(Document(id=str(n), title=f"标题{n}", body="央行降准") for n in range(400))
    results = ingest.analyze_documents(docs, ANALYZER)
    assert next(results)[0]["id"] == "0"
    for _ in range(50):  # time for unbounded workers to take every document
        if len(fed) == len(docs):
            break
        time.sleep(0.02)
    assert len(fed) <= 2 * ingest.CHUNK + 2  # what one result taken made room for, and one
    assert [values["id"] for values, _ in results] == [str(n) for n in range(1, 400)]


def test_documents_are_analyzed_in_order():
    docs = [Document(id=str(n), title=f"标题{n}", body="央行降准") for n in range(3)]
    results = list(ingest.analyze_documents(docs, ANALYZER))
    assert [values["id"] for values, _ in results] == ["0", "1", "2"]
    assert all("降准" in words for _, words in results)
