"""`Index`: create, open, add, delete, update from a posts folder, rebuild atomically, search.

On disk an index is a folder holding:

* `CURRENT` - the name of the live generation folder, replaced atomically (`os.replace`);
* `gen-*` - generation folders, each a Whoosh index plus `meta.json` (analyzer fingerprint,
  user dictionary, source folder) and `vocab.txt` (see `vocabulary.py`);
* `LOCK` - held (fcntl) by whichever process writes; readers never take it.

Incremental writes (`add`, `delete`, `update_from`) commit into the live generation with
Whoosh's own atomic commit. `rebuild` builds a whole new generation beside the live one and
then flips `CURRENT`, so a reader sees the old index or the new one, never half of one, and
a crash mid-rebuild leaves the old one in place.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from whoosh import collectors
from whoosh import index as whoosh_index
from whoosh.query import Term

from . import documents
from . import query as query_module
from .analysis import ANALYZER_VERSION, Analyzer
from .documents import Document, LoadProblem
from .errors import (
    IncompatibleIndexError,
    IndexExistsError,
    IndexLockedError,
    IndexNotFoundError,
    SearchkitError,
)
from .highlight import make_snippet
from .results import Hit, SearchResults
from .schema import document_fields, make_schema
from .vocabulary import Vocabulary

FORMAT_VERSION = 1
CURRENT = "CURRENT"
META = "meta.json"
LOCK = "LOCK"
WRITER_MEMORY_MB = 512
PARALLEL_THRESHOLD = 64  # fewer documents than this are analyzed in-process
LOCK_TIMEOUT = 30.0


@dataclass
class UpdateReport:
    """What an `update_from`/`rebuild`/`add` did. `skipped` posts were not indexed;
    `warnings` were indexed with a caveat (e.g. decoded from GB18030)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[LoadProblem] = field(default_factory=list)
    warnings: list[LoadProblem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def indexed(self) -> int:
        return len(self.added) + len(self.updated)


class Index:
    """A searchkit index on disk. Use `Index.create` or `Index.open`, ideally in `with`."""

    def __init__(self, path: Path, generation: str, meta: dict):
        self.path = path
        self._generation = generation
        self.meta = meta
        self.analyzer = Analyzer(meta.get("userdict"))
        self._whoosh = whoosh_index.open_dir(str(path / generation))
        self._searcher = None
        self._vocab: Vocabulary | None = None

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path | str, userdict: str | Path | None = None) -> Index:
        """Create an empty index at `path` (a new or existing folder without an index).

        `userdict` is an extra jieba user dictionary (a file path, or its text). Raises
        `IndexExistsError` if an index is already there.
        """
        path = Path(path)
        if (path / CURRENT).exists():
            raise IndexExistsError(path)
        path.mkdir(parents=True, exist_ok=True)
        text = _userdict_text(userdict)
        with _lock(path):
            generation = _new_generation(path, text, source=None)
            _point_to(path, generation)
        return cls.open(path)

    @classmethod
    def open(cls, path: Path | str) -> Index:
        """Open the index at `path`. Raises `IndexNotFoundError` or `IncompatibleIndexError`."""
        path = Path(path)
        generation, meta = _read_current(path)
        if meta.get("format") != FORMAT_VERSION:
            raise IncompatibleIndexError(
                path, f"index format {meta.get('format')!r}, expected {FORMAT_VERSION}"
            )
        analyzer = Analyzer(meta.get("userdict"))
        if meta.get("analyzer") != analyzer.fingerprint:
            raise IncompatibleIndexError(
                path, "it was built with a different analyzer or dictionary"
            )
        try:
            return cls(path, generation, meta)
        except (OSError, EOFError, AttributeError, ImportError, ValueError) as error:
            raise IncompatibleIndexError(path, f"Whoosh cannot read it: {error}") from error

    @classmethod
    def open_or_create(cls, path: Path | str, userdict: str | Path | None = None) -> Index:
        """Open the index at `path`, creating an empty one if there is none."""
        try:
            return cls.open(path)
        except IndexNotFoundError:
            return cls.create(path, userdict)

    def close(self) -> None:
        """Release the searcher. The index stays usable: it reopens on the next search."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def source(self) -> Path | None:
        """The posts folder this index was last built or updated from."""
        return Path(self.meta["source"]) if self.meta.get("source") else None

    # --- reading -----------------------------------------------------------------------------

    def count(self) -> int:
        """The number of documents in the index."""
        return self._current_searcher().doc_count()

    def ids(self) -> list[str]:
        """Every document id, sorted."""
        searcher = self._current_searcher()
        return sorted(fields["id"] for fields in searcher.reader().all_stored_fields())

    def get(self, doc_id: str) -> Document:
        """The stored document with this id. Raises `KeyError` if there is none."""
        fields = self._current_searcher().document(id=doc_id)
        if fields is None:
            raise KeyError(doc_id)
        return _stored_document(fields)

    def vocabulary(self) -> Vocabulary:
        """The index's words (title and body)."""
        self._current_searcher()
        if self._vocab is None:
            vocab = Vocabulary.load(self.path / self._generation)
            if vocab is None:
                reader = self._searcher.reader()
                words = [w.decode("utf-8") for f in ("title", "body") for w in reader.lexicon(f)]
                vocab = Vocabulary(words)
            self._vocab = vocab
        return self._vocab

    def search(
        self,
        query: str,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        exact_only: bool = False,
        since=None,
        until=None,
        category: str | None = None,
        tag: str | None = None,
    ) -> SearchResults:
        """Search the index. See the README for the query syntax.

        Returns `SearchResults` (iterable of `Hit`, with `total`). `sort` is "relevance" or
        "date" (newest first). `since`/`until` take a date, datetime or "YYYY[-MM[-DD]]";
        `until` includes its whole day. Raises `QueryError` for a malformed query.
        """
        if sort not in ("relevance", "date"):
            raise query_module.QueryError(f"sort must be 'relevance' or 'date', not {sort!r}")
        if limit < 0 or offset < 0:
            raise query_module.QueryError("limit and offset must not be negative")
        parsed = query_module.parse(query)
        searcher = self._current_searcher()
        plan = query_module.build(parsed, self.vocabulary(), self.analyzer, exact_only)
        filters = _filters(since, until, category, tag)
        wanted = offset + limit
        exact = _collect(searcher, plan.exact, wanted, filters, None, sort)
        exact_total = len(exact)
        picked = [(hit, True) for hit in exact[offset:wanted]]
        relaxed_total = 0
        if plan.relaxed is not None and exact_total < wanted:
            relaxed = _collect(
                searcher, plan.relaxed, wanted - exact_total, filters, exact.docs(), sort
            )
            relaxed_total = len(relaxed)
            start = max(0, offset - exact_total)
            picked += [(hit, False) for hit in relaxed[start : wanted - exact_total]]
        hits = [self._hit(hit, is_exact, plan) for hit, is_exact in picked[:limit]]
        return SearchResults(
            query, exact_total + relaxed_total, exact_total, hits, tuple(plan.terms)
        )

    def _hit(self, hit, is_exact: bool, plan) -> Hit:
        fields = hit.fields()
        terms = plan.terms if is_exact else plan.relaxed_terms + plan.terms
        snippet, marks = make_snippet(fields.get("title") or "", fields.get("body") or "", terms)
        doc = _stored_document(fields)
        return Hit(
            doc.id,
            doc.path,
            doc.url,
            doc.title,
            doc.date,
            doc.categories,
            doc.tags,
            float(hit.score or 0.0),
            is_exact,
            snippet,
            tuple(marks),
        )

    def _current_searcher(self):
        """The shared searcher, reopened if another process committed or rebuilt."""
        generation = _read_pointer(self.path)
        if generation != self._generation:
            fresh = Index.open(self.path)
            self.close()
            self._generation, self.meta = fresh._generation, fresh.meta
            self.analyzer, self._whoosh, self._vocab = fresh.analyzer, fresh._whoosh, None
        if self._searcher is None:
            self._searcher = self._whoosh.searcher()
        elif not self._searcher.up_to_date():
            # Not `searcher.refresh()`: it fails on a searcher of an empty index (Whoosh bug).
            self._searcher.close()
            self._searcher = self._whoosh.searcher()
            self._vocab = None
        return self._searcher

    # --- writing -----------------------------------------------------------------------------

    def add(self, documents: Iterable[Document]) -> UpdateReport:
        """Insert documents, replacing any with the same id. Returns the report."""
        started = time.monotonic()
        report = UpdateReport()
        with self._writing() as (writer, new_words):
            searcher = self._current_searcher()
            for values, words in _analyze(list(documents), self.analyzer):
                writer.update_document(**values)
                new_words.update(words)
                known = searcher.document_number(id=values["id"]) is not None
                (report.updated if known else report.added).append(values["id"])
        report.seconds = time.monotonic() - started
        return report

    def delete(self, ids: Iterable[str]) -> int:
        """Delete documents by id. Returns how many were deleted."""
        deleted = 0
        with self._writing() as (writer, _):
            for doc_id in ids:
                deleted += writer.delete_by_term("id", doc_id)
        return deleted

    def update_from(
        self, source: Path | str, progress: Callable[[int, int], None] | None = None
    ) -> UpdateReport:
        """Bring the index in line with a posts folder (or file): add new posts, re-index
        changed ones (by content hash), delete those whose files are gone.

        Bad posts are skipped and listed in the report with the reason; they never stop the
        run. `progress(done, total)` is called as files are processed.
        """
        started = time.monotonic()
        root = _existing_source(source)
        report = UpdateReport()
        with self._writing() as (writer, new_words):
            known = self._known_files()
            files = documents.post_files(root)
            seen = set()
            todo = []
            for path, doc_id in files:
                seen.add(doc_id)
                stat = path.stat()
                old = known.get(doc_id)
                if old and old["mtime_ns"] == stat.st_mtime_ns and old["size"] == stat.st_size:
                    report.unchanged += 1
                else:
                    todo.append((path, doc_id, old["checksum"] if old else None))
            done = len(files) - len(todo)
            for result in _load_and_analyze(todo, root, self.analyzer):
                done += 1
                _record(result, writer, new_words, known, report)
                if progress:
                    progress(done, len(files))
            for doc_id, old in known.items():
                if doc_id not in seen and _inside(old["path"], root):
                    writer.delete_by_term("id", doc_id)
                    report.deleted.append(doc_id)
            self.meta["source"] = str(root.resolve())
        _write_meta(self.path / self._generation, self.meta)
        report.seconds = time.monotonic() - started
        return report

    def rebuild(
        self, source: Path | str | None = None, progress: Callable[[int, int], None] | None = None
    ) -> UpdateReport:
        """Build a fresh index from `source` (default: the recorded source folder) beside the
        live one, then swap it in atomically. Readers keep the old index until the swap."""
        started = time.monotonic()
        if source is None:
            if self.source is None:
                raise SearchkitError("this index has no recorded source folder; give one")
            source = self.source
        root = _existing_source(source)
        report = UpdateReport()
        with _lock(self.path):
            generation = _new_generation(self.path, self.meta.get("userdict"), str(root.resolve()))
            try:
                fresh = whoosh_index.open_dir(str(self.path / generation))
                writer = fresh.writer(limitmb=WRITER_MEMORY_MB)
                words: set[str] = set()
                files = documents.post_files(root)
                todo = [(path, doc_id, None) for path, doc_id in files]
                done = 0
                for result in _load_and_analyze(todo, root, self.analyzer):
                    done += 1
                    _record(result, writer, words, {}, report, add=True)
                    if progress:
                        progress(done, len(files))
                Vocabulary(words).save(self.path / generation)
                writer.commit()
                _point_to(self.path, generation)
            except BaseException:
                shutil.rmtree(self.path / generation, ignore_errors=True)
                raise
            _remove_old_generations(self.path, keep={generation, self._generation})
        self.close()
        self._current_searcher()
        report.seconds = time.monotonic() - started
        return report

    def _known_files(self) -> dict[str, dict]:
        reader = self._current_searcher().reader()
        return {
            f["id"]: {
                "mtime_ns": f.get("mtime_ns"),
                "size": f.get("size"),
                "checksum": f.get("checksum"),
                "path": f.get("path"),
            }
            for f in reader.all_stored_fields()
        }

    @contextmanager
    def _writing(self) -> Iterator[tuple]:
        """A Whoosh writer on the live generation, under the index lock; commits on success."""
        with _lock(self.path):
            self._current_searcher()
            folder = self.path / self._generation
            writer = self._whoosh.writer(limitmb=WRITER_MEMORY_MB)
            new_words: set[str] = set()
            try:
                yield writer, new_words
            except BaseException:
                writer.cancel()
                raise
            if new_words:
                self.vocabulary().union(new_words).save(folder)
            writer.commit()
        self._vocab = None


# --- analysis, in worker processes when there is much of it ------------------------------

_worker_analyzer: Analyzer | None = None


def _analyze_one(doc: Document):
    return document_fields(doc, _worker_analyzer)


def _load_one(item):
    path, doc_id, root, old_checksum = item
    stat = path.stat()
    try:
        doc, caveats = documents.read_post_with_caveats(path, root)
    except SearchkitError as error:
        return ("skipped", LoadProblem(path, getattr(error, "reason", str(error))))
    doc = _with_id(doc, doc_id)
    if old_checksum is not None and doc.checksum == old_checksum:
        return ("unchanged", doc_id)
    values, words = document_fields(doc, _worker_analyzer, (stat.st_mtime_ns, stat.st_size))
    return ("indexed", values, words, [LoadProblem(path, c, skipped=False) for c in caveats])


def _with_id(doc: Document, doc_id: str) -> Document:
    if doc.id == doc_id:
        return doc
    from dataclasses import replace

    return replace(doc, id=doc_id)


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
    with context.Pool(os.cpu_count()) as pool:
        yield from pool.imap(function, items, chunksize=16)


def _analyze(documents: list[Document], analyzer: Analyzer):
    return _parallel(_analyze_one, documents, analyzer)


def _load_and_analyze(todo, root: Path, analyzer: Analyzer):
    items = [(path, doc_id, root, checksum) for path, doc_id, checksum in todo]
    return _parallel(_load_one, items, analyzer)


def _record(result, writer, words: set, known: dict, report: UpdateReport, add=False) -> None:
    kind = result[0]
    if kind == "skipped":
        report.skipped.append(result[1])
    elif kind == "unchanged":
        report.unchanged += 1
    else:
        _, values, doc_words, caveats = result
        (writer.add_document if add else writer.update_document)(**values)
        words.update(doc_words)
        report.warnings.extend(caveats)
        (report.updated if values["id"] in known else report.added).append(values["id"])


def _collect(searcher, whoosh_query, limit: int, filters, mask, sort: str):
    """Run a query; exact `len()` of the results whatever the limit.

    Whoosh's top-N collector prunes sub-matchers whose best possible score cannot reach the
    top N ("replace"), and then under-counts the total: searchkit turns that off.
    """
    limit = max(limit, 1)
    if sort == "date":
        collector = collectors.SortingCollector("date", limit=limit, reverse=True)
    else:
        collector = collectors.TopCollector(limit, usequality=False, replace=0)
    if filters is not None or mask:
        collector = collectors.FilterCollector(collector, filters, mask)
    searcher.search_with_collector(whoosh_query, collector)
    return collector.results()


def _filters(since, until, category, tag):
    parts = []
    start = query_module.coerce_date(since, end=False)
    end = query_module.coerce_date(until, end=True)
    if start or end:
        from whoosh.query import DateRange

        parts.append(DateRange("date", start, end, endexcl=True))
    if category:
        parts.append(Term("categories", category.strip().lower()))
    if tag:
        parts.append(Term("tags", tag.strip().lower()))
    if not parts:
        return None
    from whoosh.query import And

    return parts[0] if len(parts) == 1 else And(parts)


def _stored_document(fields: dict) -> Document:
    date = fields.get("date_iso")
    return Document(
        id=fields["id"],
        title=fields.get("title") or "",
        body=fields.get("body") or "",
        path=Path(fields["path"]) if fields.get("path") else None,
        date=datetime.fromisoformat(date) if date else None,
        categories=tuple(fields.get("categories") or ()),
        tags=tuple(fields.get("tags") or ()),
        url=fields.get("url"),
        checksum=fields.get("checksum"),
    )


# --- the folder layout --------------------------------------------------------------------


def _userdict_text(userdict: str | Path | None) -> str | None:
    if userdict is None:
        return None
    if isinstance(userdict, Path) or (
        isinstance(userdict, str) and "\n" not in userdict and Path(userdict).is_file()
    ):
        try:
            return Path(userdict).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SearchkitError(f"cannot read the user dictionary {userdict}: {error}") from None
    return userdict


def _inside(stored_path: str | None, root: Path) -> bool:
    """Whether a document's stored file path lies in `root` (or is `root`, for a file)."""
    if not stored_path:
        return False
    path, root = Path(stored_path).resolve(), root.resolve()
    return path == root or root in path.parents


def _existing_source(source: Path | str) -> Path:
    root = Path(source)
    if not root.exists():
        raise SearchkitError(f"no such posts folder or file: {root}")
    return root


def _read_pointer(path: Path) -> str:
    try:
        return (path / CURRENT).read_text("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        raise IndexNotFoundError(path) from None


def _read_current(path: Path) -> tuple[str, dict]:
    generation = _read_pointer(path)
    try:
        meta = json.loads((path / generation / META).read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise IncompatibleIndexError(path, f"its {META} is unreadable ({error})") from None
    return generation, meta


def _write_meta(folder: Path, meta: dict) -> None:
    tmp = folder / (META + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), "utf-8")
    os.replace(tmp, folder / META)


def _new_generation(path: Path, userdict: str | None, source: str | None) -> str:
    """Create an empty Whoosh index in a new generation folder; returns its name."""
    generation = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
    folder = path / generation
    folder.mkdir()
    whoosh_index.create_in(str(folder), make_schema())
    analyzer = Analyzer(userdict)
    _write_meta(
        folder,
        {
            "format": FORMAT_VERSION,
            "analyzer": analyzer.fingerprint,
            "analyzer_version": ANALYZER_VERSION,
            "userdict": userdict,
            "source": source,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
    Vocabulary().save(folder)
    return generation


def _point_to(path: Path, generation: str) -> None:
    """Make `generation` the live one, atomically (and durably)."""
    tmp = path / (CURRENT + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(generation + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path / CURRENT)
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _remove_old_generations(path: Path, keep: set[str]) -> None:
    """Delete generation folders other than `keep` (the new one and the one just replaced,
    which readers opened before the swap may still be using)."""
    for folder in path.glob("gen-*"):
        if folder.name not in keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _lock(path: Path, timeout: float = LOCK_TIMEOUT):
    """The index's writer lock (fcntl: released by the OS even if the process is killed)."""
    import fcntl

    handle = open(path / LOCK, "a+")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(path) from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()
