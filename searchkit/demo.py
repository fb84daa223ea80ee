"""The bundled demo: 81 real finance posts shipped in `searchkit/data/demo/`, and an index of
them built once in the user's cache, so a new user's first `searchkit search 缩表` finds
something before they have indexed anything of their own.

>>> from searchkit.demo import open_demo_index
>>> with open_demo_index() as index:                 # doctest: +SKIP
...     print(index.search("缩表").total)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from .errors import IncompatibleIndexError, IndexNotFoundError, SearchkitError
from .index import Index


def demo_posts() -> Path:
    """The folder of bundled demo posts (`*.md` Jekyll posts) inside the installed package."""
    # A real folder: searchkit is installed as files, never imported from a zip.
    return Path(str(resources.files("searchkit").joinpath("data", "demo")))


def demo_index_path() -> Path:
    """Where the demo index lives: `$XDG_CACHE_HOME/searchkit/demo-index`, by default
    `~/.cache/searchkit/demo-index`."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    root = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return root / "searchkit" / "demo-index"


def open_demo_index(on_build: Callable[[], None] | None = None) -> Index:
    """Open the demo index, building it first when it is missing, incompatible with this
    searchkit, or built from another copy of the demo posts. `on_build()` is called just
    before building (it takes about a second).

    Raises `SearchkitError` only if the cache folder cannot be written.
    """
    path = demo_index_path()
    posts = demo_posts()
    try:
        index = Index.open(path)
        if index.sources == [posts.absolute()] and index.count() == _post_count(posts):
            return index
        index.close()
    except (IndexNotFoundError, IncompatibleIndexError):
        pass
    if on_build is not None:
        on_build()
    # Built beside its final place and then renamed, so an interrupted build never leaves a
    # half-filled demo index that would be opened next time.
    staging = path.with_name(f"{path.name}.building-{os.getpid()}")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        with Index.create(staging) as fresh:
            fresh.update_from(posts)
        shutil.rmtree(path, ignore_errors=True)
    except BaseException as error:  # Ctrl-C too: no stray staging folder in the cache
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise SearchkitError(f"cannot build the demo index in {path}: {error}") from None
        raise
    try:
        staging.rename(path)
    except OSError:
        # Another process built it at the same moment: use theirs.
        shutil.rmtree(staging, ignore_errors=True)
    return Index.open(path)


def demo_post_count() -> int:
    """How many posts the bundled demo has."""
    return _post_count(demo_posts())


def _post_count(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*.md"))
