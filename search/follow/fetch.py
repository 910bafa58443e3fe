"""HTTP for the follower: conditional GET, robots.txt, a per-host rate limit, size caps.

Everything that can go wrong with a request becomes a :class:`FetchError` with a ``kind`` (a
short stable word the status counts by: ``timeout``, ``server_error``, ``too_large``…), so
the follower logs it against its feed and goes on. A response is read as a stream with a
deadline for the whole of it and a cap on its size: a server that drips one byte a second,
or sends a gigabyte, costs at most ``timeout`` seconds and ``max_bytes`` of memory.

Russian sites still serve windows-1251 and koi8-r, often without saying so:
:func:`decode` takes the charset from the BOM, the HTTP header, the document's own
declaration, and failing all of those tells UTF-8, cp1251 and koi8-r apart by the letters
the text would have.
"""

from __future__ import annotations

import codecs
import re
import threading
import time
import urllib.robotparser
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from search.follow.config import Settings

ROBOTS_TTL = 3600.0  # a robots.txt is read again after an hour
ROBOTS_RETRY = 60.0  # an unreachable one is asked for again after a minute
MAX_CRAWL_DELAY = 60.0  # a larger Crawl-delay would stop a feed from ever being read
_CHUNK = 1 << 16
_SNIFF = 4096
_FREQUENT_LETTERS = "оеаинтсрвл"  # the ten most frequent Russian letters
_TRACKING = re.compile(r"^(utm_\w+|yclid|gclid|fbclid|_openstat|from_rss)$", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(Exception):
    """A request that gave nothing usable; ``kind`` says what went wrong, for the counts."""

    def __init__(self, kind: str, message: str, permanent: bool = False):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.permanent = permanent  # trying again later will not help (404, too large...)


@dataclass
class Response:
    """A response read whole (within the caps)."""

    url: str  # after redirects
    status: int  # 200, or 304 for a conditional GET that found nothing new
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        match = _CHARSET.search(self.headers.get("Content-Type", ""))
        return match[1] if match else None

    def text(self) -> str:
        return decode(self.body, self.charset)


# -- URLs -------------------------------------------------------------------------------


def normalize_url(url: str) -> str:
    """The URL that stands for the same page however a feed spells it.

    Scheme and host in lower case, no default port, no fragment, no tracking parameters
    (``utm_*``, ``yclid``…), the rest of the query sorted, and no trailing slash on a
    path other than ``/``. Two links that differ only in these lead to the same article.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and (parts.scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, True) if not _TRACKING.match(k))
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), host, path, urlencode(query), ""))


def host_of(url: str) -> str:
    """``scheme://host[:port]``: what robots.txt and the rate limit are kept for."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


# -- decoding -----------------------------------------------------------------------------


def decode(body: bytes, declared: str | None = None) -> str:
    """``body`` as text, in the charset it was most likely written in (see the module doc)."""
    return body.decode(detect_charset(body, declared), "replace")


def detect_charset(body: bytes, declared: str | None = None) -> str:
    """The charset of ``body``: its BOM, else ``declared`` (the HTTP header), else the XML
    declaration or ``<meta charset>``, else a guess. A declared UTF-8 that is not valid
    UTF-8 is a mislabelled legacy page and is guessed too."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    head = body[:_SNIFF]
    for name in (declared, *_declarations(head)):
        codec = _codec(name)
        if codec is None:
            continue
        if codec != "utf-8" or _valid_utf8(body):
            return codec
        break
    return "utf-8" if _valid_utf8(body) else _guess_cyrillic(body)


def _declarations(head: bytes) -> list[str]:
    found = [m[1].decode("ascii", "replace") for m in (_XML_ENCODING.search(head),) if m]
    found += [m[1].decode("ascii", "replace") for m in (_META_CHARSET.search(head),) if m]
    return found


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _guess_cyrillic(body: bytes) -> str:
    sample = body[: 1 << 16]
    return max(
        ("cp1251", "koi8-r", "utf-8"),
        key=lambda name: sum(map(sample.decode(name, "replace").count, _FREQUENT_LETTERS)),
    )


# -- politeness ---------------------------------------------------------------------------


class RateLimiter:
    """At most one request to a host every ``interval(host)`` seconds, over all threads."""

    def __init__(self, default_interval: float):
        self.default_interval = default_interval
        self._next: dict[str, float] = {}
        self._intervals: dict[str, float] = {}
        self._lock = threading.Lock()

    def set_interval(self, host: str, seconds: float) -> None:
        """Space the requests to ``host`` further (a Crawl-delay), never closer."""
        with self._lock:
            self._intervals[host] = max(seconds, self.default_interval)

    def wait(self, host: str) -> None:
        """Block until this thread may send its request to ``host``."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self._intervals.get(host, self.default_interval)
        if slot > now:
            time.sleep(slot - now)


@dataclass
class _RobotsEntry:
    parser: urllib.robotparser.RobotFileParser | None  # None: unreachable, nothing allowed
    expires: float


class Robots:
    """robots.txt of each host, read once an hour, as RFC 9309 says to read it.

    A robots.txt that is missing (any 4xx) allows everything; one that cannot be read (5xx,
    timeout) allows nothing until it can be, since we cannot know what it forbids.
    """

    def __init__(self, fetcher: Fetcher):
        self.fetcher = fetcher
        self._entries: dict[str, _RobotsEntry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def check(self, url: str) -> None:
        """FetchError unless robots.txt lets us fetch ``url``."""
        host = host_of(url)
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            entry = self._entries.get(host)
            if entry is None or entry.expires < time.monotonic():
                entry = self._entries[host] = self._read(host)
        if entry.parser is None:
            raise FetchError("robots_unreachable", f"{host}/robots.txt cannot be read")
        if not entry.parser.can_fetch(self.fetcher.settings.user_agent, url):
            raise FetchError("robots", f"robots.txt of {host} disallows {url}", permanent=True)

    def _read(self, host: str) -> _RobotsEntry:
        parser = urllib.robotparser.RobotFileParser(f"{host}/robots.txt")
        try:
            response = self.fetcher.request(f"{host}/robots.txt", max_bytes=500_000)
        except FetchError as error:
            if error.kind in ("not_found", "http_error"):
                parser.allow_all = True
                return _RobotsEntry(parser, time.monotonic() + ROBOTS_TTL)
            return _RobotsEntry(None, time.monotonic() + ROBOTS_RETRY)
        parser.parse(response.text().splitlines())
        delay = parser.crawl_delay(self.fetcher.settings.user_agent)
        if delay:
            self.fetcher.limiter.set_interval(host, min(float(delay), MAX_CRAWL_DELAY))
        return _RobotsEntry(parser, time.monotonic() + ROBOTS_TTL)


# -- fetching -----------------------------------------------------------------------------


class Fetcher:
    """GET with robots.txt, the per-host rate limit, a deadline and a size cap.

    One ``requests`` session per thread (a session is not meant to be shared), each
    keeping its connections to the hosts alive between polls.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.limiter = RateLimiter(1.0 / settings.host_rate)
        self.robots = Robots(self)
        self._local = threading.local()

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        accept: str = PAGE_ACCEPT,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Response:
        """The response to a polite GET of ``url``; 304 when the validators still hold."""
        self.robots.check(url)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self.request(url, max_bytes=max_bytes, headers=headers)

    def request(self, url: str, *, max_bytes: int, headers: dict | None = None) -> Response:
        """One rate-limited GET, read within the deadline and the cap; FetchError else."""
        self.limiter.wait(host_of(url))
        deadline = time.monotonic() + self.settings.timeout
        try:
            with self._session().get(
                url, headers=headers, stream=True, timeout=self.settings.timeout
            ) as response:
                _check_status(response)
                body = b"" if response.status_code == 304 else _read(response, max_bytes, deadline)
                return Response(response.url, response.status_code, response.headers, body)
        except requests.TooManyRedirects:
            raise FetchError("redirect_loop", f"{url}: too many redirects", True) from None
        except requests.Timeout:
            raise FetchError(
                "timeout", f"{url}: no answer in {self.settings.timeout:g} s"
            ) from None
        except requests.RequestException as error:
            raise FetchError("connection", f"{url}: {_reason(error)}") from None

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.max_redirects = self.settings.max_redirects
            session.headers["User-Agent"] = self.settings.user_agent
        return session


def _check_status(response: requests.Response) -> None:
    status = response.status_code
    if status in (200, 203, 304):
        return
    where = f"{response.url}: HTTP {status}"
    if status in (404, 410):
        raise FetchError("not_found", where, permanent=True)
    if status >= 500 or status == 429:
        raise FetchError("server_error", where)
    raise FetchError("http_error", where, permanent=status != 408)


def _read(response: requests.Response, max_bytes: int, deadline: float) -> bytes:
    """The body, or FetchError once it outgrows ``max_bytes`` or the deadline passes."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError("too_large", f"{response.url}: {int(length):,} bytes", permanent=True)
    body = bytearray()
    # read1 returns what one read of the socket gave: the deadline is checked between
    # reads however slowly the bytes come (iter_content would wait for a whole chunk).
    while chunk := response.raw.read1(_CHUNK, decode_content=True):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError("too_large", f"{response.url}: over {max_bytes:,} bytes", True)
        if time.monotonic() > deadline:
            raise FetchError("timeout", f"{response.url}: too slow, stopped reading")
    return bytes(body)


def _reason(error: requests.RequestException) -> str:
    text = str(error)
    return text if len(text) < 200 else text[:200] + "…"
