"""The index's vocabulary as one newline-delimited string, for substring lookups.

The exact-match stage needs "every indexed word containing / starting with / ending with
this text". Whoosh's lexicon answers prefixes only, and reading all of it costs ~1 µs a word
at every process start, so each index generation keeps its words in `vocab.txt` as well.
The file may hold words no longer indexed (deleted posts): they match no postings.

A lookup is a binary search in the text's suffix array (`vocab.sa`, saved beside it): a
`str.find` scan of the 357,000 characters of the news corpus's vocabulary took ~0.4 ms, and
a query's first run made one to five scans per text it searches (its words, their
synonyms, the character pairs of each), 10-25 ms for a word with ten synonyms. The array is
a cache: a missing or damaged one (it carries a checksum of itself and of the text) is
built again in memory (~0.5 s for that vocabulary), so results never depend on it. A
search starts inside a window bounded by samples of the array kept in memory, and the
ranges found are remembered (`_range`): a plan looks the same pairs up more than once.
"""

from __future__ import annotations

import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from itertools import repeat
from operator import add
from pathlib import Path

VOCAB_FILE = "vocab.txt"
SUFFIX_FILE = "vocab.sa"
# vocab.sa: "sksa1\0", the CRC-32s of vocab.txt's bytes and of the array, then the array
# (native 4-byte integers: an index is read on the machine that wrote it).
_MAGIC = b"sksa1\0"
_HEADER = len(_MAGIC) + 8
RANGE_CACHE_SIZE = 16384  # remembered suffix-array ranges (`_range`), ~100 bytes each
SAMPLE_EVERY = 256  # suffixes between two samples of `_window`


class Vocabulary:
    """A set of words with substring, prefix and suffix lookups."""

    def __init__(self, words: Iterable[str] = ()):
        unique = sorted({w for w in words if w and "\n" not in w})
        self._text = "\n" + "\n".join(unique) + "\n" if unique else "\n"
        self._words = _word_table(unique)
        self.max_length = max(map(len, unique), default=0)
        self._suffixes: array | None = None  # built on first use, or read by `load`
        # Query plans made from this vocabulary (see `plan.make_plan`): a query names the
        # same text in several sub-queries, and a library process sees the same queries again.
        self.plans: dict = {}
        self._ranges: dict[str, tuple[int, int]] = {}  # see `_range`
        self._samples: list[str] | None = None  # see `_window`

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: str) -> bool:
        return word in self._words

    @property
    def words(self):
        """The words as a read-only set-like view: `in` on it costs no Python call, where
        `in` on the vocabulary does (`plan._phrases` asks dozens of times a text)."""
        return self._words.keys()

    def __iter__(self):
        return iter(sorted(self._words))

    @property
    def text(self) -> str:
        """The words as one string, "\nword\nword\n", for regular-expression scans."""
        return self._text

    def containing(self, text: str) -> list[str]:
        """Every word that contains `text`."""
        return self._scan(text)

    def starting_with(self, text: str) -> list[str]:
        """Every word that starts with `text` (the word itself included)."""
        return self._scan("\n" + text)

    def ending_with(self, text: str) -> list[str]:
        """Every word that ends with `text` (the word itself included)."""
        return self._scan(text + "\n")

    def occurrences(self, text: str) -> int:
        """How many times `text` occurs in the words (a measure of how common it is)."""
        start, end = self._range(text)
        return end - start

    def _scan(self, needle: str) -> list[str]:
        """The words (lines) in which `needle` occurs, in the text's (sorted) order; a
        leading newline anchors it at a word's start, a trailing one at its end."""
        start, end = self._range(needle)
        text, positions = self._text, self.suffixes[start:end]
        if needle[0] == "\n":  # each position is the newline before a word
            lines = sorted(position + 1 for position in positions)
        else:
            rfind = text.rfind
            lines = sorted({rfind("\n", 0, position) + 1 for position in positions})
        if lines and lines[-1] == len(text):
            lines.pop()  # after the last newline: no word
        find = text.find
        return [text[line : find("\n", line)] for line in lines]

    def _range(self, needle: str) -> tuple[int, int]:
        """The slice of the suffix array whose suffixes start with `needle`; remembered (a
        plan looks up a character pair's range for its count, then for its words, and a
        query's synonyms share pairs)."""
        found = self._ranges.get(needle)
        if found is None:
            if len(self._ranges) >= RANGE_CACHE_SIZE:
                self._ranges.clear()
            found = self._ranges[needle] = self._search(needle)
        return found

    def _search(self, needle: str) -> tuple[int, int]:
        """`_range`, by binary search: one descent to a suffix starting with `needle`, then
        a search for each end on either side of it, inside the window of the array that
        `_window` gives, or inside the remembered range of the needle's first pair (a plan
        counts its text's pairs before it looks the text up).

        Two searches over the whole array (~18 probes each on the news corpus's 357,000
        suffixes, at ~0.3 µs a probe: a slice of the text and a comparison) took 11.5 µs
        for a character pair, one descent ~8 µs, one descent in a window ~4-5 µs."""
        text, suffixes, size = self._text, self.suffixes, len(needle)
        known = self._ranges.get(needle[:2]) if size > 2 else None
        low, high = known or self._window(needle)
        while low < high:
            middle = (low + high) // 2
            position = suffixes[middle]
            probe = text[position : position + size]
            if probe < needle:
                low = middle + 1
            elif probe > needle:
                high = middle
            else:
                key = lambda position: text[position : position + size]  # noqa: E731
                start = bisect_left(suffixes, needle, low, middle, key=key)
                return start, bisect_right(suffixes, needle, middle + 1, high, key=key)
        return low, low

    def _window(self, needle: str) -> tuple[int, int]:
        """A slice of the suffix array holding every suffix that starts with `needle`, from
        the first two characters of every SAMPLE_EVERY-th suffix (a list of strings,
        bisected at C speed): the suffixes between two samples that bracket the needle's
        first two characters. The whole array for a one-character needle."""
        if len(needle) < 2:
            return 0, len(self.suffixes)
        if self._samples is None:
            # 0.7 ms for the news corpus's vocabulary (1,394 samples, load average 4), once
            # a process, at its first lookup: ~1% of its first search's loading (~55 ms).
            text, starts = self._text, self.suffixes[::SAMPLE_EVERY]
            ends = map(add, starts, repeat(2))
            self._samples = list(map(text.__getitem__, map(slice, starts, ends)))
        samples, first = self._samples, needle[:2]
        below = bisect_left(samples, first)  # sample below - 1 is before every match
        above = bisect_right(samples, first, lo=below)  # sample `above` is after them all
        return max(0, (below - 1) * SAMPLE_EVERY + 1), min(len(self.suffixes), above * SAMPLE_EVERY)

    @property
    def suffixes(self) -> array:
        """Every position of the text, ordered by the text from there to the end of that
        word (a position on a newline: the newline, the next word and its newline). No
        lookup runs past a word's end, so this order serves every `needle` of `_scan`."""
        if self._suffixes is None:
            text = self._text
            ends = lambda p: text[p : (text.find("\n", p + 1) + 1) or len(text)]  # noqa: E731
            self._suffixes = array("I", sorted(range(len(text)), key=ends))
        return self._suffixes

    def union(self, words: Iterable[str]) -> Vocabulary:
        """A new vocabulary with `words` added."""
        return Vocabulary(self._words.keys() | set(words))

    def save(self, folder: Path) -> None:
        """Write the vocabulary to `folder/vocab.txt` and its suffix array to `vocab.sa`, each
        atomically and durably (the array after the text it is made for)."""
        from .storage import write_durably  # storage imports this module

        text, suffixes = self._text.encode("utf-8"), self.suffixes.tobytes()
        write_durably(folder / VOCAB_FILE, text)
        write_durably(folder / SUFFIX_FILE, _MAGIC + _checksums(text, suffixes) + suffixes)

    @classmethod
    def load(cls, folder: Path) -> Vocabulary | None:
        """The vocabulary saved in `folder`, or None when there is none."""
        try:
            data = (folder / VOCAB_FILE).read_bytes()
        except FileNotFoundError:
            return None
        text = data.decode("utf-8")
        vocab = cls()
        vocab._text = text if text.startswith("\n") else "\n" + text
        vocab._words = _word_table(text.split("\n"))
        vocab._words.pop("", None)
        vocab.max_length = max(map(len, vocab._words), default=0)
        if vocab._text is text:  # an array saved for another text would misplace every word
            vocab._suffixes = _read_suffixes(folder / SUFFIX_FILE, data, len(text))
        vocab.plans = {}
        return vocab


def _word_table(words: Iterable[str]) -> dict[str, None]:
    """The words as dict keys: a set of 94,000 words (the news corpus's) is a container the
    garbage collector walks on every full collection (~7 of ~19 ms after a search), and a
    dict holding only strings is one it does not track."""
    return dict.fromkeys(words)


def _read_suffixes(path: Path, text: bytes, length: int) -> array | None:
    """The suffix array saved at `path` for `text` (its UTF-8 bytes) of `length` characters,
    or None when it is missing, was saved for another text, or is damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    magic, checksums, suffixes = data[: len(_MAGIC)], data[len(_MAGIC) : _HEADER], data[_HEADER:]
    if magic != _MAGIC or len(suffixes) != 4 * length or checksums != _checksums(text, suffixes):
        return None
    found = array("I")
    found.frombytes(suffixes)
    return found


def _checksums(text: bytes, suffixes: bytes) -> bytes:
    return zlib.crc32(text).to_bytes(4, "little") + zlib.crc32(suffixes).to_bytes(4, "little")
