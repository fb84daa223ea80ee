"""The compact jieba dictionary cuts exactly as jieba with its whole dictionary loaded."""

import json

import pytest
from corpus import FINANCE, FINEWS, SHARED, public_terms

from searchkit import analysis
from searchkit.analysis import RUNS, Analyzer, normalize
from searchkit.dictionary import CompactTokenizer, compact_path

USERDICT = "新词汇甲乙\n加息预期 50000\n美联储加 0\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder and no tokenizer loaded in this process yet."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(analysis, "_TOKENIZERS", {})
    return tmp_path / "cache"


def corpus_texts() -> list[str]:
    """Queries of every shared set, the finance terms, post titles and some news prose."""
    texts = list(public_terms())
    for name in ("qbqtc", "cmrc2018", "drcd"):
        lines = (SHARED / name / "queries.jsonl").read_text("utf-8").splitlines()
        texts += [json.loads(line)["query"] for line in lines]
    for folder in (FINEWS, FINANCE):
        for post in sorted(folder.glob("*.md")):
            head = post.read_text("utf-8").split("\n---", 1)[0]
            texts += [line[6:].strip() for line in head.splitlines() if line.startswith("title:")]
    news = SHARED / "bulk" / "xinwenlianbo" / "xwlb-2022.jsonl"
    for line in news.read_text("utf-8").splitlines():
        record = json.loads(line)
        texts += [record["title"], *record["body"].split("\n")]
    return [normalize(text) for text in texts]


@pytest.mark.needs_corpus
def test_compact_dictionary_cuts_the_corpora_as_jieba_does(cache):
    analyzer = Analyzer(USERDICT)
    path = compact_path(analyzer.fingerprint)
    full = analyzer._full_tokenizer(path)  # jieba's own load, which also writes the file
    compact = CompactTokenizer(path)
    texts = corpus_texts()
    assert len(texts) > 12_000
    differ = [text for text in texts if list(compact.cut(text)) != list(full.cut(text))]
    assert differ == []
    assert compact.total == full.total
    # The file holds the whole dictionary: loaded in full, it is jieba's.
    compact.load_all()
    assert compact.FREQ == full.FREQ


def chinese_runs(texts: list[str]) -> list[str]:
    """The Chinese runs of `texts`, as the analyzer hands them to jieba."""
    return [match.group() for text in texts for match in RUNS.finditer(text) if match["cjk"]]


# Runs through jieba's HMM (杭研, 蔡英文 as single characters), around a frequency-0 word
# of USERDICT (美联储加), of single characters, and with characters outside jieba's Han block
# (〇, Ext. A, Ext. B), which go through jieba's own cut.
ODD_RUNS = ["他来到了网易杭研大厦", "美联储加息", "美联储加", "的", "了的"]
ODD_RUNS += ["〇一二", "㐀中文", "𠀀中文"]


def test_cut_run_is_jiebas_cut(cache):
    analyzer = Analyzer(USERDICT)
    full = analyzer._full_tokenizer(compact_path(analyzer.fingerprint))
    compact = CompactTokenizer(compact_path(analyzer.fingerprint))
    for run in ODD_RUNS:
        assert compact.cut_run(run) == full.cut_run(run) == list(full.cut(run, HMM=True))
    assert full.cut_run("他来到了网易杭研大厦") == ["他", "来到", "了", "网易", "杭研", "大厦"]


@pytest.mark.needs_corpus
def test_cut_run_cuts_the_corpora_as_jieba_does(cache):
    analyzer = Analyzer(USERDICT)
    full = analyzer._full_tokenizer(compact_path(analyzer.fingerprint))
    compact = CompactTokenizer(compact_path(analyzer.fingerprint))  # loads groups as it cuts
    runs = chinese_runs(corpus_texts())
    assert len(runs) > 50_000
    for tokenizer in (full, compact):
        assert [run for run in runs if tokenizer.cut_run(run) != list(full.cut(run))] == []


def test_the_user_dictionary_is_in_the_compact_file(cache):
    first = Analyzer(USERDICT)
    assert first.words("关于新词汇甲乙的讨论") == ["关于", "新词汇甲乙", "的", "讨论"]
    assert compact_path(first.fingerprint).is_file()
    analysis._TOKENIZERS.clear()  # as a new process would start
    second = Analyzer(USERDICT)
    assert isinstance(second.jieba, CompactTokenizer)
    assert second.words("关于新词汇甲乙的讨论") == ["关于", "新词汇甲乙", "的", "讨论"]
    header = json.loads(compact_path(first.fingerprint).read_bytes().split(b"\n", 1)[0])
    assert header["force_split"] == ["美联储加"]


def test_a_query_loads_only_the_words_its_characters_start(cache):
    Analyzer().load()  # writes the compact file
    analysis._TOKENIZERS.clear()
    analyzer = Analyzer()
    assert analyzer.words("美联储加息") == ["美联储", "加息"]
    loaded = analyzer.jieba.FREQ
    assert {word[0] for word in loaded} == set("美联储加息")
    assert 0 < len(loaded) < 20_000


def test_an_unreadable_compact_file_falls_back_to_jieba(cache):
    path = compact_path(Analyzer().fingerprint)
    path.parent.mkdir(parents=True)
    path.write_text("not a dictionary\n")
    assert Analyzer().words("美联储加息") == ["美联储", "加息"]
    analysis._TOKENIZERS.clear()
    assert isinstance(Analyzer().jieba, CompactTokenizer)  # rewritten by the fallback


def test_load_merges_the_whole_dictionary(cache):
    Analyzer().load()
    analysis._TOKENIZERS.clear()
    analyzer = Analyzer()
    analyzer.load()
    assert len(analyzer.jieba.FREQ) > 300_000
    assert analyzer.words("市场关注缩表的影响") == ["市场", "关注", "缩表", "的", "影响"]


def test_a_word_added_later_keeps_its_frequency(cache):
    Analyzer().load()
    analysis._TOKENIZERS.clear()
    tokenizer = Analyzer().jieba
    tokenizer.add_word("加息", 10**7)  # a word of jieba's dictionary, its group not loaded
    assert list(tokenizer.cut("市场加息预期")) == ["市场", "加息", "预期"]
    assert tokenizer.FREQ["加息"] == 10**7
