"""searchkit: Chinese full-text search for Jekyll news archives.

>>> from searchkit import Index
>>> with Index.open("index") as index:           # doctest: +SKIP
...     for hit in index.search("缩表"):
...         print(hit.title, hit.snippet)
"""

from . import errors
from .documents import Document, LoadProblem, load_posts
from .errors import *  # noqa: F403  (the error classes: `errors.__all__`)
from .index import Index, IndexStats, UpdateReport
from .integrity import IndexProblem, check_index
from .results import Hit, MarkedPost, SearchResults, SimilarPosts
from .synonyms import Synonyms

__version__ = "0.1.0"

__all__ = [
    "Document",
    "Hit",
    "Index",
    "IndexProblem",
    "IndexStats",
    "LoadProblem",
    "MarkedPost",
    "SearchResults",
    "SimilarPosts",
    "Synonyms",
    "UpdateReport",
    "check_index",
    "load_posts",
    *errors.__all__,
]
