"""searchkit: Chinese full-text search for Jekyll news archives.

>>> from searchkit import Index
>>> with Index.open("index") as index:           # doctest: +SKIP
...     for hit in index.search("缩表"):
...         print(hit.title, hit.snippet)
"""

from .documents import Document, LoadProblem, load_posts
from .errors import (
    BadDocumentError,
    DiskFullError,
    IncompatibleIndexError,
    IndexClosedError,
    IndexCorruptError,
    IndexDamagedError,
    IndexExistsError,
    IndexLockedError,
    IndexNotFoundError,
    QueryError,
    SearchkitError,
)
from .index import Index, IndexStats, UpdateReport
from .integrity import IndexProblem, check_index
from .results import Hit, SearchResults

__version__ = "0.1.0"

__all__ = [
    "BadDocumentError",
    "DiskFullError",
    "Document",
    "Hit",
    "IncompatibleIndexError",
    "Index",
    "IndexClosedError",
    "IndexCorruptError",
    "IndexDamagedError",
    "IndexExistsError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexProblem",
    "IndexStats",
    "LoadProblem",
    "QueryError",
    "SearchResults",
    "SearchkitError",
    "UpdateReport",
    "check_index",
    "load_posts",
]
