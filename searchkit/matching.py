"""`Contains`: a Whoosh query that matches a text wherever it occurs contiguously, with its
matchers and the span finder that proximity queries use.

It runs a `plan.ContainsPlan`: the vocabulary words that can cover the text. For Chinese
text (one CJK run), an occurrence not inside one word crosses a token boundary, so the
document has one of the text's joins (the two characters around a boundary, indexed by
`Analyzer.postings`): a two-character text's join postings are its crossing occurrences; a
longer text's joins name the few documents whose stored text is then counted. Other texts
(mixed scripts, separators) are checked with word positions: the pieces must be adjacent.
Either way a match is exactly "the normalized field contains `t`", whatever jieba did with it.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, combinations

from whoosh import matching, query
from whoosh.matching import wrappers
from whoosh.query.spans import Span, SpanNear

from .analysis import RUNS, is_cjk, normalize
from .codec import (
    forget_read,
    read_documents,
    read_frequencies,
    read_join_documents,
    read_joins,
    read_positions,
    stored_text,
)
from .plan import PHRASE_TEXT_LENGTH, PHRASE_WORDS, ContainsPlan, make_plan
from .schema import BODY, JOINS
from .scoring import ScoredMatcher, bm25, bm25_table, field_lengths, idf

# A whole-word occurrence counts fully; the same characters inside a longer word, or across
# a word boundary, count this much (回购 ranks posts about 回购 above posts about 逆回购).
IN_WORD_WEIGHT = 0.4

CHECKED_OFFSETS = 3  # offsets inside a text whose covering words filter chain candidates
UNREAD_GROUP_RATIO = 20  # a word group with this many times more postings is not read
# Rough costs (µs) of reading one block of a word's positions (Whoosh's 128 postings, ~100)
# and of normalizing and counting one stored text (~65), to choose the cheaper check.
POSTINGS_BLOCK, BLOCK_READ_COST, TEXT_COUNT_COST = 128, 100, 65
WORD_READ_COST = 20  # ~ a word's documents (`read_documents`), most of it the lookup
PAIR_WORDS_READ = 64  # a text of several runs filters by a pair in at most this many words
TEXTS_READ = 200  # ... and reads the texts of at most this many candidates
# ... and keeps the words to read to those in the texts, up to this many characters of them
# (a word not in them is scanned for through all: ~0.35 ms per 300,000 characters).
WORD_FILTER_CHARS = 30_000
# What a synonym's phrase may cost (µs) to check by positions (`Contains(stored_text=False)`).
PHRASE_READ_BUDGET = 64 * BLOCK_READ_COST
CHAIN_CUTS = PHRASE_WORDS - 1  # token boundaries inside a synonym, at most
# Postings of texts' matches kept per searcher (`_counted_segments`): each document's sum,
# and the set of them when asked for, make at most two entries a posting.
COUNTED_CACHE_SIZE = 500_000
# A query word that is one character whose words have more body postings than this many
# times the posts is in nearly every post (`in_nearly_every_post`).
EVERYWHERE_POSTINGS = 2.0
# `_Matches.counts` looks a word's postings up for each document wanted when they are this
# many times more than the documents (a lookup costs ~8 postings walked), else walks them.
LOOKUP_RATIO = 8


class Contains(query.Query):
    """Matches documents whose `fieldname` contains the planned text contiguously.

    With `stored_text=False` (a synonym's alternative: not what the user typed), a Chinese
    text of three characters or more that crosses word boundaries is found only where word
    positions show tokens spelling it (`_phrase_counts`), never by reading and counting
    stored texts: those reads were most of a keyword's first run (美联储 has nine
    alternatives such as 美国联邦储备委员会, and the documents that hold all of a long
    text's character pairs are the longest ones)."""

    def __init__(
        self, fieldname: str, plan: ContainsPlan, boost: float = 1.0, stored_text: bool = True
    ):
        self.fieldname = fieldname
        self.plan = plan
        self.boost = boost
        self.stored_text = stored_text

    def __repr__(self):
        return (
            f"Contains({self.fieldname!r}, {self.plan.text!r}, boost={self.boost}"
            + ("" if self.stored_text else ", stored_text=False")
            + ")"
        )

    def _identity(self) -> tuple:
        return (self.fieldname, self.plan.text, self.boost, self.stored_text)

    def __eq__(self, other):
        return type(other) is type(self) and other._identity() == self._identity()

    def __hash__(self):
        return hash(self._identity())

    def field(self):
        return self.fieldname

    def is_leaf(self):
        return True

    def normalize(self):
        return query.NullQuery if self.plan.empty else self

    def estimate_size(self, ixreader):
        return min(ixreader.doc_count_all(), self._document_frequency(ixreader))

    def _document_frequency(self, reader) -> int:
        """Roughly how many documents match: those with a word containing the text, plus one
        (matches across word boundaries are rare, and counting them costs a search).

        Kept on the reader for the rest of the search (`forget_counts`): Whoosh sizes an
        `And`'s parts to order them each time it makes its matcher, and a question's texts
        are in its exact tier and again in its proximity part (新 is in 762 words: ~4 ms
        of term lookups a time)."""
        kept = reader.__dict__.setdefault("_searchkit_estimates", {})
        key = (self.fieldname, self.plan.text)
        if key not in kept:
            kept[key] = 1 + sum(reader.doc_frequency(self.fieldname, w) for w in self.plan.full)
        return kept[key]

    def matcher(self, searcher, context=None):
        if self.plan.empty or self.fieldname not in searcher.schema:
            return matching.NullMatcher()
        reader = searcher.reader()
        parent = searcher.get_parent()
        within = getattr(context, "within", None)  # the documents whose scores matter
        if self._is_counted(searcher):
            counts, full, scoring = self._counted(searcher, context)
            docs = sorted(counts)
            if not docs:
                return matching.NullMatcher()
            weights = list(map(counts.__getitem__, docs))
            return CountedMatcher(docs, weights, self, reader, full, scoring)
        docs, weights, full = self._checked(reader, within)
        if not docs:
            return matching.NullMatcher()
        return CountedMatcher(docs, weights, self, reader, full, self._scoring(parent, context))

    def score_table(self, searcher, context=None) -> dict[int, float] | None:
        """{document: score} of what the matcher matches, for a text counted in advance
        (None for another: ask its matcher): a best match adds its parts' tables up, and
        the matcher's lists in document order cost more than the scores (~20 µs a part).
        With `within` in the context (`setwise`), only those documents are scored."""
        if self.plan.empty or not self._is_counted(searcher):
            return None
        counts, _, scoring = self._counted(searcher, context)
        if not counts:  # (an empty index's reader has no length table)
            return {}
        return scoring.table(counts, field_lengths(searcher.reader(), self.fieldname))

    def documents(self, searcher, context=None) -> set[int] | None:
        """The documents the text is in, in the searcher's segment, for a text counted in
        advance (None for another: they are known once its matcher has checked them).
        Shared: callers must not change it."""
        if self.plan.empty or self.fieldname not in searcher.schema:
            return set()
        if not self._is_counted(searcher):
            return None
        return self._segment_matches(searcher)[0].docs

    def _is_counted(self, searcher) -> bool:
        """Whether the text's matches are counted in advance (`_counts`): one run, in a
        field with joins."""
        return (
            self.plan.one_run
            and self.fieldname in searcher.schema
            and JOINS.get(self.fieldname) in searcher.schema
        )

    def _counted(self, searcher, context) -> tuple[dict[int, float], list[str], _Scoring]:
        """The text's weighted occurrences in the searcher's segment (`_Matches.counts`: of
        the documents `within` in the context, if it has them), the words containing it
        that the segment has, and its BM25 constants."""
        matches, counted = self._segment_matches(searcher)
        counts = matches.counts(getattr(context, "within", None))
        # The matches of every segment are found, so their number is exact.
        df = sum(len(segment) for segment in counted.values()) or len(matches)
        return counts, matches.full, self._scoring(searcher.get_parent(), context, df)

    def _segment_matches(self, searcher) -> tuple[_Matches, dict[int, _Matches]]:
        """`_counts` of the searcher's segment, and those of every segment of its parent."""
        reader = searcher.reader()
        counted = self._counted_segments(searcher.get_parent())
        return counted[id(reader)] if id(reader) in counted else self._counts(reader), counted

    def _scoring(self, parent, context, df: int | None = None) -> _Scoring:
        """BM25's constants for this text; `df` is its document frequency, if known."""
        if df is None:
            df = self._document_frequency(parent.reader())
        return _Scoring(
            idf=idf(parent.doc_count_all(), df) * self.boost,
            avgdl=parent.avg_field_length(self.fieldname) or 1.0,
            scored=context is None or context.weighting is not None,
        )

    def _counted_segments(self, parent) -> dict[int, _Matches]:
        """`_counts` of every segment of the searcher `parent`, by id of its reader: counted
        once for the whole search, so a query over several segments knows its exact document
        frequency (an estimate from the words' frequencies costs a term lookup for every word
        containing the text in every segment: on two segments, 3x the time of one).

        Kept on the searcher by field and text (up to `COUNTED_CACHE_SIZE` postings in
        all) for the rest of the search, not per query: a question's proximity part counts
        the same body texts again in `Contains` of its own, and the relaxed tier a word the
        vocabulary lacks; that was ~a third of a headline's exact tier (measured on the
        19,547 news articles). `forget_counts` ends a search's counts."""
        cache = parent.__dict__.setdefault("_searchkit_counts", {})
        key = (self.fieldname, self.plan.text, self.stored_text)
        counted = cache.get(key)
        if counted is None:
            leaves = [leaf for leaf, _ in parent.leaf_searchers()]
            counted = {id(leaf.reader()): self._counts(leaf.reader()) for leaf in leaves}
            size = sum(matches.size for matches in counted.values())
            kept = sum(matches.size for each in cache.values() for matches in each.values())
            if kept + size > COUNTED_CACHE_SIZE:
                cache.clear()
            cache[key] = counted
        return counted

    def _counts(self, reader) -> _Matches:
        """For a one-run text: its matches in this segment (`_Matches`: the postings of the
        words containing it and of its crossings, its documents and their weighted
        occurrences made from them when asked for). Occurrences inside a longer word and
        across word boundaries weigh `IN_WORD_WEIGHT`."""
        text, field = self.plan.text, self.fieldname
        postings: list[tuple[float, list[int], Sequence[int]]] = []
        # The postings of the words the text is inside, and how often it is in each: only
        # the stored-text count below needs them, for its few documents.
        inside: list[tuple[int, list[int], array]] = []
        needs_inside = self.stored_text and len(text) > 2 and is_cjk(text)
        full = []
        for word in self.plan.full:
            docs, frequencies = read_frequencies(reader, field, word)
            if not docs:
                continue
            full.append(word)
            postings.append((1.0 if word == text else IN_WORD_WEIGHT, docs, frequencies))
            if needs_inside:
                inside.append((word.count(text), docs, frequencies))
        crossing: dict[int, float] = {}
        if len(text) == 2 and is_cjk(text):
            # The join is the text: its postings count the crossings.
            docs, frequencies = read_joins(reader, JOINS[field], text)
            if docs:
                postings.append((IN_WORD_WEIGHT, docs, frequencies))
        elif len(text) > 2 and is_cjk(text):
            crossing = self._crossing(reader, inside)
        return _Matches(full, postings, crossing)

    def _crossing(self, reader, inside) -> dict[int, float]:
        """{document: weighted occurrences across token boundaries} of a Chinese text of
        three characters or more; `inside`: as `_occurrences_inside` takes it."""
        text, field = self.plan.text, self.fieldname
        joins = JOINS[field]
        # The documents where each character pair crosses a token boundary (read once: the
        # rarest pairs and the phrases' boundaries below are among them).
        joined = {
            pair: set(read_join_documents(reader, joins, pair))
            for pair in dict.fromkeys(text[i : i + 2] for i in range(len(text) - 1))
        }
        candidates = set().union(*joined.values())
        for pair in self.plan.pairs:  # keep those that have the rarest pairs
            if not candidates:
                break
            words = self.plan.pair_occurrences(pair)  # at least the words to read
            if self.stored_text and words * WORD_READ_COST > len(candidates) * TEXT_COUNT_COST:
                break  # counting the few candidates' texts costs less than this filter
            having = self._documents(reader, self.plan.pair_words(pair))
            having |= joined[pair]
            candidates &= having
        # Where jieba cut the text into whole words, their positions confirm it; elsewhere
        # the stored text is normalized and counted (~65 µs a document), but for a synonym.
        phrases = _phrase_counts(reader, field, self.plan, candidates, joined, self.stored_text)
        found = {}
        for doc in sorted(candidates):
            crossing = phrases.get(doc)
            if crossing is None and not self.stored_text:
                continue
            if crossing is None:
                stored = normalize(stored_text(reader, doc, field))
                crossing = stored.count(text) - _occurrences_inside(inside, doc)
            if crossing > 0:
                found[doc] = crossing * IN_WORD_WEIGHT
        return found

    def _checked(self, reader, within: set[int] | None) -> tuple[list[int], list, list[str]]:
        """For a text not counted in advance (several runs, or a field without joins): the
        documents (within `within`, if given) where its words' positions spell it, its
        weighted occurrences there, and the words containing it that the segment has.
        The candidates' positions are read in bulk, for all of them."""
        candidates, full, texts = self._candidates(reader, within)
        candidates = sorted(candidates)
        finder = SpanFinder(self, reader, full, candidates, texts)
        docs, weights = [], []
        for doc in candidates:
            spans, weight = finder.find(doc)
            if spans:
                docs.append(doc)
                weights.append(weight)
        return docs, weights, full

    def _candidates(self, reader, within) -> tuple[set[int], list[str], str | None]:
        """The documents that may hold the text, the words containing it that the segment
        has, and the candidates' normalized texts (joined by newlines) when read."""
        present = lambda words: [w for w in words if (self.fieldname, w) in reader]  # noqa: E731
        full = present(self.plan.full)
        having = self._pair_documents(reader)
        read_texts = self.stored_text and not self.plan.one_run
        if having is not None and (not having or (read_texts and len(having) <= TEXTS_READ)):
            # None or a few documents have the pairs (their texts are read below): the chain
            # candidates (a lookup for each of hundreds of words) are not needed.
            candidates = having
        else:
            length = len(self.plan.text)
            starts = present({w for e in self.plan.edges if e.start == 0 for w in e.words})
            ends = present({w for e in self.plan.edges if e.end == length for w in e.words})
            # The candidates as one list of document numbers: a Whoosh union of hundreds of
            # posting lists (中国 is in 300 words) costs far more to walk than to read once.
            candidates = self._documents(reader, full) if full else set()
            if starts and ends:
                candidates |= self._chain_candidates(reader, present, starts, ends, having)
            if having is not None:
                candidates &= having
        if within is not None:
            candidates &= within
        texts = None
        if read_texts and len(candidates) <= TEXTS_READ:
            candidates, texts = self._holding_runs(reader, candidates)
            if len(texts) > WORD_FILTER_CHARS:  # looking for hundreds of words costs more
                texts = None
        return candidates, full, texts

    def _chain_candidates(self, reader, present, starts, ends, found=None) -> set[int]:
        """Documents that may hold a chain: with a word that can start one, a word that can
        end it, and, at a few offsets inside the text, a word that can cover that offset
        (every chain has exactly one edge over each offset). This is only a filter, since
        the matcher checks positions, so the word groups are read rarest first and a group
        far more common than the candidates left is not read at all (中国会 need not read
        the postings of every word starting with 会)."""
        length = len(self.plan.text)
        offsets = {length * i // (CHECKED_OFFSETS + 1) for i in range(1, 1 + CHECKED_OFFSETS)}
        groups = [starts, ends] + [
            present({w for e in self.plan.edges if e.start <= offset < e.end for w in e.words})
            for offset in sorted(offsets - {0, length - 1})
        ]
        sized = sorted(
            (sum(reader.doc_frequency(self.fieldname, w) for w in group), index)
            for index, group in enumerate(groups)
        )
        for size, index in sized:
            if found is not None and (not found or size > UNREAD_GROUP_RATIO * len(found)):
                break
            documents = self._documents(reader, groups[index])
            found = documents if found is None else found & documents
        return found or set()

    def _pair_documents(self, reader) -> set[int] | None:
        """The documents that have the plan's rarest character pairs (`ContainsPlan.pairs`)
        in a word or across a token boundary (a join); None when not known (no pairs, no
        joins, or pairs in too many words to read). Tokens that spell a Chinese run of the
        text stand in one run of the document, so a document holding the text holds its
        Chinese runs and their pairs. A headline pasted as a question is a text of several
        runs (第20届东亚峰会), found by its tokens' positions: hundreds of candidates in
        the body (~100 µs each), most without it, and more word groups read to find them."""
        joins = JOINS.get(self.fieldname)
        if joins not in reader.schema:
            return None
        found = None
        for pair in self.plan.pairs:
            if self.plan.pair_occurrences(pair) > PAIR_WORDS_READ:
                break
            having = self._documents(reader, self.plan.pair_words(pair))
            having.update(read_join_documents(reader, joins, pair))
            found = having if found is None else found & having
            if not found:
                break
        return found

    def _holding_runs(self, reader, candidates: set[int]) -> tuple[set[int], str]:
        """The candidates whose normalized stored text holds each run of the text, and
        their texts (joined by newlines), checked before their positions are: a document
        with tokens spelling the text holds its runs (see `_pair_documents`), and reading
        a stored text (~65 µs) costs less than walking the positions of the hundreds of
        words that can start or end a long text. The texts then tell which of those words
        can be the candidates' tokens at all (`SpanFinder`)."""
        runs = [match.group() for match in RUNS.finditer(self.plan.text)]
        field = self.fieldname
        holding, texts = set(), []
        for doc in candidates:
            text = normalize(stored_text(reader, doc, field))
            if all(run in text for run in runs):
                holding.add(doc)
                texts.append(text)
        return holding, "\n".join(texts)

    def _documents(self, reader, words) -> set[int]:
        return set().union(*(read_documents(reader, self.fieldname, word) for word in words))

    def positions(self, reader, words) -> list[tuple[str, object]]:
        """Fresh (word, postings matcher) pairs, to read positions from."""
        return [
            (w, reader.postings(self.fieldname, w)) for w in words if (self.fieldname, w) in reader
        ]


@dataclass
class _Matches:
    """A one-run text's matches in a segment (`Contains._counts`): the words containing the
    text that the segment has, and the postings each document's weighted occurrences are
    summed from; the set of the documents and their sums are made when asked for (`docs`,
    `counts`), and kept for the search.

    A question's exact tier wants every document of each text (中国, 新: most of the news
    articles), to intersect them and for the texts' document frequencies, but the weighted
    occurrences only of the few documents that have them all (`setwise._within`). Summing
    them for every document, a posting at a time in Python, was half of counting such a
    text (新: 762 words, 160,000 postings on 60,000 articles)."""

    full: list[str]
    # (weight, documents, frequencies): each of the words' postings, in the plan's order,
    # then a two-character text's join postings (its occurrences across a token boundary).
    postings: list[tuple[float, list[int], Sequence[int]]]
    crossing: dict[int, float]  # a longer text's weighted occurrences across boundaries
    summed: dict[int, float] = field(default_factory=dict)  # the documents' sums so far
    complete: bool = False  # whether `summed` has every match
    _docs: set[int] | None = None

    @property
    def docs(self) -> set[int]:
        """The documents (shared: callers must not change it), their set made when first
        asked for (a keyword's exact tier sums every match, and needs no set)."""
        if self._docs is None:
            self._docs = set().union(*(docs for _, docs, _ in self.postings))
            self._docs.update(self.crossing)
        return self._docs

    def __len__(self) -> int:
        return len(self.summed) if self.complete else len(self.docs)

    @property
    def size(self) -> int:
        """The postings the matches are summed from."""
        return sum(len(docs) for _, docs, _ in self.postings) + len(self.crossing)

    def counts(self, within: set[int] | None = None) -> dict[int, float]:
        """{document: weighted occurrences} of every match, or of the matches in `within`
        (shared: callers must not change it). Each document's sum is made once a search, in
        the same order whichever documents are asked for, so it is the same to the bit: for
        all matches at once when most are asked for, else for those not summed yet, a word's
        postings walked, or looked up for each document of a few."""
        if not self.complete and (within is None or 2 * len(within) > len(self)):
            self.summed, self.complete = self._all_counts(), True
        if self.complete:
            if within is None:
                return self.summed
            return {doc: self.summed[doc] for doc in within & self.summed.keys()}
        docs = within & self.docs
        missing = docs - self.summed.keys()
        if missing:
            self.summed.update(self._some_counts(missing))
        return {doc: self.summed[doc] for doc in docs}

    def _some_counts(self, docs: set[int]) -> dict[int, float]:
        counts: dict[int, float] = {}
        get = counts.get
        for weight, word_docs, frequencies in self.postings:
            if len(docs) * LOOKUP_RATIO < len(word_docs):
                for doc in docs:
                    i = bisect_left(word_docs, doc)
                    if i < len(word_docs) and word_docs[i] == doc:
                        counts[doc] = get(doc, 0.0) + frequencies[i] * weight
            else:
                for doc, frequency in zip(word_docs, frequencies, strict=True):
                    if doc in docs:
                        counts[doc] = get(doc, 0.0) + frequency * weight
        for doc in docs & self.crossing.keys():
            counts[doc] = get(doc, 0.0) + self.crossing[doc]
        return counts

    def _all_counts(self) -> dict[int, float]:
        counts: dict[int, float] = {}
        for weight, docs, frequencies in self.postings:
            postings = zip(docs, frequencies, strict=True)
            if not counts:  # the first word's list as it is (0.0 + x is x): at C speed for the text
                counts = dict(postings) if weight == 1.0 else {d: f * weight for d, f in postings}
            else:
                get = counts.get
                for doc, frequency in postings:
                    counts[doc] = get(doc, 0.0) + frequency * weight
        for doc, crossing in self.crossing.items():
            counts[doc] = counts.get(doc, 0.0) + crossing
        return counts


def _occurrences_inside(inside: list[tuple[int, list[int], array]], doc: int) -> int:
    """How often a text occurs inside the words of document `doc`: `inside` holds each word's
    (occurrences of the text in it, documents in order, their frequencies)."""
    total = 0
    for times, docs, frequencies in inside:
        i = bisect_left(docs, doc)
        if i < len(docs) and docs[i] == doc:
            total += int(frequencies[i]) * times
    return total


def in_nearly_every_post(searcher, vocab, character: str) -> bool:
    """Whether the posts' bodies have the words containing `character` more than
    `EVERYWHERE_POSTINGS` times as often as there are posts (the sum of their document
    frequencies, which `Contains` sizes a text by): a character such a query word nearly
    every post contains (新, 大, 人 in news; 杀, 猫 are far below), see `query.build`."""
    reader = searcher.reader()
    posts = reader.doc_count()
    text = Contains(BODY, make_plan(character, vocab))
    return posts > 0 and text._document_frequency(reader) > EVERYWHERE_POSTINGS * posts


def forget_counts(searcher) -> None:
    """Drop the texts' counts kept on `searcher` (`Contains._counted_segments`), and the
    postings and size estimates its readers keep (`codec.forget_read`,
    `Contains._document_frequency`): they serve the parts of one search. A new query counts
    its texts anew, even the words an earlier query shared, so that its first run costs what
    a query new to the index costs (the figure docs/speed.md measures), and the kept counts
    never outgrow one search's."""
    searcher.__dict__.pop("_searchkit_counts", None)
    searcher.reader().__dict__.pop("_searchkit_estimates", None)
    for leaf, _ in searcher.leaf_searchers():
        forget_read(leaf.reader())
        leaf.reader().__dict__.pop("_searchkit_estimates", None)


def _phrase_counts(
    reader,
    field: str,
    plan: ContainsPlan,
    candidates: set[int],
    joined: dict[str, set[int]],
    exact: bool = True,
) -> dict[int, int]:
    """{document: occurrences} of the candidates where tokens spell the (Chinese) text across
    token boundaries, as word positions show; a document is counted by the first spelling
    found (see `_spellings`). `joined`: the documents where each of the text's character
    pairs crosses a token boundary.

    A document with a spelling has the joins at its boundaries (美国|国债: 国国), so only
    the candidates with every one of them are looked at, and a token's word positions are
    read rarest first, for the documents that had the tokens before: a common word such as
    美国 reads only the blocks that hold those documents. When `exact`, a spelling whose
    positions cost more to read than counting the text in the candidates' stored texts is
    left to that count; otherwise one that costs more than `PHRASE_READ_BUDGET` is not
    counted."""
    found: dict[int, int] = {}
    for cuts, groups_of in _spellings(plan, exact):
        todo = candidates - found.keys()
        for cut in cuts:
            if not todo:
                break
            todo &= joined[plan.text[cut - 1 : cut + 1]]
        groups = groups_of(cuts) if todo else None
        if groups is None:
            continue
        todo = sorted(todo)
        frequencies = [[reader.doc_frequency(field, word) for word in group] for group in groups]
        # At most a block a document for each word: fewer for a word in few blocks.
        blocks = sum(
            min(-(-frequency // POSTINGS_BLOCK), len(todo))
            for group in frequencies
            for frequency in group
        )
        affordable = len(todo) * TEXT_COUNT_COST if exact else PHRASE_READ_BUDGET
        if blocks * BLOCK_READ_COST > affordable:
            continue
        positions: list[dict[int, set[int]]] = [{}] * len(groups)
        for i in sorted(range(len(groups)), key=lambda i: sum(frequencies[i])):
            positions[i] = _group_positions(reader, field, groups[i], todo)
            todo = sorted(positions[i])
            if not todo:
                break
        for doc in todo:
            later = [p.get(doc, ()) for p in positions[1:]]
            count = sum(
                all(start + i in after for i, after in enumerate(later, 1))
                for start in positions[0].get(doc, ())
            )
            if count:
                found[doc] = count
    return found


def _spellings(plan: ContainsPlan, exact: bool):
    """(token boundaries inside the text, a function of them giving the tokens' word groups
    or None): when `exact`, the plan's phrases (the text as whole words: its stored text
    counts the rest); otherwise every way with up to `CHAIN_CUTS` boundaries, fewest first,
    with the first and last token possibly longer (`ContainsPlan.chain_groups`)."""
    if exact:
        for phrase in plan.phrases:
            cuts = tuple(accumulate(len(word) for word in phrase[:-1]))
            yield cuts, lambda cuts, phrase=phrase: tuple((word,) for word in phrase)
        return
    if len(plan.text) > PHRASE_TEXT_LENGTH:
        return
    for count in range(1, min(CHAIN_CUTS, len(plan.text) - 1) + 1):
        for cuts in combinations(range(1, len(plan.text)), count):
            yield cuts, plan.chain_groups


def _group_positions(reader, field: str, words, docs: list[int]) -> dict[int, set[int]]:
    """{document: positions of any of `words`} for those of `docs` that have one."""
    if len(words) == 1:
        return read_positions(reader, field, words[0], docs)
    merged: dict[int, set[int]] = {}
    for word in words:
        for doc, positions in read_positions(reader, field, word, docs).items():
            merged.setdefault(doc, set()).update(positions)
    return merged


@dataclass(frozen=True)
class _Scoring:
    """BM25's constants for a text (`Contains._scoring`); a search that scores nothing (a
    date sort) counts each match 1."""

    idf: float
    avgdl: float
    scored: bool

    def scores(self, docs: list[int], weights: list[float], length: Callable) -> list[float]:
        """The BM25 scores of documents with the text's weighted occurrences `weights`."""
        if not self.scored:
            return [1.0] * len(docs)
        return bm25(docs, weights, length, self.idf, self.avgdl)

    def table(self, counts: dict[int, float], length: Callable) -> dict[int, float]:
        """`scores` as {document: score}, of the documents and weighted occurrences in
        `counts`."""
        if not self.scored:
            return dict.fromkeys(counts, 1.0)
        return bm25_table(counts.items(), length, self.idf, self.avgdl)


class _Positions:
    """Positions of many words' postings, visited in increasing document order. A heap keyed
    by each matcher's current document moves only the matchers that are behind, so walking
    all candidates reads each posting list once (not once per candidate)."""

    def __init__(self, members: list[tuple[str, object]]):
        self.members = members
        self.heap = [(m.id(), i) for i, (_, m) in enumerate(members) if m.is_active()]
        heapq.heapify(self.heap)

    def at(self, docnum: int) -> list[tuple[str, list[int]]]:
        """(word, positions) of the words in document `docnum`."""
        heap, members = self.heap, self.members
        while heap and heap[0][0] < docnum:
            _, i = heapq.heappop(heap)
            matcher = members[i][1]
            matcher.skip_to(docnum)
            if matcher.is_active():
                heapq.heappush(heap, (matcher.id(), i))
        here = []
        while heap and heap[0][0] == docnum:
            here.append(heapq.heappop(heap))
        found = []
        for entry in here:
            word, matcher = members[entry[1]]
            found.append((word, matcher.value_as("positions")))
            heapq.heappush(heap, entry)
        return found


class _ReadPositions:
    """`_Positions` for documents known in advance: each word's positions in them read in
    bulk (`codec.read_positions`), a block at a time, rather than one `skip_to` a document
    (on the 19,547 news articles, most of the time a question's proximity spans took)."""

    def __init__(self, reader, fieldname: str, words, docs: list[int]):
        # By document: a text's edge may have hundreds of words (those starting with 年),
        # each in a few of the documents.
        self.found: dict[int, list[tuple[str, set[int]]]] = {}
        for word in words:
            for doc, positions in read_positions(reader, fieldname, word, docs).items():
                self.found.setdefault(doc, []).append((word, positions))

    def at(self, docnum: int) -> list[tuple[str, list[int]]]:
        return [(word, sorted(positions)) for word, positions in self.found.get(docnum, ())]


class SpanFinder:
    """Where the text occurs in one candidate document after another (increasing document
    numbers), as token spans, and how much those occurrences weigh. It reads positions
    through postings matchers of its own, made on first need; or, given the documents it
    will be asked about (`docs`, sorted), in bulk for all of them. Given their normalized
    `texts` (joined by newlines), it reads only the words that occur in them: the words
    that can start a long text are hundreds (those ending with 中), a candidate's few."""

    def __init__(
        self,
        query: Contains,
        reader,
        full: list[str],
        docs: list[int] | None = None,
        texts: str | None = None,
    ):
        self.query = query
        self.plan = query.plan
        self.reader = reader
        self.full_words = full
        self.docs = docs
        self.texts = texts
        self._full = None
        self._edges = None
        self._chain_docs = None  # with `docs`: those without a whole-word occurrence

    def _positions(self, words, docs: list[int] | None):
        if docs is None:
            return _Positions(self.query.positions(self.reader, words))
        return _ReadPositions(self.reader, self.query.fieldname, words, docs)

    def find(self, docnum: int) -> tuple[list[Span], float]:
        if self._full is None:
            self._full = self._positions(self.full_words, self.docs)
        spans = []
        weight = 0.0
        for word, positions in self._full.at(docnum):
            spans.extend(Span(p) for p in positions)
            weight += len(positions) * (1.0 if word == self.plan.text else IN_WORD_WEIGHT)
        if not spans:
            # Only documents without a whole-word occurrence need the slower chain check.
            for span, exact in self._chains(docnum):
                spans.append(span)
                weight += 1.0 if exact else IN_WORD_WEIGHT
        return sorted(set(spans)), weight

    def _chains(self, docnum) -> list[tuple[Span, bool]]:
        """Token chains that spell the text across word boundaries: (span, all whole words).
        Edges are read from offset 0 on, only as far as some chain reaches, and an edge's
        postings are opened only when a chain first reaches it (a synonym's plan can hold
        hundreds of words that no candidate gets to)."""
        if self._edges is None:
            self._edges = {}
            for edge in self.plan.edges:
                self._edges.setdefault(edge.start, []).append([edge, None])
        length = len(self.plan.text)
        here: dict[int, list[tuple[int, set[int], set[int]]]] = {}

        def edges_at(offset: int) -> list[tuple[int, set[int], set[int]]]:
            if offset not in here:
                here[offset] = []
                for entry in self._edges.get(offset, ()):
                    edge, members = entry
                    if members is None:
                        words = edge.words
                        if self.texts is not None:  # the others are none of their tokens
                            words = [word for word in words if word in self.texts]
                        members = entry[1] = self._positions(words, self._chained())
                    found = members.at(docnum)
                    if found:
                        anywhere = {p for _, plist in found for p in plist}
                        exact = {p for word, plist in found if word == edge.piece for p in plist}
                        here[offset].append((edge.end, anywhere, exact))
            return here[offset]

        chains = []
        for end, starts, exact_starts in edges_at(0):
            for p in sorted(starts):
                found = self._follow(end, p, edges_at, length)
                if found is not None:
                    chains.append((Span(p, found[0]), p in exact_starts and found[1]))
        return chains

    def _chained(self) -> list[int] | None:
        """With `docs` known, those that may need a chain: without a whole-word occurrence."""
        if self.docs is not None and self._chain_docs is None:
            whole = self._full.found.keys()
            self._chain_docs = [doc for doc in self.docs if doc not in whole]
        return self._chain_docs

    def _follow(self, offset, pos, edges_at, length):
        """(end position, last token whole) of a chain going on at `offset` after `pos`."""
        stack = [(offset, pos, True)]
        seen = set()
        while stack:
            offset, pos, whole = stack.pop()
            if offset == length:
                return pos, whole
            if (offset, pos) in seen:
                continue
            seen.add((offset, pos))
            nxt = pos + (2 if offset in self.plan.gaps else 1)
            for end, anywhere, exact in edges_at(offset):
                if nxt in anywhere:
                    stack.append((end, nxt, nxt in exact))
        return None


class CountedMatcher(ScoredMatcher):
    """The documents of a `Contains` whose occurrences were counted in advance
    (`Contains._counts`, or checked by positions for a text of several runs), with their
    BM25 scores. Spans, which only proximity queries ask for, are found on demand."""

    def __init__(self, docs, weights, query, reader, full, scoring, position=0, scores=None):
        if scores is None:
            length = field_lengths(reader, query.fieldname)
            scores = scoring.scores(docs, weights, length)
        super().__init__(docs, scores, position)
        self.weights = weights
        self.query, self.reader, self.full_words, self.scoring = query, reader, full, scoring
        self._finder = None

    def copy(self):
        return CountedMatcher(
            self.docs, self.weights, self.query, self.reader, self.full_words, self.scoring,
            self.i, self.scores,
        )  # fmt: skip

    def weight(self):
        return self.weights[self.i]

    def spans(self):
        if self._finder is None:
            self._finder = SpanFinder(self.query, self.reader, self.full_words)
        return self._finder.find(self.id())[0]


class Near(SpanNear):
    """`SpanNear` that can size itself, so Whoosh can plan `And` queries containing it, and
    whose matcher finds its first match on first use (`NearMatcher`)."""

    def estimate_size(self, ixreader):
        return min(self.a.estimate_size(ixreader), self.b.estimate_size(ixreader))

    def estimate_min_size(self, ixreader):
        return 0

    def matcher(self, searcher, context=None):
        return NearMatcher(
            self.a.matcher(searcher, context),
            self.b.matcher(searcher, context),
            slop=self.slop,
            ordered=self.ordered,
            mindist=self.mindist,
        )


class NearMatcher(SpanNear.SpanNearMatcher):
    """Whoosh's `SpanNear` matcher, but it looks for its first match when first asked, not
    when it is made: a question's proximity part is evaluated a list at a time
    (`setwise`), from its texts' lists, and never walked, while finding the first match
    costs the spans of every document before it (~a fifth of a headline's exact tier)."""

    def __init__(self, a, b, slop=1, ordered=True, mindist=1):
        self.a, self.b = a, b
        self.slop, self.ordered, self.mindist = slop, ordered, mindist
        wrappers.WrappingMatcher.__init__(self, matching.IntersectionMatcher(a, b))
        self._spans = None
        self._pending = True

    def _start(self):
        if self._pending:
            self._pending = False
            if self.child.is_active():
                self._find_next()

    def is_active(self):
        self._start()
        return self.child.is_active()

    def id(self):
        self._start()
        return self.child.id()

    def spans(self):
        self._start()
        return self._spans

    def next(self):
        self._start()
        return super().next()

    def skip_to(self, id):
        self._start()
        return super().skip_to(id)

    def score(self):
        self._start()
        return super().score()

    def weight(self):
        self._start()
        return super().weight()

    def value(self):
        self._start()
        return super().value()

    def value_as(self, astype):
        self._start()
        return super().value_as(astype)

    def reset(self):
        self.child.reset()
        self._pending = True
