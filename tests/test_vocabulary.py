"""vocabulary.py: the index's words, for "every word containing / starting / ending with this
text", saved beside each generation so a new process need not read Whoosh's lexicon."""

from unittest.mock import patch

import pytest
from corpus import REFERENCE_POST
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit import Index, vocabulary
from searchkit.analysis import Analyzer
from searchkit.documents import read_post
from searchkit.vocabulary import SUFFIX_FILE, VOCAB_FILE, Vocabulary

WORDS = ["逆回购", "回购", "隔夜逆回购", "回购计划", "缩表", "mlf"]


def test_substring_prefix_and_suffix_lookups():
    vocab = Vocabulary(WORDS)
    assert sorted(vocab.containing("回购")) == ["回购", "回购计划", "逆回购", "隔夜逆回购"]
    assert vocab.starting_with("回购") == ["回购", "回购计划"]
    assert sorted(vocab.ending_with("回购")) == ["回购", "逆回购", "隔夜逆回购"]
    assert vocab.containing("降息") == []


def test_a_lookup_never_spans_two_words():
    vocab = Vocabulary(["美联", "储备"])
    assert vocab.containing("联储") == []  # "美联\n储备": the text runs across a line end


def brute_force(words: list[str], needle: str, where) -> list[str]:
    return [word for word in sorted(set(words)) if where(word, needle)]


# Few characters, so words share and repeat them (回购购, 购回购) and lookups find many words.
word_lists = st.lists(st.text(alphabet="回购逆缩表ab1", min_size=1, max_size=6), max_size=40)
needles = st.text(alphabet="回购逆缩表ab1", min_size=1, max_size=4)


@settings(max_examples=200, deadline=None)
@given(word_lists, needles)
def test_lookups_find_exactly_the_words_a_scan_finds(words, needle):
    vocab = Vocabulary(words)
    assert vocab.containing(needle) == brute_force(words, needle, str.__contains__)
    assert vocab.starting_with(needle) == brute_force(words, needle, str.startswith)
    assert vocab.ending_with(needle) == brute_force(words, needle, str.endswith)
    overlapping = sum(
        word[i:].startswith(needle) for word in sorted(set(words)) for i in range(len(word))
    )
    assert vocab.occurrences(needle) == overlapping


anchored = st.builds(
    lambda text, how: how.format(text), needles, st.sampled_from(["{}", "\n{}", "{}\n"])
)


@settings(max_examples=200, deadline=None)
@given(word_lists, st.lists(anchored, min_size=1, max_size=6), st.sampled_from([1, 2, 3, 256]))
def test_a_range_holds_exactly_the_positions_where_the_needle_starts(words, lookups, every):
    # Looked up in the order drawn: a range is remembered, and a later needle is looked for
    # inside its first pair's range when that is known (回购 before 回购计划), else inside
    # a window between samples of the array, here every `every`-th suffix.
    vocab = Vocabulary(words)
    text = vocab.text
    with patch.object(vocabulary, "SAMPLE_EVERY", every):
        for needle in lookups:
            for candidate in (needle[:2], needle):
                start, end = vocab._range(candidate)
                expected = {p for p in range(len(text)) if text.startswith(candidate, p)}
                assert set(vocab.suffixes[start:end]) == expected
                assert vocab._range(candidate) == vocab._search(candidate) == (start, end)


def test_the_suffix_array_is_saved_and_a_missing_or_damaged_one_is_rebuilt(tmp_path):
    Vocabulary(WORDS).save(tmp_path)
    assert (tmp_path / SUFFIX_FILE).is_file()
    expected = Vocabulary(WORDS).containing("回购")
    saved = (tmp_path / SUFFIX_FILE).read_bytes()
    damaged = bytearray(saved)
    damaged[-3] ^= 0xFF  # a position pointing elsewhere: wrong words if it were believed
    for content in (bytes(damaged), saved[:-4], b"", None):
        if content is None:
            (tmp_path / SUFFIX_FILE).unlink()
        else:
            (tmp_path / SUFFIX_FILE).write_bytes(content)
        assert Vocabulary.load(tmp_path).containing("回购") == expected
    # An array saved for another vocabulary (vocab.txt replaced, vocab.sa not) is not used.
    Vocabulary(WORDS).save(tmp_path)
    (tmp_path / "other").mkdir()
    Vocabulary(["回购", "缩表"]).save(tmp_path / "other")
    (tmp_path / VOCAB_FILE).write_bytes((tmp_path / "other" / VOCAB_FILE).read_bytes())
    assert Vocabulary.load(tmp_path).containing("回购") == ["回购"]


def test_it_is_a_set_of_words():
    vocab = Vocabulary([*WORDS, "缩表", "", "两\n行"])  # blanks and newlines cannot be words
    assert len(vocab) == len(WORDS)
    assert "缩表" in vocab and "" not in vocab
    assert "缩表" in vocab.words and sorted(vocab.words) == sorted(WORDS)
    assert list(vocab) == sorted(WORDS)
    assert vocab.max_length == 5
    assert vocab.text.startswith("\n") and vocab.text.endswith("\n")


def test_union_is_a_new_vocabulary():
    vocab = Vocabulary(["缩表"])
    both = vocab.union(["加息"])
    assert list(both) == ["加息", "缩表"] and list(vocab) == ["缩表"]


def test_saved_and_loaded_it_answers_the_same(tmp_path):
    Vocabulary(WORDS).save(tmp_path)
    loaded = Vocabulary.load(tmp_path)
    assert list(loaded) == sorted(WORDS) and loaded.max_length == 5
    assert sorted(loaded.containing("回购")) == sorted(Vocabulary(WORDS).containing("回购"))
    assert Vocabulary.load(tmp_path / "elsewhere") is None


@pytest.mark.needs_corpus
def test_the_index_keeps_every_word_of_its_posts(tmp_path):
    post = read_post(REFERENCE_POST)
    words = set()
    for text in (post.title, post.body):
        words |= set(Analyzer().postings(text)[0])
    with Index.create(tmp_path / "index") as index:
        index.update_from(REFERENCE_POST)
        saved = Vocabulary.load(index.path / index.generation)
        assert (index.path / index.generation / VOCAB_FILE).is_file()
        assert words <= set(saved) and set(index.vocabulary()) == set(saved)
        assert "缩表" in saved and "隔夜逆回购" in saved.containing("逆回购")
