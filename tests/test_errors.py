"""errors.py: one tree under `SearchkitError`, every class exported from `searchkit`, one-line
messages that say what to do, and the Python base a caller would reach for (`KeyError` for an
unknown post, `ValueError` for a bad argument)."""

import inspect
from pathlib import Path

import pytest
from conftest import HANDMADE

import searchkit
from searchkit import errors
from searchkit.synonyms import SynonymError as SynonymErrorOfSynonyms

ERRORS = [
    cls
    for name, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.SearchkitError) and not name.startswith("_")
]
INDEX_ERRORS = [
    errors.IndexNotFoundError,
    errors.IndexExistsError,
    errors.IncompatibleIndexError,
    errors.IndexLockedError,
    errors.IndexDamagedError,
    errors.IndexClosedError,
    errors.DiskFullError,
]


def test_every_error_is_a_searchkit_error_exported_from_the_package():
    assert len(ERRORS) >= 12
    for cls in ERRORS:
        assert getattr(searchkit, cls.__name__) is cls
        assert cls.__name__ in searchkit.__all__


@pytest.mark.parametrize("cls", INDEX_ERRORS, ids=lambda cls: cls.__name__)
def test_an_index_error_is_one_line_that_names_the_index(cls):
    error = cls("news/index", "a reason")
    assert error.path == Path("news/index")
    assert "news/index" in str(error) and "\n" not in str(error)


def test_errors_that_need_a_rebuild_say_the_command():
    for cls in (errors.IncompatibleIndexError, errors.IndexDamagedError):
        error = cls(Path("idx"), "built by another analyzer")
        assert "built by another analyzer" in str(error) and error.why
        assert "`searchkit rebuild --index idx`" in str(error)
    assert "`searchkit index POSTS_FOLDER --index idx`" in str(errors.IndexNotFoundError("idx"))


def test_an_unknown_post_is_a_document_not_found_error_and_a_key_error(handmade_index):
    for call in (
        lambda: handmade_index.get("nope"),
        lambda: handmade_index.lookup("nope.md"),
        lambda: handmade_index.similar("nope"),
        lambda: handmade_index.marked_post("nope", "缩表"),
    ):
        with pytest.raises(searchkit.DocumentNotFoundError) as caught:
            call()
        assert caught.value.path == handmade_index.path
        assert isinstance(caught.value, KeyError)  # what these raised before
    message = str(caught.value)
    assert message.startswith("no post with id 'nope' in the index at ")  # not KeyError's repr
    assert caught.value.doc_id == "nope"


def test_a_bad_argument_is_a_value_error_not_a_query_error(handmade_index):
    for arguments in ({"sort": "newest"}, {"limit": -1}, {"offset": -5}):
        with pytest.raises(searchkit.ArgumentError) as caught:
            handmade_index.search("缩表", **arguments)
        assert isinstance(caught.value, ValueError)
        assert not isinstance(caught.value, searchkit.QueryError)
    with pytest.raises(ValueError):
        handmade_index.similar(HANDMADE[0].id, limit=-1)


def test_a_query_that_cannot_be_understood_is_a_query_error(handmade_index):
    for query in ("缩表 OR", "-缩表 OR 降准", "x" * 2001):
        with pytest.raises(searchkit.QueryError):
            handmade_index.search(query)
    with pytest.raises(searchkit.QueryError, match="since 2023 is after until 2022"):
        handmade_index.search("缩表", since="2023", until="2022")


def test_synonym_error_has_one_class_whichever_module_it_is_imported_from(tmp_path):
    assert SynonymErrorOfSynonyms is errors.SynonymError is searchkit.SynonymError
    bad = tmp_path / "synonyms.txt"
    bad.write_text("加息 升息\n", "utf-8")  # a space does not separate terms
    with pytest.raises(searchkit.SearchkitError, match="synonyms.txt, line 1"):
        searchkit.Synonyms.load(bad)
