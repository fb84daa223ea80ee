"""jieba's dictionary in a compact file, loaded one first character at a time.

jieba cuts a sentence by looking up its substrings in `Tokenizer.FREQ`, a dict of its 349,000
words and every prefix of every word (frequency 0): ~500,000 entries, and their total.
Building that dict costs ~0.5 s at every process start (from jieba's marshal cache; more with our
finance dictionary added word by word): the whole cold start of a natural-language query.

Every lookup jieba makes while cutting a run of Chinese text is a substring of that run
(`get_DAG`, `calc` and the HMM fallback in `__cut_DAG` all slice the run), so it starts
with one of the run's characters. This module therefore writes the final `FREQ` (jieba's
words, our finance dictionary and the user dictionary already added) to a file grouped by
first character, and `CompactTokenizer` merges a character's group into its `FREQ` the first
time a run holds that character. The segmentation is jieba's own code on the same numbers,
so it is identical (tests/test_dictionary.py cuts the shared corpora both ways); a query
loads the groups of its own characters (美联储加息: ~9,000 entries of ~500,000).

The file lives in the user's cache folder, named by the analyzer's fingerprint, and is
written the first time a process loads the full dictionary for that fingerprint.

File layout: one JSON header line `{"format", "total", "force_split", "firsts"}` where
`firsts` is a string of the groups' first characters, in the file's order; then where each
group starts and where the last ends, 4 bytes each (native order: the file is the cache of
this machine); then the groups, each UTF-8 `word\\nword...\\tfreq\\nfreq...`, which
`dict(zip(...))` reads at C speed. (Format 1 kept an [offset, length] list for each of the
~11,800 first characters in the JSON header: 7 ms to parse at every process start, and as
many lists for every garbage collection to walk while the process lives.)
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from array import array
from collections.abc import Iterable
from math import log
from pathlib import Path

FORMAT = 2


def _import_jieba():
    """`import jieba`, without the 0.05-0.5 s of importing `pkg_resources`: jieba 0.42
    imports it only to open its own data files, and opens them itself when that fails.
    (Another thread importing `pkg_resources` at this very moment would fail too.)"""
    if "jieba" not in sys.modules and "pkg_resources" not in sys.modules:
        sys.modules["pkg_resources"] = None  # makes `import pkg_resources` raise ImportError
        try:
            import jieba
        finally:
            del sys.modules["pkg_resources"]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


jieba = _import_jieba()
finalseg = jieba.finalseg


def cache_folder() -> Path:
    """`$XDG_CACHE_HOME/searchkit`, by default `~/.cache/searchkit` (as for the demo index)."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    root = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return root / "searchkit"


def compact_path(fingerprint: str) -> Path:
    """Where the compact dictionary of an analyzer fingerprint is kept."""
    return cache_folder() / f"jieba-{fingerprint}-v{FORMAT}.dict"


def write_compact(tokenizer: jieba.Tokenizer, force_split: Iterable[str], path: Path) -> None:
    """Write a loaded jieba `tokenizer`'s `FREQ` and `total` to `path`, atomically (readers
    in other processes see the old file or the new one, never half of one).

    `force_split` are the words added with frequency 0, which jieba also keeps in a
    module-level set of its HMM (`finalseg.add_force_split`). Raises `OSError`.
    """
    groups: dict[str, list[str]] = {}
    for word in tokenizer.FREQ:
        groups.setdefault(word[0], []).append(word)
    chunks, starts = [], array("I", [0])
    for words in groups.values():
        freqs = "\n".join(str(tokenizer.FREQ[word]) for word in words)
        chunks.append(("\n".join(words) + "\t" + freqs).encode("utf-8"))
        starts.append(starts[-1] + len(chunks[-1]))
    header = {
        "format": FORMAT,
        "total": tokenizer.total,
        "force_split": sorted(set(force_split)),
        "firsts": "".join(groups),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n")
            out.write(starts.tobytes())
            out.writelines(chunks)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# What jieba's `cut` hands whole to its dictionary cut (`re_han_default`), less the Latin
# letters, digits and marks that never reach us in a Chinese run.
_HAN_BLOCK = re.compile("[\u4e00-\u9fd5]+")


class Tokenizer(jieba.Tokenizer):
    """jieba's `Tokenizer`, with `cut_run` for the Chinese runs an index cuts by the million."""

    def cut_run(self, run: str) -> list[str]:
        """`list(self.cut(run, HMM=True))`, in ~2/3 of jieba's time for a run of jieba's
        Han characters (every run of news text, all but a few of a corpus's).

        jieba's `cut` hands such a run whole to `__cut_DAG`, which builds a dict of each
        start's word ends (`get_DAG`), then looks each word up again to score the routes
        (`calc`: a generator and a `max` per character), then walks the best route, giving
        runs of single characters that are no word to its HMM (`finalseg`). `_cut_han` makes
        the same choices from the same numbers (the floats are jieba's, to the last bit),
        looking each word up once, in one pass without the dict or the tuples. Other runs
        (a character outside jieba's Han block, such as 〇) go through jieba's `cut`.
        tests/test_dictionary.py checks the two agree on the shared corpora.
        """
        if not _HAN_BLOCK.fullmatch(run):
            return list(self.cut(run, HMM=True))
        self._load_groups(run)
        return _cut_han(self.FREQ, self.total, run)

    def _load_groups(self, text: str) -> None:
        """Make sure `FREQ` holds every word starting with a character of `text` (it does:
        jieba loads its whole dictionary; `CompactTokenizer` loads by first character)."""


def _cut_han(freq: dict[str, int], total: int, run: str) -> list[str]:
    """jieba's `Tokenizer.__cut_DAG(run)` (with `get_DAG` and `calc`), as a list."""
    get = freq.get
    size = len(run)
    # get_DAG and calc in one pass, from the last character back: the words starting at a
    # character (its prefixes in FREQ with a frequency; 0 marks a prefix only) need only
    # the best routes from after their ends. jieba takes the `max` of (score, end) tuples
    # in the order of the ends, so a tie goes to the longer word; with no word, the
    # character alone, scored as frequency 1.
    logtotal = log(total)
    alone = log(1) - logtotal
    scores: list[float] = [0.0] * size + [0]
    ends = list(range(size + 1))
    for start in range(size - 1, -1, -1):
        best, best_end = None, -1
        end = start
        prefix = run[start]
        while True:
            frequency = get(prefix)
            if frequency is None:  # not even a prefix of a word: no longer word here
                break
            if frequency:
                score = log(frequency) - logtotal + scores[end + 1]
                if best is None or score >= best:
                    best, best_end = score, end
            end += 1
            if end == size:
                break
            prefix = run[start : end + 1]
        if best is None:
            scores[start] = alone + scores[start + 1]
        else:
            scores[start], ends[start] = best, best_end
    # The walk: a route's words as they are, its single characters gathered and, where
    # two or more together are no word, cut by the HMM.
    pieces: list[str] = []
    single = ""
    start = 0
    while start < size:
        end = ends[start] + 1
        if end - start == 1:
            single += run[start]
        else:
            if single:
                _add_singles(pieces, single, get)
                single = ""
            pieces.append(run[start:end])
        start = end
    if single:
        _add_singles(pieces, single, get)
    return pieces


def _add_singles(pieces: list[str], single: str, get) -> None:
    """jieba's handling of consecutive single characters on the best route (`buf`)."""
    if len(single) == 1:
        pieces.append(single)
    elif not get(single):
        pieces.extend(finalseg.cut(single))
    else:
        pieces.extend(single)


class CompactTokenizer(Tokenizer):
    """A jieba `Tokenizer` whose `FREQ` fills in from a compact file, a first character at
    a time, as sentences need it. Cuts exactly as the tokenizer the file was written from.

    Raises `OSError` or `ValueError` when the file cannot be read.
    """

    def __init__(self, path: Path):
        super().__init__()
        data = path.read_bytes()
        end = data.index(b"\n")
        header = json.loads(data[:end])
        if header.get("format") != FORMAT:
            raise ValueError(f"{path} is not a compact dictionary of format {FORMAT}")
        firsts = header["firsts"]
        self._starts = array("I", data[end + 1 : end + 1 + 4 * (len(firsts) + 1)])
        self._data = memoryview(data)[end + 1 + 4 * (len(firsts) + 1) :]
        if len(self._starts) != len(firsts) + 1 or self._starts[-1] != len(self._data):
            raise ValueError(f"{path} is cut short")
        self._groups: dict[str, int] = dict(zip(firsts, range(len(firsts)), strict=True))
        self.FREQ = {}
        self.total = header["total"]
        self.initialized = True  # jieba's own dictionary load must never run
        for word in header["force_split"]:
            finalseg.add_force_split(word)

    def get_DAG(self, sentence: str) -> dict[int, list[int]]:  # noqa: N802 (jieba's name)
        self._load_groups(sentence)
        return super().get_DAG(sentence)

    def _load_groups(self, text: str) -> None:
        groups = self._groups
        if groups:  # empty after `load_all`
            for first in set(text):
                if first in groups:
                    self._load_group(first)

    def add_word(self, word, freq=None, tag=None):
        # The word's group first: merged later, it would overwrite the word's new frequency.
        self._load_group(word[0])
        super().add_word(word, freq, tag)

    def load_all(self) -> None:
        """Merge every group now (before forking indexing workers, which then share it)."""
        for first in list(self._groups):
            self._load_group(first)
        self._data = memoryview(b"")  # every group is in FREQ: the file's bytes can go

    def _load_group(self, first: str) -> None:
        group = self._groups.get(first)
        if group is None:
            return
        start, end = self._starts[group], self._starts[group + 1]
        words, freqs = bytes(self._data[start:end]).decode("utf-8").split("\t")
        self.FREQ.update(zip(words.split("\n"), map(int, freqs.split("\n")), strict=True))
        # Only now, so that another thread never finds the group gone before its words are
        # in FREQ; a group merged twice by two threads merges the same numbers twice.
        self._groups.pop(first, None)
