"""searchkit: Chinese full-text search for Jekyll news archives.

>>> from searchkit import Index
>>> with Index.open("index") as index:           # doctest: +SKIP
...     for hit in index.search("缩表"):
...         print(hit.title, hit.snippet)
"""

from .documents import Document, LoadProblem, load_posts
from .errors import (
    ArgumentError,
    BadDocumentError,
    DiskFullError,
    DocumentNotFoundError,
    IncompatibleIndexError,
    IndexClosedError,
    IndexCorruptError,
    IndexDamagedError,
    IndexExistsError,
    IndexLockedError,
    IndexNotFoundError,
    QueryError,
    SearchkitError,
    SynonymError,
)
from .index import Index, IndexStats, UpdateReport
from .integrity import IndexProblem, check_index
from .results import Hit, MarkedPost, SearchResults, SimilarPosts
from .synonyms import Synonyms

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "BadDocumentError",
    "DiskFullError",
    "Document",
    "DocumentNotFoundError",
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
    "MarkedPost",
    "QueryError",
    "SearchResults",
    "SearchkitError",
    "SimilarPosts",
    "SynonymError",
    "Synonyms",
    "UpdateReport",
    "check_index",
    "load_posts",
]
