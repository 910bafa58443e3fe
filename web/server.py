"""Running the application under waitress (never Flask's development server)."""

from __future__ import annotations

import logging
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
