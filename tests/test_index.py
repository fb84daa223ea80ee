import json
import random
import re
import shutil
from dataclasses import replace

import pytest
from conftest import HANDMADE
from corpus import FINANCE, FINEWS, REFERENCE_POST, TERMS, public_terms

from searchkit import (
    Document,
    IncompatibleIndexError,
    Index,
    IndexExistsError,
    IndexLockedError,
    IndexNotFoundError,
    load_posts,
)
from searchkit.analysis import normalize
from searchkit.storage import lock

# Tests that read ../shared/corpus are marked; the others run on a clone without it.
needs_corpus = pytest.mark.needs_corpus


@pytest.fixture(scope="module")
def corpus_docs():
    return list(load_posts(FINEWS)) + list(load_posts(FINANCE))


def brute_force(docs, term):
    """Paths of the posts whose normalized title or body contains `term`."""
    needle = normalize(term)
    return {
        str(d.path.resolve())
        for d in docs
        if needle in normalize(d.title) or needle in normalize(d.body)
    }


def found(index, term):
    every = index.search(term, exact_only=True, limit=100_000, collapse=False)
    return {str(hit.path.resolve()) for hit in every}


def public_term_cases():
    """The shared list of finance terms, read at collection: one skipped case without it."""
    if not TERMS.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no term list at {TERMS}"))]
    return public_terms()


@needs_corpus
def test_reference_post_is_found_and_highlighted(finews_index):
    results = finews_index.search("缩表")
    assert results.total == 1
    hit = results[0]
    assert hit.path == REFERENCE_POST
    assert hit.title.startswith("美联储缩表")
    assert hit.date.isoformat() == "2022-06-07T13:59:10+08:00"
    assert hit.url.startswith("http://finews.zning.xyz/")
    assert hit.marks and all(hit.snippet[s:e] == "缩表" for s, e in hit.marks)


@needs_corpus
def test_reverse_repo_marks_never_stray_onto_other_repos(finews_index):
    hit = finews_index.search("逆回购")[0]
    assert hit.path == REFERENCE_POST
    assert all(hit.snippet[s:e] == "逆回购" for s, e in hit.marks)
    # the post also says 常备回购便利: those 回购 must not be marked for this query
    body = finews_index.get(hit.id).body
    assert "常备回购便利" in body


@needs_corpus
def test_phrase_of_a_compound_word_is_found(finews_index):
    results = finews_index.search('"北向资金"', limit=50)
    assert results.total == 6  # the finews README: 北向资金 is in 6 posts
    assert finews_index.search("北向资金").exact_total == 6
    assert finews_index.search("北向资金", exact_only=True).total == 6


@pytest.mark.parametrize("term", public_term_cases())
@needs_corpus
def test_exact_recall_and_precision_for_public_terms(corpus_index, corpus_docs, term):
    assert found(corpus_index, term) == brute_force(corpus_docs, term)


@needs_corpus
def test_exact_recall_for_random_substrings(corpus_index, corpus_docs):
    """Strings never seen before, cut anywhere (across jieba's word boundaries too)."""
    rng = random.Random(20261125)
    runs = [run for d in corpus_docs[::7] for run in re.findall(r"[\u4e00-\u9fff]{2,}", d.body)]
    for _ in range(120):
        run = rng.choice(runs)
        size = rng.randint(2, min(7, len(run)))
        start = rng.randint(0, len(run) - size)
        term = run[start : start + size]
        assert found(corpus_index, term) == brute_force(corpus_docs, term), term


@pytest.mark.parametrize(
    "term", ["国内生产总值", "美国国债", "中华人民共和国", "人民银行", "新冠肺炎疫情", "央行逆回购"]
)
@needs_corpus
def test_exact_recall_for_texts_jieba_cuts_into_several_words(corpus_index, corpus_docs, term):
    """Longer texts usually cross word boundaries (国内|生产总值): found by their joins, then
    confirmed by word positions or by counting in the stored text."""
    assert found(corpus_index, term) == brute_force(corpus_docs, term)


@pytest.mark.parametrize(
    "query,expected", [("縮表", "缩表"), ("ＭＬＦ", "mlf"), ("逆回購", "逆回购")]
)
@needs_corpus
def test_traditional_and_fullwidth_spellings(corpus_index, corpus_docs, query, expected):
    assert found(corpus_index, query) == brute_force(corpus_docs, expected)
    assert found(corpus_index, query)


def test_exact_matches_across_segments_and_deleted_posts(tmp_path):
    """An update adds a segment and marks the replaced post deleted; counting words and
    joins must see every segment and skip deleted posts."""
    index = Index.create(tmp_path / "index")
    index.add(HANDMADE)
    # A second segment, whose post has the join 息预 (降息|预测) but not 息预期.
    index.add([replace(HANDMADE[0], body=HANDMADE[0].body + "市场降息预测。")])
    index.delete(["d"])
    docs = [index.get(doc_id) for doc_id in index.ids()]
    terms = ["息预", "息预期", "降息预期", "降息预测", "美联储", "回购", "逆回购", "购便", "缩表"]
    for term in terms:
        needle = normalize(term)
        expected = {d.id for d in docs if needle in normalize(d.title + "\n" + d.body)}
        assert {h.id for h in index.search(term, exact_only=True)} == expected, term
    assert {h.id for h in index.search("息预", exact_only=True)} == {"a"}


@needs_corpus
def test_marks_point_at_the_query_text(corpus_index):
    for term in ["降准", "逆回购", "美联储", "ＭＬＦ", "債市", "息预"]:
        for hit in corpus_index.search(term, limit=20):
            # A snippet leaves out an opening that repeats the title, which may hold the
            # only match (【…逆回购操作】…逆回购操作，操作利率为1.40%。): the title shows it.
            assert hit.marks or hit.title_marks, (term, hit.id)
            for start, end in hit.marks:
                assert normalize(hit.snippet[start:end]) == normalize(term)


@needs_corpus
def test_update_from_adds_changes_and_deletes(tmp_path):
    posts = tmp_path / "posts"
    shutil.copytree(FINEWS, posts)
    index = Index.create(tmp_path / "index")
    first = index.update_from(posts)
    assert len(first.added) == 129 and not first.skipped
    assert index.sources == [posts.absolute()]

    again = index.update_from(posts)
    assert (again.added, again.updated, again.deleted, again.unchanged) == ([], [], [], 129)

    changed = posts / REFERENCE_POST.name
    changed.write_text(changed.read_text("utf-8").replace("缩表", "扩表"), "utf-8")
    gone = sorted(posts.glob("2021-12-08-*.md"))[0]
    gone.unlink()
    (posts / "2026-01-01-new.md").write_text(
        '---\ntitle: "新的降准消息"\ndate: 2026-01-01\n---\n<p>央行宣布降准。</p>\n', "utf-8"
    )
    (posts / "2026-01-02-broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", "utf-8")
    report = index.update_from(posts)
    assert report.updated == [REFERENCE_POST.name]
    assert report.deleted == [gone.name]
    assert report.added == ["2026-01-01-new.md"]
    assert [p.path.name for p in report.skipped] == ["2026-01-02-broken.md"]
    assert "YAML" in report.skipped[0].reason
    assert index.count() == 129
    assert index.search("缩表").total == 0
    assert index.search("扩表").total == 1
    assert [h.id for h in index.search("降准")] == ["2026-01-01-new.md"]


@needs_corpus
def test_bad_posts_are_reported_and_good_ones_indexed(tmp_path):
    posts = tmp_path / "posts"
    posts.mkdir()
    shutil.copy(REFERENCE_POST, posts)
    (posts / "no-front-matter.md").write_text("只有正文，没有前言。\n", "utf-8")
    (posts / "broken-yaml.md").write_text("---\ntitle: : :\n  - x\n---\n正文\n", "utf-8")
    (posts / "empty.md").write_bytes(b"")
    (posts / "binary.md").write_bytes(b"\x00\x01\x02\xff")
    (posts / "bad-date.md").write_text(
        "---\ntitle: 日期坏了\ndate: 2022-13-45\n---\n降准\n", "utf-8"
    )
    (posts / "gbk.md").write_bytes("---\ntitle: 国标编码\n---\n逆回购操作\n".encode("gbk"))
    index = Index.create(tmp_path / "index")
    report = index.update_from(posts)
    skipped = {p.path.name: p.reason for p in report.skipped}
    assert set(skipped) == {"no-front-matter.md", "broken-yaml.md", "empty.md", "binary.md"}
    assert all(skipped.values())
    assert sorted(report.added) == sorted([REFERENCE_POST.name, "bad-date.md", "gbk.md"])
    assert {p.path.name for p in report.warnings} >= {"bad-date.md", "gbk.md"}
    assert {h.id for h in index.search("逆回购")} == {REFERENCE_POST.name, "gbk.md"}


def test_add_replaces_by_id_and_delete(tmp_path):
    index = Index.create(tmp_path / "index")
    report = index.add([Document(id="x", title="降准", body="央行降准")])
    assert report.added == ["x"]
    report = index.add([Document(id="x", title="降息", body="央行降息")])
    assert report.updated == ["x"] and index.count() == 1
    assert index.search("降准").total == 0 and index.search("降息").total == 1
    assert index.delete(["x", "missing"]) == 1
    assert index.count() == 0


@needs_corpus
def test_rebuild_swaps_in_a_new_generation(tmp_path):
    index = Index.create(tmp_path / "index")
    index.update_from(FINEWS)
    reader = Index.open(tmp_path / "index")
    assert reader.count() == 129
    old_generation = (tmp_path / "index" / "CURRENT").read_text().strip()
    report = index.rebuild()
    assert len(report.added) == 129
    new_generation = (tmp_path / "index" / "CURRENT").read_text().strip()
    assert new_generation != old_generation
    assert (tmp_path / "index" / old_generation).exists()  # kept for readers still on it
    assert reader.search("缩表").total == 1  # the reader moves to the new generation
    assert reader.count() == 129


@needs_corpus
def test_a_crash_during_rebuild_leaves_the_old_index(tmp_path):
    index = Index.create(tmp_path / "index")
    index.add([Document(id="x", title="降准", body="央行降准")])
    generation = (tmp_path / "index" / "CURRENT").read_text()

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        index.rebuild(FINEWS, progress=boom)  # after the first post is written
    assert (tmp_path / "index" / "CURRENT").read_text() == generation
    assert sorted(p.name for p in (tmp_path / "index").glob("gen-*")) == [generation.strip()]
    assert Index.open(tmp_path / "index").search("降准").total == 1


def test_add_and_delete_take_one_item_or_several(handmade_index):
    report = handmade_index.add(Document(id="my/1", title="降准", body="央行宣布降准"))
    assert report.added_ids == ["my/1"] and report.added_count == 1
    assert handmade_index.delete("my/1") == 1  # a str is one id, not its characters
    assert handmade_index.delete("my/1") == 0
    assert handmade_index.delete(iter(["a", "b", "nope"])) == 2
    report = handmade_index.add(doc for doc in HANDMADE[:2])
    assert report.added_ids == ["a", "b"] and handmade_index.count() == 5


def test_update_report_names_say_ids_or_counts(tmp_path):
    posts = tmp_path / "posts"
    posts.mkdir()
    for name, body in [("one.md", "缩表"), ("two.md", "降准"), ("three.md", "加息")]:
        (posts / name).write_text(f"---\ntitle: {body}\n---\n{body}\n", "utf-8")
    index = Index.create(tmp_path / "index")
    assert index.update_from(posts).added_ids == ["one.md", "three.md", "two.md"]
    (posts / "one.md").write_text("---\ntitle: 缩表\n---\n缩表 量化紧缩\n", "utf-8")
    (posts / "two.md").unlink()
    report = index.update_from(posts)
    assert (report.added_ids, report.updated_ids) == ([], ["one.md"])
    assert (report.deleted_ids, report.unchanged_ids) == (["two.md"], ["three.md"])
    assert report.counts() == {
        "added": 0,
        "updated": 1,
        "deleted": 1,
        "unchanged": 1,
        "skipped": 0,
        "warnings": 0,
    }
    assert report.indexed_count == 1 and report.unchanged_count == 1
    # searchkit 0.1's names still work
    assert (report.updated, report.deleted, report.unchanged, report.indexed) == (
        ["one.md"],
        ["two.md"],
        1,
        1,
    )
    merged = report.merge(report)
    assert merged.unchanged_ids == ["three.md", "three.md"] and merged.updated_count == 2


def test_naive_datetimes_are_china_time_everywhere(handmade_index):
    from datetime import date, datetime, timedelta, timezone

    china = timezone(timedelta(hours=8))
    handmade_index.add(
        [
            Document(
                id="zoned", title="会议", body="会议", date=datetime(2026, 1, 1, 20, tzinfo=china)
            ),
            Document(id="naive", title="会议", body="会议", date=datetime(2026, 1, 1, 20)),
            Document(id="day", title="会议", body="会议", date=date(2026, 1, 2)),
        ]
    )
    dates = {hit.id: hit.date for hit in handmade_index.search("会议", collapse=False)}
    assert dates["naive"] == dates["zoned"] == datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    assert dates["naive"].utcoffset() == timedelta(hours=8)  # aware, as the post said
    assert dates["day"] == datetime(2026, 1, 2, tzinfo=china)
    for since in ("2026-01-02", date(2026, 1, 2), datetime(2026, 1, 2)):
        assert [hit.id for hit in handmade_index.search("会议", since=since)] == ["day"]
    for until in ("2026-01-01", date(2026, 1, 1), datetime(2026, 1, 1, 23, 59)):
        until_hits = handmade_index.search("会议", until=until, collapse=False)
        assert {hit.id for hit in until_hits} == {"zoned", "naive"}
    assert (
        handmade_index.search("会议", since=datetime(2026, 1, 1, 12, tzinfo=timezone.utc)).total
        == 3
    )
    stats = handmade_index.stats()
    assert stats.last_date == datetime(2026, 1, 2, tzinfo=china) and stats.last_date.tzinfo


def test_a_hit_reads_its_body_when_asked_even_after_the_index_is_closed(tmp_path):
    with Index.create(tmp_path / "index") as index:
        index.add(HANDMADE)
        hits = list(index.search("缩表", limit=5, collapse=False))
    assert hits and all("body" not in hit.__dict__ for hit in hits)  # not read yet
    by_id = {doc.id: doc for doc in HANDMADE}
    assert [hit.body for hit in hits] == [by_id[hit.id].body for hit in hits]
    assert all(hit.snippet and hit.marks for hit in hits)


def test_use_after_close_is_an_error(tmp_path):
    from searchkit import IndexClosedError, SearchkitError

    with Index.create(tmp_path / "index") as index:
        index.add(HANDMADE)
        assert index.search("缩表").total
    for use in (
        lambda: index.search("缩表"),
        index.count,
        lambda: index.get("a"),
        lambda: index.add(HANDMADE[0]),
        lambda: index.delete("a"),
        lambda: index.update_from(tmp_path),
        lambda: index.rebuild(tmp_path),
    ):
        with pytest.raises(IndexClosedError, match="was closed") as raised:
            use()
        assert isinstance(raised.value, SearchkitError)
    index.close()  # closing again is fine
    assert Index.open(tmp_path / "index").count() == len(HANDMADE)


def test_lookup_by_id_id_without_suffix_or_path(tmp_path, monkeypatch):
    posts = tmp_path / "posts"
    (posts / "sub").mkdir(parents=True)
    (posts / "sub" / "x.md").write_text("---\ntitle: 缩表\n---\n正文\n", "utf-8")
    index = Index.create(tmp_path / "index")
    index.update_from(posts)
    monkeypatch.chdir(posts)
    for reference in ("sub/x.md", "sub/x", posts / "sub" / "x.md", "sub/../sub/x.md", "./sub/x.md"):
        assert index.lookup(reference).id == "sub/x.md", reference
    with pytest.raises(KeyError):
        index.lookup("x")


def test_count_by_category_and_tag(handmade_index):
    assert handmade_index.count() == 5
    assert handmade_index.count(category="MACRO") == 1
    assert handmade_index.count(tag="资金") == 1
    assert handmade_index.count(category="macro", tag="资金") == 0
    assert handmade_index.count(category="nope") == 0


def test_a_blank_query_with_filters_lists_the_posts_they_let_through(handmade_index):
    from searchkit import QueryError

    assert [hit.id for hit in handmade_index.search("", category="company")] == ["b"]
    newest = handmade_index.search(" ", since="2022", sort="date")
    assert [hit.id for hit in newest] == ["d", "b", "a"]
    with pytest.raises(QueryError):
        handmade_index.search("")
    with pytest.raises(QueryError):
        handmade_index.search("，。", category="company")  # punctuation is not blank


def test_a_rebuild_removes_the_generations_no_reader_uses(tmp_path):
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "x.md").write_text("---\ntitle: 缩表\n---\n正文\n", "utf-8")
    index = Index.create(tmp_path / "index")
    index.update_from(posts)
    first = index.stats().generation
    reader = Index.open(tmp_path / "index")
    assert reader.count() == 1
    index.rebuild()
    second = index.stats().generation
    assert {p.name for p in (tmp_path / "index").glob("gen-*")} == {first, second}  # in use
    reader.close()
    index.rebuild()
    live = index.stats()
    assert [p.name for p in (tmp_path / "index").glob("gen-*")] == [live.generation]
    folder = tmp_path / "index" / live.generation
    assert live.size_bytes == sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def test_user_dictionary_word_count():
    from searchkit.analysis import Analyzer

    assert Analyzer("北向交易资金 100\n量化紧缩 50 n\n# a comment\n\n").user_word_count == 2


def test_open_errors(tmp_path):
    with pytest.raises(IndexNotFoundError, match="searchkit index"):
        Index.open(tmp_path / "nothing")
    Index.create(tmp_path / "index")
    with pytest.raises(IndexExistsError):
        Index.create(tmp_path / "index")
    generation = (tmp_path / "index" / "CURRENT").read_text().strip()
    meta_path = tmp_path / "index" / generation / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["analyzer"] = "0000"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IncompatibleIndexError, match="rebuild"):
        Index.open(tmp_path / "index")
    meta["format"] = 1  # made by searchkit 0.1, before the join fields
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IncompatibleIndexError, match="index format 1, expected 7"):
        Index.open(tmp_path / "index")
    meta["format"] = 2  # before compact word positions (codec.WordPositions)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IncompatibleIndexError, match="index format 2, expected 7"):
        Index.open(tmp_path / "index")
    meta["format"] = 3  # before the join table (joins.py)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IncompatibleIndexError, match="index format 3, expected 7"):
        Index.open(tmp_path / "index")
    meta["format"] = 4  # before the term table (terms.py)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IncompatibleIndexError, match="index format 4, expected 7"):
        Index.open(tmp_path / "index")
    meta["format"] = 5  # before the stored body was a record of its own (stored.py)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IncompatibleIndexError, match="index format 5, expected 7"):
        Index.open(tmp_path / "index")
    meta["format"] = 6  # before documents and weights were stored apart (blocks.py)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(IncompatibleIndexError, match="index format 6, expected 7"):
        Index.open(tmp_path / "index")


def test_user_dictionary_is_recorded_and_used(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("北向交易资金\n", "utf-8")
    index = Index.create(tmp_path / "index", userdict=words)
    index.add([Document(id="x", title="", body="北向交易资金流入")])
    reopened = Index.open(tmp_path / "index")
    assert reopened.analyzer.fingerprint == index.analyzer.fingerprint
    assert "北向交易资金" in reopened.vocabulary()
    assert reopened.search("交易").total == 1


def test_a_second_writer_gets_a_clear_error(tmp_path):
    Index.create(tmp_path / "index")
    with lock(tmp_path / "index"):
        with pytest.raises(IndexLockedError, match="another process"):
            with lock(tmp_path / "index", timeout=0.2):
                pass


@needs_corpus
def test_get_returns_the_stored_document(finews_index):
    doc = finews_index.get(REFERENCE_POST.name)
    assert doc.title.startswith("美联储缩表")
    assert doc.categories == ("quanqiuzhongwenshequ",)
    with pytest.raises(KeyError):
        finews_index.get("missing.md")


@needs_corpus
def test_a_broken_link_is_reported_not_fatal(tmp_path):
    posts = tmp_path / "posts"
    posts.mkdir()
    shutil.copy(REFERENCE_POST, posts)
    (posts / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    index = Index.create(tmp_path / "index")
    report = index.update_from(posts)
    assert report.added == [REFERENCE_POST.name]
    assert [p.path.name for p in report.skipped] == ["dangling.md"]


def test_a_reader_sees_another_writers_commits_and_rebuilds_at_once(tmp_path):
    """A search checks for others' commits with two `stat`s while the index's files are
    as they were at its last full check, and reads them again as soon as they change."""
    import time

    from searchkit.index import RACY_NS

    settle = 2 * RACY_NS / 1e9
    posts = tmp_path / "_posts"
    posts.mkdir()
    (posts / "2022-06-07-qt.md").write_text(
        "---\ntitle: 美联储缩表\ndate: 2022-06-07\n---\n缩表开始了。\n", "utf-8"
    )
    path = tmp_path / "index"
    with Index.create(path) as writer:
        writer.add(HANDMADE[:2])
        reader = Index.open(path)
        time.sleep(settle)  # the files are settled: the quick check applies
        assert reader.search("缩表").total == reader.search("缩表").total == 1
        writer.add(HANDMADE[2:])  # a commit: a new TOC in the generation's folder
        assert reader.search("缩表").total == 2
        writer.delete("a")
        assert reader.search("缩表").total == 1
        time.sleep(settle)
        assert reader.search("缩表").total == 1
        writer.rebuild(posts)  # a new generation, named by a new CURRENT
        assert [hit.title for hit in reader.search("缩表")] == ["美联储缩表"]
        assert reader.generation == writer.generation
    reader.close()
