from searchkit.analysis import normalize
from searchkit.highlight import find_marks, make_snippet, to_html, to_plain, to_rich


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


def test_latin_marks_are_whole_tokens():
    body = "MLF and MLFs and mlf"
    assert [body[s:e] for s, e in find_marks(body, ["mlf"])] == ["MLF", "mlf"]


def test_snippet_is_a_window_around_the_best_match():
    body = "开头的话。" * 60 + "央行今日宣布降准，释放流动性。" + "结尾的话。" * 60
    snippet, marks = make_snippet("标题", body, ["降准"])
    assert len(snippet) <= 130
    assert [snippet[s:e] for s, e in marks] == ["降准"]


def test_snippet_falls_back_to_the_title():
    snippet, marks = make_snippet("美联储缩表", "正文没有这个词", ["缩表"])
    assert snippet == "美联储缩表"
    assert [snippet[s:e] for s, e in marks] == ["缩表"]


def test_snippet_without_matches_is_the_start_of_the_body():
    snippet, marks = make_snippet("标题", "第一段。\n第二段。", ["缩表"])
    assert snippet == "第一段。 第二段。" and marks == []


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
