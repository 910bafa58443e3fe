"""The follower's parts on their own: the feeds file, dates, charsets, feeds, pages, keys.

Everything here is fed what ``tests.feedserver`` generates, as the server would serve it,
without a network.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from search.follow import state
from search.follow.articles import article_id, content_key, guid_key, item_keys, url_key
from search.follow.config import DEFAULT_INTERVAL, ConfigError, Feed, load_config
from search.follow.dates import parse_date, to_record
from search.follow.extract import extract_page, html_to_text
from search.follow.fetch import decode, detect_charset, normalize_url
from search.follow.parse import Item, ParseError, parse_feed, sniff_kind
from search.records import id_problem
from tests.feedserver import (
    BOILERPLATE,
    article_page,
    atom,
    feeds_toml,
    make_articles,
    news_sitemap,
    rss,
    yandex_rss,
)

UTC = dt.timezone.utc
MOSCOW = ZoneInfo("Europe/Moscow")
ALMATY = ZoneInfo("Asia/Almaty")
ARTICLES = make_articles(3, "parts")
ENTRIES = [(a, f"http://news.example.kz/news/{a.slug}.html") for a in ARTICLES]
FEED_URL = "http://news.example.kz/rss.xml"

# -- the feeds file -----------------------------------------------------------------------------


def test_the_contract_example_reads_as_written(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(
        '[[feed]]\nurl = "http://127.0.0.1:8080/rss.xml"\nsource = "Zakon.kz"        # the source\n'
        'kind = "rss"\ninterval = 60\ntopic = "Политика"\n\n'
        '[[feed]]\nurl = "http://127.0.0.1:8080/sitemap.xml"\nsource = "ТАСС"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    first, second = config.feeds
    assert first == Feed("http://127.0.0.1:8080/rss.xml", "Zakon.kz", "rss", 60.0, "Политика")
    assert (second.kind, second.interval, second.topic) == (None, DEFAULT_INTERVAL, "")
    assert config.settings.host_rate > 0


@pytest.mark.parametrize(
    ("feed", "settings", "message"),
    [
        ({"url": "http://x/rss"}, {}, "source is required"),
        ({"url": "ftp://x/rss", "source": "S"}, {}, "is not an http(s) URL"),
        ({"url": "http://x/rss", "source": "S", "kind": "json"}, {}, "kind 'json'"),
        ({"url": "http://x/rss", "source": "S", "interval": 0}, {}, "interval must be at least"),
        ({"url": "http://x/rss", "source": "S", "intreval": 5}, {}, "unknown key 'intreval'"),
        ({"url": "http://x/rss", "source": "S", "timezone": "Mars/Base"}, {}, "unknown timezone"),
        ({"url": "http://x/rss", "source": "S"}, {"host_rate": -1}, "positive float"),
        ({"url": "http://x/rss", "source": "S"}, {"subprocesses": 1}, "true or false"),
        ({"url": "http://x/rss", "source": "S"}, {"speed": 1}, "unknown key 'speed'"),
    ],
)
def test_a_mistake_in_the_feeds_file_is_named(tmp_path, feed, settings, message) -> None:
    path = feeds_toml(tmp_path / "feeds.toml", [feed], **settings)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path)


def test_no_feeds_a_feed_twice_and_bad_toml_are_refused(tmp_path: Path) -> None:
    twice = {"url": "http://x/rss", "source": "S"}
    for text, message in [
        ("", "lists no feeds"),
        ("[[feed]\nurl =", "not valid TOML"),
        (feeds_toml(tmp_path / "t.toml", [twice, twice]).read_text(), "listed twice"),
    ]:
        (tmp_path / "f.toml").write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(tmp_path / "f.toml")


# -- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone", "utc"),
    [
        ("Mon, 02 Mar 2026 23:42:00 +0500", MOSCOW, "2026-03-02T18:42:00"),
        ("Mon, 02 Mar 2026 23:42:00 MSK", ALMATY, "2026-03-02T20:42:00"),
        ("02 Mar 2026 23:42 GMT", MOSCOW, "2026-03-02T23:42:00"),
        ("Пн, 02 мар 2026 23:42:00 +0300", ALMATY, "2026-03-02T20:42:00"),
        ("02.03.2026 23:42", ALMATY, "2026-03-02T18:42:00"),
        ("02.03.2026 23:42", MOSCOW, "2026-03-02T20:42:00"),
        ("2 марта 2026 г., 23:42", MOSCOW, "2026-03-02T20:42:00"),
        ("2026-03-02T23:42:00+05:00", MOSCOW, "2026-03-02T18:42:00"),
        ("2026-03-02T18:42:00Z", ALMATY, "2026-03-02T18:42:00"),
        ("2026-03-02", MOSCOW, "2026-03-01T21:00:00"),
    ],
)
def test_dates_are_stored_in_utc(text: str, zone: ZoneInfo, utc: str) -> None:
    now = dt.datetime(2026, 3, 3, tzinfo=UTC)
    assert to_record(parse_date(text, zone, now)) == utc


def test_unreadable_and_far_future_dates_are_none() -> None:
    now = dt.datetime(2026, 3, 3, tzinfo=UTC)
    for text in ("", "вчера", "31.02.2026 10:00", "Mon, 02 Mar 2031 23:42:00 +0000"):
        assert parse_date(text, MOSCOW, now) is None


# -- charsets and URLs -----------------------------------------------------------------------


def test_legacy_cyrillic_charsets_are_told_apart() -> None:
    text = "Срочные переговоры на фоне конфликта: Казахстан экстренно связался с соседями"
    for charset in ("cp1251", "koi8-r"):
        body = text.encode(charset)
        assert detect_charset(body) == charset
        assert decode(body) == text
        assert decode(body, declared="utf-8") == text  # a mislabelled page
    assert decode(text.encode("koi8-r"), declared="koi8-r") == text
    assert decode(b"\xef\xbb\xbf" + text.encode()) == text


def test_urls_that_lead_to_one_page_are_one() -> None:
    same = [
        "http://News.Example.kz:80/news/a-1.html?utm_source=rss&utm_medium=feed",
        "http://news.example.kz/news/a-1.html/#comments",
        "http://news.example.kz/news/a-1.html?yclid=123",
    ]
    assert {normalize_url(url) for url in same} == {"http://news.example.kz/news/a-1.html"}
    assert normalize_url("http://x/a?b=2&a=1") == normalize_url("http://x/a?a=1&b=2")
    assert normalize_url("http://x/a?id=1") != normalize_url("http://x/a?id=2")


# -- feeds ----------------------------------------------------------------------------------------


def test_the_yandex_full_text_feed_in_cp1251() -> None:
    body = yandex_rss(ENTRIES)
    assert ARTICLES[0].title.encode("cp1251") in body  # really cp1251, not UTF-8
    parsed = parse_feed(body, "windows-1251", FEED_URL, ALMATY)
    assert parsed.kind == "rss" and not parsed.malformed
    for (article, url), item in zip(ENTRIES, parsed.items, strict=True):
        assert (item.link, item.title, item.text) == (url, article.title, article.text)
        assert (item.topic, item.author) == (article.topic, article.author)
        assert item.published == article.date.astimezone(UTC)


def test_russian_dates_of_a_feed_are_in_its_zone() -> None:
    parsed = parse_feed(yandex_rss(ENTRIES, ru_dates=True), None, FEED_URL, MOSCOW)
    assert [i.published for i in parsed.items] == [a.date.astimezone(UTC) for a in ARTICLES]


def test_a_koi8_feed_without_a_declared_charset() -> None:
    body = rss(ENTRIES).decode().replace(' encoding="utf-8"', "").encode("koi8-r")
    parsed = parse_feed(body, None, FEED_URL, MOSCOW)
    assert [item.title for item in parsed.items] == [a.title for a in ARTICLES]


def test_rss_teasers_atom_and_a_news_sitemap() -> None:
    teasers = parse_feed(rss(ENTRIES), None, FEED_URL, MOSCOW)
    assert [i.text for i in teasers.items] == ["", "", ""]
    assert teasers.items[0].summary == ARTICLES[0].lead[:120]
    full = parse_feed(rss(ENTRIES, full_text=True), None, FEED_URL, MOSCOW)
    assert full.items[0].text == ARTICLES[0].text
    feed = parse_feed(atom(ENTRIES), None, FEED_URL, MOSCOW)
    assert feed.kind == "atom"
    assert [(i.link, i.text) for i in feed.items] == [(u, a.text) for a, u in ENTRIES]
    sitemap = parse_feed(news_sitemap(ENTRIES), None, FEED_URL, MOSCOW)
    assert sitemap.kind == "sitemap"
    first = sitemap.items[0]
    assert (first.link, first.title, first.tags) == (
        ENTRIES[0][1],
        ARTICLES[0].title,
        ARTICLES[0].tags,
    )
    assert first.published == ARTICLES[0].date.astimezone(UTC)


def test_what_is_no_feed_says_what_it_is() -> None:
    cases = [
        (b"<!DOCTYPE html><html><body>Hello</body></html>", "html_not_feed"),
        (b'{"items": []}', "not_a_feed"),
        (
            b"<sitemapindex><sitemap><loc>http://x/1.xml</loc></sitemap></sitemapindex>",
            "sitemap_index",
        ),
        (news_sitemap(ENTRIES)[:-40], "malformed_xml"),
    ]
    for body, kind in cases:
        with pytest.raises(ParseError) as caught:
            parse_feed(body, None, FEED_URL, MOSCOW)
        assert caught.value.kind == kind
    assert sniff_kind(b"\xef\xbb\xbf<?xml version='1.0'?><!-- c --><rdf:RDF>") == "rss"


def test_malformed_rss_keeps_what_could_be_read() -> None:
    body = rss(ENTRIES).replace(b"</title>", b" & co</title>", 1)
    parsed = parse_feed(body, None, FEED_URL, MOSCOW)
    assert parsed.malformed.startswith(f"{FEED_URL}: malformed XML")
    assert [item.link for item in parsed.items] == [url for _, url in ENTRIES]
    truncated = parse_feed(
        rss(ENTRIES)[: rss(ENTRIES).rindex(b"<link>") + 12], None, FEED_URL, MOSCOW
    )
    assert truncated.malformed
    assert all(item.link or item.guid for item in truncated.items)


# -- pages ------------------------------------------------------------------------------------


def test_the_article_is_taken_from_the_boilerplate() -> None:
    article = ARTICLES[1]
    page = extract_page(decode(article_page(article, ENTRIES[1][1])), ENTRIES[1][1], MOSCOW)
    assert page.text == article.text
    assert not [phrase for phrase in BOILERPLATE if phrase in page.text]
    assert (page.title, page.author, page.topic) == (article.title, article.author, article.topic)
    assert page.canonical == ENTRIES[1][1]
    assert page.date == article.date.astimezone(UTC)


def test_a_koi8_page_without_metadata_dates_itself_in_its_text() -> None:
    article = ARTICLES[2]
    body = article_page(article, encoding="koi8-r", meta=False)
    page = extract_page(decode(body), "http://news.example.kz/x.html", MOSCOW)
    assert page.text == article.text
    assert page.date == article.date.astimezone(UTC)  # «02.03.2026 23:42» beside the title


def test_feed_html_becomes_paragraphs() -> None:
    assert html_to_text("<p>Один <b>два</b></p><script>x()</script><p>три</p>") == "Один два\n\nтри"
    assert html_to_text("строка один\nстрока два") == "строка один\n\nстрока два"
    assert html_to_text("абзац\nпродолжение\n\nвторой") == "абзац продолжение\n\nвторой"
    assert html_to_text("Цена &lt;100&gt; рублей") == "Цена &lt;100&gt; рублей"  # not HTML


# -- keys and ids ----------------------------------------------------------------------------


def test_ids_are_stable_valid_and_come_from_the_canonical_url() -> None:
    feed = Feed(FEED_URL, "S")
    item = Item(guid="12345", link="http://www.zakon.kz/news/1.html?utm_source=rss")
    keys = item_keys(item, feed)
    assert keys == [url_key("http://www.zakon.kz/news/1.html"), "guid:news.example.kz:12345"]
    name = article_id(keys[0], "www.zakon.kz")
    assert name == article_id(url_key("http://www.zakon.kz/news/1.html#top"), "www.zakon.kz")
    assert name.startswith("zakon.kz-") and id_problem(name) is None
    assert guid_key("http://x/a", feed) == url_key("http://x/a")
    assert content_key("коротко") is None
    text = ARTICLES[0].text
    assert content_key(text) == content_key(text.upper().replace("е", "ё"))


# -- the status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "обновлено только что"),
        (60, "обновлено 1 минуту назад"),
        (3 * 60, "обновлено 3 минуты назад"),
        (11 * 60, "обновлено 11 минут назад"),
        (21 * 60, "обновлено 21 минуту назад"),
        (90 * 60, "обновлено 1 час назад"),
        (3 * 3600, "обновлено 3 часа назад"),
        (2 * 86400, "обновлено 2 дня назад"),
    ],
)
def test_updated_text(seconds: int, text: str) -> None:
    assert state.updated_text(seconds) == text


def test_the_status_of_a_folder_never_followed(tmp_path: Path) -> None:
    status = state.status(tmp_path)
    assert status["feeds"] == []
    assert status["follower"]["running"] is False and status["follower"]["last_seen"] is None
