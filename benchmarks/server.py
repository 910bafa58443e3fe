"""Server benchmark: requests per second and latency of ``/api/search`` under concurrent clients.

The real server (``python -m search serve``: Flask on gunicorn, a worker process per core) runs
as a subprocess on a free loopback port over an existing index; client threads, each with its
own keep-alive HTTP/1.1 connection, send the judged queries (in file order, cycling if more
requests are asked for) as fast as the server answers, one concurrency level after another. Each
level is bounded by a number of requests, not a duration, so a run takes a predictable amount of
work. After each level the memory of the server's processes is read from ``/proc`` (PSS: shared
pages counted once; RSS: once per process).

Client and server share the machine: on 2 cores the client's own CPU time (a fraction of a
millisecond a request) is part of what is measured, as it would be for any loopback benchmark.

    python -m benchmarks.server                        # builds a 1x index in a temporary folder
    python -m benchmarks.server --index index/         # an index built before
    python -m benchmarks.server --concurrency 1,4,16 --requests 1000 --json benchmarks/out/s.json
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote_plus, urlencode

import click

from benchmarks.evaluate import load_corpus, load_judgements
from benchmarks.harness import latency_summary
from benchmarks.options import (
    NumberList,
    corpus_option,
    json_option,
    judgements_option,
    stop_on_sigterm,
    write_json,
)
from benchmarks.quiet import QUIET_SHARE, CpuMeter, wait_until_quiet
from web.server import DEFAULT_THREADS, background_server, default_workers

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONCURRENCY = (1, 4, 16)
START_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 60.0
SLOWEST_KEPT = 10  # the slowest requests of a level, kept to say which they were


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's gunicorn workers), from ``/proc``."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def read_memory(pid: int) -> dict[str, int]:
    """Memory of process ``pid`` and its descendants in bytes, summed over the processes:
    ``rss_bytes`` (``VmRSS``, counting pages the workers share once per worker),
    ``pss_bytes`` (proportional: shared pages split between the processes sharing them, so
    the sum is what the server really occupies), of which ``pss_anon_bytes`` is the
    processes' own memory and ``pss_file_bytes`` the pages of the files they map (the
    index's arrays), and ``hwm_bytes`` (each one's peak RSS). Empty when /proc has no
    entry."""
    wanted = {
        "VmRSS": "rss_bytes",
        "VmHWM": "hwm_bytes",
        "Pss": "pss_bytes",
        "Pss_Anon": "pss_anon_bytes",
        "Pss_File": "pss_file_bytes",
    }
    memory: dict[str, int] = {}
    members = process_tree(pid)
    for member in members:
        for name in ("status", "smaps_rollup"):
            try:
                lines = Path(f"/proc/{member}/{name}").read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                key, _, value = line.partition(":")
                if key in wanted:
                    number, unit = value.split()
                    size = int(number) * (1024 if unit.lower() == "kb" else 1)
                    memory[wanted[key]] = memory.get(wanted[key], 0) + size
    if memory:
        memory["processes"] = len(members)
    return memory


@contextmanager
def running_server(
    index_dir: Path,
    threads: int = DEFAULT_THREADS,
    workers: int | None = None,
    log_path: Path | None = None,
) -> Iterator[tuple[subprocess.Popen, int, dict]]:
    """``news-search serve`` on ``index_dir`` (``web.server.background_server``); yields
    (process, port, health) once ``/healthz`` answers, which also opens the index."""
    options = ["--threads", str(threads), *(["--workers", str(workers)] if workers else [])]
    with tempfile.TemporaryDirectory(prefix="bench-server-") as temp:
        log = log_path or Path(temp) / "server.log"
        with background_server(index_dir, log, *options, timeout=START_TIMEOUT_S) as server:
            yield server.process, server.port, server.health


def search_paths(queries: Sequence[str], n: int, per_page: int = 10) -> list[str]:
    """``n`` request paths of ``/api/search``, the queries in order and cycling."""
    if not queries:
        raise ValueError("no queries")
    return [
        f"/api/search?{urlencode({'q': queries[i % len(queries)], 'per_page': per_page})}"
        for i in range(n)
    ]


def load_level(
    port: int, paths: list[str], concurrency: int, until: Callable[[], bool] | None = None
) -> dict:
    """Send every path once with ``concurrency`` client threads; figures for the level.

    Each thread takes the next path from a shared counter, so the threads share the work however
    uneven the queries are. A response that is not 200 counts as an error (its latency is still
    recorded); a broken connection is reopened and counted as an error too. With ``until``, the
    paths are sent over and over until it returns true (a load for as long as something runs).
    """
    latencies: list[float] = []
    slowest: list[tuple[float, int]] = []  # a heap of the slowest requests
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(len(paths))) if until is None else itertools.count()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None or (until is not None and until()):
                    return
                started = time.perf_counter()
                try:
                    conn.request("GET", paths[i % len(paths)])
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as error:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
                    status, detail = 0, f"{type(error).__name__}: {error}"
                else:
                    detail = f"HTTP {status}"
                elapsed = (time.perf_counter() - started) * 1000.0
                with lock:
                    latencies.append(elapsed)
                    heapq.heappush(slowest, (elapsed, i % len(paths)))
                    if len(slowest) > SLOWEST_KEPT:
                        heapq.heappop(slowest)
                    if status != 200:
                        errors.append(detail)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "server_errors": sum(error.startswith("HTTP 5") for error in errors),
        "over_1s": sum(latency > 1000.0 for latency in latencies),
        "seconds": wall,
        "rps": len(latencies) / wall if wall > 0 else 0.0,
        "latency_ms": latency_summary(latencies),
        "slowest": [
            {"ms": round(ms, 1), "request": unquote_plus(paths[i])}
            for ms, i in sorted(slowest, reverse=True)
        ],
    }


def benchmark_server(
    index_dir: Path,
    queries: Sequence[str],
    concurrency: Sequence[int] = DEFAULT_CONCURRENCY,
    requests: int = 1000,
    threads: int = DEFAULT_THREADS,
    workers: int | None = None,
    warm_up: int = 20,
    retries: int = 2,
    max_wait_s: float = 120.0,
    log=print,
) -> dict:
    """Start the server on ``index_dir`` and run ``requests`` searches at each concurrency.

    ``warm_up`` requests (sequential, not measured) precede the first level, so that the first
    search's loading of the ranking arrays is not counted as latency. A level during which
    other processes took more than :data:`~benchmarks.quiet.QUIET_SHARE` of the CPUs is run
    again, up to ``retries`` times, after waiting (up to ``max_wait_s``) for them to finish:
    a level lasts seconds, so repeating it is cheap, and a shared machine otherwise halves the
    figure. Each level records the share of the CPUs others took (``others_cpu``) and its
    ``attempts``.
    """
    paths = search_paths(queries, requests)
    result: dict = {
        "index": str(index_dir),
        "threads": threads,
        "workers": workers or default_workers(),
        "requests_per_level": requests,
        "queries": len(queries),
        "cpus": os.cpu_count(),
        "levels": [],
    }
    with running_server(index_dir, threads, workers) as (proc, port, health):
        result["pid"] = proc.pid
        result["docs"] = health.get("documents", 0)
        result["memory_ready"] = read_memory(proc.pid)
        started = time.perf_counter()
        load_level(port, search_paths(queries[::-1], warm_up), 1)
        result["warm_up"] = warm_up
        result["warm_up_s"] = time.perf_counter() - started
        result["memory_warm"] = read_memory(proc.pid)
        for level in concurrency:
            for attempt in range(1, retries + 2):
                meter = CpuMeter(pids=tuple(process_tree(proc.pid)))
                figures = load_level(port, paths, level)
                others = meter.others_share()
                if others is None or others < QUIET_SHARE or attempt > retries:
                    break
                log(f"[server] concurrency {level}: others took {others:.0%} of the CPUs; "
                    "waiting for them and measuring again")  # fmt: skip
                wait_until_quiet(1.0, max_wait_s)
            figures["others_cpu"] = others
            figures["attempts"] = attempt
            figures["memory"] = read_memory(proc.pid)
            lat, rss = figures["latency_ms"], figures["memory"].get("rss_bytes", 0)
            memory = figures["memory"]
            log(
                f"[server] concurrency {level}: {figures['rps']:.1f} req/s, "
                f"p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, "
                f"errors {figures['errors']}, RSS {rss / 1e6:.0f} MB, "
                f"PSS {memory.get('pss_bytes', 0) / 1e6:.0f} MB "
                f"(own {memory.get('pss_anon_bytes', 0) / 1e6:.0f} MB, "
                f"mapped files {memory.get('pss_file_bytes', 0) / 1e6:.0f} MB)"
            )
            result["levels"].append(figures)
    return result


def build_index(root: Path, articles: list[dict], log=print) -> float:
    """Build our index of ``articles`` in ``root`` (as the benchmark's 1x run does); seconds."""
    from benchmarks.ours import OursEngine

    engine = OursEngine(root=root)
    try:
        engine.prepare(articles)
        started = time.perf_counter()
        engine.build(articles)
        seconds = time.perf_counter() - started
    finally:
        engine.close()
    log(f"[server] built the index of {len(articles)} articles in {seconds:.0f} s")
    return seconds


@click.command()
@click.option(
    "--index",
    "index_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An index folder (as given to `serve --index`); default: build one of the "
    "whole corpus in a temporary folder. It must exist: `serve` would build the seed "
    "article into a missing one, and the figures would be of a one-article index.",
)
@corpus_option
@judgements_option
@click.option(
    "--concurrency",
    type=NumberList(),
    default=",".join(map(str, DEFAULT_CONCURRENCY)),
    show_default=True,
    help="Comma-separated numbers of client threads.",
)
@click.option(
    "--requests",
    "n_requests",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Requests at each concurrency level.",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=DEFAULT_THREADS,
    show_default=True,
    help="Threads in each server worker (`serve --threads`).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server worker processes (`serve --workers`)  [default: one per core]",
)
@json_option
def main(
    index_dir: Path | None,
    corpus_dir: Path,
    judgements_path: Path,
    concurrency: list[int],
    n_requests: int,
    threads: int,
    workers: int | None,
    json_path: Path | None,
) -> None:
    """Requests/s, latency and memory of /api/search at several concurrency levels."""
    stop_on_sigterm()
    queries = [j["query"] for j in load_judgements(judgements_path)]
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    tmp = None
    try:
        if index_dir is None:
            tmp = Path(tempfile.mkdtemp(prefix="bench-server-index-"))
            index_dir = tmp / "index"
            build_index(index_dir, load_corpus(corpus_dir), log)
        result = benchmark_server(
            index_dir, queries, concurrency, n_requests, threads, workers, log=log
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    from benchmarks.report import format_server_section

    click.echo(format_server_section(result))
    write_json(json_path, result)


if __name__ == "__main__":
    main()
