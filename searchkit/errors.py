"""The exceptions searchkit raises. Catch `SearchkitError` to catch them all."""

from __future__ import annotations

from pathlib import Path

__all__ = [  # every class a caller may catch; `searchkit` exports them all
    "ArgumentError",
    "BadDocumentError",
    "DiskFullError",
    "DocumentNotFoundError",
    "IncompatibleIndexError",
    "IndexClosedError",
    "IndexCorruptError",
    "IndexDamagedError",
    "IndexExistsError",
    "IndexLockedError",
    "IndexNotFoundError",
    "QueryError",
    "SearchkitError",
    "SynonymError",
]


class SearchkitError(Exception):
    """Base class of every error searchkit raises on purpose."""


class _AboutIndex(SearchkitError):
    """An error about the index at `path`, worded by the class's `message` (which may name
    `{path}` and `{why}`, the detail the raiser gives)."""

    message = "the index at {path}: {why}"

    def __init__(self, path: Path | str, why: str = ""):
        self.path = Path(path)
        self.why = why
        super().__init__(self.message.format(path=self.path, why=why))


class IndexNotFoundError(_AboutIndex):
    """No searchkit index exists at the given path."""

    message = (
        "no searchkit index at {path}; build one with `searchkit index POSTS_FOLDER --index {path}`"
    )


class IndexExistsError(_AboutIndex):
    """`Index.create` was asked to create an index where one already exists."""

    message = "an index already exists at {path}; open it or rebuild it"


class IncompatibleIndexError(_AboutIndex):
    """The index was built by an analyzer or format this version cannot read; `why` says
    which. `Index.open_for_rebuild` still opens it, to rebuild it."""

    message = (
        "the index at {path} is incompatible with this searchkit ({why}); "
        "rebuild it with `searchkit rebuild --index {path}`"
    )


class IndexLockedError(_AboutIndex):
    """Another process is writing to the index."""

    message = "another process is writing to the index at {path}; try again when it is done"


class IndexDamagedError(_AboutIndex):
    """The index cannot be read or written as it is on disk; `searchkit rebuild` makes a new
    one from the posts. `why` says what failed."""

    message = (
        "the index at {path} cannot be updated ({why}); "
        "rebuild it with `searchkit rebuild --index {path}`"
    )


class IndexClosedError(_AboutIndex):
    """The `Index` was used after `close()` (or after its `with` block ended)."""

    message = "the index at {path} was closed; open it again to use it"


class DiskFullError(_AboutIndex):
    """The disk (or the process's file-size or quota limit) ran out while writing the index.
    The write was abandoned: the index is as it was before it."""

    message = (
        "no space left while writing the index at {path} ({why}); "
        "the index is unchanged: free some space and run the command again"
    )


class DocumentNotFoundError(SearchkitError, KeyError):
    """The index has no post with this id (`doc_id`): raised by `Index.get`, `lookup`,
    `similar` and `marked_post`. Also a `KeyError`, which they raised before 0.2."""

    def __init__(self, doc_id: str, path: Path | str):
        self.doc_id = doc_id
        self.path = Path(path)
        super().__init__(
            f"no post with id {doc_id!r} in the index at {self.path}; "
            "`searchkit search` shows each hit's id"
        )

    def __str__(self) -> str:  # the message, not KeyError's repr of it
        return str(self.args[0])


class QueryError(SearchkitError):
    """The query string cannot be understood; also a `since` or `until` that is not a date
    (they are read like `date:` in a query)."""


class ArgumentError(SearchkitError, ValueError):
    """A bad argument to a library call that is not a query string: `Index.search`'s `sort`
    not "relevance" or "date", a negative `limit` or `offset`."""


class BadDocumentError(SearchkitError):
    """A post cannot be read or parsed. `path` and `reason` say which and why."""

    def __init__(self, path: Path | str, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class IndexCorruptError(IndexDamagedError, IncompatibleIndexError):
    """A file of the index is not what its commit wrote (truncated, overwritten, missing), so
    searching it could give wrong hits. `file` names it (relative to the index folder) and
    `why` says what is wrong; `searchkit rebuild` makes a new index from the posts.

    Also an `IncompatibleIndexError`: whoever opens an index afresh, or rebuilds it, when this
    version cannot read it (`searchkit rebuild`, the web server, the demo) does the same here.
    """

    message = (
        "the index at {path} is damaged: {why}; rebuild it with `searchkit rebuild --index {path}`"
    )

    def __init__(self, path: Path | str, file: str, why: str):
        super().__init__(path, f"{file} {why}")
        self.file = file
        self.why = why


class SynonymError(SearchkitError):
    """A synonym file cannot be read or is malformed; the message names the file and line."""
