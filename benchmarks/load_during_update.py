"""Load a real server on loopback while ``index update`` runs over and over.

The promise under test: an update never costs a reader a request. Every response
must be a 2xx or 4xx (no 5xx), no connection may fail, and an article that an
update replaces must be found at every moment (it is deleted and re-added in one
atomic commit, so a reader sees the old copy or the new one, never neither).

    python -m benchmarks.load_during_update                 # 5,000 requests, 32 clients
    python -m benchmarks.load_during_update --requests 1000 --concurrency 8

The index is built from generated articles (``benchmarks.newsgen``) in a temporary
folder; updates replace some of them and add new ones, cycling until the load ends.
The test suite runs a smaller version (``tests/test_lifecycle.py``).
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
import requests

from benchmarks.newsgen import QUERY_WORDS, generate_articles, marker, write_jsonl
from benchmarks.options import stop_on_sigterm
from web.server import DEFAULT_THREADS, background_server

ROOT = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT = 30.0
DOC_SHARE = 5  # every fifth request reads a replaced article


@dataclass
class LoadResult:
    """What the clients saw."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # connection errors and timeouts
    missing_docs: list[str] = field(default_factory=list)  # replaced articles not found
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, share: float) -> float:
        if len(self.latencies) < 2:
            return 1000 * (self.latencies[0] if self.latencies else 0.0)
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return 1000 * cuts[round(share * 100) - 1]

    def summary(self) -> str:
        return (
            f"requests {self.requests}, connection errors {len(self.errors)}, "
            f"5xx {self.server_errors}, replaced articles missing {len(self.missing_docs)}, "
            f"statuses {dict(sorted(self.statuses.items()))}, {self.rps:.0f} req/s, "
            f"p50 {self.percentile_ms(0.50):.1f} ms, p95 {self.percentile_ms(0.95):.1f} ms"
        )


def run_load(
    base_url: str,
    total: int,
    concurrency: int,
    doc_ids: Sequence[str] = (),
    time_limit: float = 300.0,
    keep_going: Callable[[], bool] = lambda: False,
) -> LoadResult:
    """``total`` requests from ``concurrency`` threads, one HTTP session each.

    Searches cycle through ``QUERY_WORDS`` and the marker words of ``doc_ids``; every
    ``DOC_SHARE``-th request fetches one of ``doc_ids``, which must exist. More than
    ``total`` are sent while ``keep_going()`` says so (to overlap a slow update), but
    never past ``time_limit`` seconds.
    """
    result = LoadResult()
    numbers = itertools.count()
    guard = threading.Lock()
    deadline = time.monotonic() + time_limit
    queries = [*QUERY_WORDS, *(marker(i) for i in doc_ids)]

    def client() -> None:
        with requests.Session() as session:
            while ((n := next(numbers)) < total or keep_going()) and time.monotonic() < deadline:
                _one_request(session, base_url, n, queries, doc_ids, result, guard)

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


def _one_request(
    session: requests.Session,
    base_url: str,
    n: int,
    queries: Sequence[str],
    doc_ids: Sequence[str],
    result: LoadResult,
    guard: threading.Lock,
) -> None:
    is_doc = bool(doc_ids) and n % DOC_SHARE == 0
    if is_doc:
        doc_id = doc_ids[n // DOC_SHARE % len(doc_ids)]
        url, params = f"{base_url}/api/doc/{doc_id}", None
    else:
        url, params = f"{base_url}/api/search", {"q": queries[n % len(queries)]}
    started = time.monotonic()
    try:
        response = session.get(url, params=params, timeout=REQUEST_TIMEOUT)
        status, error = response.status_code, None
    except requests.RequestException as exc:
        status, error = None, f"{url}: {exc!r}"
    elapsed = time.monotonic() - started
    with guard:
        result.requests += 1
        result.latencies.append(elapsed)
        if error:
            result.errors.append(error)
            return
        result.statuses[status] += 1
        if is_doc and status != 200:
            result.missing_docs.append(f"{url}: {status}")


class UpdateLoop(threading.Thread):
    """``news-search index update`` of ``batches`` in turn, cycling, until stopped.

    Each run is a separate process, as an editor's would be. ``acked`` counts the
    runs that printed their summary (which they do once the commit is on the disk).
    """

    def __init__(self, index_dir: Path, batches: Sequence[Path], max_runs: int = 1000):
        super().__init__(daemon=True)
        self.index_dir = index_dir
        self.batches = list(batches)
        self.max_runs = max_runs
        self.acked = 0
        self.failures: list[str] = []
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Stop after the update now running (which is let finish)."""
        self._stop_event.set()
        self.join()

    def run(self) -> None:
        for number in range(self.max_runs):
            if self._stop_event.is_set():
                return
            batch = self.batches[number % len(self.batches)]
            done = subprocess.run(
                [
                    *cli_command("index", "update", str(batch), "--index", str(self.index_dir)),
                    "--wait",
                    "60",
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=cli_env(),
            )
            if done.returncode == 0 and "Added or replaced" in done.stdout:
                self.acked += 1
            else:
                self.failures.append(f"{batch.name}: {done.returncode} {done.stderr.strip()}")


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "search", *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def prepare(
    folder: Path, articles: int, batches: int, batch_size: int
) -> tuple[Path, list[Path], list[str]]:
    """A built index in ``folder/index``, update batches, and the ids they replace.

    Each batch replaces ``batch_size // 2`` indexed articles and adds as many new ones.
    """
    base = generate_articles(articles, prefix="base")
    write_jsonl(folder / "base.jsonl", base)
    half = batch_size // 2
    replaced = [a["id"] for a in base[: half * batches]]
    files = []
    for number in range(batches):
        fresh = generate_articles(half, prefix=f"new{number}")
        again = generate_articles(articles, prefix="base", seed=number + 1)
        batch = [*again[number * half : (number + 1) * half], *fresh]
        files.append(write_jsonl(folder / f"batch-{number}.jsonl", batch))
    index_dir = folder / "index"
    subprocess.run(
        cli_command("index", "build", str(folder / "base.jsonl"), "--index", str(index_dir)),
        check=True, cwd=ROOT, env=cli_env(), capture_output=True,
    )  # fmt: skip
    return index_dir, files, replaced


@click.command()
@click.option("--requests", "n_requests", type=click.IntRange(1), default=5000, show_default=True)
@click.option("--concurrency", type=click.IntRange(1), default=32, show_default=True)
@click.option(
    "--articles", type=click.IntRange(1), default=2000, show_default=True, help="In the index."
)
@click.option(
    "--batch-size", type=click.IntRange(1), default=200, show_default=True, help="Per update."
)
@click.option(
    "--server-threads",
    type=click.IntRange(1, 256),
    default=DEFAULT_THREADS,
    show_default=True,
    help="Threads in each server worker (`serve --threads`).",
)
@click.option(
    "--updates",
    "min_updates",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Keep the load going until this many updates are acknowledged.",
)
@click.option("--time-limit", type=float, default=300.0, show_default=True, help="Seconds.")
def main(
    n_requests: int,
    concurrency: int,
    articles: int,
    batch_size: int,
    server_threads: int,
    min_updates: int,
    time_limit: float,
) -> None:
    """Load a real server on loopback while ``index update`` runs over and over."""
    stop_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="load-during-update-") as temp:
        folder = Path(temp)
        index_dir, batches, replaced = prepare(folder, articles, 5, batch_size)
        log = folder / "server.log"
        with background_server(index_dir, log, "--threads", str(server_threads)) as server:
            base_url = server.url
            updates = UpdateLoop(index_dir, batches)
            updates.start()
            result = run_load(
                base_url, n_requests, concurrency, replaced, time_limit,
                keep_going=lambda: updates.acked < min_updates,
            )  # fmt: skip
            updates.stop()
        click.echo(result.summary())
        click.echo(
            f"updates acknowledged during the load: {updates.acked}, "
            f"failed: {len(updates.failures)}"
        )
        for failure in updates.failures[:5]:
            click.echo(f"  update failed: {failure}")
        for error in [*result.errors, *result.missing_docs][:5]:
            click.echo(f"  {error}")
        if result.errors or result.server_errors or result.missing_docs or updates.failures:
            click.echo("FAILED: errors under load; the server's log:", err=True)
            click.echo(_errors_in_log(folder / "server.log"), err=True)
            sys.exit(1)


def _errors_in_log(log: Path, limit: int = 80) -> str:
    """The lines of the server log from its first error on (at most ``limit``)."""
    lines = log.read_text(errors="replace").splitlines()
    # " ERROR " from the app's log lines, "[ERROR]" from gunicorn's own
    first = next(
        (i for i, line in enumerate(lines) if " ERROR " in line or "[ERROR]" in line), len(lines)
    )
    return "\n".join(lines[first : first + limit])


if __name__ == "__main__":
    main()
