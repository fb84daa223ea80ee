"""The exceptions searchkit raises. Catch `SearchkitError` to catch them all."""

from __future__ import annotations

from pathlib import Path


class SearchkitError(Exception):
    """Base class of every error searchkit raises on purpose."""


class IndexNotFoundError(SearchkitError):
    """No searchkit index exists at the given path."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        super().__init__(
            f"no searchkit index at {self.path}; build one with "
            f"`searchkit index POSTS_FOLDER --index {self.path}`"
        )


class IndexExistsError(SearchkitError):
    """`Index.create` was asked to create an index where one already exists."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        super().__init__(f"an index already exists at {self.path}; open it or rebuild it")


class IncompatibleIndexError(SearchkitError):
    """The index was built by an analyzer or format this version cannot read."""

    def __init__(self, path: Path | str, why: str):
        self.path = Path(path)
        super().__init__(
            f"the index at {self.path} is incompatible with this searchkit ({why}); "
            f"rebuild it with `searchkit rebuild --index {self.path}`"
        )


class IndexLockedError(SearchkitError):
    """Another process is writing to the index."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        super().__init__(
            f"another process is writing to the index at {self.path}; try again when it is done"
        )


class QueryError(SearchkitError):
    """The query string cannot be understood."""


class BadDocumentError(SearchkitError):
    """A post cannot be read or parsed. `path` and `reason` say which and why."""

    def __init__(self, path: Path | str, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class IndexDamagedError(SearchkitError):
    """The index cannot be read or written as it is on disk; `searchkit rebuild` makes a new
    one from the posts. `why` says what failed."""

    def __init__(self, path: Path | str, why: str):
        self.path = Path(path)
        self.why = why
        super().__init__(
            f"the index at {self.path} cannot be updated ({why}); "
            f"rebuild it with `searchkit rebuild --index {self.path}`"
        )


class IndexClosedError(SearchkitError):
    """The `Index` was used after `close()` (or after its `with` block ended)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        super().__init__(f"the index at {self.path} was closed; open it again to use it")


class DiskFullError(SearchkitError):
    """The disk (or the process's file-size or quota limit) ran out while writing the index.
    The write was abandoned: the index is as it was before it."""

    def __init__(self, path: Path | str, why: str):
        self.path = Path(path)
        self.why = why
        super().__init__(
            f"no space left while writing the index at {self.path} ({why}); "
            f"the index is unchanged: free some space and run the command again"
        )


class IndexCorruptError(IndexDamagedError, IncompatibleIndexError):
    """A file of the index is not what its commit wrote (truncated, overwritten, missing), so
    searching it could give wrong hits. `file` names it (relative to the index folder) and
    `why` says what is wrong; `searchkit rebuild` makes a new index from the posts.

    Also an `IncompatibleIndexError`: whoever opens an index afresh, or rebuilds it, when this
    version cannot read it (`searchkit rebuild`, the web server, the demo) does the same here.
    """

    def __init__(self, path: Path | str, file: str, why: str):
        self.path = Path(path)
        self.file = file
        self.why = why
        SearchkitError.__init__(
            self,
            f"the index at {self.path} is damaged: {file} {why}; "
            f"rebuild it with `searchkit rebuild --index {self.path}`",
        )
