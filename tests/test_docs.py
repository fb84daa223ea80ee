"""The examples in README.md and docs/*.md stay true: they are run here.

- every `searchkit …` line of a ```bash block runs through click's CliRunner, in order, in a
  scratch folder holding a copy of the bundled demo posts as `_posts` (`~` is a scratch home,
  `ID` and `path/to/_posts` stand for a real post and that folder; `| jq …` is dropped and the
  output must be JSON; `searchkit serve` runs up to the point where uvicorn would start);
- every ```python block runs (with `index` bound to an index of those posts, for the
  fragments that use one), and a line `expression   # literal` checks the literal;
- the JSON example of `search --json` has the keys the command prints;
- every `python tests/bench/… --flag` names a runner that exists and takes those flags.

Paths into ../shared/corpus are the shared posts when they are there, and the demo posts
(a sample of the same folders) when they are not: these tests need nothing but the package.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus import SHARED

from searchkit import Index
from searchkit.cli import cli
from searchkit.demo import demo_posts

REPOSITORY = Path(__file__).resolve().parents[1]
PAGES = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
REFERENCE_ID = "2022-06-07-202206072404046437.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
TRAILING_COMMENT = re.compile(r"\s{2,}#.*$")


def blocks(page: Path, language: str) -> list[str]:
    """The text of every fenced block of `language` on `page`."""
    return [body for lang, body in FENCE.findall(page.read_text("utf-8")) if lang == language]


def command_lines(block: str) -> list[str]:
    """The block's lines with continuations joined and trailing `  # comments` dropped."""
    joined = block.replace("\\\n", " ")
    lines = (TRAILING_COMMENT.sub("", line).strip() for line in joined.splitlines())
    return [line.removeprefix("$ ") for line in lines if line and not line.startswith("#")]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A scratch folder with the demo posts as `_posts`, a scratch home and cache, and the
    files the examples name."""
    shutil.copytree(demo_posts(), tmp_path / "_posts")
    (tmp_path / "path" / "to").mkdir(parents=True)
    (tmp_path / "path" / "to" / "_posts").symlink_to(tmp_path / "_posts")
    (tmp_path / "my_words.txt").write_text("接盘侠 5 n\n", "utf-8")
    (tmp_path / "my_synonyms.txt").write_text("接盘, 承接\n", "utf-8")
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    return tmp_path


def cli_arguments(line: str, home: Path) -> list[str]:
    """The arguments of a `searchkit …` line, with the example's placeholders made real."""
    words = shlex.split(line)[1:]
    arguments = []
    for word in words:
        if word.startswith("~/"):
            word = str(home / word[2:])
        elif word == "ID":
            word = REFERENCE_ID
        elif word.startswith("/tmp/"):  # a scratch folder: the test's own, not one left behind
            word = str(home.parent / word.removeprefix("/tmp/"))
        elif word.startswith("../shared/corpus/") and SHARED.is_dir():
            word = str(SHARED / word.removeprefix("../shared/corpus/"))
        elif word.startswith("../shared/corpus/"):  # the demo posts are finews and finance posts
            word = re.sub(r"^\.\./shared/corpus/\w+/_posts", "_posts", word)
        arguments.append(word)
    return arguments


def run_cli(line: str, env: dict[str, str], home: Path, monkeypatch) -> str | None:
    """Run one `searchkit …` line; return what went wrong, or None."""
    piped_to_jq = "|" in line and line.split("|", 1)[1].strip().startswith("jq")
    arguments = cli_arguments(line.split("|", 1)[0] if piped_to_jq else line, home)
    served = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: served.append(kwargs))
    result = CliRunner().invoke(cli, arguments, env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"{line}: raised {result.exception!r}"
    # 1 is an answer, not a failure, for these: no hits; problems found.
    answered = arguments[0] in ("search", "similar", "check") and result.exit_code == 1
    if result.exit_code != 0 and not answered:
        return f"{line}: exit {result.exit_code}: {result.output.strip()[-300:]}"
    if arguments[0] == "serve" and not served:
        return f"{line}: did not start the server"
    if piped_to_jq:
        try:
            json.loads(result.stdout)
        except json.JSONDecodeError as error:
            return f"{line}: not JSON ({error})"
    return None


def pages_with(language: str) -> list[Path]:
    return [page for page in PAGES if blocks(page, language)]


@pytest.mark.parametrize("page", pages_with("bash"), ids=lambda page: page.name)
def test_every_searchkit_command_in_the_docs_runs(page, workspace, monkeypatch):
    env: dict[str, str] = {}
    problems = []
    for block in blocks(page, "bash"):
        for line in command_lines(block):
            if line.startswith("export "):
                name, value = line.removeprefix("export ").split("=", 1)
                env[name] = str(workspace / "home" / value[2:]) if value.startswith("~/") else value
            elif line.startswith("searchkit "):
                problems.append(run_cli(line, env, workspace / "home", monkeypatch))
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


def checked_lines(source: str) -> list[tuple[str, object]]:
    """`expression   # literal` lines of a python block: what each should evaluate to."""
    checks = []
    for line in source.splitlines():
        code, _, comment = line.partition("  #")
        try:
            expected = ast.literal_eval(comment.strip())
            ast.parse(code.strip(), mode="eval")
        except (ValueError, SyntaxError):
            continue
        checks.append((code.strip(), expected))
    return checks


@pytest.mark.parametrize("page", pages_with("python"), ids=lambda page: page.name)
def test_every_python_example_in_the_docs_runs(page, workspace, monkeypatch):
    sources = blocks(page, "python")
    with Index.create(workspace / "prebuilt") as index:
        index.update_from(workspace / "_posts")
        for number, source in enumerate(sources):
            folder = workspace / f"example-{number}"
            folder.mkdir()
            for name in ("_posts", "my_words.txt", "my_synonyms.txt"):
                (folder / name).symlink_to(workspace / name)
            monkeypatch.chdir(folder)
            namespace = {"__name__": "__docs__", "index": index}
            exec(compile(source, f"{page.name} example {number + 1}", "exec"), namespace)
            for expression, expected in checked_lines(source):
                assert eval(expression, namespace) == expected, f"{page.name}: {expression}"


def test_the_json_example_has_the_keys_search_prints(workspace):
    example = next(
        json.loads(body)
        for body in blocks(REPOSITORY / "docs" / "cli.md", "json")
        if '"hits"' in body
    )
    result = CliRunner().invoke(cli, ["search", example["query"], "--json"])
    printed = json.loads(result.stdout)
    assert printed.keys() == example.keys()
    assert printed["hits"][0].keys() == example["hits"][0].keys()


def bench_lines() -> list[str]:
    return [
        line
        for page in PAGES
        for block in blocks(page, "bash")
        for line in command_lines(block)
        if line.startswith("python tests/")
    ]


@pytest.mark.parametrize("line", bench_lines())
def test_every_runner_the_docs_name_takes_the_flags_they_give(line):
    words = shlex.split(line.replace("[", "").replace("]", ""))
    script = REPOSITORY / words[1]
    assert script.is_file(), f"{words[1]} does not exist"
    subcommand = words[2:3] if len(words) > 2 and words[2].isalpha() else []
    usage = subprocess.run(
        [sys.executable, str(script), *subcommand, "--help"],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        timeout=120,
    )
    assert usage.returncode == 0, usage.stderr[-500:]
    flags = {word.split("=")[0] for word in words[2:] if word.startswith("--")}
    missing = [flag for flag in flags if flag not in usage.stdout]
    assert not missing, f"{words[1]} --help does not offer {missing}"
