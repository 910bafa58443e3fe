"""Command-line options that more than one command module shares."""

from __future__ import annotations

from pathlib import Path

import click


def index_option(f):
    """``--index DIR`` as ``index_dir`` (resolved by ``layout.resolve_index_dir``)."""
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Index folder (default: $NEWS_SEARCH_INDEX, else index/).",
    )(f)
