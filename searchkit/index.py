"""`Index`: create, open, add, delete, update from a posts folder, rebuild atomically, search.

The folder layout (live-generation pointer, generations, lock) is in `storage.py`.
Incremental writes (`add`, `delete`, `update_from`) commit into the live generation with
Whoosh's own atomic commit. `rebuild` builds a whole new generation beside the live one and
then flips `CURRENT`, so a reader sees the old index or the new one, never half of one, and
a crash mid-rebuild leaves the old one in place.
"""

from __future__ import annotations

import heapq
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from whoosh import collectors, scoring
from whoosh import index as whoosh_index
from whoosh.query import AndNot, Term
from whoosh.searching import Results

from . import documents, ingest, storage
from . import query as query_module
from .analysis import ANALYZER_VERSION, Analyzer, read_userdict
from .codec import open_writer
from .documents import Document, LoadProblem
from .errors import (
    IncompatibleIndexError,
    IndexDamagedError,
    IndexExistsError,
    IndexNotFoundError,
    SearchkitError,
)
from .results import Hit, SearchResults
from .schema import known_files
from .scoring import K1, B, scored_documents
from .storage import CURRENT, FORMAT_VERSION
from .suggest import suggest
from .synonyms import Synonyms
from .vocabulary import Vocabulary

WEIGHTING = scoring.BM25F(B=B, K1=K1)

SUGGESTIONS = 6  # corrections tried, best first, until one finds something
SUGGEST_SHORT_TERM = 6
SUGGEST_MAX_TERMS = 4
SUGGEST_MAX_LENGTH = 20  # longer terms are pasted text, not typed words: no did-you-mean
SYNONYMS_FILE = "synonyms.txt"  # the index's own synonym groups, beside CURRENT


@dataclass(frozen=True)
class IndexStats:
    """What `Index.stats()` reports. Dates are in UTC, or None for an index without dates."""

    path: Path
    documents: int
    size_bytes: int
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

    def merge(self, other: UpdateReport) -> UpdateReport:
        """The two reports added together (e.g. updates from several folders)."""
        return UpdateReport(
            self.added + other.added,
            self.updated + other.updated,
            self.deleted + other.deleted,
            self.unchanged + other.unchanged,
            self.skipped + other.skipped,
            self.warnings + other.warnings,
            self.seconds + other.seconds,
        )


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
        self._own_synonyms: tuple[int, Synonyms] | None = None

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
        with storage.lock(path):
            if (path / CURRENT).exists():  # another process created it since the check above
                raise IndexExistsError(path)
            generation = storage.new_generation(path, text, sources=[])
            storage.point_to(path, generation)
        return cls.open(path)

    @classmethod
    def open(cls, path: Path | str, check: bool = True) -> Index:
        """Open the index at `path`. Raises `IndexNotFoundError` or `IncompatibleIndexError`.

        `check=False` skips the analyzer check, to open an incompatible index only to
        `rebuild` it (searching it could miss posts).
        """
        path = Path(path)
        generation, meta = storage.read_current(path)
        if check and meta.get("format") != FORMAT_VERSION:
            raise IncompatibleIndexError(
                path, f"index format {meta.get('format')!r}, expected {FORMAT_VERSION}"
            )
        if check and meta.get("analyzer") != Analyzer(meta.get("userdict")).fingerprint:
            raise IncompatibleIndexError(
                path, "it was built with a different analyzer or dictionary"
            )
        try:
            return cls(path, generation, meta)
        except (
            OSError,
            EOFError,
            AttributeError,
            ImportError,
            ValueError,
            whoosh_index.EmptyIndexError,
        ) as error:
            if storage.read_pointer(path) != generation:
                # Two rebuilds since CURRENT was read: the second removed this generation.
                return cls.open(path, check)
            raise IncompatibleIndexError(path, f"Whoosh cannot read it: {error}") from error

    @classmethod
    def open_or_create(cls, path: Path | str, userdict: str | Path | None = None) -> Index:
        """Open the index at `path`, creating an empty one if there is none."""
        try:
            return cls.open(path)
        except IndexNotFoundError:
            try:
                return cls.create(path, userdict)
            except IndexExistsError:  # created by another process meanwhile
                return cls.open(path)

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
    def sources(self) -> list[Path]:
        """The posts folders (or files) this index was built or updated from."""
        return [Path(p) for p in self.meta.get("sources") or []]

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
        return self._loaded_vocabulary()

    def _loaded_vocabulary(self) -> Vocabulary:
        """The vocabulary of the searcher already current (no second freshness check)."""
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
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
        category: str | None = None,
        tag: str | None = None,
        synonyms: bool | Synonyms = True,
    ) -> SearchResults:
        """Search the index. See docs/library.md for the query syntax.

        Returns `SearchResults` (iterable of `Hit`, with `total`). Posts containing the terms
        come first, then posts containing a synonym instead (`synonyms`: True for the shipped
        list plus the index's own `synonyms.txt`, False for none, or a `Synonyms`), then, for
        a natural-language query, best-match hits. `exact_only` keeps only the first tier. `sort` is
        "relevance" or "date" (newest first, within each of those tiers). `since`/`until`
        take a date, datetime or "YYYY[-MM[-DD]]"; `until` includes its whole day.
        Raises `QueryError` for a malformed query.
        """
        if sort not in ("relevance", "date"):
            raise query_module.QueryError(f"sort must be 'relevance' or 'date', not {sort!r}")
        if limit < 0 or offset < 0:
            raise query_module.QueryError("limit and offset must not be negative")
        parsed = query_module.parse(query)
        searcher = self._current_searcher()
        vocab = self._loaded_vocabulary()
        synonyms = Synonyms.empty() if exact_only else self._synonyms(synonyms)
        plan = query_module.build(parsed, vocab, self.analyzer, exact_only, synonyms)
        filters = _filters(since, until, category, tag)
        wanted = offset + limit
        tiers = [
            ("exact", plan.exact, plan.terms, True),
            ("synonym", plan.synonym, plan.terms + plan.synonym_terms, True),
            ("relaxed", plan.relaxed, plan.relaxed_terms + plan.terms, False),
        ]
        picked, totals, seen = [], {}, set()
        for kind, tier_query, terms, always in tiers:
            found = sum(totals.values())
            if tier_query is None or (not always and found >= wanted):
                continue
            hits = _collect(searcher, tier_query, max(wanted - found, 1), filters, seen, sort)
            totals[kind] = len(hits)
            seen |= hits.docs()
            start = max(0, offset - found)
            picked += [(hit, kind, terms) for hit in hits[start : max(wanted - found, 0)]]
        total, synonym_total = sum(totals.values()), totals.get("synonym", 0)
        return SearchResults(
            query,
            total,
            totals["exact"],
            [self._hit(hit, kind, terms) for hit, kind, terms in picked[:limit]],
            tuple(plan.terms),
            synonym_total,
            self._suggestion(parsed, vocab, searcher)
            if self._wants_suggestion(parsed, total, totals["exact"] + synonym_total)
            else None,
        )

    def similar(self, doc_id: str, limit: int = 10) -> SearchResults:
        """The posts most like the post `doc_id`: best match on its most telling words
        (BM25 on the words that are frequent in it and rare in the index).
        Raises `KeyError` if there is no such post."""
        doc = self.get(doc_id)
        searcher = self._current_searcher()
        words = query_module.key_words(doc.title, doc.body, self.analyzer, searcher)
        if not words:
            return SearchResults(f"similar:{doc_id}", 0, 0)
        similar_query = AndNot(query_module.weighted_words(words), Term("id", doc_id))
        hits = _collect(searcher, similar_query, limit, None, None, "relevance")
        terms = list(words)[: query_module.HIGHLIGHTED_KEY_WORDS]
        return SearchResults(
            f"similar:{doc_id}",
            len(hits),
            0,
            [self._hit(hit, "relaxed", terms) for hit in hits[:limit]],
            tuple(terms),
        )

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

    @staticmethod
    def _wants_suggestion(parsed, total: int, literal_total: int) -> bool:
        """Did you mean ...? when nothing was found, or only best-match hits for a few short
        terms (美联储宿表), not for every question (whose words are rarely misspelt)."""
        if len(parsed.text_terms()) > SUGGEST_MAX_TERMS:
            return False  # a pasted paragraph: its suggestions cost seconds and help nobody
        if not total:
            return True
        short = all(len(term) <= SUGGEST_SHORT_TERM for term in parsed.text_terms())
        return not literal_total and short and not parsed.question and len(parsed.groups) <= 2

    def _suggestion(self, parsed, vocab: Vocabulary, searcher) -> str | None:
        """A corrected query (did you mean ...?) that finds something, or None."""

        def doc_frequency(word: str) -> int:
            return searcher.doc_frequency("title", word) + searcher.doc_frequency("body", word)

        terms = [term for term in parsed.text_terms() if len(term) <= SUGGEST_MAX_LENGTH]
        choices = {term: suggest(term, vocab, doc_frequency, SUGGESTIONS) for term in terms}
        for rank in range(SUGGESTIONS):  # each term's best correction first, then the next
            corrections = {t: found[rank] for t, found in choices.items() if len(found) > rank}
            if not corrections:
                return None
            corrected = query_module.unparse(parsed, corrections)
            try:
                plan = query_module.build(query_module.parse(corrected), vocab, None, True)
            except query_module.QueryError:
                continue
            if len(_collect(searcher, plan.exact, 1, None, None, "relevance")):
                return corrected
        return None

    def _hit(self, hit, match: str, terms: list[str]) -> Hit:
        doc = _stored_document(hit.fields())
        return Hit(
            doc.id,
            doc.path,
            doc.url,
            doc.title,
            doc.date,
            doc.categories,
            doc.tags,
            float(hit.score or 0.0),
            match,
            doc.body,
            tuple(terms),
        )

    def _current_searcher(self):
        """The shared searcher, reopened if another process committed or rebuilt."""
        generation = storage.read_pointer(self.path)
        if generation != self._generation:
            fresh = Index.open(self.path, check=False)
            self.close()
            self._generation, self.meta = fresh._generation, fresh.meta
            self.analyzer, self._whoosh, self._vocab = fresh.analyzer, fresh._whoosh, None
        if self._searcher is None:
            self._searcher = self._whoosh.searcher(weighting=WEIGHTING)
        elif not self._searcher.up_to_date():
            # Not `searcher.refresh()`: it fails on a searcher of an empty index (Whoosh bug).
            self._searcher.close()
            self._searcher = self._whoosh.searcher(weighting=WEIGHTING)
            self._vocab = None
        return self._searcher

    # --- writing -----------------------------------------------------------------------------

    def add(self, documents: Iterable[Document]) -> UpdateReport:
        """Insert documents, replacing any with the same id. Returns the report."""
        started = time.monotonic()
        report = UpdateReport()
        with self._writing() as (writer, new_words):
            searcher = self._current_searcher()
            for values, words in ingest.analyze_documents(list(documents), self.analyzer):
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
            known = known_files(self._current_searcher().reader())
            files = documents.post_files(root)
            seen = set()
            todo = []
            for path, doc_id in files:
                seen.add(doc_id)
                try:
                    stat = path.stat()
                except OSError:
                    stat = None  # gone or unreadable: reading it will report why
                old = known.get(doc_id)
                if old and stat and (old["mtime_ns"], old["size"]) == ingest.file_signature(stat):
                    report.unchanged += 1
                else:
                    todo.append((path, doc_id, old["checksum"] if old else None))
            done = len(files) - len(todo)
            for result in ingest.load_and_analyze(todo, root, self.analyzer):
                done += 1
                _record(result, writer, new_words, known, report)
                if progress:
                    progress(done, len(files))
            for doc_id, old in known.items():
                if doc_id not in seen and _inside(old["path"], root):
                    writer.delete_by_term("id", doc_id)
                    report.deleted.append(doc_id)
            resolved = str(root.absolute())
            if resolved not in self.meta.setdefault("sources", []):
                self.meta["sources"].append(resolved)
            storage.write_meta(self.path / self._generation, self.meta)
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
        roots = [_existing_source(source)] if source is not None else self.sources
        if not roots:
            raise SearchkitError("this index records no posts folder to rebuild from; give one")
        roots = [_existing_source(root) for root in roots]
        text = self.meta.get("userdict") if userdict is None else read_userdict(userdict)
        analyzer = Analyzer(text)
        report = UpdateReport()
        with storage.lock(self.path):
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
            storage.remove_old_generations(self.path, keep={generation, self._generation})
        self.close()
        self._current_searcher()
        report.seconds = time.monotonic() - started
        return report

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
            first_date=min(dates, default=None),
            last_date=max(dates, default=None),
            categories=_top_terms(reader, "categories"),
            tags=_top_terms(reader, "tags"),
            sources=self.sources,
            analyzer_version=self.meta.get("analyzer_version", ANALYZER_VERSION),
            analyzer_fingerprint=self.meta.get("analyzer", ""),
            user_dictionary_words=len((self.meta.get("userdict") or "").split()),
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
        """A Whoosh writer on the live generation, under the index lock; commits on success."""
        with storage.lock(self.path):
            self._current_searcher()
            folder = self.path / self._generation
            writer = open_writer(self._whoosh)
            new_words: set[str] = set()
            try:
                yield writer, new_words
            except BaseException:
                writer.cancel()
                raise
            if new_words:
                self.vocabulary().union(new_words).save(folder)
            try:
                writer.commit()  # may merge segments (Whoosh's MERGE_SMALL)
            except (OSError, SearchkitError):
                raise
            except Exception as error:  # noqa: BLE001 - Whoosh cannot write this index
                with suppress(Exception):
                    writer.cancel()  # releases Whoosh's write lock; the old TOC stays live
                raise IndexDamagedError(self.path, f"{type(error).__name__}: {error}") from error
        self._vocab = None


def _record(result, writer, words: set, known: dict, report: UpdateReport) -> None:
    """Write one `ingest.load_and_analyze` result and note it in the report."""
    kind = result[0]
    if kind == "skipped":
        report.skipped.append(result[1])
    elif kind == "unchanged":
        report.unchanged += 1
    else:
        _, values, doc_words, caveats = result
        writer.update_document(**values)
        words.update(doc_words)
        report.warnings.extend(caveats)
        (report.updated if values["id"] in known else report.added).append(values["id"])


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


class _TopCollector(collectors.TopCollector):
    """Whoosh's top-N collector, also keeping the set of every matching document: without it
    `Results.docs()` runs the whole query a second time."""

    def _collect(self, global_docnum, score):
        self.docset.add(global_docnum)
        return super()._collect(global_docnum, score)

    def results(self):
        results = super().results()
        results.docset = self.docset
        return results


def _collect(searcher, whoosh_query, limit: int, filters, mask, sort: str):
    """Run a query; exact `len()` and `docs()` of the results whatever the limit.

    Whoosh's top-N collector prunes sub-matchers whose best possible score cannot reach the
    top N ("replace"), and then under-counts the total: searchkit turns that off.
    """
    limit = max(limit, 1)
    if sort == "relevance" and filters is None:
        return _top(searcher, whoosh_query, limit, mask)
    if sort == "date":
        collector = collectors.SortingCollector("date", limit=limit, reverse=True)
    else:
        collector = _TopCollector(limit, usequality=False, replace=0)
    if filters is not None or mask:
        collector = collectors.FilterCollector(collector, filters, mask)
    searcher.search_with_collector(whoosh_query, collector)
    return collector.results()


def _top(searcher, whoosh_query, limit: int, mask) -> Results:
    """What `_TopCollector` finds (the best `limit` matches, ties to the lower document
    number, and the set of all matches), without Whoosh's collector loop: a few µs a match,
    ~10% of a question's time on 19,803 documents once matchers hand over their scores."""
    started = time.monotonic()
    context = searcher.context()
    matches: list[tuple[float, int]] = []
    for subsearcher, offset in searcher.leaf_searchers():
        matcher = whoosh_query.matcher(subsearcher, context)
        matches += [(score, doc + offset) for doc, score in scored_documents(matcher)]
    if mask:
        matches = [match for match in matches if match[1] not in mask]
    top = heapq.nlargest(limit, matches, key=lambda match: (match[0], -match[1]))
    results = Results(searcher, whoosh_query, top, docset={doc for _, doc in matches})
    results._total = len(matches)
    results.runtime = time.monotonic() - started
    return results


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


# --- paths ---------------------------------------------------------------------------------


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
