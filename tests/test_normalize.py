"""`normalize` folds character by character (NFKC, then casefold) however `_fold` gets there.

`_fold` skips the characters its regex says fold to themselves and replaces each other
character everywhere at once; both shortcuts rest on facts about Unicode that the first two
tests check for every code point of this Python's Unicode version.
"""

import unicodedata

import pytest
from corpus import FINANCE, FINEWS
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit.analysis import _FOLD_STEPS, _UNCHANGED, _fold, normalize_with_offsets


def _char_fold(char: str) -> str:
    # Not the module's `_FOLD`, which would keep an entry for all 1.1M code points.
    return unicodedata.normalize("NFKC", char).casefold()


def _reference(text: str) -> tuple[str, list[int] | None]:
    """The fold as it is defined, and the original index of each folded character (None
    when every character folds to one), as `normalize_with_offsets` gives them."""
    folds = [_char_fold(char) for char in text]
    if all(len(folded) == 1 for folded in folds):
        return "".join(folds), None
    offsets = [i for i, folded in enumerate(folds) for _ in folded]
    return "".join(folds), offsets + [len(text)]


def test_every_character_the_regex_skips_folds_to_itself():
    skipped = [chr(cp) for cp in range(0x110000) if _UNCHANGED(chr(cp)).end() == 1]
    assert len(skipped) > 100_000  # the Han ideographs alone are ~90,000
    assert [char for char in skipped if _char_fold(char) != char] == []


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
    "\u0301\u0308\u3099\u309a\uff9e\uff9f\u1100\u1161\u11a8\u00a8\u00af"
)
_TEXT = st.text(
    alphabet=st.one_of(
        _INTERESTING,
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0xFF01, max_codepoint=0xFFEE),
        st.characters(min_codepoint=0x2000, max_codepoint=0x33FF),
        st.characters(exclude_categories=("Cs",)),  # OpenCC cannot encode a lone surrogate
    ),
    max_size=80,
)


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_fold_is_the_character_by_character_fold(text):
    # After _FOLD_STEPS - 2 distinct full-width characters, the third stop in `text` (at a
    # character outside _UNCHANGED) hands what is left, partly replaced, to str.translate.
    letters = "".join(chr(cp) for cp in range(0xFF21, 0xFF21 + _FOLD_STEPS - 2))
    for sample in (text, letters + text):
        folded, offsets = _reference(sample)
        assert _fold(sample)[0] == folded
        assert normalize_with_offsets(sample)[1] == offsets


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
    for post in posts:
        text = post.read_text("utf-8")
        folded, offsets = _reference(text)
        assert _fold(text)[0] == folded, post.name
        assert normalize_with_offsets(text)[1] == offsets, post.name
