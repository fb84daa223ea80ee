"""Exact matching: `plan.make_plan` (no Whoosh), the `matching.Contains` query on small real
indexes, and the exact-recall promise as a property: over a random corpus, exact mode finds
every post a brute-force scan of the normalized texts finds, and nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import HANDMADE
from corpus import FINANCE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq
from whoosh.index import open_dir

from searchkit import Document, Index
from searchkit.analysis import RUNS, is_cjk, normalize
from searchkit.documents import read_post
from searchkit.matching import Contains, Near
from searchkit.plan import PLAN_CACHE_SIZE, Edge, make_plan
from searchkit.schema import BODY, TITLE
from searchkit.storage import read_pointer
from searchkit.vocabulary import Vocabulary

# --- the exact-recall property ----------------------------------------------------------------

# Few pieces, so that substrings repeat across posts; traditional and full-width forms that
# normalization folds (縮表/缩表, ＭＬＦ/MLF), words inside words (回购 in 逆回购), texts jieba
# may cut across (降息预期), letters and digits (a decimal stays one token), separators.
PIECES = [
    "缩表", "縮表", "美联储", "聯準會", "加息", "降息", "预期", "逆回购", "回购", "国内",
    "生产总值", "息", "预", "美", "MLF", "ＭＬＦ", "mlf", "x7", "2.5", "12.5", "2026年",
    " ", "，", "。",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
corpora = st.lists(st.tuples(texts, texts), min_size=1, max_size=6)


def brute_force(posts: list[Document], text: str) -> set[str]:
    """The posts whose normalized title or body holds `text` as the exact mode promises
    (docs/library.md): Chinese contiguously anywhere, letters and digits as whole tokens."""
    needle = normalize(text)
    return {
        post.id
        for post in posts
        if any(_holds(normalize(t), needle) for t in (post.title, post.body))
    }


def _holds(text: str, needle: str) -> bool:
    runs = list(RUNS.finditer(text))
    starts, ends = {run.start() for run in runs}, {run.end() for run in runs}
    # A letter/digit run at either end of the needle must be a whole token of the text.
    whole_start, whole_end = not is_cjk(needle[0]), not is_cjk(needle[-1])
    at = text.find(needle)
    while at >= 0:
        if (not whole_start or at in starts) and (not whole_end or at + len(needle) in ends):
            return True
        at = text.find(needle, at + 1)
    return False


def one_term(text: str) -> bool:
    """Whether `text` is one query term of letters, digits and Chinese, nothing else."""
    normalized = normalize(text)
    return bool(normalized) and "".join(m.group() for m in RUNS.finditer(normalized)) == normalized


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora, data=st.data())
def test_exact_mode_finds_what_a_brute_force_scan_finds_and_nothing_else(corpus, data):
    posts = [Document(id=f"p{i}", title=title, body=body) for i, (title, body) in enumerate(corpus)]
    substrings = sorted(
        {
            text[start : start + size]
            for post in posts
            for text in (normalize(post.title), normalize(post.body))
            for start in range(len(text))
            for size in range(1, 7)
        }
    )
    queries = data.draw(
        st.lists(st.sampled_from(substrings), max_size=30, unique=True)
        if substrings
        else st.just([])
    ) + data.draw(
        st.lists(st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map("".join), max_size=5)
    )
    with tempfile.TemporaryDirectory() as folder:
        index = Index.create(Path(folder) / "index")
        index.add(posts)
        for query in filter(one_term, queries):
            results = index.search(query, exact_only=True, limit=100, collapse=False)
            assert {hit.id for hit in results} == brute_force(posts, query), query
            assert results.total == results.exact_total == len(results.hits)
        index.close()


# --- make_plan: no index, only a vocabulary ----------------------------------------------------

WORDS = ["国内", "生产", "总值", "生产总值", "国内生产总值", "降息", "加息", "预期", "降息预期"]
WORDS += ["a", "股", "股市", "美联储", "mlf"]


def test_a_chinese_text_is_planned_from_the_words_holding_it_and_its_rarest_pairs():
    plan = make_plan("生产总值", Vocabulary(WORDS))
    assert plan.one_run and plan.chinese and not plan.empty
    assert set(plan.full) == {"生产总值", "国内生产总值"}
    # A post without both of the two pairs in the fewest words cannot hold the text; of
    # pairs in as many words (生产, 总值), the first in the text.
    assert plan.pairs == ("产总", "生产")
    assert plan.pair_words("产总") == ("国内生产总值", "生产总值")
    assert plan.pair_words("生产") == ("国内生产总值", "生产", "生产总值")
    assert plan.pair_occurrences("生产") == 3
    assert plan.phrases == (("生产", "总值"),)  # whole words whose positions can confirm it


def test_a_text_across_a_word_boundary_is_a_chain_of_edges():
    """息预 stands inside 降息预期 and across 降息|预期: the chain's first word ends with 息,
    its last starts with 预."""
    plan = make_plan("息预", Vocabulary(WORDS))
    assert plan.full == ("降息预期",)
    assert plan.edges == [Edge(0, 1, "息", ("加息", "降息")), Edge(1, 2, "预", ("预期",))]


def test_letters_and_digits_are_planned_as_whole_tokens():
    vocab = Vocabulary(WORDS)
    plan = make_plan("mlf", vocab)
    assert plan.one_run and not plan.chinese
    assert (plan.full, plan.edges) == (("mlf",), [])
    assert make_plan("ml", vocab).empty  # not a token of any post: nothing can match


def test_mixed_scripts_and_separators_are_chains_with_gaps():
    vocab = Vocabulary(WORDS)
    plan = make_plan("a股市", vocab)
    assert not plan.one_run and plan.full == ()
    # 股 then 市 would need a word starting with 市: that edge reaches no end and is dropped.
    assert plan.edges == [Edge(0, 1, "a", ("a",)), Edge(1, 3, "股市", ("股市",))]
    spaced = make_plan("美联储 加息", vocab)
    assert spaced.gaps == {4}  # the separator puts 加息 one position further
    assert [(e.start, e.end, e.piece) for e in spaced.edges] == [(0, 4, "美联储"), (4, 6, "加息")]


def test_an_empty_text_plans_nothing():
    assert make_plan("", Vocabulary(WORDS)).empty


def test_plans_are_remembered_per_vocabulary_up_to_the_cache_size():
    vocab = Vocabulary(WORDS)
    first = make_plan("生产总值", vocab)
    assert make_plan("生产总值", vocab) is first
    for number in range(PLAN_CACHE_SIZE):
        make_plan(f"x{number}", vocab)
    assert len(vocab.plans) <= PLAN_CACHE_SIZE
    assert make_plan("生产总值", vocab) is not first
    assert make_plan("生产总值", Vocabulary(WORDS)) is not make_plan("生产总值", vocab)


# --- Contains on a small real index -----------------------------------------------------------


@pytest.fixture
def handmade(handmade_index):
    """(searchkit index, Whoosh searcher) of the five handmade posts."""
    path = handmade_index.path
    whoosh_index = open_dir(str(path / read_pointer(path)))
    with whoosh_index.searcher() as searcher:
        yield handmade_index, searcher
    whoosh_index.close()


def contains(index, fieldname: str, text: str, boost: float = 1.0) -> Contains:
    return Contains(fieldname, make_plan(normalize(text), index.vocabulary()), boost)


def ids(searcher, whoosh_query) -> list[str]:
    """The ids of the matching posts, best first."""
    return [hit["id"] for hit in searcher.search(whoosh_query, limit=None)]


@pytest.mark.parametrize(
    "text",
    ["回购", "逆回购", "缩表", "縮表", "息预", "夜逆", "ＭＬＦ", "federal reserve", "srf被称"],
)
def test_contains_matches_the_posts_whose_normalized_body_holds_the_text(handmade, text):
    index, searcher = handmade
    expected = {post.id for post in HANDMADE if normalize(text) in normalize(post.body)}
    assert expected  # each text is in some post
    assert set(ids(searcher, contains(index, BODY, text))) == expected


def test_a_text_not_typed_by_the_user_is_found_by_positions_without_reading_texts(
    handmade_index, monkeypatch
):
    """A synonym's alternative (`stored_text=False`) that crosses word boundaries (srf被称:
    srf/被/称) is found where its words stand side by side, with no stored text read (those
    reads were most of a keyword's first run)."""
    import searchkit.matching

    reads = []
    original = searchkit.matching.stored_text
    monkeypatch.setattr(
        searchkit.matching, "stored_text", lambda *args: reads.append(args) or original(*args)
    )
    plan = make_plan(normalize("srf被称"), handmade_index.vocabulary())
    expected = {post.id for post in HANDMADE if "srf被称" in normalize(post.body)}
    whoosh_index = open_dir(str(handmade_index.path / read_pointer(handmade_index.path)))
    with whoosh_index.searcher() as searcher:
        found = searcher.search(Contains(BODY, plan, stored_text=False), limit=None).docs()
        assert reads == []
        assert {searcher.stored_fields(doc)["id"] for doc in found} == expected
    whoosh_index.close()


def test_a_synonym_ending_inside_a_longer_word_is_found_by_positions(tmp_path, monkeypatch):
    """美国国债 (a synonym of 美债) in 美国国债收益率走高, cut 美国/国债收益率: its end is
    inside a longer word, so no phrase of whole words spells it; the chain of a word ending
    with 美国 and one starting with 国债 does, with no stored text read."""
    import searchkit.matching
    from searchkit.synonyms import Synonyms

    with Index.create(tmp_path / "index") as index:
        index.add(
            [
                Document(id="yes", title="收益率", body="下调全年销售预期。美国国债收益率走高"),
                Document(id="no", title="收益率", body="美国的国债收益率走高，美国经济"),
            ]
        )
        assert index.analyzer.words("美国国债收益率走高")[:2] == ["美国", "国债收益率"]
        reads = []
        original = searchkit.matching.stored_text
        monkeypatch.setattr(
            searchkit.matching, "stored_text", lambda *args: reads.append(args) or original(*args)
        )
        synonyms = Synonyms.from_groups([["美债", "美国国债"]])
        results = index.search("美债", synonyms=synonyms)
        assert [(hit.id, hit.match) for hit in results] == [("yes", "synonym")]
        assert reads == []


def test_contains_searches_one_field(handmade):
    index, searcher = handmade
    assert set(ids(searcher, contains(index, TITLE, "回购"))) == {"b", "c"}
    assert set(ids(searcher, contains(index, BODY, "新闻"))) == set()


def test_a_whole_word_counts_more_than_the_text_inside_a_longer_word(handmade):
    """回购 is a whole word of b's title (回购/新闻) and inside c's (常备回购便利), once each:
    b ranks first although c's title is the shorter (BM25 alone would put c first)."""
    index, searcher = handmade
    hits = searcher.search(contains(index, TITLE, "回购"), limit=None)
    assert [hit["id"] for hit in hits] == ["b", "c"]
    assert hits[0].score > hits[1].score > 0


def test_contains_compares_by_field_text_and_boost(handmade):
    index, _ = handmade
    query = contains(index, BODY, "缩表")
    assert query == contains(index, BODY, "縮表") and hash(query) == hash(
        contains(index, BODY, "缩表")
    )
    assert query != contains(index, TITLE, "缩表")
    assert query != contains(index, BODY, "缩表", boost=2.0)
    assert contains(index, BODY, "no such words").normalize() is wq.NullQuery


def test_contains_spans_place_the_text_for_proximity(handmade):
    """美联储 and 缩表 are one token apart in a's body (美联储/开始/缩表); 隔夜 stands four
    positions after 美联储 (inside 隔夜逆回购)."""
    index, searcher = handmade
    near = Near(contains(index, BODY, "美联储"), contains(index, BODY, "缩表"), slop=2)
    assert ids(searcher, near) == ["a"]
    assert ids(searcher, Near(contains(index, BODY, "美联储"), contains(index, BODY, "隔夜"))) == []


def test_a_texts_counts_serve_one_search_and_a_new_query_counts_anew(handmade_index, monkeypatch):
    """Within a search, a text's counts are made once (a question's proximity part counts
    its texts again); the next query counts its texts anew, so that its first run costs what
    a query new to the index costs."""
    counted = []
    counts = Contains._counts

    def counting(self, reader):
        counted.append((self.fieldname, self.plan.text))
        return counts(self, reader)

    monkeypatch.setattr(Contains, "_counts", counting)
    assert handmade_index.search("美联储 缩表").exact_total == 1
    assert counted.count(("body", "缩表")) == 1  # the exact tier and proximity: once
    counted.clear()
    assert handmade_index.search("缩表 隔夜").exact_total == 1
    assert counted.count(("body", "缩表")) == 1  # counted again for a new query


@pytest.mark.needs_corpus
@pytest.mark.parametrize(
    "text", ["新", "加息", "联储", "美联储加息", "逆回购", "mlf", "加息预期", "储加息"]
)
def test_a_texts_counts_of_some_documents_are_those_of_all_to_the_bit(corpus_index, text):
    """A text's matches are found at C speed and its weighted occurrences summed only for
    the documents asked for (`_Matches.counts(within)`): the same documents, and the same
    sums to the bit, as summing them for every match, whether a word's postings are looked
    up (a few documents) or walked (many)."""
    searcher, matched = corpus_index._current_searcher(), 0
    for fieldname in (TITLE, BODY):
        query = contains(corpus_index, fieldname, text)
        for leaf, _ in searcher.leaf_searchers():
            matches = query._counts(leaf.reader())
            every = matches.counts()
            assert matches.docs == every.keys()
            documents, count = sorted(every), leaf.reader().doc_count_all()
            a_few = set(documents[::97]) | {count - 1}
            for within in (a_few, set(documents[::2]), set(range(count))):
                fresh = query._counts(leaf.reader())  # nothing summed yet
                expected = {d: every[d] for d in within if d in every}
                assert fresh.counts(within) == expected
                assert fresh.counts(within) == expected  # again, from the sums kept
            matched += len(every)
    assert matched


def _several_runs(text: str) -> str | None:
    """`text` from its first run to its last (as a query term is), if it has several runs
    and a Chinese one of two characters or more."""
    runs = list(RUNS.finditer(text))
    if len(runs) > 1 and any(is_cjk(run.group()) and len(run.group()) > 1 for run in runs):
        return text[runs[0].start() : runs[-1].end()]
    return None


@pytest.mark.needs_corpus
def test_a_text_of_several_runs_is_checked_in_the_texts_of_documents_with_its_pairs(
    corpus_index, monkeypatch
):
    """A text of several runs (a headline with digits or punctuation, pasted as a question)
    is confirmed by word positions. Its candidates are first cut to the documents with its
    rarest Chinese character pairs, then to those whose stored text holds each of its runs,
    and only their words' positions are read: the same posts, the same scores as from the
    positions of every candidate. Titles and pieces of bodies, found or not in each field."""
    import searchkit.matching

    paths = sorted(FINANCE.glob("*.md"))[:400]
    posts = [post for post in map(read_post, paths) if _several_runs(normalize(post.title))]
    titles = [_several_runs(normalize(post.title)) for post in posts[:12]]
    pieces = [_several_runs(normalize(post.body)[200:216]) for post in posts[:12]]
    texts = [text for text in titles + pieces if text]
    assert len(texts) > 12
    path = corpus_index.path
    whoosh_index = open_dir(str(path / read_pointer(path)))
    vocab = corpus_index.vocabulary()

    def found(text):
        with whoosh_index.searcher() as searcher:
            return {
                fieldname: {
                    (hit["id"], round(hit.score, 9))
                    for hit in searcher.search(
                        Contains(fieldname, make_plan(text, vocab)), limit=None
                    )
                }
                for fieldname in (TITLE, BODY)
            }

    calls = []  # the words whose positions are read
    read_positions = searchkit.matching.read_positions
    monkeypatch.setattr(
        searchkit.matching,
        "read_positions",
        lambda reader, field, word, docs: (
            calls.append(word) or read_positions(reader, field, word, docs)
        ),
    )
    filtered = {text: found(text) for text in texts}
    assert all(filtered[text][TITLE] for text in titles)
    positions_read = len(calls)
    monkeypatch.setattr(searchkit.matching, "PAIR_WORDS_READ", -1)  # no pair filter
    monkeypatch.setattr(searchkit.matching, "TEXTS_READ", -1)  # no texts read
    calls.clear()
    assert {text: found(text) for text in texts} == filtered
    assert positions_read < len(calls) / 2
    whoosh_index.close()


def test_a_words_postings_are_read_once_a_search_and_forgotten_after_it(
    handmade_index, monkeypatch
):
    """A question's words are counted for its exact tier and scored for its best match:
    their postings are read once for both, kept on the segment's reader for that search
    only (a new query reads anew, as a query new to the index does)."""
    from searchkit import codec

    reads = []
    read_anew = codec._read_anew

    def reading(reader, field, word, weights):
        reads.append((field, word))
        return read_anew(reader, field, word, weights)

    monkeypatch.setattr(codec, "_read_anew", reading)
    question = "美联储什么时候开始缩表"
    results = handmade_index.search(question)
    assert results.total > results.exact_total  # both tiers ran
    assert ("body", "缩表") in reads and len(reads) == len(set(reads))
    searcher = handmade_index._current_searcher()
    assert all(
        "_searchkit_read" not in leaf.reader().__dict__
        and "_searchkit_estimates" not in leaf.reader().__dict__  # (`_document_frequency`)
        for leaf, _ in searcher.leaf_searchers()
    )
    reads.clear()
    handmade_index.search("缩表的影响")  # another query with one of the words
    assert ("body", "缩表") in reads


def test_a_words_term_record_is_looked_up_once_a_search_and_forgotten_after_it(
    handmade_index, monkeypatch
):
    """A text is sized by the document frequencies of the words containing it, then its
    words' postings are read: each word's term record is looked up in the term table once
    a search (`codec._TermsReader.record`), and kept for that search only."""
    from searchkit import terms

    lookups = []
    get = terms.TermTable.get

    def looking_up(table, field, key):
        lookups.append((field, key))
        return get(table, field, key)

    monkeypatch.setattr(terms.TermTable, "get", looking_up)
    handmade_index.search("美联储什么时候开始缩表")
    assert ("body", "缩表".encode()) in lookups and len(lookups) == len(set(lookups))
    searcher = handmade_index._current_searcher()
    readers = [leaf.reader() for leaf, _ in searcher.leaf_searchers()]
    assert all(not reader._terms._records for reader in readers)
    assert all(reader.doc_frequency("body", "不是一个词的字串") == 0 for reader in readers)
    lookups.clear()
    handmade_index.search("缩表的影响")  # another query with one of the words: looked up anew
    assert ("body", "缩表".encode()) in lookups
