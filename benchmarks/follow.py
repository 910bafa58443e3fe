"""The follower's targets, on loopback: freshness, text quality, idle cost, search latency.

    python -m benchmarks.follow                      # 20 feeds of 50 items, 2,000 base articles
    python -m benchmarks.follow --feeds 4 --items 20 --base 500

Twenty feed servers (``tests.feedserver``), one per loopback address (127.0.0.1 to
127.0.0.20, so each feed is a host of its own, as real sites are), serve feeds of four kinds in
turn: RSS with teasers, a news sitemap, and Atom with summaries, whose articles are read from
their pages (boilerplate around the text), and the Yandex.News RSS in cp1251 with
``yandex:full-text``. The real server (``news-search serve``) answers searches over an index
of generated articles to one client process sending 20 searches a second, and the real
follower (``python -m search.follow``) runs as a process of its own, at its default priority,
polling every feed every 2 s, 50 requests a second per host at most. This process, which
plays the news sites (other machines, in real life), lowers its own priority once the quiet
latency is measured, so that serving a thousand pages does not count against the follower.
Then:

1. search latency, quiet: the follower not running;
2. idle cost: the follower polls the feeds, which serve nothing new (304), for several rounds;
   its CPU seconds per round of all feeds;
3. freshness: all feeds change at once (50 new items each); the time until every article
   is in the index, while searches go on (their latency is the "during a burst" figure);
4. steady following: a few new items a second across the feeds, with the searches going on;
5. exactly once and text quality: each article found once by its marker word, its text
   within 5% (word-level difference) of the true text, no boilerplate phrase in it.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import click
import requests

from benchmarks.harness import latency_summary
from benchmarks.newsgen import QUERY_WORDS, generate_articles, write_jsonl
from benchmarks.options import stop_on_sigterm
from benchmarks.quiet import wait_until_quiet
from benchmarks.server import process_tree, running_server
from search import indexer
from search.follow.command import DEFAULT_NICE
from search.layout import open_live
from search.searching import SearchEngine, SearchRequest
from tests.feedserver import (
    BOILERPLATE,
    FeedServer,
    FixtureArticle,
    atom,
    make_articles,
    marker,
    news_sitemap,
    rss,
    yandex_rss,
)

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("rss", "sitemap", "yandex", "atom")
INTERVAL = 2.0  # seconds between polls of a feed
FEEDS_NICE = 10  # this process's priority below the server's, once the feeds are served
QUIET_SECONDS = 20.0
HOST_RATE = 50.0  # requests per second per host
TICKS = os.sysconf("SC_CLK_TCK")


class Feeds:
    """The feed servers, and what each serves."""

    def __init__(self, count: int, items: int, extra: str = ""):
        self.extra = extra  # more [follow] settings, TOML
        self.servers = [FeedServer(f"127.0.0.{n + 1}") for n in range(count)]
        self.items = items
        self.served: list[list[FixtureArticle]] = [[] for _ in range(count)]
        self.kind = [KINDS[n % len(KINDS)] for n in range(count)]
        self.published: list[tuple[FixtureArticle, str]] = []  # every article, with its kind

    def __enter__(self) -> Feeds:
        for number, server in enumerate(self.servers):
            server.__enter__()
            self.publish(number, [])
        return self

    def __exit__(self, *exc_info) -> None:
        for server in self.servers:
            server.__exit__(*exc_info)

    def url(self, number: int) -> str:
        return self.servers[number].url("/feed.xml")

    def publish(self, number: int, new: list[FixtureArticle]) -> None:
        """Put ``new`` articles at the top of feed ``number`` (which keeps ``items``)."""
        server, kind = self.servers[number], self.kind[number]
        self.served[number] = (new + self.served[number])[: self.items]
        self.published += [(article, kind) for article in new]
        articles = self.served[number]
        if kind == "yandex":
            entries = [(a, server.url(f"/news/{a.slug}.html")) for a in articles]
            server.put(
                "/feed.xml", yandex_rss(entries), "application/rss+xml; charset=windows-1251"
            )
            return
        entries = server.put_pages(new) + [
            (a, server.url(f"/news/{a.slug}.html")) for a in articles[len(new) :]
        ]
        body = {"rss": rss, "sitemap": news_sitemap, "atom": lambda e: atom(e, full_text=False)}
        server.put("/feed.xml", body[kind](entries), "application/xml")

    def feed_polls(self) -> int:
        return sum(server.hits["/feed.xml"] for server in self.servers)

    def write_toml(self, path: Path) -> Path:
        tables = [
            f'[[feed]]\nurl = "{self.url(n)}"\nsource = "Лента {n}"\ninterval = {INTERVAL}\n'
            for n in range(len(self.servers))
        ]
        settings = f"[follow]\nhost_rate = {HOST_RATE}\n{self.extra}\n"
        path.write_text("\n".join([settings, *tables]), encoding="utf-8")
        return path


def search_client(url: str, rate: float, path: str, stop) -> None:
    """Send ``rate`` searches a second to ``url`` until ``stop`` is set (in a process of its
    own); each latency in milliseconds is a line of ``path``."""
    pause = 1.0 / rate
    with requests.Session() as session, open(path, "a", encoding="ascii") as out:
        for number in range(10**9):
            if stop.is_set():
                return
            started = time.perf_counter()
            session.get(url, params={"q": QUERY_WORDS[number % len(QUERY_WORDS)]})
            elapsed = time.perf_counter() - started
            out.write(f"{1000 * elapsed:.3f}\n")
            out.flush()
            stop.wait(max(pause - elapsed, 0))


class SearchLoad:
    """A reader's searches, ``rate`` a second, from a process of its own.

    Paced rather than back to back: a client that sends its next search the moment the last
    is answered keeps a core busy by itself and measures the machine's saturation, not the
    latency a reader sees. In its own process, so that the feed servers of this one do not
    hold its GIL.
    """

    def __init__(self, port: int, rate: float, path: Path):
        context = get_context("spawn")
        self.path = path
        self._offset = 0
        self._stop = context.Event()
        url = f"http://127.0.0.1:{port}/api/search"
        self._process = context.Process(
            target=search_client, args=(url, rate, str(path), self._stop), daemon=True
        )

    def start(self) -> None:
        self.path.touch()
        self._process.start()

    def take(self) -> list[float]:
        """The latencies since the last call."""
        with self.path.open("rb") as data:
            data.seek(self._offset)
            lines = data.read().split(b"\n")[:-1]  # the last one may be half written
        self._offset += sum(len(line) + 1 for line in lines)
        return [float(line) for line in lines]

    def stop(self) -> None:
        self._stop.set()
        self._process.join(timeout=30)


def cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (the extracting and indexing processes)."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def documents(root: Path) -> int:
    with open_live(root).searcher() as searcher:
        return searcher.doc_count()


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until ``condition()`` held, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(step)
    return None


def start_follower(toml: Path, root: Path, log: Path, nice: int) -> subprocess.Popen:
    """The follower, ``nice`` below this process (which is at ``FEEDS_NICE`` by then)."""
    nice_option = ["--nice", str(nice)]
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "search.follow", str(toml), "--index", str(root), *nice_option],
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )


def check_articles(root: Path, articles: list[FixtureArticle], full_text: set[str]) -> dict:
    """Exactly once, text within 5 %, no boilerplate; the counts of what fell short."""
    engine = SearchEngine(root)
    found_once = close = clean = 0
    worst = 1.0
    for article in articles:
        result = engine.search(SearchRequest(q=marker(article.slug), facets=False))
        if result.total != 1:
            continue
        found_once += 1
        text = engine.document(result.hits[0].id).text
        ratio = difflib.SequenceMatcher(None, text.split(), article.text.split()).ratio()
        if article.slug not in full_text:
            worst = min(worst, ratio)
        close += ratio >= 0.95
        clean += not any(phrase in text for phrase in BOILERPLATE)
    return {
        "articles": len(articles),
        "found_exactly_once": found_once,
        "text_within_5pct": close,
        "no_boilerplate": clean,
        "worst_extracted_similarity": round(worst, 4),
    }


@dataclass(frozen=True)
class Options:
    feeds: int
    items: int
    base: int
    idle_rounds: int
    steady: float
    rate: float
    nice: int
    settings: str


@click.command()
@click.option("--feeds", default=20, show_default=True)
@click.option("--items", default=50, show_default=True, help="Items per feed.")
@click.option("--base", default=2000, show_default=True, help="Articles indexed beforehand.")
@click.option("--idle-rounds", default=5, show_default=True)
@click.option("--steady", default=20.0, show_default=True, help="Seconds of steady following.")
@click.option("--rate", default=20.0, show_default=True, help="Searches a second.")
@click.option(
    "--nice",
    type=int,
    default=DEFAULT_NICE - FEEDS_NICE,
    show_default=True,
    help="The follower's --nice, on top of this process's FEEDS_NICE (default: as deployed).",
)
@click.option("--settings", default="", help='More [follow] settings, e.g. "batch_size = 100".')
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None)
def main(json_path, **options) -> None:
    """Measure the follower's targets on loopback and print the figures."""
    stop_on_sigterm()
    work = Path(tempfile.mkdtemp(prefix="bench-follow-"))
    try:
        figures = run(work, Options(**options))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if json_path:
        json_path.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


def run(work: Path, options: Options) -> dict:
    root = work / "index"
    base = generate_articles(options.base, "base")
    indexer.build(root, [write_jsonl(work / "base.jsonl", base)])
    figures: dict = {"options": asdict(options), "host_rate": HOST_RATE, "interval_s": INTERVAL}
    with (
        running_server(root, workers=1) as (_, port, _health),
        Feeds(options.feeds, options.items, options.settings) as feeds,
    ):
        figures["background_cpu_share"], _ = wait_until_quiet(2.0, 180.0)
        load = SearchLoad(port, options.rate, work / "latencies.txt")
        load.start()
        time.sleep(QUIET_SECONDS)
        # From here on this process plays the sites the news come from, which are other
        # machines in real life: it must not take the CPU from the search server.
        os.nice(FEEDS_NICE)
        figures["latency_quiet_ms"] = latency_summary(load.take())
        toml = feeds.write_toml(work / "feeds.toml")
        follower = start_follower(toml, root, work / "follow.log", options.nice)
        try:
            figures.update(measure(root, feeds, follower, load, options))
        finally:
            load.stop()
            follower.send_signal(signal.SIGTERM)
            figures["exit_code_after_sigterm"] = follower.wait(timeout=60)
        articles = [article for article, _ in feeds.published]
        full = {article.slug for article, kind in feeds.published if kind == "yandex"}
        figures["check"] = check_articles(root, articles, full)
    figures["documents"] = documents(root)
    figures["expected_documents"] = options.base + len(articles)
    quiet = figures["latency_quiet_ms"]["p95"]
    for phase in ("burst", "steady"):
        figures[f"{phase}_p95_over_quiet_p95"] = round(
            figures[f"latency_{phase}_ms"]["p95"] / quiet, 2
        )
    return figures


def measure(root: Path, feeds: Feeds, follower, load: SearchLoad, options: Options) -> dict:
    figures = {}
    idle_rounds, base = options.idle_rounds, options.base
    polls = feeds.feed_polls()
    wait_for(lambda: feeds.feed_polls() >= polls + 2 * len(feeds.servers), 120)
    # Idle: nothing new; only the follower's own CPU is counted.
    cpu0, polls0 = cpu_seconds(follower.pid), feeds.feed_polls()
    wait_for(lambda: feeds.feed_polls() >= polls0 + idle_rounds * len(feeds.servers), 120)
    rounds = (feeds.feed_polls() - polls0) / len(feeds.servers)
    figures["idle_cpu_s_per_round_of_all_feeds"] = round(
        (cpu_seconds(follower.pid) - cpu0) / rounds, 3
    )
    # Freshness: every feed changes at once.
    load.take()
    burst = [make_articles(feeds.items, f"f{n}x0") for n in range(len(feeds.servers))]
    cpu0 = cpu_seconds(follower.pid)
    for number, articles in enumerate(burst):
        feeds.publish(number, articles)
    expected = base + sum(len(a) for a in burst)
    seconds = wait_for(lambda: documents(root) >= expected, 120, step=0.2)
    figures["freshness_s_all_searchable"] = round(seconds, 2) if seconds else None
    figures["burst_follower_cpu_s"] = round(cpu_seconds(follower.pid) - cpu0, 2)
    figures["latency_burst_ms"] = latency_summary(load.take())
    figures.update(steady_following(root, feeds, load, expected, options.steady))
    return figures


def steady_following(root, feeds, load, expected, seconds) -> dict:
    """A new item in one feed or another every half second, for ``seconds``."""
    started, number = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        feed = number % len(feeds.servers)
        feeds.publish(feed, make_articles(1, f"f{feed}s{number}"))
        number += 1
        time.sleep(0.5)
    arrived = wait_for(lambda: documents(root) >= expected + number, 60)
    return {
        "steady_new_items": number,
        "steady_all_searchable_s_after_last": round(arrived, 2) if arrived is not None else None,
        "latency_steady_ms": latency_summary(load.take()),
    }


if __name__ == "__main__":
    main()
