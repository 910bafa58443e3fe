"""The OpenAPI 3.1 description of the JSON API.

The response schemas are generated from the types the endpoints answer with
(``web.payload``, extending ``search.results``) by msgspec, so they cannot drift from
the code; the parameters are declared from the same constants that bound them.
"""

from __future__ import annotations

import msgspec

from search.export import FORMATS, MAX_ROWS, ExportRow
from search.query import MAX_QUERY_LENGTH
from search.results import Health
from search.searching import GROUPS, MAX_PAGE, MAX_PER_PAGE, SORTS
from search.terms import DEFAULT_TERMS, MAX_TERMS, SAMPLE_SIZE, SignificantTerms
from search.timeline import AUTO, CHART_BUCKETS, INTERVALS, MAX_BUCKETS, MAX_QUERIES, Timeline
from web.params import DEFAULT_PER_PAGE, MAX_SUGGESTIONS
from web.payload import ApiDocument, ApiSearchResult, ErrorBody, Suggestions


def _string_param(name: str, description: str, required: bool = False, **schema) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _int_param(name: str, description: str, default: int, maximum: int) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
    }


def _json(schema_name: str, description: str) -> dict:
    ref = {"$ref": f"#/components/schemas/{schema_name}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


_ERROR = _json("ErrorBody", "Bad request: the error code and message say which parameter and why")
_UNAVAILABLE = _json(
    "ErrorBody",
    "index_missing (not built yet) or index_unavailable (damaged; retry after Retry-After)",
)
_TOO_LONG = _json("ErrorBody", "The request line is over 8,190 bytes (request_line_too_long)")
_DATE = "YYYY, YYYY-MM or YYYY-MM-DD"

_SEARCH_PARAMETERS = [
    _string_param(
        "q",
        'The query: words, "phrases", -exclude, +require, a OR b, word*, title:/source:/'
        "topic:/tag: fields, date:2018-01..2018-03",
        required=True,
        minLength=1,
        maxLength=MAX_QUERY_LENGTH,
    ),
    _int_param("page", "Page number", 1, MAX_PAGE),
    _int_param("per_page", "Hits per page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    _string_param("sort", "Order of the hits", enum=list(SORTS), default="relevance"),
    _string_param("from", f"Earliest date, {_DATE}"),
    _string_param("to", f"Latest date, {_DATE} (the whole month or year)"),
    _string_param("source", "Only this source (case-insensitive)"),
    _string_param("topic", "Only this topic (case-insensitive)"),
    _string_param("tag", "Only articles with this tag"),
    _string_param(
        "correct", "0 turns off the layout and typo correction", enum=["0", "1"], default="1"
    ),
    _string_param(
        "typing",
        "1 while the last word is still being typed (no space after it): it is searched "
        "as a prefix and not corrected",
        enum=["0", "1", "true", "false"],
        default="0",
    ),
    _string_param(
        "group",
        "duplicates: copies of an article collapse into its best hit (hits[].duplicates); "
        "story: also the articles of one story, across sources (hits[].story); none: each "
        "article is a hit",
        enum=list(GROUPS),
        default="duplicates",
    ),
]

#: The types the endpoints answer with; their schemas are generated from the types.
_TYPES = (ApiSearchResult, ApiDocument, Suggestions, Health, ErrorBody)
_TYPES += (Timeline, SignificantTerms, ExportRow)


def _schemas() -> dict:
    """JSON Schemas of the response types, with the comments of their fields."""
    _, components = msgspec.json.schema_components(
        _TYPES, ref_template="#/components/schemas/{name}"
    )
    return components


def openapi_spec() -> dict:
    """The OpenAPI 3.1 document of the API.

    Its server is "/", the server that sent it: never the Host header of the request,
    which anyone can set. (Over 60 lines: one literal, an operation per endpoint, reads
    best whole.)
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "News search API",
            "version": "1.0.0",
            "description": "Full-text search over Russian news articles. "
            "All endpoints are GET, answer JSON and allow any origin (CORS).",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Search articles",
                    "parameters": _SEARCH_PARAMETERS,
                    "responses": {
                        "200": _json("ApiSearchResult", "One page of hits, with facets"),
                        "400": _ERROR,
                        "414": _TOO_LONG,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/api/suggest": {
                "get": {
                    "operationId": "suggest",
                    "summary": "Completions of q: tags (phrases), then one form of each word",
                    "parameters": [
                        _string_param("q", "The text typed so far", maxLength=MAX_QUERY_LENGTH),
                        _int_param(
                            "limit", "How many completions", MAX_SUGGESTIONS, MAX_SUGGESTIONS
                        ),
                    ],
                    "responses": {
                        "200": _json(
                            "Suggestions", "Up to limit completions: tags, then one form a word"
                        ),
                        "400": _ERROR,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/api/doc/{id}": {
                "get": {
                    "operationId": "document",
                    "summary": "One stored article",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _string_param(
                            "q", "Mark the words of this query", maxLength=MAX_QUERY_LENGTH
                        ),
                    ],
                    "responses": {
                        "200": _json("ApiDocument", "The article"),
                        "400": _ERROR,
                        "404": _json("ErrorBody", "No article with this id"),
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/api/feeds": {
                "get": {
                    "operationId": "feeds",
                    "summary": "The feeds `news-search follow` reads: last poll, items, errors",
                    "responses": {
                        "200": {
                            "description": "The follower (last seen, «обновлено N минут "
                            "назад») and each feed's polls, item counts and recent errors",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness and index status",
                    "responses": {
                        "200": _json("Health", "The index is open"),
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            **_research_paths(),
        },
        "components": {"schemas": _schemas()},
    }


def _research_paths() -> dict:
    """The views of a search beyond its hits (``web.research``): the search's parameters,
    and their own."""
    filters = [p for p in _SEARCH_PARAMETERS if p["name"] not in ("page", "per_page", "typing")]
    unsorted = [p for p in filters if p["name"] != "sort"]
    rows = {"type": "string", "description": "A whole number, as text"}

    def get(operation: str, summary: str, parameters: list, ok: dict) -> dict:
        responses = {"200": ok, "400": _ERROR, "414": _TOO_LONG, "503": _UNAVAILABLE}
        return {"get": {"operationId": operation, "summary": summary,
                        "parameters": parameters, "responses": responses}}  # fmt: skip

    return {
        "/api/timeline": get(
            "timeline",
            "Matching articles per day, week, month or year; undated ones counted apart",
            [
                *unsorted,
                _string_param(
                    "interval",
                    f"Bucket size; auto: the finest within {CHART_BUCKETS} buckets "
                    f"(at most {MAX_BUCKETS})",
                    enum=[*INTERVALS, AUTO],
                    default="month",
                ),
                _string_param("by", "source: each bucket's count per source", enum=["source"]),
                {
                    "name": "compare",
                    "in": "query",
                    "required": False,
                    "description": f"Up to {MAX_QUERIES - 1} more queries (repeat the "
                    "parameter), with the same filters: each is a member of `series`, "
                    "counted on the same buckets",
                    "schema": {"type": "array", "items": {"type": "string"}},
                    "style": "form",
                    "explode": True,
                },
            ],
            _json(
                "Timeline",
                "Buckets from the first to the last dated match (empty ones included); "
                "undated + the counts = total = /api/search's total",
            ),
        ),
        "/api/terms": get(
            "terms",
            "Lemmas over-represented in the matching articles (as significant_terms)",
            [*unsorted, _int_param("size", "How many terms", DEFAULT_TERMS, MAX_TERMS)],
            _json(
                "SignificantTerms",
                f"JLH-scored lemmas of the headlines and leads of the {SAMPLE_SIZE} best "
                "matches against the whole index",
            ),
        ),
        "/api/export": get(
            "export",
            "Every matching article, streamed, best first (or by sort)",
            [
                *filters,
                _string_param(
                    "format", "csv (with a header row) or jsonl", enum=list(FORMATS), default="csv"
                ),  # fmt: skip
                _int_param("limit", "At most this many articles", MAX_ROWS, MAX_ROWS),
            ],
            {
                "description": "CSV with the header id,date,source,topic,title,url,score, or "
                "one ExportRow a line. X-Export-Truncated says whether more matched than "
                f"were sent (the cap is {MAX_ROWS:,})",
                "headers": {
                    "X-Export-Total": {"description": "Matching articles", "schema": rows},
                    "X-Export-Rows": {"description": "Rows sent", "schema": rows},
                    "X-Export-Truncated": {"schema": {"type": "string", "enum": ["true", "false"]}},
                },
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/ExportRow"}},
                },
            },
        ),
        "/feed": get(
            "feed",
            "An Atom feed of the newest matching articles (for feed readers)",
            unsorted,
            {
                "description": "Atom 1.0, newest first, links to the article pages",
                "content": {"application/atom+xml": {"schema": {"type": "string"}}},
            },
        ),
    }
