"""A segment's stored fields compressed against a dictionary of its own documents
(`searchkit.stored`): round trips, the dictionary, damage found. The column inside real
segments, merged and with deletions, is checked in test_codec.py."""

from __future__ import annotations

import io
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit import stored
from searchkit.stored import (
    DICTIONARY_BYTES,
    DamagedStoredFields,
    StoredReader,
    StoredWriter,
    compress,
    decompress,
    make_dictionary,
)


def column(documents: list[dict | None]) -> bytes:
    file = io.BytesIO()
    writer = StoredWriter(file)
    for fields in documents:
        writer.add(fields)
    writer.finish()
    return file.getvalue()


def news(count: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    phrases = ["央视网消息（新闻联播）：", "习近平", "经济社会发展", "高质量发展", "记者", "。"]
    return [
        {
            "id": f"2024-01-{n:05}.md",
            "title": "".join(rng.choices(phrases, k=3)),
            "body": "".join(rng.choices(phrases, k=rng.randrange(0, 400))),
            "tags": ["新闻"] * rng.randrange(3),
        }
        for n in range(count)
    ]


fields_values = st.dictionaries(
    st.sampled_from(["id", "title", "body", "tags", "date_iso"]),
    st.one_of(st.text(), st.none(), st.lists(st.text(max_size=5), max_size=3)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), fields_values), max_size=30))
def test_every_document_reads_back_as_written(documents):
    data = b"pad" + column(documents) + b"tail"  # a column inside a larger file
    reader = StoredReader(data, 3, len(data) - 7)
    assert len(reader) == len(documents)
    assert [reader[n] or None for n in range(len(documents))] == [d or None for d in documents]
    for n, document in enumerate(documents):
        fields, body = reader.head(n)
        if body is not None:
            fields = {**fields, "body": body.text()}
        assert fields == (document or None)


def test_documents_past_the_sample_are_compressed_with_its_dictionary(monkeypatch):
    monkeypatch.setattr(stored, "SAMPLE_BYTES", 20_000)
    documents = news(300)
    reader = StoredReader(data := column(documents), 0, len(data))
    assert [reader[n] for n in range(300)] == documents
    assert 0 < len(reader._dictionary) <= DICTIONARY_BYTES


def test_the_dictionary_makes_documents_smaller_than_whoosh_alone():
    documents = news(400)
    pickles = [stored.pickle.dumps(d, stored.PICKLE_PROTOCOL) for d in documents]
    dictionary = make_dictionary(pickles[:200])
    alone = sum(len(zlib.compress(p, 3)) for p in pickles[200:])  # Whoosh's way
    assert sum(len(compress(p, dictionary)) for p in pickles[200:]) < 0.8 * alone


def test_the_dictionary_samples_pieces_spread_over_the_documents():
    documents = [bytes([65 + n * 26 // 320]) * 2000 for n in range(320)]  # A... to Z...
    dictionary = make_dictionary(documents)
    assert len(dictionary) == DICTIONARY_BYTES
    assert set(dictionary) == set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")  # from all over
    assert make_dictionary([]) == make_dictionary([b""]) == b""
    assert make_dictionary([b"x" * 100]) == b"x" * 100  # a few documents: all of them


def test_a_document_compressed_against_a_dictionary_needs_it():
    document, dictionary = "央视网消息".encode() * 5, "央视网消息".encode()
    data = compress(document, dictionary)
    assert decompress(data, dictionary) == (document, None)
    data = compress(b"fields", dictionary, document)
    assert decompress(data, dictionary) == (b"fields", document)
    with pytest.raises(zlib.error):
        decompress(data, b"")
    with pytest.raises(zlib.error):
        decompress(data, "另一个词典".encode())


def test_damage_is_found():
    data = bytearray(column(news(50)))
    with pytest.raises(DamagedStoredFields):
        StoredReader(bytes(data[:-3]), 0, len(data) - 3)  # cut short
    with pytest.raises(DamagedStoredFields):
        StoredReader(b"\0" * 4 + bytes(data), 0, len(data) + 4)  # shifted
    data[len(data) // 3] ^= 0x20  # a document's bytes
    reader = StoredReader(bytes(data), 0, len(data))
    with pytest.raises(Exception):  # noqa: B017 - zlib.error or an unpickling error
        [reader[n] for n in range(50)]


def test_a_document_s_body_is_read_only_when_wanted():
    documents = [
        {"id": "a", "title": "缩表", "body": "美联储缩表，谁来接盘？"},
        {"id": "b", "title": "空", "body": ""},
        {"body": "只有正文"},
        {"id": "c", "body": None},  # not a text: stays with the other fields
        None,
    ]
    data = bytearray(column(documents))
    reader = StoredReader(bytes(data), 0, len(data))
    fields, body = reader.head(0)
    assert fields == {"id": "a", "title": "缩表"} and body.text() == "美联储缩表，谁来接盘？"
    assert reader.head(1)[0] == {"id": "b", "title": "空"} and reader.head(1)[1].text() == ""
    assert reader.head(2)[0] == {} and reader.head(2)[1].text() == "只有正文"
    assert reader.head(3) == ({"id": "c", "body": None}, None)
    assert reader.head(4) == (None, None)
    assert [reader[n] for n in range(5)] == documents
    # The body keeps its own bytes: readable once the column's are gone (an index closed).
    del reader, data
    assert body.text() == "美联储缩表，谁来接盘？"


def test_a_damaged_body_is_found_when_read():
    text = "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(600))  # no repeats
    documents = [{"id": "a", "title": "标题", "body": text}, {"id": "b", "body": text[::-1]}]
    data = bytearray(column(documents))
    data[StoredReader(bytes(data), 0, len(data))._ends[0] - 6] ^= 0x20  # the end of a's body
    reader = StoredReader(bytes(data), 0, len(data))
    fields, body = reader.head(0)
    assert fields == {"id": "a", "title": "标题"}  # read without the body
    with pytest.raises((zlib.error, UnicodeDecodeError)):
        body.text()
    with pytest.raises((zlib.error, UnicodeDecodeError)):
        reader[0]
