"""Running the application under waitress (never Flask's development server)."""

from __future__ import annotations

import json
import logging
import subprocess
import time
import urllib.request
from pathlib import Path

import waitress

from web import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 8


def serve(
    index_dir: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    threads: int = DEFAULT_THREADS,
) -> None:
    """Serve the search page and the API for ``index_dir`` until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(index_dir)
    print(f"Serving {index_dir} on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="news-search")


def wait_until_healthy(base_url: str, process: subprocess.Popen, timeout: float = 60.0) -> dict:
    """Poll ``/healthz`` of a server started as ``process`` until it answers; its JSON.

    For the tests and benchmarks that start ``news-search serve`` as a subprocess.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return json.loads(response.read())
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not healthy after {timeout} s")
