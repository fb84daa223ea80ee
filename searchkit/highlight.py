"""Snippets and marks: where the query's text occurs, in the original characters.

A mark is found the same way a match is decided: the query text is searched in the
*normalized* field text, then mapped back to the original characters, so a mark always spans
exactly the matched text (逆回购, never a stray 回购), whatever its script or width.

A snippet is the body's best window, cut where a reader expects a cut: see `make_snippet`
and the rules in docs/internals.md.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from functools import lru_cache

from .analysis import CJK_CHARS, WORD_CHAR, normalize_with_offsets

SNIPPET_WIDTH = 120  # characters of body text, about two lines of a terminal
LEAD = 24  # context wanted before the first mark
REACH = 16  # how much further a cut may move to fall at a sentence, a pause or between words
TAIL = 12  # context kept after the last mark when its sentence goes on
# How many characters of the width a snippet gives up to end at a sentence's end, at a
# pause (a comma, a quote), or between Chinese and a number or Latin word (2026|年), in that
# order of preference; failing all three, it ends anywhere outside a number or Latin word.
SLACK = (("sentence", 40), ("pause", 24), ("script", 16))
ELLIPSIS = "…"

_TERMINATORS = frozenset("。！？；!?;…\n")
_CLOSERS = frozenset("”’」』）)]】》〉\"'")
_OPENERS = frozenset("“‘「『（([【《〈")
_PAUSES = frozenset("，、：,: \t\r\u3000—·/|") | _CLOSERS
_HEADING_END = _PAUSES | _TERMINATORS
_OPENING_CHARS = "".join(_OPENERS) + " \t\n\u3000"
_TRAILING_JUNK = (_PAUSES | _OPENERS) - _CLOSERS
_SPACE_RUN = re.compile(r"\s\s|[^\S ]")
_TEXT = re.compile(r"\S")
_WORD = re.compile(WORD_CHAR)
_SENTENCE = re.compile(f"[{re.escape(''.join(_TERMINATORS))}]+[{re.escape(''.join(_CLOSERS))}]*")
_PAUSE_RUN = re.compile(f"[{re.escape(''.join(_PAUSES | _OPENERS))}]+")
_SCRIPT_CHANGE = re.compile(f"(?<=[{CJK_CHARS}]){WORD_CHAR}|(?<={WORD_CHAR})[{CJK_CHARS}]")


# More than any query's terms: each hit of a page walks the same terms again, and a cache
# smaller than that list misses every time (a pasted paragraph took 7 s, 1.4 s with this).
@lru_cache(maxsize=4096)
def _pattern(term: str) -> re.Pattern:
    """Regex for a normalized term: whitespace flexible, letters/digits as whole tokens."""
    body = r"\s+".join(re.escape(part) for part in term.split())
    if re.match(WORD_CHAR, term[0]):
        body = rf"(?<!{WORD_CHAR})" + body
    if re.match(WORD_CHAR, term[-1]):
        body += rf"(?!{WORD_CHAR})"
    return re.compile(body)


def marked_terms(terms: list[str] | tuple[str, ...], match: str) -> list[str]:
    """The `terms` whose occurrences a hit found by `match` ("exact", "synonym", "relaxed")
    marks.

    A best-match hit's terms are the query's words as jieba cut them, and jieba cuts single
    characters and digits out of a question (8月7日央行 gives 8, 月, 7, 日): marked alone they
    light up 家 in 户籍家庭 and every 8 of a date. So in a best-match hit a one-character
    term is marked only when the query has it as a term of its own, not only inside a
    longer one. The other hits contain the query's own terms, all of which are marked.

    >>> marked_terms(["8", "央行", "8月央行"], "relaxed")
    ['央行', '8月央行']
    """
    terms = [t for t in terms if t and t.strip()]
    if match != "relaxed":
        return terms
    return [t for t in terms if len(t) > 1 or not any(t in o for o in terms if len(o) > 1)]


def find_marks(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """The (start, end) spans in `text` of every occurrence of the normalized `terms`,
    sorted, overlapping spans merged."""
    normalized, offsets = normalize_with_offsets(text) if text else ("", None)
    return _merged(_occurrences(normalized, offsets, terms))


def _occurrences(
    normalized: str, offsets: list[int] | None, terms: list[str]
) -> list[tuple[int, int, int]]:
    """(start, end, term number) of every occurrence of `terms` in the normalized text,
    as offsets into the original text, sorted. A term given twice is one term."""
    found = []
    for number, term in enumerate(dict.fromkeys(terms)):
        if not term or not term.strip():
            continue
        for match in _pattern(term).finditer(normalized):
            start, end = match.span()
            if offsets is not None:
                # From the character that gave the first matched one to the character that
                # gave the last: a match may end inside an expansion (… is ...).
                start, end = offsets[start], offsets[end - 1] + 1
            found.append((start, end, number))
    found.sort()
    return found


def _merged(spans) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end, *_ in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# --- snippets ------------------------------------------------------------------------------


def make_snippet(
    title: str, body: str, terms: list[str], width: int = SNIPPET_WIDTH
) -> tuple[str, list[tuple[int, int]]]:
    """A short excerpt of the body around its best match, and the marks in it.

    The window holds the most distinct terms (then the most matches, then it is the
    earliest), leaving out an opening that repeats the title, which is shown anyway. It
    starts and ends at a sentence, a pause or between words, with "…" where body text was
    left out. With no match outside such an opening, it is the body's beginning after it
    ("" when the body is only the title). Line breaks become spaces.

    >>> make_snippet("降准", "【降准】央行宣布降准0.5个百分点。", ["降准"])
    ('央行宣布降准0.5个百分点。', [(4, 6)])
    """
    normalized, offsets = normalize_with_offsets(body) if body else ("", None)
    floor = _after_title(title, body)
    found = [o for o in _occurrences(normalized, offsets, terms) if o[0] >= floor]
    first = last = floor
    if found:
        i, j = _best_window(found, width - LEAD)
        first, last = found[i][0], max(end for _, end, _ in found[i:j])
    lead = max(LEAD, width - (len(body) - first))  # near the end, more context before
    start = _unsplit(found, _cut_start(body, floor, first, lead), floor)
    end = _unsplit(found, _cut_end(body, start, last, width), last)
    start, end = _trimmed(body, start, end)
    inside = _merged(o for o in found if start <= o[0] and o[1] <= end)
    excerpt, marks = _one_line(body[start:end], [(s - start, e - start) for s, e in inside])
    before = ELLIPSIS if _TEXT.search(body, floor, start) else ""
    after = ELLIPSIS if _TEXT.search(body, end) else ""
    return before + excerpt + after, [(s + len(before), e + len(before)) for s, e in marks]


def _after_title(title: str, body: str) -> int:
    """Where the body's text begins after an opening that repeats the title (【title】,
    "title：", a title line; twice in 【title】title，...), else 0. Most posts of the finance
    corpus open so: before this, 34 of the 50 first snippets for 逆回购 began with the title.
    The opening is a copy of the title, so the text is compared as it is: normalizing the
    title would cost as much as the rest of the rules."""
    heading = title.strip().lstrip(_OPENING_CHARS)
    if len(heading) < 2:
        return 0
    begins = 0
    for _ in range(2):
        at = begins
        while at < len(body) and (body[at].isspace() or body[at] in _OPENERS):
            at += 1  # 【“title”】 and “title” both repeat “title”
        if not body.startswith(heading, at):
            break
        at += len(heading)
        if at < len(body) and body[at] not in _HEADING_END:
            break  # a sentence that merely begins with the title's words
        while at < len(body) and (body[at] in _HEADING_END or body[at].isspace()):
            at += 1
        begins = at
    return begins


def _best_window(found: list[tuple[int, int, int]], span: int) -> tuple[int, int]:
    """(i, j): the occurrences found[i:j] within `span` characters that hold the most
    distinct terms, then the most occurrences; the earliest such run."""
    best, best_key = (0, 1), (0, 0)
    terms: dict[int, int] = {}  # term number: occurrences in found[i:j]
    j = 0
    for i, (start, _, _) in enumerate(found):
        while j < len(found) and (j == i or found[j][1] - start <= span):
            terms[found[j][2]] = terms.get(found[j][2], 0) + 1
            j += 1
        key = (len(terms), j - i)
        if key > best_key:
            best, best_key = (i, j), key
        if j == len(found):
            break  # later runs are parts of this one
        number = found[i][2]
        terms[number] -= 1
        if not terms[number]:
            del terms[number]
    return best


def _cut_start(text: str, floor: int, first: int, lead: int) -> int:
    """Where a snippet whose first mark is at `first` starts: at `floor` (the body's start,
    or the text after its title) or at the start of the mark's sentence when either is
    within reach, else at the pause or script change nearest `lead` characters before it.
    Failing those (a long run of Chinese), at the mark itself: cutting a word in two reads
    worse than a snippet without context before its first match."""
    earliest = max(floor, first - lead - REACH)
    if earliest == floor:
        return floor
    sentences = _cuts(text, earliest, first, "sentence")
    if sentences:
        return sentences[-1]
    target = first - lead
    for kind in ("pause", "script"):
        found = _cuts(text, earliest, first, kind)
        if found:
            return min(found, key=lambda at: abs(at - target))
    return first


def _cut_end(text: str, start: int, last: int, width: int) -> int:
    """Where a snippet starting at `start`, whose last mark ends at `last`, ends: at the
    body's end if within `width`, else at the best cut (`SLACK`) between `TAIL` characters
    after the last mark (or its sentence's end, if sooner) and `start + width`; or a little
    past the width rather than inside a word."""
    earliest = min(len(text), last + TAIL)
    sentence = _SENTENCE.search(text, last, min(len(text), earliest + 4))
    if sentence and sentence.start() < earliest:
        earliest = sentence.end()  # with its closing quotes: 。”
    latest = max(start + width, earliest)
    if latest >= len(text):
        return len(text)
    for kind, slack in SLACK:
        found = _cuts(text, max(earliest, latest - slack), latest, kind)
        if found:
            return found[-1]
    found = [at for kind, _ in SLACK for at in _cuts(text, earliest, latest + REACH, kind)]
    beyond = [at for at in found if at > latest]
    if beyond:
        return min(beyond)
    if found:
        return max(found)
    return _outside_word_run(text, latest, earliest)


def _cuts(text: str, lo: int, hi: int, kind: str) -> list[int]:
    """The places from `lo` to `hi`, in order, where a snippet may be cut, of one kind:
    "sentence" (after a sentence's terminators and closing quotes), "pause" (at or after a
    comma, colon, space or quote), "script" (Chinese on one side, a letter or digit on the
    other: 央行|MLF, 2026|年)."""
    stop = min(len(text), hi + 1)
    if kind == "sentence":
        found = [m.end() for m in _SENTENCE.finditer(text, max(0, lo - 4), min(len(text), hi + 4))]
        if hi >= len(text):
            found.append(len(text))
    elif kind == "pause":
        found = []
        for m in _PAUSE_RUN.finditer(text, max(0, lo - 1), stop):
            if text[m.start()] not in _CLOSERS:  # never cut a closing quote off
                found.append(m.start())
            found.append(m.end())
    else:
        found = [m.start() for m in _SCRIPT_CHANGE.finditer(text, lo, stop)]
    return [at for at in found if lo <= at <= hi and 0 < at]


def _outside_word_run(text: str, at: int, lowest: int) -> int:
    """`at`, or the start of the Latin word or number it would cut in two (its end, if that
    start is below `lowest`)."""
    start = at
    while 0 < start < len(text) and _in_word_run(text, start):
        start -= 1
    if start == at or start >= lowest:
        return start
    end = at
    while end < len(text) and _in_word_run(text, end):
        end += 1
    return end


def _in_word_run(text: str, at: int) -> bool:
    """Whether `at` is inside a run of letters or digits, decimals included (1.40)."""
    before, after = text[at - 1], text[at]
    if _WORD.match(before) and _WORD.match(after):
        return True
    if before in ".," and at >= 2:
        return bool(_WORD.match(text[at - 2]) and after.isdigit())
    return after in ".," and at + 1 < len(text) and text[at + 1].isdigit() and _WORD.match(before)


def _unsplit(found: list[tuple[int, int, int]], at: int, lowest: int) -> int:
    """`at`, moved off any match it would cut in two (back to its start, or past its end
    if that start is below `lowest`)."""
    for start, end, _ in found:
        if start < at < end:
            return start if start >= lowest else end
    return at


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """Without spaces, commas or closing quotes at the start, nor spaces, commas or opening
    quotes at the end."""
    while start < end and (text[start].isspace() or text[start] in _PAUSES):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _TRAILING_JUNK):
        end -= 1
    return start, end


def _one_line(text: str, marks: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """`text` with each run of whitespace (line breaks included) one space, and its marks
    moved with it, so a snippet reads as one line."""
    if not _SPACE_RUN.search(text):
        return text, marks
    kept = [i for i, char in enumerate(text) if not (char.isspace() and text[i - 1 : i].isspace())]
    line = "".join(" " if text[i].isspace() else text[i] for i in kept)
    return line, [(bisect_left(kept, s), bisect_left(kept, e)) for s, e in marks]


def to_html(text: str, marks: list[tuple[int, int]]) -> str:
    """HTML with each mark in `<mark>`; all document text is escaped."""
    out, last = [], 0
    for start, end in marks:
        out.append(html.escape(text[last:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def to_plain(text: str, marks: list[tuple[int, int]], left: str = "[", right: str = "]") -> str:
    """Plain text with each mark between `left` and `right`."""
    out, last = [], 0
    for start, end in marks:
        out.append(text[last:start] + left + text[start:end] + right)
        last = end
    out.append(text[last:])
    return "".join(out)


def to_rich(text: str, marks: list[tuple[int, int]], style: str = "bold black on yellow"):
    """A `rich.text.Text` with each mark in `style` (document text is never read as markup)."""
    from rich.text import Text

    rendered = Text(text)
    for start, end in marks:
        rendered.stylize(style, start, end)
    return rendered
