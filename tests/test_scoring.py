"""BM25 and `BestMatch` (`searchkit.scoring`): the one formula against Whoosh's BM25F, field
lengths against Whoosh's reader, and `BestMatch` against Whoosh's `Or` and `AndMaybe` of the
same parts on a real index of two segments."""

from __future__ import annotations

import math
import random

import pytest
from corpus import FINEWS
from whoosh import scoring as whoosh_scoring
from whoosh.index import open_dir
from whoosh.query import AndMaybe, NullQuery, Or, Term

from searchkit import Index, load_posts
from searchkit.index import WEIGHTING
from searchkit.matching import Contains
from searchkit.plan import make_plan
from searchkit.schema import BODY, TITLE
from searchkit.scoring import K1, B, BestMatch, ScoredMatcher, bm25, field_lengths, idf
from searchkit.storage import read_pointer


def test_bm25_is_whooshs_bm25f_formula():
    rng = random.Random(16)
    for _ in range(1000):
        tf, length = rng.choice([1.0, 2.0, 0.4, 7.2]), rng.randint(1, 900)
        weight, avgdl, boost = rng.uniform(0.1, 9), rng.uniform(1, 400), rng.choice([1.0, 0.7])
        [score] = bm25([3], [tf], {3: length}.__getitem__, weight, avgdl, boost)
        expected = whoosh_scoring.bm25(weight, tf, length, avgdl, B, K1) * boost
        assert math.isclose(score, expected, rel_tol=1e-12)


def test_bm25_keeps_the_order_of_the_postings():
    lengths = {9: 10, 2: 10, 5: 30}
    scores = bm25([9, 2, 5], [1.0, 3.0, 1.0], lengths.__getitem__, 2.0, 10.0)
    assert scores[1] > scores[0] > scores[2]  # more occurrences, more score; longer, less


def test_idf_falls_with_document_frequency_and_never_goes_negative():
    figures = [idf(1000, df) for df in (1, 10, 100, 1000)]
    assert figures == sorted(figures, reverse=True) and figures[-1] > 0
    assert idf(1000, 10) == math.log(1 + (1000 - 10 + 0.5) / 10.5)
    assert idf(10, 30) > 0  # an estimate above the document count


def test_scored_matcher_hands_over_its_scores_in_document_order():
    matcher = ScoredMatcher([2, 5, 9, 14], [0.5, 1.5, 0.25, 3.0])
    matcher.skip_to(6)
    assert (matcher.id(), matcher.score()) == (9, 0.25)
    copy = matcher.copy()
    matcher.next()
    assert (copy.id(), matcher.id()) == (9, 14)
    assert list(copy.all_ids()) == [9, 14] and copy.max_quality() == 3.0
    matcher.next()
    assert not matcher.is_active()


# --- on a real index ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_segments(tmp_path_factory):
    """A Whoosh searcher (searchkit's weighting) over finews in two segments."""
    posts = list(load_posts(FINEWS))
    path = tmp_path_factory.mktemp("scoring") / "index"
    index = Index.create(path)
    index.add(posts[:-9])  # the second segment holds under 1/8 of the first: not merged
    index.add(posts[-9:])
    vocab = index.vocabulary()
    index.close()
    whoosh_index = open_dir(str(path / read_pointer(path)))
    with whoosh_index.searcher(weighting=WEIGHTING) as searcher:
        assert len(searcher.leaf_searchers()) == 2
        yield searcher, vocab
    whoosh_index.close()


def ranked(searcher, whoosh_query) -> list[tuple[int, float]]:
    return [(hit.docnum, round(hit.score, 9)) for hit in searcher.search(whoosh_query, limit=None)]


WORDS = ["美联储", "加息", "人民币", "汇率", "央行", "通胀", "降准", "美元"]


@pytest.mark.needs_corpus
def test_best_match_scores_as_whooshs_or_and_and_maybe(two_segments):
    searcher, _ = two_segments
    rng = random.Random(7)
    for _ in range(12):
        words = rng.sample(WORDS, 4)
        required = [Term(BODY, w) for w in words[:2]] + [Term(TITLE, words[0], boost=0.7)]
        optional = [Term(BODY, w) for w in words[2:]]
        expected = ranked(searcher, Or(required))
        assert expected
        assert ranked(searcher, BestMatch(required)) == expected
        assert ranked(searcher, BestMatch(required, optional)) == ranked(
            searcher, AndMaybe(Or(required), Or(optional))
        )


@pytest.mark.needs_corpus
def test_best_match_adds_any_other_query_through_its_matcher(two_segments):
    searcher, vocab = two_segments
    text = Contains(BODY, make_plan("人民币汇率", vocab))
    parts = [Term(BODY, "美元"), text]
    expected = ranked(searcher, Or(parts))
    assert expected != ranked(searcher, parts[0])  # the text adds to the scores
    assert ranked(searcher, BestMatch(parts)) == expected


def test_best_match_flattens_ors_and_needs_a_required_part():
    a, b, c = Term(BODY, "a"), Term(BODY, "b"), Term(BODY, "c")
    assert BestMatch([Or([a, b]), BestMatch([c])]).required == [a, b, c]
    assert BestMatch([a], [b]) == BestMatch([a], [b]) != BestMatch([a, b])
    assert BestMatch([NullQuery], [a]).normalize() is NullQuery


@pytest.mark.needs_corpus
def test_field_lengths_are_whooshs(two_segments):
    searcher, _ = two_segments
    for leaf, _ in searcher.leaf_searchers():
        reader = leaf.reader()
        docs = range(reader.doc_count_all())
        length = field_lengths(reader, BODY)
        assert [length(doc) for doc in docs] == [
            reader.doc_field_length(doc, BODY, 1) for doc in docs
        ]
