"""The scale benchmark on a generated corpus (``benchmarks.scalegen``): our build, timed and
with the memory of its whole process tree sampled, and the peers built and queried on the
same file.

    python -m benchmarks.scalegen 1000000 /tmp/gen1m.jsonl.gz
    python -m benchmarks.generated build /tmp/gen1m.jsonl.gz --index /tmp/idx1m --json b.json
    python -m benchmarks.server --index /tmp/idx1m --workers 2 --concurrency 1,4 --json s2.json
    python -m benchmarks.reopen --index /tmp/idx1m --json r.json
    python -m benchmarks.generated peers /tmp/gen1m.jsonl.gz --engines tantivy,pg --json p.json
    python -m benchmarks.generated all /tmp/gen1m.jsonl.gz --index /tmp/idx1m --json g.json
    python -m benchmarks.run --scales 1 --generated /tmp/gen100k.jsonl.gz \
        --generated /tmp/gen1m.jsonl.gz --generated-dir /tmp/gen-indexes   # into RESULTS.md

``all`` (and ``benchmarks.run --generated``) runs every step: our build (skipped when the
index folder already holds a build of the same file, whose figures ``build`` kept in
``BUILD_FIGURES`` beside it), the server with one worker and with two (``SERVER_REQUESTS``
judged queries at concurrency 1, then 4; memory read after each level), the reopen after
10-article updates (``benchmarks.reopen``, in place: the index then holds a hundred more
articles; the index of a million articles is 13.7 GB to copy) and the peers.

``build`` runs ``news-search index build`` as a process of its own, as a user would, and
reads ``/proc`` every second: the peak of the RSS summed over the build's processes (the
parent and its analysis workers), and of their PSS, which counts shared pages once.
``/usr/bin/time`` reports only the largest single process.

The peers read the articles one at a time from the file (a million articles do not fit in
memory as Python objects), and are then queried one query at a time, top 10, with the
judged queries of ``../shared/eval/known-item.jsonl`` as the query load: the generated
articles have no judgements, so these runs measure time and memory, not relevance.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import click

from benchmarks.evaluate import load_judgements, percentile, read_jsonl_gz
from benchmarks.options import json_option, judgements_option, stop_on_sigterm, write_json
from benchmarks.peers import make_peer
from benchmarks.reopen import measure_reopen
from benchmarks.server import benchmark_server, read_memory

SAMPLE_SECONDS = 1.0
BUILD_FIGURES = "benchmark-build.json"
SERVER_REQUESTS = 1000
SERVER_CONCURRENCY = (1, 4)


class TreeMemory:
    """Peaks of the memory of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = SAMPLE_SECONDS):
        self.pid, self.every = pid, every
        self.peak_rss = self.peak_pss = self.samples = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        # The first sample at once: a short build can end before a second has passed.
        while True:
            memory = read_memory(self.pid)
            self.peak_rss = max(self.peak_rss, memory.get("rss_bytes", 0))
            self.peak_pss = max(self.peak_pss, memory.get("pss_bytes", 0))
            self.samples += bool(memory)
            if self._done.wait(self.every):
                return

    def stop(self) -> dict:
        self._done.set()
        self._thread.join()
        return {
            "peak_rss_bytes": self.peak_rss,
            "peak_pss_bytes": self.peak_pss,
            "samples": self.samples,
        }


def timed_build(source: Path, index_dir: Path, procs: int | None, log) -> dict:
    """``news-search index build`` of ``source`` into ``index_dir``: wall time and memory."""
    command = [sys.executable, "-m", "search", "index", "build", "--index", str(index_dir)]
    command += [*(["--procs", str(procs)] if procs else []), str(source)]
    log(f"[build] {' '.join(command)}")
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    meter = TreeMemory(process.pid)
    last = ""
    assert process.stderr is not None
    try:
        for line in process.stderr:
            last = line.strip() or last
            log(f"[build] {last}")
        code = process.wait()
    finally:
        if process.poll() is None:  # the benchmark was stopped: so is the build
            process.terminate()
            process.wait()
    seconds = time.perf_counter() - started
    memory = meter.stop()
    if code:
        raise click.ClickException(f"the build failed ({code}): {last}")
    stats = json.loads(
        subprocess.run(
            [sys.executable, "-m", "search", "index", "stats", "--index", str(index_dir), "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    documents = stats["documents"]
    figures = {
        "source": str(source),
        "index": str(index_dir),
        "documents": documents,
        "seconds": seconds,
        "docs_per_s": documents / seconds,
        "size_bytes": stats.get("size_bytes"),
        "segments": len(stats.get("segments", [])),
        "last_line": last,
        **memory,
    }
    (index_dir / BUILD_FIGURES).write_text(json.dumps(figures, indent=1) + "\n")
    return figures


def kept_build(source: Path, index_dir: Path) -> dict | None:
    """The figures of an earlier ``timed_build`` of ``source`` into ``index_dir``, if any."""
    try:
        figures = json.loads((index_dir / BUILD_FIGURES).read_text())
    except (OSError, ValueError):
        return None
    return figures if figures.get("source") == str(source) else None


def scale_run(
    source: Path,
    index_dir: Path,
    engines: list[str],
    queries: list[str],
    log=print,
    requests: int = SERVER_REQUESTS,
    reopen_rounds: int = 10,
    peers_max: int | None = None,
    max_wait_s: float = 120.0,
) -> dict:
    """Every step of the generated-scale benchmark on ``source`` (see the module); the
    peers only when the file has at most ``peers_max`` articles. A server level measured
    while other processes were busy is measured again after waiting up to ``max_wait_s``
    for them (0: never)."""
    result: dict = {"source": str(source)}
    build = kept_build(source, index_dir)
    if build is None:
        build = timed_build(source, index_dir, None, log)
    else:
        log(f"[generated] reusing the build of {source} in {index_dir}")
    result["build"] = build
    for workers in (1, 2):
        log(f"[generated] server, {workers} worker(s), {requests} requests a level")
        result[f"server_{workers}"] = benchmark_server(
            index_dir,
            queries,
            SERVER_CONCURRENCY,
            requests,
            workers=workers,
            retries=2 if max_wait_s > 0 else 0,
            max_wait_s=max_wait_s,
            log=log,
        )
    log("[generated] reopen after 10-article updates")
    result["reopen"] = measure_reopen(index_dir, in_place=True, rounds=reopen_rounds, log=log)
    result["peers"] = []
    if peers_max is not None and build["documents"] > peers_max:
        log(f"[generated] no peers on {build['documents']:,} articles (over {peers_max:,})")
        engines = []
    for name in engines:
        log(f"[generated] {name}")
        result["peers"].append(peer_run(name, source, queries, log))
    return result


def peer_run(name: str, source: Path, queries: list[str], log) -> dict:
    """Build peer ``name`` from ``source`` (streamed) and time ``queries`` one at a time."""
    engine = make_peer(name)
    try:
        count = 0

        def counted() -> Iterator[dict]:
            nonlocal count
            for article in read_jsonl_gz(source):
                count += 1
                if count % 100_000 == 0:
                    log(f"[{name}] {count:,} articles")
                yield article

        meter = TreeMemory(_pid_of(engine))
        started = time.perf_counter()
        engine.build(counted())
        seconds = time.perf_counter() - started
        memory = meter.stop()
        engine.search(queries[0])
        latencies = []
        for query in queries:
            began = time.perf_counter()
            engine.search(query)
            latencies.append((time.perf_counter() - began) * 1000)
        return {
            "engine": engine.name,
            "documents": count,
            "build_s": seconds,
            "docs_per_s": count / seconds,
            "size_bytes": engine.size_bytes(),
            "latency_ms": {
                "p50": statistics.median(latencies),
                "p95": percentile(latencies, 95),
                "max": max(latencies),
            },
            **memory,
        }
    finally:
        engine.close()


def _pid_of(engine) -> int:
    """The process whose tree holds the engine: PostgreSQL's server, else this one."""
    return getattr(engine, "server_pid", None) or os.getpid()


@click.group()
def main() -> None:
    """The scale benchmark on a generated corpus."""
    stop_on_sigterm()


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index", "index_dir", required=True, type=click.Path(path_type=Path))
@click.option("--procs", type=click.IntRange(1), default=None, help="Build processes.")
@json_option
def build(source: Path, index_dir: Path, procs: int | None, json_path: Path | None) -> None:
    """Build our index of SOURCE, timed, with the process tree's peak memory."""
    result = timed_build(source, index_dir, procs, lambda msg: click.echo(msg, err=True))
    click.echo(
        f"{result['documents']:,} articles in {result['seconds'] / 60:.1f} min "
        f"({result['docs_per_s']:.0f} docs/s), peak RSS {result['peak_rss_bytes'] / 1e9:.2f} GB "
        f"(PSS {result['peak_pss_bytes'] / 1e9:.2f} GB), {result['segments']} segments"
    )
    write_json(json_path, result)


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--engines", default="tantivy,pg", show_default=True)
@judgements_option
@json_option
def peers(source: Path, engines: str, judgements_path: Path, json_path: Path | None) -> None:
    """Build each peer of SOURCE and time the judged queries on it."""
    queries = [j["query"] for j in load_judgements(judgements_path)]
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    results = []
    for name in engines.split(","):
        result = peer_run(name.strip(), source, queries, log)
        lat = result["latency_ms"]
        click.echo(
            f"{result['engine']}: {result['documents']:,} articles in {result['build_s']:.0f} s "
            f"({result['docs_per_s']:.0f} docs/s), {result['size_bytes'] / 1e9:.2f} GB, "
            f"p50 {lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms"
        )
        results.append(result)
        write_json(json_path, results)


@main.command(name="all")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index", "index_dir", required=True, type=click.Path(path_type=Path))
@click.option("--engines", default="tantivy,pg", show_default=True)
@judgements_option
@json_option
def run_all(
    source: Path, index_dir: Path, engines: str, judgements_path: Path, json_path: Path | None
) -> None:
    """Every step on SOURCE: our build, the server, the reopen and the peers."""
    queries = [j["query"] for j in load_judgements(judgements_path)]
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    names = [name.strip() for name in engines.split(",") if name.strip()]
    write_json(json_path, scale_run(source, index_dir, names, queries, log))


if __name__ == "__main__":
    main()
