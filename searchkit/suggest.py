"""Did-you-mean: corrections for a query term that found nothing, from the index's own words.

A correction is a word of the index vocabulary that some post contains
(`doc_frequency(word) > 0`) and that is near the term in one of two ways:

* spelling: one character substituted, inserted or deleted, or two adjacent ones swapped
  (CJK terms of 2-8 characters, Latin words of 4-7 letters); up to two such edits for Latin
  words of 8 letters or more;
* sound: a CJK word of the same length whose characters all share a toneless pinyin reading
  with the term's (缩标 and 索表 both read suo biao, like 缩表): what a pinyin IME mistypes.
  Every reading of a character counts (行 is xing and hang).

Suggestions rank by sound first, then by fewer edits, then words no shorter than the term
(a shorter one drops something the user typed: 双标准 -> 双重标准 before 标准), then by more
documents. Measured on a 22,000-post index with synthetic typos of its words, the top
suggestion was the word meant for ~90% of one-homophone typos, ~65% of all-homophone typos
(索标 for 缩表) and ~50% of random one-character edits; ranking sound below a plain edit
would trade 25 points on the second kind for 5 on the third.

Speed, on a vocabulary of ~200,000 words: no Python loop over the words. One edit leaves
the first or the second half of a word intact, so the spelling candidates are the words that
start with the term's first half or end with its second half (for two edits: one of three
parts is intact), which `Vocabulary.starting_with`/`ending_with`/`containing` find with
`str.find` over the vocabulary's newline-delimited text. Sound-alikes are each spelling
looked up when they are few (a word of two characters: a few hundred), else one regular
expression, a class of homophones per character, over the words of the term's length (their
text made once per vocabulary: a query that finds nothing corrects a dozen pieces of
itself, and a scan of every word took ~1.5 ms a piece). Only the few hundred words
found are measured, and documents are counted only for the best of them: a median 6.5 ms
a suggestion on 200,000 words (95th percentile 9 ms). The homophone table, characters by
reading, is read on first use (~2 ms).

A term that is no vocabulary word, such as 美联储宿表 (the index holds jieba words 美联储 and
缩表, and a query matches across words), is cut greedily into the longest known words of two
characters or more; the characters left between them (宿表) are corrected as a word, or
joined to the known word next to them if that fails, and the pieces are put back together
(美联储缩表). Such a suggestion is not checked against the index: run it before showing it.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections.abc import Callable
from functools import cache
from importlib import resources
from itertools import pairwise, product
from math import prod
from pathlib import Path

from . import query as query_module
from .analysis import CJK_CHARS, RUNS, is_cjk
from .vocabulary import Vocabulary

SUGGESTIONS = 6  # corrections tried, best first, until one finds something
SUGGEST_SHORT_TERM = 6
SUGGEST_MAX_TERMS = 4
SUGGEST_MAX_LENGTH = 20  # longer terms are pasted text, not typed words: no did-you-mean
CJK_LENGTHS = range(2, 9)
LATIN_MIN_LENGTH = 4  # shorter words are mostly codes (CPI, QT): any edit makes another one
LATIN_TWO_EDITS = 8  # words this long may have two edits
READINGS_FILE = "data/readings.txt"
LONGEST_PIECE = 16  # longest known word looked for when cutting a term into words
# Sound-alike spellings looked up one by one, when no more (~0.15 µs each), instead of a
# scan of the whole vocabulary (~1.5 ms for the news corpus's 94,000 words).
SOUND_ALIKES_LISTED = 4096

_CJK_WORD = re.compile(f"[{CJK_CHARS}]+")
_LATIN_WORD = re.compile("[a-z]+")

DocFrequency = Callable[[str], int]


def wants_suggestion(parsed, total: int, literal_total: int) -> bool:
    """Did you mean ...? when nothing was found, or only best-match hits for a few short
    terms (美联储宿表), not for every question (whose words are rarely misspelt)."""
    if len(parsed.text_terms()) > SUGGEST_MAX_TERMS:
        return False  # a pasted paragraph: its suggestions cost seconds and help nobody
    if not total:
        return True
    short = all(len(term) <= SUGGEST_SHORT_TERM for term in parsed.text_terms())
    return not literal_total and short and not parsed.question and len(parsed.groups) <= 2


def corrected_query(parsed, vocab: Vocabulary, searcher, finds: Callable) -> str | None:
    """A corrected query string (did you mean ...?) for which `finds(exact query)` is true,
    or None. `parsed` is a `query.ParsedQuery`."""

    def doc_frequency(word: str) -> int:
        return searcher.doc_frequency("title", word) + searcher.doc_frequency("body", word)

    terms = [term for term in parsed.text_terms() if len(term) <= SUGGEST_MAX_LENGTH]
    choices = {term: suggest(term, vocab, doc_frequency, SUGGESTIONS) for term in terms}
    for rank in range(SUGGESTIONS):  # each term's best correction first, then the next
        corrections = {t: found[rank] for t, found in choices.items() if len(found) > rank}
        if not corrections:
            return None
        corrected = query_module.unparse(parsed, corrections)
        try:
            plan = query_module.build(query_module.parse(corrected), vocab, None, True)
        except query_module.QueryError:
            continue
        if finds(plan.exact):
            return corrected
    return None


def suggest(text: str, vocab: Vocabulary, doc_frequency: DocFrequency, limit: int = 1) -> list[str]:
    """Up to `limit` corrections of the normalized query term `text`, best first; [] when
    the index knows `text` or has nothing near it.

    `doc_frequency(word)` is the number of posts containing the vocabulary word.

    >>> suggest("缩标", index.vocabulary(), df)  # doctest: +SKIP
    ['缩表']
    """
    if limit < 1 or not text:
        return []
    speller = _Speller(vocab, doc_frequency)
    if speller.known(text):
        return []
    return speller.correct(text, limit) or speller.correct_pieces(text, limit)


class _Speller:
    """One suggestion's lookups in one vocabulary (corrections are remembered per piece)."""

    def __init__(self, vocab: Vocabulary, doc_frequency: DocFrequency):
        self.vocab = vocab
        self.doc_frequency = doc_frequency
        self.memo: dict[tuple[str, int], list[str]] = {}

    def known(self, word: str) -> bool:
        return word in self.vocab and self.doc_frequency(word) > 0

    def correct(self, word: str, limit: int) -> list[str]:
        """Up to `limit` vocabulary words near `word` (a CJK or a Latin run), best first."""
        if (word, limit) not in self.memo:
            if is_cjk(word) and len(word) in CJK_LENGTHS:
                edits = 1
                found = self._near(word, edits, _CJK_WORD, 2) | self._sound_alikes(word)
            elif _LATIN_WORD.fullmatch(word) and len(word) >= LATIN_MIN_LENGTH:
                edits = 1 if len(word) < LATIN_TWO_EDITS else 2
                found = self._near(word, edits, _LATIN_WORD, 3)
            else:
                edits, found = 0, set()
            found.discard(word)
            self.memo[word, limit] = self._ranked(word, found, edits, limit)
        return self.memo[word, limit]

    def correct_pieces(self, text: str, limit: int) -> list[str]:
        """Corrections of a term made of several words or runs: each unknown piece fixed."""
        slots: list[list[str]] = []  # the choices for each piece of `text`, in order
        last = 0
        for match in RUNS.finditer(text):
            if match.start() > last:
                slots.append([text[last : match.start()]])  # a separator stays as it is
            if match.lastgroup == "cjk":
                slots += self._cjk_slots(match.group(), limit)
            else:
                run = match.group()
                slots.append(([] if self.known(run) else self.correct(run, limit)) or [run])
            last = match.end()
        if last < len(text):
            slots.append([text[last:]])
        choices = sorted(product(*(range(len(slot)) for slot in slots)), key=sum)
        found = ["".join(slot[i] for slot, i in zip(slots, pick, strict=True)) for pick in choices]
        return [candidate for candidate in found if candidate != text][:limit]

    def _cjk_slots(self, run: str, limit: int) -> list[list[str]]:
        """The choices for each piece of a CJK run: known words stay, the rest is fixed."""
        pieces = _cut(run, self.known)  # known and unknown pieces alternate
        slots: list[list[str]] = []
        after_known = False  # whether slots[-1] holds a known word, free to join
        i = 0
        while i < len(pieces):
            piece, known = pieces[i]
            i += 1
            if known:
                slots.append([piece])
                after_known = True
                continue
            fixes = self.correct(piece, limit)
            if not fixes and i < len(pieces):  # fix it together with the next word
                fixes = self.correct(piece + pieces[i][0], limit)
                i += 1 if fixes else 0
            if not fixes and after_known:  # or with the previous one
                fixes = self.correct(slots[-1][0] + piece, limit)
                if fixes:
                    slots.pop()
            if not fixes:  # or a word inside it (逆回够: 回够 -> 回购; the index has 逆/回购)
                fixes = self._inner_fixes(piece, limit)
            slots.append(fixes or [piece])
            after_known = False
        return slots

    def _inner_fixes(self, piece: str, limit: int) -> list[str]:
        """`piece` with one part of 2+ characters replaced by a correction of that part."""
        fixes = []  # the best fix of each part first, then the second best ...
        for size in range(len(piece) - 1, 1, -1):
            parts = [(start, piece[start : start + size]) for start in range(len(piece) - size + 1)]
            found = [(start, part, self.correct(part, limit)) for start, part in parts]
            for rank in range(limit):
                fixes += [
                    piece[:start] + fix[rank] + piece[start + len(part) :]
                    for start, part, fix in found
                    if len(fix) > rank
                ]
            if fixes:
                break
        return fixes[:limit]

    def _near(self, word: str, edits: int, kind: re.Pattern, shortest: int) -> set[str]:
        """Candidate words within `edits` edits of `word` (`_ranked` checks the distance):
        cut `word` into `edits + 1` parts, one of them is intact in any such word."""
        parts = _split(word, edits + 1)
        found = self.vocab.starting_with(parts[0]) + self.vocab.ending_with(parts[-1])
        if edits == 2:  # an edit in each end part: the middle one is intact
            found += self.vocab.containing(parts[1])
        low, high = max(shortest, len(word) - edits), len(word) + edits
        near = {w for w in found if low <= len(w) <= high and kind.fullmatch(w)}
        # A swap across two parts breaks both: look for the swapped words themselves.
        for i in range(len(word) - 1):
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if swapped in self.vocab:
                near.add(swapped)
        return near

    def _sound_alikes(self, word: str) -> set[str]:
        """Vocabulary words of `word`'s length whose characters sound like `word`'s."""
        # Only characters of the vocabulary: the full homophone sets hold rare characters
        # outside the BMP, which make `re` test a class member by member (10x slower).
        chars = _characters(self.vocab)
        choices = [chars.intersection(_homophones(c)) for c in word]
        if not all(choices):  # a character nothing in the vocabulary sounds like
            return set()
        if prod(map(len, choices)) <= SOUND_ALIKES_LISTED:  # (2 characters: ~400)
            words = self.vocab.words
            return {w for w in map("".join, product(*choices)) if w in words}
        classes = "".join(f"[{re.escape(''.join(sorted(choice)))}]" for choice in choices)
        text = _texts_by_length(self.vocab).get(len(word), "")
        return {m.group(1) for m in re.finditer(rf"\n({classes})(?=\n)", text)}

    def _ranked(self, word: str, candidates: set[str], edits: int, limit: int) -> list[str]:
        """The best `limit` candidates within `edits` of `word` or sounding like it that
        some post contains. Documents are counted only in the tiers (same sound, distance,
        shorter) that can reach the top `limit`: a count costs ~30 µs, candidates are
        hundreds."""
        cjk = is_cjk(word)
        tiers: dict[tuple[bool, int, bool], list[str]] = {}
        for candidate in candidates:
            same_sound = cjk and _sound_alike(word, candidate)
            distance = _distance(word, candidate)
            if distance <= edits or same_sound:
                tiers.setdefault((not same_sound, distance, len(candidate) < len(word)), []).append(
                    candidate
                )
        best: list[str] = []
        for tier in sorted(tiers):
            counted = [(-self.doc_frequency(c), c) for c in tiers[tier]]
            best += [c for minus, c in sorted(counted) if minus < 0]
            if len(best) >= limit:
                break
        return best[:limit]


def _split(word: str, count: int) -> list[str]:
    """`word` cut into `count` nearly equal parts."""
    bounds = [len(word) * i // count for i in range(count + 1)]
    return [word[a:b] for a, b in pairwise(bounds)]


def _cut(run: str, known: Callable[[str], bool]) -> list[tuple[str, bool]]:
    """`run` cut greedily into the longest known words of 2+ characters, left to right;
    the characters between them are grouped into unknown pieces: [(piece, known)]."""
    pieces: list[tuple[str, bool]] = []
    unknown = ""
    i = 0
    while i < len(run):
        for j in range(min(len(run), i + LONGEST_PIECE), i + 1, -1):
            if known(run[i:j]):
                break
        else:
            unknown += run[i]
            i += 1
            continue
        if unknown:
            pieces.append((unknown, False))
            unknown = ""
        pieces.append((run[i:j], True))
        i = j
    if unknown:
        pieces.append((unknown, False))
    return pieces


def _distance(a: str, b: str) -> int:
    """Edits from `a` to `b`: insert, delete, substitute, or swap two adjacent characters."""
    before, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
    return previous[-1]


# --- the vocabulary's text and characters, the homophone table -----------------------------


_CHARACTERS: weakref.WeakKeyDictionary[Vocabulary, frozenset[str]] = weakref.WeakKeyDictionary()


def _characters(vocab: Vocabulary) -> frozenset[str]:
    """The characters of the vocabulary's words (~10 ms for 200,000 words, once)."""
    chars = _CHARACTERS.get(vocab)
    if chars is None:
        chars = _CHARACTERS[vocab] = frozenset(vocab.text)
    return chars


_TEXTS_BY_LENGTH: weakref.WeakKeyDictionary[Vocabulary, dict[int, str]] = (
    weakref.WeakKeyDictionary()
)


def _texts_by_length(vocab: Vocabulary) -> dict[int, str]:
    """{length: the vocabulary's words of that length, as `Vocabulary.text` holds them}, made
    once (~5 ms for 94,000 words): a query that finds nothing looks for the sound-alikes
    of a dozen pieces of itself, and a scan of every word took ~1.5 ms each."""
    texts = _TEXTS_BY_LENGTH.get(vocab)
    if texts is None:
        by_length: dict[int, list[str]] = {}
        for word in vocab.words:
            by_length.setdefault(len(word), []).append(word)
        texts = {n: "\n" + "\n".join(words) + "\n" for n, words in by_length.items()}
        _TEXTS_BY_LENGTH[vocab] = texts
    return texts


def _sound_alike(a: str, b: str) -> bool:
    return len(a) == len(b) and all(y in _homophones(x) for x, y in zip(a, b, strict=True))


@cache
def _homophones(char: str) -> frozenset[str]:
    """The characters sharing a toneless reading with `char` (itself included)."""
    return frozenset(char).union(*(chars for chars in _by_sound().values() if char in chars))


@cache
def _by_sound() -> dict[str, str]:
    """{toneless pinyin reading: the characters that have it}, from the shipped table
    (data/readings.txt, made from pypinyin's character table by `python -m searchkit.suggest`:
    reading its 420 lines takes ~2 ms, the same table by character (26,775 lines) took 35 ms,
    importing pypinyin's 0.4 s)."""
    text = resources.files("searchkit").joinpath(READINGS_FILE).read_text(encoding="utf-8")
    return dict(line.split(" ") for line in text.splitlines())


def write_readings_table() -> Path:
    """Write data/readings.txt from pypinyin (a development dependency)."""
    from pypinyin.pinyin_dict import pinyin_dict

    by_sound: dict[str, list[str]] = {}
    for codepoint, readings in sorted(pinyin_dict.items()):
        if codepoint <= 0xFFFF:  # rarer characters are not worth the load time
            for sound in sorted({_toneless(reading) for reading in readings.split(",")}):
                by_sound.setdefault(sound, []).append(chr(codepoint))
    lines = [f"{sound} {''.join(chars)}" for sound, chars in sorted(by_sound.items())]
    path = Path(__file__).parent / READINGS_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toneless(reading: str) -> str:
    """'lǜ' -> 'lv', 'biǎo' -> 'biao' (pypinyin's Style.NORMAL spelling)."""
    decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


if __name__ == "__main__":
    print(f"wrote {write_readings_table()}")
