"""Whoosh matcher trees evaluated a list at a time: the (document, score) pairs of every
match, as walking the tree finds them, but with each node's matches worked out from its
children's whole lists.

A question's exact tier is `AndMaybe(And(texts), Or(Near(text, next text), ...))`. Whoosh
walks that tree a document at a time: every step moves a handful of matchers, and each
`Near` asks its two texts for their spans there, each text reading its words' positions
one `skip_to` at a time; the `Near`s of neighbouring pairs find the spans of their shared
text twice. Here the `And` is an intersection of the texts' scored lists, and a `Near`
looks only at the documents its `AndMaybe` can use, finding each text's spans once for
all of them from positions read in bulk (`codec.read_positions`). The scores are Whoosh's
own: each node adds its children's scores in the order its matcher's `score()` does, so
even the floating-point sums are the same.

Node types this module does not know are walked on their own, one match at a time
(`scoring.scored_documents`), which finds the same matches.

A search wants a tier's best few, not every score (`best_of`): a common query's exact tier
(高质量发展: 10,000 of 60,000 articles) is ranked from its texts' scores and bounds of what
their proximity can add, and spans are found only for the documents that can rank.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from whoosh import query
from whoosh.matching import AndMaybeMatcher, IntersectionMatcher, UnionMatcher, WrappingMatcher
from whoosh.matching.mcore import NullMatcherClass
from whoosh.query.spans import SpanNear

from .matching import CountedMatcher, SpanFinder
from .scoring import BestMatch, ScoredMatcher, known_documents
from .scoring import scored_documents as walked_documents

Table = dict[int, float]  # document -> score


def scored_documents(whoosh_query, searcher, context) -> Iterator[tuple[int, float]]:
    """(document, score) of every match of `whoosh_query` in the searcher's segment, in
    document order: what walking its matcher with Whoosh's matcher API finds
    (`scoring.scored_documents`)."""
    table = scored_table(whoosh_query, searcher, context)
    for doc in sorted(table):
        yield doc, table[doc]


def scored_table(whoosh_query, searcher, context) -> Table:
    """{document: score} of every match of `whoosh_query` in the searcher's segment
    (`scored_documents`, in no order). An `AndMaybe`'s two matchers are made apart, so that
    its optional part is not walked to the required part's first match when it is made."""
    if type(whoosh_query) is BestMatch:
        return whoosh_query.score_table(searcher, context)
    tables = _Tables()
    if type(whoosh_query) is query.AndMaybe:
        required = whoosh_query.a
        a = tables.of(required.matcher(searcher, _within(required, searcher, context)), None)
        optional = whoosh_query.b.matcher(searcher, _restricted(context, set(a)))
        table = tables.and_maybe(a, optional)
    else:
        table = tables.of(
            whoosh_query.matcher(searcher, _within(whoosh_query, searcher, context)), None
        )
    return table


def ranks_apart(whoosh_query) -> bool:
    """Whether `best_of` can rank `whoosh_query`: an exact tier with a proximity part, an
    `AndMaybe` whose optional part is `Near`s (or one)."""
    if type(whoosh_query) is not query.AndMaybe:
        return False
    optional = whoosh_query.b
    parts = optional.subqueries if type(optional) is query.Or else [optional]
    return all(isinstance(part, SpanNear) for part in parts)


def best_of(
    whoosh_query: query.AndMaybe,
    searcher,
    context,
    limit: int,
    excluded: set[int] | None = None,
    allowed: set[int] | None = None,
) -> tuple[set[int], Table]:
    """Every document `whoosh_query` (`ranks_apart`) matches in the searcher's segment, and
    the scores, bit for bit those of `scored_table`, of the documents that can be among the
    best `limit` of them, not counting those in `excluded` nor (when given) those outside
    `allowed` (`scoring.BestMatchPostings.top` for an exact tier).

    Its required part is scored for every match, its proximity part for the documents whose
    score plus the most proximity can add (each `Near` adds its two texts' scores where they
    stand near: `_Tables.bounds`) can still reach the `limit`-th best: first the `limit` best
    bounds, then every document whose bound reaches the `limit`-th best of their scores.
    Finding the spans of every match was most of a common query's first run: 高质量发展
    (10,056 exact matches of 60,000 articles) 168 of 214 ms."""
    tables = _Tables()
    required = whoosh_query.a
    a = tables.of(required.matcher(searcher, _within(required, searcher, context)), None)
    kept = a.keys() - excluded if excluded else set(a)
    if allowed is not None:
        kept &= allowed
    optional = whoosh_query.b.matcher(searcher, _restricted(context, kept))
    bounds = tables.bounds(optional)
    if bounds is None:  # a part that must be walked: every document's score
        return set(a), tables.and_maybe({doc: a[doc] for doc in kept}, optional)
    most = {doc: a[doc] + bounds[doc] if doc in bounds else a[doc] for doc in kept}
    first = heapq.nlargest(limit, most, key=most.__getitem__)
    scores = tables.and_maybe({doc: a[doc] for doc in first}, optional)
    if len(scores) == limit:
        # A document's score is at most its bound (floating-point sums of fewer
        # non-negative scores, in the same order, are no more), so those below the
        # `limit`-th best score cannot rank; ties to it may, by their document numbers.
        least = min(scores.values())
        rest = {doc: a[doc] for doc in kept if most[doc] >= least and doc not in scores}
        scores |= tables.and_maybe(rest, optional)
    return set(a), scores


def _within(whoosh_query, searcher, context):
    """The context to make `whoosh_query`'s matcher with: for an `And`, the documents all
    its parts have, where they are known before scoring (`scoring.known_documents`), as
    `within`.

    A question's exact tier is the `And` of its words' texts, each a best match of the
    title and the body: scoring every document of each text (中国, 发展: most of the
    news articles) grew with the archive, while the documents that have all of them are
    few. The parts' matchers score only those (`Contains.score_table`)."""
    if context is None or type(whoosh_query) is not query.And:
        return context
    common = None
    for part in whoosh_query.subqueries:
        docs = known_documents(part, searcher, context)
        if docs is not None:
            common = set(docs) if common is None else common & docs
    return _restricted(context, common)


def _restricted(context, docs: set[int] | None):
    """`context` telling the matchers made with it that only the scores of `docs` matter:
    the others may be left out (`Contains.score_table`, `Contains.matcher`)."""
    return context if context is None or docs is None else context.set(within=docs)


class _Tables:
    """One tree's evaluation, keeping each text's spans, by document, for all its `Near`s."""

    def __init__(self):
        self.spans: dict[tuple, dict[int, list]] = {}

    def of(self, matcher, within: set[int] | None) -> Table:
        """{document: score} of `matcher`'s matches; only the documents in `within` (when
        given) need be right, the others may be missing."""
        kind = type(matcher)
        if isinstance(matcher, ScoredMatcher):
            return dict(zip(matcher.docs[matcher.i :], matcher.scores[matcher.i :], strict=True))
        if isinstance(matcher, NullMatcherClass):
            return {}
        if kind is IntersectionMatcher:
            a = self.of(matcher.a, within)
            b = self.of(matcher.b, set(a) if within is None else within & a.keys())
            return {doc: a[doc] + b[doc] for doc in a.keys() & b.keys()}
        if kind is AndMaybeMatcher:
            return self.and_maybe(self.of(matcher.a, within), matcher.b)
        if kind is UnionMatcher:
            return _union(self.of(matcher.a, within), self.of(matcher.b, within))
        if kind is WrappingMatcher:
            boost = matcher.boost
            return {doc: score * boost for doc, score in self.of(matcher.child, within).items()}
        if isinstance(matcher, SpanNear.SpanNearMatcher) and _counted(matcher.a, matcher.b):
            return self._near(matcher, within)
        return dict(walked_documents(matcher))

    def and_maybe(self, a: Table, optional) -> Table:
        """`AndMaybeMatcher(a, optional)`: `a`'s documents, with `optional`'s score added
        where it matches too; `optional` is evaluated for `a`'s documents only."""
        b = self.of(optional, set(a)) if a else {}
        return {doc: a[doc] + b[doc] if doc in b else a[doc] for doc in a}

    def bounds(self, matcher) -> Table | None:
        """{document: the most a proximity part's matcher (unions of `Near`s of counted
        texts) can score there}: what `of` gives if every `Near` stands near, found without
        any spans; None for a matcher of another kind."""
        kind = type(matcher)
        if kind is UnionMatcher:
            a, b = self.bounds(matcher.a), self.bounds(matcher.b)
            return None if a is None or b is None else _union(a, b)
        if isinstance(matcher, NullMatcherClass):
            return {}
        if isinstance(matcher, SpanNear.SpanNearMatcher) and _counted(matcher.a, matcher.b):
            a, b = self.of(matcher.a, None), self.of(matcher.b, None)
            return {doc: a[doc] + b[doc] for doc in a.keys() & b.keys()}
        return None

    def _near(self, matcher, within: set[int] | None) -> Table:
        """The documents of both texts where they stand near enough (`near`), scored as the
        intersection of the two."""
        a, b = self.of(matcher.a, None), self.of(matcher.b, None)
        docs = sorted(a.keys() & b.keys() & within if within is not None else a.keys() & b.keys())
        a_spans = self._spans(matcher.a, docs)
        b_spans = self._spans(matcher.b, docs)
        return {
            doc: a[doc] + b[doc]
            for doc in docs
            if near(a_spans[doc], b_spans[doc], matcher.slop, matcher.ordered, matcher.mindist)
        }

    def _spans(self, matcher: CountedMatcher, docs: list[int]) -> dict[int, list]:
        """{document: the text's spans} for `docs`, found once per text and document."""
        query = matcher.query
        key = (id(matcher.reader), query.fieldname, query.plan.text, query.stored_text)
        known = self.spans.setdefault(key, {})
        missing = [doc for doc in docs if doc not in known]
        if missing:
            finder = SpanFinder(query, matcher.reader, matcher.full_words, missing)
            known.update((doc, finder.find(doc)[0]) for doc in missing)
        return known


def _union(a: Table, b: Table) -> Table:
    """`UnionMatcher`'s scores of its two children's: each document's, the two summed where
    both match."""
    both = {doc: a[doc] + b[doc] for doc in a.keys() & b.keys()}
    return a | b | both


def _counted(*matchers) -> bool:
    return all(type(matcher) is CountedMatcher for matcher in matchers)


def near(a_spans, b_spans, slop: int, ordered: bool, mindist: int) -> bool:
    """Whether a span of `a_spans` and one of `b_spans` (each in start order) stand within
    `slop` and at least `mindist` apart (and `a` first, if `ordered`): whether Whoosh's
    `SpanNear` matcher finds any span in the document."""
    for aspan in a_spans:
        for bspan in b_spans:
            if bspan.end < aspan.start - slop or (ordered and aspan.start > bspan.start):
                continue
            if bspan.start > aspan.end + slop:
                break
            if mindist <= aspan.distance_to(bspan) <= slop:
                return True
    return False
