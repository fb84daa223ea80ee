"""Synonym files: the format, merging, normalization, errors, and the shipped list."""

from __future__ import annotations

import pytest
from corpus import FINANCE

from searchkit.analysis import normalize
from searchkit.errors import SearchkitError
from searchkit.synonyms import SynonymError, Synonyms


def write(tmp_path, text: str, name: str = "synonyms.txt"):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_format_commas_comments_blank_lines_and_spaces(tmp_path):
    path = write(
        tmp_path,
        "# finance\n"
        "\n"
        "缩表, 量化紧缩 ,QT\n"
        "  # an indented comment\n"
        "美联储，Fed、federal   reserve\n"
        "加息,升息,\n",  # a trailing comma adds no empty term
    )
    synonyms = Synonyms.load(path)
    assert len(synonyms) == 3
    assert synonyms.groups == (
        ("缩表", "量化紧缩", "qt"),
        ("美联储", "fed", "federal reserve"),
        ("加息", "升息"),
    )
    assert synonyms.alternatives("缩表") == ("量化紧缩", "qt")
    assert synonyms.alternatives("qt") == ("缩表", "量化紧缩")
    assert synonyms.alternatives("federal reserve") == ("美联储", "fed")
    assert synonyms.alternatives("降息") == ()
    assert "升息" in synonyms and "降息" not in synonyms


def test_terms_are_normalized_like_the_index(tmp_path):
    synonyms = Synonyms.load(write(tmp_path, "美联储, 聯準會\nＭＬＦ, 中期借貸便利\n"))
    assert synonyms.alternatives(normalize("聯準會")) == ("美联储",)
    assert normalize("聯準會") == "联准会"
    assert synonyms.alternatives("联准会") == ("美联储",)
    assert synonyms.alternatives("mlf") == ("中期借贷便利",)


def test_a_term_in_two_groups_merges_them_transitively(tmp_path):
    text = "a, b\nc, d\ne, f\nb, c\n聯準會, e\n联准会, a\n"
    synonyms = Synonyms.load(write(tmp_path, text))
    assert len(synonyms) == 1
    assert synonyms.alternatives("f") == ("a", "b", "c", "d", "e", "联准会")


def test_duplicates_within_a_group_count_once(tmp_path):
    synonyms = Synonyms.load(write(tmp_path, "量化寬鬆, 量化宽松, QE, qe\n"))
    assert synonyms.groups == (("量化宽松", "qe"),)


def test_merged_and_empty(tmp_path):
    first = Synonyms.load(write(tmp_path, "加息, 升息\n", "a.txt"))
    second = Synonyms.from_groups([["升息", "上调利率"], ["降息", "减息"]])
    both = first.merged(second)
    assert both.alternatives("加息") == ("升息", "上调利率")
    assert both.alternatives("减息") == ("降息",)
    assert len(both) == 2
    assert first.alternatives("上调利率") == ()  # merging makes a new object
    empty = Synonyms.empty()
    assert not empty and len(empty) == 0 and empty.alternatives("加息") == ()
    assert empty.merged(first) == first
    assert Synonyms.load(write(tmp_path, "# nothing\n\n", "b.txt")) == empty


@pytest.mark.parametrize(
    "text, line",
    [
        ("加息, 升息\n加息 升息\n", 2),  # spaces do not separate terms
        ("# comment\n\n缩表\n", 3),
        ("缩表, ,\n", 1),
    ],
)
def test_a_line_with_one_term_is_an_error(tmp_path, text, line):
    path = write(tmp_path, text)
    with pytest.raises(SynonymError, match=rf"synonyms.txt, line {line}: .*two or more terms"):
        Synonyms.load(path)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("加息, 升息\n".encode() + "降息, 减息\n".encode("gbk"))
    with pytest.raises(SynonymError, match=r"gbk.txt, line 2: not UTF-8") as caught:
        Synonyms.load(path)
    assert isinstance(caught.value, SearchkitError)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(SynonymError, match="cannot read the synonym file .*missing.txt"):
        Synonyms.load(tmp_path / "missing.txt")


def test_a_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff缩表, QT\n".encode())
    assert Synonyms.load(path).alternatives("qt") == ("缩表",)


# --- the shipped list -------------------------------------------------------------------------


def test_shipped_list_is_cached_and_large():
    synonyms = Synonyms.default()
    assert synonyms is Synonyms.default()
    assert len(synonyms) >= 80


@pytest.mark.parametrize(
    "group",
    [
        "缩表 量化紧缩 QT",
        "美联储 Fed 聯準會 美国联邦储备委员会 美国联邦储备系统",
        "降准 下调存款准备金率 下调准备金率",
        "加息 升息",
        "降息 减息",
        "MLF 中期借贷便利",
        "SLF 常备借贷便利",
        "PSL 抵押补充贷款",
        "LPR 贷款市场报价利率",
        "央行 中央銀行",
        "中国人民银行 人民银行",
        "逆回购 反向回购",
        "欧洲央行 欧央行 ECB",
        "日本央行 BOJ",
        "国际货币基金组织 IMF",
        "世界银行 世行",
        "CPI 消费者物价指数 居民消费价格指数",
        "PPI 生产者物价指数 工业生产者出厂价格指数",
        "GDP 国内生产总值",
        "PMI 采购经理指数 采购经理人指数",
        "中国证监会 中国证券监督管理委员会",
        "银保监会 中国银行保险监督管理委员会",
        "港交所 香港交易所 HKEX",
        "纳斯达克 NASDAQ 那斯达克",
        "标普500 标准普尔500",
        "道琼斯指数 道琼斯工业平均指数",
        "IPO 首次公开募股 首次公开发行",
        "ETF 交易所交易基金",
        "北向资金 北上资金",
        "南向资金 南下资金",
        "人民币 RMB CNY",
        "美元 USD",
        "通胀 通膨 通貨膨脹",
        "量化寬鬆 量化宽松 QE",
    ],
)
def test_shipped_list_has_the_required_groups(group):
    first, *others = [normalize(term) for term in group.split()]
    alternatives = Synonyms.default().alternatives(first)
    assert set(others) - {first} <= set(alternatives)
    assert first not in alternatives


def test_shipped_multiword_terms_survive():
    synonyms = Synonyms.default()
    assert "美联储" in synonyms.alternatives("federal reserve")
    assert "标普500" in synonyms.alternatives("s&p 500")


@pytest.mark.parametrize("ambiguous", ["联储", "证监会", "人行", "日银", "道指", "首发", "美金"])
def test_shipped_list_leaves_out_ambiguous_abbreviations(ambiguous):
    assert ambiguous not in Synonyms.default()


def test_shipped_groups_are_disjoint_lines():
    """Every line of the shipped file is its own group: no term was merged by accident."""
    from importlib import resources

    text = resources.files("searchkit").joinpath("data/synonyms.txt").read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(Synonyms.default()) == len(lines)


@pytest.mark.needs_corpus
def test_shipped_mainland_terms_occur_in_the_corpus():
    """The core mainland terms are real usage in the shared finance news."""
    text = normalize(
        "".join(path.read_text("utf-8") for path in sorted(FINANCE.glob("*.md"))[:1500])
    )
    for term in ["缩表", "美联储", "降准", "加息", "逆回购", "北向资金", "国内生产总值", "港交所"]:
        assert term in text
