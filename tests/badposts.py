"""A posts folder of real shared posts mixed with broken and hostile files, and what indexing
it must give: every good post found by a word only it contains, every broken file reported.

Used by `test_reliability.py` (small) and `tests/bench/reliability.py` (all 2,644 posts):

    corpus = write_corpus(tmp_path / "posts", real_posts=100)
    corpus.good["gbk.md"].word      # a word only that post contains
    corpus.broken["fifo.md"]        # a keyword the reported reason must contain

Ids and broken-file keys are paths relative to `corpus.root`, as searchkit makes them.
"""

from __future__ import annotations

import os
import random
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from corpus import FINANCE, FINEWS

from searchkit.analysis import normalize
from searchkit.documents import MAX_POST_BYTES


@dataclass(frozen=True)
class GoodPost:
    """A post that must be indexed. `word` finds exactly the posts in `found_by` (just this
    one, unless the corpus holds duplicates); `caveat` is a keyword its warning must contain."""

    id: str
    word: str | None
    found_by: frozenset[str]
    caveat: str | None = None


@dataclass
class BadCorpus:
    root: Path
    good: dict[str, GoodPost] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # id -> keyword of the reason
    big_post_bytes: int = 0


# The filler of the big post: the opening of the Thousand Character Classic, which no news
# post quotes at length.
FILLER = (
    "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。寒来暑往，秋收冬藏。闰余成岁，律吕调阳。"
    "云腾致雨，露结为霜。金生丽水，玉出昆冈。剑号巨阙，珠称夜光。果珍李柰，菜重芥姜。"
)
WORD_LENGTH = 8  # at most: long enough to be unique in news text
MARKER_LENGTH = 6
_CJK_RUN = re.compile(r"[\u4e00-\u9fa5]{3,}")


def write_corpus(
    folder: Path | str,
    real_posts: int | None = 100,
    big_post_mb: float = 50,
    seed: int = 0,
) -> BadCorpus:
    """Write the mixed corpus into `folder` (created) and return what indexing it must give.

    `real_posts` shared posts (None: all 2,644) are copied under `finews/` and `finance/`;
    the hostile files (`big_post_mb` is the size of the huge one) go beside them.
    """
    rng = random.Random(seed)
    corpus = BadCorpus(Path(folder))
    corpus.root.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {}  # id -> normalized text of every good post, for uniqueness
    for source, sub in ((FINEWS, "finews"), (FINANCE, "finance")):
        for path in _sample(sorted(source.glob("*.md")), real_posts, rng, source is FINEWS):
            post_id = f"{sub}/{path.name}"
            _write(corpus.root / post_id, path.read_bytes())
            texts[post_id] = path.read_text("utf-8")
    real = list(texts)
    used_chars = set("".join(texts.values())) | set(FILLER)
    markers = _Markers(rng, used_chars)
    made = _write_hostile_posts(corpus, markers.new, big_post_mb)
    texts.update((post_id, text) for post_id, (text, _word, _caveat) in made.items())
    _write_broken_files(corpus, rng)
    _choose_words(corpus, texts, real, made, rng)
    return corpus


def _sample(paths: list[Path], count: int | None, rng: random.Random, first: bool) -> list[Path]:
    if count is None:
        return paths
    share = (count + 1) // 2 if first else count // 2
    return sorted(rng.sample(paths, min(share, len(paths))))


def _write(path: Path, content: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


class _Markers:
    """Made-up words of characters no other post uses: unique by construction."""

    def __init__(self, rng: random.Random, used: set[str]):
        self.rng = rng
        self.pool = [
            c for c in map(chr, range(0x4E00, 0x9FA6)) if c not in used and normalize(c) == c
        ]
        self.given: set[str] = set()

    def new(self) -> str:
        while True:
            word = "".join(self.rng.choices(self.pool, k=MARKER_LENGTH))
            if word not in self.given:
                self.given.add(word)
                return word


def _post(title: str, body: str, extra: str = "") -> str:
    return f"---\nlayout: post\ntitle: {title}\n{extra}---\n{body}\n"


def _write_hostile_posts(
    corpus: BadCorpus, new_word, big_post_mb: float
) -> dict[str, tuple[str, str, str | None]]:
    """The good but odd posts: id -> (text, for uniqueness; its word; caveat keyword)."""
    made: dict[str, tuple[str, str, str | None]] = {}

    def add(post_id: str, word: str, content: str | bytes, caveat: str | None = None) -> None:
        _write(corpus.root / post_id, content)
        text = content if isinstance(content, str) else _post("", word)
        made[post_id] = (text.replace("\x00", ""), word, caveat)

    w = new_word()
    add("gbk.md", w, _post("国标编码", f"<p>{w}正文</p>").encode("gbk"), "GB18030")
    w = new_word()
    add("bom.md", w, "\ufeff" + _post("BOM", f"<p>{w}正文</p>"))
    w = new_word()
    add("crlf.md", w, _post("换行", f"<p>{w}</p>\n<p>第二段</p>").replace("\n", "\r\n"))
    w = new_word()  # split by a NUL, which is removed, not made a space
    body = f"<p>{w[:3]}\x00{w[3:]}\x07正文\x1b[31m红\x7f</p>"
    add("controls.md", w, _post('"\\e[2J\\a标题"', body), "control character")
    w = new_word()
    add("dashes-html.md", w, _post("分隔线", f"<p>第一段</p>\n---\n<p>{w}</p>\n---\n"))
    w = new_word()
    add("dashes-markdown.md", w, _post("分隔线", f"第一段\n\n---\n\n{w}\n\n---\n\n第二段"))
    w = new_word()
    add("title-list.md", w, _post(f"[{w}, 第二项]", "<p>正文</p>"), "title is a list")
    w = new_word()
    add("title-number.md", w, _post("2022", f"<p>{w}</p>"), "title is not text")
    w = new_word()
    add("bad-date.md", w, _post("日期", f"<p>{w}</p>", "date: 2022-13-45\n"), "bad date")
    w = new_word()
    bad_time = _post("时间", f"<p>{w}</p>", "date: 2022-02-30 25:61:00\n")
    add("2022-02-30-bad-time.md", w, bad_time, "bad date")
    w = new_word()
    add("deep-html.md", w, _post("嵌套", "<div>" * 10_000 + w + "</div>" * 10_000))
    w = new_word()  # quadratic for an HTML5 parser: read as text, with a caveat
    deeper = _post("更深", "<div>" * 100_000 + w + "</div>" * 100_000)
    add("deeper-html.md", w, deeper, "levels deep")
    w = new_word()  # a minute of markdown-it if parsed as markdown
    add("markdown-bomb.md", w, _post("标记", f"{w}\n\n" + "![" * 1_000_000), "plain text")
    w = new_word()  # YAML aliases: str() of the title would be 2 x 10^8 "x"s
    aliases = "".join(
        f"{name}: &{name} [{', '.join([f'*{previous}' if previous else 'x'] * 10)}]\n"
        for previous, name in zip([None, *"abcdefg"], "abcdefgh", strict=True)
    )
    add("yaml-bomb.md", w, f"---\n{aliases}title: [*h, *h]\n---\n<p>{w}</p>\n", "list of lists")
    w = new_word()
    script = f"<p>{w}</p><script>alert('正文')</script><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    add("script.md", w, _post("\"<script>alert('标题')</script><b>粗</b>\"", script))
    for folder, title in (("a", "同名甲"), ("b", "同名乙")):
        w = new_word()
        add(f"{folder}/2022-06-01-同名.md", w, _post(title, f"<p>{w}</p>"))
    w = new_word()
    add("folder.md/inside.md", w, _post("文件夹里", f"<p>{w}</p>"))
    w = new_word()
    corpus.big_post_bytes = _big_post(corpus.root / "huge.md", w, int(big_post_mb * 2**20))
    cut = "indexed only its first" if corpus.big_post_bytes > MAX_POST_BYTES else None
    made["huge.md"] = (_post("超大", f"<p>{w}</p>" + f"<p>{FILLER}</p>\n" * 2), w, cut)
    return made


def _big_post(path: Path, word: str, size: int) -> int:
    """A post of `size` bytes: `word` at the start, then filler paragraphs. Written in chunks."""
    head = _post("超大", f"<p>{word}</p>").encode("utf-8")
    paragraph = f"<p>{FILLER}</p>\n".encode()
    chunk = paragraph * max(1, (1 << 20) // len(paragraph))
    with open(path, "wb") as handle:
        handle.write(head)
        written = len(head)
        while written < size:
            part = chunk[: size - written] if size - written < len(chunk) else chunk
            part = part[: len(part) - len(part) % len(paragraph)] or paragraph
            handle.write(part)
            written += len(part)
    return written


def _write_broken_files(corpus: BadCorpus, rng: random.Random) -> None:
    root = corpus.root

    def broken(name: str, content: str | bytes, reason: str) -> None:
        _write(root / name, content)
        corpus.broken[name] = reason

    broken("no-front-matter.md", "只有正文，没有前言\n", "no YAML front matter")
    broken("unclosed.md", "---\ntitle: 未闭合\n正文\n", "front matter is not closed")
    broken("invalid-yaml.md", "---\ntitle: [未闭合\ntags: a: b\n---\n正文\n", "broken YAML at line")
    broken("control-in-yaml.md", "---\ntitle: 控制\x07字符\n---\n正文\n", "control characters")
    broken("not-a-mapping.md", "---\n- 一\n- 二\n---\n正文\n", "not a mapping")
    broken("empty.md", " \n\n\t\n", "empty file")
    broken("zero-bytes.md", b"", "empty file")
    noise = bytearray(rng.randbytes(4096))
    noise[::512] = b"\0" * len(noise[::512])
    broken("random-binary.md", bytes(noise), "binary file")
    high = bytes(rng.randrange(0x80, 0x100) for _ in range(4096))
    broken("random-high-bytes.md", high, "not UTF-8 or GB18030")
    broken("utf16.md", _post("十六位", "<p>正文</p>").encode("utf-16"), "binary file")
    (root / "loop.md").symlink_to(root / "loop.md")
    corpus.broken["loop.md"] = "symbolic links"
    (root / "finews" / "loop").symlink_to(root, target_is_directory=True)  # a folder loop
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "fifo.md")
        corpus.broken["fifo.md"] = "not a regular file"
    if Path("/dev/zero").exists():
        (root / "dev-zero.md").symlink_to("/dev/zero")
        corpus.broken["dev-zero.md"] = "not a regular file"
    raw_name = "国债.md".encode("gbk")
    with open(os.path.join(os.fsencode(root), raw_name), "wb") as handle:
        handle.write(_post("国债", "<p>国债</p>").encode("utf-8"))
    shown = os.fsdecode(raw_name).encode("utf-8", "surrogateescape")
    corpus.broken[shown.decode("utf-8", "backslashreplace")] = "file name is not UTF-8"


def _choose_words(
    corpus: BadCorpus,
    texts: dict[str, str],
    real: list[str],
    made: dict[str, tuple[str, str, str | None]],
    rng: random.Random,
) -> None:
    """Give each good post a word of its own, checked by brute force over every good post."""
    ids = list(texts)
    parts = [normalize(texts[post_id]) for post_id in ids]
    joined = "\n".join(parts)
    starts, offset = [], 0
    for part in parts:
        starts.append(offset)
        offset += len(part) + 1

    def posts_containing(word: str, stop_after: int) -> set[str]:
        found: set[str] = set()
        at = joined.find(word)
        while at >= 0:
            found.add(ids[bisect_right(starts, at) - 1])
            if len(found) > stop_after:
                break
            at = joined.find(word, at + 1)
        return found

    for post_id in real:
        candidates = _candidates(texts[post_id], rng)
        word = next((w for w in candidates if len(posts_containing(w, 1)) == 1), None)
        if word is None and candidates:  # a post published twice has no word of its own
            word = min(candidates, key=lambda w: len(posts_containing(w, len(ids))))
        found = posts_containing(word, len(ids)) if word else set()
        corpus.good[post_id] = GoodPost(post_id, word, frozenset(found))
    for post_id, (_text, word, caveat) in made.items():
        found = posts_containing(word, len(ids))
        assert found == {post_id}, f"the word {word} of {post_id} is in {found}"
        corpus.good[post_id] = GoodPost(post_id, word, frozenset(found), caveat)


def _candidates(text: str, rng: random.Random, tries: int = 8) -> list[str]:
    """Windows of Chinese text from a post's body (outside tags and the site's footer), longest
    runs first, then from its title."""
    front_matter, _, body = text.partition("\n---\n")
    runs = []
    for match in _CJK_RUN.finditer(body):
        line_start = body.rfind("\n", 0, match.start()) + 1
        inside_tag = body.rfind("<", 0, match.start()) > body.rfind(">", 0, match.start())
        if not inside_tag and not body.startswith("[返回", line_start):
            runs.append(match.group())
    rng.shuffle(runs)
    runs.sort(key=len, reverse=True)
    title = re.search(r"^title:(.*)$", front_matter, re.MULTILINE)
    runs += _CJK_RUN.findall(title[1]) if title else []
    words = []
    for run in runs[:tries]:
        start = rng.randrange(max(1, len(run) - WORD_LENGTH + 1))
        words.append(normalize(run[start : start + WORD_LENGTH]))
    return words
