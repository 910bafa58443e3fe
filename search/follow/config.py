"""The feeds file: which feeds to follow, and how politely.

The file is TOML with one ``[[feed]]`` table per feed (the shape other tools write)::

    [[feed]]
    url = "http://127.0.0.1:8080/rss.xml"
    source = "Zakon.kz"        # the article's source
    kind = "rss"               # rss | atom | sitemap; detected when omitted
    interval = 60              # seconds between polls
    topic = "Политика"          # optional default rubric
    timezone = "Asia/Almaty"    # optional: the zone of dates that carry none

and an optional ``[follow]`` table for the whole follower (see :class:`Settings`). A mistake
in the file is refused at start with a message naming the feed and the key: a follower that
silently skipped a mistyped feed would look healthy while missing its news.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KINDS = ("rss", "atom", "sitemap")
DEFAULT_INTERVAL = 300.0
MIN_INTERVAL = 0.1
#: Dates without a zone (``02.03.2026 23:42``) are taken as Moscow time unless a feed says.
DEFAULT_TIMEZONE = "Europe/Moscow"
_FEED_KEYS = {"url", "source", "kind", "interval", "topic", "timezone"}


class ConfigError(ValueError):
    """The feeds file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Feed:
    """One feed to follow."""

    url: str
    source: str
    kind: str | None = None  # None: detected from what the URL serves
    interval: float = DEFAULT_INTERVAL
    topic: str = ""
    timezone: str = DEFAULT_TIMEZONE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Settings:
    """How the follower fetches and indexes, the same for every feed (``[follow]``)."""

    host_rate: float = 4.0  # requests per second to one host (robots.txt Crawl-delay may lower)
    timeout: float = 15.0  # seconds for a whole response, however slowly it comes
    max_page_bytes: int = 5 << 20  # a larger page is refused unread
    max_feed_bytes: int = 20 << 20
    max_redirects: int = 5
    batch_size: int = 200  # articles per index commit at most
    # How long a trickle of news may wait to be committed together (see
    # Follower._index_if_due): each commit makes every server reopen the index.
    commit_interval: float = 5.0
    workers: int = 8  # fetches at once (over all hosts)
    subprocesses: bool = True  # extract and index in processes of their own (else threads)
    max_attempts: int = 5  # a page that keeps failing is given up after this many tries
    retry_delay: float = 30.0  # seconds before a failed page is tried again; doubled each time
    user_agent: str = "news-search-follower/0.1"


@dataclass(frozen=True)
class FollowConfig:
    """The feeds file: its feeds, and the settings for them all."""

    feeds: list[Feed]
    settings: Settings = field(default_factory=Settings)


def load_config(path: Path) -> FollowConfig:
    """Read and check the feeds file; ConfigError when it cannot be followed."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    tables = data.get("feed", [])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{path} lists no feeds: add a [[feed]] table for each")
    feeds = [_feed(table, number, path) for number, table in enumerate(tables, 1)]
    urls = [feed.url for feed in feeds]
    if repeated := sorted({url for url in urls if urls.count(url) > 1}):
        raise ConfigError(f"{path}: feed {repeated[0]} is listed twice")
    return FollowConfig(feeds, _settings(data.get("follow", {}), path))


def _feed(table: object, number: int, path: Path) -> Feed:
    where = f"{path}: feed {number}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is not a table")
    if unknown := sorted(set(table) - _FEED_KEYS):
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {sorted(_FEED_KEYS)})")
    url = _text(table, "url", where, required=True)
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ConfigError(f"{where}: url {url!r} is not an http(s) URL")
    kind = _text(table, "kind", where) or None
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    interval = table.get("interval", DEFAULT_INTERVAL)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise ConfigError(f"{where}: interval must be a number of seconds")
    if interval < MIN_INTERVAL:
        raise ConfigError(f"{where}: interval must be at least {MIN_INTERVAL} s")
    timezone = _text(table, "timezone", where) or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: unknown timezone {timezone!r}") from None
    return Feed(
        url=url,
        source=_text(table, "source", where, required=True),
        kind=kind,
        interval=float(interval),
        topic=_text(table, "topic", where),
        timezone=timezone,
    )


def _text(table: dict, key: str, where: str, required: bool = False) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    if required and not value.strip():
        raise ConfigError(f"{where}: {key} is required")
    return value.strip()


def _settings(table: object, path: Path) -> Settings:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [follow] is not a table")
    defaults = {f.name: f.default for f in fields(Settings)}
    values = {}
    for key, value in table.items():
        if key not in defaults:
            raise ConfigError(f"{path}: [follow] has an unknown key {key!r}")
        expected = type(defaults[key])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected or (expected in (int, float) and value <= 0):
            what = "true or false" if expected is bool else f"a positive {expected.__name__}"
            raise ConfigError(f"{path}: [follow] {key} must be {what}")
        values[key] = value
    return Settings(**values)
