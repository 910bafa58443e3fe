"""An Atom feed (RFC 4287) of a search's newest hits, so a feed reader can follow a query.

Made with ``xml.etree`` rather than feedgen: the feed is a dozen elements, and the
standard library escapes text and needs no lxml. Every link is absolute (feed readers
resolve nothing), to the article page here, with the original as a ``related`` link.
An article without a date has no time of its own: it is dated when the index was
built, so it never looks newer than the index.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from xml.etree import ElementTree as ET

from search.results import Hit
from search.rubrics import rubric_label
from web.links import safe_url

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
ENTRIES = 20
GENERATOR = "news-search"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def feed_xml(
    title: str,
    feed_url: str,
    page_url: str,
    hits: list[Hit],
    article_url: Callable[[str], str],
    built_at: dt.datetime,
) -> bytes:
    """The feed of ``hits`` (newest first), as UTF-8 XML."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(_tag("feed"))
    stamps = [_stamp(hit.date, built_at) for hit in hits]
    _text(feed, "id", feed_url)
    _text(feed, "title", title)
    _text(feed, "updated", max(stamps, default=_iso(built_at)))
    _link(feed, feed_url, "self", "application/atom+xml")
    _link(feed, page_url, "alternate", "text/html")
    _text(ET.SubElement(feed, _tag("author")), "name", GENERATOR)
    _text(feed, "generator", GENERATOR)
    for hit, stamp in zip(hits, stamps, strict=True):
        entry = ET.SubElement(feed, _tag("entry"))
        url = article_url(hit.id)
        _text(entry, "id", url)
        _text(entry, "title", hit.title or "Без заголовка")
        _text(entry, "updated", stamp)
        _link(entry, url, "alternate", "text/html")
        original = safe_url(hit.url)
        if original:
            _link(entry, original, "related", "text/html")
        if hit.source:
            _text(ET.SubElement(entry, _tag("author")), "name", hit.source)
        if hit.topic:
            category = ET.SubElement(entry, _tag("category"), term=hit.topic)
            label = rubric_label(hit.topic)
            if label:
                category.set("label", label)
        if hit.snippet:
            _text(entry, "summary", hit.snippet)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _tag(name: str) -> str:
    return f"{{{ATOM}}}{name}"


def _text(parent: ET.Element, name: str, value: str) -> None:
    """A child element holding ``value``, less the control characters XML cannot hold."""
    ET.SubElement(parent, _tag(name)).text = _NOT_XML.sub("", value)


def _link(parent: ET.Element, href: str, rel: str, media_type: str) -> None:
    ET.SubElement(parent, _tag("link"), href=href, rel=rel, type=media_type)


def _stamp(day: dt.date | None, built_at: dt.datetime) -> str:
    """An entry's time: its day at midnight UTC, else when the index was built."""
    return _iso(dt.datetime.combine(day, dt.time(), dt.timezone.utc)) if day else _iso(built_at)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
