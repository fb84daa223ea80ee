"""Snippets and marks: where the query's text occurs, in the original characters.

A mark is found the same way a match is decided: the query text is searched in the
*normalized* field text, then mapped back to the original characters, so a mark always spans
exactly the matched text (逆回购, never a stray 回购), whatever its script or width.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from .analysis import WORD_CHAR, normalize_with_offsets

SNIPPET_WIDTH = 120
LEAD = 24  # characters of context kept before the first mark


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


def find_marks(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """The (start, end) spans in `text` of every occurrence of the normalized `terms`,
    sorted, overlapping spans merged."""
    terms = [t for t in terms if t and t.strip()]
    if not text or not terms:
        return []
    normalized, offsets = normalize_with_offsets(text)
    spans = []
    for term in terms:
        for match in _pattern(term).finditer(normalized):
            start, end = match.span()
            if offsets is not None:
                start, end = offsets[start], offsets[end]
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def make_snippet(
    title: str, body: str, terms: list[str], width: int = SNIPPET_WIDTH
) -> tuple[str, list[tuple[int, int]]]:
    """A short excerpt around the best match, and its marks.

    The excerpt comes from the body where the terms occur, else from the title, else it is
    the start of the body. Line breaks become spaces so the excerpt reads as one line.
    """
    marks = find_marks(body, terms)
    if not marks:
        title_marks = find_marks(title, terms)
        if title_marks:
            return title.replace("\n", " "), title_marks
        return _flatten(body[:width].strip()), []
    start = _best_window(marks, width)
    start = max(0, start - LEAD)
    end = min(len(body), start + width)
    # Never cut a mark in two.
    inside = [(s, e) for s, e in marks if s >= start and s < end]
    if inside and inside[-1][1] > end:
        end = inside[-1][1]
    snippet = body[start:end]
    return _flatten(snippet), [(s - start, e - start) for s, e in inside]


def _best_window(marks: list[tuple[int, int]], width: int) -> int:
    """The start of the mark whose window of `width` characters holds the most marks."""
    best_start, best_count = marks[0][0], 0
    j = 0
    for i, (start, _) in enumerate(marks):
        j = max(j, i)
        while j + 1 < len(marks) and marks[j + 1][1] <= start + width - LEAD:
            j += 1
        if j - i + 1 > best_count:
            best_start, best_count = start, j - i + 1
    return best_start


def _flatten(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ").replace("\t", " ")


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
