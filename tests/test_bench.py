"""The benchmark runner's pure helpers (`tests/bench/bench.py`): corpus replication past the
corpus's end, the headline queries, the scale and growth tables, the tantivy engine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

# Appended, not prepended: tests/bench has its own history.py beside tests/history.py.
sys.path.append(str(Path(__file__).parent / "bench"))
import bench  # noqa: E402
import blockmax  # noqa: E402
import growth  # noqa: E402

from searchkit.collapse import duplicate_key  # noqa: E402

RECORDS = [
    {"id": "n1", "title": "长江经济带", "body": "长江经济带生态环境保护发生了转折性变化。"},
    {"id": "n2", "title": "央行降息", "body": "央行宣布降息25个基点。"},
]


def test_replicas_are_new_posts_that_do_not_collapse_into_their_originals():
    copies = bench.replicas(RECORDS, 5)
    assert [c["id"] for c in copies] == ["n1-copy1", "n2-copy1", "n1-copy2", "n2-copy2", "n1-copy3"]
    assert [c["title"] for c in copies] == [r["title"] for r in RECORDS * 3][:5]
    assert all(c["body"].startswith(RECORDS[n % 2]["body"]) for n, c in enumerate(copies))
    keys = [duplicate_key(r["title"], r["body"]) for r in RECORDS + copies]
    assert len(set(keys)) == len(keys)


def test_copy_tags_are_letters_so_the_duplicate_key_keeps_them():
    assert [bench.copy_tag(n) for n in (1, 2, 26, 27, 52, 703)] == [
        "copya",
        "copyb",
        "copyz",
        "copyaa",
        "copyaz",
        "copyaaa",
    ]


@pytest.mark.needs_corpus
def test_load_corpus_fills_past_its_end_with_copies_of_its_news_only():
    whole = bench.load_corpus("xwlb-2022+cmrc")
    assert bench.load_corpus("xwlb-2022+cmrc", 300) == whole[:300]
    grown = bench.load_corpus("xwlb-2022+cmrc", len(whole) + 3)
    assert grown[: len(whole)] == whole
    news = [r for r in whole if not r["id"].startswith("cmrc")]
    assert [r["id"] for r in grown[len(whole) :]] == [f"{r['id']}-copy1" for r in news[:3]]


@pytest.mark.needs_corpus  # the natural-language queries come from the CMRC set
def test_headline_queries_come_from_the_originals_whatever_the_size():
    options = argparse.Namespace(nl_queries=0, headlines=2)
    before = bench.query_sets(RECORDS, options)["headline"]
    after = bench.query_sets(RECORDS + bench.replicas(RECORDS, 6), options)["headline"]
    assert before == after == ["长江经济带", "央行降息"]


def run(documents: int, p50s: dict[str, float]) -> dict:
    """One size's figures as `bench.measure` returns them, with a first-run keyword p50."""
    figures = {"documents": documents, "text_bytes": 2 * bench.MB}
    for name, p50 in p50s.items():
        build = {
            "seconds": 1.5,
            "peak_pss_mb": 100.0,
            "peak_rss_mb": 120.0,
            "index_bytes": bench.MB,
        }
        figures[name] = {"build": build, "keyword_first": {"p50_ms": p50, "p95_ms": 2 * p50}}
    return figures


def test_scale_rows_give_each_engine_of_each_size_a_row():
    runs = [run(20_000, {"searchkit": 2.0, "naive": 1.0}), run(60_000, {"searchkit": 3.0})]
    table = bench.scale_rows(runs)
    assert [row[:2] for row in table] == [
        ["20,000", "searchkit"],
        ["20,000", "Whoosh + jieba"],
        ["60,000", "searchkit"],
    ]
    assert table[0][2:6] == ["1.5", "100 / 120", "1.0 (0.50×)", "2.0 / 4.0"]
    assert table[0][6] == "- / -"  # no warm keyword figures in this run
    assert len(bench.scale_head()) == len(table[0])


def test_growth_rows_divide_each_size_by_the_one_before():
    runs = [
        run(20_000, {"searchkit": 2.0, "naive": 1.0}),
        run(60_000, {"searchkit": 3.0, "naive": 4.0}),
        run(200_000, {"searchkit": 6.0}),
    ]
    table = bench.growth_rows(runs)
    assert table == [
        ["searchkit", "keyword", "1.50×", "2.00×"],
        ["Whoosh + jieba", "keyword", "4.00×", "-"],
    ]
    assert bench.growth_head(runs) == [
        "engine",
        "query kind",
        "20,000 → 60,000",
        "60,000 → 200,000",
    ]


def test_tantivy_finds_a_post_by_any_word_of_the_query(tmp_path):
    pytest.importorskip("tantivy")
    bench.build_tantivy(RECORDS, tmp_path / "tantivy")
    engine = bench.TantivyEngine(tmp_path / "tantivy")
    assert engine.search("长江") == ["n1"]
    assert set(engine.search("长江 央行")) == {"n1", "n2"}  # an OR, as the Whoosh baseline's
    assert engine.matching_ids("降息") == {"n2"}
    assert engine.search("的") == []  # the baseline's stop list leaves no word: no hits


def test_engines_put_searchkit_first_and_refuse_an_unknown_one():
    def engines(text, skip_baseline=False):
        return bench.parse_engines(argparse.Namespace(engines=text, skip_baseline=skip_baseline))

    assert engines("naive,searchkit,naive") == ["searchkit", "naive"]
    assert engines("searchkit,naive", skip_baseline=True) == ["searchkit"]
    for wrong in ("naive", "searchkit,lucene"):
        with pytest.raises(SystemExit, match="--engines takes searchkit"):
            engines(wrong)


def test_the_mixed_set_is_every_keyword_and_as_many_headlines_each_timed_once():
    keyword = ({"a": [1.0, 2.0], "b": [3.0, 4.0]}, {"a": [5.0, 6.0, 7.0, 8.0], "b": [0.0] * 4})
    headline = ({"a": [10.0, 20.0, 30.0], "b": [40.0] * 3}, {"a": [50.0, 60.0], "b": [0.0] * 3})
    first, warm = bench.mixed(keyword, headline)
    assert first == {"a": [1.0, 2.0, 10.0, 20.0], "b": [3.0, 4.0, 40.0, 40.0]}
    assert warm["a"] == [5.0, 6.0, 50.0, 60.0] and len(warm["b"]) == 4


def test_first_runs_of_several_rounds_are_each_querys_median_and_warm_runs_the_first_rounds():
    rounds = [
        ({"a": [1.0, 9.0], "b": [2.0, 2.0]}, {"a": [0.5], "b": [0.6]}),
        ({"a": [3.0, 7.0], "b": [4.0, 1.0]}, {"a": [], "b": []}),
        ({"a": [2.0, 8.0], "b": [3.0, 3.0]}, {"a": [], "b": []}),
    ]
    first, warm = bench.median_first_runs(rounds)
    assert first == {"a": [2.0, 8.0], "b": [3.0, 2.0]}
    assert warm == {"a": [0.5], "b": [0.6]}


def test_a_figure_not_measured_is_a_dash_not_a_verdict():
    under = lambda value, _: value < 1500  # noqa: E731
    row = bench.row("peak (MB)", None, 400.0, ",.0f", "< 1,500 MB", under, ratio=False)
    assert row == ["peak (MB)", "-", "400", "-", "< 1,500 MB", "-"]


@pytest.mark.needs_corpus
def test_growth_times_the_tiers_a_search_runs(finews_index):
    for text in ["美联储缩表", "缩表", "美联储加息的影响有多大", "不存在的词语"]:
        parts = growth.timed_parts(finews_index, text)
        assert list(parts) == list(growth.PARTS)
        results = finews_index.search(text)
        matches = {part: found for part, (_, found) in parts.items()}
        assert matches["exact"] == results.exact_total, text
        assert matches["synonym"] == results.synonym_total, text
        assert sum(matches.values()) == results.total, text
        assert all(seconds >= 0 for seconds, _ in parts.values())


def test_blockmax_counts_posts_a_block_bound_cannot_skip():
    def word(docs, weights, scale):  # scores scale·tf / (tf + 1), whatever the length
        return SimpleNamespace(
            docs=docs, weights=weights, scale=scale, norm=1.0, slope=0.0, lengths=[10] * 4
        )

    common = word([0, 1, 2, 3], [1.0] * 4, 2.0)  # 1.0 in every post
    rare = word([1, 3], [1.0, 9.0], 10.0)  # 5.0 and 9.0, one block spanning posts 1-3
    # Scores 1, 6, 1, 10: the best (10) is reached by the posts in the rare word's block
    # (1, 3) and, as pruning sees it, also by post 2, which that block spans.
    assert blockmax.unskippable([common, rare], block=2, loose=False, limit=1) == (4, 2, 3)
    assert blockmax.unskippable([common, rare], block=2, loose=True, limit=1) == (4, 2, 3)


@pytest.mark.needs_corpus
def test_growth_floor_reads_the_documents_of_every_word_a_search_names(finews_index):
    """`--floor` unites the documents of the words the search's tiers name: at least the
    documents the search finds (it counts these texts' matches from those words), and what
    it read is forgotten after, as a search's is."""
    for text in ["美联储缩表", "缩表", "美联储加息的影响有多大", "不存在的词语"]:
        found = growth.least_work(finews_index, text)
        assert found >= finews_index.search(text).total, text
    searcher = finews_index._current_searcher()
    assert all(
        "_searchkit_read" not in leaf.reader().__dict__ for leaf, _ in searcher.leaf_searchers()
    )


def test_topics_are_the_word_pairs_most_often_side_by_side_in_titles():
    titles = ["美联储加息的影响", "美联储加息再次落地", "央行降息", "央行降息", "美联储加息"]
    records = [{"title": title} for title in titles]
    # 美联储加息 in three titles, 央行降息 in two; 的 is one character: 加息的 is no pair.
    assert bench.topics(records, 2) == ["美联储加息", "央行降息"]
    assert "加息的" not in bench.topics(records, 10)
    # Counted once a title.
    assert bench.topics([{"title": "美联储加息美联储加息"}], 5) == ["美联储加息", "加息美联储"]


def test_growth_slowest_prints_each_kinds_tails_and_its_slowest_queries(capsys):
    paths = [Path("idx-100"), Path("idx-300")]
    queries = {"headline": ["a", "b", "c"]}
    spent = [{"headline": [1.0, 2.0, 3.0]}, {"headline": [2.0, 9.0, 4.0]}]
    growth.print_slowest(paths, queries, spent, 2)
    lines = capsys.readouterr().out.splitlines()
    assert "| headline | idx-100 | 2.0 | 2.8 | 3.0 | 6 |" in lines
    assert "| headline | idx-300 | 4.0 | 8.0 | 8.9 | 15 |" in lines
    slowest = lines[lines.index("headline, slowest at idx-300 (ms at idx-100 / idx-300):") + 1 :]
    assert slowest == ["      2.0     9.0  b", "      3.0     4.0  c"]


@pytest.mark.needs_corpus
def test_growth_times_real_users_queries_as_typed():
    typed = growth.typed_queries(50)
    assert len(typed) == 50 and all(isinstance(query, str) and query for query in typed)
