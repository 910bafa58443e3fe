"""Where the query time of an engine goes: a sampling profile of the judged queries.

While the queries run one after another a sampler records the Python stack; the samples are
summed per function, both *inclusive* (time with the function anywhere on the stack, counted
once however deeply it recurses) and *self* (time in the function's own code, including the C
calls it makes, such as regular expressions, numpy or zlib). Percentages are of all samples
inside the search function, so they show which hot paths to fix first.

The sampler is py-spy when it can attach to this process (it runs outside the interpreter, so it
costs the profiled code nothing and does not distort it), else pyinstrument, whose hook on every
Python call and return slows call-heavy code (Whoosh's matchers) more than numpy-heavy code and so
overstates its share (by a third to a half of the run time here).

    python -m benchmarks.profiling run --index DIR             # as the report does
    py-spy record -o profile.svg -- python -m benchmarks.profiling run --index DIR --plain
    py-spy record -f raw -o profile.txt -- python -m benchmarks.profiling run --index DIR --plain
    python -m benchmarks.profiling spy profile.txt             # rankings of a raw py-spy file
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from pyinstrument import Profiler
from pyinstrument.frame import Frame

from benchmarks.evaluate import load_judgements
from benchmarks.options import judgements_option
from benchmarks.report import format_profile

#: Functions listed in each ranking of the report.
TOP = 20
#: Frames of the benchmark itself, left out of the rankings (their time is still counted).
HIDDEN = ("benchmarks/", "<string>")
#: The function whose samples count (ours: the one search function).
WITHIN = "SearchEngine.search"
#: py-spy samples a second; it pauses the process for each, so more would slow the queries.
PY_SPY_RATE = 200


def _key(frame: Frame) -> str:
    """``path/of/module.py:Class.function`` with the path relative to its sys.path entry."""
    name = frame.function
    if frame.class_name:
        name = f"{frame.class_name}.{name}"
    return f"{frame.file_path_short or frame.file_path or '?'}:{name}"


def _walk(
    frame: Frame, on_stack: frozenset[str], inclusive: dict[str, float], own: dict[str, float]
) -> None:
    if frame.is_synthetic:
        return
    key = _key(frame)
    if key.startswith(HIDDEN):  # the loop around the queries: always 100 %, says nothing
        for child in frame.children:
            _walk(child, on_stack, inclusive, own)
        return
    if key not in on_stack:
        inclusive[key] = inclusive.get(key, 0.0) + frame.time
        on_stack = on_stack | {key}
    own[key] = own.get(key, 0.0) + frame.total_self_time
    for child in frame.children:
        _walk(child, on_stack, inclusive, own)


def profile_calls(
    call: Callable[[str], object], queries: Sequence[str], top: int = TOP, sampler: str = "auto"
) -> dict:
    """Run ``call`` on every query under a sampling profiler; the summary of the samples.

    ``sampler`` is ``"py-spy"``, ``"pyinstrument"`` or ``"auto"`` (py-spy when it can attach,
    else pyinstrument). Returns ``{"sampler", "queries", "seconds", "ms_per_query", "samples",
    "inclusive": [[function, percent], ...], "self": [[function, percent], ...]}``, both lists
    sorted by time and cut to ``top``; ``seconds`` is the wall time with the profiler on.
    """
    if sampler in ("auto", "py-spy"):
        summary = profile_with_py_spy(call, queries, top)
        if summary is not None or sampler == "py-spy":
            if summary is None:
                raise RuntimeError("py-spy could not profile this process")
            return summary
    return profile_with_pyinstrument(call, queries, top)


def py_spy_path() -> str | None:
    """The py-spy executable: next to this Python (a venv's bin/) or on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def profile_with_py_spy(
    call: Callable[[str], object], queries: Sequence[str], top: int = TOP
) -> dict | None:
    """Profile the calls with ``py-spy record --pid`` on this very process; None when py-spy is
    missing or may not attach (it needs ptrace rights, which containers often withhold)."""
    executable = py_spy_path()
    if executable is None:
        return None
    with tempfile.TemporaryDirectory(prefix="bench-py-spy-") as tmp:
        raw = Path(tmp) / "profile.txt"
        spy = subprocess.Popen(
            [executable, "record", "--pid", str(os.getpid()), "--rate", str(PY_SPY_RATE),
             "--format", "raw", "--output", str(raw)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1.0)  # let it attach
        if spy.poll() is not None:
            return None
        started = time.perf_counter()
        for query in queries:
            call(query)
        seconds = time.perf_counter() - started
        spy.send_signal(signal.SIGINT)  # py-spy writes its output and exits
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
            return None
        if not raw.exists():
            return None
        summary = summarize_collapsed(raw, WITHIN, top)
    if not summary["samples"]:
        return None
    return {"sampler": "py-spy", **_timing(queries, seconds), **summary}


def _timing(queries: Sequence[str], seconds: float) -> dict:
    return {
        "queries": len(queries),
        "seconds": seconds,
        "ms_per_query": 1000.0 * seconds / len(queries) if queries else 0.0,
    }


def profile_with_pyinstrument(
    call: Callable[[str], object], queries: Sequence[str], top: int = TOP
) -> dict:
    """Profile the calls with pyinstrument (1 ms interval), in-process."""
    profiler = Profiler(interval=0.001)
    started = time.perf_counter()
    profiler.start()
    for query in queries:
        call(query)
    session = profiler.stop()
    seconds = time.perf_counter() - started
    root = session.root_frame()
    inclusive: dict[str, float] = {}
    own: dict[str, float] = {}
    total = 0.0
    if root is not None:
        total = root.time
        _walk(root, frozenset(), inclusive, own)

    def ranked(times: dict[str, float]) -> list[list]:
        items = sorted(times.items(), key=lambda kv: -kv[1])[:top]
        return [[name, round(100.0 * t / total, 1) if total else 0.0] for name, t in items]

    return {
        "sampler": "pyinstrument",
        **_timing(queries, seconds),
        "samples": session.sample_count,
        "inclusive": ranked(inclusive),
        "self": ranked(own),
    }


def summarize_collapsed(path: Path, within: str = WITHIN, top: int = TOP) -> dict:
    """Rank functions in py-spy's raw (collapsed) output like :func:`profile_calls` does.

    Only the samples whose stack holds ``within`` count, so the start-up of the profiled program
    (imports, opening the index) is left out; a function is named ``file:function`` as py-spy
    names it, its line left out so that all of its lines add up.
    """
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            names = [_collapsed_name(frame) for frame in stack.split(";")]
            start = next((i for i, name in enumerate(names) if name.endswith(":" + within)), None)
            if start is None:
                continue
            # Within the search: leave out any benchmark frames (never there, but be sure).
            names = [name for name in names[start:] if not name.startswith(HIDDEN)] or names[-1:]
            count = int(count_text)
            total += count
            for name in dict.fromkeys(names):
                inclusive[name] = inclusive.get(name, 0) + count
            own[names[-1]] = own.get(names[-1], 0) + count

    def ranked(times: dict[str, int]) -> list[list]:
        items = sorted(times.items(), key=lambda kv: -kv[1])[:top]
        return [[name, round(100.0 * n / total, 1) if total else 0.0] for name, n in items]

    return {"samples": total, "inclusive": ranked(inclusive), "self": ranked(own)}


def _collapsed_name(frame: str) -> str:
    """``Class.method (path/file.py:123)`` -> ``path/file.py:Class.method``."""
    function, _, where = frame.partition(" (")
    return f"{where.rstrip(')').rpartition(':')[0] or '?'}:{function}"


@click.group()
def main() -> None:
    """Where our query time goes."""


@main.command("run")
@click.option(
    "--index",
    "index_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An index folder of ours (as given to `serve --index`).",
)
@judgements_option
@click.option("--limit", type=int, default=0, help="Only the first N queries.")
@click.option(
    "--plain",
    is_flag=True,
    help="Just run the queries (no profiler), for running under py-spy yourself.",
)
@click.option(
    "--sampler",
    type=click.Choice(["auto", "py-spy", "pyinstrument"]),
    default="auto",
    show_default=True,
)
def run(index_dir: Path, judgements_path: Path, limit: int, plain: bool, sampler: str) -> None:
    """Profile our search function over the judged queries on an existing index."""
    from search.searching import SearchEngine, SearchRequest

    engine = SearchEngine(index_dir)
    queries = [j["query"] for j in load_judgements(judgements_path)]
    if limit:
        queries = queries[:limit]

    def call(query: str) -> object:
        return engine.search(SearchRequest(q=query, per_page=10))

    call("новости россии")  # open the index outside the profile
    if plain:
        started = time.perf_counter()
        for query in queries:
            call(query)
        click.echo(
            f"{len(queries)} queries, "
            f"{1000 * (time.perf_counter() - started) / len(queries):.1f} ms a query"
        )
        return
    summary = profile_calls(call, queries, sampler=sampler)
    click.echo("\n".join(format_profile(summary, str(index_dir))))


@main.command("spy")
@click.argument("collapsed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--top", type=int, default=TOP, show_default=True)
def spy(collapsed: Path, top: int) -> None:
    """Rank the functions of a py-spy raw profile (`py-spy record -f raw`) of the queries."""
    summary = summarize_collapsed(collapsed, top=top)
    click.echo(f"{summary['samples']:,} samples inside SearchEngine.search")
    click.echo(f"{'inclusive':>9}  {'':<60} {'self':>6}")
    for inc, own in zip(summary["inclusive"], summary["self"], strict=False):
        click.echo(f"{inc[1]:>8.1f}%  {inc[0]:<60.60} {own[1]:>5.1f}%  {own[0]}")


if __name__ == "__main__":
    main()
