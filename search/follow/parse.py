"""Feeds and news sitemaps, to items.

RSS 2.0 (with the Yandex.News extensions: ``yandex:full-text``, and Yandex Turbo's
``turbo:content``), RSS 1.0 and Atom are read by feedparser; news sitemaps (``<urlset>``
with ``news:news``) by ElementTree. What a URL serves is sniffed first: an HTML page where a
feed was expected, or XML that is no feed, is an error of its own rather than a feed with no
items. The body is decoded here (feedparser would take an undeclared windows-1251 feed for
windows-1252) and handed on as UTF-8.

Malformed XML is reported, and whatever feedparser's lenient parser recovered from it is
still used: one unescaped ``&`` must not stop a feed for good. An item with neither a link
nor a GUID cannot be told from the next one and is dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser

from search.follow.dates import UTC, parse_date
from search.follow.extract import html_to_text
from search.follow.fetch import detect_charset

MAX_ITEMS = 1000  # a news sitemap holds at most 1,000 URLs; so many items a poll at most
_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_PROLOG = re.compile(rb"^(?:\s+|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S | re.I)
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_FULL_TEXT_KEYS = ("yandex_full-text", "turbo_content")
_ROOTS = {
    "rss": "rss",
    "rdf": "rss",
    "feed": "atom",
    "urlset": "sitemap",
    "sitemapindex": "sitemapindex",
    "html": "html",
}
_HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class ParseError(Exception):
    """A response that holds no feed; ``kind`` says what it holds instead."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Item:
    """One entry of a feed or URL of a sitemap, before its page is read."""

    guid: str
    link: str
    title: str = ""
    text: str = ""  # the full text, when the feed carries it
    summary: str = ""
    published: dt.datetime | None = None  # UTC
    author: str = ""
    topic: str = ""
    tags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The item as JSON, kept in the state until its page is read (across restarts)."""
        data = dict(self.__dict__)
        data["published"] = self.published.isoformat() if self.published else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Item:
        """The item :meth:`as_dict` kept."""
        published = data.get("published")
        return cls(
            **{**data, "published": dt.datetime.fromisoformat(published) if published else None}
        )


@dataclass
class Parsed:
    """What a feed held."""

    kind: str  # rss, atom or sitemap: what the URL served
    items: list[Item]
    malformed: str = ""  # why the XML was not well formed, when it was not


def sniff_kind(body: bytes) -> str:
    """rss, atom, sitemap, sitemapindex, html, or '' for anything else."""
    head = body[:4096].removeprefix(b"\xef\xbb\xbf")
    if head.lstrip()[:15].lower().startswith(b"<!doctype html"):
        return "html"
    head = head[_PROLOG.match(head).end() :]
    match = _ROOT.match(head)
    if not match:
        return ""
    name = match[1].decode("ascii", "replace").lower().rsplit(":", 1)[-1]
    return _ROOTS.get(name, "")


def parse_feed(body: bytes, charset: str | None, url: str, zone: ZoneInfo) -> Parsed:
    """The items of what ``url`` served; ParseError when it is no feed at all."""
    kind = sniff_kind(body)
    if kind == "html":
        raise ParseError("html_not_feed", f"{url} serves an HTML page, not a feed")
    if kind == "sitemapindex":
        raise ParseError("sitemap_index", f"{url} is a sitemap index: list its sitemaps instead")
    if not kind:
        raise ParseError("not_a_feed", f"{url} serves no RSS, Atom or sitemap")
    utf8 = _as_utf8(body, charset)
    if kind == "sitemap":
        return _sitemap(utf8, url, zone)
    return _feed(utf8, url, zone, kind)


def _as_utf8(body: bytes, charset: str | None) -> bytes:
    """The document re-encoded in UTF-8, its XML declaration saying so."""
    text = body.decode(detect_charset(body, charset), "replace").lstrip("\ufeff")
    return _XML_DECLARATION.sub('<?xml version="1.0" encoding="utf-8"?>', text, count=1).encode()


def _feed(utf8: bytes, url: str, zone: ZoneInfo, kind: str) -> Parsed:
    headers = {"content-type": "application/xml; charset=utf-8", "content-location": url}
    parsed = feedparser.parse(utf8, response_headers=headers, sanitize_html=True)
    malformed = ""
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), _HARMLESS_BOZO):
        malformed = f"{url}: malformed XML: {parsed.get('bozo_exception')}"
    items = [item for entry in parsed.entries if (item := _entry_item(entry, url, zone))]
    return Parsed(kind, items[:MAX_ITEMS], malformed)


def _entry_item(entry: dict, url: str, zone: ZoneInfo) -> Item | None:
    link = urljoin(url, entry.get("link") or "") if entry.get("link") else ""
    guid = (entry.get("id") or "").strip()
    if not link and not guid:
        return None
    text = next((entry[key] for key in _FULL_TEXT_KEYS if entry.get(key)), "")
    if not text and entry.get("content"):
        text = entry["content"][0].get("value", "")
    text, summary = html_to_text(text), html_to_text(entry.get("summary", ""))
    published = None
    for key in ("published", "updated", "created"):
        if published := parse_date(entry.get(key), zone):
            break
        if parsed_utc := entry.get(f"{key}_parsed"):
            published = dt.datetime(*parsed_utc[:6], tzinfo=UTC)
            break
    terms = [tag.get("term", "").strip() for tag in entry.get("tags", [])]
    terms = [term for term in terms if term]
    author = (entry.get("author_detail") or {}).get("name") or entry.get("author") or ""
    return Item(
        guid=guid,
        link=link,
        title=html_to_text(entry.get("title", "")).replace("\n\n", " "),
        text=text,
        summary="" if summary == text else summary,
        published=published,
        author=author.strip(),
        topic=terms[0] if terms else "",
        tags=[term.lower() for term in terms[1:]],
    )


def _sitemap(utf8: bytes, url: str, zone: ZoneInfo) -> Parsed:
    try:
        root = ET.fromstring(utf8)
    except ET.ParseError as error:
        raise ParseError("malformed_xml", f"{url}: malformed XML: {error}") from None
    items = []
    for entry in root.iter(f"{_SITEMAP}url"):
        loc = (entry.findtext(f"{_SITEMAP}loc") or "").strip()
        if not loc:
            continue
        news = entry.find(f"{_NEWS}news")
        published = entry.findtext(f"{_SITEMAP}lastmod")
        title, keywords = "", ""
        if news is not None:
            published = news.findtext(f"{_NEWS}publication_date") or published
            title = (news.findtext(f"{_NEWS}title") or "").strip()
            keywords = news.findtext(f"{_NEWS}keywords") or ""
        tags = [word.strip().lower() for word in keywords.split(",") if word.strip()]
        items.append(
            Item("", urljoin(url, loc), title, published=parse_date(published, zone), tags=tags)
        )
    items.sort(key=lambda item: item.published or dt.datetime.min.replace(tzinfo=UTC), reverse=True)
    return Parsed("sitemap", items[:MAX_ITEMS])
