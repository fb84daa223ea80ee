"""Terminal rendering for the commands: result pages, posts, reports, facets, progress.

Rich is imported inside the functions, so a command that prints JSON never loads it. The
JSON documents are the results' own `to_dict()` (results.py, facets.py, index.py).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from .dates import china_day
from .index import UpdateReport


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A `progress(done, total)` callback drawing a bar on stderr, or None when stderr is not
    a terminal, so that pipes, log files and cron mail get no bar frames."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class FilesPerSecond(ProgressColumn):
        def render(self, task):
            return Text(f"{task.speed:.0f} files/s" if task.speed else "", "progress.data.speed")

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        FilesPerSecond(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def print_report(report: UpdateReport) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False)
    counts = report.counts()
    for name in counts:
        table.add_column(name, justify="right")
    table.add_column("seconds", justify="right")
    table.add_row(*(str(n) for n in counts.values()), f"{report.seconds:.1f}")
    console = new_console()
    console.print(table)
    for label, style, problems in (
        ("skipped", "bold red", report.skipped),
        ("warning", "yellow", report.warnings),
    ):
        for problem in problems:
            # soft_wrap: one line per post, whatever the width, for grep and copy-paste
            line = Text.assemble((label, style), f" {problem.path}: {problem.reason}")
            console.print(line, soft_wrap=True)


HEADER_QUERY_WIDTH = 60  # terminal cells of the query shown in the header; a longer one ends in …


def render_results(
    console, results, page: int, limit: int, elapsed_ms: float, labels: bool = True
) -> None:
    """Print a page of `SearchResults`: a header line, then each hit with its snippet;
    `labels` marks synonym and best-match hits as such."""
    from rich.text import Text

    from .highlight import to_rich

    noun = "result" if results.total == 1 else "results"
    header = Text.assemble((str(results.total), "bold"), f" {noun}")
    if results.query.strip():
        header.append(" for ").append(shortened(results.query, HEADER_QUERY_WIDTH), "bold")
    else:  # filters only (`search '' --category xwlb`)
        header.append(", newest first")
    if labels and results.exact_total != results.total:
        parts = [f"{results.exact_total} exact"]
        if results.synonym_total:
            parts.append(f"{results.synonym_total} by synonym")
        header.append(f" ({', '.join(parts)})")
    if results.collapsed:
        header.append(f" · {_plural(results.rows, 'row')}, near-duplicates folded")
    pages = math.ceil(results.rows / limit) if limit else 1
    past_the_end = bool(results.rows and limit and page > pages)
    if pages > 1 and not past_the_end:
        header.append(f" · page {page} of {pages}")
    header.append(f" · {elapsed_ms:.0f} ms", "dim")
    console.print(header)
    if past_the_end:
        filling = _plural(results.rows, "row") if results.collapsed else f"{results.total} {noun}"
        verb = "fills" if results.rows == 1 else "fill"
        console.print(
            f"No hits on page {page}: {filling} {verb} {_plural(pages, 'page')} of {limit}."
        )
    if results.suggestion:
        console.print(Text.assemble("Did you mean ", (results.suggestion, "bold"), "?"))
    for rank, hit in enumerate(results, start=(page - 1) * limit + 1):
        heading = to_rich(hit.title.replace("\n", " "), list(hit.title_marks))
        if not hit.title:
            heading = Text(hit.id)
        heading.style = "bold cyan"  # under the marks' style
        if labels and hit.match != "exact":
            label = "synonym" if hit.match == "synonym" else "best match"
            heading.append(f"  {label}", "italic magenta")
        if hit.duplicates:
            heading.append(f"  (+{hit.duplicates} more like this)", "dim")
        meta = [local_minute(hit.date), ", ".join(hit.categories), hit.id]
        console.print()
        # A hanging indent: a wrapped title continues under its first character.
        print_folded(console, heading, indent=4, lead=Text(f"{rank:>2}. ", "bold"))
        print_folded(console, Text(" · ".join(part for part in meta if part), "dim"), indent=4)
        print_folded(console, to_rich(hit.snippet, list(hit.marks)), indent=4)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def shortened(text: str, width: int) -> str:
    """`text` on one line, cut to `width` terminal cells with "…" when it is longer."""
    from rich.cells import cell_len

    text = " ".join(text.split())
    if cell_len(text) <= width:
        return text
    kept, used = [], 1  # the "…"
    for char in text:
        used += cell_len(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def new_console():
    """A rich console on stdout that never wraps or crops lines itself: `print_folded` folds
    text at the width of a terminal, and in a pipe or file lines are as long as they are."""
    from rich.console import Console

    class PipeAwareConsole(Console):
        def on_broken_pipe(self) -> None:
            # Rich exits with 1 here, which `search` documents as "nothing found": let the
            # command end it instead (quietly, exit 0; see `cli.ended_like_a_unix_tool`).
            raise BrokenPipeError

    # `highlight=False`: rich would otherwise colour numbers and dates inside news text.
    return PipeAwareConsole(highlight=False, soft_wrap=True)


def print_folded(console, text, indent: int = 0, lead=None) -> None:
    """Print a `rich.text.Text` indented by `indent` cells, or after `lead` (a `Text`) on its
    first line, without trailing spaces. In a terminal, lines are folded at its width; in a
    pipe or a file they are not folded at all (one paragraph a line, for grep and editors).

    Folded by characters, not wrapped at spaces: Chinese has no spaces, and rich's word
    wrapping would strand a short line before every long run of characters. A fold never
    splits a highlighted match that fits on a line: the line ends before the match instead.
    """
    from rich.text import Text

    width = max(console.width - indent, 20)
    margin = lead if lead is not None else Text(" " * indent)
    for line in text.split("\n", allow_blank=True):
        parts = line.divide(_folds(line, width)) if console.is_terminal else [line]
        for part in parts:
            printed = margin + part
            printed.rstrip()  # also leaves a blank line blank, not a row of indent spaces
            console.print(printed, soft_wrap=True)
            margin = Text(" " * indent)


def _folds(line, width: int) -> list[int]:
    """Offsets at which to fold `line` (a `Text`) so no piece is wider than `width` cells,
    moved back to the start of a highlighted span that would otherwise be cut."""
    from rich.cells import cell_len

    marks = [(span.start, span.end) for span in line.spans]
    breaks, used, start = [], 0, 0
    for offset, char in enumerate(line.plain):
        used += cell_len(char)
        if used > width:
            fold = offset
            for mark_start, mark_end in marks:
                if start < mark_start < offset < mark_end:
                    fold = mark_start
            breaks.append(fold)
            used = cell_len(line.plain[fold : offset + 1])
            start = fold
    return breaks


def print_post(console, marked, query: str | None) -> None:
    """Print a `MarkedPost` as `searchkit show` does: its title, fields, then its text, with
    the marks of `query` (and their count, when there is a query)."""
    from .highlight import to_rich

    post = marked.post
    title = to_rich(post.title or post.id, list(marked.title_marks), "bold black on yellow")
    console.print(title, style="bold")
    rows = [
        ("id", post.id),
        ("date", local_minute(post.date)),
        ("categories", ", ".join(post.categories)),
        ("tags", ", ".join(post.tags)),
        ("url", post.url),
        ("path", str(post.path) if post.path else None),
    ]
    if query:
        rows.append(("matches", f"{marked.match_count} for {query}"))
    print_fields(console, rows)
    console.print()
    print_folded(console, to_rich(post.body, list(marked.body_marks)))


def print_fields(console, rows: list[tuple[str, str | None]]) -> None:
    """Print `name  value` lines, the values aligned, multi-line values indented under
    their first line; rows without a value are left out."""
    from rich.cells import cell_len
    from rich.text import Text

    rows = [(name, value) for name, value in rows if value]
    width = max((cell_len(name) for name, _ in rows), default=0)
    for name, value in rows:
        lead = Text.assemble((name, "bold"), " " * (width - cell_len(name) + 2))
        # a path or URL is for copying: folded in a terminal, never cut short
        print_folded(console, Text(value), indent=width + 2, lead=lead)


def local_minute(moment: datetime | None) -> str:
    """`YYYY-MM-DD HH:MM` in the post's own time zone (UTC+08:00 unless its front matter
    named another), just `YYYY-MM-DD` at midnight (most likely a post with only a date), or ''."""
    if moment is None:
        return ""
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{moment:%Y-%m-%d}"
    return f"{moment:%Y-%m-%d %H:%M}"


def china_date(moment: datetime | None) -> str:
    """`YYYY-MM-DD` of an aware datetime in UTC+08:00, the zone of the archives, or ''."""
    return china_day(moment) if moment else ""


def counts(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{name} ({count:,})" for name, count in pairs) or "none"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return f"{size:.1f} {unit}"


def print_facets(console, facets, width: int = 40, top: int = 8) -> None:
    """Print `Facets`: the top categories and tags, then one bar a month (the timeline)."""
    from rich.text import Text

    console.print()
    console.print(Text.assemble(("categories ", "bold"), counts(facets.categories[:top])))
    console.print(Text.assemble(("tags       ", "bold"), counts(facets.tags[:top])))
    if not facets.months:
        return
    busiest = max(count for _, count in facets.months) or 1
    digits = len(str(busiest))
    for first, last, count in _month_runs(facets.months):
        if first != last:  # a quiet stretch: one line, not a screenful of empty months
            console.print(Text(f"{first}…{last} {0:>{digits}}", "dim"))
            continue
        # Eighths of a block: a month with one post still shows a sliver.
        eighths = max(round(count / busiest * width * 8), 1) if count else 0
        bar = "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]
        console.print(Text.assemble(f"{first} ", (f"{count:>{digits}} ", "dim"), (bar, "cyan")))
    if facets.undated:
        console.print(Text(f"undated {facets.undated}", "dim"))


def _month_runs(months: list[tuple[str, int]], quiet: int = 3) -> list[tuple[str, str, int]]:
    """(first, last, count) lines: a month alone, or a run of `quiet` or more empty months."""
    runs: list[tuple[str, str, int]] = []
    empty: list[str] = []
    for month, count in [*months, ("", 1)]:  # the sentinel closes a last run of empties
        if count == 0:
            empty.append(month)
            continue
        if len(empty) >= quiet:
            runs.append((empty[0], empty[-1], 0))
        else:
            runs += [(m, m, 0) for m in empty]
        empty = []
        if month:
            runs.append((month, month, count))
    return runs
