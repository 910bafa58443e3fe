"""The one SearchEngine of an application, shared by all requests and threads.

What the web returns of it goes through here, capped in size (``web.limits``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from search.searching import SearchEngine, SearchRequest
from web.faults import IndexGuard
from web.limits import bounded_document, bounded_result
from web.payload import ApiDocument, ApiSearchResult, document_payload, search_payload

EXTENSION = "news_search_engine"
GUARD = "news_search_index_guard"


def attach_engine(app: Flask, engine: SearchEngine, index_dir: Path) -> None:
    app.extensions[EXTENSION] = engine
    app.extensions[GUARD] = IndexGuard(index_dir)


def get_engine() -> SearchEngine:
    """The engine of the current app: it keeps its searcher open and reopens it on change."""
    return current_app.extensions[EXTENSION]


def get_guard() -> IndexGuard:
    """What the current app knows of the soundness of its index files."""
    return current_app.extensions[GUARD]


def search(request: SearchRequest) -> ApiSearchResult:
    """The engine's result for ``request``, its hits capped in size, with their HTML."""
    return search_payload(bounded_result(get_engine().search(request)))


def document(doc_id: str, q: str) -> ApiDocument | None:
    """The stored article (its words of ``q`` marked), its title capped; None if absent."""
    doc = get_engine().document(doc_id, q)
    return None if doc is None else document_payload(bounded_document(doc))
