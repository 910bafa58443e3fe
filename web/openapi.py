"""The OpenAPI 3.1 description of the JSON API.

The response schemas are generated from the types the endpoints answer with
(``web.payload``, extending ``search.results``) by msgspec, so they cannot drift from
the code; the parameters are declared from the same constants that bound them.
"""

from __future__ import annotations

import msgspec

from search.query import MAX_QUERY_LENGTH
from search.results import Health
from search.searching import MAX_PAGE, MAX_PER_PAGE, SORTS
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
]

#: The types the endpoints answer with; their schemas are generated from the types.
_TYPES = (ApiSearchResult, ApiDocument, Suggestions, Health, ErrorBody)


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
        },
        "components": {"schemas": _schemas()},
    }
