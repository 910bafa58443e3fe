"""The one SearchEngine of an application, shared by all requests and threads."""

from __future__ import annotations

from flask import Flask, current_app

from search.searching import SearchEngine

EXTENSION = "news_search_engine"


def attach_engine(app: Flask, engine: SearchEngine) -> None:
    app.extensions[EXTENSION] = engine


def get_engine() -> SearchEngine:
    """The engine of the current app: it keeps its searcher open and reopens it on change."""
    return current_app.extensions[EXTENSION]
