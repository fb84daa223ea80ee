"""The index's vocabulary as one newline-delimited string, for substring lookups.

The exact-match stage needs "every indexed word containing / starting with / ending with
this text". Whoosh's lexicon answers prefixes only, and reading all of it costs ~1 µs a word
at every process start, so each index generation keeps its words in `vocab.txt` as well;
`str.find` over that text answers any of the three questions in well under a millisecond.
The file may hold words no longer indexed (deleted posts): they match no postings.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

VOCAB_FILE = "vocab.txt"


class Vocabulary:
    """A set of words with substring, prefix and suffix lookups."""

    def __init__(self, words: Iterable[str] = ()):
        unique = sorted({w for w in words if w and "\n" not in w})
        self._text = "\n" + "\n".join(unique) + "\n" if unique else "\n"
        self._words = set(unique)
        self.max_length = max(map(len, unique), default=0)
        # Query plans made from this vocabulary (see `plan.make_plan`): a query names the
        # same text in several sub-queries, and a library process sees the same queries again.
        self.plans: dict = {}

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: str) -> bool:
        return word in self._words

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

    def _scan(self, needle: str) -> list[str]:
        """The words (lines) in which `needle` occurs; a leading newline anchors it."""
        text = self._text
        found = []
        i = text.find(needle)
        while i >= 0:
            start = i + 1 if needle[0] == "\n" else text.rfind("\n", 0, i) + 1
            end = text.find("\n", start)
            found.append(text[start:end])
            i = text.find(needle, end)
        return found

    def union(self, words: Iterable[str]) -> Vocabulary:
        """A new vocabulary with `words` added."""
        return Vocabulary(self._words | set(words))

    def save(self, folder: Path) -> None:
        """Write the vocabulary to `folder/vocab.txt` atomically and durably."""
        from .storage import write_durably  # storage imports this module

        write_durably(folder / VOCAB_FILE, self._text)

    @classmethod
    def load(cls, folder: Path) -> Vocabulary | None:
        """The vocabulary saved in `folder`, or None when there is none."""
        try:
            text = (folder / VOCAB_FILE).read_text("utf-8")
        except FileNotFoundError:
            return None
        vocab = cls()
        vocab._text = text if text.startswith("\n") else "\n" + text
        vocab._words = set(text.split("\n"))
        vocab._words.discard("")
        vocab.max_length = max(map(len, vocab._words), default=0)
        vocab.plans = {}
        return vocab
