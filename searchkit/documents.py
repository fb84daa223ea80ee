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

Hostile files cost bounded time and memory: only the first `MAX_POST_BYTES` of a file are read
(the rest only hashed), a FIFO or device named `.md` is refused without being opened for a
blocking read, YAML aliases are never expanded into text, and HTML nested deeper than
`MAX_HTML_DEPTH` or markdown longer than `MAX_MARKDOWN_LENGTH` is read as plain text (HTML5
tree building is quadratic in the depth; markdown-it is slow on hostile markdown).
"""

from __future__ import annotations

import codecs
import hashlib
import html
import os
import re
import reprlib
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dates import CHINA_TIME
from .errors import BadDocumentError

# PyYAML, markdown-it and selectolax are imported in the functions that read posts: every
# search imports this module (for `Document`), and the three cost ~40 ms a start.
if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True)
class Document:
    """One post, ready to index. Only `id`, `title` and `body` are required.

    `date` is always timezone-aware: a naive datetime is taken as UTC+08:00, as a front
    matter date without a zone is (see the module docstring), and a `date` as its midnight.
    """

    id: str
    title: str
    body: str
    path: Path | None = None
    date: datetime | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    url: str | None = None
    checksum: str | None = None  # sha256 of the file's bytes, for incremental updates

    def __post_init__(self) -> None:
        if self.date is not None and (
            not isinstance(self.date, datetime) or self.date.tzinfo is None
        ):
            object.__setattr__(self, "date", _to_datetime(self.date))


@dataclass(frozen=True)
class LoadProblem:
    """A post that was skipped (`skipped=True`) or indexed with a caveat (`skipped=False`)."""

    path: Path
    reason: str
    skipped: bool = True

    @classmethod
    def from_error(cls, error: BadDocumentError) -> LoadProblem:
        """The skip of the post `error` is about (its path and reason)."""
        return cls(error.path, error.reason, skipped=True)

    @classmethod
    def unreadable(cls, path: Path | str, error: OSError) -> LoadProblem:
        """The skip of a post whose file could not be read (e.g. gone since it was listed)."""
        return cls(Path(path), f"cannot read it: {error.strerror or error}", skipped=True)


POST_SUFFIXES = (".md", ".markdown", ".html", ".htm")
# The most of one file that is read and indexed: ~140 times the largest post in the shared
# corpora. Analysis costs ~1 s and ~15 MB a MB of Chinese text, so a 50 MB file would cost a
# minute and most of a GB; beyond this, a post is indexed from its beginning, with a caveat.
MAX_POST_BYTES = 2 * 1024 * 1024


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
        on_problem(LoadProblem.from_error(problem))

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


def read_post_or_problems(
    path: Path | str, root: Path | str | None = None
) -> tuple[Document | None, list[LoadProblem]]:
    """`read_post` for a run that goes on past a bad post: the post and its caveats as
    `LoadProblem(skipped=False)`, or None and the one `LoadProblem` that says why it was
    skipped (a file name that is not UTF-8 comes back printable in its `path`)."""
    try:
        document, caveats = read_post_with_caveats(path, root)
    except BadDocumentError as error:
        return None, [LoadProblem.from_error(error)]
    except OSError as error:  # e.g. the file replaced or removed while it was read
        return None, [LoadProblem.unreadable(path, error)]
    return document, [LoadProblem(Path(path), caveat, skipped=False) for caveat in caveats]


def read_post_with_caveats(
    path: Path | str, root: Path | str | None = None
) -> tuple[Document, list[str]]:
    """`read_post`, and the caveats of reading it, such as "decoded as GB18030"."""
    path = Path(path)
    _check_file_name(path)
    caveats: list[str] = []
    raw, size, checksum = _read_head(path)
    truncated = size > len(raw)
    if truncated:
        caveats.append(
            f"the file is {size / 2**20:.1f} MB; indexed only its first "
            f"{len(raw) / 2**20:.1f} MB (the limit for one post)"
        )
    meta, body = _split_front_matter(path, _decode(path, raw, caveats, final=not truncated))
    body, url = _take_source_link(_FOOTER_LINE.sub("", body))
    document = Document(
        id=_post_id(path, root),
        title=_without_controls(_title(meta.get("title"), caveats), caveats, "title"),
        body=_body_text(_without_controls(body, caveats, "body"), caveats),
        path=path,
        date=_post_date(meta.get("date"), path.name, caveats),
        categories=_labels(meta, "categories", "category"),
        tags=_labels(meta, "tags", "tag"),
        url=url,
        checksum=checksum,
    )
    return document, caveats


def _check_file_name(path: Path) -> None:
    """Refuse a file name that is not UTF-8: it cannot be an id (nor be printed as one)."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw_name = os.fsencode(path.name)
        try:
            hint = f"; read as GB18030 it is {raw_name.decode('gb18030')!r}"
        except UnicodeDecodeError:
            hint = ""
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise BadDocumentError(
            Path(shown), f"the file name is not UTF-8 text{hint}; rename the file"
        ) from None


def _read_head(path: Path) -> tuple[bytes, int, str]:
    """The first `MAX_POST_BYTES` of a regular file, its size, and the sha256 of all of it.

    Opened non-blocking and checked with fstat, so a FIFO named `x.md` cannot hang the run
    and a link to /dev/zero cannot fill the memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise BadDocumentError(path, f"cannot read the file: {error.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # checked before fdopen, which refuses a folder itself
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
        raise BadDocumentError(path, f"not a regular file ({kind}), so not a post")
    with os.fdopen(fd, "rb") as handle:
        try:
            head = handle.read(MAX_POST_BYTES)
            digest = hashlib.sha256(head)
            size = len(head)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        except OSError as error:
            raise BadDocumentError(path, f"cannot read the file: {error.strerror}") from None
    return head, size, digest.hexdigest()


def _load(
    files: list[tuple[Path, str]],
    root: Path,
    on_problem: Callable[[LoadProblem], None] | None,
) -> Iterator[Document]:
    for file, _id in files:
        if on_problem is None:
            yield read_post(file, root)
            continue
        document, problems = read_post_or_problems(file, root)
        for problem in problems:
            on_problem(problem)
        if document is not None:
            yield document


def _post_id(path: Path, root: Path | str | None) -> str:
    if root is None or path == Path(root):
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # not under root
        return path.name


# --- bytes -> text -> front matter + body ---


def _decode(path: Path, raw: bytes, caveats: list[str], final: bool = True) -> str:
    """The text of a post's bytes: UTF-8 (with or without BOM), else GB18030 (with a caveat).

    `final=False` for a head cut off at `MAX_POST_BYTES`: a character cut in two at the end
    is dropped. A stray NUL in a text file is a control character (removed later); a file
    with more than 10% NULs (UTF-16, zeros), or NULs and bytes that are not UTF-8, is binary.
    """
    nuls = raw.count(b"\0")
    if nuls * 10 > len(raw):
        raise BadDocumentError(path, "binary file, not a text post")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final)
    except UnicodeDecodeError:
        if nuls:
            raise BadDocumentError(path, "binary file, not a text post") from None
        try:
            text = codecs.getincrementaldecoder("gb18030")().decode(raw, final)
        except UnicodeDecodeError:
            raise BadDocumentError(
                path, "not UTF-8 or GB18030 text (a binary file, or another encoding)"
            ) from None
        caveats.append("decoded as GB18030")
    if not text.strip():
        raise BadDocumentError(path, "empty file")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


@cache
def _front_matter_loader() -> type:
    """Safe YAML that leaves timestamps as text.

    `_to_datetime` then sees every date, and an impossible one such as 2022-13-45 becomes a
    caveat instead of a ValueError from inside PyYAML.
    """
    import yaml

    class FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    FrontMatterLoader.add_constructor(
        "tag:yaml.org,2002:timestamp", FrontMatterLoader.construct_yaml_str
    )
    return FrontMatterLoader


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
    import yaml

    try:
        meta = yaml.load(front_matter, Loader=_front_matter_loader())
    except yaml.YAMLError as error:
        first_line = text.count("\n", 0, opening.end()) + 1  # the file line the YAML starts on
        raise BadDocumentError(path, _yaml_reason(error, front_matter, first_line)) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BadDocumentError(path, "front matter is not a mapping of `key: value` lines")
    return meta, text[closing.end() :]


def _yaml_reason(error: yaml.YAMLError, front_matter: str, first_line: int) -> str:
    import yaml

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
        items = [_scalar_text(item) for item in value]
        title = " ".join(item for item in items if item is not None)
        if None in items:  # nested lists, perhaps YAML aliases that would expand a billionfold
            caveats.append("title is a list of lists, kept only its text items")
        else:
            caveats.append("title is a list, joined its items")
    elif _scalar_text(value) is None:
        title = ""
        caveats.append(f"title is not text ({_shown(value)}), ignored it")
    else:
        title = _scalar_text(value)
        caveats.append(f"title is not text ({_shown(title)}), converted it")
    return html.unescape(title)


def _scalar_text(value: Any) -> str | None:
    """A YAML scalar as text; None for a list, mapping or null, which are never stringified
    (`str()` of nested aliases can be billions of characters)."""
    if value is None or isinstance(value, (list, dict, set, tuple)):
        return None
    return str(value)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def _shown(value: Any) -> str:
    """A front matter value for a message: short, whatever its size or nesting."""
    return value if isinstance(value, str) and len(value) <= 60 else _SHORT.repr(value)


_LABEL_SEPARATORS = re.compile(r"[\s,，]+")


def _labels(meta: dict[str, Any], plural: str, singular: str) -> tuple[str, ...]:
    """`categories`/`category` or `tags`/`tag`: a list, or a string of words as Jekyll splits it."""
    labels: list[str] = []
    for value in (meta.get(plural), meta.get(singular)):
        if isinstance(value, str):
            labels.extend(_LABEL_SEPARATORS.split(value))
        elif isinstance(value, list):
            labels.extend(text.strip() for text in map(_scalar_text, value) if text is not None)
        elif _scalar_text(value) is not None:
            labels.append(_scalar_text(value))
    labels = [_CONTROLS.sub("", label) for label in labels]
    return tuple(dict.fromkeys(label for label in labels if label))


# C0 controls other than tab and newline, DEL and C1 controls: never text, and some (ESC, CSI)
# would drive the terminal that shows the post.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _without_controls(text: str, caveats: list[str], where: str) -> str:
    removed = _CONTROLS.findall(text)
    if not removed:
        return text
    names = ", ".join(f"U+{ord(char):04X}" for char in dict.fromkeys(removed))
    plural = "s" if len(removed) > 1 else ""
    caveats.append(f"removed {len(removed)} control character{plural} ({names}) from the {where}")
    return _CONTROLS.sub("", text)


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
    post_date = _to_datetime(value) if _scalar_text(value) is not None else None
    if post_date is None:
        post_date = _file_name_date(file_name)
        used = "used the file name's date" if post_date else "the post has no date"
        caveats.append(f"bad date '{_shown(value)}', {used}")
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
# markdown-it takes ~0.3 µs a character of prose, but up to ~25 µs on hostile input (a
# million `![`): 2 MB of that would take a minute. Longer markdown is read as plain text.
MAX_MARKDOWN_LENGTH = 100_000


def _body_text(body: str, caveats: list[str] | None = None) -> str:
    if body.lstrip().startswith("<") or _HTML_HINT.search(body):
        # Eastmoney HTML bodies may open with a markdown `> ` digest; drop its quote marker.
        return _QUOTE_MARKER.sub("", _html_to_text(body, caveats))
    if len(body) > MAX_MARKDOWN_LENGTH:  # as HTML: tags and entities still go
        if caveats is not None:
            caveats.append(f"markdown of {len(body):,} characters; read it as plain text")
        return _html_to_text(body, caveats)
    return _html_to_text(_markdown().render(body), caveats)


@cache
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True})


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
# Left to `re` to compile on first use (and keep): its CJK classes take ~7 ms to compile,
# which only reading posts needs, and every search imports this module.
_LINE_BREAK_IN_CJK = rf"(?<=[{_CJK}])[^\S\n]*\n\s*(?=[{_CJK}])"
_SPACES = re.compile(r"\s+")


# Lexbor builds the tree in time quadratic in the nesting depth (each block start tag looks
# down the stack of open elements): 10,000 nested <div>s take 0.13 s, 20,000 0.45 s, 100,000
# 13 s. Markup this short cannot nest deeper than that; longer markup is checked first.
MAX_HTML_DEPTH = 20_000
_DEPTH_CHECK_LENGTH = 5 * MAX_HTML_DEPTH
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^<>]*?(/?)>")
_VOID_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


def _nesting_depth(markup: str) -> int:
    """How deep the tags of `markup` nest, counted naively (an unclosed tag counts)."""
    depth = deepest = 0
    for match in _TAG.finditer(markup):
        closing, name, self_closing = match.groups()
        if self_closing or name.lower() in _VOID_TAGS:
            continue
        if closing:
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _html_to_text(markup: str, caveats: list[str] | None = None) -> str:
    """Plain text of `markup`: a paragraph per block element, spaces collapsed, entities decoded."""
    if len(markup) > _DEPTH_CHECK_LENGTH:
        depth = _nesting_depth(markup)
        if depth > MAX_HTML_DEPTH:
            if caveats is not None:
                caveats.append(f"HTML nested {depth:,} levels deep; read it as plain text")
            return _tags_stripped(markup)
    from selectolax.lexbor import LexborHTMLParser

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
    text = _CONTROLS.sub("", text)  # character references such as &#27; can spell them
    text = _BLANK_LINES.sub(_BREAK, text)
    # A line break between two CJK characters is no space (as in browsers), so phrases stay whole.
    text = re.sub(_LINE_BREAK_IN_CJK, "", text)
    paragraphs = (_SPACES.sub(" ", paragraph).strip() for paragraph in text.split(_BREAK))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


_ANY_TAG = re.compile(r"<[^<>]*>")


def _tags_stripped(markup: str) -> str:
    """Plain text of markup too deep to parse: tags are separators, entities decoded."""
    text = _CONTROLS.sub("", html.unescape(_ANY_TAG.sub(" ", markup.replace(_BREAK, ""))))
    return _SPACES.sub(" ", text).strip()
