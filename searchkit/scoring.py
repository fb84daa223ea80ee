"""BM25, and scoring many postings fast.

`bm25` is searchkit's one BM25 formula (Whoosh's BM25F with searchkit's K1 and B): words,
`BestMatch` parts and `matching.Contains` texts are all scored by it. Whoosh's matchers hand
over one posting per method call and combine queries in trees of union matchers walked one
document at a time, which costs more than the scoring itself. Here postings are read a block
at a time and scores are summed into one table per query part (term at a time).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Callable, Iterator

from whoosh import matching, query

from .codec import field_length_column, read_documents, read_frequencies

# BM25 parameters, shared with the Whoosh scorer (index.WEIGHTING); K1 tuned on cmrc2018/drcd.
K1, B = 0.9, 0.75


def bm25(
    docs: list[int],
    frequencies: list[float],
    length: Callable[[int], int],
    idf: float,
    avgdl: float,
    boost: float = 1.0,
) -> list[float]:
    """The scores of a term in documents `docs`, where it occurs `frequencies` times:
    Whoosh's BM25F, idf·boost·tf·(K1+1) / (tf + K1·(1 − B + B·length/avgdl)), where
    `length(document)` is the field's length in tokens and `avgdl` its average. A list at a
    time, with the constants worked out once: a common word has thousands of postings.

    >>> [round(score, 4) for score in bm25([7], [2.0], lambda doc: 10, 1.5, 10.0)]
    [1.9655]
    """
    scale, norm, slope = _constants(idf, avgdl, boost)
    pairs = zip(docs, frequencies, strict=True)
    return [scale * tf / (tf + norm + slope * length(doc)) for doc, tf in pairs]


def bm25_table(
    postings, length: Callable[[int], int], idf: float, avgdl: float
) -> dict[int, float]:
    """`bm25` of (document, frequency) pairs as {document: score}, in one pass, without the
    lists of documents, frequencies and scores a table made from `bm25` needs: a text's
    table is scored for every post that has it (a keyword's exact tier).

    >>> table = bm25_table([(7, 2.0)], lambda doc: 10, 1.5, 10.0)
    >>> {doc: round(score, 4) for doc, score in table.items()}
    {7: 1.9655}
    """
    scale, norm, slope = _constants(idf, avgdl, 1.0)
    return {doc: scale * tf / (tf + norm + slope * length(doc)) for doc, tf in postings}


def _constants(idf: float, avgdl: float, boost: float) -> tuple[float, float, float]:
    """`bm25`'s (scale, norm, slope): score = scale·tf / (tf + norm + slope·length)."""
    return idf * (K1 + 1) * boost, K1 * (1 - B), K1 * B / (avgdl or 1)


def idf(doc_count: int, doc_frequency: int) -> float:
    """The probabilistic inverse document frequency, log(1 + (N − df + 0.5) / (df + 0.5)), of a
    `matching.Contains` text. Words take Whoosh's own idf instead (`Searcher.idf`, log(N /
    (df + 1)) + 1), as Whoosh's BM25F scorer does, so that a `BestMatch` scores as Whoosh's
    `Or` of the same words. The two differ by history; one for both would change the scores
    behind the figures in docs/quality.md. `doc_frequency` may be an estimate above
    `doc_count`."""
    n = max(doc_count, doc_frequency)
    return math.log(1 + (n - doc_frequency + 0.5) / (doc_frequency + 0.5))


class ScoredMatcher(matching.Matcher):
    """Documents with their scores, computed in advance."""

    def __init__(self, docs: list[int], scores: list[float], position: int = 0):
        self.docs, self.scores, self.i = docs, scores, position

    def copy(self):
        return ScoredMatcher(self.docs, self.scores, self.i)

    def is_active(self):
        return self.i < len(self.docs)

    def id(self):
        return self.docs[self.i]

    def next(self):
        self.i += 1

    def skip_to(self, docnum):
        if self.i < len(self.docs) and self.docs[self.i] < docnum:
            self.i = bisect_left(self.docs, docnum, self.i)

    def all_ids(self):
        return iter(self.docs[self.i :])

    def replace(self, minquality=0):
        return self if self.is_active() else matching.NullMatcher()

    def supports_block_quality(self):
        return False

    def max_quality(self):
        return max(self.scores[self.i :], default=0.0)

    def block_quality(self):
        return self.max_quality()

    def weight(self):
        return self.scores[self.i]

    def score(self):
        return self.scores[self.i]


class BestMatch(query.Query):
    """The sum of many terms' and texts' scores, as Whoosh's `Or` of them scores, but counted
    a term at a time into one table: a question's dozen words and their synonyms no longer
    walk Whoosh's tree of union matchers one document at a time (most of a question's cost).
    A document needs a score from `required`; `optional` parts only add to it (`AndMaybe`).
    `Or`s and other `BestMatch`es among the parts are flattened; a `Term` of a scored field
    is read directly, any other part through its matcher."""

    def __init__(self, required: list[query.Query], optional: list[query.Query] = ()):
        self.required = _flatten(required)
        self.optional = _flatten(optional)

    def __repr__(self):
        return f"BestMatch({self.required!r}, {self.optional!r})"

    def _identity(self) -> tuple:
        return (tuple(self.required), tuple(self.optional))

    def __eq__(self, other):
        return type(other) is type(self) and other._identity() == self._identity()

    def __hash__(self):
        return hash(self._identity())

    def children(self):
        return iter(self.required + self.optional)

    def is_leaf(self):
        return False

    def normalize(self):
        return self if self.required else query.NullQuery

    def estimate_size(self, ixreader):
        return min(ixreader.doc_count_all(), sum(q.estimate_size(ixreader) for q in self.required))

    def matcher(self, searcher, context=None):
        scores = self.score_table(searcher, context)
        if not scores:
            return matching.NullMatcher()
        docs = sorted(scores)
        return ScoredMatcher(docs, list(map(scores.__getitem__, docs)))

    def documents(self, searcher, context=None) -> set[int] | None:
        """The documents the best match matches in the searcher's segment (its required
        parts'), None when a part's are not known without scoring it (`known_documents`)."""
        found: set[int] = set()
        for part in self.required:
            docs = known_documents(part, searcher, context)
            if docs is None:
                return None
            found |= docs
        return found

    def score_table(self, searcher, context=None) -> dict[int, float]:
        """{document: score} of the matches in the searcher's segment, in no order (a search
        ranks them from this table, without the matcher's lists in document order); only
        those of `context.within`, when the context has it (`setwise`), need be there."""
        scores = _scores(searcher, context, self.required)
        if scores and self.optional:
            for doc, score in _scores(searcher, context, self.optional).items():
                if doc in scores:
                    scores[doc] += score
        return scores


def known_documents(whoosh_query, searcher, context) -> set[int] | None:
    """The documents `whoosh_query` matches in the searcher's segment, where they are known
    without scoring them (a `matching.Contains` counted in advance, a best match of such
    parts), else None."""
    if hasattr(whoosh_query, "documents"):
        return whoosh_query.documents(searcher, context)
    return None


def _flatten(parts) -> list[query.Query]:
    flat = []
    for part in parts:
        if type(part) is query.Or:
            flat += _flatten(part.subqueries)
        elif type(part) is BestMatch and not part.optional:
            flat += part.required
        elif part is not query.NullQuery:
            flat.append(part)
    return flat


def _scores(searcher, context, parts) -> dict[int, float]:
    """{document: summed score} of the parts in the searcher's segment."""
    scores: dict[int, float] = {}
    get = scores.get
    added = 0  # the parts in `scores` so far
    for part in parts:
        added += 1
        if type(part) is query.Term and searcher.schema[part.fieldname].scorable:
            _add_term_scores(scores, searcher, part)
            continue
        table = part_table(part, searcher, context)
        if not scores:  # the first table as it is (0.0 + x is x): at C speed
            scores, get = table, table.get
            continue
        if added == 2 and len(table) > len(scores):
            # Two parts' sums are the same either way round (a + b is b + a), so the smaller
            # is walked: a text's title table into its body table, not the body's into the
            # title's (with `bm25_table`, 3-5% of a keyword's first run, docs/speed.md).
            scores, table = table, scores
            get = scores.get
        for doc, score in table.items():
            scores[doc] = get(doc, 0.0) + score
    return scores


def part_table(part: query.Query, searcher, context) -> dict[int, float]:
    """{document: score} of a best match's part other than a word of a scored field: its
    own table (`matching.Contains.score_table`), else what its matcher scores."""
    table = part.score_table(searcher, context) if hasattr(part, "score_table") else None
    if table is None:
        table = dict(scored_documents(part.matcher(searcher, context)))
    return table


def scored_documents(matcher) -> Iterator[tuple[int, float]]:
    """(document, score) of every match left in `matcher`: a `ScoredMatcher`'s own lists,
    else one match at a time through Whoosh's matcher API."""
    if isinstance(matcher, ScoredMatcher):
        yield from zip(matcher.docs[matcher.i :], matcher.scores[matcher.i :], strict=True)
        return
    while matcher.is_active():
        yield matcher.id(), matcher.score()
        matcher.next()


def _add_term_scores(scores: dict[int, float], searcher, term: query.Term) -> None:
    """Add a word's scores, as Whoosh's `BM25F` scores it (`index.WEIGHTING`), to `scores`:
    `bm25`'s expression, worked out in the loop that adds it, with the lengths read from
    their table. A relaxed tier adds up the postings of a dozen words, common ones among
    them (中国: most of the news articles): without the list of (document, score) pairs
    built and read again and a call for each length, the best-match parts of the bench's
    50 headlines take ~8% less CPU time on 60,000 documents (3.0 -> 2.7-2.8 s in all)."""
    fieldname, reader = term.fieldname, searcher.reader()
    docs, frequencies = read_frequencies(reader, fieldname, term.text)
    if not docs:
        return
    parent = searcher.get_parent()
    scale, norm, slope = _constants(
        parent.idf(fieldname, term.text), parent.avg_field_length(fieldname), term.boost
    )
    lengths = _length_table(reader, fieldname)
    get = scores.get
    for doc, tf in zip(docs, frequencies, strict=True):
        scores[doc] = get(doc, 0.0) + scale * tf / (tf + norm + slope * lengths[doc])


def field_lengths(reader, fieldname: str) -> Callable[[int], int]:
    """The field's length in a document of the segment. Whoosh looks one up in ~2 µs, more
    than the rest of scoring a posting, so all are read into a table that lives as long as
    the reader (the library reuses its searcher), from the length column in one piece:
    0.65 ms for the 19,547 news articles, the cost of ~320 lookups, paid once. (Lookups one
    at a time for rare words cost a keyword's first run up to 3,600 of them.)"""
    return _length_table(reader, fieldname).__getitem__


def _length_table(reader, fieldname: str) -> list[int]:
    tables = reader.__dict__.setdefault("_searchkit_lengths", {})
    table = tables.get(fieldname)
    if table is None:
        table = tables[fieldname] = field_length_column(reader, fieldname)
    return table


# --- the best `limit` of a best match, without scoring every posting (MaxScore) -------------

# Room for rounding in MaxScore's comparisons: sums of the same scores in another order, and
# sums of bounds, may differ from a document's score in the last bits (~1e-15 of it).
SLACK = 1e-9


def prunable(whoosh_query: query.Query, searcher) -> bool:
    """Whether `BestMatchPostings` ranks `whoosh_query`: a `BestMatch` with words of scored
    fields among its parts (a relaxed tier: a question's words, and as other parts the words
    the vocabulary lacks and synonyms that are no indexed word, 人工智慧 for 人工智能). A
    best match of texts alone (an exact tier) is ranked from its table, which the facets
    share (`searching._matches`)."""
    if type(whoosh_query) is not BestMatch:
        return False
    return any(_is_word(part, searcher) for part in whoosh_query.children())


def _is_word(part: query.Query, searcher) -> bool:
    """Whether `part` is a word of a scored field, scored from its postings (`_Word`)."""
    return type(part) is query.Term and searcher.schema[part.fieldname].scorable


class BestMatchPostings:
    """A best match on words (`prunable`) in one segment: its words' postings, read once,
    ranked for any limit, mask and filter (`top`). A search may rank a tier twice, deeper
    when near-duplicates fold (`searching._rows`), and reads the postings once. Its other
    parts (texts the vocabulary lacks) are scored whole (`_Scored`) and ranked with them:
    half the relaxed tiers of qbqtc's real queries have such a part, and scoring every
    posting of their words grew with the archive as a headline's did."""

    def __init__(self, best: BestMatch, searcher, context):
        self.words = [_part(part, searcher, context) for part in best.required]
        self.extras = [_part(part, searcher, context) for part in best.optional]
        self._found: set[int] | None = None

    def top(
        self, limit: int, excluded: set[int] | None = None, allowed: set[int] | None = None
    ) -> tuple[set[int], dict[int, float]]:
        """Every document the best match matches in the segment, and the scores, bit for
        bit those of `BestMatch.matcher`, of the documents that can be among the best
        `limit` of them, not counting those in `excluded` nor (when given) those outside
        `allowed` (and of a few more that come within `SLACK` of them).

        A headline as a question is a best match on a dozen words, common ones among them
        (中国: most of the news articles), and scoring every posting grows with the
        documents. Here the words are added in the order of their bounds (`_Word.bound`),
        rare words first (MaxScore, term at a time): once the `limit`-th best sum so far is
        more than the bounds of the words left, a document none of the words so far holds
        cannot reach the best `limit`, so the words left only add to the documents that
        still can, looked up in their postings. The matches, for the totals, are the union
        of the required words' documents. The few documents ranked are scored again with
        the parts in the best match's order, so that the sums match `_scores`' to the bit.
        """
        words, extras = self.words, self.extras
        order = sorted(words, key=lambda word: word.bound, reverse=True)
        extra_bound = sum(word.bound for word in extras)
        partial: dict[int, float] = {}  # the sums of the words added to every document
        found = self._found
        counting = found is None
        if counting:
            found = set()  # the documents of the words added by lookup
        contenders = None  # once pruning starts: the documents that can still make the best
        # The most the `limit`-th best kept sum can be: a word adds less than its bound to
        # any sum, so the check below waits until the words left weigh less than this.
        ceiling = 0.0
        for i, word in enumerate(order):
            left = sum(w.bound for w in order[i + 1 :]) + extra_bound
            if contenders is None:
                word.add_to(partial)
                ceiling += word.bound
                if ceiling > left:
                    threshold, contenders = _contenders(partial, limit, left, excluded, allowed)
                    ceiling = threshold
            else:
                if counting:
                    found.update(word.docs)
                word.add_found(contenders)
                if word.docs and len(contenders) > limit:  # (a word no post has: no change)
                    contenders = _contenders(contenders, limit, left)[1] or contenders
        scores = partial if contenders is None else contenders
        if scores:
            for word in extras:
                word.add_found(scores)
        if counting:
            found.update(partial)
            self._found = found
        ranked = _contenders(scores, limit, 0.0, excluded, allowed)[1]
        return found, {doc: _score(doc, words, extras) for doc in ranked}


def _contenders(
    scores: dict[int, float],
    limit: int,
    left: float,
    excluded: set[int] | None = None,
    allowed: set[int] | None = None,
) -> tuple[float, dict[int, float] | None]:
    """The `limit`-th best sum in `scores` of the documents kept (not `excluded`, within
    `allowed`; 0.0 while fewer are kept), and the kept documents whose sums can still come
    up to it with at most `left` added, with their sums: None while any document can (all
    can when fewer than `limit` are kept and words are left)."""
    hidden = scores.keys() & excluded if excluded else set()
    if allowed is None and len(hidden) <= HIDDEN_AMONG_BEST:
        return _contenders_of_most(scores, limit, left, hidden)
    kept = scores.keys() - hidden
    if allowed is not None:
        kept = kept & allowed
    if len(kept) < limit:
        return 0.0, ({doc: scores[doc] for doc in kept} if left == 0.0 else None)
    best = heapq.nlargest(limit, map(scores.__getitem__, kept))[-1]
    threshold = best * (1 - SLACK)
    if left and left * (1 + SLACK) >= threshold:
        return best, None
    least = threshold - left * (1 + SLACK)
    return best, {doc: scores[doc] for doc in kept if scores[doc] >= least}


# `_contenders` takes the best sums of all documents, then leaves out up to this many
# excluded ones, rather than copying the kept documents' keys: a best match's sums are
# tens of thousands, the earlier tiers' hits among them a few.
HIDDEN_AMONG_BEST = 64


def _contenders_of_most(
    scores: dict[int, float], limit: int, left: float, hidden: set[int]
) -> tuple[float, dict[int, float] | None]:
    """`_contenders` of all documents but the few `hidden` ones (no `allowed`)."""
    if len(scores) - len(hidden) < limit:
        if left != 0.0:
            return 0.0, None
        return 0.0, {doc: score for doc, score in scores.items() if doc not in hidden}
    # The `limit` best kept sums are among the `limit + len(hidden)` best sums: less the
    # hidden documents' sums that are among them, the `limit`-th is the `limit`-th kept.
    best = heapq.nlargest(limit + len(hidden), scores.values())
    for score in map(scores.__getitem__, hidden):
        if score >= best[-1]:
            best.remove(score)
    threshold = best[limit - 1] * (1 - SLACK)
    if left and left * (1 + SLACK) >= threshold:
        return best[limit - 1], None
    least = threshold - left * (1 + SLACK)
    found = {doc: score for doc, score in scores.items() if score >= least}
    for doc in hidden:
        found.pop(doc, None)
    return best[limit - 1], found


def _part(part: query.Query, searcher, context) -> _Word | _Scored:
    if _is_word(part, searcher):
        return _Word(searcher, part)
    return _Scored(part_table(part, searcher, context))


def _score(doc: int, words: list[_Word | _Scored], extras: list[_Word | _Scored]) -> float:
    """The document's score as `BestMatch.matcher` sums it: the required words in order,
    then the optional words' sum, added if any holds the document."""
    total = 0.0
    for word in words:
        score = word.score_of(doc)
        if score is not None:
            total += score
    more = None
    for word in extras:
        score = word.score_of(doc)
        if score is not None:
            more = (0.0 if more is None else more) + score
    return total if more is None else total + more


class _Word:
    """A word's postings in a segment and its BM25 constants, as `_add_term_scores` reads
    them. `bound` is more than any score the word gives: tf / (tf + norm + slope·length) < 1
    for norm = K1·(1 − B) > 0, so a score is less than scale = idf·(K1+1)·boost."""

    def __init__(self, searcher, term: query.Term):
        fieldname, reader = term.fieldname, searcher.reader()
        self.docs, self.weights = read_frequencies(reader, fieldname, term.text)
        self.bound = 0.0
        if self.docs:
            parent = searcher.get_parent()
            self.scale, self.norm, self.slope = _constants(
                parent.idf(fieldname, term.text), parent.avg_field_length(fieldname), term.boost
            )
            self.lengths = _length_table(reader, fieldname)
            self.bound = self.scale

    def score_of(self, doc: int) -> float | None:
        """The word's score in `doc`, None if `doc` lacks it."""
        i = bisect_left(self.docs, doc)
        if i == len(self.docs) or self.docs[i] != doc:
            return None
        tf = self.weights[i]
        return self.scale * tf / (tf + self.norm + self.slope * self.lengths[doc])

    def add_to(self, scores: dict[int, float]) -> None:
        """Add the word's scores to `scores`, new documents included."""
        if not self.docs:
            return
        scale, norm, slope, lengths = self.scale, self.norm, self.slope, self.lengths
        get = scores.get
        for doc, tf in zip(self.docs, self.weights, strict=True):
            scores[doc] = get(doc, 0.0) + scale * tf / (tf + norm + slope * lengths[doc])

    def add_found(self, scores: dict[int, float]) -> None:
        """Add the word's scores to the documents of `scores` that hold it: a few looked up
        (a binary search each), many by walking the postings."""
        if len(scores) * 8 < len(self.docs):
            _add_looked_up(self, scores)
            return
        for doc, tf in zip(self.docs, self.weights, strict=True):
            if doc in scores:
                scores[doc] += self.scale * tf / (tf + self.norm + self.slope * self.lengths[doc])


class _Scored:
    """A best match's part that is not a word (`_Word`), as `_Word` offers it: its table
    (`part_table`) as documents in order and their scores; its bound is its best score."""

    def __init__(self, table: dict[int, float]):
        self.docs = sorted(table)
        self.scores = list(map(table.__getitem__, self.docs))
        self.bound = max(self.scores, default=0.0)

    def score_of(self, doc: int) -> float | None:
        i = bisect_left(self.docs, doc)
        if i == len(self.docs) or self.docs[i] != doc:
            return None
        return self.scores[i]

    def add_to(self, scores: dict[int, float]) -> None:
        get = scores.get
        for doc, score in zip(self.docs, self.scores, strict=True):
            scores[doc] = get(doc, 0.0) + score

    def add_found(self, scores: dict[int, float]) -> None:
        if len(scores) * 8 < len(self.docs):
            _add_looked_up(self, scores)
            return
        for doc, score in zip(self.docs, self.scores, strict=True):
            if doc in scores:
                scores[doc] += score


def _add_looked_up(part: _Word | _Scored, scores: dict[int, float]) -> None:
    """Add `part`'s scores to the documents of `scores` that hold it, each looked up."""
    for doc in scores:
        score = part.score_of(doc)
        if score is not None:
            scores[doc] += score


def best_documents(best: BestMatch, searcher, context) -> set[int]:
    """Every document `best` (`prunable`) matches in the searcher's segment: those of its
    required parts, a word's read without its frequencies (`codec.read_documents`)."""
    reader = searcher.reader()
    docs: set[int] = set()
    for part in best.required:
        if _is_word(part, searcher):
            docs.update(read_documents(reader, part.fieldname, part.text))
        else:
            docs.update(part_table(part, searcher, context))
    return docs
