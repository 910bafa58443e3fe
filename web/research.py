"""Views of a search beyond its hits: attention over time, significant terms, export, feed.

``/api/timeline``, ``/api/terms``, ``/api/export`` and ``/feed`` take the parameters
of ``/api/search`` (``web.params``) and go through the same ``SearchEngine.match``, so
their totals are the search's. Bad parameters are 400s with the API's error body, on
``/feed`` too (it is read by programs). The search page gets the chart, the terms and
the feed link through ``research_view``, a template global.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from flask import Blueprint, Response, request, url_for
from werkzeug.datastructures import MultiDict

from search.export import FORMATS, MAX_ROWS, MEDIA_TYPES, export
from search.searching import SearchError
from search.terms import DEFAULT_TERMS, MAX_TERMS, SignificantTerms, significant_terms
from search.timeline import AUTO, MAX_QUERIES, Timeline, compared_matches, timeline
from web import api
from web import engine as web_engine
from web.atom import ENTRIES, MEDIA_TYPE, feed_xml
from web.chart import Chart, chart
from web.engine import get_engine
from web.links import PageState
from web.pages import page_title
from web.params import query_text, search_request, whole_number

bp = Blueprint("research", __name__)
bp.register_error_handler(SearchError, api.bad_request)

#: The parameters of a search that a feed or a chart link keeps (not its page or order).
FEED_KEYS = ("q", "from", "to", "source", "topic", "tag")
PAGE_TERMS = 12


@bp.get("/api/timeline")
def timeline_view() -> Response:
    args = request.args
    search = search_request(args)
    by = args.get("by", "")
    if by not in ("", "source"):
        raise SearchError("bad_by", "by must be source (or left out)")
    interval = args.get("interval") or "month"
    compare = _compare(args)
    matches = compared_matches(get_engine(), search, compare)
    return api.json_response(timeline(matches, [search.q, *compare], interval, by == "source"))


@bp.get("/api/terms")
def terms_view() -> Response:
    search = search_request(request.args)
    size = whole_number(request.args, "size", DEFAULT_TERMS, 1, MAX_TERMS, "bad_size")
    return api.json_response(significant_terms(get_engine().match(search), search.q, size))


@bp.get("/api/export")
def export_view() -> Response:
    """Every match as CSV or JSON Lines, streamed; the headers say how many, and whether
    the cap cut them (known before the first row)."""
    search = search_request(request.args)
    fmt = request.args.get("format") or "csv"
    if fmt not in FORMATS:
        raise SearchError("bad_format", f"format must be one of: {', '.join(FORMATS)}")
    limit = whole_number(request.args, "limit", MAX_ROWS, 1, MAX_ROWS, "bad_limit")
    rows = export(get_engine(), search, limit)
    headers = {
        "Content-Disposition": f'attachment; filename="news-export.{fmt}"',
        "X-Export-Total": str(rows.total),
        "X-Export-Rows": str(rows.rows),
        "X-Export-Truncated": "true" if rows.truncated else "false",
    }
    return Response(rows.encoded(fmt), mimetype=MEDIA_TYPES[fmt], headers=headers)


@bp.get("/feed")
def feed() -> Response:
    """The newest matching articles as an Atom feed."""
    search = replace(
        search_request(request.args), sort="date", page=1, per_page=ENTRIES, facets=False
    )
    params = _feed_params(request.args)
    built = get_engine().health().index_built_at
    body = feed_xml(
        page_title(search.q),
        url_for("research.feed", **params, _external=True),
        url_for("pages.index", **params, _external=True),
        web_engine.search(search).hits,
        lambda doc_id: url_for("pages.document", doc_id=doc_id, _external=True),
        dt.datetime.fromisoformat(built) if built else dt.datetime.now(dt.timezone.utc),
    )
    return Response(body, content_type=MEDIA_TYPE)


# -- the search page -------------------------------------------------------------------


@dataclass(frozen=True)
class ResearchView:
    """What the search page shows of a search besides its hits."""

    query: str  # the query searched (corrected, when it was)
    timeline: Timeline
    chart: Chart | None
    terms: SignificantTerms | None  # None while the last word is being typed
    compare: list[str]
    feed_url: str


@bp.app_template_global()
def research_view(state: PageState) -> ResearchView | None:
    """The chart (the finest interval within 40 bars, compared queries side by side),
    the significant terms and the feed link of the page's search; None without one.

    The terms wait while the last word is being typed (``typing=1``, the live search's
    requests between keystrokes): analysing their sample costs more than the search.
    """
    try:
        search = search_request(request.args)
        compare = _compare(request.args)[: MAX_QUERIES - 1]
    except SearchError:
        return None
    matches = compared_matches(get_engine(), search, compare)
    query = matches[0].corrected or search.q  # as searched: the terms refine it
    shown = timeline(matches, [query, *compare], AUTO)

    def link(query: str, start: dt.date, end: dt.date) -> str:
        return state.url(q=query, **{"from": start.isoformat(), "to": end.isoformat()})

    return ResearchView(
        query,
        shown,
        chart(shown, link),
        None if search.typing else significant_terms(matches[0], query, PAGE_TERMS),
        compare,
        url_for("research.feed", **_feed_params(request.args)),
    )


def feed_link(state: PageState) -> str | None:
    """The feed of the page's search, for the ``<link rel="alternate">`` of its head."""
    params = {k: state.get(k) for k in FEED_KEYS if state.get(k)}
    return url_for("research.feed", **params) if params.get("q", "").strip() else None


bp.add_app_template_global(feed_link)


def _compare(args: MultiDict) -> list[str]:
    """The ``compare`` queries given (blank ones left out), each checked as ``q`` is."""
    return [query_text({"q": value}) for value in args.getlist("compare") if value.strip()]


def _feed_params(args: Mapping[str, str]) -> dict[str, str]:
    return {key: args[key] for key in FEED_KEYS if args.get(key)}
