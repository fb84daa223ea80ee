"""searchkit's codec and posting pool (`searchkit.codec`): segments that every Whoosh code path
reads back, merges over long histories of commits, and whoosh-reloaded's own test suite."""

from __future__ import annotations

import importlib.metadata
import os
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HANDMADE
from corpus import FINANCE, public_terms
from history import ChangingFolder, differences, segment_count

from searchkit import Index, IndexDamagedError, load_posts
from searchkit.cli import cli
from searchkit.codec import TermPool

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
    assert list(pool.iter_postings()) == [
        ("body", b"a", 1, 1.0, b"p1"),
        ("body", b"a", 3, 2.0, b"p3"),
        ("body", b"a", 5, 1.0, b"p5"),
        ("body", "逆回购".encode(), 0, 1.0, b"p0"),
        ("body_joins", "息预".encode(), 2, 1.0, b""),
    ]


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
    env = dict(os.environ, PYTHONPATH=str(WHOOSH_SUITE_PLUGIN))
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
