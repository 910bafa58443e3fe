"""Command-line options and value types that the benchmark commands share."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from benchmarks.evaluate import CORPUS_DIR, JUDGEMENTS_PATH


class NumberList(click.ParamType):
    """Comma-separated positive whole numbers (``1,4,10``), as a list."""

    name = "N,N,..."

    def convert(self, value, param, ctx) -> list[int]:
        if isinstance(value, list):
            return value
        try:
            numbers = [int(part) for part in str(value).split(",") if part.strip()]
        except ValueError:
            self.fail(f"{value!r} is not whole numbers separated by commas", param, ctx)
        if not numbers or min(numbers) < 1:
            self.fail("give positive whole numbers separated by commas", param, ctx)
        return numbers


class NameList(click.ParamType):
    """Comma-separated names, each one of ``choices``, as a list."""

    name = "NAME,NAME,..."

    def __init__(self, choices: Sequence[str]):
        self.choices = tuple(choices)

    def convert(self, value, param, ctx) -> list[str]:
        if isinstance(value, list):
            return value
        names = [name.strip() for name in str(value).split(",") if name.strip()]
        unknown = [name for name in names if name not in self.choices]
        if unknown or not names:
            self.fail(
                f"unknown: {', '.join(unknown) or '(none given)'}; "
                f"choose among {', '.join(self.choices)}",
                param,
                ctx,
            )
        return names


def corpus_option(f):
    return click.option(
        "--corpus",
        "corpus_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=CORPUS_DIR,
        show_default=True,
        help="Folder of *.jsonl.gz article files.",
    )(f)


def judgements_option(f):
    return click.option(
        "--judgements",
        "judgements_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=JUDGEMENTS_PATH,
        show_default=True,
        help="Known-item judgements (JSON Lines); their queries are the ones sent.",
    )(f)


def json_option(f):
    return click.option(
        "--json",
        "json_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write the figures as JSON here.",
    )(f)


def write_json(path: Path | None, figures: dict) -> None:
    """Write ``figures`` to ``path`` (``--json``), if given, and say so on stderr."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"wrote {path}", err=True)


def stop_on_sigterm() -> None:
    """Make SIGTERM (``kill``, a CI timeout) end the benchmark as Ctrl+C does, through its
    ``finally`` blocks, so that the servers and builds it started are stopped with it; by
    default Python dies at once and leaves them running, taking the CPUs of the next run."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
