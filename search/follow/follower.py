"""The follower: polls the feeds, reads the pages of new items, indexes them in batches.

One thread (the one that calls :meth:`Follower.run`) owns the state and the index writes;
a pool of threads does the network and the parsing: polls of the feeds that are due, and
reads of the pages of new items (two at a time per host at most, so that one slow site
cannot take every thread). Their results come back to the owning thread, which records
them (see ``search.follow.state`` for why in that order) and, once ``batch_size`` records
are waiting, or fewer when the news stop coming (see :meth:`Follower._index_if_due`), indexes
them with one
``search.indexer.update``.

Bad input never stops it: a failed poll is logged against its feed and the feed is polled
again after its interval; a page that cannot be read is tried again later, with a growing
pause, up to ``max_attempts`` times (a 404 or a page over the size cap only once); a busy
index (a build holding the writer lock) is waited for while the polling goes on. A stop
(:meth:`Follower.stop`, which Ctrl+C and SIGTERM call) lets the batch being indexed finish,
indexes what is waiting, and returns; pages still being read are read again next time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from search.follow.articles import (
    build_record,
    content_key,
    item_keys,
    url_key,
)
from search.follow.batches import BatchIndexer, worker_pool
from search.follow.config import Feed, FollowConfig
from search.follow.extract import PageArticle, extract_page, warm_up
from search.follow.fetch import FEED_ACCEPT, HTML_TYPES, Fetcher, FetchError, host_of
from search.follow.parse import Item, Parsed, ParseError, parse_feed, sniff_kind
from search.follow.state import HEARTBEAT_SECONDS, NewItem, State

log = logging.getLogger(__name__)

#: A feed's text shorter than this is a teaser: the page is read for the article.
MIN_FEED_TEXT = 200
PER_HOST = 2  # page reads at once per host
TICK = 1.0  # the longest the loop sleeps (a stop is noticed within it)
RETRY_MAX = 3600.0
EXTRACT_TIMEOUT = 60.0  # seconds an extraction may take (a few milliseconds as a rule)


@dataclass
class PollResult:
    """What a pool thread found polling a feed, for the owning thread to record."""

    feed: Feed
    status: str  # ok, not_modified, error
    parsed: Parsed | None = None
    validators: tuple[str | None, str | None, str] | None = None
    error: FetchError | ParseError | None = None


@dataclass
class PageResult:
    """What a pool thread found reading an item's page, for the owning thread to record."""

    key: str
    feed: Feed
    item: Item
    page: PageArticle | None = None
    error: FetchError | None = None


@dataclass
class RunReport:
    """What a run did, for the closing line and the tests."""

    polls: int = 0
    new_items: int = 0
    indexed: int = 0
    errors: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        errors = ", ".join(f"{kind} {n}" for kind, n in sorted(self.errors.items())) or "none"
        return (
            f"{self.polls} polls, {self.new_items} new items, {self.indexed} articles indexed, "
            f"errors: {errors}"
        )


class Follower:
    """Follows the feeds of ``config`` into the index folder ``root``."""

    def __init__(self, root: Path, config: FollowConfig):
        self.root = Path(root)
        self.config = config
        self.settings = config.settings
        self.feeds = {feed.url: feed for feed in config.feeds}
        self.state: State  # opened by run(), in the thread that uses it
        self.fetcher = Fetcher(self.settings)
        self.report = RunReport()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="follow")
        self._extractor: Executor  # these three are started by run()
        self._extractor_lock = threading.Lock()
        self._batches: BatchIndexer
        self._futures: dict[Future, str] = {}  # future -> feed URL or item key
        self._reading: Counter = Counter()  # page reads in flight per host
        self._next_poll = dict.fromkeys(self.feeds, 0.0)
        self._beat = 0.0

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Stop after the batch being indexed (safe from a signal handler or a thread)."""
        self._stop.set()

    def run(self, once: bool = False) -> RunReport:
        """Follow until stopped; with ``once``, poll every feed once and index what was
        found (pages that fail are left for the next run), then return."""
        self.state = State(self.root)
        self._extractor = worker_pool(warm_up, self.settings.subprocesses)
        self._batches = BatchIndexer(
            self.root, self.state, self.settings.batch_size, self.settings.subprocesses
        )
        try:
            self.state.sync_feeds(self.feeds.values())
            self.state.heartbeat(pid=os.getpid(), started=time.time(), stopped=0)
            if once:
                self._run_once()
            else:
                self._run_forever()
            self._batches.flush()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._extractor.shutdown(wait=False, cancel_futures=True)
            self._batches.close()
            self.report.indexed = self._batches.indexed
            if self._batches.refusals:
                self.report.errors["index_busy"] += self._batches.refusals
            self.state.heartbeat(stopped=1)
            self.state.close()
        return self.report

    def _run_forever(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for url, due in self._next_poll.items():
                if due <= now:
                    self._submit_poll(self.feeds[url])
            self._submit_pages()
            self._index_if_due()
            self._collect(self._sleep(now))
            self._heartbeat()

    def _run_once(self) -> None:
        for feed in self.feeds.values():
            self._submit_poll(feed)
        while self._futures and not self._stop.is_set():
            self._collect(TICK)
            self._submit_pages()
            self._index_if_due()
            self._heartbeat()

    def _sleep(self, now: float) -> float:
        """How long the loop may wait: until a feed is due or a batch (see
        :meth:`_index_if_due`), at most ``TICK``. A result that comes wakes it sooner."""
        until = min(self._next_poll.values(), default=now + TICK) - now
        count, oldest = self.state.pending_age()
        if self._batches.future is None and count:
            due = oldest + self.settings.commit_interval - time.time()
            if not self._futures:
                due = min(due, self._batches.started + self.settings.commit_interval - now)
            until = min(until, max(due, self._batches.retry_at - now))
        return min(max(until, 0.01), TICK)

    # -- polls ----------------------------------------------------------------------------

    def _submit_poll(self, feed: Feed) -> None:
        validators = self.state.validators(feed.url)
        self._next_poll[feed.url] = float("inf")  # rescheduled when the result comes
        future = self._pool.submit(self._poll, feed, validators)
        self._futures[future] = feed.url

    def _poll(self, feed: Feed, validators: tuple) -> PollResult:
        """Fetch and parse one feed (in a pool thread); never raises for bad input."""
        etag, modified, old_hash = validators
        try:
            response = self.fetcher.get(
                feed.url,
                max_bytes=self.settings.max_feed_bytes,
                accept=FEED_ACCEPT,
                etag=etag,
                last_modified=modified,
            )
            if response.status == 304:
                return PollResult(feed, "not_modified")
            digest = hashlib.sha256(response.body).hexdigest()
            new = (response.headers.get("ETag"), response.headers.get("Last-Modified"), digest)
            if digest == old_hash:  # a server without validators, and nothing new
                return PollResult(feed, "not_modified", validators=new)
            parsed = parse_feed(response.body, response.charset, response.url, feed.zone)
            return PollResult(feed, "ok", parsed, new)
        except (FetchError, ParseError) as error:
            return PollResult(feed, "error", error=error)

    def _polled(self, result: PollResult) -> None:
        feed = result.feed
        self.report.polls += 1
        self._next_poll[feed.url] = time.monotonic() + feed.interval
        if result.error is not None:
            self._error(feed, result.error.kind, result.error.message)
            self.state.record_poll(feed.url, "error")
            return
        if result.parsed is None:
            self.state.record_poll(feed.url, "not_modified", result.validators)
            return
        if result.parsed.malformed:
            self._error(feed, "malformed_xml", result.parsed.malformed)
        items = [self._new_item(feed, item) for item in result.parsed.items]
        added = self.state.record_poll(
            feed.url, "ok", result.validators, [i for i in items if i], result.parsed.kind
        )
        self.report.new_items += added
        if added:
            log.info("%s: %d new items", feed.url, added)

    def _new_item(self, feed: Feed, item: Item) -> NewItem | None:
        """The item to record, or None when it is known already."""
        keys = item_keys(item, feed)
        if self.state.known(keys) is not None:
            return None
        new = NewItem(keys, json.dumps(item.as_dict(), ensure_ascii=False), url=item.link)
        new.title, new.author = item.title, item.author
        if len(item.text) >= MIN_FEED_TEXT or not _readable(item.link):
            new.record = build_record(item, None, feed, _now())
            new.content = content_key(new.record["text"])
            if not new.record["text"]:
                new.record = None  # nothing to read and no text: recorded as todo, then empty
        return new

    # -- pages ----------------------------------------------------------------------------

    def _submit_pages(self) -> None:
        """Start reading the pages that are due, as far as the threads and hosts allow."""
        free = 2 * self.settings.workers - len(self._futures)
        if free <= 0:
            return
        busy = set(self._futures.values())
        for key, feed_url, item_json in self.state.due(2 * PER_HOST, busy):
            feed = self.feeds.get(feed_url)
            item = Item.from_dict(json.loads(item_json))
            if feed is None:
                continue  # a feed no longer followed: left as it is
            if not _readable(item.link):
                self._no_text(key, feed, item)
                continue
            host = host_of(item.link)
            if self._reading[host] >= PER_HOST:
                continue
            self._reading[host] += 1
            self._futures[self._pool.submit(self._read_page, key, feed, item)] = key
            free -= 1
            if free == 0:
                return

    def _read_page(self, key: str, feed: Feed, item: Item) -> PageResult:
        """Fetch an item's page and extract its article (in a pool thread)."""
        try:
            response = self.fetcher.get(item.link, max_bytes=self.settings.max_page_bytes)
            kind = response.content_type
            if kind not in HTML_TYPES and (kind or sniff_kind(response.body) != "html"):
                raise FetchError("not_html", f"{item.link}: {kind or 'no'} content type", True)
            page = self._extract(response.text(), response.url, feed)
            return PageResult(key, feed, item, page)
        except FetchError as error:
            return PageResult(key, feed, item, error=error)

    def _extract(self, html: str, url: str, feed: Feed) -> PageArticle:
        """The article of a page, extracted in a process of its own.

        trafilatura is CPU-bound Python: in the fetching threads it would hold the GIL
        against them and against the indexing, on one core; in its own process it uses
        another. A crashed extractor (a page that kills lxml) costs that page one attempt.
        """
        extractor = self._extractor
        try:
            return extractor.submit(extract_page, html, url, feed.zone).result(EXTRACT_TIMEOUT)
        except FutureTimeout:  # TimeoutError itself from Python 3.11 on
            message = f"{url}: no article after {EXTRACT_TIMEOUT:g} s"
            raise FetchError("extract_failed", message) from None
        except BrokenProcessPool:
            with self._extractor_lock:
                if self._extractor is extractor:
                    self._extractor = worker_pool(warm_up, self.settings.subprocesses)
            raise FetchError("extract_failed", f"{url}: the extractor process died") from None

    def _page_read(self, result: PageResult) -> None:
        self._reading[host_of(result.item.link)] -= 1
        feed, item = result.feed, result.item
        if result.error is not None:
            self._page_failed(result)
            return
        page = result.page
        if not page.text and not item.text:
            self._no_text(result.key, feed, item)
            return
        record = build_record(item, page, feed, _now())
        keys = [url_key(record["url"])] if record["url"] else []
        keys += [key for key in (content_key(record["text"]),) if key]
        self.state.resolve(result.key, record, keys, page.author or item.author)

    def _page_failed(self, result: PageResult) -> None:
        error, feed, item = result.error, result.feed, result.item
        self._error(feed, error.kind, error.message)
        attempts = self.state.attempts(result.key) + 1
        if not error.permanent and attempts < self.settings.max_attempts:
            pause = min(self.settings.retry_delay * 2 ** (attempts - 1), RETRY_MAX)
            self.state.failed(result.key, error.message, time.time() + pause)
        elif item.text:  # the feed's teaser is better than nothing
            self.state.failed(result.key, error.message, None)
            record = build_record(item, None, feed, _now())
            self.state.resolve(result.key, record, [url_key(record["url"])], item.author)
        else:
            self.state.failed(result.key, error.message, None)

    def _no_text(self, key: str, feed: Feed, item: Item) -> None:
        self._error(feed, "empty_text", f"{item.link or item.guid}: no article text found")
        self.state.set_state(key, "empty")

    # -- results, errors ------------------------------------------------------------------

    def _collect(self, timeout: float) -> None:
        """Wait up to ``timeout`` for results and record those that came."""
        if not self._futures:
            self._stop.wait(timeout)
            return
        waiting = [*self._futures, *filter(None, [self._batches.future])]
        done, _ = wait(waiting, timeout=timeout, return_when=FIRST_COMPLETED)
        with self.state.transaction():
            for future in done:
                if self._futures.pop(future, None) is None:
                    continue  # the commit in flight: recorded by _index_if_due
                result = future.result()
                if isinstance(result, PollResult):
                    self._polled(result)
                else:
                    self._page_read(result)

    def _error(self, feed: Feed, kind: str, message: str) -> None:
        count = self.state.error(feed.url, kind, message)
        self.report.errors[kind] += 1
        log.warning("%s: %s: %s (%d so far)", feed.url, kind, message, count)

    def _heartbeat(self) -> None:
        if time.monotonic() - self._beat >= HEARTBEAT_SECONDS:
            self._beat = time.monotonic()
            self.state.heartbeat()

    # -- indexing -------------------------------------------------------------------------

    def _index_if_due(self) -> None:
        """Record a finished commit, and start the next when it is due.

        A full batch is due at once. Anything less is due when nothing else is in flight
        (the burst is over, or a lone item came) and the last commit was a full batch or
        began ``commit_interval`` seconds ago; or, in any case, once its oldest record has
        waited that long. Every commit costs every server a reopen of the index (some 100
        ms of its CPU): a trickle of news must not cause one every second.
        """
        self._batches.finish()
        if self._batches.future is not None:
            return
        count, oldest = self.state.pending_age()
        if not count:
            return
        interval = self.settings.commit_interval
        since = time.monotonic() - self._batches.started
        drained = not self._futures and (self._batches.last_full or since >= interval)
        if count >= self.settings.batch_size or drained or time.time() - oldest >= interval:
            self._batches.start()


def _readable(link: str) -> bool:
    return link.lower().startswith(("http://", "https://"))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
