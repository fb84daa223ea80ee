"""Posts -> Whoosh field values, in worker processes when there are many.

Reading, parsing and analyzing a post (jieba, mostly) is CPU work that parallelizes
perfectly; writing postings into Whoosh is not. So a process pool (forked after jieba's
dictionary is loaded, so workers inherit it) does the former and the parent the latter.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace
from pathlib import Path

from . import documents
from .analysis import Analyzer
from .documents import Document, LoadProblem
from .errors import SearchkitError
from .schema import document_fields, document_words

PARALLEL_THRESHOLD = 64  # fewer documents than this are analyzed in-process
CHUNK = 16
# Documents analyzed ahead of the one the caller (the index writer) takes, at most. The
# workers outpace the writer, and `Pool.imap` keeps every result they send until it is
# taken: a build of 200,000 news articles held ~800 MB of them by the time the workers
# were done (the writer's RSS 590 -> 1,372 MB, while its posting pool spilled at 256 MB).
# More than a chunk: the pool sends whole chunks, so with less the next result the caller
# waits for could sit in a chunk waiting for room.
AHEAD = 64 * CHUNK

_worker_analyzer: Analyzer | None = None


def _analyze_one(doc: Document):
    return document_fields(doc, _worker_analyzer)


def _load_one(item):
    path, doc_id, root, old_checksum = item
    try:
        # Before reading: a file changed after its stat is read again by the next update.
        stat = path.stat()
    except OSError as error:  # e.g. deleted since the folder was listed
        return ("skipped", LoadProblem.unreadable(path, error))
    doc, problems = documents.read_post_or_problems(path, root)
    if doc is None:
        return ("skipped", problems[0])
    doc = _with_id(doc, doc_id)
    if old_checksum is not None and doc.checksum == old_checksum:
        return ("unchanged", doc_id)
    return ("indexed", document_fields(doc, _worker_analyzer, file_signature(stat)), problems)


def file_signature(stat: os.stat_result) -> tuple[int, int]:
    """What says a file is unchanged without reading it: modification time and size."""
    return stat.st_mtime_ns, stat.st_size


def compare_with_index(files: list[tuple[Path, str]], known: dict[str, dict]) -> tuple[list, list]:
    """Which of `files` (`documents.post_files`) are indexed as they are now, going by their
    modification time and size (`file_signature`) against `known` (`schema.known_files`):
    (ids of those unchanged, the others as (path, id, checksum indexed or None) to read).
    Reading one tells whether its content changed (`load_and_analyze`: "unchanged")."""
    unchanged, todo = [], []
    for path, doc_id in files:
        try:
            stat = path.stat()
        except OSError:
            stat = None  # gone or unreadable: reading it will report why
        old = known.get(doc_id)
        if old and stat and (old["mtime_ns"], old["size"]) == file_signature(stat):
            unchanged.append(doc_id)
        else:
            todo.append((path, doc_id, old["checksum"] if old else None))
    return unchanged, todo


def gone_from(root: Path, files: list[tuple[Path, str]], known: dict[str, dict]) -> list[str]:
    """The ids in `known` (`schema.known_files`) of posts indexed from `root` whose files
    are no longer among `files` (`documents.post_files(root)`): what an update deletes."""
    seen = {doc_id for _, doc_id in files}
    return [
        doc_id for doc_id, old in known.items() if doc_id not in seen and _inside(old["path"], root)
    ]


def _inside(stored_path: str | None, root: Path) -> bool:
    """Whether a document's stored file path lies in `root` (or is `root`, for a file)."""
    if not stored_path:
        return False
    path, root = Path(stored_path).resolve(), root.resolve()
    return path == root or root in path.parents


def existing_source(source: Path | str) -> Path:
    """`source` as a `Path`; `SearchkitError` if there is no such folder or file."""
    root = Path(source)
    if not root.exists():
        raise SearchkitError(f"no such posts folder or file: {root}")
    return root


def _with_id(doc: Document, doc_id: str) -> Document:
    return doc if doc.id == doc_id else replace(doc, id=doc_id)


def _parallel(function, items: list, analyzer: Analyzer):
    """Map `function` over `items`, in a process pool when there are many."""
    global _worker_analyzer
    _worker_analyzer = analyzer
    if len(items) < PARALLEL_THRESHOLD or (os.cpu_count() or 1) < 2:
        yield from map(function, items)
        return
    import multiprocessing

    analyzer.load()  # once, before forking, so the workers inherit the dictionary
    context = multiprocessing.get_context("fork")
    # Workers ignore Ctrl-C: the parent gets the KeyboardInterrupt and ends the pool, instead
    # of every worker printing its own "Process ForkPoolWorker-2: ... KeyboardInterrupt".
    ignore_interrupts = (signal.SIGINT, signal.SIG_IGN)
    pool = context.Pool(os.cpu_count(), signal.signal, ignore_interrupts)
    stop, room = threading.Event(), threading.Semaphore(AHEAD)
    try:
        for result in pool.imap(function, _until(stop, room, items), chunksize=CHUNK):
            room.release()
            yield result
    finally:
        # Ended early (an error, Ctrl-C, a caller that stops reading): the pool is fed no
        # more and its workers finish the chunks they hold, then exit. Not `terminate()`
        # (`Pool.__exit__`): killing workers in the middle of a write to the pool's pipes
        # could leave its task thread waiting on a lock for ever (seen once, in a rebuild
        # that a failing progress callback ended, tests/test_index.py).
        stop.set()
        room.release(AHEAD)  # the pool's task thread may be waiting for room in `_until`
        pool.close()
        pool.join()


def _until(stop: threading.Event, room: threading.Semaphore, items: list):
    """`items`, one at a time, each once there is `room` (at most `AHEAD` not yet taken by
    the caller), until `stop` is set."""
    for item in items:
        room.acquire()
        if stop.is_set():
            return
        yield item


def analyze_documents(docs: list[Document], analyzer: Analyzer):
    """Yield (field values, words) for each document, in order."""
    for values in _parallel(_analyze_one, docs, analyzer):
        yield values, document_words(values)  # here: a set of words costs more to pickle


def load_and_analyze(todo: list[tuple[Path, str, str | None]], root: Path, analyzer: Analyzer):
    """Read and analyze posts. `todo` holds (path, id, checksum already indexed or None).

    Yields ("indexed", values, words, caveats), ("unchanged", id) or ("skipped", problem).
    """
    items = [(path, doc_id, root, checksum) for path, doc_id, checksum in todo]
    for result in _parallel(_load_one, items, analyzer):
        if result[0] == "indexed":
            _, values, problems = result
            result = ("indexed", values, document_words(values), problems)
        yield result
