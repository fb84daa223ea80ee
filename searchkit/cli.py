"""The `searchkit` and `searchkit-rebuild` commands.

A thin skin over the library: each command parses its options, calls `Index`, and renders
what comes back with rich (imported only when there is something to render). Exit codes:
0 when a search has hits or a command succeeded, 1 when a search found nothing (like grep),
2 for a user error, printed as one line `searchkit: error: ...` on stderr.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from . import __version__, render
from .errors import DocumentNotFoundError, IndexNotFoundError, SearchkitError
from .index import Index
from .integrity import check_index
from .synonyms import Synonyms

DEFAULT_INDEX = Path("index")
EXIT_NO_HITS = 1
EXIT_USER_ERROR = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


class CommandError(click.ClickException):
    """An error shown as one line, `searchkit: error: <message>`, on stderr: no traceback.
    By default a user error (exit code 2)."""

    def __init__(self, message: str, prog: str = "searchkit", exit_code: int = EXIT_USER_ERROR):
        super().__init__(message)
        self.prog = prog
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"{self.prog}: error: {self.format_message()}", err=True)


class SearchkitGroup(click.Group):
    """Turns every library error into a `CommandError`, whichever command raised it, and
    ends Ctrl-C and a closed pipe the way a Unix tool does."""

    def invoke(self, ctx: click.Context):
        with ended_like_a_unix_tool("searchkit"):
            try:
                return super().invoke(ctx)
            except DocumentNotFoundError as error:
                raise CommandError(
                    f"no post with id {error.doc_id!r} in the index at {_shown(error.path)}; "
                    "`searchkit search` shows each hit's id"
                ) from None
            except SearchkitError as error:
                raise CommandError(str(error)) from None


@contextmanager
def ended_like_a_unix_tool(prog: str) -> Iterator[None]:
    """Ctrl-C: one line on stderr and exit code 130 (128 + SIGINT), not click's "Aborted!"
    (exit 1) or a traceback. A reader that stopped reading (`searchkit search 缩表 | head -3`):
    exit 0, quietly; click would exit 1, which for `search` means "nothing found"."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"{prog}: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that flush is quiet.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file (a test's capture)
            pass
        sys.exit(0)


def index_option(command):
    return click.option(
        "--index",
        "index_path",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        envvar="SEARCHKIT_INDEX",
        show_envvar=True,
        help="The index folder.  [default: ./index]",
    )(command)


def userdict_option(command):
    return click.option(
        "--userdict",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE",
        help="An extra jieba user dictionary: one word a line, optionally with a frequency.",
    )(command)


@click.group(cls=SearchkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="searchkit")
def cli():
    """Chinese full-text search for Jekyll news archives.

    \b
    Try it on the bundled demo posts, then on your own:
      searchkit search 缩表
      searchkit index path/to/_posts
      searchkit search '逆回购 -美联储' --since 2022-06

    The index lives in --index, else $SEARCHKIT_INDEX, else ./index. Exit codes:
    0 hits found or command done, 1 no hits, 2 user error. Run a command with --help
    for its options.
    """


# --- index, rebuild ------------------------------------------------------------------------


@cli.command("index")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path), metavar="[SOURCE]...")
@index_option
@userdict_option
def index_command(sources: tuple[Path, ...], index_path: Path | None, userdict: Path | None):
    """Create or update the index from posts folders.

    Brings the index up to date with each SOURCE, a Jekyll posts folder (or one post
    file), creating the index if there is none. Only new and changed posts are read; posts
    whose files are gone are deleted. With no SOURCE, the folders the index was built from
    are used. Bad posts are skipped and listed.

    \b
    Examples:
      searchkit index _posts
      searchkit index _posts more/_posts --index ~/news-index
      searchkit index                      # update from the recorded folders
    """
    path = index_path or DEFAULT_INDEX
    if not sources and not Index.exists(path):
        raise CommandError(
            f"no index at {_shown(path)} yet; give the posts folder to build it from, "
            f"e.g. `searchkit index _posts --index {_shown(path)}`"
        )
    with Index.open_for_update(path, userdict=userdict) as index:
        if userdict is not None and not index.uses_userdict(userdict):
            click.echo(
                f"searchkit: note: the index at {_shown(path)} was built with another user "
                f"dictionary, which stays in use; to switch to {userdict}, run "
                f"`searchkit rebuild --userdict {userdict} --index {_shown(path)}`",
                err=True,
            )
        with render.progress_bar("Indexing") as progress:
            report = index.update_from(*sources, progress=progress)
    render.print_report(report)


@cli.command()
@click.argument("source", required=False, type=click.Path(path_type=Path))
@index_option
@userdict_option
def rebuild(source: Path | None, index_path: Path | None, userdict: Path | None):
    """Rebuild the index from scratch and swap it in atomically.

    Searches keep using the old index until the new one is complete; if the rebuild fails,
    the old one stays. SOURCE defaults to the folders the index was built from; given, it
    replaces them (and creates the index if there is none). Use it after changing --userdict
    or when searchkit says the index is incompatible.

    \b
    Examples:
      searchkit rebuild
      searchkit rebuild _posts --index ~/news-index
      searchkit rebuild --userdict my_words.txt
    """
    path = index_path or DEFAULT_INDEX
    create = source is not None
    with Index.open_for_rebuild(path, create=create, userdict=userdict) as index:
        with render.progress_bar("Rebuilding") as progress:
            report = index.rebuild(source, progress=progress, userdict=userdict)
    render.print_report(report)


# --- search, show, stats -------------------------------------------------------------------


class QueryCommand(click.Command):
    """A command whose words may start with "-" (an exclusion: `searchkit search -缩表 美联储`,
    an id: `searchkit show -202205262391921712.md`), so click passes options it does not
    know through as words (`ignore_unknown_options`).
    But `--sice 2026` or `-N 5` is a mistyped option, not a query: it gets click's "No such
    option ... Did you mean '--since'?" (exit 2). After `--`, everything is words."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.resilient_parsing:  # shell completion of a half-typed option: no error
            return super().parse_args(ctx, args)
        known = sorted(
            name
            for param in self.get_params(ctx)
            for name in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ()))
        )
        for arg in args:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if OPTION_LIKE.fullmatch(name) and name not in known:
                error = click.NoSuchOption(name, possibilities=known, ctx=ctx)
                if not error.possibilities:
                    error.message += (
                        f" To search for it, put it after --: {ctx.command_path} -- {arg}"
                    )
                raise error
        return super().parse_args(ctx, args)


# What a mistyped option looks like; any other word starting with "-" is an exclusion.
OPTION_LIKE = re.compile(r"--[A-Za-z][A-Za-z0-9-]*|-[A-Za-z]")


@cli.command(cls=QueryCommand, context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, metavar="WORDS...")
@index_option
@click.option(
    "--limit", "-n", type=click.IntRange(min=0), default=10, show_default=True, help="Hits a page."
)
@click.option(
    "--page", type=click.IntRange(min=1), default=1, show_default=True, help="Which page (1-based)."
)
@click.option(
    "--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True
)
@click.option("--since", metavar="DATE", help="Posts from DATE on (YYYY, YYYY-MM, YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Posts up to the end of DATE.")
@click.option("--category", help="Only posts in this category.")
@click.option("--tag", help="Only posts with this tag.")
@click.option(
    "--exact", is_flag=True, help="Posts containing the terms only: no synonyms, no best match."
)
@click.option("--no-synonyms", is_flag=True, help="Do not add posts that contain a synonym.")
@click.option(
    "--synonyms",
    "synonym_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="More synonym groups (one group a line, terms separated by commas).",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Show every post: do not fold near-duplicates (same body, or differing only in numbers).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--facets",
    "with_facets",
    is_flag=True,
    help="Also count every match by category, tag and month (a bar a month).",
)
def search(
    words,
    index_path,
    limit,
    page,
    sort,
    since,
    until,
    category,
    tag,
    exact,
    no_synonyms,
    synonym_file,
    show_all,
    as_json,
    with_facets=False,
):
    """Search the index for WORDS (several words are one query, as if quoted together).

    Every post whose title or body contains each term is an exact hit. Then come posts that
    contain a synonym of a term instead (缩表: 量化紧缩, QT), and a question or long phrase is
    topped up with best-match hits; both are labelled. Terms are ANDed; "a phrase" (taken
    literally), a OR b, -term, title:, body:, tag:, category: and date:2022-06 also work.
    When nothing is found, a near-miss spelling the index knows is suggested. Near-duplicates
    (the same body, or notices differing only in numbers and dates) show as one row, "+N more
    like this"; --all shows every post.

    \b
    Examples:
      searchkit search 缩表
      searchkit search 美联储 加息
      searchkit search -- -缩表 美联储          # a query starting with -
      searchkit search '逆回购 OR MLF' --sort date --limit 5
      searchkit search 美联储 --since 2026-06 --category cls --json
      searchkit search 聯準會 --no-synonyms
      searchkit search 人民币汇率 --all
    """
    from .query import check_date_range

    query = " ".join(words)
    check_date_range(since, until)  # before the demo index is opened (and its note printed)
    if not words and not any((since, until, category, tag)):
        raise CommandError(
            "give words to search for, e.g. `searchkit search 缩表`; with only --category, "
            "--tag, --since or --until, search lists the newest posts they let through"
        )
    with _open_for_reading(index_path) as index:
        synonyms = not no_synonyms
        if synonym_file is not None and synonyms:
            synonyms = index.synonyms().merged(Synonyms.load(synonym_file))
        # What the facets count too: every post these let through.
        filters = dict(since=since, until=until, category=category, tag=tag)
        filters.update(exact_only=exact, synonyms=synonyms)
        started = time.perf_counter()
        offset = (page - 1) * limit
        results = index.search(
            query, limit=limit, offset=offset, sort=sort, collapse=not show_all, **filters
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        if results.total == 0:
            _explain_no_hits(index, category, tag)
        counts = index.facets(query, **filters) if with_facets else None
    if as_json:
        document = results.to_dict()
        if counts is not None:
            document["facets"] = counts.to_dict()
        _print_json(document)
    else:
        render.render_results(render.new_console(), results, page, limit, elapsed_ms)
        if counts is not None:
            render.print_facets(render.new_console(), counts)
    if results.total == 0:
        sys.exit(EXIT_NO_HITS)


@cli.command(cls=QueryCommand, context_settings={"ignore_unknown_options": True})
@click.argument("doc_id", metavar="ID")
@index_option
@click.option(
    "--limit", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Posts."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def similar(doc_id: str, index_path: Path | None, limit: int, as_json: bool):
    """Show the posts most like post ID ("more like this").

    ID is as for `searchkit show`. The post's most telling words (frequent in it, rare in
    the index) are searched for; they are highlighted in each hit.

    \b
    Examples:
      searchkit similar 2022-06-07-202206072404046437.md
      searchkit similar 2022-06-07-202206072404046437.md --limit 5 --json
    """
    with _open_for_reading(index_path) as index:
        started = time.perf_counter()
        results = index.similar(index.lookup(doc_id).id, limit=limit)
        elapsed_ms = (time.perf_counter() - started) * 1000
    if as_json:
        _print_json(results.to_dict())
    else:
        render.render_results(render.new_console(), results, 1, limit, elapsed_ms, labels=False)
    if results.total == 0:
        sys.exit(EXIT_NO_HITS)


def _explain_no_hits(index: Index, category: str | None, tag: str | None) -> None:
    """Notes on stderr for the reasons of 0 results a user cannot see: an empty index, a
    category or tag no post has (a typo, or the wrong case of a name)."""

    def note(text: str) -> None:
        click.echo(f"searchkit: note: {text}", err=True)

    if index.count() == 0:
        shown = _shown(index.path)
        note(
            f"the index at {shown} has no posts; add some with `searchkit index POSTS_FOLDER "
            f"--index {shown}`"
        )
        return
    for kind, name in (("category", category), ("tag", tag)):
        if name is not None and index.count(**{kind: name}) == 0:
            note(f"no post has {kind} {name!r}; `searchkit stats` lists the common ones")


@cli.command(cls=QueryCommand, context_settings={"ignore_unknown_options": True})
@click.argument("doc_id", metavar="ID")
@index_option
@click.option("--query", "-q", help="Highlight this query's terms in the post.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def show(doc_id: str, index_path: Path | None, query: str | None, as_json: bool):
    """Show one post: metadata and full text.

    ID is the id `searchkit search` prints for each hit (the file's path in its posts
    folder), that id without .md, or the post's file path. An ID starting with - may
    follow --. With --query, the query's matches are highlighted and counted.

    \b
    Examples:
      searchkit show 2022-06-07-202206072404046437.md --query 缩表
      searchkit show 2022-06-07-202206072404046437 --json
      searchkit show _posts/2022-06-07-202206072404046437.md
      searchkit show -- -202205262391921712.md
    """
    with _open_for_reading(index_path) as index:
        marked = index.marked_post(doc_id, query)
    if as_json:
        _print_json(marked.to_dict())
    else:
        render.print_post(render.new_console(), marked, query)


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path), metavar="[POSTS]...")
@index_option
@click.option(
    "--posts", is_flag=True, help="Compare with the posts (default: the index's folders)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the problems as one JSON list.")
def check(sources: tuple[Path, ...], index_path: Path | None, posts: bool, as_json: bool):
    """Verify the index: every file's size and checksum, and its internal consistency.

    Prints one line a problem (the file, what is wrong, what to do) and exits 1, or says the
    index is healthy and exits 0. It reads the whole index: 0.5 s for the 2,644 shared posts.
    With --posts (or POSTS folders), it also lists posts missing from the index, changed
    since indexing, or gone from their folder.

    \b
    Examples:
      searchkit check
      searchkit check --posts
      searchkit check --posts _posts --index ~/news-index --json
    """
    path = index_path or DEFAULT_INDEX
    problems = check_index(path, list(sources) or posts)
    if as_json:
        _print_json([problem.as_dict() for problem in problems])
    elif problems:
        for problem in problems:
            click.echo(f"{_shown(path / problem.file)}: {problem.what}; {problem.fix}")
    else:
        click.echo(f"the index at {_shown(path)} is healthy")
    if problems:
        sys.exit(EXIT_FAILURE)


@cli.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def stats(index_path: Path | None, as_json: bool):
    """Figures about the index.

    Documents, size on disk, date range, top categories and tags, the posts folders it was
    built from, the analyzer's version and fingerprint, and the vocabulary size.

    \b
    Examples:
      searchkit stats
      searchkit stats --index ~/news-index --json
    """
    with _open_for_reading(index_path) as index:
        figures = index.stats()
    if as_json:
        _print_json(figures.to_dict())
        return
    dates = " … ".join(render.china_date(d) for d in (figures.first_date, figures.last_date) if d)
    render.print_fields(
        render.new_console(),
        [
            ("index", f"{_shown(figures.path)} ({figures.generation})"),
            ("documents", f"{figures.documents:,}"),
            (
                "size on disk",
                f"{render.human_size(figures.size_bytes)} "
                f"(the folder: {render.human_size(figures.folder_size_bytes)})",
            ),
            ("dates", dates or "none"),
            ("categories", render.counts(figures.categories)),
            ("tags", render.counts(figures.tags)),
            ("sources", "\n".join(str(source) for source in figures.sources) or "none"),
            (
                "analyzer",
                f"version {figures.analyzer_version}, fingerprint "
                f"{figures.analyzer_fingerprint}, user dictionary of "
                f"{figures.user_dictionary_words:,} words",
            ),
            ("vocabulary", f"{figures.vocabulary_size:,} words"),
        ],
    )


def _open_for_reading(index_path: Path | None) -> Index:
    """The index named by --index or $SEARCHKIT_INDEX; else ./index; else, for a new user
    who has built nothing yet, the bundled demo (built once in the user's cache)."""
    if index_path is not None:
        return Index.open(index_path)
    try:
        return Index.open(DEFAULT_INDEX)
    except IndexNotFoundError:
        pass
    from . import demo

    def note(text: str) -> None:
        click.echo(f"searchkit: {text}", err=True)

    note(
        f"no index at ./index, so using the bundled demo ({demo.demo_post_count()} posts); "
        "build your own with `searchkit index POSTS_FOLDER`"
    )
    location = _shown(demo.demo_index_path())
    return demo.open_demo_index(
        on_build=lambda: note(f"building the demo index once in {location}")
    )


# --- searchkit-rebuild ---------------------------------------------------------------------


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("source", required=False, type=click.Path(path_type=Path))
@index_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@click.version_option(__version__, prog_name="searchkit-rebuild")
def rebuild_main(source: Path | None, index_path: Path | None, quiet: bool):
    """Rebuild a searchkit index atomically; for cron.

    Rebuilds from SOURCE, or from the folders the index was built from, then prints one
    summary line (nothing with --quiet) and each skipped post on stderr. A failed rebuild
    leaves the old index in place. Exit codes: 0 done, 2 user error, 1 any other failure.

    \b
    Examples:
      searchkit-rebuild --index /srv/news/index
      searchkit-rebuild /srv/news/_posts --index /srv/news/index --quiet
    """
    path = index_path or DEFAULT_INDEX
    prog = "searchkit-rebuild"
    try:
        with (
            ended_like_a_unix_tool(prog),
            Index.open_for_rebuild(path, source is not None) as index,
        ):
            report = index.rebuild(source)
            documents = index.count()
    except SearchkitError as error:
        raise CommandError(str(error), prog) from None
    except Exception as error:  # noqa: BLE001 - cron wants one line, not a traceback
        raise CommandError(f"{type(error).__name__}: {error}", prog, EXIT_FAILURE) from None
    if quiet:
        return
    for problem in report.skipped:
        click.echo(f"{prog}: skipped {problem.path}: {problem.reason}", err=True)
    click.echo(
        f"{prog}: {documents} documents, {len(report.skipped)} skipped, "
        f"{report.seconds:.1f} s (index {_shown(path)})"
    )


# --- serve ---------------------------------------------------------------------------------


@cli.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes (each searches on its own; 2 on a 2-core machine).",
)
def serve(index_path: Path | None, host: str, port: int, workers: int):
    """Serve a search page and a JSON API over the index.

    Open http://127.0.0.1:8000/ for the search page; the API is under /api/ (described at
    /api/openapi.json). Read-only, and only this machine can connect unless --host says
    otherwise. A rebuild or update of the index is picked up without a restart; a named
    index that does not exist yet is answered with 503 until it does. With no index at all,
    the bundled demo is served, as `searchkit search` does.

    \b
    Examples:
      searchkit serve
      searchkit serve --index ~/news-index --port 8080 --workers 2
    """
    from .web import serve as run_server

    path = index_path
    if path is None and not Index.exists(DEFAULT_INDEX):
        _open_for_reading(None).close()  # the demo, built once if need be, with its note
        from . import demo

        path = demo.demo_index_path()
    path = path or DEFAULT_INDEX
    if not Index.exists(path):
        click.echo(
            f"searchkit: note: no index at {_shown(path)} yet; the server answers 503 until "
            f"one is built (`searchkit index POSTS_FOLDER --index {_shown(path)}`)",
            err=True,
        )
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"searchkit: serving {_shown(path)} on http://{shown_host}:{port}/ (Ctrl-C stops)")
    run_server(path, host=host, port=port, workers=workers)


# --- small formatting helpers --------------------------------------------------------------


def _print_json(document) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


def _shown(path: Path) -> str:
    """A path as the user would type it: `./index`, `~/.cache/...`."""
    home = Path.home()
    if path.is_absolute() and (path == home or home in path.parents):
        return "~/" + str(path.relative_to(home))
    if not path.is_absolute() and not str(path).startswith("."):
        return f"./{path}"
    return str(path)
