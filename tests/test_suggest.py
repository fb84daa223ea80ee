"""Did-you-mean on the vocabulary of a real index built from shared finance posts."""

from __future__ import annotations

import re

import pytest
from corpus import FINANCE

from searchkit import Index, load_posts
from searchkit import suggest as suggest_module
from searchkit.suggest import suggest

pytestmark = pytest.mark.needs_corpus

LATIN_WORDS = re.compile(r"spacex|kevinwarsh|openai", re.IGNORECASE)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """~30 posts: every finance post about 缩表, and some naming SpaceX, OpenAI, Kevin Warsh."""
    posts = sorted(FINANCE.glob("*.md"))
    texts = {path: path.read_text("utf-8") for path in posts}
    chosen = [path for path in posts if "缩表" in texts[path]]
    chosen += [path for path in posts if LATIN_WORDS.search(texts[path])][:20]
    index = Index.create(tmp_path_factory.mktemp("suggest") / "index")
    index.add(doc for path in dict.fromkeys(chosen) for doc in load_posts(path))
    yield index
    index.close()


@pytest.fixture(scope="module")
def vocab(index):
    return index.vocabulary()


@pytest.fixture(scope="module")
def df(index):
    searcher = index.searcher()
    return lambda word: searcher.doc_frequency("title", word) + searcher.doc_frequency("body", word)


def test_the_fixture_vocabulary_has_the_words_we_correct_to(vocab, df):
    for word in ["缩表", "美联储", "spacex", "openai", "kevinwarsh"]:
        assert word in vocab and df(word) > 0


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("缩标", "缩表"),  # one character, same sound
        ("索表", "缩表"),  # first character, same sound
        ("索标", "缩表"),  # every character wrong, same sound (suo biao)
        ("美储联", "美联储"),  # two characters swapped
        ("spacx", "spacex"),  # a letter left out
        ("opneai", "openai"),  # two letters swapped
        ("kebinwarsj", "kevinwarsh"),  # two letters wrong in a long word
    ],
)
def test_near_misses_are_corrected(vocab, df, typed, meant):
    assert suggest(typed, vocab, df)[0] == meant


def test_a_term_made_of_several_words_is_corrected_piece_by_piece(vocab, df):
    assert "美联储缩表" not in vocab
    assert suggest("美联储宿表", vocab, df) == ["美联储缩表"]
    assert suggest("美联储 缩标", vocab, df) == ["美联储 缩表"]
    assert suggest("spacx缩标", vocab, df) == ["spacex缩表"]


def test_known_terms_and_hopeless_ones_get_nothing(vocab, df):
    assert suggest("缩表", vocab, df) == []
    assert suggest("xqzvwk", vocab, df) == []
    assert suggest("qt", vocab, df) == []  # too short to correct
    assert suggest("2025", vocab, df) == []  # numbers are not corrected
    assert suggest("", vocab, df) == []


def test_only_words_some_post_contains_are_suggested(vocab, df):
    def without_suo_biao(word):
        return 0 if word == "缩表" else df(word)

    assert "缩表" not in suggest("缩标", vocab, without_suo_biao, limit=10)


def test_limit_and_order(vocab, df):
    found = suggest("缩标", vocab, df, limit=5)
    assert found[0] == "缩表" and 1 < len(found) <= 5
    assert len(set(found)) == len(found) and "缩标" not in found
    assert all(word in vocab and df(word) > 0 for word in found)
    assert suggest("缩标", vocab, df, limit=0) == []


@pytest.mark.parametrize("listed", [0, 1 << 30])  # every term scanned for; every one listed
@pytest.mark.parametrize("typed", ["索标", "缩标", "美连储", "梅联处", "一个", "货币政侧", "中"])
def test_sound_alikes_are_the_same_listed_or_scanned_for(vocab, df, monkeypatch, listed, typed):
    """`_Speller._sound_alikes` spells out the few combinations of homophones and looks each
    up, or scans the words of the term's length: both find every vocabulary word of the
    term's length whose characters each sound like the term's."""
    monkeypatch.setattr(suggest_module, "SOUND_ALIKES_LISTED", listed)
    expected = {
        word
        for word in vocab.words
        if len(word) == len(typed)
        and all(b in suggest_module._homophones(a) for a, b in zip(typed, word, strict=True))
    }
    found = suggest_module._Speller(vocab, df)._sound_alikes(typed)
    assert found == expected
    assert typed not in ("索标", "缩标") or "缩表" in found
