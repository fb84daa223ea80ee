"""`Contains`: a Whoosh query that matches a text wherever it occurs contiguously.

jieba cuts text differently in different contexts (逆回购 may be one word, or 逆 + 回购, or
part of 隔夜逆回购), so searching for the query's own jieba words misses posts. But in the
normalized text every occurrence of a query string `t` is covered by consecutive tokens:

* one token that contains `t` (FULL: 隔夜逆回购 contains 逆回购), or
* a token ending with a prefix of `t`, then zero or more tokens equal to middle pieces of `t`,
  then a token starting with the rest (息预 in 降息/预期).

`ContainsPlan` finds those words in the index vocabulary; the matcher walks the candidate
documents and checks, with the word positions, that the pieces really are adjacent. So a
match is exactly "the normalized field contains `t`", whatever jieba did with it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from whoosh import matching, query
from whoosh.query.spans import Span, SpanWrappingMatcher
from whoosh.util import make_binary_tree

from .analysis import CJK_CHARS
from .vocabulary import Vocabulary

_UNIT = re.compile(rf"(?P<cjk>[{CJK_CHARS}]+)|(?P<word>(?:[^\W_{CJK_CHARS}])+(?:[.,](?=\d)\d+)*)")

# A whole-word occurrence counts fully; the same characters inside a longer word, or across
# a word boundary, count this much (回购 ranks posts about 回购 above posts about 逆回购).
IN_WORD_WEIGHT = 0.4
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class Edge:
    """A token spelling `piece` from text offset `start`; the next token continues at `end`
    (past any separator). `words` are the vocabulary words that can stand there."""

    start: int
    end: int
    piece: str
    words: tuple[str, ...]


@dataclass
class ContainsPlan:
    """How the normalized string `text` can be covered by indexed tokens."""

    text: str
    full: tuple[str, ...] = ()  # words containing the whole text (single-run text only)
    edges: list[Edge] = field(default_factory=list)
    gaps: frozenset[int] = frozenset()  # offsets after which a separator adds a position

    @property
    def empty(self) -> bool:
        return not self.full and not self.edges

    def words(self) -> set[str]:
        found = set(self.full)
        for edge in self.edges:
            found.update(edge.words)
        return found


def make_plan(text: str, vocab: Vocabulary) -> ContainsPlan:
    """Plan the search for normalized `text` (no leading/trailing separators) in `vocab`."""
    units = [(m.start(), m.end(), m.lastgroup == "cjk") for m in _UNIT.finditer(text)]
    plan = ContainsPlan(text)
    if not units:
        return plan
    # Where a run ends, the next token starts at the next run: `follow` maps the one offset to
    # the other; `gaps` holds the run starts that a separator puts one position further on.
    follow = {}
    gaps = set()
    for (_, end, cjk_before), (start, _, cjk_after) in zip(units, units[1:], strict=False):
        follow[end] = start
        between = text[end:start]
        # Mirrors `Analyzer.tokenize`: only whitespace between two letter/digit runs is no gap.
        if between and not (between.isspace() and not cjk_before and not cjk_after):
            gaps.add(start)
    plan.gaps = frozenset(gaps)
    length = len(text)
    first_cjk = units[0][2]
    if len(units) == 1 and first_cjk:
        plan.full = tuple(vocab.containing(text))
    # Token boundaries may fall anywhere inside a CJK run, only at the ends of other runs.
    for index, (start, end, cjk) in enumerate(units):
        cuts = list(range(start, end + 1)) if cjk else [start, end]
        for i, a in enumerate(cuts):
            # No word is longer than the longest in the vocabulary: bounded work for long text.
            for b in cuts[i + 1:i + 1 + max(1, vocab.max_length)]:
                piece = text[a:b]
                if (a, b) == (0, length) and first_cjk:
                    continue  # covered by `full`
                if a == 0 and cjk and index == 0:
                    words = vocab.ending_with(piece)
                elif b == length and cjk and index == len(units) - 1:
                    words = vocab.starting_with(piece)
                else:
                    words = [piece] if piece in vocab else []
                if words:
                    plan.edges.append(Edge(a, follow.get(b, b), piece, tuple(words)))
    # Edges that cannot be part of a chain from 0 to `length` are dropped.
    plan.edges = _reachable(plan.edges, length)
    return plan


def _reachable(edges: list[Edge], length: int) -> list[Edge]:
    forward = {0}
    for edge in sorted(edges, key=lambda e: e.start):
        if edge.start in forward:
            forward.add(edge.end)
    backward = {length}
    for edge in sorted(edges, key=lambda e: -e.end):
        if edge.end in backward:
            backward.add(edge.start)
    return [e for e in edges if e.start in forward and e.end in backward]


class Contains(query.Query):
    """Matches documents whose `fieldname` contains the planned text contiguously."""

    def __init__(self, fieldname: str, plan: ContainsPlan, boost: float = 1.0):
        self.fieldname = fieldname
        self.plan = plan
        self.boost = boost

    def __repr__(self):
        return f"Contains({self.fieldname!r}, {self.plan.text!r}, boost={self.boost})"

    def __eq__(self, other):
        return (
            type(other) is type(self)
            and other.fieldname == self.fieldname
            and other.plan.text == self.plan.text
            and other.boost == self.boost
        )

    def __hash__(self):
        return hash((self.fieldname, self.plan.text, self.boost))

    def field(self):
        return self.fieldname

    def is_leaf(self):
        return True

    def normalize(self):
        return query.NullQuery if self.plan.empty else self

    def estimate_size(self, ixreader):
        return min(ixreader.doc_count_all(), self._document_frequency(ixreader))

    def _document_frequency(self, reader) -> int:
        """An upper bound of the number of documents matched (for idf and query planning)."""
        freq = lambda words: sum(reader.doc_frequency(self.fieldname, w) for w in words)  # noqa: E731
        starts = [e.words for e in self.plan.edges if e.start == 0]
        ends = [e.words for e in self.plan.edges if e.end == len(self.plan.text)]
        chained = min(sum(freq(w) for w in starts), sum(freq(w) for w in ends)) if starts else 0
        return freq(self.plan.full) + chained

    def matcher(self, searcher, context=None):
        if self.plan.empty or self.fieldname not in searcher.schema:
            return matching.NullMatcher()
        groups = self._groups(searcher)
        full = groups.pop("full", None)
        start_ids = [edge for edge in groups if edge.start == 0]
        end_ids = [edge for edge in groups if edge.end == len(self.plan.text)]
        candidates = []
        if full is not None:
            candidates.append(self._union(searcher, self.plan.full))
        if start_ids and end_ids:
            starts = [w for e in self.plan.edges if e.start == 0 for w in e.words]
            ends = [w for e in self.plan.edges if e.end == len(self.plan.text) for w in e.words]
            candidates.append(matching.IntersectionMatcher(
                self._union(searcher, starts), self._union(searcher, ends)))
        if not candidates:
            return matching.NullMatcher()
        child = candidates[0] if len(candidates) == 1 else matching.UnionMatcher(*candidates)
        parent = searcher.get_parent()
        df = max(1, self._document_frequency(parent.reader()))
        n = max(parent.doc_count_all(), df)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        avgdl = parent.avg_field_length(self.fieldname) or 1.0
        return ContainsMatcher(child, self.plan, full, groups, searcher, self.fieldname,
                               idf * self.boost, avgdl, scored=context is None or context.weighting is not None)

    def _groups(self, searcher) -> dict:
        """A fresh matcher per group of interchangeable words, to read positions from."""
        groups = {}
        if self.plan.full:
            groups["full"] = [(w, self._term(searcher, w)) for w in self.plan.full]
        for edge in self.plan.edges:
            groups[edge] = [(w, self._term(searcher, w)) for w in edge.words]
        for key, members in groups.items():
            groups[key] = [(w, m) for w, m in members if m is not None]
        return {k: v for k, v in groups.items() if v}

    def _term(self, searcher, word):
        reader = searcher.reader()
        if (self.fieldname, word) not in reader:
            return None
        return reader.postings(self.fieldname, word)

    def _union(self, searcher, words):
        matchers = [m for m in (self._term(searcher, w) for w in set(words)) if m is not None]
        if not matchers:
            return matching.NullMatcher()
        return make_binary_tree(matching.UnionMatcher, matchers)


def _positions_at(members, docnum) -> list[tuple[str, list[int]]]:
    found = []
    for word, m in members:
        if m.is_active() and m.id() < docnum:
            m.skip_to(docnum)
        if m.is_active() and m.id() == docnum:
            found.append((word, m.value_as("positions")))
    return found


class ContainsMatcher(SpanWrappingMatcher):
    """Filters candidate documents to those where the pieces are adjacent; scores BM25."""

    def __init__(self, child, plan, full, groups, searcher, fieldname, idf, avgdl, scored=True):
        self.plan = plan
        self.full = full or []
        self.groups = groups
        self.searcher = searcher
        self.fieldname = fieldname
        self.idf = idf
        self.avgdl = avgdl
        self.scored = scored
        self._weight = 0.0
        super().__init__(child)

    def copy(self):
        return ContainsMatcher(self.child.copy(), self.plan, self.full, self.groups,
                               self.searcher, self.fieldname, self.idf, self.avgdl, self.scored)

    def _replacement(self, newchild):
        return ContainsMatcher(newchild, self.plan, self.full, self.groups, self.searcher,
                               self.fieldname, self.idf, self.avgdl, self.scored)

    def replace(self, minquality=0):
        return self if self.is_active() else matching.NullMatcher()

    def supports_block_quality(self):
        return False

    def max_quality(self):
        return self.idf * (K1 + 1) if self.scored else 1.0

    def block_quality(self):
        return self.max_quality()

    def _get_spans(self):
        docnum = self.child.id()
        spans = []
        weight = 0.0
        for word, positions in _positions_at(self.full, docnum):
            spans.extend(Span(p) for p in positions)
            weight += len(positions) * (1.0 if word == self.plan.text else IN_WORD_WEIGHT)
        for span, exact in self._chains(docnum):
            spans.append(span)
            weight += 1.0 if exact else IN_WORD_WEIGHT
        self._weight = weight
        return sorted(set(spans))

    def _chains(self, docnum) -> list[tuple[Span, bool]]:
        """Token chains that spell the text across word boundaries: (span, all whole words)."""
        length = len(self.plan.text)
        edges: dict[int, list[tuple[int, set[int], set[int]]]] = {}
        for edge, members in self.groups.items():
            found = _positions_at(members, docnum)
            if not found:
                continue
            anywhere = {p for _, plist in found for p in plist}
            exact = {p for word, plist in found if word == edge.piece for p in plist}
            edges.setdefault(edge.start, []).append((edge.end, anywhere, exact))
        chains = []
        for b, starts, exact_starts in edges.get(0, ()):
            for p in sorted(starts):
                end = self._follow(b, p, edges, length)
                if end is not None:
                    chains.append((Span(p, end[0]), p in exact_starts and end[1]))
        return chains

    def _follow(self, offset, pos, edges, length):
        """(end position, last token whole) of a chain going on at `offset` after `pos`."""
        stack = [(offset, pos, True)]
        seen = set()
        while stack:
            offset, pos, whole = stack.pop()
            if offset == length:
                return pos, whole
            if (offset, pos) in seen:
                continue
            seen.add((offset, pos))
            nxt = pos + (2 if offset in self.plan.gaps else 1)
            for b, anywhere, exact in edges.get(offset, ()):
                if nxt in anywhere:
                    stack.append((b, nxt, nxt in exact))
        return None

    def score(self):
        if not self.scored:
            return 1.0
        dl = self.searcher.doc_field_length(self.child.id(), self.fieldname, 1) or 1
        tf = self._weight
        return self.idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / self.avgdl))

    def weight(self):
        return self._weight
