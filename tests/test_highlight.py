import re

import pytest
from corpus import FINANCE
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit import Index
from searchkit.analysis import WORD_CHAR, normalize
from searchkit.documents import read_post
from searchkit.highlight import (
    SNIPPET_WIDTH,
    TAIL,
    find_marks,
    make_snippet,
    marked_terms,
    to_html,
    to_plain,
    to_rich,
)
from searchkit.results import Hit


def marked(snippet: str, marks) -> list[str]:
    return [snippet[s:e] for s, e in marks]


def test_marks_cover_exactly_the_matched_text():
    body = "SRF被称为国内常备回购便利，隔夜逆回购规模创新高。逆回购"
    marks = find_marks(body, ["逆回购"])
    assert [body[s:e] for s, e in marks] == ["逆回购", "逆回购"]


def test_marks_work_across_scripts_and_widths():
    body = "聯準會宣佈縮表，ＭＬＦ操作"
    marks = find_marks(body, [normalize("缩表"), normalize("mlf")])
    assert [body[s:e] for s, e in marks] == ["縮表", "ＭＬＦ"]


def test_marks_map_back_through_expanding_characters():
    body = "㍻年间缩表"
    ((start, end),) = find_marks(body, ["缩表"])
    assert body[start:end] == "缩表"


def test_a_mark_ending_inside_an_expanded_character_covers_it():
    body = "Ｍ.…联"  # … is ... once normalized: m... ends inside it
    assert [body[s:e] for s, e in find_marks(body, ["m..."])] == ["Ｍ.…"]


def test_latin_marks_are_whole_tokens():
    body = "MLF and MLFs and mlf"
    assert [body[s:e] for s, e in find_marks(body, ["mlf"])] == ["MLF", "mlf"]


# --- snippets: where they start and end -----------------------------------------------------


def test_snippet_is_a_window_around_the_best_match():
    body = "开头的话。" * 60 + "央行今日宣布降准，释放流动性。" + "结尾的话。" * 60
    snippet, marks = make_snippet("标题", body, ["降准"])
    assert len(snippet) <= SNIPPET_WIDTH + 2
    assert marked(snippet, marks) == ["降准"]


def test_snippet_cuts_at_sentences_and_says_where_text_was_left_out():
    body = "开头的话。" * 60 + "央行今日宣布降准，释放流动性。" + "结尾的话。" * 60
    snippet, _ = make_snippet("标题", body, ["降准"])
    assert snippet.startswith("…央行今日宣布降准")  # the match's sentence, from its start
    assert snippet.endswith("。…")  # whole sentences after it, then the cut


def test_a_snippet_of_the_whole_body_has_no_ellipsis():
    snippet, _ = make_snippet("标题", "央行宣布降准。释放流动性。", ["降准"])
    assert snippet == "央行宣布降准。释放流动性。"


def test_snippet_never_starts_or_ends_inside_a_latin_word_or_number():
    # No sentence end or comma within reach: the cut falls where Chinese meets a word.
    body = "前言" * 40 + "投资者DoubleLine认为美联储在4544.11美元附近降准" + "后续内容很长很长" * 30
    snippet, marks = make_snippet("标题", body, ["降准"])
    core = snippet.strip("…")
    assert core in body and marked(snippet, marks) == ["降准"]
    start = body.index(core)
    end = start + len(core)
    for at in (start, end):
        assert not (re.match(WORD_CHAR, body[at - 1]) and re.match(WORD_CHAR, body[at]))


def test_a_long_run_of_chinese_is_cut_at_the_match_not_inside_a_word():
    # 60 characters without a pause before the match: rather no context than half a word.
    body = (
        "这是一段很长的没有任何标点符号的中文文字用来测试摘要从哪里开始截取比较合适的情况" * 2
        + "沃什上任后，美联储维持利率不变。"
        + "后文。" * 40
    )
    snippet, marks = make_snippet("标题", body, ["沃什"])
    assert snippet.startswith("…沃什上任后") and marked(snippet, marks) == ["沃什"]


def test_snippet_keeps_context_after_the_last_match():
    body = (
        "甲" * 200 + "。" + "央行降准" + "，释放长期资金约一万亿元，支持实体经济发展" + "乙" * 200
    )
    snippet, marks = make_snippet("标题", body, ["降准"])
    end = marks[-1][1]
    assert len(snippet.rstrip("…")) - end >= TAIL


def test_snippet_ends_with_the_sentence_when_it_fits():
    body = "甲" * 200 + "。央行宣布降准，释放流动性。" + "乙" * 200
    snippet, _ = make_snippet("标题", body, ["降准"])
    assert "央行宣布降准，释放流动性。" in snippet


def test_snippet_reads_as_one_line():
    body = "第一段提到降准。\n\n  第二段\t也提到降准。"
    snippet, marks = make_snippet("标题", body, ["降准"])
    assert snippet == "第一段提到降准。 第二段 也提到降准。"
    assert marked(snippet, marks) == ["降准", "降准"]


# --- snippets: which window -----------------------------------------------------------------


def test_window_with_the_most_distinct_terms_wins_over_more_matches():
    filler = "其他的话题。" * 30
    body = "降准降准降准降准。" + filler + "央行降准的同时也降息。" + filler
    snippet, marks = make_snippet("标题", body, ["降准", "降息"])
    assert set(marked(snippet, marks)) == {"降准", "降息"}


def test_a_term_given_twice_counts_once():
    # A best-match hit's terms hold the query's words and its texts: 美联储 can come twice.
    filler = "其他的话题。" * 30
    body = "美联储表示。" + filler + "美联储宣布降息。" + filler
    snippet, marks = make_snippet("标题", body, ["美联储", "降息", "美联储"])
    assert marked(snippet, marks) == ["美联储", "降息"]


def test_among_equal_windows_the_one_with_more_matches_then_the_earliest_wins():
    filler = "其他的话题。" * 30
    body = "央行降准。" + filler + "降准，再降准。" + filler + "又一次降准。"
    snippet, marks = make_snippet("标题", body, ["降准"])
    assert marked(snippet, marks) == ["降准", "降准"]
    body = "第一次降准。" + filler + "第二次降准。"
    snippet, _ = make_snippet("标题", body, ["降准"])
    assert snippet.startswith("第一次降准")


def test_an_opening_that_repeats_the_title_is_left_out():
    body = "【美联储开始缩表】财联社6月1日电，美联储今日开始缩表，规模每月475亿美元。"
    snippet, marks = make_snippet("美联储开始缩表", body, ["缩表"])
    assert snippet == "财联社6月1日电，美联储今日开始缩表，规模每月475亿美元。"
    assert marked(snippet, marks) == ["缩表"]


@pytest.mark.parametrize("opening", ["【“沃什时代”来临】", "“沃什时代”来临：", "“沃什时代”来临\n"])
def test_title_openings_in_their_usual_forms(opening):
    snippet, _ = make_snippet("“沃什时代”来临", opening + "美联储迎来新主席。", ["沃什"])
    assert snippet == "美联储迎来新主席。"


def test_a_title_repeated_twice_is_left_out_twice():
    body = "【央行开展7天期逆回购操作】央行开展7天期逆回购操作，操作利率为1.40%。今日有逆回购到期。"
    snippet, marks = make_snippet("央行开展7天期逆回购操作", body, ["逆回购"])
    assert snippet == "操作利率为1.40%。今日有逆回购到期。"
    assert marked(snippet, marks) == ["逆回购"]


def test_a_first_sentence_that_merely_begins_like_the_title_is_kept():
    body = "美联储缩表的速度加快了。市场关注。"
    snippet, _ = make_snippet("美联储缩表", body, ["缩表"])
    assert snippet == body


def test_when_only_the_title_matches_the_snippet_is_the_start_of_the_body():
    snippet, marks = make_snippet("美联储缩表", "正文没有这个词。", ["缩表"])
    assert snippet == "正文没有这个词。" and marks == []
    snippet, marks = make_snippet("美联储缩表", "【美联储缩表】正文没有这个词。", ["缩表"])
    assert snippet == "正文没有这个词。" and marks == []


def test_a_body_that_is_only_the_title_gives_no_snippet():
    assert make_snippet("美联储缩表", "【美联储缩表】", ["缩表"]) == ("", [])
    assert make_snippet("标题", "", ["缩表"]) == ("", [])


def test_snippet_without_matches_is_the_start_of_the_body():
    snippet, marks = make_snippet("标题", "第一段。\n第二段。", ["缩表"])
    assert snippet == "第一段。 第二段。" and marks == []


def test_snippet_marks_traditional_and_full_width_text():
    body = "前文。" * 50 + "聯準會宣佈縮表，ＭＬＦ操作。" + "後文。" * 50
    snippet, marks = make_snippet("标题", body, [normalize("缩表"), normalize("mlf")])
    assert marked(snippet, marks) == ["縮表", "ＭＬＦ"]


# --- what best-match hits mark --------------------------------------------------------------


def test_best_match_hits_do_not_mark_characters_cut_out_of_a_longer_term():
    terms = ["8", "月", "7", "日", "央行", "8月7日央行"]
    assert marked_terms(terms, "relaxed") == ["央行", "8月7日央行"]
    assert marked_terms(terms, "exact") == terms  # an exact hit's terms are the query's own


def test_best_match_hits_mark_a_character_the_query_has_on_its_own():
    # `猫 狗 鱼 鸟` is natural language (4 terms) whose words are single characters.
    assert marked_terms(["猫", "狗", "鱼", "鸟"], "relaxed") == ["猫", "狗", "鱼", "鸟"]
    assert marked_terms(["家", "房价", "家", "房价"], "relaxed") == ["家", "房价", "家", "房价"]


def relaxed_hit(body: str, terms: tuple[str, ...]) -> Hit:
    return Hit("x", None, None, "户籍家庭8月7日", None, (), (), 1.0, "relaxed", body, terms)


def test_a_best_match_hit_marks_the_query_words_not_lone_characters():
    hit = relaxed_hit(
        "户籍家庭8月7日央行开展逆回购操作。", ("家", "8", "7", "央行", "我家8月7日央行")
    )
    assert marked(hit.snippet, hit.marks) == ["央行"]
    assert hit.title_marks == ()


# --- properties -----------------------------------------------------------------------------

TEXT = st.text(
    alphabet=st.sampled_from(list("央行降准缩表美联储沃什縮ＭＬＦ㍻mlf20.5 ，。！？；…“”【】\n")),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(body=TEXT, title=TEXT, picks=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 6))))
def test_marks_are_inside_the_snippet_and_cover_a_real_occurrence(body, title, picks):
    terms = [normalize(body[i : i + n]).strip() for i, n in picks if i < len(body)]
    terms = [t for t in terms if t] + ["降准", "mlf"]
    snippet, marks = make_snippet(title, body, terms)
    last = 0
    for start, end in marks:
        assert last <= start < end <= len(snippet)  # sorted, disjoint, inside
        text = " ".join(normalize(snippet[start:end]).split())  # a term's spaces match any
        assert any(" ".join(term.split()) in text for term in terms)
        last = end
    core = snippet.removeprefix("…").removesuffix("…")
    assert core in re.sub(r"\s+", " ", body)  # the body's own text, nothing made up


# --- real posts ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finance_index(tmp_path_factory):
    """The finance posts that name 逆回购 or 沃什 (489 of 2,515)."""
    paths = [
        p for p in sorted(FINANCE.glob("*.md")) if re.search("逆回购|沃什", p.read_text("utf-8"))
    ]
    index = Index.create(tmp_path_factory.mktemp("snippets") / "index")
    index.add([read_post(path, FINANCE) for path in paths])
    yield index
    index.close()


def assert_honest(hit: Hit) -> None:
    terms = marked_terms(hit.terms, hit.match)
    for start, end in hit.marks:
        assert any(term in normalize(hit.snippet[start:end]) for term in terms)


@pytest.mark.needs_corpus
def test_real_snippets_do_not_repeat_the_title(finance_index):
    hits = finance_index.search("逆回购", limit=50)
    assert len(hits) == 50
    for hit in hits:
        assert_honest(hit)
        opening = hit.snippet.lstrip("…【“")
        assert not (opening.startswith(hit.title) and len(opening) <= len(hit.title) + 1)
        assert not hit.snippet.startswith("【" + hit.title)
    # Before: 34 of the first 50 on the finance corpus began with the title, 30 as 【title】.
    assert sum(hit.snippet.startswith("【") for hit in hits) == 0


@pytest.mark.needs_corpus
def test_real_snippets_keep_names_whole(finance_index):
    for hit in finance_index.search("沃什", limit=300):
        assert_honest(hit)
        core = hit.snippet.strip("…")
        assert not core.startswith("什") and not core.endswith("沃")
        assert len(hit.snippet) <= SNIPPET_WIDTH + 30
    hit = next(h for h in finance_index.search("沃什", limit=300) if "ths-676782260" in h.id)
    assert "新任主席沃什上任后" in hit.snippet


@pytest.mark.needs_corpus
def test_real_best_match_hits_mark_words_not_dates_cut_into_digits(finance_index):
    hits = finance_index.search("8月7日央行公开市场操作", limit=20)
    assert any(hit.match == "relaxed" for hit in hits)
    for hit in hits:
        assert_honest(hit)
        shown = marked(hit.snippet, hit.marks) + marked(hit.title, hit.title_marks)
        assert all(len(text) > 1 for text in shown), shown


def test_renderers_escape_and_mark():
    text = "<script>alert(1)</script> 缩表"
    marks = find_marks(text, ["缩表"])
    html = to_html(text, marks)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.endswith("<mark>缩表</mark>")
    assert to_plain(text, marks).endswith("[缩表]")
    rendered = to_rich(text, marks)
    assert rendered.plain == text
    assert [(s.start, s.end) for s in rendered.spans] == marks
