"""The article record: what every input format is turned into before analysis."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

MAX_ID_CHARS = 256

#: The longest value kept of each text field, in characters; ingest cuts a longer one (with a
#: warning). The longest article of the shared corpus has 45,721 characters of text.
FIELD_LIMITS = {
    "title": 1_000,
    "summary": 10_000,
    "text": 1_000_000,
    "url": 2_000,
    "source": 200,
    "topic": 200,
    "tags": 200,  # each tag
}
MAX_TAGS = 100


@dataclass
class Article:
    """One news article, as read from any source format.

    ``origin`` says where the record came from (``FILE:LINE``) so that later
    stages can still report a problem against the input.
    """

    id: str
    title: str = ""
    text: str = ""
    summary: str = ""
    date: dt.datetime | None = None  # a bare date is midnight
    url: str = ""
    source: str = ""
    topic: str = ""
    tags: list[str] = field(default_factory=list)
    origin: str = ""


@dataclass
class IngestProblem:
    """A record that was skipped (or read only in part), reported as ``FILE:LINE: reason``."""

    path: str
    line: int
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def id_problem(article_id: str) -> str | None:
    """Why ``article_id`` cannot name an article, or None when it can.

    An article is opened at ``/doc/<id>``, so the id must survive as a URL path: printable
    characters only (no newline, tab, control or invisible format character, no lone
    surrogate), and no empty, ``.`` or ``..`` segment between slashes, which a browser, a proxy
    or the router would merge, resolve or redirect (``/a``, ``a/``, ``a//b``, ``a/../b``).
    Anything else, ``#``, ``?``, ``%`` or spaces included, is escaped in the link.
    """
    if len(article_id) > MAX_ID_CHARS:
        return f"id longer than {MAX_ID_CHARS} characters"
    if not article_id.isprintable():
        bad = next(char for char in article_id if not char.isprintable())
        return f"id {ascii(article_id[:60])} contains the unprintable character {ascii(bad)}"
    if any(segment in ("", ".", "..") for segment in article_id.split("/")):
        return f"id {article_id!r} cannot be a URL path (empty, '.' or '..' segment)"
    return None
