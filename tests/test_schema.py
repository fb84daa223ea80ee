"""schema.py: the Whoosh schema, and what a `Document` becomes in it: the words and joins
the analyzer found, the original text stored, the date in naive UTC, and a `file` column
that lets an update tell an unchanged post without reading it."""

import json
from datetime import datetime
from pathlib import Path

import pytest
from corpus import REFERENCE_POST
from whoosh import fields

from searchkit import Document, Index
from searchkit.analysis import Analyzer
from searchkit.codec import WordPositions
from searchkit.collapse import KEY_FIELD
from searchkit.dates import CHINA_TIME
from searchkit.documents import read_post
from searchkit.schema import (
    JOINS,
    document_fields,
    document_words,
    encode_joins,
    encode_postings,
    fit_to,
    known_files,
    make_schema,
)

ANALYZER = Analyzer()


def test_the_schema_has_one_unique_id_and_the_fields_searches_read():
    schema = make_schema()
    assert schema["id"].unique
    for name in ("title", "body", *JOINS.values(), "date", "categories", "tags", KEY_FIELD):
        assert name in schema
    assert schema["categories"].stored and schema["tags"].stored


def test_postings_carry_each_words_positions_and_joins_their_counts():
    ((word, frequency, weight, encoded),) = encode_postings({"缩表": [0, 7, 9]}).items()
    assert (word, frequency, weight) == ("缩表".encode(), 3, 3.0)
    # Read back as every Whoosh path reads a posting's value: through its field's format.
    for field in ("title", "body"):
        assert make_schema()[field].format.decode_positions(encoded) == [0, 7, 9]
    assert encode_joins({"息预": 2}).items() == [("息预".encode(), 2, 2.0, b"")]
    postings = encode_postings({"缩表": [0], "a": [1, 2], "预期": [5]})
    assert postings.items() == [
        ("缩表".encode(), 1, 1.0, WordPositions().encode([0])),
        (b"a", 2, 2.0, WordPositions().encode([1, 2])),
        ("预期".encode(), 1, 1.0, WordPositions().encode([5])),
    ]
    assert postings.words() == ["缩表", "a", "预期"]
    assert encode_postings({}).items() == [] and encode_postings({}).words() == []


def test_a_documents_fields_hold_its_analysis_and_its_text_as_written():
    doc = Document(
        id="x",
        title="美联储缩表",
        body="隔夜逆回购规模创新高，降息预期升温。",
        date=datetime(2022, 6, 7, 13, 59, tzinfo=CHINA_TIME),
        categories=("Macro", "美股"),
        tags=("美联储",),
    )
    values = document_fields(doc, ANALYZER)
    title_words, title_joins = ANALYZER.postings(doc.title)
    body_words, _ = ANALYZER.postings(doc.body)
    assert document_words(values) == set(title_words) | set(body_words)
    assert values["title"].words() == list(title_words)
    assert values[JOINS["title"]] == encode_joins(title_joins)
    assert values["_stored_title"] == doc.title and values["_stored_body"] == doc.body
    assert values["date"] == datetime(2022, 6, 7, 5, 59)  # naive UTC, as Whoosh indexes it
    assert values["date_iso"] == "2022-06-07T13:59:00+08:00"  # as written, with its offset
    assert values["categories"] == "Macro,美股" and values["tags"] == "美联储"


def test_an_undated_post_without_labels_has_none_of_them():
    values = document_fields(Document(id="y", title="标题", body="正文"), ANALYZER)
    assert values["date"] is None and values["date_iso"] is None
    assert values["categories"] is None and values["tags"] is None and values["path"] is None


def test_an_older_schema_without_the_near_duplicate_key_still_takes_the_values():
    values = document_fields(Document(id="y", title="标题", body="正文"), ANALYZER)
    assert fit_to(values, make_schema()) is values
    older = fields.Schema(**{name: make_schema()[name] for name in ("id", "title", "body")})
    assert KEY_FIELD not in fit_to(values, older)


@pytest.mark.needs_corpus
def test_the_file_column_records_what_an_update_compares(tmp_path):
    post = read_post(REFERENCE_POST, root=REFERENCE_POST.parent)
    stat = REFERENCE_POST.stat()
    with Index.create(tmp_path / "index") as index:
        index.update_from(REFERENCE_POST)
        known = known_files(index.searcher().reader())
    assert known == {
        post.id: {
            "path": str(REFERENCE_POST.absolute()),
            "mtime_ns": stat.st_mtime_ns,
            "size": stat.st_size,
            "checksum": post.checksum,
        }
    }
    values = document_fields(post, ANALYZER, (stat.st_mtime_ns, stat.st_size))
    assert json.loads(values["file"])[1] == str(Path(REFERENCE_POST).absolute())


def test_an_empty_index_knows_no_files(tmp_path):
    with Index.create(tmp_path / "index") as index:
        assert known_files(index.searcher().reader()) == {}
