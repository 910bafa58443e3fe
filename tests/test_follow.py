"""``news-search follow`` against a real local HTTP server (``tests.feedserver``).

The feeds and pages are generated; the follower polls them over HTTP on loopback and indexes
into a real index. These run ``--once`` in this process (with ``subprocesses = false``, so
that no test pays for starting the extracting and indexing processes); the long-running
follower, its processes, SIGTERM and ``kill -9`` are in ``test_follow_process.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from search import indexer
from search.follow.command import follow_command
from search.follow.config import load_config
from search.follow.follower import Follower
from search.follow.state import status
from tests.feedserver import (
    BOILERPLATE,
    FeedServer,
    article_page,
    atom,
    feeds_toml,
    found,
    make_articles,
    marker,
    news_sitemap,
    rss,
    stored,
    yandex_rss,
)

FAST = {"subprocesses": False, "host_rate": 1000.0, "timeout": 1.0}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def follow_once(toml: Path, index: Path, *options: str) -> Result:
    result = CliRunner().invoke(
        follow_command, [str(toml), "--index", str(index), "--once", "--nice", "0", *options]
    )
    assert result.exit_code == 0, result.output
    return result


def feed_status(index: Path) -> dict[str, dict]:
    return {feed["url"]: feed for feed in status(index)["feeds"]}


def test_every_kind_of_feed_is_indexed_once(server: FeedServer, tmp_path: Path) -> None:
    teasers, ya, at, sm = (make_articles(3, kind) for kind in ("rss", "ya", "atom", "sm"))
    server.put("/rss.xml", rss(server.put_pages(teasers)), "application/rss+xml")
    server.put(
        "/yandex.xml",
        yandex_rss([(a, server.url(f"/ya/{a.slug}")) for a in ya]),
        "application/rss+xml; charset=windows-1251",
    )
    server.put("/atom.xml", atom([(a, server.url(f"/at/{a.slug}")) for a in at]), "text/xml")
    server.put("/news-sitemap.xml", news_sitemap(server.put_pages(sm, "/sm/")), "text/xml")
    feeds = [
        {"url": server.url("/rss.xml"), "source": "Zakon.kz", "kind": "rss"},
        {"url": server.url("/yandex.xml"), "source": "Tengrinews", "timezone": "Asia/Almaty"},
        {"url": server.url("/atom.xml"), "source": "ТАСС", "kind": "atom"},
        {"url": server.url("/news-sitemap.xml"), "source": "РИА", "topic": "Главное"},
    ]
    toml = feeds_toml(tmp_path / "feeds.toml", feeds, **FAST)
    index = tmp_path / "index"

    result = follow_once(toml, index)
    assert "Followed 4 feeds: 4 polls, 12 new items, 12 articles indexed, errors: none" in (
        result.output
    )
    docs = stored(index)
    assert len(docs) == 12
    for article in teasers + ya + at + sm:
        (article_id,) = found(index, marker(article.slug))
        doc = docs[article_id]
        assert doc["text"] == article.text
        assert doc["title"] == article.title and doc["topic"] == article.topic
        assert doc["date"] == article.date.astimezone(dt.timezone.utc).replace(tzinfo=None)
        assert not [phrase for phrase in BOILERPLATE if phrase in doc["text"]]
    assert {doc["source"] for doc in docs.values()} == {"Zakon.kz", "Tengrinews", "ТАСС", "РИА"}
    assert server.hits["/news/rss-0.html"] == 1 and server.hits["/ya/ya-0"] == 0  # full text

    again = follow_once(toml, index)
    assert "4 polls, 0 new items, 0 articles indexed" in again.output
    assert sum(server.not_modified.values()) == 4  # conditional GET: 304 for every feed
    assert server.hits["/news/rss-0.html"] == 1
    assert len(stored(index)) == 12


def test_a_feed_that_changes_between_polls(server: FeedServer, tmp_path: Path) -> None:
    articles = make_articles(5, "change")
    server.put_feed("/rss.xml", rss(server.put_pages(articles[2:])))
    toml = feeds_toml(tmp_path / "f.toml", [{"url": server.url("/rss.xml"), "source": "S"}], **FAST)
    index = tmp_path / "index"
    follow_once(toml, index)
    ids = set(stored(index))
    server.put_feed(
        "/rss.xml", rss(server.put_pages(articles[:2]) + server.put_pages(articles[2:4]))
    )
    assert "2 new items, 2 articles indexed" in follow_once(toml, index).output
    assert len(stored(index)) == 5 and ids < set(stored(index))
    assert server.hits["/news/change-2.html"] == 1  # the article read before is not read again
    assert feed_status(index)[server.url("/rss.xml")]["items"]["indexed"] == 5


def test_one_article_through_two_feeds_and_two_urls(server: FeedServer, tmp_path: Path) -> None:
    first, second = make_articles(2, "dup")
    canonical = server.url("/news/dup-0.html")
    server.put("/news/dup-0.html", article_page(first, canonical))
    server.put("/m/dup-0.html", article_page(first, canonical))  # the mobile page, same article
    server.put("/print/dup-1.html", article_page(second))  # no canonical link, same text
    server.put("/news/dup-1.html", article_page(second))
    server.put_feed(
        "/rss.xml",
        rss([(first, canonical + "?utm_source=rss"), (second, server.url("/news/dup-1.html"))]),
    )
    server.put(
        "/sitemap.xml",
        news_sitemap([(first, canonical), (second, server.url("/print/dup-1.html"))]),
        "application/xml",
    )
    server.put("/mobile.xml", rss([(first, server.url("/m/dup-0.html"))], guid_is_url=False))
    feeds = [
        {"url": server.url(path), "source": "S"}
        for path in ("/rss.xml", "/sitemap.xml", "/mobile.xml")
    ]
    index = tmp_path / "index"
    follow_once(feeds_toml(tmp_path / "f.toml", feeds, **FAST), index)
    assert len(found(index, marker("dup-0"))) == 1
    assert len(found(index, marker("dup-1"))) == 1
    assert len(stored(index)) == 2
    states = [feed["items"] for feed in feed_status(index).values()]
    assert sum(s["indexed"] for s in states) == 2 and sum(s["duplicate"] for s in states) == 2


def test_bad_input_is_counted_per_feed_and_never_stops_the_follower(
    server: FeedServer, tmp_path: Path
) -> None:
    good, *bad = make_articles(8, "fault")
    links = {"good": good, "404": bad[0], "500": bad[1], "big": bad[2], "png": bad[3]}
    links |= {"empty": bad[4], "loop": bad[5], "slow": bad[6]}
    server.put("/p/good", article_page(good))
    server.put("/p/500", "oops", status=500)
    server.put("/p/big", article_page(bad[2]) + b"<!-- " + b"x" * 300_000 + b" -->")
    server.put("/p/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
    # A page with all the boilerplate and no article (a video page, say).
    server.put("/p/empty", article_page(dataclasses.replace(bad[4], paragraphs=[])))
    server.put("/p/loop", status=302, location="/p/loop")
    server.put("/p/slow", article_page(bad[6]), delay=1.5)
    server.put_feed("/items.xml", rss([(a, server.url(f"/p/{name}")) for name, a in links.items()]))
    server.put_feed("/500.xml", "oops", status=500)
    server.put_feed("/slow.xml", rss([]), drip=0.3)
    server.put_feed("/garbage.xml", b"<rss><channel><item><title>x</ti")
    server.put("/html.xml", "<!DOCTYPE html><html><body>Новости</body></html>")
    server.put("/loop.xml", status=301, location="/loop.xml")
    paths = ["/items.xml", "/500.xml", "/slow.xml", "/garbage.xml", "/html.xml", "/loop.xml"]
    feeds = [{"url": server.url(path), "source": "S"} for path in paths] + [
        {"url": server.url("/missing.xml"), "source": "S"}
    ]
    toml = feeds_toml(tmp_path / "f.toml", feeds, **{**FAST, "max_page_bytes": 200_000})
    index = tmp_path / "index"
    follow_once(toml, index)

    assert list(stored(index)) == found(index, marker("fault-0"))
    errors = {url: feed["errors"] for url, feed in feed_status(index).items()}
    assert errors[server.url("/items.xml")] == {
        "not_found": 1, "server_error": 1, "too_large": 1, "not_html": 1, "empty_text": 1,
        "redirect_loop": 1, "timeout": 1,
    }  # fmt: skip
    assert errors[server.url("/500.xml")] == {"server_error": 1}
    assert errors[server.url("/slow.xml")] == {"timeout": 1}
    assert errors[server.url("/garbage.xml")] == {"malformed_xml": 1}
    assert errors[server.url("/html.xml")] == {"html_not_feed": 1}
    assert errors[server.url("/loop.xml")] == {"redirect_loop": 1}
    assert errors[server.url("/missing.xml")] == {"not_found": 1}
    items = feed_status(index)[server.url("/items.xml")]
    assert items["items"]["todo"] == 2  # the 500 and the timeout: tried again later
    assert items["items"]["empty"] == 1 and items["items"]["failed"] == 4
    assert items["recent_errors"][0]["message"]


def test_a_failed_page_is_tried_again(server: FeedServer, tmp_path: Path) -> None:
    (article,) = make_articles(1, "retry")
    server.put("/p/1", "busy", status=503)
    server.put_feed("/rss.xml", rss([(article, server.url("/p/1"))]))
    settings = {**FAST, "retry_delay": 0.01}
    toml = feeds_toml(
        tmp_path / "f.toml", [{"url": server.url("/rss.xml"), "source": "S"}], **settings
    )
    index = tmp_path / "index"
    follow_once(toml, index)
    assert not (index / "live").exists()  # nothing indexed yet, no index made
    server.put("/p/1", article_page(article))
    time.sleep(0.05)
    assert "1 articles indexed" in follow_once(toml, index).output
    assert found(index, marker("retry-0"))


def test_robots_txt_is_obeyed(server: FeedServer, tmp_path: Path) -> None:
    allowed, private = make_articles(2, "robots")
    server.put("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    server.put("/news/a.html", article_page(allowed))
    server.put("/private/b.html", article_page(private))
    entries = [(allowed, server.url("/news/a.html")), (private, server.url("/private/b.html"))]
    server.put_feed("/rss.xml", rss(entries))
    server.put_feed("/private/rss.xml", rss(entries))
    feeds = [{"url": server.url(p), "source": "S"} for p in ("/rss.xml", "/private/rss.xml")]
    index = tmp_path / "index"
    follow_once(feeds_toml(tmp_path / "f.toml", feeds, **FAST), index)
    assert server.hits["/private/b.html"] == 0 and server.hits["/private/rss.xml"] == 0
    assert found(index, marker("robots-0")) and not found(index, marker("robots-1"))
    assert feed_status(index)[server.url("/private/rss.xml")]["errors"] == {"robots": 1}


def test_ids_are_the_same_for_a_new_follower(server: FeedServer, tmp_path: Path) -> None:
    server.put_feed("/rss.xml", rss(server.put_pages(make_articles(3, "ids"))))
    toml = feeds_toml(tmp_path / "f.toml", [{"url": server.url("/rss.xml"), "source": "S"}], **FAST)
    follow_once(toml, tmp_path / "one")
    follow_once(toml, tmp_path / "two")
    assert set(stored(tmp_path / "one")) == set(stored(tmp_path / "two"))


def test_the_status_on_the_command_line(server: FeedServer, tmp_path: Path) -> None:
    server.put_feed("/rss.xml", rss(server.put_pages(make_articles(2, "st"))))
    server.put_feed("/broken.xml", "oops", status=500)
    feeds = [{"url": server.url(p), "source": "S"} for p in ("/rss.xml", "/broken.xml")]
    index = tmp_path / "index"
    follow_once(feeds_toml(tmp_path / "f.toml", feeds, **FAST), index)
    # A feed added to the file since: listed, never polled.
    toml = feeds_toml(
        tmp_path / "f.toml", [*feeds, {"url": server.url("/later.xml"), "source": "S"}]
    )
    runner = CliRunner()
    shown = runner.invoke(follow_command, [str(toml), "--index", str(index), "--status", "--json"])
    data = json.loads(shown.stdout)
    follower = data["follower"]
    assert follower["running"] is False and follower["last_seen"] and follower["last_indexed"]
    assert follower["updated_text"] == "обновлено только что"
    rss_feed, broken, later = data["feeds"]
    assert rss_feed["items"]["indexed"] == 2 and rss_feed["last_status"] == "ok"
    assert broken["last_status"] == "error" and broken["recent_errors"][0]["kind"] == "server_error"
    assert later["last_poll"] is None
    text = runner.invoke(follow_command, [str(toml), "--index", str(index), "--status"]).stdout
    assert "follower: not running" in text and "обновлено только что" in text
    assert f"{server.url('/rss.xml')}  S" in text and "2 indexed" in text
    assert "errors: server_error 1" in text and "never polled" in text


@pytest.mark.slow
def test_a_build_holding_the_writer_lock_is_waited_for(server: FeedServer, tmp_path: Path) -> None:
    server.put_feed("/rss.xml", rss(server.put_pages(make_articles(2, "lock"))))
    toml = feeds_toml(tmp_path / "f.toml", [{"url": server.url("/rss.xml"), "source": "S"}], **FAST)
    index = tmp_path / "index"
    indexer.build(index, [Path(__file__).parents[1] / "seeds"])
    with indexer.writing(index):
        result = follow_once(toml, index)
    assert "0 articles indexed" in result.output and "index_busy" in result.output
    assert feed_status(index)[server.url("/rss.xml")]["items"]["pending"] == 2
    assert "0 new items, 2 articles indexed" in follow_once(toml, index).output
    assert len(stored(index)) == 3


def test_following_picks_up_news_until_stopped(server: FeedServer, tmp_path: Path) -> None:
    first, second = make_articles(2, "live")
    server.put_feed("/rss.xml", rss(server.put_pages([first])))
    feeds = [{"url": server.url("/rss.xml"), "source": "S", "interval": 0.2}]
    config = load_config(feeds_toml(tmp_path / "f.toml", feeds, **FAST, commit_interval=0.1))
    index = tmp_path / "index"
    follower = Follower(index, config)
    thread = threading.Thread(target=follower.run)
    thread.start()
    try:
        _wait(lambda: found(index, marker("live-0")) if (index / "live").exists() else [])
        assert status(index)["follower"]["running"]
        server.put_feed("/rss.xml", rss(server.put_pages([second, first])))
        _wait(lambda: found(index, marker("live-1")))
    finally:
        follower.stop()
        thread.join(timeout=30)
    assert not thread.is_alive() and not status(index)["follower"]["running"]
    assert follower.report.indexed == 2 and follower.report.polls >= 2


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
