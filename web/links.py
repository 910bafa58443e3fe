"""The page state held in the URL, and the links that change it.

The URL is the whole state of the search page: every link (facets, pages, sort,
corrections) is the current state with one change, built here so the templates and
the no-JavaScript page agree with what the script does.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import url_for

from search.rubrics import rubric_label
from search.searching import MAX_PAGE, SearchRequest
from web.params import DEFAULT_PER_PAGE, max_length

STATE_KEYS = (
    "q", "sort", "from", "to", "source", "topic", "tag", "per_page", "correct", "group", "page",
)  # fmt: skip
FILTER_KEYS = ("source", "topic", "tag", "from", "to")
#: The parameters of an article link that name the search it was found by, and its place.
POSITION_KEY = "pos"
SORT_LABELS = {
    "relevance": "по релевантности",
    "date": "сначала новые",
    "date_asc": "сначала старые",
}


@dataclass
class PageState:
    """The non-default URL parameters of a search page, in a stable order."""

    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_request(cls, request: SearchRequest) -> PageState:
        """The state of a valid request, normalized (dates as YYYY-MM-DD)."""
        values = {
            "q": request.q,
            "sort": request.sort if request.sort != "relevance" else None,
            "from": request.date_from.isoformat() if request.date_from else None,
            "to": request.date_to.isoformat() if request.date_to else None,
            "source": request.source,
            "topic": request.topic,
            "tag": request.tag,
            "per_page": str(request.per_page) if request.per_page != DEFAULT_PER_PAGE else None,
            "correct": None if request.correct else "0",
            "group": request.group if request.group != "duplicates" else None,
            "page": str(request.page) if request.page > 1 else None,
        }
        return cls({k: v for k, v in values.items() if v})

    @classmethod
    def of_args(cls, args: Mapping[str, str]) -> PageState:
        """The state of parameters that may be invalid: kept as typed, to show in the form,
        except values longer than any valid one, which are dropped rather than echoed."""
        return cls(
            {k: args[k] for k in STATE_KEYS if args.get(k) and len(args[k]) <= max_length(k)}
        )

    def get(self, key: str, default: str = "") -> str:
        return self.params.get(key, default)

    def url(self, **changes: object) -> str:
        """The URL of this state with ``changes`` (None removes a key); back to page 1
        unless the page is one of the changes."""
        params: dict[str, str | None] = dict(self.params)
        if "page" not in changes:
            params.pop("page", None)
        params.update({k: None if v is None else str(v) for k, v in changes.items()})
        if params.get("page") == "1":
            params.pop("page")
        ordered = {k: params[k] for k in STATE_KEYS if params.get(k) not in (None, "")}
        return url_for("pages.index", **ordered)

    def doc_url(self, doc_id: str, q: str, position: int) -> str:
        """The link to an article found at ``position`` (1-based) of this search by ``q``
        (the query that ran): the article page runs the search again for its neighbours."""
        params = {k: v for k, v in self.params.items() if k != "page"}
        params.update(q=q, **{POSITION_KEY: str(position)})
        return url_for("pages.document", doc_id=doc_id, **params)

    def page_of(self, position: int) -> str:
        """The results page that holds ``position``."""
        per_page = int(self.get("per_page") or DEFAULT_PER_PAGE)
        return self.url(page=min(MAX_PAGE, math.ceil(position / per_page)))

    # -- facets -------------------------------------------------------------------------

    def is_active(self, name: str, value: object) -> bool:
        if name == "year":
            return self.year() == value
        return self.get(name).casefold() == str(value).casefold()

    def toggle(self, name: str, value: object) -> str:
        """Filter by the facet value, or remove that filter when it is on."""
        if name == "year":
            if self.year() == value:
                return self.url(**{"from": None, "to": None})
            return self.url(**{"from": f"{value}-01-01", "to": f"{value}-12-31"})
        return self.url(**{name: None if self.is_active(name, value) else str(value)})

    def year(self) -> int | None:
        """The year when the date range is exactly one calendar year."""
        start, end = self.get("from"), self.get("to")
        if len(start) == 10 and start.endswith("-01-01") and end == f"{start[:4]}-12-31":
            return int(start[:4])
        return None

    def active_filters(self) -> list[tuple[str, str]]:
        """(label, URL without it) for each filter on, for the removable chips."""
        chips: list[tuple[str, str]] = []
        for key, label in (("source", "источник"), ("topic", "рубрика"), ("tag", "тег")):
            if self.get(key):
                value = self.get(key)
                shown = (rubric_label(value) or value) if key == "topic" else value
                chips.append((f"{label}: {shown}", self.url(**{key: None})))
        year = self.year()
        if year:
            chips.append((f"{year} год", self.url(**{"from": None, "to": None})))
        else:
            for key, label in (("from", "с"), ("to", "по")):
                if self.get(key):
                    chips.append((f"{label} {ru_date(self.get(key))}", self.url(**{key: None})))
        return chips

    def without_filters(self) -> str:
        return self.url(**{key: None for key in FILTER_KEYS})


def require_word(q: str, word: str) -> str:
    """``q`` with ``word`` made required (``+word``), for the link under a hit lacking it.

    The word is marked where it stands alone outside a "phrase"; else ``+word`` is added.
    """
    for found in re.finditer(rf"(?<![\w+\-!:]){re.escape(word)}(?!\w)", q):
        if q.count('"', 0, found.start()) % 2 == 0:
            return f"{q[: found.start()]}+{q[found.start() :]}"
    return f"{q.rstrip()} +{word}"


def page_numbers(page: int, total: int, per_page: int) -> list[int | None]:
    """Page links around the current one; None stands for a gap (…)."""
    last = last_page(total, per_page)
    wanted = {1, last, *range(page - 2, page + 3)}
    numbers = sorted(n for n in wanted if 1 <= n <= last)
    out: list[int | None] = []
    for number in numbers:
        if out and number - (out[-1] or 0) > 1:
            out.append(None)
        out.append(number)
    return out


def last_page(total: int, per_page: int) -> int:
    return max(1, min(MAX_PAGE, math.ceil(total / per_page)))


MONTHS = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip


def ru_date(day: dt.date | str | None) -> str:
    """``2026-03-02`` (a date, or its text) -> ``2 марта 2026``; other text as it is."""
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day)
        except ValueError:
            return day
    if day is None:
        return ""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def number(value: int) -> str:
    """``3267`` -> ``3 267``: thousands apart by a no-break space, as Russian text has them."""
    return f"{value:,}".replace(",", "\u00a0")


def plural(number: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for ``number``: 1 статья, 2 статьи, 5 статей."""
    n = abs(number) % 100
    if 11 <= n <= 14:
        return many
    if n % 10 == 1:
        return one
    if 2 <= n % 10 <= 4:
        return few
    return many


def safe_url(url: str | None) -> str | None:
    """An article's link only when it is http(s): never ``javascript:`` or ``data:``."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def host_of(url: str) -> str:
    """The site of a link, as people read it: ``zakon.kz``."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")
