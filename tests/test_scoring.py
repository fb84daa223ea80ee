"""BM25 and `BestMatch` (`searchkit.scoring`): the one formula against Whoosh's BM25F, field
lengths against Whoosh's reader, and `BestMatch` against Whoosh's `Or` and `AndMaybe` of the
same parts on a real index of two segments."""

from __future__ import annotations

import heapq
import math
import random

import pytest
from corpus import FINEWS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import scoring as whoosh_scoring
from whoosh.index import open_dir
from whoosh.query import AndMaybe, NullQuery, Or, Term

from searchkit import Index, load_posts, scoring
from searchkit.index import WEIGHTING
from searchkit.matching import Contains
from searchkit.plan import make_plan
from searchkit.schema import BODY, TITLE
from searchkit.scoring import (
    K1,
    B,
    BestMatch,
    ScoredMatcher,
    bm25,
    field_lengths,
    idf,
    prunable,
    scored_documents,
)
from searchkit.searching import top_hits
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


# --- BestMatchPostings (MaxScore) against scoring every posting ------------------------------

POOL = WORDS + ["市场", "公司", "经济", "的", "记者", "利率", "基金", "汇率", "债券", "风险"]


def every_score(searcher, best: BestMatch) -> dict[int, float]:
    """{document: score} of every match of `best`, each posting scored (`BestMatch.matcher`)."""
    scores = {}
    for leaf, offset in searcher.leaf_searchers():
        for doc, score in scored_documents(best.matcher(leaf, searcher.context())):
            scores[doc + offset] = score
    return scores


@st.composite
def best_matches(draw):
    """A best match on words of the pool (common ones among them) in title and body, with
    optional words, and a limit, mask and filter set for ranking it."""
    words = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=9))
    extras = draw(st.lists(st.sampled_from(POOL), max_size=3))
    boosts = st.sampled_from([1.0, 0.7, 0.3, 2.5])
    fields = st.sampled_from([TITLE, BODY])
    required = [Term(draw(fields), w, boost=draw(boosts)) for w in words]
    optional = [Term(draw(fields), w, boost=draw(boosts)) for w in extras]
    limit = draw(st.integers(1, 40))
    mask = draw(st.sets(st.integers(0, 2700), max_size=300))
    allowed = draw(st.none() | st.sets(st.integers(0, 2700), min_size=1, max_size=2000))
    return BestMatch(required, optional), limit, mask, allowed


@pytest.mark.needs_corpus
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=best_matches())
def test_pruned_ranking_is_that_of_scoring_every_posting(corpus_index, case):
    """The pruned ranking (`BestMatchPostings`, through `top_hits`) has the same hits, order
    (ties to the lower document number), scores to the bit, total and match set as scoring
    every posting, with masks and filter sets, on the 2,644 shared posts."""
    searcher = corpus_index.searcher()
    best, limit, mask, allowed = case
    assert prunable(best, searcher)
    scores = every_score(searcher, best)
    kept = [
        (s, d) for d, s in scores.items() if d not in mask and (allowed is None or d in allowed)
    ]
    expected = heapq.nlargest(limit, kept, key=lambda match: (match[0], -match[1]))
    ours = top_hits(searcher, best, limit, mask, allowed)
    assert [(h.docnum, h.score) for h in ours] == [(d, s) for s, d in expected]
    assert len(ours) == len(kept) and ours.docs() == {d for _, d in kept}


@pytest.mark.needs_corpus
def test_pruned_ranking_skips_a_common_words_postings(corpus_index, monkeypatch):
    """What makes it pay: after the rare words, the common ones (的: 2,012 of 2,644 posts)
    are looked up for the few documents that can still rank, not scored posting by posting;
    the ranking and the total are still every posting's."""
    searcher = corpus_index.searcher()
    added = []

    def add_to(word, table):
        added.append(len(word.docs))
        original(word, table)

    original = scoring._Word.add_to
    monkeypatch.setattr(scoring._Word, "add_to", add_to)
    rare = [Term(BODY, "降准", boost=3.0), Term(TITLE, "降准")]
    best = BestMatch([*rare, Term(BODY, "的"), Term(BODY, "市场")])
    ours = top_hits(searcher, best, 5)
    assert max(added) < 100  # 降准's posts only
    scores = every_score(searcher, best)
    expected = heapq.nlargest(5, ((s, d) for d, s in scores.items()), key=lambda m: (m[0], -m[1]))
    assert [(h.docnum, h.score) for h in ours] == [(d, s) for s, d in expected]
    assert len(ours) == len(scores) > 2000


@settings(max_examples=200, deadline=None)
@given(
    sums=st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0]), min_size=0, max_size=40),
    hidden=st.sets(st.integers(0, 45), max_size=12),
    limit=st.integers(1, 12),
    left=st.sampled_from([0.0, 0.4, 1.0, 5.0]),
)
def test_contenders_leave_out_the_excluded_sums_as_a_copy_of_the_kept_keys_does(
    sums, hidden, limit, left
):
    """With few documents excluded, the `limit`-th best sum is taken among the best sums of
    all documents (ties included), not among a copy of the kept documents' keys."""
    scores = dict(enumerate(sums))
    everything = set(range(50))
    assert scoring._contenders(scores, limit, left, hidden) == scoring._contenders(
        scores, limit, left, hidden, allowed=everything
    )
