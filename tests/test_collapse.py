"""Near-duplicates folded into one row: the key (`collapse.py`) and the search path's rows."""

import pytest

from searchkit import Document, Index, schema, storage
from searchkit.collapse import KEY_FIELD, duplicate_key

NOTE = "注：人民币中间价由中国外汇交易中心计算，是银行挂牌汇价的参考。"
NOTICES = [
    Document(
        id=f"notice-{day}",
        title=f"人民币兑美元中间价报6.83{day:02d}，较上日调高{day * 7}点",
        body=f"5月{day}日人民币兑美元中间价报6.83{day:02d}，较上日调高{day * 7}点。{NOTE}",
    )
    for day in range(1, 6)
]
STORY = "人民币汇率韧性凸显，中间价持续走强，专家预计双向波动。"
POSTS = [
    *NOTICES,
    Document(id="story", title="人民币汇率走强", body=STORY),
    Document(id="story-copy", title="转载：人民币汇率走强", body=STORY),
    Document(id="other", title="中间价", body="人民币中间价又一篇，正文不同。"),
    Document(id="lowered", title="中间价报6.8301，较上日调低7点", body=f"调低7点。{NOTE}"),
]


@pytest.fixture
def notices_index(tmp_path):
    index = Index.create(tmp_path / "index")
    index.add(POSTS)
    return index


def rows(results):
    return {hit.id.split("-")[0]: hit.duplicates for hit in results}


def test_the_key_ignores_digits_dates_and_whitespace_only():
    assert len({duplicate_key(doc.title, doc.body) for doc in NOTICES}) == 1
    assert duplicate_key("", "报６.８３，调高 12 点") == duplicate_key("", "报6.83，调高12点")
    assert duplicate_key("", "调高12点") != duplicate_key("", "调低12点")
    assert duplicate_key("a", STORY) == duplicate_key("b", STORY)  # the same body
    assert duplicate_key("标题1", "") == duplicate_key("标题2", "")  # no body: the title
    assert duplicate_key("标题", "") != duplicate_key("另一个", "")


def test_near_duplicates_are_one_row_with_how_many_more(notices_index):
    results = notices_index.search("中间价")
    assert results.total == results.exact_total == len(POSTS)
    assert rows(results) == {"notice": 4, "story": 1, "other": 0, "lowered": 0}
    assert (results.rows, results.collapsed) == (4, 5)
    assert len(results) == 4


def test_collapse_false_shows_every_post(notices_index):
    results = notices_index.search("中间价", collapse=False)
    assert sorted(hit.id for hit in results) == sorted(doc.id for doc in POSTS)
    assert all(hit.duplicates == 0 for hit in results)
    assert (results.total, results.rows, results.collapsed) == (len(POSTS), len(POSTS), 0)


def test_the_row_is_the_best_ranked_of_its_key(notices_index):
    every = notices_index.search("中间价", limit=20, collapse=False)
    best = next(hit.id for hit in every if hit.id.startswith("notice"))
    assert best in [hit.id for hit in notices_index.search("中间价")]


@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pages_of_rows_make_one_ranking_with_one_total(notices_index, sort, limit):
    whole = notices_index.search("中间价", limit=20, sort=sort)
    offsets = range(0, whole.rows + limit, limit)  # and a page past the end
    pages = [notices_index.search("中间价", limit=limit, offset=o, sort=sort) for o in offsets]
    assert [hit.id for page in pages for hit in page] == [hit.id for hit in whole]
    assert {(p.total, p.exact_total, p.rows, p.collapsed) for p in pages} == {
        (whole.total, whole.exact_total, whole.rows, whole.collapsed)
    }


def test_a_key_met_in_the_exact_tier_folds_its_best_match_posts(notices_index):
    # 调高 is in every notice but the "lowered" one: a best-match hit on the question's words
    # that repeats an exact hit's notice is folded into the exact row.
    results = notices_index.search("中间价调高了吗")
    notice_rows = [hit for hit in results if hit.id.startswith("notice")]
    assert len(notice_rows) == 1


def test_an_index_without_keys_is_not_collapsed(tmp_path, monkeypatch):
    """An index built before the keys existed: writing to it leaves the key out (Whoosh would
    reject the unknown field) and its searches show every post."""

    def old_schema():
        fields = schema.make_schema()
        fields.remove(KEY_FIELD)
        return fields

    monkeypatch.setattr(storage, "make_schema", old_schema)
    index = Index.create(tmp_path / "index")
    monkeypatch.undo()
    index.add(POSTS)
    results = index.search("中间价")
    assert (len(results), results.collapsed) == (len(POSTS), 0)


@pytest.mark.needs_corpus
def test_daily_rate_notices_fold_on_the_finance_posts(corpus_index):
    # 39 of the 74 finance posts on 人民币汇率 (75 with finews) are 同花顺's daily 中间价
    # notices: 21 "调高", 18 "调低"; each kind is one row.
    every = corpus_index.search("人民币汇率", limit=100, collapse=False)
    folded = corpus_index.search("人民币汇率", limit=100)
    assert every.total == folded.total == len(every) == 75
    notices = [hit for hit in folded if "中间价报" in hit.title and "ths" in hit.categories]
    assert sorted(hit.duplicates for hit in notices) == [17, 20]
    assert len(folded) == folded.rows == 75 - 37


def test_an_archive_of_reposts_ranks_only_as_deep_as_its_rows_need(tmp_path, monkeypatch):
    """Every story posted three times: a page's rows are the best-ranked post of each of the
    first stories in the uncollapsed ranking, found by ranking a few times the page deeper,
    not two thirds of the matches (every folded post)."""
    from searchkit import searching

    # Sixty stories told apart by their words, not their digits (which the key ignores).
    names = [stem + branch for branch in "子丑寅卯辰巳" for stem in "甲乙丙丁戊己庚辛壬癸"]
    stories = [
        f"{name}消息：人民币汇率{'走强' * (n % 7 + 1)}，市场{'关注' * (n % 5 + 1)}。"
        for n, name in enumerate(names)
    ]
    posts = [
        Document(id=f"s{n}-{copy}", title=f"消息{n}", body=story)
        for n, story in enumerate(stories)
        for copy in range(3)
    ]
    index = Index.create(tmp_path / "index")
    index.add(posts)
    every = [hit.id for hit in index.search("人民币 走强", limit=len(posts), collapse=False)]
    first_of_story = list(dict.fromkeys(hit.split("-")[0] for hit in every))
    depths, original = [], searching._collect

    def collect(searcher, whoosh_query, limit, *rest, **options):
        depths.append(limit)  # how deep a tier is ranked
        return original(searcher, whoosh_query, limit, *rest, **options)

    monkeypatch.setattr(searching, "_collect", collect)
    for offset in (0, 5, 50):
        depths.clear()
        page = index.search("人民币 走强", limit=5, offset=offset)
        assert [hit.id.split("-")[0] for hit in page] == first_of_story[offset : offset + 5]
        assert all(hit.duplicates == 2 for hit in page)
        assert page.rows == len(stories)
        if offset == 0:  # its 5 rows: 15 posts; it ranked as deep as 120 folded posts
            assert max(depths) < len(stories)
    index.close()
