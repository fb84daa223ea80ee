"""`Index`: create, open, add, delete, update from a posts folder, rebuild atomically, search.

The folder layout (live-generation pointer, generations, lock) is in `storage.py`.
Incremental writes (`add`, `delete`, `update_from`) commit into the live generation with
Whoosh's own atomic commit. `rebuild` builds a whole new generation beside the live one and
then flips `CURRENT`, so a reader sees the old index or the new one, never half of one, and
a crash mid-rebuild leaves the old one in place.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import scoring
from whoosh.index import clean_files
from whoosh.query import Term

from . import documents, gcpause, ingest, searching, storage
from .analysis import ANALYZER_VERSION, Analyzer, read_userdict
from .codec import finish_writer, live_toc, open_writer
from .documents import Document, LoadProblem
from .errors import (
    ArgumentError,
    DocumentNotFoundError,
    IncompatibleIndexError,
    IndexClosedError,
    IndexCorruptError,
    IndexDamagedError,
    IndexExistsError,
    IndexNotFoundError,
    SearchkitError,
)
from .integrity import IndexProblem, check_index, verify_generation, vocabulary_intact
from .query import check_date_range
from .query import parse as parse_query
from .results import MarkedPost, SearchResults, SimilarPosts
from .schema import fit_to, known_files
from .scoring import K1, B
from .searching import stored_document
from .storage import CURRENT, FORMAT_VERSION
from .synonyms import Synonyms
from .vocabulary import Vocabulary

WEIGHTING = scoring.BM25F(B=B, K1=K1)

SYNONYMS_FILE = "synonyms.txt"  # the index's own synonym groups, beside CURRENT


@dataclass(frozen=True)
class IndexStats:
    """What `Index.stats()` reports. Dates are in UTC, or None for an index without dates."""

    path: Path
    documents: int
    size_bytes: int  # the live generation's files
    folder_size_bytes: int  # the whole index folder's: older generations a reader still uses
    first_date: datetime | None
    last_date: datetime | None
    categories: list[tuple[str, int]]
    tags: list[tuple[str, int]]
    sources: list[Path]
    analyzer_version: int
    analyzer_fingerprint: str
    user_dictionary_words: int
    vocabulary_size: int
    generation: str

    def to_dict(self) -> dict:
        """The figures as JSON values (`searchkit stats --json`, `GET /api/stats`): paths as
        strings, dates in ISO 8601."""
        figures = asdict(self)
        figures["path"] = str(self.path)
        figures["sources"] = [str(source) for source in self.sources]
        for name in ("first_date", "last_date"):
            figures[name] = figures[name].isoformat() if figures[name] else None
        return figures


@dataclass
class UpdateReport:
    """What an `update_from`, `rebuild` or `add` did, post by post.

    The names say what they hold: `*_ids` are lists of document ids (`added_ids`: new
    documents, `updated_ids`: re-indexed ones, `deleted_ids`, `unchanged_ids`: not re-read),
    `*_count` are their lengths, `skipped` lists the `LoadProblem`s of posts that were not
    indexed and `warnings` those indexed with a caveat (e.g. decoded from GB18030).
    `seconds` is the time taken.
    """

    added_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)
    unchanged_ids: list[str] = field(default_factory=list)
    skipped: list[LoadProblem] = field(default_factory=list)
    warnings: list[LoadProblem] = field(default_factory=list)
    seconds: float = 0.0

    added_count = property(lambda self: len(self.added_ids), doc="len(added_ids)")
    updated_count = property(lambda self: len(self.updated_ids), doc="len(updated_ids)")
    deleted_count = property(lambda self: len(self.deleted_ids), doc="len(deleted_ids)")
    unchanged_count = property(lambda self: len(self.unchanged_ids), doc="len(unchanged_ids)")

    @property
    def indexed_count(self) -> int:
        """Documents written: added or updated."""
        return self.added_count + self.updated_count

    def counts(self) -> dict[str, int]:
        """Every count by name: added, updated, deleted, unchanged, skipped, warnings."""
        return {
            "added": self.added_count,
            "updated": self.updated_count,
            "deleted": self.deleted_count,
            "unchanged": self.unchanged_count,
            "skipped": len(self.skipped),
            "warnings": len(self.warnings),
        }

    # The names of searchkit 0.1, kept for programs that use them.
    added = property(lambda self: self.added_ids, doc="Same as `added_ids`.")
    updated = property(lambda self: self.updated_ids, doc="Same as `updated_ids`.")
    deleted = property(lambda self: self.deleted_ids, doc="Same as `deleted_ids`.")
    unchanged = property(lambda self: self.unchanged_count, doc="Same as `unchanged_count`.")
    indexed = property(lambda self: self.indexed_count, doc="Same as `indexed_count`.")

    def merge(self, other: UpdateReport) -> UpdateReport:
        """The two reports added together (e.g. updates from several folders)."""
        return UpdateReport(
            self.added_ids + other.added_ids,
            self.updated_ids + other.updated_ids,
            self.deleted_ids + other.deleted_ids,
            self.unchanged_ids + other.unchanged_ids,
            self.skipped + other.skipped,
            self.warnings + other.warnings,
            self.seconds + other.seconds,
        )


# A file system stamps a change with a clock that ticks every few milliseconds, so a folder
# changed in the tick it was looked at keeps the stamp it had: stamps are trusted only once
# they are older than this (git's rule for its index).
RACY_NS = 50_000_000


class Index:
    """A searchkit index on disk. Use `Index.create` or `Index.open`, ideally in `with`.

    `path` is its folder; `analyzer` the `analysis.Analyzer` it was built with (its jieba
    user dictionary included), which indexing and searching use alike."""

    def __init__(self, path: Path, generation: str, meta: dict, damage: Exception | None = None):
        self.path = path
        self._generation = generation
        self._meta = meta
        self.analyzer = Analyzer(meta.get("userdict"))
        # A damaged generation (`open(check=False)`) is only ever rebuilt: reads raise `damage`.
        self._damage = damage
        # Held until close() or a move to a newer generation: a rebuild keeps this one then.
        self._hold = None if damage else storage.hold_generation(path, generation)
        try:
            self._whoosh = None if damage else whoosh_index.open_dir(str(path / generation))
        except BaseException:
            if self._hold is not None:
                self._hold.close()
            raise
        self._searcher = None
        self._unchanged: tuple | None = None  # see `_stamps`
        self._vocab: Vocabulary | None = None
        self._own_synonyms: tuple[int, Synonyms] | None = None
        self._closed = False

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
        text = read_userdict(userdict)
        with storage.lock(path), storage.disk_full_is_an_error(path):
            if (path / CURRENT).exists():  # another process created it since the check above
                raise IndexExistsError(path)
            generation = storage.new_generation(path, text, sources=[])
            storage.point_to(path, generation)
        return cls.open(path)

    @classmethod
    def open(cls, path: Path | str, check: bool = True) -> Index:
        """Open the index at `path`. Raises `IndexNotFoundError`, `IncompatibleIndexError`,
        or `IndexCorruptError` when a file of it is not what its commit wrote (see
        `integrity.verify_generation`: sizes and checksums, read once a process).

        `check=False` skips the format and analyzer checks, and opens a damaged index too, only
        to `rebuild` it (searching it could miss posts; a damaged one raises its error);
        `open_for_rebuild` does that.
        """
        path = Path(path)
        try:
            generation, meta = storage.read_current(path)
        except IndexCorruptError as damage:
            if check:
                raise
            try:  # the generation a rebuild replaces (and deletes), if CURRENT names one
                generation = storage.read_pointer(path)
            except IndexCorruptError:
                generation = "gen-unknown"
            return cls(path, generation, {}, damage)
        if check and meta.get("format") != FORMAT_VERSION:
            raise IncompatibleIndexError(
                path, f"index format {meta.get('format')!r}, expected {FORMAT_VERSION}"
            )
        if check and meta.get("analyzer") != Analyzer(meta.get("userdict")).fingerprint:
            raise IncompatibleIndexError(
                path, "it was built with a different analyzer or dictionary"
            )
        try:
            verify_generation(path, generation, meta)
            return cls(path, generation, meta)
        except (
            OSError,
            EOFError,
            AttributeError,
            ImportError,
            ValueError,
            whoosh_index.EmptyIndexError,
            IndexCorruptError,
        ) as error:
            if storage.read_pointer(path) != generation:
                # Two rebuilds since CURRENT was read: the second removed this generation.
                return cls.open(path, check)
            if not isinstance(error, IndexCorruptError):
                error = IncompatibleIndexError(path, f"Whoosh cannot read it: {error}")
            if check:
                raise error from None
            return cls(path, generation, meta, error)

    @staticmethod
    def exists(path: Path | str) -> bool:
        """Whether there is an index at `path` (it may still be one this version cannot
        open: `open` says why)."""
        return (Path(path) / CURRENT).exists()

    @classmethod
    def open_or_create(cls, path: Path | str, userdict: str | Path | None = None) -> Index:
        """Open the index at `path`, creating an empty one if there is none."""
        return cls._opened_or_created(path, userdict)[0]

    @classmethod
    @contextmanager
    def open_for_update(
        cls, path: Path | str, create: bool = True, userdict: str | Path | None = None
    ) -> Iterator[Index]:
        """`with Index.open_for_update(path) as index:` the index at `path`, or (`create`) a
        new empty one when there is none, closed at the end of the block. An index this call
        created is deleted again if the block fails or is interrupted: an empty index would
        find nothing, and a second try would only update it (what `searchkit index` does).
        Raises `IndexNotFoundError` when there is none and not `create`."""
        index, created = cls._opened_or_created(path, userdict, create)
        with index, _destroyed_if_unfinished(index, created):
            yield index

    @classmethod
    @contextmanager
    def open_for_rebuild(
        cls, path: Path | str, create: bool = False, userdict: str | Path | None = None
    ) -> Iterator[Index]:
        """`open_for_update` for `rebuild`: also opens an index this version cannot search
        (`IncompatibleIndexError` says to rebuild it, and a rebuild never reads the old
        postings). `create` is off by default: a rebuild from the recorded folders needs an
        index that records them."""
        try:
            index, created = cls._opened_or_created(path, userdict, create)
        except IncompatibleIndexError:
            index, created = cls.open(path, check=False), False
        with index, _destroyed_if_unfinished(index, created):
            yield index

    @classmethod
    def _opened_or_created(
        cls, path: Path | str, userdict: str | Path | None, create: bool = True
    ) -> tuple[Index, bool]:
        """The index at `path` and False, or a new empty one and True (when `create`)."""
        try:
            return cls.open(path), False
        except IndexNotFoundError:
            if not create:
                raise
            try:
                return cls.create(path, userdict), True
            except IndexExistsError:  # created by another process meanwhile
                return cls.open(path), False

    def close(self) -> None:
        """Close the index: release its searcher and open files. Closing twice is fine; any
        other use after `close()` raises `IndexClosedError` (open the path again instead).
        `with Index.open(path) as index:` closes it at the end of the block."""
        self._release_searcher()
        self._release_generation()
        self._closed = True

    def _release_generation(self) -> None:
        if self._hold is not None:
            self._hold.close()
            self._hold = None

    def _release_searcher(self) -> None:
        """Let the searcher go; the next read opens a fresh one."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def destroy(self) -> None:
        """Close the index and delete it from disk: its generations, `CURRENT` and `LOCK`, and
        its folder if that is then empty. For an index whose first build failed, so that no
        empty index is left to be opened next time.

        >>> index = Index.create("index")                # doctest: +SKIP
        >>> try:
        ...     index.update_from("_posts")
        ... except BaseException:
        ...     index.destroy()
        ...     raise
        """
        self.close()
        storage.remove_index(self.path)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def sources(self) -> list[Path]:
        """The posts folders (or files) this index was built or updated from."""
        return [Path(p) for p in self._meta.get("sources") or []]

    @property
    def generation(self) -> str:
        """The name of the generation folder (in `path`) this `Index` reads: a rebuild makes
        a new one, and the `Index` moves to it at its next read."""
        return self._generation

    def uses_userdict(self, userdict: str | Path | None) -> bool:
        """Whether the index was built with this jieba user dictionary (a file or its text;
        None: none). Another one needs a `rebuild(userdict=...)` to take effect."""
        return self.analyzer.userdict == read_userdict(userdict)

    # --- reading -----------------------------------------------------------------------------

    def count(self, category: str | None = None, tag: str | None = None) -> int:
        """The number of documents in the index, or of those in `category` and with `tag`
        (matched as `search` matches them: case-insensitively).

        >>> index.count(category="xwlb")                            # doctest: +SKIP
        6
        """
        searcher = self._current_searcher()
        terms = [
            Term(field, value.strip().lower())
            for field, value in (("categories", category), ("tags", tag))
            if value is not None
        ]
        if not terms:
            return searcher.doc_count()
        from whoosh.query import And

        return len(searcher.search(And(terms), limit=1))

    def ids(self) -> list[str]:
        """Every document id, sorted."""
        searcher = self._current_searcher()
        return sorted(fields["id"] for fields in searcher.reader().all_stored_fields())

    def get(self, doc_id: str) -> Document:
        """The stored document with this id. Raises `DocumentNotFoundError` (a `KeyError`)
        if there is none."""
        fields = self._current_searcher().document(id=doc_id)
        if fields is None:
            raise DocumentNotFoundError(doc_id, self.path)
        return stored_document(fields)

    def lookup(self, reference: str | Path) -> Document:
        """The stored document `reference` names: its id (`2022-06-07-2022060724.md`), its
        id without the file suffix (`2022-06-07-2022060724`), or the path of its file (as
        `Hit.path` gives it, or relative to the current folder). Raises
        `DocumentNotFoundError` (a `KeyError`) if none.
        """
        searcher = self._current_searcher()
        text = str(reference)
        for doc_id in (text, *(text + suffix for suffix in documents.POST_SUFFIXES)):
            fields = searcher.document(id=doc_id)
            if fields is not None:
                return stored_document(fields)
        wanted = Path(text).expanduser()
        # Only files of the same name are resolved: a few system calls, not one per post.
        for doc_id, known in known_files(searcher.reader()).items():
            stored = Path(known["path"]) if known["path"] else None
            if stored and stored.name == wanted.name and stored.resolve() == wanted.resolve():
                return self.get(doc_id)
        raise DocumentNotFoundError(text, self.path)

    def marked_post(self, reference: str | Path, query: str | None = None) -> MarkedPost:
        """The stored post `reference` names (as `lookup` reads it) with the matches of
        `query`'s terms marked in its title and body: what `searchkit show --query` prints.
        Raises `DocumentNotFoundError`, or `QueryError` for a malformed query.

        >>> index.marked_post("2022-06-07-202206072404046437", "缩表").match_count  # doctest: +SKIP
        3
        """
        terms = parse_query(query).text_terms() if query else []
        return MarkedPost(self.lookup(reference), tuple(terms))

    def vocabulary(self) -> Vocabulary:
        """The index's words (title and body)."""
        self._current_searcher()
        return self._loaded_vocabulary()

    def _loaded_vocabulary(self) -> Vocabulary:
        """The vocabulary of the searcher already current (no second freshness check)."""
        if self._vocab is None:
            folder = self.path / self._generation
            try:  # damaged or left by a failed update: made again from the verified lexicon
                vocab = Vocabulary.load(folder) if vocabulary_intact(folder) else None
            except (OSError, ValueError):
                vocab = None
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
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
        category: str | None = None,
        tag: str | None = None,
        synonyms: bool | Synonyms = True,
        collapse: bool = True,
    ) -> SearchResults:
        """Search the index. See docs/library.md for the query syntax.

        Returns `SearchResults` (iterable of `Hit`, with `total`, the same for every page).
        Posts containing the terms (an unquoted term of several words: its words, anywhere)
        come first, then posts containing a synonym instead (`synonyms`: True for the shipped
        list plus the index's own `synonyms.txt`, False for none, or a `Synonyms`), then
        best-match hits. `exact_only` keeps only the terms as typed. `sort` is
        "relevance" or "date" (newest first, within each of those tiers). `since`/`until`
        take a date, datetime or "YYYY[-MM[-DD]]"; `until` includes its whole day (a `since`
        after `until` is a `QueryError`). With a filter, `query` may be "": every post the
        filters let through, newest first. `collapse` shows near-duplicates (the same body,
        or a notice that differs only in numbers and dates) as one row, the best-ranked, whose
        `duplicates` says how many more there are; `limit` and `offset` count rows, `total` posts.
        Raises `QueryError` for a malformed query, `ArgumentError` (a `ValueError`) for
        another `sort` or a negative `limit` or `offset`.
        """
        if sort not in ("relevance", "date"):
            raise ArgumentError(f"sort must be 'relevance' or 'date', not {sort!r}")
        if limit < 0 or offset < 0:
            raise ArgumentError("limit and offset must not be negative")
        check_date_range(since, until)
        if not query.strip() and any(v is not None for v in (since, until, category, tag)):
            sort = "date"  # no words to rank by: the newest posts the filters let through
        return searching.search(
            self,
            query,
            limit,
            offset,
            sort,
            exact_only,
            since,
            until,
            category,
            tag,
            synonyms,
            collapse,
        )

    def similar(self, doc_id: str, limit: int = 10) -> SimilarPosts:
        """The posts most like the post `doc_id`: best match on its most telling words
        (BM25 on the words that are frequent in it and rare in the index), which are the
        results' `terms`. Raises `DocumentNotFoundError` (a `KeyError`) if there is no such
        post (`lookup` finds the id of a path), `ArgumentError` for a negative `limit`."""
        if limit < 0:
            raise ArgumentError("limit must not be negative")
        return SimilarPosts.of(searching.similar(self, doc_id, limit), doc_id)

    def synonyms(self) -> Synonyms:
        """The synonyms searches use by default: the shipped list and the index's own
        `synonyms.txt` (beside CURRENT; read again when it changes)."""
        own = self.path / SYNONYMS_FILE
        try:
            stamp = own.stat().st_mtime_ns
        except OSError:
            return Synonyms.default()
        if self._own_synonyms is None or self._own_synonyms[0] != stamp:
            self._own_synonyms = (stamp, Synonyms.default().merged(Synonyms.load(own)))
        return self._own_synonyms[1]

    def _synonyms(self, synonyms: bool | Synonyms) -> Synonyms:
        if isinstance(synonyms, Synonyms):
            return synonyms
        return self.synonyms() if synonyms else Synonyms.empty()

    def searcher(self):
        """The Whoosh `Searcher` the index's reads use now, for reading it with Whoosh's own
        API (`searcher.reader().leaf_readers()`, `doc_frequency`, ...). It belongs to the
        index: do not close it; call `searcher()` again after a write to see it."""
        return self._current_searcher()

    def _current_searcher(self):
        """The shared searcher, reopened if another process committed or rebuilt.
        Raises `IndexClosedError` after `close()`."""
        if self._closed:
            raise IndexClosedError(self.path)
        stamps = self._stamps()
        if stamps is not None and stamps == self._unchanged and self._searcher is not None:
            return self._searcher
        self._unchanged = None
        generation = storage.read_pointer(self.path)
        if generation != self._generation:
            fresh = Index.open(self.path, check=False)
            self._release_searcher()
            self._release_generation()
            self._hold, fresh._hold = fresh._hold, None
            self._generation, self._meta = fresh._generation, fresh._meta
            self.analyzer, self._whoosh, self._vocab = fresh.analyzer, fresh._whoosh, None
            self._damage = fresh._damage
        if self._damage is not None:
            raise self._damage
        if self._searcher is None:
            self._searcher = self._whoosh.searcher(weighting=WEIGHTING)
        elif not self._searcher.up_to_date():
            # Another commit: its files are verified as an open's are (new ones are read).
            verify_generation(self.path, self._generation, self._meta)
            # Not `searcher.refresh()`: it fails on a searcher of an empty index (Whoosh bug).
            self._searcher.close()
            self._searcher = self._whoosh.searcher(weighting=WEIGHTING)
            self._vocab = None
        # The files are as `stamps` saw them, or newer: then the next stamps differ.
        if stamps is not None and stamps[2] == generation:
            if time.time_ns() - max(stamps[1], stamps[3]) > RACY_NS:
                self._unchanged = stamps
        return self._searcher

    def _stamps(self) -> tuple | None:
        """What `stat` says of `CURRENT` and of the live generation's folder: a commit or a
        rebuild in any process changes it (a new TOC or metadata file in the folder, a new
        `CURRENT` file renamed over the old one, so a new inode). While it is what it was at
        the last full check (a read of `CURRENT` and of the folder's TOCs, ~80 µs, 5% of a
        keyword's first run), nothing changed. None when either is missing."""
        try:
            pointer = os.stat(self.path / CURRENT)
            folder = os.stat(self.path / self._generation)
        except OSError:
            return None
        return (pointer.st_ino, pointer.st_mtime_ns, self._generation, folder.st_mtime_ns)

    # --- writing -----------------------------------------------------------------------------

    def add(self, documents: Document | Iterable[Document]) -> UpdateReport:
        """Insert one `Document` or several, replacing any with the same id.

        Returns an `UpdateReport` whose `added_ids` and `updated_ids` say which was which.
        >>> index.add(Document(id="my/1", title="标题", body="正文"))   # doctest: +SKIP
        """
        if isinstance(documents, Document):
            documents = [documents]
        started = time.monotonic()
        report = UpdateReport()
        with self._writing() as (writer, new_words):
            searcher = self._current_searcher()
            for values, words in ingest.analyze_documents(list(documents), self.analyzer):
                writer.update_document(**fit_to(values, writer.schema))
                new_words.update(words)
                known = searcher.document_number(id=values["id"]) is not None
                (report.updated_ids if known else report.added_ids).append(values["id"])
        report.seconds = time.monotonic() - started
        return report

    def delete(self, ids: str | Iterable[str]) -> int:
        """Delete one document by id (a `str` is one id) or several. Returns how many were
        deleted; an id the index does not have counts 0.
        >>> index.delete("my/1")                                     # doctest: +SKIP
        1
        """
        if isinstance(ids, str):
            ids = [ids]
        deleted = 0
        with self._writing() as (writer, _):
            for doc_id in ids:
                deleted += writer.delete_by_term("id", doc_id)
        return deleted

    def update_from(
        self, *sources: Path | str, progress: Callable[[int, int], None] | None = None
    ) -> UpdateReport:
        """Bring the index in line with posts folders (or files): add new posts, re-index
        changed ones (by content hash), delete those whose files are gone. With no source,
        the folders the index was built or updated from (`sources`).

        One report for all of them. Bad posts are skipped and listed in the report with the
        reason; they never stop the run. `progress(done, total)` is called as files are
        processed, counting the files of every source. Raises `SearchkitError` before
        anything is written if a source does not exist, or if there is none at all.
        """
        roots = [ingest.existing_source(source) for source in sources or self.sources]
        if not roots:
            raise SearchkitError(
                "the index records no posts folder; give one: `searchkit index _posts`"
            )
        listing = [(root, documents.post_files(root)) for root in roots]
        total = sum(len(files) for _, files in listing)
        report, done = UpdateReport(), 0
        for root, files in listing:
            report = report.merge(self._update_from_one(root, files, _after(progress, done, total)))
            done += len(files)
        return report

    def _update_from_one(
        self, root: Path, files: list, progress: Callable[[int, int], None] | None
    ) -> UpdateReport:
        """`update_from` one source, whose post files are listed: one commit."""
        started = time.monotonic()
        report = UpdateReport()
        with self._writing() as (writer, new_words):
            known = known_files(self._current_searcher().reader())
            report.unchanged_ids, todo = ingest.compare_with_index(files, known)
            done = len(files) - len(todo)
            for result in ingest.load_and_analyze(todo, root, self.analyzer):
                done += 1
                _record(result, writer, new_words, known, report)
                if progress:
                    progress(done, len(files))
            for doc_id in ingest.gone_from(root, files, known):
                writer.delete_by_term("id", doc_id)
                report.deleted_ids.append(doc_id)
            resolved = str(root.absolute())
            if resolved not in self._meta.setdefault("sources", []):
                self._meta["sources"].append(resolved)
            storage.write_meta(self.path / self._generation, self._meta)
        report.seconds = time.monotonic() - started
        return report

    def rebuild(
        self,
        source: Path | str | None = None,
        progress: Callable[[int, int], None] | None = None,
        userdict: str | Path | None = None,
    ) -> UpdateReport:
        """Build a fresh index beside the live one, then swap it in atomically.

        `source` defaults to the folders the index was built from. `userdict` replaces the
        index's jieba user dictionary (default: keep it). Readers keep using the old index
        until the swap; if the rebuild fails, the old index stays live and untouched.
        """
        started = time.monotonic()
        if self._closed:
            raise IndexClosedError(self.path)
        roots = [ingest.existing_source(source)] if source is not None else self.sources
        if not roots:
            raise SearchkitError("this index records no posts folder to rebuild from; give one")
        roots = [ingest.existing_source(root) for root in roots]
        text = self._meta.get("userdict") if userdict is None else read_userdict(userdict)
        analyzer = Analyzer(text)
        report = UpdateReport()
        with _write_session(self.path):
            sources = [str(root.absolute()) for root in roots]
            generation = storage.new_generation(self.path, text, sources)
            try:
                fresh = whoosh_index.open_dir(str(self.path / generation))
                writer = open_writer(fresh)
                words: set[str] = set()
                listing = [(root, documents.post_files(root)) for root in roots]
                total, done = sum(len(files) for _, files in listing), 0
                for root, files in listing:
                    todo = [(path, doc_id, None) for path, doc_id in files]
                    for result in ingest.load_and_analyze(todo, root, analyzer):
                        done += 1
                        _record(result, writer, words, {}, report)
                        if progress:
                            progress(done, total)
                Vocabulary(words).save(self.path / generation)
                writer.commit()
                storage.point_to(self.path, generation)
            except BaseException:
                shutil.rmtree(self.path / generation, ignore_errors=True)
                raise
            replaced = self._generation
            self._release_searcher()
            self._current_searcher()  # onto the new generation, letting go of the old one
            storage.remove_old_generations(self.path, generation, replaced)
            storage.remove_leftovers(self.path, generation)
        report.seconds = time.monotonic() - started
        return report

    def optimize(self) -> None:
        """Merge all the index's segments into one, as Whoosh's `optimize` does: a search
        then reads each word's postings from one place. A write like `add`: it takes the lock."""
        with self._writing() as (writer, _):
            writer.optimize = True

    def check(self, posts: bool | Iterable[Path | str] = False) -> list[IndexProblem]:
        """Verify the index on disk (see `integrity.check_index`, which also checks an index
        too damaged to open): the problems found, [] when it is healthy. `posts`: also
        compare it with its posts folders (True), or with those given: posts missing from
        the index, changed since indexing, or gone from the folder.

        >>> index.check(posts=True)                                  # doctest: +SKIP
        [IndexProblem(file='/…/_posts/2026-01-02-a.md', what='is not in the index', fix='…')]
        """
        return check_index(self.path, posts)

    def stats(self) -> IndexStats:
        """Figures about the index: size, dates, top categories and tags, analyzer."""
        searcher = self._current_searcher()
        reader = searcher.reader()
        folder = self.path / self._generation
        size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        dates = _live_dates(reader)
        return IndexStats(
            path=self.path,
            documents=searcher.doc_count(),
            size_bytes=size,
            folder_size_bytes=storage.folder_size(self.path),
            first_date=min(dates, default=None),
            last_date=max(dates, default=None),
            categories=_top_terms(reader, "categories"),
            tags=_top_terms(reader, "tags"),
            sources=self.sources,
            analyzer_version=self._meta.get("analyzer_version", ANALYZER_VERSION),
            analyzer_fingerprint=self._meta.get("analyzer", ""),
            user_dictionary_words=self.analyzer.user_word_count,
            vocabulary_size=len(self.vocabulary()),
            generation=self._generation,
        )

    def facets(self, query: str, **filters):
        """Category, tag and month counts over every post `search(query, **filters)` finds
        (`searchkit.facets.Facets`); `filters` are `search`'s since, until, category, tag,
        exact_only and synonyms. Raises `QueryError` for a malformed query."""
        from .facets import facets

        return facets(self, query, **filters)

    @contextmanager
    def _writing(self) -> Iterator[tuple]:
        """A Whoosh writer on the live generation, under the index lock; commits on success.
        Whatever fails, the live TOC and the files it names are left as they were."""
        with _write_session(self.path):
            self._current_searcher()
            # What killed writers left: a rebuild's generation, temporary files.
            storage.remove_old_generations(self.path, self._generation)
            storage.remove_leftovers(self.path, self._generation)
            folder = self.path / self._generation
            writer = open_writer(self._whoosh)
            new_words: set[str] = set()
            try:
                yield writer, new_words
                # Before the commit, so that no committed post lacks its words; after a failed
                # commit the file lists words no post has, which match nothing.
                if new_words:
                    self.vocabulary().union(new_words).save(folder)
            except BaseException:
                _abandon(writer, self._whoosh)
                raise
            try:
                writer.commit()  # may merge segments (see `codec.fold_into_largest`)
            except (OSError, SearchkitError):
                _abandon(writer, self._whoosh)
                raise
            except Exception as error:  # noqa: BLE001 - Whoosh cannot write this index
                _abandon(writer, self._whoosh)
                raise IndexDamagedError(self.path, f"{type(error).__name__}: {error}") from error
        self._vocab = None


@contextmanager
def _write_session(path: Path) -> Iterator[None]:
    """What every write to the index at `path` runs under (`Index._writing`, `rebuild`): the
    index lock, a full disk as `DiskFullError`, and no cyclic garbage collection
    (`gcpause`)."""
    with storage.lock(path), storage.disk_full_is_an_error(path), gcpause.paused():
        yield


@contextmanager
def _destroyed_if_unfinished(index: Index, created: bool) -> Iterator[None]:
    """Delete an index that was `created` for this block if the block fails."""
    try:
        yield
    except BaseException:
        if created:
            index.destroy()
        raise


def _abandon(writer, whoosh) -> None:
    """Give up a Whoosh write: close its files and release Whoosh's write lock, then delete
    the files the live TOC does not name (the half-written new segment: on a full disk it
    would keep the disk full until the next commit)."""
    with suppress(Exception):
        writer.cancel()
    if not writer.is_closed:  # cancel failed closing a file (a full disk, again)
        with suppress(Exception):
            finish_writer(writer)
    with suppress(Exception):
        toc = live_toc(whoosh)
        clean_files(whoosh.storage, whoosh.indexname, toc.generation, toc.segments)


def _record(result, writer, words: set, known: dict, report: UpdateReport) -> None:
    """Write one `ingest.load_and_analyze` result and note it in the report."""
    kind = result[0]
    if kind == "skipped":
        report.skipped.append(result[1])
    elif kind == "unchanged":
        report.unchanged_ids.append(result[1])
    else:
        _, values, doc_words, caveats = result
        writer.update_document(**fit_to(values, writer.schema))
        words.update(doc_words)
        report.warnings.extend(caveats)
        (report.updated_ids if values["id"] in known else report.added_ids).append(values["id"])


def _top_terms(reader, fieldname: str, limit: int = 10) -> list[tuple[str, int]]:
    """The most frequent terms of a keyword field, with their numbers of live documents (a
    term's document frequency also counts deleted posts until their segment is merged)."""
    if fieldname not in reader.indexed_field_names():
        return []
    counts = []
    for term, info in reader.iter_field(fieldname):
        if reader.has_deletions():
            count = sum(1 for _ in reader.postings(fieldname, term).all_ids())
        else:
            count = info.doc_frequency()
        if count:
            counts.append((term.decode("utf-8"), count))
    return sorted(counts, key=lambda item: (-item[1], item[0]))[:limit]


def _live_dates(reader) -> list[datetime]:
    """The dates (UTC) of the live dated documents, from the sortable `date` column (its
    terms would also count deleted posts)."""
    if not reader.doc_count_all() or not reader.has_column("date"):
        return []
    column, field = reader.column_reader("date", translate=False), reader.schema["date"]
    values = {column[docnum] for docnum in reader.all_doc_ids()} - {0}  # 0: undated
    return [field.from_column_value(value).replace(tzinfo=timezone.utc) for value in values]


def _after(
    progress: Callable[[int, int], None] | None, before: int, total: int
) -> Callable[[int, int], None] | None:
    """`progress` for one source of several: its files counted after the `before` files of
    the sources before it, out of the `total` of all of them."""
    if progress is None:
        return None
    return lambda done, _files: progress(before + done, total)
