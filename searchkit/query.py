"""The query language -> Whoosh queries, in three tiers: exact hits, synonym hits, best match.

Syntax: whitespace-separated terms are ANDed; `"quoted phrase"`; `a OR b` (binds tighter
than the implicit AND); `-term` / `NOT term`; `title:`, `body:`, `tag:`, `category:` and
`date:2022-06` / `date:2022-06-01..2022-06-30` (either end may be left out).

Every text term matches exactly the documents whose normalized title or body contains it
(see `matching.Contains`). Outside exact mode an unquoted term of several words (美联储加息)
is searched as its words, each by that rule, anywhere in the post; their standing close
together raises the score. Every query but a single phrase or a field search is then
topped up with best-match hits on its words; those rank below the others and are flagged
`exact=False`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from whoosh import query as wq

from .analysis import CJK_CHARS, WORD_CHAR, Analyzer, is_cjk, normalize
from .dates import to_index_time
from .errors import QueryError
from .matching import IN_WORD_WEIGHT, Contains, Near
from .plan import make_plan
from .schema import BODY, TITLE
from .scoring import BestMatch
from .synonyms import Synonyms
from .vocabulary import Vocabulary

# Title matches count this much more than body matches. A keyword in a post's title says the
# post is about it; the words of a question are spread over the passage that answers it, and a
# title is shared by every passage of an article (measured on cmrc2018/drcd: 2.5 -> 0.7 took
# DRCD MRR@10 from 0.929 to 0.955), so the relaxed tier weighs titles less.
TITLE_BOOST = 2.5
RELAXED_TITLE_BOOST = 0.7
PROXIMITY_SLOP = 8
# A text of more words than this is a sentence (a pasted question), not keywords: it is not
# split into words that must all occur, only tried as typed, then best-matched. Requiring
# all of a question's words doubled CMRC's p50 time and p95 x4, for MRR@10 0.9841 vs 0.9846.
MAX_SPLIT = 4
PAIR_WEIGHT = 0.5  # a word no post has also counts by its character pairs, at this weight
SYNONYM_WEIGHT = 0.5  # a synonym of a best-match word counts half as much as the word
# Letters and digits run together (3dmax2014, galaxya7): in the best-match tier such a run
# also finds the tokens containing it and the tokens spelling it, for IN_WORD_WEIGHT.
LATIN_RUN = re.compile(rf"{WORD_CHAR}+")
LATIN_INSIDE_MIN = 3
LATIN_LONGER_WORDS = 50
LATIN_SPLIT_MAX = 64
MAX_QUERY_LENGTH = 2000
# Whoosh nests the matchers of an AND about one level a term: ~1,000 terms overflow Python's
# stack (RecursionError), and each term costs time. No person types more than this.
MAX_TERMS = 100

FIELD_ALIASES = {
    "title": "title",
    "body": "body",
    "tag": "tags",
    "tags": "tags",
    "category": "categories",
    "categories": "categories",
    "date": "date",
}

# Question and function words: they carry no topic, so no query needs them (美联储什么时候
# 开始缩表 needs 美联储, 开始 and 缩表) and best match ignores them.
STOP_WORDS = frozenset(
    normalize(w)
    for w in """什么 什麼 哪 哪个 哪些 哪里 哪儿 哪一 哪一个 哪一年 哪年 哪位 哪种 谁 多少 几 几个
    怎么 怎样 怎么样 如何 为什么 为何 何 何时 何地 何种 是否 吗 呢 吧 啊 的 地 得 了 着 过 是
    在 和 与 及 或 被 把 将 对 从 到 由 为 以 于 也 都 就 而 并 等 之 其 该 这 那 这个 那个 一个
    有 有没有 没有 会 能 可以 多 多久 多长 多大 呢 所 上 中 下 又 还 即 则 曾 年 月 日
    什么时候 时候 是什么 什么样 怎么办 咋 啥 为啥 哪家 哪儿 请问 一下""".split()
)

_TOKEN = re.compile(
    r"\s*(?:(?P<empty>-?[A-Za-z]+):(?=\s|$)|(?P<neg>-(?=\S))?(?:(?P<field>[A-Za-z]+):(?=\S|$))?"
    # Quotes make a phrase only when paired; a stray one is punctuation (people paste text
    # like 又叫”角瓜“ or “吾无汗马劳。"这句话).
    r'(?:"(?P<dq>[^"]*)"|“(?P<cq>[^“”"]*)”|(?P<stray>")|(?P<word>[^\s"]+)))'
)
_EDGE_SEPARATORS = re.compile(rf"^[^\w{CJK_CHARS}]+|[^\w{CJK_CHARS}]+$")


@dataclass
class Clause:
    """One term of a query: `field` None means title or body."""

    text: str
    field: str | None = None
    phrase: bool = False
    negated: bool = False
    # A character of a split term that nearly every post contains (`_split_words`): not
    # required, nor looked for beside its neighbours, by the exact tier.
    everywhere: bool = False


@dataclass
class ParsedQuery:
    """AND of OR-groups of clauses."""

    groups: list[list[Clause]] = field(default_factory=list)
    has_operators: bool = False
    question: bool = False  # the query ends with a question mark

    @property
    def clauses(self) -> list[Clause]:
        return [c for group in self.groups for c in group]

    def text_terms(self) -> list[str]:
        """The normalized texts of the positive title/body clauses (for highlighting)."""
        return [
            c.text
            for c in self.clauses
            if not c.negated and c.field in (None, TITLE, BODY) and c.text
        ]


def parse(query_string: str, blank_ok: bool = False) -> ParsedQuery:
    """Parse a query string. Raises `QueryError` with a message for people.

    A blank query (nothing but spaces) is an error unless `blank_ok`: then it parses to no
    terms, which `build` turns into "every post" (for a search with filters only, such as
    `search("", category="xwlb")`). Punctuation alone is still an error.
    """
    if not isinstance(query_string, str):
        raise QueryError("the query must be a string")
    if len(query_string) > MAX_QUERY_LENGTH:
        raise QueryError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
    if "\0" in query_string:
        query_string = query_string.replace("\0", " ")
    try:
        query_string.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes in argv that are not UTF-8
        raise QueryError("the query is not valid UTF-8 text") from None
    parsed = ParsedQuery(question=query_string.rstrip().endswith(("?", "？")))
    group: list[Clause] = []
    pending_or = False
    negate_next = False
    pos = 0
    while pos < len(query_string):
        match = _TOKEN.match(query_string, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
        if match.group("empty") is not None:
            name = match.group("empty").lstrip("-").lower()
            if name in FIELD_ALIASES:
                raise QueryError(
                    f"{name}: needs a value, e.g. {name}:2022-06"
                    if name == "date"
                    else f"{name}: needs a value"
                )
            raise QueryError(
                f"{name}: is not a field; the fields are title, body, tag, category and date"
            )
        if match.group("stray") is not None:
            continue
        word = match.group("word")
        fieldname = match.group("field")
        if word in ("OR", "AND", "NOT") and not fieldname and not match.group("neg"):
            if word == "OR":
                if not group or pending_or or negate_next:
                    raise QueryError("OR needs a term on each side")
                pending_or = True
            elif word == "NOT":
                if negate_next:
                    raise QueryError("NOT needs a term after it")
                negate_next = True
            parsed.has_operators = True
            continue
        clause = _clause(match, fieldname, negate_next)
        negate_next = False
        if clause is None:
            continue
        parsed.has_operators |= clause.negated or clause.field is not None
        if pending_or:
            if clause.negated or group[-1].negated:
                raise QueryError("an excluded term (-term, NOT term) cannot be part of OR")
            group.append(clause)
            pending_or = False
        else:
            if group:
                parsed.groups.append(group)
            group = [clause]
    if pending_or:
        raise QueryError("OR needs a term on each side")
    if negate_next:
        raise QueryError("NOT needs a term after it")
    if group:
        parsed.groups.append(group)
    if not parsed.groups:
        if blank_ok and not query_string.strip():
            return parsed
        raise QueryError("the query has nothing to search for")
    if len(parsed.clauses) > MAX_TERMS:
        raise QueryError(f"the query has more than {MAX_TERMS} terms; search for fewer")
    return parsed


def _clause(match: re.Match, fieldname: str | None, negate: bool) -> Clause | None:
    raw = match.group("word")
    phrase = raw is None
    if phrase:
        raw = match.group("dq") if match.group("dq") is not None else match.group("cq")
    negated = negate or bool(match.group("neg"))
    if fieldname is not None:
        key = fieldname.lower()
        if key not in FIELD_ALIASES:
            # Not a field we know: take the whole thing as text ("http://..." or "a:b").
            raw = f"{fieldname}:{raw}"
            fieldname = None
        else:
            fieldname = FIELD_ALIASES[key]
            if not raw.strip():
                raise QueryError(
                    f"{key}: needs a value, e.g. {key}:2022-06"
                    if key == "date"
                    else f"{key}: needs a value"
                )
    if fieldname in ("tags", "categories"):
        return Clause(raw.strip().lower(), fieldname, phrase, negated)
    if fieldname == "date":
        return Clause(raw.strip(), fieldname, phrase, negated)
    text = _EDGE_SEPARATORS.sub("", normalize(raw))
    if not text:
        if phrase:
            raise QueryError("the phrase has nothing to search for")
        return None
    return Clause(text, fieldname, phrase, negated)


# --- dates ---------------------------------------------------------------------------------


def parse_date_range(value: str) -> tuple[datetime | None, datetime | None]:
    """`2022`, `2022-06`, `2022-06-07` or `A..B` -> [start, end) in UTC (naive, as indexed).

    Calendar dates are read in UTC+08:00, the archive's default zone.
    """
    if ".." in value:
        low, _, high = value.partition("..")
        start = _date_bounds(low)[0] if low.strip() else None
        end = _date_bounds(high)[1] if high.strip() else None
        if start is None and end is None:
            raise QueryError(f"bad date range {value!r}: give at least one end, e.g. 2022-06..")
        return start, end
    return _date_bounds(value)


def _date_bounds(value: str) -> tuple[datetime, datetime]:
    value = value.strip()
    try:
        parts = [int(p) for p in value.split("-")]
        if len(parts) == 1:
            start, end = datetime(parts[0], 1, 1), datetime(parts[0] + 1, 1, 1)
        elif len(parts) == 2:
            start = datetime(parts[0], parts[1], 1)
            end = datetime(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
        elif len(parts) == 3:
            start = datetime(parts[0], parts[1], parts[2])
            end = start + timedelta(days=1)
        else:
            raise ValueError(value)
    except (ValueError, OverflowError):
        raise QueryError(
            f"bad date {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD, or a range A..B"
        ) from None
    return to_index_time(start), to_index_time(end)


def _date_query(value: str) -> wq.Query:
    start, end = parse_date_range(value)
    return wq.DateRange("date", start, end, endexcl=True)


def check_date_range(since, until) -> None:
    """Raise `QueryError` if `since` (a `search` argument) is after `until`: no post could
    match, and a user who swapped them should hear so rather than get 0 results."""
    start, end = coerce_date(since, end=False), coerce_date(until, end=True)
    if start is not None and end is not None and start >= end:
        raise QueryError(f"since {since} is after until {until}: no post can be dated in between")


def coerce_date(value: str | date | datetime | None, end: bool) -> datetime | None:
    """A `since`/`until` argument -> naive UTC bound (`until` includes its whole day).

    The one rule for dates without a zone, as for front matter dates and `Document.date`:
    a naive datetime, a `date` or a "YYYY[-MM[-DD]]" string is in UTC+08:00; an aware
    datetime is taken as it is.
    """
    if value is None:
        return None
    if isinstance(value, str):
        bounds = _date_bounds(value)
        return bounds[1] if end else bounds[0]
    if isinstance(value, datetime):
        return to_index_time(value)
    moment = to_index_time(value)
    return moment + timedelta(days=1) if end else moment


# --- building Whoosh queries ---------------------------------------------------------------


@dataclass
class QueryPlan:
    """The Whoosh queries for one parsed query, one per tier: the terms (or their words);
    the terms or their synonyms (None without synonyms to use); best match on the words
    (None in exact mode, for one quoted phrase or a field search). `*_terms` are what to
    highlight in each tier's hits."""

    exact: wq.Query
    synonym: wq.Query | None
    relaxed: wq.Query | None
    terms: list[str]
    synonym_terms: list[str]
    relaxed_terms: list[str]


def text_query(
    text: str,
    vocab: Vocabulary,
    fieldname: str | None = None,
    boost: float = 1.0,
    title_boost: float = TITLE_BOOST,
    stored_text: bool = True,
) -> wq.Query:
    """The exact query for one normalized text in title and body (or in one field);
    `stored_text` as in `Contains`."""
    plan = make_plan(text, vocab)
    if fieldname is not None:
        return Contains(fieldname, plan, boost=boost, stored_text=stored_text)
    return BestMatch(
        [
            Contains(TITLE, plan, boost=title_boost * boost, stored_text=stored_text),
            Contains(BODY, plan, boost=boost, stored_text=stored_text),
        ]
    )


def _clause_query(clause: Clause, vocab: Vocabulary) -> wq.Query:
    if clause.field == "date":
        return _date_query(clause.text)
    if clause.field in ("tags", "categories"):
        return wq.Term(clause.field, clause.text)
    return text_query(clause.text, vocab, clause.field)


def build(
    parsed: ParsedQuery,
    vocab: Vocabulary,
    analyzer: Analyzer | None,
    exact_only: bool,
    synonyms: Synonyms | None = None,
    everywhere: Callable[[str], bool] | None = None,
) -> QueryPlan:
    """Turn a parsed query into Whoosh queries: exact, with synonyms, relaxed.

    Outside exact mode (with an analyzer), an unquoted text of several words (美联储加息)
    is searched as its words (美联储 加息): a post containing every word anywhere is a full
    match, and the words standing close together (`_proximity`, which includes side by
    side) raise its score. A word that is one Chinese character nearly every post contains
    (`everywhere(character)`: 新, 大 in news) is left out of that match when the text has
    other words (`_split_words`); it still counts in the best match.

    A bonus for the text as typed was measured and dropped: qbqtc MRR@10 0.8158 without
    it, 0.8159 at weight 1.0, and at any weight it put 82 posts saying 美联储加息预期 above
    the rate-hike news (美联储再次加息75个基点) for 美联储加息."""
    synonyms = synonyms or Synonyms.empty()
    typed = parsed.text_terms()
    if not exact_only and analyzer is not None:
        parsed = _split_words(parsed, analyzer, vocab, synonyms, everywhere)
    required, expanded, excluded, synonym_terms = [], [], [], []
    for group in parsed.groups:
        if group[0].negated:
            excluded.append(_clause_query(group[0], vocab))
            continue
        if group[0].everywhere:
            continue
        parts = [_clause_query(c, vocab) for c in group]
        required.append(_any(parts))
        alternatives = [
            (clause, other)
            for clause in group
            if clause.field in (None, TITLE, BODY) and not clause.phrase  # "..." is literal
            for other in synonyms.alternatives(clause.text)
        ]
        synonym_terms += [other for _, other in alternatives]
        alternative_parts = [
            text_query(other, vocab, c.field, stored_text=False) for c, other in alternatives
        ]
        expanded.append((parts, alternative_parts))
    positive = _all(required) if required else wq.Every()
    proximity = _proximity(parsed, vocab)
    if proximity is not None:
        positive = wq.AndMaybe(positive, proximity)
    exclusion = wq.Or(excluded) if excluded else None
    exact = wq.AndNot(positive, exclusion) if exclusion else positive
    synonym = None
    if synonym_terms:
        # Hits of the literal terms are masked out of this tier, so a one-term query needs
        # only its alternatives.
        if len(expanded) == 1:
            synonym = _any(expanded[0][1])
        else:
            synonym = _all([_any(parts + alternative) for parts, alternative in expanded])
        synonym = wq.AndNot(synonym, exclusion) if exclusion else synonym
    relaxed, relaxed_terms = None, []
    if not exact_only and analyzer is not None and may_relax(parsed):
        relaxed_terms = relaxed_words(parsed, vocab, analyzer)
        if relaxed_terms:
            relaxed = _relaxed_query(relaxed_terms, vocab, synonyms)
            relaxed = wq.AndNot(relaxed, exclusion) if exclusion else relaxed
        if relaxed is not None and _finds_only_earlier_hits(relaxed, exact, synonym):
            relaxed = None
    marked = _marked(typed, parsed.text_terms())
    return QueryPlan(exact, synonym, relaxed, marked, synonym_terms, _marked(typed, relaxed_terms))


def _finds_only_earlier_hits(relaxed: wq.Query, exact: wq.Query, synonym) -> bool:
    """Whether every post `relaxed` finds is an exact or a synonym hit already, so its tier
    can only add nothing: the query is one text that is also an indexed word (加息), and a
    post with the word in a field contains the text there; its synonyms' parts are the
    synonym tier's texts again (升息), or words containing them. Skipping the tier saves
    reading and scoring those postings a second time (a third of a keyword's first run:
    美债's synonyms 4.8 of its 11 ms)."""
    if not isinstance(relaxed, BestMatch) or not isinstance(exact, BestMatch) or relaxed.optional:
        return False
    # (field, text) -> whether its stored text counts too: a `Contains` that counts it finds
    # every post the same text's `stored_text=False` one finds.
    found: dict[tuple[str, str], bool] = {}
    for tier in (exact, synonym):
        for q in tier.required if isinstance(tier, BestMatch) else ():
            if isinstance(q, Contains):
                key = (q.fieldname, q.plan.text)
                found[key] = found.get(key, False) or q.stored_text
    return all(_found_in(q, found) for q in relaxed.required)


def _found_in(q: wq.Query, found: dict[tuple[str, str], bool]) -> bool:
    if isinstance(q, wq.Term):  # a post with the word in a field contains the word there
        return (q.fieldname, q.text) in found
    if isinstance(q, Contains):
        key = (q.fieldname, q.plan.text)
        return key in found and (found[key] or not q.stored_text)
    return False


def _marked(typed: list[str], words: list[str]) -> list[str]:
    """The `words` that hits mark: not single characters cut out of a longer typed term
    (8月7日央行 gives 8 and 7: marked, they light up every 8 and 7 of the dates)."""
    return [w for w in words if len(w) > 1 or w in typed] or words


def _split_words(
    parsed: ParsedQuery,
    analyzer: Analyzer,
    vocab: Vocabulary,
    synonyms: Synonyms,
    everywhere: Callable[[str], bool] | None = None,
) -> ParsedQuery:
    """`parsed` with each unquoted text of 2 to MAX_SPLIT content words (one clause, no
    OR) replaced by one clause per word. A text with synonyms of its own (北向资金) stays
    whole, so that they still apply.

    A word that is one Chinese character which `everywhere` says nearly every post contains
    is marked `Clause.everywhere` when the text has another word: requiring it filters
    nothing, and its matches are the postings of every word containing it (新 is in 762
    words of the news corpus, 160,000 postings at 60,000 articles): counting them was most
    of the slowest questions (学校总占地面积有多大, 新技术催生新场景)."""
    groups, split = [], False
    for group in parsed.groups:
        clause = group[0]
        words = query_words(clause, analyzer, vocab) if len(group) == 1 else []
        if not 2 <= len(words) <= MAX_SPLIT or synonyms.alternatives(clause.text):
            groups.append(group)
        else:
            common = {
                word
                for word in words
                if everywhere is not None and len(word) == 1 and is_cjk(word) and everywhere(word)
            }
            if len(common) == len(words):  # nothing else to require
                common = set()
            groups += [[Clause(word, clause.field, everywhere=word in common)] for word in words]
            split = True
    return ParsedQuery(groups, parsed.has_operators, parsed.question) if split else parsed


def query_words(clause: Clause, analyzer: Analyzer, vocab: Vocabulary) -> list[str]:
    """The content words of an unquoted text clause (jieba's words minus stop words, in
    order, without repeats); [] for a phrase or a clause of another field."""
    if clause.phrase or clause.negated or clause.field not in (None, TITLE, BODY):
        return []
    return content_words(clause.text, analyzer, vocab)


def content_words(text: str, analyzer: Analyzer, vocab: Vocabulary) -> list[str]:
    """The words of normalized `text` minus stop words, in order, without repeats. A text
    the index has as one word is that word, without jieba: a keyword search (逆回购) need not
    load jieba's dictionary (~0.5 s at a command's start)."""
    words = []
    for word in [text] if text in vocab else analyzer.words(text):
        if word not in STOP_WORDS and word not in words:
            words.append(word)
    return words


def _any(parts: list[wq.Query]) -> wq.Query:
    return parts[0] if len(parts) == 1 else BestMatch(parts)


def _all(parts: list[wq.Query]) -> wq.Query:
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _proximity(parsed: ParsedQuery, vocab: Vocabulary) -> wq.Query | None:
    """Documents where consecutive terms stand close together in the body score more."""
    texts = [
        g[0].text
        for g in parsed.groups
        if len(g) == 1 and not g[0].negated and g[0].field is None and not g[0].everywhere
    ]
    if len(texts) < 2:
        return None
    near = [
        Near(
            Contains(BODY, make_plan(a, vocab)),
            Contains(BODY, make_plan(b, vocab)),
            slop=PROXIMITY_SLOP,
            ordered=False,
        )
        for a, b in zip(texts, texts[1:], strict=False)
    ]
    return near[0] if len(near) == 1 else wq.Or(near)


def may_relax(parsed: ParsedQuery) -> bool:
    """Whether a query may be topped up with best-match hits: any query but one quoted
    phrase, or one restricted to a field (title:, tag: ...)."""
    if len(parsed.groups) == 1 and parsed.groups[0][0].phrase:
        return False
    return all(clause.field is None for clause in parsed.clauses if not clause.negated)


def _relaxed_query(words: list[str], vocab: Vocabulary, synonyms: Synonyms) -> wq.Query:
    """Best match on the words (a word's synonyms count for SYNONYM_WEIGHT of it). A single
    Chinese character on its own matches nearly anything (不存在的词语 should not return
    every post saying 不), so when the query has longer words, a hit needs one of those;
    the single characters only add to its score."""
    longer = [w for w in words if len(w) > 1 or not is_cjk(w)]
    single = [w for w in words if w not in longer]
    queries = {}
    for word in words:
        alternatives = [
            _relaxed_word_query(other, vocab, SYNONYM_WEIGHT, typed=False)
            for other in synonyms.alternatives(word)
        ]
        queries[word] = _any([_relaxed_word_query(word, vocab), *alternatives])
    if not longer or not single:
        return BestMatch(list(queries.values()))
    return BestMatch([queries[w] for w in longer], [queries[w] for w in single])


def _relaxed_word_query(
    word: str, vocab: Vocabulary, boost: float = 1.0, typed: bool = True
) -> wq.Query:
    """A word of a relaxed query: BM25 on the indexed word, or where jieba cut the query
    into a word the posts never produced, the posts that contain it. jieba may glue a name
    to its neighbour (黄华麒是), so such a word also counts, for less, by its character pairs;
    and letters and digits typed together count by their parts (`_latin_word_query`). Not
    so a synonym (not `typed`): the pairs of 缩减资产负债表 would find every post on 资产."""
    title_boost = RELAXED_TITLE_BOOST
    if typed and not is_cjk(word) and LATIN_RUN.fullmatch(word):
        return _latin_word_query(word, vocab, boost)
    if word in vocab:
        return word_terms(word, boost)
    whole = text_query(word, vocab, boost=boost, title_boost=title_boost, stored_text=typed)
    if not typed or len(word) < 3 or not is_cjk(word):
        return whole
    pairs = [
        text_query(word[i : i + 2], vocab, boost=PAIR_WEIGHT * boost, title_boost=title_boost)
        for i in range(len(word) - 1)
    ]
    return wq.Or([whole, *pairs])


def _latin_word_query(word: str, vocab: Vocabulary, boost: float) -> wq.Query:
    """A run of letters and digits as people type it (galaxya7, microsoftproject): the
    token itself, or if no post has that token, the longer tokens containing it
    (galaxya700) and the fewest tokens that spell it (microsoft + project), each for
    IN_WORD_WEIGHT of it."""
    if word in vocab:
        return word_terms(word, boost)
    parts = []
    if len(word) >= LATIN_INSIDE_MIN:
        longer = vocab.containing(word)[:LATIN_LONGER_WORDS]
        parts += [word_terms(w, boost * IN_WORD_WEIGHT) for w in longer]
    parts += [word_terms(w, boost * IN_WORD_WEIGHT) for w in latin_pieces(word, vocab)]
    return _any(parts) if parts else wq.NullQuery


def latin_pieces(word: str, vocab: Vocabulary) -> list[str]:
    """The fewest vocabulary tokens that spell `word` one after another (heatelikeahorse ->
    he ate like a horse), or [] if there are none or the word is too long to try."""
    if len(word) > LATIN_SPLIT_MAX:
        return []
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(end):
            before = best[start]
            if before is not None and word[start:end] in vocab:
                if best[end] is None or len(before) + 1 < len(best[end]):
                    best[end] = [*before, word[start:end]]
    pieces = best[-1] or []
    return pieces if len(pieces) > 1 else []


def word_terms(word: str, boost: float = 1.0) -> wq.Query:
    """BM25F on an indexed word in title (weighted RELAXED_TITLE_BOOST) and body."""
    return wq.Or(
        [wq.Term(TITLE, word, boost=RELAXED_TITLE_BOOST * boost), wq.Term(BODY, word, boost=boost)]
    )


def relaxed_words(parsed: ParsedQuery, vocab: Vocabulary, analyzer: Analyzer) -> list[str]:
    """The query's words minus stop words, in order, without repeats."""
    words = []
    for text in parsed.text_terms():
        words += [word for word in content_words(text, analyzer, vocab) if word not in words]
    return words


def unparse(parsed: ParsedQuery, replacements: dict[str, str]) -> str:
    """The query string of `parsed`, with clause texts replaced (for did-you-mean)."""

    def clause_text(clause: Clause) -> str:
        text = replacements.get(clause.text, clause.text)
        if clause.phrase or " " in text:
            text = f'"{text}"'
        if clause.field is not None:
            text = f"{_FIELD_NAMES[clause.field]}:{text}"
        return f"-{text}" if clause.negated else text

    return " ".join(" OR ".join(clause_text(c) for c in group) for group in parsed.groups)


_FIELD_NAMES = {
    TITLE: "title",
    BODY: "body",
    "tags": "tag",
    "categories": "category",
    "date": "date",
}


# --- more like this --------------------------------------------------------------------------

KEY_WORDS = 25  # words of a post that describe it, for `Index.similar`
HIGHLIGHTED_KEY_WORDS = 8


def key_words(title: str, body: str, analyzer: Analyzer, searcher) -> dict[str, float]:
    """The post's most telling words, {word: tf-idf weight}, best first: frequent in the
    post (title words count double), rare in the index; no stop words, single characters
    or numbers."""
    counts: dict[str, float] = {}
    for text, weight in ((title, 2.0), (body, 1.0)):
        for word in analyzer.words(normalize(text)):
            if len(word) > 2 - is_cjk(word) and word not in STOP_WORDS and not word.isdigit():
                counts[word] = counts.get(word, 0.0) + weight
    documents = max(searcher.doc_count(), 1)
    weights = {}
    for word, count in counts.items():
        frequency = searcher.doc_frequency(BODY, word) + searcher.doc_frequency(TITLE, word)
        if 1 < frequency < documents:  # a word only this post has finds nothing else
            weights[word] = (1 + math.log(count)) * math.log(documents / frequency)
    best = sorted(weights.items(), key=lambda item: -item[1])[:KEY_WORDS]
    return dict(best)


def weighted_words(words: dict[str, float]) -> wq.Query:
    """Best match on `words`, each weighted by its value."""
    return BestMatch([word_terms(word, weight) for word, weight in words.items()])
