"""The JSON API: the engine's result dicts, as they are."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from search.searching import SearchError
from web import engine
from web.engine import get_engine
from web.limits import MAX_NAME_CHARS, clip
from web.openapi import openapi_spec
from web.params import MAX_SUGGESTIONS, query_text, search_request, whole_number

bp = Blueprint("api", __name__)


def error_response(code: str, message: str, status: int) -> tuple[Response, int]:
    """The body of every API error: ``{"error": {"code", "message"}}``."""
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.errorhandler(SearchError)
def bad_request(error: SearchError) -> tuple[Response, int]:
    return error_response(error.code, error.message, 400)


@bp.get("/api/search")
def search() -> Response:
    return jsonify(engine.search(search_request(request.args)))


@bp.get("/api/suggest")
def suggest() -> Response:
    q = query_text(request.args, required=False)
    limit = whole_number(request.args, "limit", MAX_SUGGESTIONS, 1, MAX_SUGGESTIONS, "bad_limit")
    return jsonify({"query": q, "suggestions": get_engine().suggest(q, limit)})


@bp.get("/api/doc/<path:doc_id>")
def document(doc_id: str) -> Response:
    doc = engine.document(doc_id, query_text(request.args, required=False))
    if doc is None:
        abort(404, description=f"no article with id {clip(doc_id, MAX_NAME_CHARS)!r}")
    return jsonify(doc)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_spec())


@bp.get("/healthz")
def health() -> Response:
    return jsonify(get_engine().health())
