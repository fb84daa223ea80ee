"""Synonym groups: terms that name the same thing (缩表, 量化紧缩, QT), for query expansion.

The file format (UTF-8; the shipped list is `data/synonyms.txt`)::

    # a comment
    缩表, 量化紧缩, QT
    美联储，聯準會, federal reserve

* One group a line; terms are separated by commas: `,`, the full-width `，` or the
  enumeration comma `、`. Spaces do not separate terms, so a term may be a phrase
  (`federal reserve`); whitespace around a term is stripped, runs inside it become one space.
* Blank lines and lines starting with `#` are ignored.
* A group needs two terms or more: a line without a comma is an error (it is nearly always
  `加息 升息` written with a space), as is a file that is not UTF-8.
* Every term is normalized with `analysis.normalize`, like the index and the query, so
  聯準會 and 联准会 are one term.
* A term listed in two groups joins them (transitively): groups never overlap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from .analysis import normalize
from .errors import SynonymError

__all__ = ["SynonymError", "Synonyms"]  # SynonymError: its home is errors.py since 0.2

_SEPARATORS = re.compile("[,，、]")


@dataclass(frozen=True)
class Synonyms:
    """Disjoint groups of normalized terms, each term's group found by `alternatives`.

    >>> Synonyms.from_groups([["缩表", "QT"]]).alternatives("qt")
    ('缩表',)
    """

    groups: tuple[tuple[str, ...], ...] = ()
    _group_of: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        for number, group in enumerate(self.groups):
            for term in group:
                self._group_of[term] = number

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[str]]) -> Synonyms:
        """Synonyms from groups of raw terms: normalized, merged where they share a term."""
        return cls._merge([_term(raw) for raw in group] for group in groups)

    @classmethod
    def load(cls, path: Path | str) -> Synonyms:
        """Read a synonym file (format in the module docstring). Raises `SynonymError`."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise SynonymError(f"cannot read the synonym file {path}: {error.strerror}") from None
        return cls._merge(_parse(_decode(data, path), path))

    @staticmethod
    def default() -> Synonyms:
        """The finance synonyms shipped with searchkit (`data/synonyms.txt`), read once."""
        return _shipped()

    @staticmethod
    def empty() -> Synonyms:
        """No synonyms at all."""
        return _EMPTY

    def merged(self, other: Synonyms) -> Synonyms:
        """These groups and `other`'s together; groups sharing a term become one."""
        return Synonyms._merge(self.groups + other.groups)

    def alternatives(self, term: str) -> tuple[str, ...]:
        """The other terms of normalized `term`'s group, in file order; () if it has none.

        >>> Synonyms.default().alternatives("缩表")
        ('量化紧缩', 'qt', '缩减资产负债表')
        """
        number = self._group_of.get(term)
        if number is None:
            return ()
        return tuple(other for other in self.groups[number] if other != term)

    def __len__(self) -> int:
        return len(self.groups)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def __contains__(self, term: str) -> bool:
        return term in self._group_of

    @classmethod
    def _merge(cls, groups: Iterable[Iterable[str]]) -> Synonyms:
        """Join groups of normalized terms that share a term (union-find). Groups keep the
        order of their first term, terms the order they were first seen; empty terms and
        groups left with a single term are dropped."""
        parent: dict[str, str] = {}

        def root(term: str) -> str:
            while parent[term] != term:
                parent[term] = parent[parent[term]]  # path halving
                term = parent[term]
            return term

        for group in groups:
            terms = [term for term in group if term]
            for term in terms:
                parent.setdefault(term, term)
            for term in terms[1:]:
                parent[root(term)] = root(terms[0])
        members: dict[str, list[str]] = {}
        for term in parent:  # dicts keep insertion order: first seen first
            members.setdefault(root(term), []).append(term)
        return cls(tuple(tuple(group) for group in members.values() if len(group) > 1))


_EMPTY = Synonyms()


def _term(raw: str) -> str:
    return normalize(" ".join(raw.split()))


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SynonymError(f"{path}, line {line}: not UTF-8 text") from None


def _parse(text: str, path: Path) -> list[list[str]]:
    groups = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        terms = [_term(piece) for piece in _SEPARATORS.split(line)]
        if len([t for t in terms if t]) < 2:
            raise SynonymError(
                f"{path}, line {number}: a group needs two or more terms separated by "
                f"commas, got {line!r}"
            )
        groups.append(terms)
    return groups


@cache
def _shipped() -> Synonyms:
    resource = resources.files("searchkit").joinpath("data/synonyms.txt")
    return Synonyms._merge(_parse(resource.read_text("utf-8"), Path("searchkit/data/synonyms.txt")))
