"""Running the application under gunicorn: one process per core, threads within each.

A request spends most of its time in Python (query planning, NumPy glue, snippets), so one
process is held to one core by the GIL; gunicorn's pre-fork workers (``gthread``) use them all.
Each worker opens the index itself after the fork (no preloading: Whoosh's open files must not
be shared between processes) and warms it before it takes requests, so the first queries are
not slow. Each worker picks up index updates on its own, as a single process does.

A worker never fails to start over its index: missing, empty or damaged, it starts and
answers 503 until the index can be read (``web.faults``), since gunicorn shuts the whole
service down when a worker fails to boot. Workers die with the arbiter (``kill -9`` of
it included), and gunicorn's own errors are JSON (``web.worker``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from gunicorn.app.base import BaseApplication

from search.layout import IndexMissing
from search.morphology import word_terms
from web import create_app, worker
from web.engine import get_engine, get_guard

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 4
#: A worker opens and warms the index before it answers; at 10x that takes seconds.
WORKER_START_TIMEOUT_S = 300
#: How long Ctrl+C or SIGTERM lets requests in flight finish.
GRACEFUL_TIMEOUT_S = 5
#: The longest request line gunicorn reads (its maximum, 8,190 bytes): a 1,000-character
#: Cyrillic query is 6,000 bytes percent-encoded, with room left for the filters. Without
#: a limit a 50 MB URL kept a worker at 100% CPU for minutes.
MAX_REQUEST_LINE = 8190
#: The longest header line, and how many headers a request may have.
MAX_HEADER_FIELD = 8190
MAX_HEADER_FIELDS = 100


#: Each worker holds its own caches (bounded: ``search.caches``) beside the shared,
#: memory-mapped arrays, so the default stops here; ``--workers`` goes on.
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker per core this process may run on, up to :data:`MAX_DEFAULT_WORKERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_DEFAULT_WORKERS))


class _NewsSearchServer(BaseApplication):
    """gunicorn with its settings given here, not read from the command line."""

    def __init__(self, index_dir: Path, options: dict):
        self.index_dir = index_dir
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Called in each worker after the fork: its own app, engine and open index.

        The index files are verified, then opened and warmed; whatever is wrong with
        them is logged and answered with 503 until it is put right, never a failed boot.
        """
        app = create_app(self.index_dir)
        log = logging.getLogger(__name__)
        with app.app_context():
            if get_guard().check():
                return app  # damaged: verified again on requests, opened once sound
            try:
                get_engine().arrays()
            except IndexMissing as error:  # answered with 503 until the index is built
                log.warning("%s", error)
            except Exception:  # a damaged index must not stop the service
                log.exception("the index in %s cannot be opened", self.index_dir)
        return app


def serve(
    index_dir: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int | None = None,
    threads: int = DEFAULT_THREADS,
) -> None:
    """Serve the search page and the API for ``index_dir`` until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    workers = workers or default_workers()
    print(
        f"Serving {index_dir} on http://{host}:{port}/ with {workers} worker(s) of "
        f"{threads} thread(s) (Ctrl+C to stop)",
        flush=True,
    )
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": worker.JsonErrorWorker,
        "post_fork": worker.post_fork,
        "threads": threads,
        "timeout": WORKER_START_TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "proc_name": "news-search",
        "limit_request_line": MAX_REQUEST_LINE,
        "limit_request_field_size": MAX_HEADER_FIELD,
        "limit_request_fields": MAX_HEADER_FIELDS,
        "errorlog": "-",
        "loglevel": "warning",
    }
    # The dictionaries are read-only once loaded: loaded here, before the fork, the workers
    # share their pages instead of holding a copy each.
    word_terms("переговоры")
    _NewsSearchServer(Path(index_dir), options).run()


def wait_until_healthy(
    base_url: str, process: subprocess.Popen, timeout: float = 60.0, any_status: bool = False
) -> dict | None:
    """Poll ``/healthz`` of a server started as ``process`` until it answers 200; its JSON
    (with ``any_status``, until it answers at all; then None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return json.loads(response.read())
        except urllib.error.HTTPError:
            if any_status:
                return None
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy after {timeout} s")


@dataclass
class BackgroundServer:
    url: str  # http://127.0.0.1:PORT
    port: int
    process: subprocess.Popen  # the gunicorn arbiter
    health: dict | None  # /healthz's JSON once it answered 200 (None: not waited for)


@contextmanager
def background_server(
    index_dir: Path, log: Path, *options: str, healthy: bool = True, timeout: float = 120.0
) -> Iterator[BackgroundServer]:
    """``news-search serve`` on ``index_dir`` and a free loopback port until the block
    ends: the one way the tests and the benchmarks start a server.

    It is ready once ``/healthz`` answers 200 or, with ``healthy=False``, once it answers
    at all (a server over a damaged index never gets healthy). Its output goes to
    ``log``, whose tail a failed start quotes. At the end it gets SIGTERM (gunicorn's
    graceful stop), and SIGKILL if it has not stopped within 10 s.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "search", "serve", "--index", str(index_dir)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            health = wait_until_healthy(url, process, timeout, any_status=not healthy)
        except RuntimeError as error:
            raise RuntimeError(f"{error}:\n{log.read_text(errors='replace')[-4000:]}") from error
        yield BackgroundServer(url, port, process, health)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
