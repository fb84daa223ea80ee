"""Jekyll posts -> `Document`s: front matter, HTML/markdown body -> plain text.

A post is a text file that starts with YAML front matter between `---` lines; the rest is its
body, HTML (as the news-feed generators write it) or markdown. `read_post` turns one file into a
`Document`; `load_posts` walks a posts folder and reports bad files instead of stopping.

Dates: a front matter date without a zone is taken as China Standard Time (UTC+08:00), because
the archives this reads are Chinese news sites. A post whose front matter has no usable date gets
the `YYYY-MM-DD-` prefix of its file name (midnight, UTC+08:00), or no date at all.

Bodies: the bare `<http...>` line that names the source becomes `Document.url`, the site's
`[返回…](…)` navigation footer is dropped, and the rest becomes plain text: one paragraph per
block element, joined by blank lines.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from .errors import BadDocumentError


@dataclass(frozen=True)
class Document:
    """One post, ready to index. Only `id`, `title` and `body` are required."""

    id: str
    title: str
    body: str
    path: Path | None = None
    date: datetime | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    url: str | None = None
    checksum: str | None = None  # sha256 of the file's bytes, for incremental updates


@dataclass(frozen=True)
class LoadProblem:
    """A post that was skipped (`skipped=True`) or indexed with a caveat (`skipped=False`)."""

    path: Path
    reason: str
    skipped: bool = True


POST_SUFFIXES = (".md", ".markdown", ".html", ".htm")
CHINA_TIME = timezone(timedelta(hours=8))


def load_posts(
    path: Path | str, on_problem: Callable[[LoadProblem], None] | None = None
) -> Iterator[Document]:
    """Yield a `Document` for each post in `path`, a folder (searched recursively) or one file.

    Posts come in the order of `post_files`. A bad file raises `BadDocumentError`, or, when
    `on_problem` is given, is reported as `LoadProblem(path, reason, skipped=True)` and skipped.
    Caveats about good posts go to `on_problem` with `skipped=False`.
    Raises `BadDocumentError` at once if `path` does not exist.

    >>> skipped = []
    >>> documents = list(load_posts("_posts", on_problem=skipped.append))
    """
    root = Path(path)
    return _load(post_files(root, on_problem), root, on_problem)


def post_files(
    path: Path | str, on_problem: Callable[[LoadProblem], None] | None = None
) -> list[tuple[Path, str]]:
    """The post files under `path` (a folder, searched recursively, or one file) and their ids.

    Sorted. Hidden files and folders, files without a suffix in `POST_SUFFIXES` and symlinked
    folders are passed over, so a symlink loop cannot make the walk go round. Raises
    `BadDocumentError` if `path` does not exist, or if a folder cannot be read and there is no
    `on_problem` to report it to.

    >>> post_files("_posts")[0]
    (PosixPath('_posts/-202205262391921712.md'), '-202205262391921712.md')
    """
    root = Path(path)
    if not root.is_dir():
        if not root.exists():
            raise BadDocumentError(root, "no such file or folder")
        return [(root, root.name)]

    def unreadable_folder(error: OSError) -> None:
        problem = BadDocumentError(error.filename, f"cannot read the folder: {error.strerror}")
        if on_problem is None:
            raise problem
        on_problem(LoadProblem(problem.path, problem.reason, skipped=True))

    files = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable_folder):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and name.lower().endswith(POST_SUFFIXES):
                file = Path(folder, name)
                files.append((file, _post_id(file, root)))
    return files


def read_post(path: Path | str, root: Path | str | None = None) -> Document:
    """Read one post; its `id` is its path relative to `root`, or its file name.

    Raises `BadDocumentError` (with `path` and a `reason`) when it cannot be indexed.

    >>> read_post("_posts/2022-06-07-202206072404046437.md", root="_posts").id
    '2022-06-07-202206072404046437.md'
    """
    document, _caveats = read_post_with_caveats(path, root)
    return document


def read_post_with_caveats(
    path: Path | str, root: Path | str | None = None
) -> tuple[Document, list[str]]:
    """`read_post`, and the caveats of reading it, such as "decoded as GB18030"."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise BadDocumentError(path, f"cannot read the file: {error.strerror}") from None
    caveats: list[str] = []
    meta, body = _split_front_matter(path, _decode(path, raw, caveats))
    body, url = _take_source_link(_FOOTER_LINE.sub("", body))
    document = Document(
        id=_post_id(path, root),
        title=_title(meta.get("title"), caveats),
        body=_body_text(body),
        path=path,
        date=_post_date(meta.get("date"), path.name, caveats),
        categories=_labels(meta, "categories", "category"),
        tags=_labels(meta, "tags", "tag"),
        url=url,
        checksum=hashlib.sha256(raw).hexdigest(),
    )
    return document, caveats


def _load(
    files: list[tuple[Path, str]],
    root: Path,
    on_problem: Callable[[LoadProblem], None] | None,
) -> Iterator[Document]:
    for file, _id in files:
        try:
            document, caveats = read_post_with_caveats(file, root)
        except BadDocumentError as error:
            if on_problem is None:
                raise
            on_problem(LoadProblem(error.path, error.reason, skipped=True))
            continue
        if on_problem is not None:
            for caveat in caveats:
                on_problem(LoadProblem(file, caveat, skipped=False))
        yield document


def _post_id(path: Path, root: Path | str | None) -> str:
    if root is None or path == Path(root):
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # not under root
        return path.name


# --- bytes -> text -> front matter + body ---


def _decode(path: Path, raw: bytes, caveats: list[str]) -> str:
    if b"\0" in raw:
        raise BadDocumentError(path, "binary file, not a text post")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise BadDocumentError(path, "not UTF-8 or GB18030 text") from None
        caveats.append("decoded as GB18030")
    if not text.strip():
        raise BadDocumentError(path, "empty file")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class _FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe YAML that leaves timestamps as text.

    `_to_datetime` then sees every date, and an impossible one such as 2022-13-45 becomes a
    caveat instead of a ValueError from inside PyYAML.
    """


_FrontMatterLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _FrontMatterLoader.construct_yaml_str
)

_OPENING = re.compile(r"(?:[ \t]*\n)*---[ \t]*(?:\n|\Z)")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    opening = _OPENING.match(text)
    if opening is None:
        raise BadDocumentError(path, "no YAML front matter (the file must start with a --- line)")
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        raise BadDocumentError(path, "front matter is not closed (no second --- line)")
    front_matter = text[opening.end() : closing.start()]
    try:
        meta = yaml.load(front_matter, Loader=_FrontMatterLoader)
    except yaml.YAMLError as error:
        first_line = text.count("\n", 0, opening.end()) + 1  # the file line the YAML starts on
        raise BadDocumentError(path, _yaml_reason(error, front_matter, first_line)) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BadDocumentError(path, "front matter is not a mapping of `key: value` lines")
    return meta, text[closing.end() :]


def _yaml_reason(error: yaml.YAMLError, front_matter: str, first_line: int) -> str:
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow
        line = first_line + front_matter.count("\n", 0, error.position)
        return f"broken YAML at line {line}: {error.reason} (#x{error.character:04x})"
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return f"broken YAML: {error}"
    reason = f"broken YAML at line {first_line + mark.line}: {error.problem}"
    context_mark = getattr(error, "context_mark", None)
    if error.context and context_mark is not None:  # where the unfinished construct began
        reason += f", {error.context} at line {first_line + context_mark.line}"
    return reason


# --- front matter fields ---


def _title(value: Any, caveats: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        title = value
    elif isinstance(value, list):
        title = " ".join(str(item) for item in value)
        caveats.append("title is a list, joined its items")
    else:
        title = str(value)
        caveats.append(f"title is not text ({title}), converted it")
    return html.unescape(title)


_LABEL_SEPARATORS = re.compile(r"[\s,，]+")


def _labels(meta: dict[str, Any], plural: str, singular: str) -> tuple[str, ...]:
    """`categories`/`category` or `tags`/`tag`: a list, or a string of words as Jekyll splits it."""
    labels: list[str] = []
    for value in (meta.get(plural), meta.get(singular)):
        if isinstance(value, str):
            labels.extend(_LABEL_SEPARATORS.split(value))
        elif isinstance(value, list):
            labels.extend(str(item).strip() for item in value if item is not None)
        elif value is not None:
            labels.append(str(value))
    return tuple(dict.fromkeys(label for label in labels if label))


_DATE = re.compile(
    r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
# What the finews generator writes when it has no date: nothing, or only a zone (`date:  +0800`).
_NO_DATE = re.compile(r"\s*(?:Z|[+-]\d{2}:?\d{2})?\s*")
_FILE_NAME_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})-")


def _post_date(value: Any, file_name: str, caveats: list[str]) -> datetime | None:
    if value is None or (isinstance(value, str) and _NO_DATE.fullmatch(value)):
        return _file_name_date(file_name)
    post_date = _to_datetime(value)
    if post_date is None:
        post_date = _file_name_date(file_name)
        used = "used the file name's date" if post_date else "the post has no date"
        caveats.append(f"bad date '{value}', {used}")
    return post_date


def _file_name_date(file_name: str) -> datetime | None:
    match = _FILE_NAME_DATE.match(file_name)
    return _to_datetime(match[1]) if match else None


def _to_datetime(value: Any) -> datetime | None:
    """A datetime, date or date string as an aware datetime (naive ones in UTC+08:00), or None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CHINA_TIME)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=CHINA_TIME)
    match = _DATE.fullmatch(str(value).strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=_zone(zone),
        )
    except ValueError:  # 2022-02-30, 25:00, +2500 ...
        return None


def _zone(zone: str | None) -> timezone:
    if zone is None:
        return CHINA_TIME
    if zone == "Z":
        return timezone.utc
    digits = zone[1:].replace(":", "").ljust(4, "0")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-offset if zone[0] == "-" else offset)


# --- body -> plain text ---

_BACK_LINK = r"\[返回[^\]\n]*\]\([^)\n]*\)"
# `[返回东财滚动新闻](../emnews/)` and `[返回首页](../)`, on two lines or one (split by ｜ or |).
_FOOTER_LINE = re.compile(
    rf"^[ \t]*{_BACK_LINK}(?:[ \t]*[｜|][ \t]*{_BACK_LINK})*[ \t]*(?:\n|\Z)", re.MULTILINE
)
_SOURCE_LINK_LINE = re.compile(
    r"^[ \t]*<(https?://[^\s<>]*)?>[ \t]*(?:\n|\Z)", re.MULTILINE | re.IGNORECASE
)


def _take_source_link(body: str) -> tuple[str, str | None]:
    """The body without its `<http...>` and `<>` lines, and the first of those URLs."""
    urls = [match[1] for match in _SOURCE_LINK_LINE.finditer(body) if match[1]]
    return _SOURCE_LINK_LINE.sub("", body), (urls[0] if urls else None)


_HTML_HINT = re.compile(
    r"<(?:p|div|br|table|ul|ol|li|h[1-6]|center|blockquote|section|article|figure|pre|hr)\b",
    re.IGNORECASE,
)
_QUOTE_MARKER = re.compile(r"^> ", re.MULTILINE)
_MARKDOWN = MarkdownIt("commonmark", {"html": True})


def _body_text(body: str) -> str:
    if body.lstrip().startswith("<") or _HTML_HINT.search(body):
        # Eastmoney HTML bodies may open with a markdown `> ` digest; drop its quote marker.
        return _QUOTE_MARKER.sub("", _html_to_text(body))
    return _html_to_text(_MARKDOWN.render(body))


_BLOCK_SELECTOR = (
    "p, div, br, li, h1, h2, h3, h4, h5, h6, center, blockquote, tr, table, section, article,"
    " figure, figcaption, pre, hr, ul, ol, dl, dt, dd"
)
_DROPPED_TAGS = ["script", "style", "noscript", "template", "img"]
_BREAK = "\ue000"  # a private-use character that marks paragraph breaks in the extracted text
_CJK = (  # radicals, CJK punctuation, kana, bopomofo, ideographs, full-width forms
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
)
_BLANK_LINES = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_BREAK_IN_CJK = re.compile(rf"(?<=[{_CJK}])[^\S\n]*\n\s*(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")


def _html_to_text(markup: str) -> str:
    """Plain text of `markup`: a paragraph per block element, spaces collapsed, entities decoded."""
    tree = LexborHTMLParser(markup.replace(_BREAK, ""))
    tree.strip_tags(_DROPPED_TAGS)
    # Marking block boundaries in the tree and letting lexbor extract the text keeps the walk in
    # C, where it is iterative (10,000 nested <div>s are fine), and inline elements unspaced.
    for node in tree.css(_BLOCK_SELECTOR):
        node.insert_before(_BREAK)
        node.insert_after(_BREAK)
    for node in tree.css("td, th"):
        node.insert_after(" ")
    text = tree.body.text() if tree.body is not None else ""
    text = _BLANK_LINES.sub(_BREAK, text)
    # A line break between two CJK characters is no space (as in browsers), so phrases stay whole.
    text = _LINE_BREAK_IN_CJK.sub("", text)
    paragraphs = (_SPACES.sub(" ", paragraph).strip() for paragraph in text.split(_BREAK))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
