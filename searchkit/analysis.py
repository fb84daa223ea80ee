"""Text analysis, shared by indexing, querying and highlighting.

Two steps, applied identically to documents and queries:

1. `normalize`: NFKC (full-width -> half-width), case folding, traditional -> simplified
   (OpenCC `t2s`), character by character. The exact-recall promise ("a query finds every
   post whose normalized text contains it") is defined in terms of this one function.
2. `tokenize`: the normalized text cut into tokens with *sequential* positions: CJK runs by
   jieba (finance dictionary included), runs of letters/digits as whole tokens. Separators
   (punctuation, or whitespace next to CJK) leave a one-position gap, so adjacency in
   positions means adjacency in the text.

Why no CJK bigram postings: any contiguous CJK substring of a run is covered by consecutive
jieba tokens (a suffix of one token, whole tokens, a prefix of another), so the query stage
finds it from the word postings, the index vocabulary and the joins (the two characters
around each token boundary; see `Analyzer.postings` and `matching.py`). Measured on 5,254
news articles, a bigram field beside the words made the Whoosh build 1.8x slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from itertools import pairwise
from pathlib import Path

from .errors import SearchkitError

# Part of the analyzer's fingerprint: an index built by another version asks to be rebuilt.
# 2: traditional -> simplified character by character, no longer by OpenCC's phrases.
ANALYZER_VERSION = 2

# Han ideographs (URO, Ext. A, compatibility, Ext. B+), and the ideographic zero.
CJK_CHARS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RUN = f"[{CJK_CHARS}]+"
# Letters and digits of any other script; decimals such as 2.5 stay one token.
WORD_CHAR = rf"[^\W_{CJK_CHARS}]"
_WORD_RUN = rf"{WORD_CHAR}+(?:[.,](?=\d)\d+)*"
# The runs tokens are made of: matching and highlighting must cut text exactly like this.
RUNS = re.compile(rf"(?P<cjk>{_CJK_RUN})|(?P<word>{_WORD_RUN})")
_CJK_ONLY = re.compile(rf"^{_CJK_RUN}$")


# --- normalization -------------------------------------------------------------------------


SIMPLIFIED_FILE = "data/simplified.txt"


def _read_simplified() -> dict[int, str]:
    """{code point: its simplified character} for each character `t2s` changes."""
    text = resources.files("searchkit").joinpath(SIMPLIFIED_FILE).read_text("utf-8")
    return {ord(line[0]): line[1] for line in text.splitlines() if not line.startswith("#")}


# Traditional -> simplified one character at a time, as OpenCC `t2s` converts each character
# alone (and again until it stays: 薴 -> 苧 -> 苎), from a table OpenCC made
# (`python tests/simplified_table.py`). OpenCC on a whole text converts phrases, which depend
# on the characters around: 一批覆盖 became 一批复盖 (批覆 -> 批复), so a search for 覆盖 missed
# it. Character by character, a text that contains the query still does once both are
# normalized. The table also spares a search loading OpenCC (~20 ms).
_SIMPLIFIED = _read_simplified()


class _CharFold(dict):
    """`str.translate` table: NFKC, casefold, then t2s, per character, filled in on first
    sight. No fold has a character that folds again (tests/test_normalize.py)."""

    def __missing__(self, codepoint: int) -> str:
        folded = unicodedata.normalize("NFKC", chr(codepoint)).casefold()
        folded = folded.translate(_SIMPLIFIED)
        self[codepoint] = folded
        return folded


_FOLD = _CharFold()


def _unchanged_han() -> str:
    """The ranges, for a regex class, of the URO and Ext. A ideographs t2s leaves alone."""
    ranges = []
    start = 0x3400
    for codepoint in sorted(cp for cp in _SIMPLIFIED if 0x3400 <= cp <= 0x9FFF):
        if codepoint > start:
            ranges.append(f"{chr(start)}-{chr(codepoint - 1)}")
        start = codepoint + 1
    return "".join(ranges) + f"{chr(start)}-\u9fff"


# Characters the fold leaves as they are, and most of a Chinese text is made of: ASCII but
# A-Z, Latin-1 signs and small letters, quotes and dashes, arrows, box drawing and symbols,
# CJK punctuation and kana, Han ideographs but the 3,761 traditional ones, Hangul syllables,
# emoji. tests/test_normalize.py checks every one of them. What is left in a news body is
# mostly its full-width ，（）：； (a traditional text: its traditional characters). The
# ideographs of the supplementary planes are left out: t2s changes 356 of them here and
# there, and the regex would try each range between them, one after another, at every
# character it stops at; no news article or post has one.
_UNCHANGED = re.compile(
    "[\x00-\x40\x5b-\x7f\u00a1-\u00a7\u00a9\u00ab-\u00ae\u00b0\u00b1\u00b6\u00b7\u00bb"
    "\u00bf\u00d7\u00e0-\u00ff\u2010\u2012-\u2016\u2018-\u2023\u2027-\u202e\u2030-\u2032"
    "\u2190-\u222b\u2500-\u27ff\u3001-\u3035\u303b-\u309a\u309d\u309e\u30a0-\u30fe"
    f"{_unchanged_han()}\uac00-\ud7a3\U0001f300-\U0001faff]*"
).match
# After this many stops at characters outside _UNCHANGED, `_fold` hands the rest to
# `str.translate`. The 41,738 news titles and bodies and finance posts make at most 31 stops,
# the CMRC passages 25; a text of another script stops here, having spent at
# most 32 `str.replace` passes (~0.4 ns a character each, `str.translate` ~100 ns).
_FOLD_STEPS = 32
# A traditional Chinese text stops at each distinct traditional character (61 in the median
# DRCD passage, of 421 characters): after this many, `str.translate` is faster (the 1,000
# passages 84 -> 55 ms). No news article or post has more than one.
_TRADITIONAL_STEPS = 4


def _fold(text: str) -> tuple[str, list[str] | None]:
    """`text.translate(_FOLD)`, and the characters it replaced (None: it did translate).

    `str.translate` with a dict costs ~100 ns a non-ASCII character (an int and a lookup
    each), 2 ms for a 20,000-character news body. Here the regex skips the characters that
    fold to themselves at ~2 ns each, and each other character, found once, is replaced in
    the whole text by `str.replace`: a news body has a handful of distinct ones (，（）：；).
    Replacing a character everywhere at once is right because no fold output holds a
    character that folds again (checked for every code point in tests/test_normalize.py):
    a character being replaced is never one that an earlier replacement put in.
    """
    end = _UNCHANGED(text).end()
    replaced = []
    traditional = 0
    for _ in range(_FOLD_STEPS):
        if end == len(text):
            return text, replaced
        char = text[end]
        if ord(char) in _SIMPLIFIED:
            traditional += 1
            if traditional > _TRADITIONAL_STEPS:
                break
        folded = _FOLD[ord(char)]
        if folded != char:
            text = text.replace(char, folded)
            replaced.append(char)
        end = _UNCHANGED(text, end + len(folded)).end()
    # What is already folded folds to itself, so translating the rest is enough.
    return text.translate(_FOLD), None


def normalize(text: str) -> str:
    """Return `text` normalized for matching: NFKC, case-folded, simplified Chinese.

    Each character is normalized on its own: a combining accent is not composed with the
    letter before it, and a traditional character becomes the same simplified one whatever
    its neighbours, so that a text containing another still does once both are normalized,
    and highlighting can map every normalized character back to the one that produced it.

    >>> normalize("縮表 ＭＬＦ")
    '缩表 mlf'
    """
    return _fold(text)[0]


def normalize_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Normalize `text` and map it back: `offsets[i]` is the index in `text` of the character
    that produced normalized character `i` (with a final entry `len(text)`).

    `offsets` is None when the normalized text is aligned one-to-one with `text`
    (the usual case), so callers can use positions as they are.
    """
    folded, replaced = _fold(text)
    return folded, None if len(folded) == len(text) else _fold_offsets(text, replaced)


def _fold_offsets(text: str, replaced: list[str] | None) -> list[int]:
    """For each character of the folded `text`, the index of the one it came from, and a
    final `len(text)`. Only the replaced characters whose fold is not one character long
    (… is ..., ℃ is °c) shift the alignment, so only their places are looked for."""
    if replaced is None:
        offsets = [i for i, char in enumerate(text) for _ in _FOLD[ord(char)]]
        offsets.append(len(text))
        return offsets
    resized = [char for char in replaced if len(_FOLD[ord(char)]) != 1]
    places = sorted(place for char in resized for place in _places(text, char))
    offsets = []
    start = 0
    for place in places:
        offsets += range(start, place)
        offsets += [place] * len(_FOLD[ord(text[place])])
        start = place + 1
    offsets += range(start, len(text) + 1)
    return offsets


def _places(text: str, char: str) -> Iterator[int]:
    place = text.find(char)
    while place != -1:
        yield place
        place = text.find(char, place + 1)


def is_gap(between: str, word_before: bool, word_after: bool) -> bool:
    """Whether the text between two runs puts their tokens one position apart: any
    separator does, except whitespace between two letter/digit runs (`federal reserve`)."""
    return bool(between) and not (between.isspace() and word_before and word_after)


def is_cjk(text: str) -> bool:
    """True when `text` is one or more Han characters and nothing else."""
    return bool(_CJK_ONLY.match(text))


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A token of normalized text: its text, sequential position and character span."""

    text: str
    pos: int
    start: int
    end: int


def _read_dictionary(text: str) -> list[tuple[str, int | None]]:
    words = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        words.append((parts[0], freq))
    return words


def finance_dictionary() -> str:
    """The finance dictionary shipped with searchkit (jieba user-dictionary format)."""
    return resources.files("searchkit").joinpath("data/finance_dict.txt").read_text("utf-8")


_TOKENIZERS: dict[str, object] = {}  # user dictionary text -> its loaded jieba Tokenizer


def _without_a_cache_traceback(tokenizer) -> None:
    """jieba saves its parsed dictionary in the temp folder, to start faster next time.
    When that folder is full, `tempfile.gettempdir()` finds no usable one and raises, and a
    failed save is logged with a traceback: neither should stop or clutter an index or a
    search (issue #17). Then jieba reads its cache from $TMPDIR or /tmp if one is there,
    and a failed save is one line on stderr."""
    import tempfile

    import jieba

    try:
        tempfile.gettempdir()
    except OSError:
        tokenizer.tmp_dir = os.environ.get("TMPDIR") or "/tmp"
    if not any(isinstance(f, _OneLineCacheFailure) for f in jieba.default_logger.filters):
        jieba.default_logger.addFilter(_OneLineCacheFailure())


class _OneLineCacheFailure(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage().startswith("Dump cache file failed"):
            error = record.exc_info[1]
            record.msg = f"jieba could not save its dictionary cache ({error}); no harm done"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


class Analyzer:
    """Normalization + tokenization with one jieba dictionary.

    `userdict` is the text of an extra jieba user dictionary (one word a line, optionally
    followed by a frequency). The analyzer's `fingerprint` changes whenever anything that
    affects tokens changes; the index records it and refuses a mismatching analyzer.
    """

    def __init__(self, userdict: str | None = None):
        self.userdict = userdict or ""
        self._jieba = None

    @cached_property
    def fingerprint(self) -> str:
        from .dictionary import jieba

        digest = hashlib.sha256()
        for part in (str(ANALYZER_VERSION), jieba.__version__, finance_dictionary(), self.userdict):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()[:16]

    @property
    def user_word_count(self) -> int:
        """How many words the user dictionary adds (its lines, not their frequency column)."""
        return len({word for word, _ in _read_dictionary(self.userdict)})

    def load(self) -> None:
        """Load all of jieba's dictionary now (before forking indexing workers, which then
        share it; otherwise a query loads what its text needs, on first use)."""
        from .dictionary import CompactTokenizer

        tokenizer = self.jieba
        if isinstance(tokenizer, CompactTokenizer):
            tokenizer.load_all()

    @property
    def jieba(self):
        """The jieba tokenizer, loaded on first use: once a process for each user dictionary,
        so opening an index again (a cron loop, a server, the tests) does not load it again.

        It reads the compact dictionary kept in the user's cache folder for this analyzer's
        fingerprint (see `dictionary.py`: the same cuts, without the ~0.5 s of building
        jieba's whole dictionary); the first process without one builds it from jieba."""
        if self._jieba is None:
            self._jieba = _TOKENIZERS.get(self.userdict)
        if self._jieba is None:
            from . import dictionary

            path = dictionary.compact_path(self.fingerprint)
            try:
                tokenizer = dictionary.CompactTokenizer(path)
            except (OSError, ValueError):
                tokenizer = self._full_tokenizer(path)
            self._jieba = _TOKENIZERS[self.userdict] = tokenizer
        return self._jieba

    def _full_tokenizer(self, compact: Path):
        """jieba's dictionary with ours added, as jieba builds it; also written to `compact`
        for the processes that come next (if the cache folder is writable)."""
        from . import dictionary

        tokenizer = dictionary.Tokenizer()
        _without_a_cache_traceback(tokenizer)
        tokenizer.initialize()
        force_split = []
        for source in (finance_dictionary(), self.userdict):
            for word, freq in _read_dictionary(source):
                tokenizer.add_word(normalize(word), freq)
                if freq == 0:
                    force_split.append(normalize(word))
        try:
            dictionary.write_compact(tokenizer, force_split, compact)
        except OSError as error:
            logging.getLogger(__name__).info("cannot write %s: %s", compact, error)
        return tokenizer

    def tokenize(self, normalized: str) -> Iterator[Token]:
        """Yield the tokens of already-normalized text, positions counting from 0."""
        for pos, offset, pieces, _ in self._runs(normalized):
            for piece in pieces:
                end = offset + len(piece)
                yield Token(piece, pos, offset, end)
                pos += 1
                offset = end

    def _runs(self, normalized: str) -> Iterator[tuple[int, int, list[str], bool]]:
        """(position of its first token, start, its tokens' texts, whether it is Chinese)
        for each run of already-normalized text: what `tokenize` and `postings` cut."""
        pos = last_end = 0
        last_word = False
        cut = None  # jieba loads on the first Chinese run: letters and digits do without
        for match in RUNS.finditer(normalized):
            start = match.start()
            is_word = match.lastgroup == "word"
            if pos and is_gap(normalized[last_end:start], last_word, is_word):
                pos += 1  # a separator: the tokens around it are not adjacent
            if is_word:
                pieces = [match.group()]
            else:
                cut = cut or self.jieba.cut_run
                pieces = cut(match.group())
            yield pos, start, pieces, not is_word
            pos += len(pieces)
            last_end, last_word = match.end(), is_word

    def words(self, normalized: str) -> list[str]:
        """The token texts of already-normalized text, in order."""
        return [token.text for token in self.tokenize(normalized)]

    def postings(self, text: str) -> tuple[dict[str, list[int]], dict[str, int]]:
        """Analyze raw `text` for indexing: ({word: [positions]}, {join: count}).

        A join is the two characters on either side of a token boundary inside a CJK run
        (降息|预期 has the join 息预): every occurrence of a Chinese text that jieba did not
        keep inside one token crosses such a boundary, so the joins find those occurrences
        without reading word positions (see `matching.py`).

        What `tokenize` gives, made from its runs without a `Token` for each word, which
        cost a sixth of this function's time in a build's workers (jieba's cut is ~3/4 of
        it). Only inside a Chinese run are two adjacent tokens' characters both Han.
        """
        positions: dict[str, list[int]] = {}
        joins: dict[str, int] = {}
        for pos, _, pieces, chinese in self._runs(normalize(text)):
            for piece in pieces:
                if piece in positions:
                    positions[piece].append(pos)
                else:
                    positions[piece] = [pos]
                pos += 1
            if chinese:
                for before, after in pairwise(pieces):
                    join = before[-1] + after[0]
                    joins[join] = joins.get(join, 0) + 1
        return positions, joins


def read_userdict(userdict: str | Path | None) -> str | None:
    """A jieba user dictionary's text, from a file path or given as text; None stays None.

    Raises `SearchkitError` when the file cannot be read.
    """
    if userdict is None:
        return None
    if isinstance(userdict, Path) or ("\n" not in userdict and Path(userdict).is_file()):
        try:
            return Path(userdict).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SearchkitError(f"cannot read the user dictionary {userdict}: {error}") from None
    return userdict
