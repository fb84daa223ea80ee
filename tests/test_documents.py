"""Jekyll posts -> Documents, on the real finews/finance posts and on bad files made in tmp_path."""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from corpus import FINANCE, FINEWS, REFERENCE_POST, SHARED
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit.documents import (
    Document,
    LoadProblem,
    load_posts,
    post_files,
    read_post,
    read_post_with_caveats,
)
from searchkit.errors import BadDocumentError

REFERENCE = REFERENCE_POST
NO_DATE = FINEWS / "-202205262391921712.md"
CHINA_TIME = timezone(timedelta(hours=8))

needs_corpus = pytest.mark.skipif(not FINEWS.is_dir(), reason=f"no test corpus at {SHARED}")


def write_post(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def post(body: str, front_matter: str = 'title: "标题"\ndate: 2022-06-07 13:59:10 +0800') -> str:
    return f"---\n{front_matter}\n---\n{body}"


def load_with_problems(path: Path) -> tuple[list[Document], list[LoadProblem]]:
    problems: list[LoadProblem] = []
    documents = list(load_posts(path, on_problem=problems.append))
    return documents, problems


# --- the real posts ---


@needs_corpus
def test_reference_post():
    document = read_post(REFERENCE, root=FINEWS)

    assert document.id == REFERENCE.name
    assert document.path == REFERENCE
    assert document.title == "美联储缩表，谁来“接盘”？6月美股或将结束反弹"
    assert document.date == datetime(2022, 6, 7, 13, 59, 10, tzinfo=CHINA_TIME)
    assert document.categories == ("quanqiuzhongwenshequ",)
    assert document.tags == ("全球中文社区新闻",)
    assert document.url.startswith("http://finews.zning.xyz/")
    assert document.checksum == hashlib.sha256(REFERENCE.read_bytes()).hexdigest()


@needs_corpus
def test_reference_post_body_is_plain_text_with_paragraphs():
    body = read_post(REFERENCE).body

    assert "缩表" in body
    assert "\n\n美联储资产负债表规模2007-2022\n\n" in body  # the image caption, as a paragraph
    assert "救债市>救股市" in body  # &gt; decoded
    assert "本轮缩表在速率和规模上都远超往期。上一轮" in body  # no space around <strong>
    assert "<p" not in body and "<img" not in body
    assert "返回首页" not in body
    assert "http" not in body
    assert body == body.strip()
    assert body.endswith("（文章来源：全球中文社区）")


@needs_corpus
@pytest.mark.parametrize(
    "name",
    [
        "2021-12-08-202112082206796814.md",  # relative links on two lines
        "2021-12-08-202112082206891339.md",  # absolute links on two lines
        "2022-06-07-202206072404046437.md",  # absolute links on one line, split by ｜
    ],
)
def test_navigation_footer_and_source_link_are_removed(name):
    document = read_post(FINEWS / name)

    assert "返回" not in document.body
    assert "](" not in document.body
    assert document.url.startswith("http")
    assert document.url not in document.body


@needs_corpus
def test_bare_less_than_in_markdown_text_survives():
    document = read_post(FINEWS / "2021-12-08-202112082206796814.md")

    assert "且精度满足<1%，视场角" in document.body
    assert document.url == "http://finance.eastmoney.com/news/1354,202112082206796814.html"


@needs_corpus
def test_post_without_title_or_date_and_with_html_body():
    document = read_post(NO_DATE)

    assert document.title == ""
    assert document.date is None  # `date:  +0800`, and the file name has no date either
    assert document.url is None  # its link line is an empty `<>`
    assert "<>" not in document.body
    assert "《<蒙特利尔议定书>基加利修正案》" in document.body  # &lt; &gt; decoded
    assert "<span" not in document.body and "<p" not in document.body
    assert document.body.startswith("据霍尼韦尔官网消息")  # the `> ` digest lost its marker
    assert "K图" not in document.body  # image alt text is dropped


@needs_corpus
def test_post_with_empty_line_before_front_matter():
    document = read_post(FINEWS / "2021-12-08-202112082206703990.md")

    assert document.title == "FF：有充足的现金支持到FF 91完成投产"
    assert document.date == datetime(2021, 12, 8, 10, 18, 31, tzinfo=CHINA_TIME)
    assert document.body.startswith("Faraday Future (FF)于今日举办")


@needs_corpus
def test_load_all_finews_posts():
    documents, problems = load_with_problems(FINEWS)

    assert problems == []
    assert len(documents) == 129
    ids = [document.id for document in documents]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(document.id == document.path.name for document in documents)
    assert all(document.date is None or document.date.tzinfo for document in documents)
    assert sum(document.date is None for document in documents) == 1
    assert not any("返回首页" in document.body for document in documents)


@needs_corpus
def test_load_all_finance_posts():
    documents, problems = load_with_problems(FINANCE)

    assert [problem for problem in problems if problem.skipped] == []
    assert len(documents) == 2515
    assert all(document.title and document.body for document in documents)
    assert all(document.date.tzinfo for document in documents)
    assert not any("<p>" in document.body or "&lt;" in document.body for document in documents)


# --- bodies ---


def test_markdown_body(tmp_path):
    body = (
        "# 央行公告\n\n"
        "今日*逆回购*操作**一千亿**元，详见[公告](http://www.pbc.gov.cn/)。\n"
        "![图表](chart.png)\n\n"
        "- 第一条\n- 第二条\n"
    )
    document = read_post(write_post(tmp_path, "2022-01-05-md.md", post(body)))

    assert document.body == "央行公告\n\n今日逆回购操作一千亿元，详见公告。\n\n第一条\n\n第二条"
    assert document.url is None


def test_line_break_inside_chinese_text_adds_no_space(tmp_path):
    document = read_post(write_post(tmp_path, "a.md", post("美联储宣布\n加息 75 个\nbasis points")))

    assert document.body == "美联储宣布加息 75 个 basis points"


def test_html_body_blocks_scripts_and_tables(tmp_path):
    body = (
        "<div><h2>标题</h2><p>第一<b>段</b>&amp;<br>换行</p>"
        "<script>var x = '<p>不要</p>';</script><style>p { color: red }</style>"
        "<figure><img src=a.png alt=不要><figcaption>图注</figcaption></figure>"
        "<table><tr><td>1.5%</td><td>2.0%</td></tr></table></div>"
    )
    document = read_post(write_post(tmp_path, "a.html", post(body)))

    assert document.body == "标题\n\n第一段&\n\n换行\n\n图注\n\n1.5% 2.0%"


def test_deeply_nested_html_does_not_recurse(tmp_path):
    body = "<div>" * 10_000 + "深层" + "</div>" * 10_000
    document = read_post(write_post(tmp_path, "deep.md", post(body)))

    assert document.body == "深层"


def test_title_entities_are_decoded(tmp_path):
    path = write_post(tmp_path, "a.md", post("正文", 'title: "A&amp;B  公司 "'))

    assert read_post(path).title == "A&B  公司 "


# --- front matter fields ---


@pytest.mark.parametrize(
    "date_line, expected",
    [
        ("date: 2022-06-07 13:59:10 +0800", datetime(2022, 6, 7, 13, 59, 10, tzinfo=CHINA_TIME)),
        ("date: 2021-12-08 10:46:18", datetime(2021, 12, 8, 10, 46, 18, tzinfo=CHINA_TIME)),
        ("date: 2022-09-24", datetime(2022, 9, 24, tzinfo=CHINA_TIME)),
        ("date: 2022-06-07T05:59:10Z", datetime(2022, 6, 7, 5, 59, 10, tzinfo=timezone.utc)),
        (
            "date: 2022-06-07 13:59:10.5 -05:00",
            datetime(2022, 6, 7, 13, 59, 10, 500_000, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ('date: "2022-06-07 13:59"', datetime(2022, 6, 7, 13, 59, tzinfo=CHINA_TIME)),
        ("date:  +0800", datetime(2021, 3, 4, tzinfo=CHINA_TIME)),  # no date: the file name's
        ("layout: post", datetime(2021, 3, 4, tzinfo=CHINA_TIME)),
    ],
)
def test_dates(tmp_path, date_line, expected):
    path = write_post(tmp_path, "2021-03-04-news.md", post("正文", date_line))
    documents, problems = load_with_problems(path)

    assert documents[0].date == expected
    assert problems == []


def test_no_date_anywhere(tmp_path):
    assert read_post(write_post(tmp_path, "news.md", post("正文", "title: x"))).date is None


@pytest.mark.parametrize("date_value", ["2022-13-45", "2022-02-30 10:00:00", "明天", "12345"])
def test_bad_date_is_a_caveat_and_uses_the_file_name(tmp_path, date_value):
    path = write_post(tmp_path, "2021-03-04-news.md", post("正文", f"date: {date_value}"))
    documents, problems = load_with_problems(path)

    assert documents[0].date == datetime(2021, 3, 4, tzinfo=CHINA_TIME)
    assert problems == [
        LoadProblem(path, f"bad date '{date_value}', used the file name's date", skipped=False)
    ]


@pytest.mark.parametrize(
    "front_matter, categories, tags",
    [
        ("categories: emnews\ntags: 东财滚动新闻", ("emnews",), ("东财滚动新闻",)),
        ("categories: a b,c\ntags: [央行, 2022]", ("a", "b", "c"), ("央行", "2022")),
        ("category: 宏观\ntag: 加息", ("宏观",), ("加息",)),
        ("categories: [a]\ncategory: b\ntags:", ("a", "b"), ()),
        ("title: x", (), ()),
    ],
)
def test_categories_and_tags(tmp_path, front_matter, categories, tags):
    document = read_post(write_post(tmp_path, "a.md", post("正文", front_matter)))

    assert (document.categories, document.tags) == (categories, tags)


@pytest.mark.parametrize(
    "title_line, title, caveat",
    [
        ("title: [美联储, 加息]", "美联储 加息", "title is a list, joined its items"),
        ("title: 2022", "2022", "title is not text (2022), converted it"),
        ("title: 2022-06-07", "2022-06-07", None),  # YAML timestamps stay text
        ("layout: post", "", None),
    ],
)
def test_titles(tmp_path, title_line, title, caveat):
    path = write_post(tmp_path, "a.md", post("正文", title_line))
    documents, problems = load_with_problems(path)

    assert documents[0].title == title
    assert [problem.reason for problem in problems] == ([caveat] if caveat else [])


def test_empty_front_matter_is_fine(tmp_path):
    document = read_post(write_post(tmp_path, "a.md", "---\n---\n正文"))

    assert (document.title, document.date, document.body) == ("", None, "正文")


def test_id_is_relative_to_root(tmp_path):
    path = write_post(tmp_path, "2022/06/a.md", post("正文"))

    assert read_post(path, root=tmp_path).id == "2022/06/a.md"
    assert read_post(path).id == "a.md"
    assert read_post(path, root=path).id == "a.md"


# --- encodings and line endings ---


def test_gbk_post_is_read_with_a_caveat(tmp_path):
    path = write_post(tmp_path, "a.md", post("人民币汇率走强").encode("gbk"))
    documents, problems = load_with_problems(path)

    assert (documents[0].title, documents[0].body) == ("标题", "人民币汇率走强")
    assert problems == [LoadProblem(path, "decoded as GB18030", skipped=False)]


def test_utf8_bom_is_dropped(tmp_path):
    path = write_post(tmp_path, "a.md", "\ufeff" + post("正文"))
    documents, problems = load_with_problems(path)

    assert (documents[0].title, documents[0].body, problems) == ("标题", "正文", [])


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(tmp_path, newline):
    text = post("第一段\n\n第二段\n\n<https://example.com/a>\n").replace("\n", newline)
    document = read_post(write_post(tmp_path, "a.md", text))

    assert document.title == "标题"
    assert document.body == "第一段\n\n第二段"
    assert document.url == "https://example.com/a"


# --- bad files ---

BAD_FILES = [
    ("no-front-matter.md", "只有正文\n", "no YAML front matter"),
    ("unclosed.md", "---\ntitle: x\n正文\n", "front matter is not closed"),
    ("broken-yaml.md", "\n---\ntitle: x\ntags: a: b\n---\n正文", "broken YAML at line 4:"),
    ("unclosed-list.md", "---\ntags: [a, b\n---\n正文", "flow sequence at line 2"),
    ("control-char.md", "---\ntitle: x\x07\n---\n正文", "broken YAML at line 2:"),
    ("not-a-mapping.md", "---\n- a\n- b\n---\n正文", "not a mapping"),
    ("empty.md", " \n\n\t\n", "empty file"),
    ("zero-bytes.md", b"", "empty file"),
    ("bom-only.md", b"\xef\xbb\xbf\n", "empty file"),
    ("binary.md", b"---\ntitle: x\n---\n\x00\x01\x02\xff", "binary file"),
    ("not-text.md", b"---\ntitle: x\n---\n\x81\x30", "not UTF-8 or GB18030"),
]


@pytest.mark.parametrize("name, content, reason", BAD_FILES)
def test_bad_file_raises_with_a_reason(tmp_path, name, content, reason):
    path = write_post(tmp_path, name, content)

    with pytest.raises(BadDocumentError) as raised:
        read_post(path)
    assert raised.value.path == path
    assert reason in raised.value.reason


def test_load_posts_reports_bad_files_and_yields_every_good_post(tmp_path):
    for name, content, _reason in BAD_FILES:
        write_post(tmp_path, name, content)
    good = [write_post(tmp_path, f"2022-01-0{day}-good.md", post(f"第{day}篇")) for day in (1, 2)]
    write_post(tmp_path, "sub/2022-01-03-good.md", post("第3篇"))

    documents, problems = load_with_problems(tmp_path)

    assert [document.id for document in documents] == [
        good[0].name,
        good[1].name,
        "sub/2022-01-03-good.md",
    ]
    reasons = {problem.path: problem.reason for problem in problems}
    assert len(reasons) == len(problems) == len(BAD_FILES)
    for name, _content, reason in BAD_FILES:
        assert reason in reasons[tmp_path / name]
    assert all(problem.skipped for problem in problems)


def test_load_posts_without_on_problem_raises(tmp_path):
    write_post(tmp_path, "a.md", post("正文"))
    write_post(tmp_path, "b.md", "没有front matter")

    posts = load_posts(tmp_path)
    assert next(posts).id == "a.md"
    with pytest.raises(BadDocumentError, match="no YAML front matter") as raised:
        next(posts)
    assert raised.value.path == tmp_path / "b.md"


def test_missing_path_raises_at_once(tmp_path):
    with pytest.raises(BadDocumentError, match="no such file or folder"):
        load_posts(tmp_path / "nowhere")


def test_load_posts_of_one_file(tmp_path):
    path = write_post(tmp_path, "sub/a.md", post("正文"))

    assert [document.id for document in load_posts(path)] == ["a.md"]


def test_hidden_and_other_files_are_passed_over(tmp_path):
    write_post(tmp_path, "a.md", post("正文"))
    write_post(tmp_path, "b.html", post("<p>正文</p>"))
    write_post(tmp_path, "c.markdown", post("正文"))
    write_post(tmp_path, ".draft.md", post("草稿"))
    write_post(tmp_path, ".git/x.md", post("不是文章"))
    write_post(tmp_path, "notes.txt", "不是文章")
    write_post(tmp_path, "image.png", b"\x89PNG\x00")

    documents, problems = load_with_problems(tmp_path)

    assert [document.id for document in documents] == ["a.md", "b.html", "c.markdown"]
    assert problems == []


def test_post_files_gives_paths_and_ids_in_order(tmp_path):
    for name in ["b.md", "a.md", "2022/z.md", "2022/.hidden/x.md", "2021/y.htm", "c.txt"]:
        write_post(tmp_path, name, post("正文"))

    assert post_files(tmp_path) == [
        (tmp_path / "a.md", "a.md"),
        (tmp_path / "b.md", "b.md"),
        (tmp_path / "2021" / "y.htm", "2021/y.htm"),
        (tmp_path / "2022" / "z.md", "2022/z.md"),
    ]
    assert post_files(tmp_path / "a.md") == [(tmp_path / "a.md", "a.md")]


def test_read_post_with_caveats(tmp_path):
    path = write_post(tmp_path, "a.md", post("正文", "title: [a, b]\ndate: 2022-02-30"))
    document, caveats = read_post_with_caveats(path, root=tmp_path)

    assert (document.id, document.title, document.date) == ("a.md", "a b", None)
    assert caveats == [
        "title is a list, joined its items",
        "bad date '2022-02-30', the post has no date",
    ]


def test_unreadable_folder_is_reported(tmp_path, monkeypatch):
    write_post(tmp_path, "a.md", post("正文"))
    locked = tmp_path / "locked"
    write_post(locked, "b.md", post("正文"))
    scandir = os.scandir

    def scandir_but_locked(path):  # chmod 000 does not stop root, so refuse like the OS would
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", scandir_but_locked)
    documents, problems = load_with_problems(tmp_path)

    assert [document.id for document in documents] == ["a.md"]
    assert problems == [LoadProblem(locked, "cannot read the folder: Permission denied")]
    with pytest.raises(BadDocumentError, match="cannot read the folder"):
        post_files(tmp_path)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlink_loop_terminates(tmp_path):
    write_post(tmp_path, "sub/a.md", post("正文"))
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self").symlink_to(tmp_path / "self")  # a link to itself, not a post
    (tmp_path / "dangling.md").symlink_to(tmp_path / "dangling.md")

    documents, problems = load_with_problems(tmp_path)

    assert [document.id for document in documents] == ["sub/a.md"]
    assert [(problem.path.name, problem.skipped) for problem in problems] == [("dangling.md", True)]


@settings(max_examples=200, deadline=None)
@given(front_matter=st.text(max_size=60), body=st.text(max_size=200))
def test_any_text_gives_a_document_or_a_bad_document_error(front_matter, body):
    with tempfile.TemporaryDirectory() as folder:
        path = write_post(Path(folder), "a.md", f"---\n{front_matter}\n---\n{body}")
        try:
            document = read_post(path)
        except BadDocumentError:
            return
    assert isinstance(document.body, str) and document.body == document.body.strip()
