"""The ``news-search`` command line: build and update the index, search it, evaluate, serve."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from search import indexer, merging
from search.caches import LIMITS_MB
from search.check import verify_checksums
from search.cli_options import index_option
from search.export_command import export_command
from search.follow.command import follow_command
from search.progress import Progress, estimate_records
from search.records import IngestProblem
from search.results import SearchResult
from search.rubrics import rubric_label
from search.searching import (
    MAX_PAGE,
    MAX_PER_PAGE,
    SORTS,
    SearchEngine,
    SearchError,
    SearchRequest,
    parse_date_option,
)
from web.payload import search_payload, to_builtins

# The seed article, shipped in the package (``search/seeds`` links to the project's
# ``seeds/``; an installed package holds a copy), so that a first run works anywhere.
PACKAGE_SEEDS = Path(__file__).resolve().parent / "seeds"


def default_seeds() -> Path:
    """``seeds/`` of the working folder, else the package's own."""
    local = Path("seeds")
    return local if local.is_dir() else PACKAGE_SEEDS


def _wait_option(f):
    return click.option(
        "--wait",
        type=click.FloatRange(min=0),
        default=0,
        metavar="SECONDS",
        help="Wait this long for another writer of the index to finish (default: fail at once).",
    )(f)


@contextmanager
def _index_errors() -> Iterator[None]:
    """The index errors people can act on, as one-line messages instead of tracebacks."""
    try:
        yield
    except indexer.IndexBusy as error:
        raise click.ClickException(f"{error} (use --wait SECONDS to wait for it)") from error
    except indexer.BuildRefused as error:
        raise click.ClickException(f"{error} (--allow-empty switches to it anyway)") from error
    except (indexer.IndexMissing, indexer.IndexWriteError) as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _damage_errors(root: Path) -> Iterator[None]:
    """A failure reading the index, as one line when the index files are damaged.

    Whoosh does not verify what it reads: a damaged file surfaces as whatever its
    decoder raises (``struct.error``, ``zlib.error``, ``EOFError``, which click would
    print as "Aborted!"). The checksums written at each commit tell damage from a bug;
    a bug keeps its traceback.
    """
    try:
        yield
    except (indexer.IndexMissing, SearchError, click.ClickException):
        raise
    except Exception as error:
        problems = verify_checksums(root)
        if not problems:
            raise
        raise click.ClickException(
            f"the index in {root.absolute()} is damaged: {problems[0]} "
            "(`news-search index check` lists all; `news-search index build` makes a new one)"
        ) from error


def _problem_sink(progress: Progress | None = None):
    """Where ingest problems go: stderr, through the progress bar when there is one."""

    def report(problem: IngestProblem) -> None:
        prefix = "skipped" if problem.skipped else "warning"
        line = f"{prefix}: {problem}"
        if progress is not None:
            progress.write(line)
        else:
            click.echo(line, err=True)

    return report


def _summary(report: indexer.IngestReport, verb: str) -> None:
    click.echo(
        f"{verb} {report.indexed} articles, skipped {report.skipped}, "
        f"warnings {report.warnings}, {report.seconds:.1f} s, "
        f"{report.docs_per_second:.0f} docs/s"
    )


def ensure_index(root: Path) -> None:
    """Build the seed index when there is none yet, saying so and where (absolute paths:
    a first run may be in any folder, and ``index/`` is relative to it)."""
    if indexer.live_dir(root) is None:
        seeds = default_seeds().absolute()
        click.echo(f"No index in {root.absolute()} yet: building it from {seeds} first.", err=True)
        with _index_errors():
            report = indexer.build(root, [seeds], on_problem=_problem_sink())
        _summary(report, "Indexed")


@click.group()
@click.version_option(package_name="news-search")
def main() -> None:
    """Full-text search for Russian news."""


@main.group("index")
def index_group() -> None:
    """Build, update and inspect the index."""


@index_group.command("build")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@index_option
@click.option("--procs", type=int, default=None, help="Worker processes (default: all cores).")
@click.option("--strict", is_flag=True, help="Exit non-zero when any record was skipped.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Switch to the new index even when it is empty or a SOURCE was skipped whole.",
)
@click.option(
    "--without-tags",
    is_flag=True,
    help="Leave the editors' tags out (to score topical judgements, which are made of them).",
)
@_wait_option
def build_command(sources, index_dir, procs, strict, allow_empty, without_tags, wait) -> None:
    """Build a new index from SOURCE files or folders (default: seeds/).

    The new index is written beside the live one and switched live when complete.
    A build that indexed nothing, or skipped a whole SOURCE (a missing path, an
    unreadable file), fails and leaves the live index as it was, unless --allow-empty.
    """
    root = indexer.resolve_index_dir(index_dir)
    sources = list(sources) or [default_seeds()]
    progress = Progress("indexing", estimate_records(sources))
    try:
        with _index_errors():
            report = indexer.build(
                root,
                sources,
                procs=procs or os.cpu_count() or 1,
                on_problem=_problem_sink(progress),
                progress=progress.update,
                wait=wait,
                allow_empty=allow_empty,
                tags=not without_tags,
            )
    finally:
        progress.close()
    _summary(report, "Indexed")
    if strict and report.skipped:
        sys.exit(1)


@index_group.command("update")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@click.option("--strict", is_flag=True, help="Exit non-zero when any record was skipped.")
@_wait_option
def update_command(sources, index_dir, strict, wait) -> None:
    """Add articles from SOURCE, replacing those with the same id.

    The summary is printed once the change is safely on the disk.
    """
    root = indexer.resolve_index_dir(index_dir)
    progress = Progress("updating", estimate_records(sources))
    try:
        with _index_errors():
            report = indexer.update(
                root,
                sources,
                on_problem=_problem_sink(progress),
                progress=progress.update,
                wait=wait,
            )
    finally:
        progress.close()
    _summary(report, "Added or replaced")
    _merge(root)
    if strict and report.skipped:
        sys.exit(1)


@index_group.command("delete")
@click.argument("ids", nargs=-1, required=True)
@index_option
@_wait_option
def delete_command(ids, index_dir, wait) -> None:
    """Delete articles by ID (the summary is printed once the change is on the disk)."""
    root = indexer.resolve_index_dir(index_dir)
    with _index_errors():
        missing = indexer.delete(root, ids, wait=wait)
    click.echo(f"Deleted {len(ids) - len(missing)} articles.")
    for article_id in missing:
        click.echo(f"not in the index: {article_id}", err=True)
    _merge(root)


@index_group.command("merge")
@index_option
def merge_command(index_dir) -> None:
    """Merge segments as the merge policy wants (updates do this by themselves).

    Readers and writers go on meanwhile; another merge running makes this a no-op.
    """
    root = indexer.resolve_index_dir(index_dir)
    with _index_errors():
        reports = _merge(root)
    click.echo(f"{len(reports)} merges; {len(merging.segment_infos(root))} segments now.")


def _merge(root: Path) -> list[merging.MergeReport]:
    """Merge after a change has been reported: the change is safe whatever happens here."""
    reports = merging.merge_while_needed(root)
    for report in reports:
        click.echo(
            f"merged {len(report.merged)} segments ({report.documents} articles) "
            f"in {report.seconds:.1f} s",
            err=True,
        )
    return reports


@index_group.command("check")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_command(index_dir, as_json) -> None:
    """Verify the index: the live link, and that every article can be read.

    Exits with status 1 and the reasons when the index is not sound.
    """
    from search.check import check_index

    root = indexer.resolve_index_dir(index_dir)
    report = check_index(root)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_check(report)
    if not report.sound:
        sys.exit(1)


def _print_check(report) -> None:
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    if report.sound:
        click.echo(
            f"{report.index} is sound: live -> {report.live}, {report.documents} documents "
            f"({report.deleted} deleted) in {report.segments} segments, "
            f"generation {report.generation}"
        )
    else:
        click.echo(f"{report.index} is NOT sound: {report.problems[0]}", err=True)


@index_group.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_command(index_dir, as_json) -> None:
    """Documents, size on disk, last build time, sources and segments."""
    root = indexer.resolve_index_dir(index_dir)
    try:
        with _damage_errors(root):
            stats = indexer.stats(root)
    except indexer.IndexMissing as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(stats, ensure_ascii=False, indent=2))
        return
    click.echo(f"index:     {stats['index']}")
    click.echo(f"documents: {stats['documents']}")
    click.echo(f"size:      {stats['size_bytes'] / 1e6:.1f} MB")
    click.echo(f"built at:  {stats['built_at']}")
    click.echo(f"sources:   {', '.join(stats['sources'])}")
    click.echo(f"deleted:   {stats['deleted']} (kept until their segment is merged)")
    click.echo(f"segments:  {len(stats['segments'])}")
    for segment in stats["segments"]:
        click.echo(
            f"  {segment['id']}  {segment['documents']:>9} documents"
            f"  {segment['deleted']:>7} deleted"
            f"  tier {merging.tier(segment['documents'] - segment['deleted'])}"
        )


def _search_options(f):
    for option in reversed(
        [
            click.option(
                "--limit",
                "-n",
                type=click.IntRange(1, MAX_PER_PAGE),
                default=10,
                show_default=True,
                help="Hits per page.",
            ),
            click.option(
                "--page",
                type=click.IntRange(1, MAX_PAGE),
                default=1,
                show_default=True,
                help="Which page of hits to show.",
            ),
            click.option(
                "--sort",
                type=click.Choice(SORTS),
                default="relevance",
                show_default=True,
            ),
            click.option("--from", "date_from", help="From date: YYYY, YYYY-MM or YYYY-MM-DD."),
            click.option("--to", "date_to", help="To date: YYYY, YYYY-MM or YYYY-MM-DD."),
            click.option("--source", help="Only articles of this source, e.g. RT (any case)."),
            click.option("--topic", help="Only articles of this topic (rubric), any case."),
            click.option("--tag", help="Only articles with this tag, any case."),
        ]
    ):
        f = option(f)
    return f


@main.command("query")
@click.argument("text", nargs=-1, required=True)
@index_option
@_search_options
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of the search API.")
def query_command(
    text, index_dir, limit, page, sort, date_from, date_to, source, topic, tag, as_json
) -> None:
    """Search the index for TEXT (every form of each word; a wrong keyboard layout or a
    typo is corrected).

    \b
    Query syntax:
      переговоры министров     all the words first, then those lacking one
      "переговоры министров"   the phrase, in any forms; "..."~3 within 3 words
      !переговорах             that exact form only
      -война +мир              exclude, require
      путин OR трамп           either (also путин | трамп, путин ИЛИ трамп)
      нефть НЕ газ             exclude (also NOT); И / AND join words, as a space does
      (россия сша) OR китай    parentheses group words
      нато*                    words starting with the prefix
      title:кошербаев          a word in the headline
      source:RT topic:sport tag:"дональд трамп"   filters (any case)
      date:2018-02  date:2017..2018  date:2018-01-01..2018-03-31
    """
    root = indexer.resolve_index_dir(index_dir)
    ensure_index(root)
    engine = SearchEngine(root)
    try:
        request = SearchRequest(
            q=" ".join(text),
            page=page,
            per_page=limit,
            sort=sort,
            date_from=parse_date_option(date_from, last=False),
            date_to=parse_date_option(date_to, last=True),
            source=source,
            topic=topic,
            tag=tag,
        )
        with _damage_errors(root):
            result = engine.search(request)
    except SearchError as error:
        raise click.BadParameter(error.message) from error
    if as_json:
        click.echo(json.dumps(to_builtins(search_payload(result)), ensure_ascii=False, indent=2))
        return
    _print_results(result)


def _terminal(text: str, marks: list[tuple[int, int]]) -> str:
    """Text with the marked forms in bold, on one line."""
    out, cursor = [], 0
    for start, end in marks:
        out.append(text[cursor:start])
        out.append(click.style(text[start:end], bold=True))
        cursor = end
    out.append(text[cursor:])
    return "".join(out).replace("\n", " ")


def _print_results(result: SearchResult) -> None:
    if result.corrected_query:
        click.echo(f"Showing results for «{result.corrected_query}» (typed «{result.query}»)")
    if result.did_you_mean:
        click.echo(f"Did you mean «{result.did_you_mean}»?")
    full = f" ({result.total_full} with every word)" if result.total_full < result.total else ""
    click.echo(f"{result.total} found{full} in {result.took_ms:.1f} ms")
    if result.dropped:
        click.echo(f"Not searched (the query is too long): {' '.join(result.dropped)}")
    first = (result.page - 1) * result.per_page
    for number, hit in enumerate(result.hits, start=first + 1):
        date = hit.date.isoformat() if hit.date else "undated"
        meta = " · ".join(x for x in (date, hit.source, rubric_label(hit.topic)) if x)
        click.echo()
        click.echo(f"{number}. {_terminal(hit.title, hit.title_marks)}")
        click.echo(f"   {meta} · {hit.id}")
        if hit.missing:
            click.echo(f"   missing: {', '.join(hit.missing)}")
        click.echo(f"   {_terminal(hit.snippet, hit.snippet_marks)}")


@main.command("eval")
@click.argument("judgements", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_command(judgements, index_dir, as_json) -> None:
    """Scores per query kind over a JUDGEMENTS file (JSON Lines): MRR@10 and hit@10 for
    known-item kinds; nDCG@10, P@10, AP@100, MRR@10 and recall@10 for topical ones."""
    from search.evaluation import evaluate, format_table, load_judgements, tagged_articles

    root = indexer.resolve_index_dir(index_dir)
    try:
        engine = SearchEngine(root)
        with _damage_errors(root):
            loaded = load_judgements(judgements)
            if tagged_articles(engine, loaded):
                click.echo(
                    "warning: the judged articles have tags in this index, and topical "
                    "judgements are made of tags: score them on an index built with "
                    "`news-search index build --without-tags`",
                    err=True,
                )
            report = evaluate(engine, loaded)
    except indexer.IndexMissing as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_table(report))


@main.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes (they share the index's memory-mapped arrays; each has its own "
    "caches)  [default: one per core, at most 4]",
)
@click.option(
    "--threads", type=click.IntRange(1, 256), default=4, show_default=True, help="Per worker."
)
@click.option(
    "--postings-cache-mb",
    type=click.FloatRange(0),
    default=None,
    help="Posting lists each worker keeps, in MB  "
    f"[default: {LIMITS_MB['NEWS_SEARCH_POSTINGS_CACHE_MB']}, or NEWS_SEARCH_POSTINGS_CACHE_MB]",
)
@click.option(
    "--titles-cache-mb",
    type=click.FloatRange(0),
    default=None,
    help="Headlines each worker keeps for ranking, in MB  "
    f"[default: {LIMITS_MB['NEWS_SEARCH_TITLES_CACHE_MB']}, or NEWS_SEARCH_TITLES_CACHE_MB]",
)
def serve_command(
    index_dir, host, port, workers, threads, postings_cache_mb, titles_cache_mb
) -> None:
    """Serve the search page and the JSON API (gunicorn), building the seed index if needed."""
    # Imported here so that the other commands do not load Flask.
    from web.server import serve

    # The workers read their cache limits from the environment they inherit.
    for variable, megabytes in (
        ("NEWS_SEARCH_POSTINGS_CACHE_MB", postings_cache_mb),
        ("NEWS_SEARCH_TITLES_CACHE_MB", titles_cache_mb),
    ):
        if megabytes is not None:
            os.environ[variable] = str(megabytes)
    root = indexer.resolve_index_dir(index_dir)
    ensure_index(root)
    serve(root, host=host, port=port, workers=workers, threads=threads)


main.add_command(follow_command)
main.add_command(export_command)
