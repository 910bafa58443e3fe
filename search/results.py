"""What a search returns: typed results that the CLI, the JSON API and the page render.

Matches are character offsets into plain text (``Marked``), never markup: the web
escapes and marks them in one place (``web.render``), the command line in bold.
The JSON API's document (``web/openapi.py``) is generated from these types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

Span = tuple[int, int]  # the (start, end) character offsets of a match


@dataclass(frozen=True)
class Marked:
    """A text and the ``(start, end)`` character offsets of the query's matches in it."""

    text: str
    marks: list[Span] = field(default_factory=list)


@dataclass(frozen=True)
class FacetCount:
    value: str | int
    count: int


@dataclass(frozen=True)
class Facets:
    source: list[FacetCount] = field(default_factory=list)
    topic: list[FacetCount] = field(default_factory=list)
    year: list[FacetCount] = field(default_factory=list)
    undated: int = 0  # matching articles without a date (the year facet leaves them out)


@dataclass(frozen=True)
class Record:
    """The stored fields of an article, as the index keeps them."""

    id: str
    title: str = ""
    summary: str = ""
    text: str = ""
    url: str = ""
    date: dt.date | None = None
    source: str = ""
    topic: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Copy:
    """An article shown under a hit instead of taking a result slot: a copy of it (the
    same or nearly the same text), or another article of its story."""

    id: str
    title: str
    source: str
    date: dt.date | None
    url: str


@dataclass(frozen=True)
class Hit:
    """One result: the article's fields, its headline and snippet with the matches as
    offsets into them, and its score."""

    id: str
    title: str
    title_marks: list[Span]
    snippet: str
    snippet_marks: list[Span]
    url: str
    date: dt.date | None
    source: str
    topic: str
    tags: list[str]
    score: float
    missing: list[str]  # query items the article lacks (empty when it has them all)
    duplicates: list[Copy] = field(default_factory=list)  # its copies among the leaders
    story: list[Copy] = field(default_factory=list)  # with group=story: the story's others


@dataclass(frozen=True)
class SearchResult:
    query: str
    corrected_query: str | None  # the query searched instead, when it was corrected
    did_you_mean: str | None  # a correction offered, not applied
    total: int  # matching articles
    total_full: int  # ...of which hold every query item
    page: int
    per_page: int
    took_ms: float
    timed_out: bool  # the scoring budget ran out: later query items were not scored
    dropped: list[str]  # query items over the caps, not searched
    hits: list[Hit]
    facets: Facets
    collapsed: int = 0  # of the leaders grouped, those shown under a better copy instead


@dataclass(frozen=True)
class Document(Record):
    """An article as the article page shows it, with the query's matches as offsets."""

    title_marks: list[Span] = field(default_factory=list)
    summary_marks: list[Span] = field(default_factory=list)
    text_marks: list[Span] = field(default_factory=list)
    duplicates: list[Copy] = field(default_factory=list)  # its copies (same or nearly)
    similar: list[Copy] = field(default_factory=list)  # articles like it, best first


@dataclass(frozen=True)
class Health:
    status: str  # "ok"
    documents: int  # live articles
    index_built_at: str | None  # when the live index was built (ISO 8601, UTC)
    follower_last_seen: str | None = None  # when `news-search follow` last ran (ISO 8601, UTC)
