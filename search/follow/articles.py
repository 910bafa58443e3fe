"""From a feed item (and its page) to the article record, and the keys that tell it apart.

An item is known by every name it goes by: its GUID, its link, its page's canonical link
(all as ``url:`` keys once normalized, or ``guid:`` for a GUID that is no URL) and the hash
of its text. The same article reached through two feeds, or through two URLs, meets one of
its names already taken and is indexed once.

The article id is derived from the canonical URL (or, for an item without a link, the GUID),
so it is the same after any restart and an update of the same article replaces it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from urllib.parse import urlsplit

from search.follow.config import Feed
from search.follow.dates import to_record
from search.follow.extract import PageArticle
from search.follow.fetch import normalize_url
from search.follow.parse import Item

#: Texts shorter than this are not told apart by their hash: two short notes («Смотрите
#: видео») may well say the same words and still be different news.
MIN_HASHED_TEXT = 300
_WORD = re.compile(r"\w+")
_NOT_SLUG = re.compile(r"[^a-z0-9.-]+")


def url_key(url: str) -> str:
    """The key of a page, however its URL is spelled (see ``fetch.normalize_url``)."""
    return "url:" + normalize_url(url)


def guid_key(guid: str, feed: Feed) -> str:
    """A GUID that is a URL names the page; any other names an item of its site only."""
    if guid.lower().startswith(("http://", "https://")):
        return url_key(guid)
    return f"guid:{urlsplit(feed.url).hostname}:{guid}"


def item_keys(item: Item, feed: Feed) -> list[str]:
    """The keys an item is known by before its page is read, the item's own key first."""
    keys = [url_key(item.link)] if item.link else []
    if item.guid:
        keys.append(guid_key(item.guid, feed))
    return list(dict.fromkeys(keys))


def content_key(text: str) -> str | None:
    """The key of the text itself (words, case and ё folded), None for a short one."""
    if len(text) < MIN_HASHED_TEXT:
        return None
    words = " ".join(_WORD.findall(text.casefold().replace("ё", "е")))
    return "hash:" + hashlib.sha256(words.encode()).hexdigest()


def article_id(name: str, host: str) -> str:
    """``<host>-<16 hex digits>``: the host for people, the digits of ``name`` (a canonical
    URL key or a GUID key) to tell the articles apart."""
    slug = _NOT_SLUG.sub("-", host.lower().removeprefix("www.")).strip("-.") or "feed"
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def canonical_url(item: Item, page: PageArticle | None) -> str:
    """The page's own canonical link when it gives one, else the item's link."""
    if page and page.canonical.lower().startswith(("http://", "https://")):
        return page.canonical
    if item.link:
        return item.link
    return item.guid if item.guid.lower().startswith(("http://", "https://")) else ""


def build_record(item: Item, page: PageArticle | None, feed: Feed, seen: dt.datetime) -> dict:
    """The article record (a JSON Lines object for ``search.ingest``) of an item.

    The feed's own fields come first (they are what the publisher meant for syndication),
    then the page's; the feed's ``topic`` is the rubric of last resort. An item without any
    date is dated when it was first seen.
    """
    url = canonical_url(item, page)
    name = url_key(url) if url else guid_key(item.guid, feed)
    page = page or PageArticle("")
    when = item.published or page.date or seen
    return {
        "id": article_id(name, urlsplit(url or feed.url).hostname or ""),
        "title": item.title or page.title,
        "text": page.text or item.text,
        "summary": item.summary,
        "date": to_record(when),
        "url": url,
        "source": feed.source,
        "topic": item.topic or page.topic or feed.topic,
        "tags": list(dict.fromkeys(item.tags + page.tags)),
    }
