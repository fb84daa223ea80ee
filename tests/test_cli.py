"""The `searchkit` and `searchkit-rebuild` commands, through click's CliRunner (and once as
the installed console script): every command, every exit code, the JSON format."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus import FINEWS, REFERENCE_POST

from searchkit import Index, cli, demo, render

# Tests that read ../shared/corpus are marked; the others run on a clone without it.
needs_corpus = pytest.mark.needs_corpus

REFERENCE_ID = REFERENCE_POST.name
HIT_KEYS = {
    "id": str,
    "path": (str, type(None)),
    "url": (str, type(None)),
    "title": str,
    "date": (str, type(None)),
    "categories": list,
    "tags": list,
    "score": float,
    "exact": bool,
    "match": str,
    "snippet": str,
    "marks": list,
    "title_marks": list,
    "duplicates": int,
}
PROGRESS_BAR_CHARS = re.compile("[━╸╺]")


@pytest.fixture(autouse=True)
def no_index_from_the_environment(monkeypatch):
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The finews posts indexed by `searchkit index`: (index path, the CliRunner result)."""
    path = tmp_path_factory.mktemp("cli") / "index"
    result = CliRunner().invoke(cli.cli, ["index", str(FINEWS), "--index", str(path)])
    return path, result


@pytest.fixture
def index_path(built):
    return built[0]


@pytest.fixture
def few_posts(tmp_path):
    """A posts folder of five finews posts (the reference post among them)."""
    posts = tmp_path / "_posts"
    posts.mkdir()
    for post in [REFERENCE_POST, *sorted(FINEWS.glob("2021-12-08-*.md"))[:4]]:
        shutil.copy(post, posts / post.name)
    return posts


def run(*args, env=None):
    return CliRunner().invoke(cli.cli, [str(a) for a in args], env=env)


def run_rebuild_script(*args):
    return CliRunner().invoke(cli.rebuild_main, [str(a) for a in args])


def search_json(*args, env=None):
    result = run("search", *args, "--json", env=env)
    return result, json.loads(result.stdout)


def assert_one_error_line(result, code=2, prog="searchkit"):
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), result.stderr
    assert "Traceback" not in result.output


def assert_search_document(document):
    assert set(document) == {
        "query",
        "total",
        "exact_total",
        "synonym_total",
        "suggestion",
        "rows",
        "collapsed",
        "hits",
    }
    assert document["rows"] + document["collapsed"] == document["total"]
    assert isinstance(document["total"], int) and isinstance(document["exact_total"], int)
    for hit in document["hits"]:
        assert set(hit) == set(HIT_KEYS)
        for key, kind in HIT_KEYS.items():
            assert isinstance(hit[key], kind), key
        for marks, text in ((hit["marks"], hit["snippet"]), (hit["title_marks"], hit["title"])):
            for mark in marks:
                assert isinstance(mark, list) and len(mark) == 2
                assert 0 <= mark[0] < mark[1] <= len(text)


# --- index ---------------------------------------------------------------------------------


@needs_corpus
def test_index_builds_and_prints_a_summary(built):
    _, result = built
    assert result.exit_code == 0, result.output
    header, counts = result.stdout.splitlines()[:2]
    assert header.split() == [
        "added", "updated", "deleted", "unchanged", "skipped", "warnings", "seconds"
    ]  # fmt: skip
    assert counts.split()[:6] == ["129", "0", "0", "0", "0", "0"]


@needs_corpus
def test_index_without_a_terminal_draws_no_progress_bar(built):
    _, result = built
    assert not PROGRESS_BAR_CHARS.search(result.output)
    with render.progress_bar("Indexing") as progress:
        assert progress is None  # pytest's stderr is not a terminal


def test_progress_bar_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    with render.progress_bar("Indexing") as progress:
        progress(1, 2)
        progress(2, 2)
    assert callable(progress)


@needs_corpus
def test_index_updates_incrementally_and_lists_skipped_posts(tmp_path, few_posts):
    path = tmp_path / "index"
    (few_posts / "2026-01-02-broken.md").write_text("---\ntitle: [oops\n---\nbody\n", "utf-8")
    first = run("index", few_posts, "--index", path)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[1].split()[:6] == ["5", "0", "0", "0", "1", "0"]
    assert "skipped" in first.stdout and "2026-01-02-broken.md" in first.stdout
    (few_posts / REFERENCE_ID).unlink()
    again = run("index", "--index", path)  # no SOURCE: the recorded folder
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[1].split()[:6] == ["0", "0", "1", "4", "1", "0"]


@needs_corpus
def test_index_with_another_userdict_suggests_rebuild(tmp_path, few_posts):
    path = tmp_path / "index"
    assert run("index", few_posts, "--index", path).exit_code == 0
    words = tmp_path / "words.txt"
    words.write_text("缩表计划 5\n", "utf-8")
    result = run("index", few_posts, "--index", path, "--userdict", words)
    assert result.exit_code == 0, result.output
    assert f"searchkit rebuild --userdict {words}" in result.stderr


def test_index_needs_a_source_for_a_new_index(tmp_path):
    result = run("index", "--index", tmp_path / "index")
    assert_one_error_line(result)
    assert "searchkit index _posts" in result.stderr


def test_bad_source_folder_is_a_user_error(tmp_path):
    result = run("index", tmp_path / "nowhere", "--index", tmp_path / "index")
    assert_one_error_line(result)
    assert "nowhere" in result.stderr


# --- search --------------------------------------------------------------------------------


@needs_corpus
def test_search_json_finds_exactly_the_reference_post(index_path):
    result, document = search_json("逆回购", "--index", index_path)
    assert result.exit_code == 0, result.output
    assert_search_document(document)
    assert (document["query"], document["exact_total"]) == ("逆回购", 1)
    [hit, *best_match] = document["hits"]  # best match: posts on 回购, the pair of 逆回购
    assert document["total"] == 1 + len(best_match) and not any(h["exact"] for h in best_match)
    assert hit["id"] == REFERENCE_ID and hit["path"] == str(REFERENCE_POST)
    assert hit["date"] == "2022-06-07T13:59:10+08:00" and hit["exact"] is True
    assert hit["marks"]
    assert all(hit["snippet"][start:end] == "逆回购" for start, end in hit["marks"])


@needs_corpus
def test_search_prints_ranked_hits(index_path):
    result = run("search", "缩表", "--index", index_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("1 result for 缩表 · ") and lines[0].endswith(" ms")
    assert " 1. 美联储缩表" in result.stdout
    assert f"2022-06-07 13:59 · quanqiuzhongwenshequ · {REFERENCE_ID}" in result.stdout
    assert "best match" not in result.stdout


@needs_corpus
def test_search_labels_best_match_hits(index_path):
    result, document = search_json("美联储缩表会不会导致人民币贬值", "--index", index_path)
    assert result.exit_code == 0
    relaxed = [hit for hit in document["hits"] if not hit["exact"]]
    assert relaxed and document["exact_total"] < document["total"]
    human = run("search", "美联储缩表会不会导致人民币贬值", "--index", index_path)
    assert "best match" in human.stdout and "exact)" in human.stdout.splitlines()[0]
    exact_only = search_json("美联储缩表会不会导致人民币贬值", "--exact", "--index", index_path)
    assert exact_only[1]["total"] == exact_only[1]["exact_total"]


@needs_corpus
def test_search_options_reach_the_library(index_path):
    _, page_one = search_json("美联储", "--limit", 2, "--sort", "date", "--index", index_path)
    _, page_two = search_json(
        "美联储", "-n", 2, "--page", 2, "--sort", "date", "--index", index_path
    )
    assert page_one["total"] == page_two["total"] > 2
    assert len(page_one["hits"]) == 2
    assert not {h["id"] for h in page_one["hits"]} & {h["id"] for h in page_two["hits"]}
    dates = [h["date"] for h in page_one["hits"] + page_two["hits"]]
    assert dates == sorted(dates, reverse=True)
    _, june = search_json("美联储", "--since", "2022-06", "--index", index_path)
    assert [h["id"] for h in june["hits"]] == [REFERENCE_ID]
    _, until = search_json("美联储", "--until", "2021-12-31", "--index", index_path)
    assert until["total"] == page_one["total"] - 1
    _, category = search_json("美联储", "--category", "quanqiuzhongwenshequ", "--index", index_path)
    _, tag = search_json("美联储", "--tag", "全球中文社区新闻", "--index", index_path)
    assert [h["id"] for h in category["hits"]] == [h["id"] for h in tag["hits"]] == [REFERENCE_ID]


@needs_corpus
def test_page_past_the_end_still_counts_as_found(index_path):
    result = run("search", "缩表", "--page", 3, "--index", index_path)
    assert result.exit_code == 0
    assert "No hits on page 3: 1 result fills 1 page of 10." in result.stdout


@needs_corpus
def test_no_hits_exit_1(index_path):
    result = run("search", "zzqqxx", "--index", index_path)
    assert result.exit_code == 1
    assert result.stdout.startswith("0 results for zzqqxx")
    result, document = search_json("zzqqxx", "--index", index_path)
    assert result.exit_code == 1
    assert_search_document(document)
    assert document["total"] == 0 and document["hits"] == []


@pytest.mark.parametrize("query", ["title:", "", "date:", "缩表 OR"])
@needs_corpus
def test_bad_query_is_one_line_exit_2(index_path, query):
    result = run("search", query, "--index", index_path)
    assert_one_error_line(result)


@needs_corpus
def test_bad_date_option_is_one_line_exit_2(index_path):
    assert_one_error_line(run("search", "缩表", "--since", "June", "--index", index_path))


def test_missing_index_is_an_error_that_says_how_to_build_one(tmp_path):
    result = run("search", "缩表", "--index", tmp_path / "none")
    assert_one_error_line(result)
    assert "searchkit index" in result.stderr


@needs_corpus
def test_searchkit_index_variable_is_honoured(index_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found, _ = search_json("缩表", env={"SEARCHKIT_INDEX": str(index_path)})
    assert found.exit_code == 0 and json.loads(found.stdout)["total"] == 1
    # Named by the variable, a missing index is an error, not a reason to use the demo.
    missing = run("search", "缩表", env={"SEARCHKIT_INDEX": str(tmp_path / "none")})
    assert_one_error_line(missing)
    assert "searchkit index" in missing.stderr


@needs_corpus
def test_plain_keyword_search_does_not_load_jieba(index_path, monkeypatch):
    def refuse(self):
        raise AssertionError("jieba was loaded")

    monkeypatch.setattr("searchkit.analysis.Analyzer.jieba", property(refuse))
    result, document = search_json("缩表", "--index", index_path)  # a word of the index
    assert result.exit_code == 0, result.output
    assert document["total"] == 1
    result, document = search_json("逆回购", "--index", index_path, "--exact")
    assert result.exit_code == 0, result.output
    assert document["total"] == 1


# --- the bundled demo ----------------------------------------------------------------------


@pytest.fixture
def new_user(tmp_path, monkeypatch):
    """A user with no index: empty working folder, empty cache."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


@needs_corpus
def test_first_search_uses_the_bundled_demo(new_user):
    result, document = search_json("缩表")
    assert result.exit_code == 0, result.output
    assert REFERENCE_ID in [hit["id"] for hit in document["hits"]]
    assert "bundled demo" in result.stderr and "building the demo index" in result.stderr
    assert (new_user / "cache" / "searchkit" / "demo-index" / "CURRENT").exists()
    again = run("search", "缩表")
    assert again.exit_code == 0 and "building" not in again.stderr
    shown = run("show", REFERENCE_ID, "--query", "缩表")
    assert shown.exit_code == 0 and "美联储缩表" in shown.stdout
    stats = run("stats", "--json")
    assert json.loads(stats.stdout)["documents"] == demo.demo_post_count()


@needs_corpus
def test_demo_folder_and_cache_location(new_user, monkeypatch):
    assert (demo.demo_posts() / REFERENCE_ID).is_file()
    assert 60 <= demo.demo_post_count() <= 100
    assert sum(p.stat().st_size for p in demo.demo_posts().glob("*.md")) < 400_000
    assert demo.demo_index_path() == new_user / "cache" / "searchkit" / "demo-index"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert demo.demo_index_path() == new_user / "home" / ".cache" / "searchkit" / "demo-index"


@needs_corpus
def test_demo_index_is_rebuilt_when_incompatible(new_user):
    with demo.open_demo_index() as index:
        assert index.count() == demo.demo_post_count()
    spoil_analyzer_fingerprint(demo.demo_index_path())
    builds = []
    with demo.open_demo_index(on_build=lambda: builds.append(1)) as index:
        assert builds == [1] and index.search("缩表").total > 0


# --- show, stats ---------------------------------------------------------------------------


def interrupted(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("command", ["index", "rebuild"])
def test_a_failed_first_build_leaves_no_index_and_the_demo_works(new_user, command):
    failed = run(command, "_post")  # a typo: there is no such folder
    assert_one_error_line(failed)
    assert "no such posts folder or file: _post" in failed.stderr
    assert not (new_user / "work" / "index").exists()
    result, document = search_json("缩表")
    assert result.exit_code == 0 and "bundled demo" in result.stderr and document["total"]


def test_an_interrupted_first_build_is_removed_and_exits_130(new_user, monkeypatch):
    (new_user / "work" / "index").mkdir()
    (new_user / "work" / "index" / "README.md").write_text("the index goes here\n")
    monkeypatch.setattr(Index, "update_from", interrupted)
    result = run("index", demo.demo_posts())
    assert result.exit_code == 130 and result.stdout == ""
    assert result.stderr == "searchkit: interrupted\n"
    assert os.listdir(new_user / "work" / "index") == ["README.md"]  # the user's file stays


def test_an_interrupted_update_keeps_the_index(handmade_path, monkeypatch, few_demo_posts):
    monkeypatch.setattr(Index, "update_from", interrupted)
    result = run("index", few_demo_posts, "--index", handmade_path)
    assert result.exit_code == 130
    assert Index.open(handmade_path).count() == 5


def test_an_empty_index_says_so(tmp_path):
    Index.create(tmp_path / "index").close()
    result = run("search", "缩表", "--index", tmp_path / "index")
    assert result.exit_code == 1
    assert "has no posts; add some with `searchkit index POSTS_FOLDER" in result.stderr


@needs_corpus
def test_show_highlights_the_query(index_path):
    result = run("show", REFERENCE_ID, "--query", "缩表", "--index", index_path, "--json")
    assert result.exit_code == 0, result.output
    post = json.loads(result.stdout)
    assert post["id"] == REFERENCE_ID and post["date"] == "2022-06-07T13:59:10+08:00"
    assert post["body_marks"] and post["title_marks"]
    assert all(post["body"][s:e] == "缩表" for s, e in post["body_marks"])
    assert all(post["title"][s:e] == "缩表" for s, e in post["title_marks"])
    human = run("show", REFERENCE_ID, "-q", "缩表", "--index", index_path)
    assert human.exit_code == 0
    assert human.stdout.startswith("美联储缩表")
    assert REFERENCE_POST.name in human.stdout
    assert "matches" in human.stdout and "（文章来源：全球中文社区）" in human.stdout


@needs_corpus
def test_show_unknown_id_exit_2(index_path):
    result = run("show", "no-such-post.md", "--index", index_path)
    assert_one_error_line(result)
    assert "no-such-post.md" in result.stderr


@needs_corpus
def test_stats(index_path):
    result = run("stats", "--index", index_path, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["documents"] == 129 and figures["sources"] == [str(FINEWS)]
    assert figures["first_date"].startswith("2021-12-01")
    assert figures["categories"][0] == ["emnews", 127]
    human = run("stats", "--index", index_path)
    assert human.exit_code == 0
    for label in ("documents", "size on disk", "2021-12-01 … 2022-06-07", "emnews (127)"):
        assert label in human.stdout
    assert re.search(r"size on disk +\d+\.\d (KiB|MiB)", human.stdout)


# --- rebuild, searchkit-rebuild ------------------------------------------------------------


def spoil_analyzer_fingerprint(path: Path) -> None:
    """Make the index look built by another analyzer (as after a jieba upgrade)."""
    meta_file = path / (path / "CURRENT").read_text().strip() / "meta.json"
    meta = json.loads(meta_file.read_text("utf-8"))
    meta["analyzer"] = "0000000000000000"
    meta_file.write_text(json.dumps(meta), "utf-8")


@needs_corpus
def test_rebuild_creates_then_rebuilds(tmp_path, few_posts):
    path = tmp_path / "index"
    assert_one_error_line(run("rebuild", "--index", path))  # no index, no SOURCE
    created = run("rebuild", few_posts, "--index", path)
    assert created.exit_code == 0, created.output
    assert created.stdout.splitlines()[1].split()[:6] == ["5", "0", "0", "0", "0", "0"]
    words = tmp_path / "words.txt"
    words.write_text("缩表计划\n", "utf-8")
    again = run("rebuild", "--index", path, "--userdict", words)
    assert again.exit_code == 0, again.output
    stats = json.loads(run("stats", "--index", path, "--json").stdout)
    assert stats["user_dictionary_words"] == 1


@needs_corpus
def test_rebuild_repairs_an_incompatible_index(tmp_path, few_posts):
    path = tmp_path / "index"
    assert run("index", few_posts, "--index", path).exit_code == 0
    spoil_analyzer_fingerprint(path)
    refused = run("search", "缩表", "--index", path)
    assert_one_error_line(refused)
    assert "searchkit rebuild" in refused.stderr
    assert run("rebuild", "--index", path).exit_code == 0
    assert run("search", "缩表", "--index", path).exit_code == 0


@needs_corpus
def test_rebuild_script_prints_one_line(tmp_path, few_posts):
    path = tmp_path / "index"
    (few_posts / "2026-01-02-broken.md").write_text("---\ntitle: [oops\n---\nbody\n", "utf-8")
    result = run_rebuild_script(few_posts, "--index", path)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        rf"searchkit-rebuild: 5 documents, 1 skipped, \d+\.\d s \(index {re.escape(str(path))}\)\n",
        result.stdout,
    )
    assert result.stderr.startswith("searchkit-rebuild: skipped ") and "broken" in result.stderr
    quiet = run_rebuild_script("--index", path, "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""
    assert Index.open(path).count() == 5


@needs_corpus
def test_rebuild_script_errors(tmp_path, few_posts, monkeypatch):
    path = tmp_path / "index"
    missing = run_rebuild_script("--index", path)
    assert_one_error_line(missing, prog="searchkit-rebuild")
    assert "searchkit index" in missing.stderr
    bad_source = run_rebuild_script(tmp_path / "nowhere", "--index", path)
    assert_one_error_line(bad_source, prog="searchkit-rebuild")
    assert run_rebuild_script(few_posts, "--index", path, "-q").exit_code == 0

    def broken_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Index, "rebuild", broken_disk)
    failed = run_rebuild_script("--index", path)
    assert_one_error_line(failed, code=1, prog="searchkit-rebuild")
    assert "No space left on device" in failed.stderr
    monkeypatch.undo()
    assert Index.open(path).count() == 5  # the old index is still there


# --- synonyms, did you mean, similar ------------------------------------------------------


@needs_corpus
def test_synonym_hits_are_labelled_and_can_be_turned_off(index_path, tmp_path):
    result, document = search_json("量化紧缩", "--index", index_path)  # finews says 缩表
    assert result.exit_code == 0 and document["exact_total"] == 0
    assert document["synonym_total"] > 0 and document["hits"][0]["match"] == "synonym"
    assert {hit["match"] for hit in document["hits"]} == {"synonym", "relaxed"}
    assert "synonym" in run("search", "量化紧缩", "--index", index_path).stdout
    _, unexpanded = search_json("量化紧缩", "--index", index_path, "--no-synonyms")
    assert unexpanded["synonym_total"] == 0 and unexpanded["exact_total"] == 0
    assert {hit["match"] for hit in unexpanded["hits"]} <= {"relaxed"}
    assert run("search", "量化紧缩", "--index", index_path, "--exact").exit_code == 1
    groups = tmp_path / "mine.txt"
    groups.write_text("接盘侠, 量化紧缩\n", encoding="utf-8")
    _, mine = search_json("接盘侠", "--index", index_path, "--synonyms", groups)
    assert mine["synonym_total"] == document["synonym_total"]
    groups.write_text("接盘侠 量化紧缩\n", encoding="utf-8")  # no comma: one term, an error
    assert_one_error_line(run("search", "接盘侠", "--index", index_path, "--synonyms", groups))


@needs_corpus
def test_a_query_may_start_with_a_minus(index_path):
    result, leading = search_json("-缩表 美联储", "--index", index_path)
    assert result.exit_code == 0, result.output
    _, trailing = search_json("美联储 -缩表", "--index", index_path)
    _, both = search_json("美联储", "--index", index_path)
    assert 0 < leading["total"] == trailing["total"] < both["total"]


@pytest.fixture
def few_demo_posts(tmp_path):
    """A posts folder of three bundled demo posts."""
    folder = tmp_path / "demo_posts"
    folder.mkdir()
    for post in sorted(demo.demo_posts().glob("*.md"))[:3]:
        shutil.copy(post, folder)
    return folder


@pytest.fixture
def handmade_path(handmade_index):
    """The folder of conftest's handmade index: for CLI tests that need no corpus."""
    return handmade_index.path


def test_several_words_are_one_query(handmade_path):
    result, document = search_json("美联储", "缩表", "--index", handmade_path)
    assert result.exit_code == 0, result.output
    assert document["query"] == "美联储 缩表" and document["hits"][0]["id"] == "a"
    assert search_json("美联储 缩表", "--index", handmade_path)[1] == document


@pytest.mark.parametrize(
    "typo, hint",
    [
        ("--sice", "Did you mean"),
        ("--foo", "put it after --: "),
        ("-N", ""),
    ],
)
def test_a_mistyped_option_is_a_usage_error_not_a_word(handmade_path, typo, hint):
    result = run("search", "回购", typo, "2026", "--index", handmade_path)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"No such option '{typo}'." in result.stderr and hint in result.stderr


@pytest.mark.parametrize(
    "words", [["-缩表", "回购"], ["回购", "-缩表"], ["--", "-缩表", "回购"], ["--", "--foo"]]
)
def test_words_starting_with_a_minus_are_exclusions_or_words(handmade_path, words):
    result = run("search", "--index", handmade_path, "--json", *words)
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    assert document["query"] == " ".join(w for w in words if w != "--")
    if "回购" in words:
        assert {hit["id"] for hit in document["hits"]} == {"b", "c"}


@needs_corpus
def test_did_you_mean(index_path):
    result = run("search", "逆回够", "--index", index_path)  # 够 for 购
    assert result.exit_code == 1 and "Did you mean 逆回购?" in result.stdout
    _, document = search_json("逆回够", "--index", index_path)
    assert document["suggestion"] == "逆回购"


@needs_corpus
def test_similar_command(index_path):
    result = run("similar", REFERENCE_ID, "--index", index_path, "--limit", "3", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert len(document["hits"]) == 3 and REFERENCE_ID not in {h["id"] for h in document["hits"]}
    assert "缩表" in document["words"]
    shown = run("similar", REFERENCE_ID, "--index", index_path).stdout
    assert re.match(r"\d+ results for similar:", shown) and "best match" not in shown
    assert_one_error_line(run("similar", "nope.md", "--index", index_path))


# --- help, version, completion, the installed command -------------------------------------


@pytest.mark.parametrize("command", ["index", "rebuild", "search", "show", "similar", "stats"])
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert f"searchkit {command}" in result.stdout
    assert "Examples:" in result.stdout


def test_group_help_version_and_rebuild_script_help():
    assert "searchkit search 缩表" in run("--help").stdout
    assert run("--version").stdout.strip() == f"searchkit, version {cli.__version__}"
    script_help = run_rebuild_script("--help")
    assert script_help.exit_code == 0 and "searchkit-rebuild --index" in script_help.stdout


@needs_corpus
def test_usage_errors_exit_2(index_path):
    assert run("search").exit_code == 2
    assert run("search", "缩表", "--sort", "newest", "--index", index_path).exit_code == 2
    assert run("search", "缩表", "--page", 0, "--index", index_path).exit_code == 2
    assert run("index", "--userdict", "/no/such/file").exit_code == 2


def test_shell_completion_script():
    result = CliRunner().invoke(
        cli.cli, [], prog_name="searchkit", env={"_SEARCHKIT_COMPLETE": "bash_source"}
    )
    assert result.exit_code == 0
    assert "_SEARCHKIT_COMPLETE=bash_complete" in result.stdout


@needs_corpus
def test_installed_command_runs_as_a_subprocess(index_path):
    command = Path(sys.executable).parent / "searchkit"
    assert command.exists(), "install the package: pip install -e ."
    env = {k: v for k, v in os.environ.items() if k != "SEARCHKIT_INDEX"}
    completed = subprocess.run(
        [str(command), "search", "缩表", "--index", str(index_path), "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert_search_document(document)
    assert [hit["id"] for hit in document["hits"]] == [REFERENCE_ID]
    assert completed.stderr == ""


def test_a_closed_pipe_ends_quietly_with_exit_0(tmp_path):
    """`searchkit search 的 | head -1`, with a pipe small enough that the command is still
    writing when the reader goes away."""
    import fcntl

    with Index.create(tmp_path / "index") as index:
        index.update_from(demo.demo_posts())
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    command = [
        installed("searchkit"),
        "search",
        "的",
        "--limit",
        "80",
        "--index",
        tmp_path / "index",
    ]
    process = subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    with open(read_end, encoding="utf-8") as reader:
        assert "results for 的" in reader.readline()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and stderr == ""


def test_ctrl_c_during_a_first_build_exits_130_with_one_line(tmp_path):
    import signal
    import time

    posts = tmp_path / "_posts"
    posts.mkdir()
    for copy in range(15):  # 1,215 posts: several seconds of work for the worker pool
        for post in demo.demo_posts().glob("*.md"):
            shutil.copy(post, posts / f"{copy}-{post.name}")
    process = subprocess.Popen(
        [installed("searchkit"), "index", "_posts"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's Ctrl-C sees it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even under nohup
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "index" / "CURRENT").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # into the build
    os.killpg(process.pid, signal.SIGINT)  # to the command and its workers, like Ctrl-C
    stdout, stderr = process.communicate(timeout=60)
    assert (process.returncode, stdout, stderr) == (130, "", "searchkit: interrupted\n")
    assert not (tmp_path / "index").exists()


def installed(command: str) -> str:
    path = Path(sys.executable).parent / command
    assert path.exists(), "install the package: pip install -e ."
    return str(path)


# --- rendering ---------------------------------------------------------------------------

LONG_TITLE = "美联储缩表与全球流动性：" + "市场关注资产负债表收缩的节奏和规模" * 3
LONG_BODY = "开头。" + "美联储表示将继续缩表，" * 30 + "\n\n第二段也提到缩表。  \n"


@pytest.fixture
def long_post_index(tmp_path):
    from searchkit import Document

    path = tmp_path / "index"
    with Index.create(path) as index:
        index.add(Document(id="long.md", title=LONG_TITLE, body=LONG_BODY))
    return path


def test_piped_output_is_not_folded_and_has_no_trailing_spaces(long_post_index):
    searched = run("search", "缩表", "--index", long_post_index)
    lines = searched.stdout.splitlines()
    assert lines[2] == f" 1. {LONG_TITLE}"  # one line, however long
    assert any(len(line) > 100 and "缩表" in line for line in lines[4:])  # 200+ columns
    for command in (
        ["search", "缩表"],
        ["show", "long.md"],
        ["stats"],
        ["show", "long.md", "-q", "缩表"],
    ):
        result = run(*command, "--index", long_post_index)
        assert result.exit_code == 0, result.output
        assert not [line for line in result.stdout.splitlines() if line != line.rstrip()]


def test_a_terminal_folds_titles_with_a_hanging_indent_and_keeps_marks_whole(long_post_index):
    from rich.console import Console

    results = Index.open(long_post_index).search("缩表")
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=41, color_system=None, soft_wrap=True)
    render.render_results(console, results, 1, 10, 1.0)
    lines = output.getvalue().splitlines()
    assert lines[2].startswith(" 1. 美联储缩表") and lines[3].startswith("    ")
    assert all(len(line) <= 41 and line == line.rstrip() for line in lines)


def test_a_fold_does_not_split_a_highlighted_match():
    from rich.console import Console

    from searchkit.highlight import to_rich

    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=24, color_system=None, soft_wrap=True)
    text = "一二三四五六七八九十缩表一二三"  # at 2 cells a character, 缩 ends the first 22 cells
    render.print_folded(console, to_rich(text, [(10, 12)]), indent=2)
    assert output.getvalue().splitlines() == ["  一二三四五六七八九十", "  缩表一二三"]


def test_a_long_query_is_shortened_in_the_header(long_post_index):
    result = run("search", *["缩表"] * 90, "--index", long_post_index)
    header = result.stdout.splitlines()[0]
    assert "…" in header and len(header) < 100


def test_a_page_past_the_end_says_how_many_pages_there_are(handmade_path):
    result = run("search", "回购", "--page", 99, "--limit", 1, "--index", handmade_path)
    assert result.exit_code == 0
    assert "page 99 of" not in result.stdout
    assert "No hits on page 99: 3 results fill 3 pages of 1." in result.stdout


# --- show by id, path or -id; filters; stats --------------------------------------------


@pytest.fixture
def demo_posts_index(tmp_path, few_demo_posts):
    path = tmp_path / "index"
    assert run("index", few_demo_posts, "--index", path).exit_code == 0
    return path


def test_show_takes_an_id_the_id_without_md_or_the_path(
    demo_posts_index, few_demo_posts, monkeypatch
):
    post = sorted(few_demo_posts.glob("*.md"))[1]
    monkeypatch.chdir(few_demo_posts.parent)
    for reference in (post.name, post.stem, post, f"{few_demo_posts.name}/{post.name}"):
        result = run("show", reference, "--index", demo_posts_index, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["id"] == post.name
    similar = run("similar", post.stem, "--index", demo_posts_index, "--json")
    assert json.loads(similar.stdout)["id"] == post.name


@pytest.mark.parametrize(
    "reference",
    [["-202205262391921712.md"], ["--", "-202205262391921712.md"], ["-202205262391921712"]],
)
def test_an_id_starting_with_a_minus(demo_posts_index, reference):
    result = run("show", "--index", demo_posts_index, "--json", *reference)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "-202205262391921712.md"
    similar = run("similar", "--index", demo_posts_index, "--json", *reference)
    assert (
        similar.exit_code in (0, 1) and json.loads(similar.stdout)["id"] == "-202205262391921712.md"
    )


def test_since_after_until_is_a_user_error(handmade_path):
    result = run(
        "search", "回购", "--since", "2023", "--until", "2022-12", "--index", handmade_path
    )
    assert_one_error_line(result)
    assert "since 2023 is after until 2022-12" in result.stderr


def test_an_unknown_category_or_tag_gets_a_note(handmade_path):
    for option in ("--category", "--tag"):
        result = run("search", "回购", option, "nope", "--index", handmade_path)
        assert result.exit_code == 1
        assert f"note: no post has {option[2:]} 'nope'" in result.stderr
    known = run("search", "北向", "--category", "MACRO", "--index", handmade_path)
    assert known.exit_code == 1 and known.stderr == ""  # a's category; a has no 北向


def test_an_empty_query_with_filters_lists_the_newest_posts(handmade_path):
    _, document = search_json("", "--category", "macro", "--index", handmade_path)
    assert [hit["id"] for hit in document["hits"]] == ["a"]
    result = run("search", "--since", "2022", "--index", handmade_path, "--json")
    assert [hit["id"] for hit in json.loads(result.stdout)["hits"]] == ["d", "b", "a"]
    shown = run("search", "--since", "2022", "--index", handmade_path)
    assert shown.stdout.startswith("3 results, newest first")
    assert_one_error_line(run("search", "--index", handmade_path))  # no words, no filter
    assert_one_error_line(run("search", "", "--index", handmade_path))


def test_stats_shows_china_dates_and_counts_user_dictionary_words(tmp_path):
    from datetime import datetime, timedelta, timezone

    from searchkit import Document

    china = timezone(timedelta(hours=8))
    words = tmp_path / "words.txt"
    words.write_text("北向交易资金 100\n量化紧缩 50 n\n# a comment\n\n", "utf-8")
    with Index.create(tmp_path / "index", userdict=words) as index:
        index.add(
            [
                Document(
                    id="x", title="a", body="b", date=datetime(2022, 6, 7, 23, 30, tzinfo=china)
                ),
                Document(
                    id="y", title="a", body="b", date=datetime(2022, 6, 8, 1, 0, tzinfo=china)
                ),
            ]
        )
    result = run("stats", "--index", tmp_path / "index")
    assert "2022-06-07 … 2022-06-08" in result.stdout  # in UTC both are 2022-06-07
    assert "user dictionary of 2 words" in result.stdout


def test_dates_shown_in_the_posts_zone_and_without_a_time_at_midnight():
    from datetime import datetime, timedelta, timezone

    china = timezone(timedelta(hours=8))
    assert render.local_minute(datetime(2022, 6, 7, 13, 59, tzinfo=china)) == "2022-06-07 13:59"
    assert render.local_minute(datetime(2022, 6, 7, tzinfo=china)) == "2022-06-07"
    assert render.china_date(datetime(2022, 6, 7, 17, tzinfo=timezone.utc)) == "2022-06-08"


def test_search_folds_near_duplicates_unless_all(tmp_path):
    from test_collapse import POSTS

    path = tmp_path / "index"
    with Index.create(path) as index:
        index.add(POSTS)
    human = run("search", "中间价", "--index", path)
    assert human.exit_code == 0, human.output
    assert human.stdout.splitlines()[0].startswith("9 results for 中间价 · 4 rows, near-dup")
    assert "(+4 more like this)" in human.stdout and "(+1 more like this)" in human.stdout
    result, document = search_json("中间价", "--index", path)
    assert_search_document(document)
    assert (document["total"], document["rows"], document["collapsed"]) == (9, 4, 4 + 1)
    assert sorted(hit["duplicates"] for hit in document["hits"]) == [0, 0, 1, 4]
    result, document = search_json("中间价", "--all", "--index", path)
    assert (len(document["hits"]), document["rows"], document["collapsed"]) == (9, 9, 0)
    assert "more like this" not in run("search", "中间价", "--all", "--index", path).stdout
