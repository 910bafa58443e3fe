"""``news-search export QUERY``: every matching article as CSV or JSON Lines.

The rows are those of ``/api/export`` (``search.export``), written to a file or to
stdout as they are read, with a progress bar on stderr (``search.progress``: a bar on
a terminal, a line every 10 s elsewhere) and, at the end, how many were written and
whether the cap cut them. ``search.cli`` registers :func:`export_command` as ``main``'s
``export``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from search.cli_options import index_option
from search.export import FORMATS, MAX_ROWS, export
from search.layout import IndexMissing, resolve_index_dir
from search.progress import Progress
from search.searching import SORTS, SearchEngine, SearchError, SearchRequest, parse_date_option

_FILTERS = (
    ("--from", "date_from", "From date: YYYY, YYYY-MM or YYYY-MM-DD."),
    ("--to", "date_to", "To date: YYYY, YYYY-MM or YYYY-MM-DD."),
    ("--source", "source", "Only articles of this source (any case)."),
    ("--topic", "topic", "Only articles of this topic (any case)."),
    ("--tag", "tag", "Only articles with this tag (any case)."),
)


def _filter_options(command):
    for flag, name, text in reversed(_FILTERS):
        command = click.option(flag, name, default=None, help=text)(command)
    return command


@click.command("export")
@click.argument("text", nargs=-1, required=True)
@index_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
    help="File to write (default: stdout).",
)
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_ROWS),
    default=MAX_ROWS,
    show_default=True,
    help="At most this many articles.",
)
@_filter_options
def export_command(text, index_dir, fmt, output, sort, limit, **filters) -> None:
    """Write every article matching TEXT (id, date, source, topic, title, url, score),
    best first or by date, as CSV with a header row or as JSON Lines."""
    root = resolve_index_dir(index_dir)
    try:
        request = SearchRequest(
            q=" ".join(text),
            sort=sort,
            date_from=parse_date_option(filters.pop("date_from"), last=False),
            date_to=parse_date_option(filters.pop("date_to"), last=True),
            **filters,
        )
        rows = export(SearchEngine(root), request, limit)
    except SearchError as error:
        raise click.BadParameter(error.message) from error
    except IndexMissing as error:
        raise click.ClickException(str(error)) from error
    progress = Progress("exporting", rows.rows, stream=sys.stderr)
    with click.open_file(str(output), "wb") as out:
        for chunk in rows.encoded(fmt, done=progress.update):
            out.write(chunk)
    progress.close()
    cut = f"; {rows.total} matched, cut at {rows.rows}" if rows.truncated else ""
    click.echo(f"Exported {rows.rows} articles{cut}.", err=True)
