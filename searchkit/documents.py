"""Jekyll posts -> `Document`s: front matter, HTML/markdown body -> plain text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import BadDocumentError


@dataclass(frozen=True)
class Document:
    """One post, ready to index. Only `id`, `title` and `body` are required."""

    id: str
    title: str
    body: str
    path: Path | None = None
    date: datetime | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    url: str | None = None
    checksum: str | None = None  # sha256 of the file's bytes, for incremental updates


@dataclass(frozen=True)
class LoadProblem:
    """A post that was skipped (`skipped=True`) or indexed with a caveat (`skipped=False`)."""

    path: Path
    reason: str
    skipped: bool = True


POST_SUFFIXES = (".md", ".markdown", ".html", ".htm")


def load_posts(
    path: Path | str, on_problem: Callable[[LoadProblem], None] | None = None
) -> Iterator[Document]:
    """Yield the `Document` of every post under `path` (a folder, searched recursively, or one file)."""
    raise NotImplementedError


def read_post(path: Path | str, root: Path | str | None = None) -> Document:
    """Read one post. Raises `BadDocumentError` when it cannot be indexed."""
    raise NotImplementedError
