"""The OpenAPI 3 description of the JSON API, written by hand to match web/api.py."""

from __future__ import annotations

from search.query import MAX_QUERY_LENGTH
from search.searching import MAX_PAGE, MAX_PER_PAGE, SORTS
from web.limits import MAX_TITLE_CHARS
from web.params import DEFAULT_PER_PAGE, MAX_SUGGESTIONS


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


_ERROR = _json("Error", "Bad request: the error code and message say which parameter and why")
_UNAVAILABLE = _json(
    "Error", "index_missing (not built yet) or index_unavailable (damaged; retry after Retry-After)"
)
_TOO_LONG = _json("Error", "The request line is over 8,190 bytes (request_line_too_long)")
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

_SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "Hit": {
        "type": "object",
        "required": [
            "id", "title", "title_html", "snippet_html", "url", "date", "source", "topic",
            "tags", "score",
        ],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string", "description": f"At most {MAX_TITLE_CHARS} characters"},
            "title_html": {
                "type": "string",
                "description": "The title, HTML-escaped, query words in <mark>",
            },
            "snippet_html": {
                "type": "string",
                "description": "A passage of the text, HTML-escaped, query words in <mark>",
            },
            "url": {"type": "string"},
            "date": {"type": "string", "format": "date", "nullable": True},
            "source": {"type": "string"},
            "topic": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number"},
            "missing": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Query words the article lacks, as typed (empty: it has all)",
            },
        },
    },
    "FacetValue": {
        "type": "object",
        "required": ["value", "count"],
        "properties": {
            "value": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "count": {"type": "integer"},
        },
    },
    "SearchResult": {
        "type": "object",
        "required": [
            "query", "corrected_query", "did_you_mean", "total", "page", "per_page",
            "took_ms", "hits", "facets",
        ],
        "properties": {
            "query": {"type": "string"},
            "corrected_query": {
                "type": "string",
                "nullable": True,
                "description": "The query that was run instead (wrong layout, typos)",
            },
            "did_you_mean": {
                "type": "string",
                "nullable": True,
                "description": "A likelier query, offered but not run",
            },
            "total": {"type": "integer"},
            "total_full": {"type": "integer", "description": "Articles holding every word"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "took_ms": {"type": "number"},
            "timed_out": {
                "type": "boolean",
                "description": "The query was too costly: its last words were not scored",
            },
            "dropped": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Parts of a query of too many words that were not searched",
            },
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {
                "type": "object",
                "required": ["source", "topic", "year"],
                "properties": {
                    **{
                        name: {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/FacetValue"},
                        }
                        for name in ("source", "topic", "year")
                    },
                    "undated": {"type": "integer", "description": "Matches without a date"},
                },
            },
        },
    },
    "Suggestions": {
        "type": "object",
        "required": ["query", "suggestions"],
        "properties": {
            "query": {"type": "string"},
            "suggestions": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Document": {
        "type": "object",
        "required": [
            "id", "title", "summary", "text", "url", "date", "source", "topic", "tags",
        ],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "text": {"type": "string"},
            "url": {"type": "string"},
            "date": {"type": "string", "format": "date", "nullable": True},
            "source": {"type": "string"},
            "topic": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "title_html": {"type": "string", "description": "Only with q: words marked"},
            "summary_html": {"type": "string", "description": "Only with q: words marked"},
            "text_html": {"type": "string", "description": "Only with q: words marked"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "documents", "index_built_at"],
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "documents": {"type": "integer"},
            "index_built_at": {"type": "string", "format": "date-time", "nullable": True},
        },
    },
}  # fmt: skip


def openapi_spec() -> dict:
    """The OpenAPI 3.0 document of the API.

    Its server is "/", the server that sent it: never the Host header of the request,
    which anyone can set.
    """
    return {
        "openapi": "3.0.3",
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
                        "200": _json("SearchResult", "One page of hits, with facets"),
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
                        "200": _json("Document", "The article"),
                        "400": _ERROR,
                        "404": _json("Error", "No article with this id"),
                        "503": _UNAVAILABLE,
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
        "components": {"schemas": _SCHEMAS},
    }
