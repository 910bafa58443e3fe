"""The article in a page, and the text in a feed's HTML.

Pages: trafilatura finds the main text among the menus, teasers, comments and footers, and
reads the title, date, author, rubric, tags and canonical link from the page's metadata.
Feeds: ``content:encoded`` and often ``yandex:full-text`` hold HTML, which
:func:`html_to_text` turns into paragraphs; a feed's plain text keeps its lines as
paragraphs. Paragraphs are separated by a blank line, as in the seed articles.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import trafilatura

from search.follow.dates import parse_date

_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "tr", "table", "section", "article", "header", "footer", "figure", "figcaption", "pre", "hr",
}  # fmt: skip
_SKIPPED = {"script", "style", "noscript", "template", "iframe", "svg"}
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_DATE_TIME = re.compile(r"\b(\d{1,2}\.\d{1,2}\.\d{4},?\s+(?:в\s+)?\d{1,2}:\d{2})\b")
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_UTC = ZoneInfo("UTC")


@dataclass
class PageArticle:
    """What trafilatura found in a page; empty strings where it found nothing."""

    text: str
    title: str = ""
    date: dt.datetime | None = None  # UTC
    author: str = ""
    topic: str = ""
    tags: list[str] = field(default_factory=list)
    canonical: str = ""


def extract_page(html: str, url: str, zone: ZoneInfo) -> PageArticle:
    """The main text and the metadata of an article page (text '' when none was found)."""
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        deduplicate=False,
        date_extraction_params={
            "extensive_search": True,
            "original_date": True,
            "outputformat": _DATE_FORMAT,
        },
    )
    if doc is None:
        return PageArticle("")
    title = _clean_line(doc.title or "")
    return PageArticle(
        text=_paragraphs(doc.text or "", title),
        title=title,
        date=_page_date(doc.date, html, zone),
        author=_clean_line(doc.author or ""),
        topic=_clean_line((doc.categories or [""])[0]),
        tags=[tag.strip().lower() for tag in doc.tags or [] if tag.strip()],
        canonical=doc.url or "",
    )


def warm_up() -> None:
    """Load what extraction needs (in an extracting process, before the first page)."""
    extract_page("<html><body><p>Проверка.</p></body></html>", "http://localhost/", _UTC)


def _paragraphs(text: str, title: str) -> str:
    """trafilatura's lines as paragraphs, without the headline it repeats at the top."""
    lines = [_clean_line(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    return "\n\n".join(lines)


def _page_date(found: str | None, html: str, zone: ZoneInfo) -> dt.datetime | None:
    """The page's date; when trafilatura found the day alone, the time written beside that
    day in the page (``02.03.2026 23:42``) if there is one."""
    if not found:
        return None
    try:
        when = dt.datetime.strptime(found, _DATE_FORMAT)
    except ValueError:
        when = dt.datetime.fromisoformat(found)
    if when.tzinfo is not None:
        return when.astimezone(dt.timezone.utc)
    if when.time() == dt.time():
        for match in _DATE_TIME.finditer(html):
            candidate = parse_date(match[1], zone)
            if candidate and candidate.astimezone(zone).date() == when.date():
                return candidate
    return when.replace(tzinfo=zone).astimezone(dt.timezone.utc)


def _clean_line(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


# -- a feed's HTML --------------------------------------------------------------------------


class _TextParser(HTMLParser):
    """Text of an HTML fragment, a paragraph break at each block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data.replace("\n", " "))


def html_to_text(fragment: str) -> str:
    """The text of a feed's HTML (or plain text) as paragraphs separated by a blank line."""
    if not fragment:
        return ""
    if _TAG.search(fragment):
        parser = _TextParser()
        parser.feed(fragment)
        parser.close()
        blocks = "".join(parser.parts).split("\n")
    elif _BLANK_LINE.search(fragment):  # plain text, paragraphs apart, lines maybe wrapped
        blocks = [block.replace("\n", " ") for block in _BLANK_LINE.split(fragment)]
    else:
        blocks = fragment.splitlines()
    return "\n\n".join(line for line in map(_clean_line, blocks) if line)
