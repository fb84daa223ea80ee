"""How a normalized query text can be covered by indexed tokens: the plan a `Contains` query
runs (`matching.py`). Planning reads only the index vocabulary, never Whoosh.

jieba cuts text differently in different contexts (逆回购 may be one word, or 逆 + 回购, or
part of 隔夜逆回购), so searching for the query's own jieba words misses posts. But in the
normalized text every occurrence of a query string `t` is covered by consecutive tokens:

* one token that contains `t` (FULL: 隔夜逆回购 contains 逆回购), or
* a token ending with a prefix of `t`, then zero or more tokens equal to middle pieces of `t`,
  then a token starting with the rest (息预 in 降息/预期).

`make_plan` finds those words in the vocabulary: the words containing `t` (`full`), and the
pieces of the chains that spell `t` across token boundaries (`edges`), or, for Chinese text,
what `Contains` needs to count it from the joins instead (its rarest character pairs, and
ways to spell it as whole words).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .analysis import RUNS, is_gap
from .vocabulary import Vocabulary


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
    gaps: frozenset[int] = frozenset()  # run starts a separator puts one position further
    one_run: bool = False  # the text is one run: Chinese text, or letters and digits
    chinese: bool = False  # ... and that run is Chinese: it is matched by counting (joins)
    # For Chinese text of 3+ characters, or text of several runs with Chinese ones: the two
    # character pairs of its Chinese text in the fewest words (their words: `pair_words`);
    # a document without both pairs cannot hold the text.
    pairs: tuple[str, ...] = ()
    # ... and ways to spell it as consecutive whole words (国内 + 生产总值), fewest first.
    phrases: tuple[tuple[str, ...], ...] = ()

    # The pieces of the chains that spell the text across tokens (see `_edges`). Chinese
    # text is counted without them, so they are made on first use (proximity spans): a
    # question's edges cost ~10 ms of vocabulary scans on 19,803 documents.
    # A plan without a vocabulary has no edges: its text is empty, or one letter/digit run
    # (which one token must hold).
    _edges: list[Edge] | None = None
    _groups: dict = field(default_factory=dict, repr=False)  # see `chain_groups`
    _pair_words: dict = field(default_factory=dict, repr=False)  # see `pair_words`
    _vocab: Vocabulary | None = field(default=None, repr=False)

    @property
    def edges(self) -> list[Edge]:
        if self._edges is None:
            self._edges = _edges(self.text, self._vocab) if self._vocab is not None else []
        return self._edges

    def pair_words(self, pair: str) -> tuple[str, ...]:
        """The words containing `pair`, one of `pairs`, looked up when first wanted: a
        common pair's are many (人民: 114 words) and the filter they make is often not
        worth reading them (`matching.Contains._counts`). Kept per plan."""
        if pair not in self._pair_words:
            self._pair_words[pair] = tuple(self._vocab.containing(pair))
        return self._pair_words[pair]

    def pair_occurrences(self, pair: str) -> int:
        """How often `pair` occurs in the vocabulary's words: at least `pair_words`' count,
        known without listing them."""
        return self._vocab.occurrences(pair)

    def chain_groups(self, cuts: tuple[int, ...]) -> tuple[tuple[str, ...], ...] | None:
        """The word groups of the tokens that spell the (Chinese) text with token boundaries
        at offsets `cuts`: words ending with the text's first piece, the middle pieces as
        they are, words starting with its last piece (美国 + 国债收益率 spell 美国国债 with
        a boundary at 2); None if no word fits a piece or a group has more than
        `CHAIN_GROUP_WORDS` words (words ending with 美: hundreds). Kept per plan."""
        if cuts not in self._groups:
            bounds = [0, *cuts, len(self.text)]
            pieces = [self.text[a:b] for a, b in pairwise(bounds)]
            vocab = self._vocab
            groups = [tuple(vocab.ending_with(pieces[0]))]
            groups += [(piece,) if piece in vocab else () for piece in pieces[1:-1]]
            groups.append(tuple(vocab.starting_with(pieces[-1])))
            fits = all(0 < len(group) <= CHAIN_GROUP_WORDS for group in groups)
            self._groups[cuts] = tuple(groups) if fits else None
        return self._groups[cuts]

    @property
    def empty(self) -> bool:
        return not self.chinese and not self.full and not self.edges


PLAN_CACHE_SIZE = 4096


def make_plan(text: str, vocab: Vocabulary) -> ContainsPlan:
    """Plan the search for normalized `text` (no leading/trailing separators) in `vocab`;
    remembered in `vocab.plans`, since plans depend on nothing else."""
    plan = vocab.plans.get(text)
    if plan is None:
        if len(vocab.plans) >= PLAN_CACHE_SIZE:
            vocab.plans.clear()
        plan = vocab.plans[text] = _plan(text, vocab)
    return plan


def _plan(text: str, vocab: Vocabulary) -> ContainsPlan:
    units = _units(text)
    if not units:
        return ContainsPlan(text)
    if len(units) > 1:
        gaps = frozenset(
            start
            for (_, end, cjk_before), (start, _, cjk_after) in zip(units, units[1:], strict=False)
            if is_gap(text[end:start], not cjk_before, not cjk_after)
        )
        chinese_runs = [text[start:end] for start, end, cjk in units if cjk]
        pairs = _rarest_pairs(chinese_runs, vocab)
        return ContainsPlan(text, gaps=gaps, pairs=pairs, _vocab=vocab)
    # One run: a single token holds every occurrence of a letter/digit run, and (with
    # the chains of `_edges`) of a CJK run.
    if not units[0][2]:
        return ContainsPlan(text, full=(text,) if text in vocab else (), one_run=True)
    length = len(text)
    if length < 3:
        return ContainsPlan(
            text, full=tuple(vocab.containing(text)), one_run=True, chinese=True, _vocab=vocab
        )
    # Counted before the text is looked up: the vocabulary then looks for it among the
    # suffixes that start with its first pair.
    pairs = _rarest_pairs([text], vocab)
    return ContainsPlan(
        text,
        full=tuple(vocab.containing(text)),
        one_run=True,
        chinese=True,
        pairs=pairs,
        phrases=_phrases(text, vocab),
        _vocab=vocab,
    )


def _rarest_pairs(runs: list[str], vocab: Vocabulary) -> tuple[str, ...]:
    """The two character pairs of the Chinese `runs` that occur in the fewest words. In the
    order they occur, so that ties go the same way in every process (a set's order changes
    with Python's string hashing)."""
    in_order = dict.fromkeys(run[i : i + 2] for run in runs for i in range(len(run) - 1))
    return tuple(sorted(in_order, key=vocab.occurrences)[:2])


def _units(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is Chinese) of the runs of `text`."""
    return [(m.start(), m.end(), m.lastgroup == "cjk") for m in RUNS.finditer(text)]


def _edges(text: str, vocab: Vocabulary) -> list[Edge]:
    """The tokens that can stand in a chain spelling `text`, as `Edge`s."""
    units = _units(text)
    # Where a run ends, the next token starts at the next run.
    follow = {end: start for (_, end, _), (start, _, _) in zip(units, units[1:], strict=False)}
    length = len(text)
    first_cjk = units[0][2]
    edges = []
    # Token boundaries may fall anywhere inside a CJK run, only at the ends of other runs.
    for index, (start, end, cjk) in enumerate(units):
        cuts = list(range(start, end + 1)) if cjk else [start, end]
        for i, a in enumerate(cuts):
            # No word is longer than the longest in the vocabulary: bounded work for long text.
            for b in cuts[i + 1 : i + 1 + max(1, vocab.max_length)]:
                piece = text[a:b]
                if (a, b) == (0, length) and first_cjk and len(units) == 1:
                    continue  # covered by `full`
                if a == 0 and cjk and index == 0:
                    words = vocab.ending_with(piece)
                elif b == length and cjk and index == len(units) - 1:
                    words = vocab.starting_with(piece)
                else:
                    words = [piece] if piece in vocab else []
                if words:
                    edges.append(Edge(a, follow.get(b, b), piece, tuple(words)))
    # Edges that cannot be part of a chain from 0 to `length` are dropped.
    return _reachable(edges, length)


PHRASE_TEXT_LENGTH = 12  # longer texts are not spelled as phrases (the search is cubic)
PHRASES, PHRASE_WORDS = 3, 4


def _phrases(text: str, vocab: Vocabulary) -> tuple[tuple[str, ...], ...]:
    """Up to PHRASES ways to spell `text` as 2 to PHRASE_WORDS vocabulary words."""
    found, known = [], vocab.words

    def spell(start: int, words: list[str]) -> None:
        if start == len(text):
            if len(words) > 1:
                found.append(tuple(words))
        elif len(words) < PHRASE_WORDS:
            for end in range(len(text), start, -1):
                if text[start:end] in known:
                    spell(end, [*words, text[start:end]])

    if len(text) <= PHRASE_TEXT_LENGTH:
        spell(0, [])
    return tuple(sorted(found, key=len)[:PHRASES])


CHAIN_GROUP_WORDS = 16  # a chain with a bigger word group is not looked for


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
