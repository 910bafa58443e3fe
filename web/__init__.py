"""The web front end: the search page and the JSON API over one SearchEngine.

``create_app(index_dir)`` builds the Flask application; ``web.server`` runs it under
gunicorn (``news-search serve``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from search.indexer import IndexMissing
from search.searching import SearchEngine
from web import api, links, pages
from web.engine import attach_engine

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

STATUS_TEXT = {
    400: "Неверный запрос",
    404: "Страница не найдена",
    405: "Метод не поддерживается",
    500: "Ошибка сервера",
    503: "Индекс недоступен",
}


def create_app(index_dir: Path, engine: SearchEngine | None = None) -> Flask:
    """The application serving the index in ``index_dir`` (one engine for all requests)."""
    app = Flask(__name__)
    app.config["INDEX_DIR"] = Path(index_dir)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    attach_engine(app, engine or SearchEngine(Path(index_dir), warm_suggestions=True))
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters.update(ru_date=links.ru_date)
    app.jinja_env.globals.update(
        plural=links.plural,
        page_numbers=links.page_numbers,
        last_page=links.last_page,
        sort_labels=links.SORT_LABELS,
        safe_url=links.safe_url,
        host_of=links.host_of,
    )
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(IndexMissing, _index_missing)
    app.register_error_handler(Exception, _unexpected)
    return app


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/api" or path == "/healthz"


def _headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if _is_api(request.path):
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    return response


def _error(status: int, code: str, message: str) -> tuple[Response | str, int]:
    """JSON under /api/ (and /healthz), an HTML page elsewhere."""
    if _is_api(request.path):
        return api.error_response(code, message, status)
    title = STATUS_TEXT.get(status, "Ошибка")
    return render_template("error.html", status=status, title=title, message=message), status


def _http_error(error: HTTPException) -> tuple[Response | str, int]:
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_")
    message = error.description or ""
    if status == 404 and not _is_api(request.path) and request.endpoint is None:
        message = "Такой страницы нет. Начните с поиска."
    return _error(status, code, message)


def _index_missing(error: IndexMissing) -> tuple[Response | str, int]:
    log.error("index missing: %s", error)
    return _error(503, "index_missing", "The index is not built yet.")


def _unexpected(error: Exception) -> tuple[Response | str, int]:
    """A bug: logged with its traceback; the client sees only a short message."""
    log.exception("unexpected error in %s %s", request.method, request.full_path)
    return _error(500, "internal_error", "Something went wrong on the server.")
