"""The JSON API: the engine's typed results (``web.payload``) as JSON."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, abort, current_app, jsonify, request

from search.follow.state import status as feeds_status
from search.searching import SearchError
from web import engine
from web.engine import get_engine
from web.limits import MAX_NAME_CHARS, clip
from web.openapi import openapi_spec
from web.params import MAX_SUGGESTIONS, query_text, search_request, whole_number
from web.payload import ErrorBody, ErrorDetail, Suggestions, to_json

bp = Blueprint("api", __name__)


def error_response(code: str, message: str, status: int) -> tuple[Response, int]:
    """The body of every API error: ``{"error": {"code", "message"}}``."""
    return json_response(ErrorBody(ErrorDetail(code, message))), status


@bp.errorhandler(SearchError)
def bad_request(error: SearchError) -> tuple[Response, int]:
    return error_response(error.code, error.message, 400)


def json_response(payload) -> Response:
    return Response(to_json(payload), mimetype="application/json")


@bp.get("/api/search")
def search() -> Response:
    return json_response(engine.search(search_request(request.args)))


@bp.get("/api/suggest")
def suggest() -> Response:
    q = query_text(request.args, required=False)
    limit = whole_number(request.args, "limit", MAX_SUGGESTIONS, 1, MAX_SUGGESTIONS, "bad_limit")
    return json_response(Suggestions(q, get_engine().suggest(q, limit)))


@bp.get("/api/doc/<path:doc_id>")
def document(doc_id: str) -> Response:
    doc = engine.document(doc_id, query_text(request.args, required=False))
    if doc is None:
        abort(404, description=f"no article with id {clip(doc_id, MAX_NAME_CHARS)!r}")
    return json_response(doc)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_spec())


@bp.get("/healthz")
def health() -> Response:
    follower = feeds_status(current_app.config["INDEX_DIR"])["follower"]
    return json_response(replace(get_engine().health(), follower_last_seen=follower["last_seen"]))


@bp.get("/api/feeds")
def feeds() -> Response:
    """What ``news-search follow`` reads: each feed's last poll, items and recent errors."""
    return jsonify(feeds_status(current_app.config["INDEX_DIR"]))
