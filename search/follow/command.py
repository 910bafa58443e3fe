"""``news-search follow FEEDS.toml``: follow the feeds into the index, or show how it goes.

``search.cli`` registers :func:`follow_command` as ``main``'s ``follow``;
``python -m search.follow`` runs it alone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from search.cli_options import index_option
from search.follow.config import ConfigError, FollowConfig, load_config
from search.follow.state import FollowerBusy, FollowerLock, status
from search.layout import resolve_index_dir

if TYPE_CHECKING:
    from search.follow.follower import Follower

#: The follower's CPU priority below the server's: a burst of new articles to analyze must
#: not slow down the searches on a small machine (see benchmarks/follow.py).
DEFAULT_NICE = 10


@click.command("follow")
@click.argument("feeds_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@index_option
@click.option("--once", is_flag=True, help="Poll every feed once, index what was found, exit.")
@click.option("--status", "show_status", is_flag=True, help="Show each feed's polls and errors.")
@click.option("--json", "as_json", is_flag=True, help="With --status: print JSON.")
@click.option(
    "--nice",
    type=click.IntRange(0, 19),
    default=DEFAULT_NICE,
    show_default=True,
    help="How much lower than the server's the follower's CPU priority is.",
)
@click.option("--quiet", "-q", is_flag=True, help="Log only errors, not every batch.")
def follow_command(feeds_file, index_dir, once, show_status, as_json, nice, quiet) -> None:
    """Follow the RSS, Atom and news sitemap feeds of FEEDS_FILE into the index.

    Polls each feed at its interval (conditional GET, robots.txt, a rate limit per host),
    reads the page of each new item whose feed lacks the full text, and indexes the
    articles in batches. Every item is indexed once, across restarts and crashes.
    Ctrl+C or SIGTERM lets the batch being indexed finish, then exits.
    """
    root = resolve_index_dir(index_dir)
    try:
        config = load_config(feeds_file)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    if show_status:
        _print_status(root, config, as_json)
        return
    # Imported here so that the other commands (and --status) load no feed or HTML parser.
    from search.follow.follower import Follower

    _configure_logging(logging.WARNING if quiet else logging.INFO)
    if nice:
        os.nice(nice)
    try:
        with FollowerLock(root):
            follower = Follower(root, config)
            with _stopping_on_signals(follower):
                report = follower.run(once=once)
    except FollowerBusy as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Followed {len(config.feeds)} feeds: {report.summary()}")


class _EchoHandler(logging.Handler):
    """Log lines to whatever stderr is when they are written (click's, under a test)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _configure_logging(level: int) -> None:
    handler = _EchoHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("search.follow")
    logger.handlers[:] = [handler]
    logger.setLevel(level)


@contextmanager
def _stopping_on_signals(follower: Follower) -> Iterator[None]:
    """Ctrl+C and SIGTERM stop the follower after its batch; a second one exits at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)

    def handler(signum: int, frame) -> None:
        if follower.stopping:
            raise SystemExit(128 + signum)
        click.echo("Stopping after the batch being indexed (again to quit at once)…", err=True)
        follower.stop()

    previous = {number: signal.signal(number, handler) for number in signals}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


# -- the status ------------------------------------------------------------------------------


def _print_status(root: Path, config: FollowConfig, as_json: bool) -> None:
    """The follower's state, for the feeds of the feeds file (those never polled too)."""
    state = status(root)
    known = {feed["url"]: feed for feed in state["feeds"]}
    state["feeds"] = [
        known.get(feed.url) or {"url": feed.url, "source": feed.source, "last_poll": None}
        for feed in config.feeds
    ]
    if as_json:
        click.echo(json.dumps(state, ensure_ascii=False, indent=2))
        return
    click.echo(_follower_line(state["follower"]))
    for feed in state["feeds"]:
        click.echo()
        click.echo(f"{feed['url']}  {feed['source']}")
        if feed["last_poll"] is None:
            click.echo("   never polled")
            continue
        items = ", ".join(f"{n} {name}" for name, n in feed["items"].items() if n) or "no items"
        errors = ", ".join(f"{kind} {n}" for kind, n in sorted(feed["errors"].items()))
        click.echo(
            f"   last poll {_local(feed['last_poll'])} ({feed['last_status']}), "
            f"last good {_local(feed['last_ok'])}, {feed['polls']} polls; {items}"
        )
        if errors:
            click.echo(f"   errors: {errors}")
        for error in feed["recent_errors"][:3]:
            click.echo(f"   {_local(error['time'])} {error['kind']}: {error['message']}")


def _follower_line(follower: dict) -> str:
    if follower["last_seen"] is None:
        return "follower: never ran here"
    state = f"running (pid {follower['pid']})" if follower["running"] else "not running"
    parts = [
        f"follower: {state}, last seen {_local(follower['last_seen'])}",
        f"last indexed {_local(follower['last_indexed'])}",
    ]
    if follower["updated_text"]:
        parts.append(follower["updated_text"])
    return ", ".join(parts)


def _local(iso: str | None) -> str:
    """An ISO 8601 UTC time of the status in the local time of the machine."""
    if iso is None:
        return "never"
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
