"""A small posts folder for the web app's tests: 24 posts about 缩表 over 12 months and three
sources (pages, facets, a timeline, similar posts), and hostile posts whose text tries to run
script in a page. Needs no shared corpus.

    folder = write_posts(tmp_path / "_posts")
    index.update_from(folder); index.add(hostile_documents())
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from searchkit import Document

TZ = timezone(timedelta(hours=8))
SOURCES = ("cls", "eastmoney", "ths")
TAGS = {"cls": "财联社", "eastmoney": "东方财富", "ths": "同花顺"}
POSTS = 24
PWNED = "window.__pwned"  # what every hostile text tries to set
_CYCLE_STEMS, _CYCLE_BRANCHES = "甲乙丙丁戊己庚辛壬癸", "子丑寅卯辰巳午未申酉戌亥"

# Text that would run script if any of it reached the page unescaped: a script element, an
# attribute-breaking quote with an event handler, a closing tag for the element it sits in.
HOSTILE_TITLE = f'缩表<script>{PWNED}="title"</script>"\'><img src=x onerror="{PWNED}=\'img\'">'
HOSTILE_BODY = (
    f'缩表正文</p></textarea><script>{PWNED}="body"</script>'
    f'<a href="javascript:{PWNED}=\'a\'">点我</a>" onmouseover="{PWNED}=\'attr\'"'
)
HOSTILE_URLS = (
    f"javascript:{PWNED}='url'",
    f"  JavaScript:{PWNED}='spaced'",
    f"java\tscript:{PWNED}='tab'",
    f"data:text/html,<script>{PWNED}='data'</script>",
)


def write_posts(folder: Path) -> Path:
    """Write the 24 posts and one hostile post (HTML-escaped, as Jekyll bodies are) into
    `folder`; returns it. Post i is dated 2022-(i % 12 + 1)-10, from SOURCES[i % 3]."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(POSTS):
        source = SOURCES[i % 3]
        month = i % 12 + 1
        title = f"美联储缩表第{i + 1}期：资产负债表{'收缩' if i % 2 else '扩张'}"
        # A cyclic name of its own (甲子, 乙丑, ...): posts that differed only in numbers
        # would be near-duplicates, one row on the page (`searchkit.collapse`).
        body = (
            f"<p>{_CYCLE_STEMS[i % 10]}{_CYCLE_BRANCHES[i % 12]}："
            f"美联储缩表进程第{i + 1}篇。资产负债表规模{100 + i}亿美元，国债与MBS到期不再续作。"
            f"{'逆回购规模创新高。' if i % 4 == 0 else '市场关注降息预期。'}</p>"
        )
        (folder / f"2022-{month:02d}-10-post{i + 1:02d}.md").write_text(
            _post(title, f"2022-{month:02d}-10 09:30:00 +0800", source, body, TAGS[source])
            + f"\n<https://news.example/{source}/{i + 1}>\n",
            encoding="utf-8",
        )
    hostile_body = HOSTILE_BODY.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    title = HOSTILE_TITLE.replace("\\", "\\\\").replace('"', '\\"')
    (folder / "2022-06-30-hostile.md").write_text(
        _post(f'"{title}"', "2022-06-30 10:00:00 +0800", '"x\\" onmouseover=\\"y"', hostile_body),
        encoding="utf-8",
    )
    return folder


def _post(title: str, date: str, category: str, body: str, tag: str = "") -> str:
    tags = f"tags: {tag}\n" if tag else ""
    front = f"layout: post\ntitle: {title}\ndate: {date}\ncategories: {category}\n{tags}"
    return f"---\n{front}---\n{body}\n"


def hostile_documents() -> list[Document]:
    """Posts added through the library, whose URLs no posts folder could give: each of
    HOSTILE_URLS, with hostile title, body, category and tag."""
    return [
        Document(
            id=f"hostile-url-{n}",
            title=f"{HOSTILE_TITLE} {n}",
            body=f"{HOSTILE_BODY}{_CYCLE_STEMS[n]}",  # not near-duplicates of each other
            date=datetime(2022, 7, 1, 12, tzinfo=TZ),
            categories=(f'c"><script>{PWNED}="category"</script>',),
            tags=(f"t' onclick='{PWNED}=1",),
            url=url,
        )
        for n, url in enumerate(HOSTILE_URLS)
    ]
