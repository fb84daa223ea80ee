"""The Whoosh schema, and turning an analyzed `Document` into the values Whoosh indexes."""

from __future__ import annotations

import json
from pathlib import Path

from whoosh import columns, fields, formats

from .analysis import Analyzer
from .codec import (
    Codec,  # noqa: F401  (older indexes' segments pickle it under this name)
    JoinTableField,
    PackedPostings,
    WordPositions,
)
from .collapse import KEY_FIELD, duplicate_key
from .dates import to_index_time
from .documents import Document

TITLE, BODY = "title", "body"
# Each text field's joins (see `Analyzer.postings`) live in a field of their own.
JOINS = {TITLE: "title_joins", BODY: "body_joins"}


class WordField(fields.FieldType):
    """A positional word field whose value arrives already analyzed.

    Whoosh normally runs an analyzer per field and builds `Token` objects one by one; here
    the analysis (normalization + jieba) runs in worker processes and `index()` receives
    the finished postings, `PackedPostings` of the words and their encoded positions.
    The stored value is the original text (passed as `_stored_<field>`).
    """

    def __init__(self, stored: bool = True):
        super().__init__(WordPositions(), analyzer=None, scorable=True, stored=stored)

    def index(self, value, **kwargs):
        return value

    def to_bytes(self, value):
        return value.encode("utf-8") if isinstance(value, str) else value

    def from_bytes(self, bs):
        return bs.decode("utf-8")


class JoinField(JoinTableField):
    """A field of pre-analyzed joins with their counts only: no positions, no stored value,
    no field length, kept in each segment's join table. It finds documents; the query stage
    checks them (`matching.py`). `index()` receives `PackedPostings` of the joins and
    their counts."""

    def __init__(self):
        super().__init__(formats.Frequency(), analyzer=None, scorable=False, stored=False)

    def index(self, value, **kwargs):
        return value


def make_schema() -> fields.Schema:
    """The schema of a searchkit index."""
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        path=fields.STORED(),
        url=fields.STORED(),
        title=WordField(),
        body=WordField(),
        title_joins=JoinField(),
        body_joins=JoinField(),
        # Naive UTC (Whoosh cannot index aware datetimes); undated posts sort as the oldest.
        date=fields.DATETIME(sortable=columns.NumericColumn("q", default=0)),
        date_iso=fields.STORED(),  # the date as written, with its UTC offset
        categories=fields.KEYWORD(stored=True, commas=True, lowercase=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True),
        checksum=fields.STORED(),
        # What `Index.update_from` compares with the posts folder, in a column of its own:
        # reading stored fields would unpickle every post's text.
        file=fields.COLUMN(columns.VarBytesColumn()),
        # The near-duplicate key (`collapse.py`), read for every match of a search.
        **{KEY_FIELD: fields.COLUMN(columns.VarBytesColumn())},
    )


_POSITIONS = WordPositions()


def encode_postings(positions: dict[str, list[int]]) -> PackedPostings:
    """The postings of a {word: [positions]} map."""
    return PackedPostings.of(
        [word.encode("utf-8") for word in positions],
        list(map(len, positions.values())),
        list(map(_POSITIONS.encode, positions.values())),
    )


def encode_joins(joins: dict[str, int]) -> PackedPostings:
    """The postings of a {join: count} map (the count is the posting's weight)."""
    return PackedPostings.of([join.encode("utf-8") for join in joins], list(joins.values()))


def document_fields(doc: Document, analyzer: Analyzer, stat: tuple[int, int] | None = None) -> dict:
    """The keyword arguments for `writer.update_document` (`document_words` are its words).

    What an analysis worker sends the writing process: strings, and bytes objects for the
    postings (`PackedPostings`), cheap to pickle and unpickle."""
    path = str(Path(doc.path).absolute()) if doc.path else None
    title_positions, title_joins = analyzer.postings(doc.title)
    body_positions, body_joins = analyzer.postings(doc.body)
    values = {
        "id": doc.id,
        "path": path,
        "url": doc.url,
        "title": encode_postings(title_positions),
        "_stored_title": doc.title,
        "body": encode_postings(body_positions),
        "_stored_body": doc.body,
        JOINS[TITLE]: encode_joins(title_joins),
        JOINS[BODY]: encode_joins(body_joins),
        "date": to_index_time(doc.date) if doc.date else None,
        "date_iso": doc.date.isoformat() if doc.date else None,
        "categories": ",".join(doc.categories) or None,
        "_stored_categories": list(doc.categories),
        "tags": ",".join(doc.tags) or None,
        "_stored_tags": list(doc.tags),
        "checksum": doc.checksum,
        "file": json.dumps([doc.id, path, *(stat or (None, None)), doc.checksum]).encode(),
        KEY_FIELD: duplicate_key(doc.title, doc.body),
    }
    return values


def document_words(values: dict) -> set[str]:
    """The words of a document's title and body, from its `document_fields`."""
    return {*values[TITLE].words(), *values[BODY].words()}


def fit_to(values: dict, schema: fields.Schema) -> dict:
    """`values` without the near-duplicate key when `schema` is an older index's, which has
    no column for it (Whoosh rejects an unknown field): such an index keeps working and is
    not collapsed until it is rebuilt."""
    if KEY_FIELD in schema:
        return values
    return {name: value for name, value in values.items() if name != KEY_FIELD}


def known_files(reader) -> dict[str, dict]:
    """{id: {"path", "mtime_ns", "size", "checksum"}} of every document, from the `file`
    column."""
    if not reader.doc_count_all():
        return {}
    column = reader.column_reader("file")
    known = {}
    for docnum in reader.all_doc_ids():
        doc_id, path, mtime_ns, size, checksum = json.loads(column[docnum])
        known[doc_id] = {"path": path, "mtime_ns": mtime_ns, "size": size, "checksum": checksum}
    return known
