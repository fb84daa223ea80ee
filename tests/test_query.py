import pytest

from searchkit import Document, Index, QueryError
from searchkit.query import parse, parse_date_range


def ids(results):
    return [hit.id for hit in results]


def exact_ids(results):
    return [hit.id for hit in results if hit.exact]


def test_cjk_terms_match_as_substrings(handmade_index):
    assert sorted(ids(handmade_index.search("缩表"))) == ["a", "e"]
    assert exact_ids(handmade_index.search("逆回购")) == ["a"]
    assert sorted(ids(handmade_index.search("回购"))) == ["a", "b", "c"]


def test_best_match_hits_rank_below_the_others(handmade_index):
    results = handmade_index.search("逆回购")  # 逆回购 is no word of this index: 回购 counts
    assert ids(results)[0] == "a" and results.exact_total == 1 < results.total
    assert [hit.match for hit in results][1:] == ["relaxed"] * (results.total - 1)
    assert ids(handmade_index.search("逆回购", exact_only=True)) == ["a"]


def test_a_match_across_jieba_words_is_found(handmade_index):
    # 降息 / 预期: the query crosses the word boundary
    assert ids(handmade_index.search("息预")) == ["d"]
    assert ids(handmade_index.search("资")) == ["d", "c"] or sorted(
        ids(handmade_index.search("资"))
    ) == ["c", "d"]


def test_unquoted_compound_is_not_split_into_words(handmade_index):
    # the naive engine ANDs 北向 + 资金 and matches 北向交易资金 (post c)
    assert ids(handmade_index.search("北向资金")) == ["d"]
    assert ids(handmade_index.search('"北向资金"')) == ["d"]


def test_traditional_and_fullwidth_queries(handmade_index):
    assert sorted(ids(handmade_index.search("縮表"))) == ["a", "e"]
    assert ids(handmade_index.search("ＭＬＦ")) == ["e"]
    assert ids(handmade_index.search("mlf")) == ["e"]
    assert ids(handmade_index.search("聯準會", synonyms=False)) == ["e"]


def test_a_post_containing_the_query_is_found_whatever_the_characters_around(tmp_path):
    # OpenCC converting whole texts made 一批覆盖 一批复盖 (批覆 -> 批复) and 破坏土 破坯土
    # (坏土 -> 坯土): normalized, the post no longer contained 覆盖 or 破坏.
    index = Index.create(tmp_path / "index")
    index.add(
        [
            Document(id="1", title="", body="数字化一批覆盖产业链的平台"),
            Document(id="2", title="", body="其目的是破坏土耳其的稳定"),
            Document(id="3", title="", body="數字化一批覆蓋產業鏈的平台"),
        ]
    )
    for query, found, marked in (
        ("覆盖", ["1", "3"], ["覆盖", "覆蓋"]),
        ("批覆", ["1", "3"], ["批覆", "批覆"]),
        ("破坏", ["2"], ["破坏"]),
    ):
        hits = sorted(index.search(query, exact_only=True), key=lambda hit: hit.id)
        assert [hit.id for hit in hits] == found, query
        assert [[hit.snippet[start:end] for start, end in hit.marks] for hit in hits] == [
            [text] for text in marked
        ], query
    index.close()


def test_synonyms_rank_below_literal_hits_and_are_marked(handmade_index):
    results = handmade_index.search("聯準會")  # Taiwan's name for the Fed: post e says it
    assert [(hit.id, hit.match) for hit in results] == [("e", "exact"), ("a", "synonym")]
    assert (results.total, results.exact_total, results.synonym_total) == (2, 1, 1)
    assert results[1].snippet[slice(*results[1].marks[0])] == "美联储"
    assert ids(handmade_index.search("聯準會", synonyms=False)) == ["e"]
    assert ids(handmade_index.search("量化紧缩")) == ["a", "e"] or sorted(
        ids(handmade_index.search("量化紧缩"))
    ) == ["a", "e"]
    assert all(hit.match == "synonym" for hit in handmade_index.search("量化紧缩"))


def test_synonyms_from_the_index_folder_and_from_the_caller(handmade_index):
    from searchkit.synonyms import Synonyms

    assert handmade_index.search("北上通道").total == 0
    (handmade_index.path / "synonyms.txt").write_text("北上通道, 北向资金\n", encoding="utf-8")
    assert ids(handmade_index.search("北上通道")) == ["d"]
    mine = Synonyms.from_groups([["北上通道", "回购计划"]])
    assert ids(handmade_index.search("北上通道", synonyms=mine)) == ["b"]
    assert handmade_index.search("北上通道", synonyms=False).total == 0


def test_did_you_mean_suggests_a_query_that_finds_something(handmade_index):
    results = handmade_index.search("北向资今")  # a typo: 今 for 金
    assert results.exact_total == 0 and results.suggestion == "北向资金"
    assert handmade_index.search("北向资金").suggestion is None
    assert handmade_index.search("zzqqxx").suggestion is None


@pytest.mark.needs_corpus
def test_similar_posts(finews_index):
    doc_id = "2022-06-07-202206072404046437.md"  # 美联储缩表，谁来"接盘"？
    results = finews_index.similar(doc_id, limit=5)
    assert len(results) == 5 and doc_id not in ids(results)
    assert all(hit.score > 0 and hit.match == "relaxed" for hit in results)
    assert any("美联储" in hit.title or "缩表" in hit.title for hit in results[:3])
    with pytest.raises(KeyError):
        finews_index.similar("no/such/post.md")


def test_latin_terms_match_whole_tokens(handmade_index):
    assert ids(handmade_index.search("srf")) == ["c"]
    assert ids(handmade_index.search("sr")) == []
    assert ids(handmade_index.search('"federal reserve"')) == ["e"]
    assert ids(handmade_index.search('"reserve federal"')) == []


def test_whole_word_ranks_above_in_word(handmade_index):
    results = handmade_index.search("回购")
    assert results[-1].id == "a"  # a only says 逆回购


def test_operators(handmade_index):
    assert ids(handmade_index.search("缩表 -逆回购")) == ["e"]
    assert ids(handmade_index.search("缩表 NOT 逆回购")) == ["e"]
    assert sorted(ids(handmade_index.search("缩表 OR 回购"))) == ["a", "b", "c", "e"]
    assert ids(handmade_index.search("缩表 隔夜")) == ["a", "e"]  # e: best match on 缩表
    assert exact_ids(handmade_index.search("缩表 隔夜")) == ["a"]
    assert sorted(ids(handmade_index.search("title:回购"))) == ["b", "c"]
    assert ids(handmade_index.search("body:缩表 title:美联储")) == ["a"]


def test_field_filters(handmade_index):
    assert ids(handmade_index.search("category:company 回购")) == ["b"]
    assert ids(handmade_index.search("tag:资金")) == ["d"]
    assert sorted(ids(handmade_index.search("date:2022-06"))) == ["a", "b"]
    assert ids(handmade_index.search("date:2022-06-08..")) == ["b", "d"] or sorted(
        ids(handmade_index.search("date:2022-06-08.."))
    ) == ["b", "d"]
    assert ids(handmade_index.search("回购", since="2022-06-08", until="2022-06-08")) == ["b"]
    assert ids(handmade_index.search("回购", category="company")) == ["b"]
    assert ids(handmade_index.search("缩表", tag="美联储")) == ["a"]


def test_sort_by_date(handmade_index):
    assert ids(handmade_index.search("回购 OR 缩表 OR 资金", sort="date")) == [
        "d",
        "b",
        "a",
        "c",
        "e",
    ]


def test_pagination(handmade_index):
    everything = ids(handmade_index.search("回购 OR 缩表", limit=10))
    page1 = ids(handmade_index.search("回购 OR 缩表", limit=2))
    page2 = ids(handmade_index.search("回购 OR 缩表", limit=2, offset=2))
    assert page1 + page2 == everything[:4]
    assert handmade_index.search("回购 OR 缩表", limit=2).total == len(everything)


def test_an_unspaced_query_finds_its_words_apart(handmade_index):
    """Post a says 美联储开始缩表。隔夜逆回购: every word, never side by side as typed."""
    results = handmade_index.search("美联储开始缩表隔夜")
    assert results.exact_total == 1 and results[0].id == "a" and results[0].exact
    assert set(results.terms) == {"美联储", "开始", "缩表", "隔夜"}
    assert all(not hit.exact for hit in results[1:])
    assert handmade_index.search("美联储开始缩表隔夜", exact_only=True).total == 0
    assert handmade_index.search('"美联储开始缩表隔夜"').total == 0  # a phrase stays whole


def test_question_words_are_not_required(handmade_index):
    results = handmade_index.search("美联储什么时候开始缩表")
    assert results.exact_total == 1 and results[0].id == "a"


def test_a_query_whose_words_are_apart_is_never_empty(handmade_index):
    results = handmade_index.search("回购降息")  # no post has both
    assert results.exact_total == 0 and sorted(ids(results)) == ["b", "d"]  # 回购, 降息
    assert {hit.match for hit in results} == {"relaxed"}


def test_letters_and_digits_typed_together_find_their_parts(tmp_path):
    index = Index.create(tmp_path / "index")
    index.add(
        [
            Document(id="1", title="Epson Stylus Photo R310 驱动下载", body=""),
            Document(id="2", title="三星 galaxya700 报价", body=""),
            Document(id="3", title="Photo 下载", body=""),
        ]
    )
    assert ids(index.search("epsonstylusphotor310驱动下载"))[0] == "1"
    assert ids(index.search("galaxya7")) == ["2"]
    assert index.search("galaxya7", exact_only=True).total == 0
    index.close()


def test_totals_are_the_same_on_every_page(handmade_index):
    everything = ids(handmade_index.search("回购降息"))
    pages = [handmade_index.search("回购降息", limit=1, offset=n) for n in range(3)]
    assert {(page.total, page.exact_total) for page in pages} == {(2, 0)}
    assert [ids(page) for page in pages] == [[everything[0]], [everything[1]], []]


def test_a_keyword_nothing_contains_finds_nothing(handmade_index):
    assert handmade_index.search("缩紧").total == 0


@pytest.mark.parametrize(
    "bad",
    [
        "OR",
        "缩表 OR",
        "NOT",
        "title:",
        "date:2022-13",
        "date:abc",
        "date:..",
        "",
        "   ",
        "，。",
    ],
)
def test_malformed_queries_raise_query_error(handmade_index, bad):
    with pytest.raises(QueryError):
        handmade_index.search(bad)


@pytest.mark.parametrize(
    "odd",
    [
        "-",
        "a:b",
        "foo:缩表",
        "(缩表",
        "缩表)",
        "*",
        "回购*",
        "🙂",
        "缩表\0降准",
        "x" * 1500,
        "回" * 1500,
        "OR 缩表",
        "-缩表",
    ],
)
def test_odd_queries_return_results_or_a_query_error(handmade_index, odd):
    try:
        handmade_index.search(odd)
    except QueryError as error:
        assert str(error)


def test_parse_structure():
    parsed = parse('缩表 OR 量化紧缩 "北向 资金" -降准 title:美联储')
    assert [[c.text for c in g] for g in parsed.groups] == [
        ["缩表", "量化紧缩"],
        ["北向 资金"],
        ["降准"],
        ["美联储"],
    ]
    assert parsed.groups[2][0].negated
    assert parsed.groups[3][0].field == "title"


def test_date_ranges_are_read_in_utc_plus_8():
    start, end = parse_date_range("2022-06")
    assert (start.isoformat(), end.isoformat()) == ("2022-05-31T16:00:00", "2022-06-30T16:00:00")


def test_terms_close_together_rank_higher(tmp_path):
    from searchkit import Document, Index

    filler = "市场情绪平稳，成交量一般。" * 20
    index = Index.create(tmp_path / "index")
    index.add(
        [
            Document(id="far", title="", body="央行" + filler + "降准"),
            Document(id="near", title="", body=filler + "央行宣布降准" + filler[:-4]),
        ]
    )
    assert ids(index.search("央行 降准")) == ["near", "far"]


def test_title_matches_rank_above_body_matches(tmp_path):
    from searchkit import Document, Index

    index = Index.create(tmp_path / "index")
    index.add(
        [
            Document(id="body", title="市场综述", body="今日央行宣布降准，市场反应平稳。"),
            Document(id="title", title="央行宣布降准", body="今日市场反应平稳，成交量一般。"),
        ]
    )
    assert ids(index.search("降准")) == ["title", "body"]


def test_stray_quotes_are_punctuation(handmade_index):
    assert ids(handmade_index.search("”缩表“")) and ids(handmade_index.search("“缩表"))
    assert ids(handmade_index.search('"北向资金')) == ids(handmade_index.search("北向资金"))
    assert sorted(ids(handmade_index.search("“缩表”"))) == ["a", "e"]


def test_a_question_with_a_quoted_phrase_is_relaxed(handmade_index):
    """Quoted words inside a question do not turn best-match off (“一轴”指的是什么？)."""
    results = handmade_index.search("“缩表”指的是什么？")
    assert results.exact_total == 0 and results[0].id in ("a", "e")
    assert handmade_index.search('"美联储开始缩表隔夜"').total == 0  # one phrase: exact only
    assert handmade_index.search("title:缩表隔夜").total == 0  # a field search: no best match


def test_a_one_word_query_skips_the_relaxed_tier_that_could_only_find_earlier_hits(
    handmade_index, monkeypatch
):
    from searchkit import query
    from searchkit.query import build

    vocab, analyzer = handmade_index.vocabulary(), handmade_index.analyzer
    assert "缩表" in vocab
    assert build(parse("缩表"), vocab, analyzer, False).relaxed is None
    # With synonyms: the relaxed tier's synonym parts are the synonym tier's texts again.
    synonyms = handmade_index.synonyms()
    assert synonyms.alternatives("加息") and "加息" in vocab
    assert build(parse("加息"), vocab, analyzer, False, synonyms).relaxed is None
    # Two words, or a text that is no indexed word, can find posts beyond the exact hits.
    assert build(parse("缩表 加息"), vocab, analyzer, False).relaxed is not None
    assert "缩表隔夜" not in vocab
    assert build(parse("缩表隔夜"), vocab, analyzer, False).relaxed is not None
    # A one-word search finds and ranks what it did with the tier run.
    words = ["缩表", "美联储", "加息", "mlf"]
    skipped = [handmade_index.search(word).to_dict() for word in words]
    monkeypatch.setattr(query, "_finds_only_earlier_hits", lambda relaxed, exact, synonym: False)
    assert [handmade_index.search(word).to_dict() for word in words] == skipped
    assert all(result["total"] > 0 for result in skipped)


@pytest.mark.needs_corpus
@pytest.mark.parametrize(
    "question",
    [
        "美联储为什么要缩表？",
        "央行逆回购操作对市场流动性有什么影响",
        "北向资金今天净流入多少亿元？",
        "人民币汇率和美元指数的关系是什么",
    ],
)
def test_best_match_ranks_and_counts_like_whoosh(corpus_index, question):
    """BestMatch sums the scores itself: the same hits, scores and total as Whoosh's Or
    (and AndMaybe) of the same parts, over an index of two segments."""
    from whoosh import query as wq

    from searchkit.query import build
    from searchkit.searching import collect

    searcher = corpus_index.searcher()
    plan = build(parse(question), corpus_index.vocabulary(), corpus_index.analyzer, False)
    best = plan.relaxed
    assert best.required
    whoosh = wq.Or(best.required)
    if best.optional:
        whoosh = wq.AndMaybe(whoosh, wq.Or(best.optional))
    ours = collect(searcher, best, 20, None, None, "relevance")
    theirs = collect(searcher, whoosh, 20, None, None, "relevance")
    assert len(ours) == len(theirs) > 0
    assert [(h.docnum, round(h.score, 9)) for h in ours] == [
        (h.docnum, round(h.score, 9)) for h in theirs
    ]


@pytest.mark.needs_corpus
@pytest.mark.parametrize(
    "question", ["美联储 加息", "央行 -降准", "中国", "人民币汇率和美元指数的关系是什么"]
)
def test_top_hits_are_those_of_whoosh_collector(corpus_index, question):
    """`top_hits` picks the best hits from the matchers' scores itself: the same hits, order
    (ties to the lower document number), total and document set as Whoosh's collector,
    with and without a mask of documents already shown by an earlier tier, and with filters
    (the documents they let through)."""
    from whoosh import collectors
    from whoosh import query as wq

    from searchkit.query import build, coerce_date
    from searchkit.searching import top_hits

    searcher = corpus_index.searcher()
    dates = wq.DateRange(
        "date", coerce_date("2023", end=False), coerce_date("2026-06", end=True), endexcl=True
    )
    plan = build(parse(question), corpus_index.vocabulary(), corpus_index.analyzer, False)
    for whoosh_query in filter(None, [plan.exact, plan.synonym, plan.relaxed]):
        for mask, filters in [
            (None, None),
            ({0, 1, 2, 200, 1500}, None),
            (None, dates),
            ({0, 1, 2, 200, 1500}, wq.Term("categories", "cls")),
        ]:
            collector = collectors.TopCollector(10, usequality=False, replace=0)
            if mask or filters:
                collector = collectors.FilterCollector(collector, filters, mask)
            searcher.search_with_collector(whoosh_query, collector)
            allowed = None if filters is None else set(searcher.docs_for_query(filters))
            theirs, ours = collector.results(), top_hits(searcher, whoosh_query, 10, mask, allowed)
            assert [(h.docnum, h.score) for h in ours] == [(h.docnum, h.score) for h in theirs]
            assert len(ours) == len(theirs) and ours.docs() == theirs.docs()


@pytest.mark.needs_corpus
@pytest.mark.parametrize("question", ["美联储 加息", "央行 -降准", "中国", "基金"])
def test_newest_hits_are_those_of_whoosh_sorting_collector(corpus_index, question):
    """`_newest` sorts the matches by the date column itself: the same hits, order (ties to
    the higher document number), scores (the date keys), total and document set as Whoosh's
    `SortingCollector`, with masks and filters as the search's tiers give them."""
    from whoosh import collectors

    from searchkit.query import build
    from searchkit.searching import _filters, _newest

    searcher = corpus_index._current_searcher()
    plan = build(parse(question), corpus_index.vocabulary(), corpus_index.analyzer, False)
    for whoosh_query in filter(None, [plan.exact, plan.synonym, plan.relaxed]):
        for limit, mask, filters in [
            (10, None, None),
            (3000, None, None),  # every match: undated posts and ties included
            (10, {0, 1, 2, 200, 1500}, None),
            (25, None, _filters("2023", "2026-06", None, None)),
            (10, {0, 1, 2, 200, 1500}, _filters(None, None, "cls", None)),
        ]:
            collector = collectors.SortingCollector("date", limit=limit, reverse=True)
            if mask or filters:
                collector = collectors.FilterCollector(collector, filters, mask)
            searcher.search_with_collector(whoosh_query, collector)
            allowed = None if filters is None else set(searcher.docs_for_query(filters))
            theirs = collector.results()
            ours = _newest(searcher, whoosh_query, limit, mask, allowed)
            assert [(h.docnum, h.score) for h in ours] == [(h.docnum, h.score) for h in theirs]
            assert len(ours) == len(theirs) and ours.docs() == theirs.docs()


def _pages(index, questions: list[str]) -> list:
    """Every figure of a search a reader sees, for the questions, over pages, sorts,
    collapsing and filters."""
    seen = []
    for question in questions:
        for options in [
            {"limit": 10},
            {"limit": 7, "offset": 7},
            {"limit": 5, "offset": 40},
            {"limit": 10, "sort": "date"},
            {"limit": 12, "collapse": False},
            {"limit": 10, "since": "2023", "until": "2026-06"},
            {"limit": 10, "category": "cls"},
        ]:
            results = index.search(question, **options)
            seen.append(
                (
                    question,
                    options,
                    results.total,
                    results.exact_total,
                    results.synonym_total,
                    results.collapsed,
                    [(h.id, h.score, h.match, h.duplicates) for h in results],
                )
            )
    return seen


@pytest.mark.needs_corpus
def test_pruned_best_matches_search_as_scoring_every_posting(corpus_index, monkeypatch):
    """Headlines and questions searched with best matches ranked by MaxScore
    (`scoring.BestMatchPostings`) give the same hits, order, scores to the bit and totals, on every
    page, newest first, uncollapsed and filtered, as with every posting scored; also when
    some of a best match's parts are texts rather than words (`scoring._Scored`)."""
    from corpus import FINANCE

    from searchkit import load_posts, scoring, searching

    titles = [post.title for post in list(load_posts(FINANCE))[::60]]
    questions = [*titles, "美联储加息对人民币汇率的影响", "央行 降准 -美元", "基金 的 风险"]
    # Best matches with parts that are no indexed word: a synonym (人工智慧 of 人工智能),
    # a word jieba cut that no post has (黄华麒是), letters and digits typed together.
    questions += ["人工智能产业加速发展", "黄华麒是哪家公司的董事长", "3dmax2014安装教程"]
    ranked, texts = [], []

    def top(postings, limit, *args):
        ranked.append(limit)
        parts = postings.words + postings.extras
        texts.extend(part for part in parts if isinstance(part, scoring._Scored))
        return original(postings, limit, *args)

    original = scoring.BestMatchPostings.top
    monkeypatch.setattr(scoring.BestMatchPostings, "top", top)
    pruned = _pages(corpus_index, questions)
    assert len(ranked) > len(questions)  # the relaxed tiers, at least, ranked by MaxScore
    assert texts  # ... among them best matches with parts other than words
    monkeypatch.setattr(searching, "prunable", lambda best, searcher: False)
    assert _pages(corpus_index, questions) == pruned


@pytest.mark.needs_corpus
def test_exact_tiers_ranked_apart_search_as_scoring_every_match(corpus_index, monkeypatch):
    """Common queries whose exact tier has many matches and a proximity part, ranked with
    the spans of only the documents that can rank (`setwise.best_of`), give the same hits,
    order, scores to the bit and totals, on every page, newest first, uncollapsed and
    filtered, as with every match's spans found."""
    from searchkit import searching, setwise

    questions = ["美联储 加息", "央行 降准", "人民币 汇率", "市场 资金 流入", "美股 收盘 -纳指"]
    ranked = []  # (matches kept, spans looked for)

    def best_of(whoosh_query, searcher, context, limit, excluded=None, allowed=None):
        found, scores = original(whoosh_query, searcher, context, limit, excluded, allowed)
        ranked.append((len(found), len(scores)))
        return found, scores

    original = setwise.best_of
    monkeypatch.setattr(setwise, "best_of", best_of)
    pruned = _pages(corpus_index, questions)
    assert any(scored < found for found, scored in ranked)  # some tiers left spans unfound
    monkeypatch.setattr(setwise, "ranks_apart", lambda whoosh_query: False)
    monkeypatch.setattr(searching, "_keep", lambda cache, key, value: None)  # nothing kept
    corpus_index._current_searcher().__dict__.pop("_searchkit_matches", None)
    assert _pages(corpus_index, questions) == pruned


@pytest.mark.needs_corpus
def test_a_tier_after_a_full_page_is_counted_not_ranked(corpus_index, monkeypatch):
    """Once the earlier tiers fill the page, a tier's matches are counted without ranking
    them (`searching._matched`): the same totals, rows and hits on every page as when every
    tier ranks its best."""
    from searchkit import searching

    questions = ["美联储 加息", "央行 降准", "人民币汇率", "美联储为什么要缩表？", "基金 -债券"]
    counted = []

    def matched(searcher, whoosh_query, filters, mask):
        counted.append(whoosh_query)
        return original(searcher, whoosh_query, filters, mask)

    original = searching._matched
    monkeypatch.setattr(searching, "_matched", matched)
    unranked = _pages(corpus_index, questions)
    assert counted  # some tiers came after a full page
    ranking = lambda searcher, whoosh_query, filters, mask: searching._collect(  # noqa: E731
        searcher, whoosh_query, 1, filters, mask, "relevance"
    )
    monkeypatch.setattr(searching, "_matched", ranking)
    assert _pages(corpus_index, questions) == unranked


def test_a_character_nearly_every_post_has_is_not_required_by_the_exact_tier(tmp_path):
    """学校总占地面积 is searched as 学校, 总, 占地面积: a post must hold every word to be a
    full match, but 总 is in nearly every post here (its words 总体, 总结, 总是 have more
    postings than twice the posts), so requiring it filters nothing and costs the postings
    of every word containing it: a post with 学校 and 占地面积 is a full match without it,
    and 总 still adds to the best match. A rarer character (杀) stays required."""
    from searchkit.matching import in_nearly_every_post
    from searchkit.query import build

    filler = "总体而言，总结起来，总是如此。"
    index = Index.create(tmp_path / "index")
    assert not in_nearly_every_post(index.searcher(), index.vocabulary(), "总")  # no posts
    index.add(
        [
            Document(id="1", title="学校概况", body="学校占地面积很大。" + filler),
            Document(id="2", title="学校概况", body="学校占地面积很大。"),
            Document(id="3", title="新闻", body=filler + "凶手杀人。"),
            Document(id="4", title="新闻", body=filler),
        ]
    )
    searcher, vocab = index.searcher(), index.vocabulary()
    assert in_nearly_every_post(searcher, vocab, "总")
    assert not in_nearly_every_post(searcher, vocab, "杀")
    results = index.search("学校总占地面积")
    assert sorted(exact_ids(results)) == ["1", "2"] and results.total == 2
    plan = build(parse("学校总占地面积"), vocab, index.analyzer, False, None, lambda c: c == "总")
    texts = {leaf.plan.text for leaf in plan.exact.leaves() if hasattr(leaf, "plan")}
    assert texts == {"学校", "占地面积"}
    relaxed = {
        leaf.plan.text if hasattr(leaf, "plan") else leaf.text for leaf in plan.relaxed.leaves()
    }
    assert "总" in relaxed
    # Without `everywhere`, or in exact mode, every word is required as before.
    plan = build(parse("学校总占地面积"), vocab, index.analyzer, False)
    assert "总" in {leaf.plan.text for leaf in plan.exact.leaves() if hasattr(leaf, "plan")}
    assert exact_ids(index.search("学校总占地面积", exact_only=True)) == []
    # A rarer character stays required: only post 3 has 杀 with 凶手.
    assert exact_ids(index.search("凶手杀")) == ["3"]
    index.close()


def test_a_text_of_common_characters_alone_still_requires_them(tmp_path):
    """When every word of a split text is such a character, none is left out: the exact
    tier would require nothing."""
    from searchkit.query import build

    index = Index.create(tmp_path / "index")
    index.add([Document(id="1", title="", body="猫怎么养")])
    vocab = index.vocabulary()
    plan = build(parse("猫怎么养"), vocab, index.analyzer, False, None, lambda c: True)
    assert {leaf.plan.text for leaf in plan.exact.leaves() if hasattr(leaf, "plan")} == {
        "猫",
        "养",
    }
    index.close()
