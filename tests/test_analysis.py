from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit.analysis import Analyzer, is_cjk, normalize, normalize_with_offsets
from searchkit.vocabulary import Vocabulary


def test_normalize_folds_width_case_and_script():
    assert normalize("ＭＬＦ") == "mlf"
    assert normalize("縮表") == "缩表"
    assert normalize("逆回購") == "逆回购"
    assert normalize("Fed") == "fed"
    assert normalize("２０２２年") == "2022年"


def test_offsets_map_back_when_lengths_change():
    text = "A㍻缩表"  # ㍻ expands to 平成 under NFKC
    normalized, offsets = normalize_with_offsets(text)
    assert normalized == "a平成缩表"
    start = normalized.index("缩表")
    assert text[offsets[start] : offsets[start + 2]] == "缩表"


def test_offsets_are_identity_for_ordinary_text():
    assert normalize_with_offsets("美联储缩表，ＭＬＦ")[1] is None


def test_tokens_have_sequential_positions_and_gaps_at_separators():
    analyzer = Analyzer()
    tokens = list(analyzer.tokenize(normalize("美联储隔夜逆回购，MLF操作 federal reserve")))
    texts = [t.text for t in tokens]
    assert texts[:2] == ["美联储", "隔夜逆回购"]
    positions = {t.text: t.pos for t in tokens}
    assert positions["隔夜逆回购"] == positions["美联储"] + 1
    assert positions["mlf"] == positions["隔夜逆回购"] + 2  # the comma is a gap
    assert positions["操作"] == positions["mlf"] + 1  # Latin next to CJK: adjacent
    assert positions["reserve"] == positions["federal"] + 1  # a space between words: adjacent
    for token in tokens:
        assert (
            normalize("美联储隔夜逆回购，MLF操作 federal reserve")[token.start : token.end]
            == token.text
        )


def test_postings_hold_positions_and_the_joins_inside_chinese_runs():
    positions, joins = Analyzer().postings("市场降息预期，A股走强，降息")
    assert positions["降息"] == [1, 8]
    assert positions["a"] == [4]
    # 市场|降息|预期 and 股|走强 meet inside a run; nothing joins across "，" or a|股.
    assert joins == {"场降": 1, "息预": 1, "股走": 1}


def test_finance_dictionary_keeps_terms_whole():
    analyzer = Analyzer()
    for term in ["缩表", "逆回购", "降准", "北向资金", "国债收益率"]:
        assert term in analyzer.words(normalize(f"市场关注{term}的影响")), term


def test_user_dictionary_changes_the_fingerprint():
    assert Analyzer().fingerprint == Analyzer().fingerprint
    assert Analyzer("新词汇甲乙\n").fingerprint != Analyzer().fingerprint
    assert "新词汇甲乙" in Analyzer("新词汇甲乙\n").words("关于新词汇甲乙的讨论")


def test_vocabulary_lookups():
    vocab = Vocabulary(["回购", "逆回购", "常备回购便利", "回", "购买", "mlf"])
    assert sorted(vocab.containing("回购")) == ["回购", "常备回购便利", "逆回购"]
    assert sorted(vocab.starting_with("回")) == ["回", "回购"]
    assert sorted(vocab.ending_with("回购")) == ["回购", "逆回购"]
    assert vocab.starting_with("购") == ["购买"]
    assert vocab.containing("缩表") == []
    assert "mlf" in vocab and "ml" not in vocab
    assert vocab.max_length == 6


def test_vocabulary_round_trips_through_a_file(tmp_path):
    Vocabulary(["缩表", "降准"]).save(tmp_path)
    loaded = Vocabulary.load(tmp_path)
    assert sorted(loaded) == ["缩表", "降准"]
    assert loaded.ending_with("准") == ["降准"]
    assert Vocabulary.load(tmp_path / "missing") is None


def _postings_from_tokens(analyzer: Analyzer, text: str) -> tuple[dict, dict]:
    """What `postings` means, from `tokenize`'s tokens: each word's positions, and the two
    characters around each boundary of adjacent tokens when both are Han."""
    positions, joins, previous = {}, {}, None
    for token in analyzer.tokenize(normalize(text)):
        positions.setdefault(token.text, []).append(token.pos)
        if previous is not None and previous.end == token.start:
            join = previous.text[-1] + token.text[0]
            if is_cjk(join):
                joins[join] = joins.get(join, 0) + 1
        previous = token
    return positions, joins


_MIXED = st.text(
    st.sampled_from("降息预期市场美联储缩表〇㐀𠀀ＭＬＦabc12.5,， 。-_\n"), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(text=_MIXED)
def test_postings_are_what_the_tokens_give(text):
    analyzer = Analyzer()
    expected = _postings_from_tokens(analyzer, text)
    positions, joins = analyzer.postings(text)
    assert (positions, joins) == expected
    assert list(positions) == list(expected[0]) and list(joins) == list(expected[1])


def test_postings_of_a_news_article_are_what_the_tokens_give():
    text = "国家主席习近平1日在人民大会堂会见来华访问的美国财政部长，双方就中美经贸关系交换意见。"
    text += "GDP增长5.2%。"
    assert Analyzer().postings(text * 3) == _postings_from_tokens(Analyzer(), text * 3)
