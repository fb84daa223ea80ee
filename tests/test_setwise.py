"""setwise: a query's matches worked out a list at a time are what walking Whoosh's matcher
tree finds, to the last bit of every score."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq
from whoosh.query.spans import Span, SpanNear

from searchkit import Document, Index
from searchkit import query as query_module
from searchkit.matching import Near, NearMatcher
from searchkit.scoring import scored_documents as walked
from searchkit.setwise import near, scored_documents
from searchkit.synonyms import Synonyms

# Words that jieba keeps whole, pieces that cross word boundaries (息预), fillers that set
# the words apart by more or less than the proximity slop, and a text with digits (which
# `Contains` matches by positions, not by counting).
WORDS = ["美联储", "加息", "预期", "市场", "人民币", "汇率", "央行", "降准", "息预", "2026年"]
FILLER = ["经济", "增长", "保持", "稳定", "，", "。", "我们", "今天"]
texts = st.lists(st.sampled_from(WORDS + FILLER * 2), max_size=24).map("".join)
corpora = st.lists(st.tuples(texts, texts), min_size=1, max_size=12)
questions = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True).map(" ".join)


def whoosh_walk(whoosh_query, searcher, context, monkeypatch) -> list[tuple[int, float]]:
    """The matches as Whoosh's own matchers find them, one document at a time (`Near` with
    Whoosh's `SpanNear` matcher, which finds its first match when made)."""
    with monkeypatch.context() as patch:
        patch.setattr(Near, "matcher", SpanNear.matcher)
        return list(walked(whoosh_query.matcher(searcher, context)))


def tier_queries(index: Index, text: str) -> list[wq.Query]:
    parsed = query_module.parse(text)
    plan = query_module.build(parsed, index.vocabulary(), index.analyzer, False, Synonyms.empty())
    return [q for q in (plan.exact, plan.synonym, plan.relaxed) if q is not None]


@pytest.mark.parametrize("or_matcher", [wq.Or.AUTO_MATCHER, wq.Or.DEFAULT_MATCHER])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora, asked=st.lists(questions, min_size=1, max_size=6))
def test_setwise_matches_are_the_matcher_walks(or_matcher, corpus, asked):
    posts = [Document(id=f"p{i}", title=title, body=body) for i, (title, body) in enumerate(corpus)]
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as folder:
        # AUTO: below 5,000 documents, an Or of three or more parts preloads its matches
        # (a matcher setwise walks as it is); DEFAULT: a tree of unions, as in large indexes.
        monkeypatch.setattr(wq.Or, "matcher_type", or_matcher)
        index = Index.create(Path(folder) / "index")
        index.add(posts[: len(posts) // 2 + 1])  # maybe two segments
        index.add(posts[len(posts) // 2 + 1 :])
        top = index.searcher()
        context = top.context()
        for text in asked:
            for whoosh_query in tier_queries(index, text):
                for searcher, _ in top.leaf_searchers():
                    expected = whoosh_walk(whoosh_query, searcher, context, monkeypatch)
                    # Exactly equal: the same sums in the same order.
                    assert list(scored_documents(whoosh_query, searcher, context)) == expected
                    # The lazy `Near` matcher, walked, finds the same too.
                    assert list(walked(whoosh_query.matcher(searcher, context))) == expected
        index.close()


def test_near_is_whooshs_span_near():
    rng = random.Random(15)
    for _ in range(300):
        a = sorted({Span(p) for p in rng.sample(range(40), rng.randint(1, 4))})
        b = sorted({Span(p) for p in rng.sample(range(40), rng.randint(1, 4))})
        slop, ordered = rng.randint(1, 9), rng.random() < 0.5
        spans = SpanNear.SpanNearMatcher._get_spans(_Pair(a, b, slop, ordered))
        assert near(a, b, slop, ordered, 1) == bool(spans)


class _Pair:
    """What `SpanNearMatcher._get_spans` reads of its matcher."""

    def __init__(self, a, b, slop, ordered):
        self.a, self.b = _Spans(a), _Spans(b)
        self.slop, self.ordered, self.mindist = slop, ordered, 1


class _Spans:
    def __init__(self, spans):
        self._spans = spans

    def spans(self):
        return self._spans


def test_a_near_matcher_finds_its_first_match_only_when_asked(tmp_path):
    posts = [
        Document(id="far", title="", body="美联储" + "经济增长保持稳定" * 3 + "加息"),
        Document(id="near", title="", body="美联储宣布加息"),
    ]
    with Index.create(tmp_path / "index") as index:
        index.add(posts)
        searcher = index.searcher()
        [question] = [q for q in tier_queries(index, "美联储 加息") if type(q) is wq.AndMaybe]
        leaf = searcher.leaf_searchers()[0][0]
        matcher = question.b.matcher(leaf, searcher.context())
        assert isinstance(matcher, NearMatcher)
        assert matcher._pending  # made, not walked
        near_ids = [leaf.stored_fields(doc)["id"] for doc, _ in walked(matcher)]
        assert near_ids == ["near"]
        assert not matcher._pending


@pytest.mark.needs_corpus
def test_an_and_of_texts_scores_only_the_documents_all_of_them_have(finews_index, monkeypatch):
    """The exact tier of 美联储 缩表 is `AndMaybe(And(texts), Near(...))`: each text is
    scored in the documents that have both, not in all of its own (美联储: most posts), and
    the matches and scores are those of walking Whoosh's matchers."""
    from searchkit import matching

    exact = tier_queries(finews_index, "美联储 缩表")[0]
    searcher = finews_index.searcher()
    context = searcher.context()
    walk = dict(whoosh_walk(exact, searcher, context, monkeypatch))
    scored = []
    scores = matching._Scoring.scores
    monkeypatch.setattr(
        matching._Scoring,
        "scores",
        lambda self, docs, *rest: scored.extend(docs) or scores(self, docs, *rest),
    )
    searcher = finews_index.searcher()  # a new search: the texts are counted anew
    assert dict(scored_documents(exact, searcher, searcher.context())) == walk
    assert 0 < len(walk) < 20 and set(scored) <= walk.keys()
