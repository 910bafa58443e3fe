"""The JSON the API answers with: the search library's typed results, plus their HTML.

Each API type extends a result type of ``search.results`` with the HTML of its marked
fields (rendered by ``web.render``), so the API's fields are declared once, and the
OpenAPI document (``web.openapi``) is generated from these types.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import msgspec

from search.results import Document, Hit, SearchResult
from web.render import marked_html


@dataclass(frozen=True, kw_only=True)
class ApiHit(Hit):
    title_html: str  # the headline, HTML-escaped, with the matches in <mark>
    snippet_html: str  # the snippet, likewise


@dataclass(frozen=True, kw_only=True)
class ApiSearchResult(SearchResult):
    hits: list[ApiHit]


@dataclass(frozen=True, kw_only=True)
class ApiDocument(Document):
    title_html: str
    summary_html: str
    text_html: str


@dataclass(frozen=True)
class Suggestions:
    query: str
    suggestions: list[str]  # tags that go on from the text, then one form of each word


@dataclass(frozen=True)
class ErrorDetail:
    code: str  # bad_page, query_too_long, index_unavailable, ...
    message: str  # what was wrong, and how to put it right


@dataclass(frozen=True)
class ErrorBody:
    error: ErrorDetail


def search_payload(result: SearchResult) -> ApiSearchResult:
    values = _values(result, SearchResult)
    values["hits"] = [
        ApiHit(
            **_values(hit, Hit),
            title_html=str(marked_html(hit.title, hit.title_marks)),
            snippet_html=str(marked_html(hit.snippet, hit.snippet_marks)),
        )
        for hit in result.hits
    ]
    return ApiSearchResult(**values)


def document_payload(doc: Document) -> ApiDocument:
    return ApiDocument(
        **_values(doc, Document),
        title_html=str(marked_html(doc.title, doc.title_marks)),
        summary_html=str(marked_html(doc.summary, doc.summary_marks)),
        text_html=str(marked_html(doc.text, doc.text_marks)),
    )


def to_json(payload: Any) -> bytes:
    """UTF-8 JSON of a payload (dates as YYYY-MM-DD, fields in declaration order)."""
    return msgspec.json.encode(payload)


def to_builtins(payload: Any) -> Any:
    """A payload as dicts, lists and strings, as ``json`` takes them."""
    return msgspec.to_builtins(payload)


def _values(obj: Any, cls: type) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(cls)}
