"""`normalize` folds character by character (NFKC, casefold, then OpenCC `t2s` of each
character alone) however `_fold` gets there.

`_fold` skips the characters its regex says fold to themselves and replaces each other
character everywhere at once; both shortcuts rest on facts about Unicode and OpenCC's
table that the first tests check for every code point of this Python's Unicode version.
"""

import functools
import itertools
import json
import unicodedata

import opencc
import pytest
from corpus import FINANCE, FINEWS, SHARED
from hypothesis import given, settings
from hypothesis import strategies as st
from simplified_table import opencc_simplified

from searchkit.analysis import (
    _FOLD_STEPS,
    _SIMPLIFIED,
    _TRADITIONAL_STEPS,
    _UNCHANGED,
    _fold,
    normalize,
    normalize_with_offsets,
)

_T2S = opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=1 << 16)
def _simplified_char(char: str) -> str:
    """`char` converted by OpenCC alone, again until it stays (薴 -> 苧 -> 苎); a character it
    would make two of stays as it is."""
    if unicodedata.category(char) == "Cs":
        return char  # OpenCC cannot encode a lone surrogate (nor has one in its table)
    converted = _T2S.convert(char)
    if len(converted) != 1 or converted == char:
        return char
    return _simplified_char(converted)


def _char_fold(char: str) -> str:
    # Not the module's `_FOLD`, which would keep an entry for all 1.1M code points.
    return "".join(map(_simplified_char, unicodedata.normalize("NFKC", char).casefold()))


def _reference(text: str) -> tuple[str, list[int] | None]:
    """The fold as it is defined, and the original index of each folded character (None
    when every character folds to one), as `normalize_with_offsets` gives them."""
    folds = [_char_fold(char) for char in text]
    if all(len(folded) == 1 for folded in folds):
        return "".join(folds), None
    offsets = [i for i, folded in enumerate(folds) for _ in folded]
    return "".join(folds), offsets + [len(text)]


def test_the_table_is_opencc_t2s_of_each_character_alone():
    """A different OpenCC makes a different table: remake it (tests/simplified_table.py)."""
    table = opencc_simplified()
    assert {ord(char): simplified for char, simplified in table.items()} == _SIMPLIFIED
    assert len(_SIMPLIFIED) > 5_000
    assert all(_simplified_char(char) == simplified for char, simplified in table.items())


def test_every_character_the_regex_skips_folds_to_itself():
    skipped = [chr(cp) for cp in range(0x110000) if _UNCHANGED(chr(cp)).end() == 1]
    # The Han ideographs of the BMP, but the traditional ones, are ~24,000; Hangul 11,172.
    assert len(skipped) > 35_000
    assert [char for char in skipped if _char_fold(char) != char] == []


def test_a_character_normalizes_alike_whatever_its_neighbours():
    # OpenCC converting whole texts made 批覆 批复, 坏土 坯土, and kept 乾 in 乾隆 only.
    assert normalize("一批覆盖产业") == "一批覆盖产业"
    assert normalize("一批覆蓋產業") == "一批覆盖产业"
    assert normalize("目的是破坏土耳其") == "目的是破坏土耳其"
    assert normalize("乾隆 乾燥") == "干隆 干燥"
    assert normalize("縮表 ＭＬＦ") == "缩表 mlf"
    assert normalize("薴苧苎") == "苎苎苎"  # and normalizing twice changes nothing


def test_no_fold_holds_a_character_that_folds_again():
    """What makes replacing a character everywhere at once right: an earlier replacement
    never puts in a character that a later one would change (or remove)."""
    folds_again = []
    for cp in range(0x110000):
        folded = _char_fold(chr(cp))
        if not folded or any(_char_fold(char) != char for char in folded):
            folds_again.append(hex(cp))
    assert folds_again == []


_INTERESTING = st.sampled_from(
    "，（）：；？！％　ＡＢＣＧＤＰａ０１ＡIGDPΣσςﬁ…℃①Ⅱ㍻㎡µßİ"
    "縮覆蓋批坏壞土乾隆薴苧苎㑮𫝈豈車\U0002f800\U00020000\ud800"
    "\u0301\u0308\u3099\u309a\uff9e\uff9f\u1100\u1161\u11a8\u00a8\u00af"
)
_TEXT = st.text(
    alphabet=st.one_of(
        _INTERESTING,
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0xFF01, max_codepoint=0xFFEE),
        st.characters(min_codepoint=0x2000, max_codepoint=0x33FF),
        st.characters(),
    ),
    max_size=80,
)


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_fold_is_the_character_by_character_fold(text):
    # After _FOLD_STEPS - 2 distinct full-width characters, the third stop in `text` (at a
    # character outside _UNCHANGED) hands what is left, partly replaced, to str.translate.
    letters = "".join(chr(cp) for cp in range(0xFF21, 0xFF21 + _FOLD_STEPS - 2))
    # And after _TRADITIONAL_STEPS traditional characters, the next one in `text` does.
    traditional = "縮蓋壞產業"[:_TRADITIONAL_STEPS]
    for sample in (text, letters + text, traditional + text):
        folded, offsets = _reference(sample)
        assert normalize(sample) == _fold(sample)[0] == folded
        assert normalize_with_offsets(sample) == (folded, offsets)


def test_a_text_of_many_distinct_characters_to_fold_is_translated():
    text = "".join(chr(cp) for cp in range(0xFF21, 0xFF21 + 2 * _FOLD_STEPS)) + "…缩表"
    folded, replaced = _fold(text)
    assert replaced is None
    assert folded == _reference(text)[0]
    assert normalize_with_offsets(text)[1] == _reference(text)[1]


def test_characters_folded_to_ones_outside_the_regex_are_not_folded_twice():
    text = "µ缩表µ℃ﬁ，ﬁ" * 3  # µ folds to μ and ﬁ to fi; μ is outside the regex
    folded, replaced = _fold(text)
    assert folded == _reference(text)[0]
    assert sorted(replaced) == sorted("µ℃ﬁ，")
    assert normalize_with_offsets(text)[1] == _reference(text)[1]


@pytest.mark.needs_corpus
def test_posts_fold_as_character_by_character():
    posts = sorted(FINEWS.glob("*.md")) + sorted(FINANCE.glob("*.md"))[:300]
    assert posts
    texts = [(post.name, post.read_text("utf-8")) for post in posts]
    # Traditional Chinese: a stop at each distinct traditional character, and str.translate
    # for the rest of a passage after 32 of them.
    with (SHARED / "drcd" / "corpus.jsonl").open(encoding="utf-8") as passages:
        for line in itertools.islice(passages, 200):
            passage = json.loads(line)
            texts.append((passage["id"], passage["body"]))
    for name, text in texts:
        folded, offsets = _reference(text)
        assert _fold(text)[0] == folded, name
        assert normalize_with_offsets(text)[1] == offsets, name
