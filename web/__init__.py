"""The web front end: the search page and the JSON API over one SearchEngine.

``create_app(index_dir)`` builds the Flask application; ``web.server`` runs it under
gunicorn (``news-search serve``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from search.follow.state import status as feeds_status
from search.layout import IndexMissing
from search.rubrics import rubric_label
from search.searching import SearchEngine
from web import api, article, links, pages, research
from web.engine import attach_engine, get_guard

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
#: How long a client is asked to wait before it asks again while the index is unavailable.
RETRY_AFTER_S = 5
UNAVAILABLE = (
    "The index is damaged or cannot be read; searching resumes once it is rebuilt "
    "(news-search index build).",
    "Индекс повреждён или не читается. Поиск заработает снова, когда индекс пересоберут.",
)


def create_app(index_dir: Path, engine: SearchEngine | None = None) -> Flask:
    """The application serving the index in ``index_dir`` (one engine for all requests)."""
    app = Flask(__name__)
    app.config["INDEX_DIR"] = Path(index_dir)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    attach_engine(app, engine or SearchEngine(Path(index_dir)), index_dir)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(research.bp)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters.update(ru_date=links.ru_date, number=links.number)
    app.jinja_env.globals.update(
        feeds_updated=lambda: feeds_status(app.config["INDEX_DIR"])["follower"]["updated_text"],
        rubric_label=rubric_label,
        paragraphs=article.paragraphs,
        plural=links.plural,
        page_numbers=links.page_numbers,
        last_page=links.last_page,
        require_word=links.require_word,
        sort_labels=links.SORT_LABELS,
        safe_url=links.safe_url,
        host_of=links.host_of,
    )
    app.before_request(_refuse_while_damaged)
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


def _error(
    status: int, code: str, message: str, page_message: str | None = None
) -> tuple[Response, int]:
    """JSON under /api/ (and /healthz), an HTML page (``page_message``, in Russian) elsewhere."""
    if _is_api(request.path):
        response, status = api.error_response(code, message, status)
    else:
        title = STATUS_TEXT.get(status, "Ошибка")
        html = render_template(
            "error.html", status=status, title=title, message=page_message or message
        )
        response = Response(html, status, mimetype="text/html")
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response, status


def _refuse_while_damaged() -> tuple[Response, int] | None:
    """503 for every request while the index files are known to be damaged."""
    if request.endpoint != "static" and get_guard().unavailable():
        return _error(503, "index_unavailable", *UNAVAILABLE)
    return None


def _http_error(error: HTTPException) -> tuple[Response, int]:
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_")
    message = error.description or ""
    if status == 404 and not _is_api(request.path) and request.endpoint is None:
        message = "Такой страницы нет. Начните с поиска."
    return _error(status, code, message)


def _index_missing(error: IndexMissing) -> tuple[Response, int]:
    log.error("index missing: %s", error)
    return _error(503, "index_missing", "The index is not built yet.", "Индекс ещё не построен.")


def _unexpected(error: Exception) -> tuple[Response, int]:
    """A damaged index (503) or a bug (500, logged with its traceback); either way the
    client sees only a short message."""
    if get_guard().is_index_fault(error):
        log.error("index unreadable in %s %s: %r", request.method, request.path, error)
        return _error(503, "index_unavailable", *UNAVAILABLE)
    log.exception("unexpected error in %s %s", request.method, request.full_path)
    return _error(500, "internal_error", "Something went wrong on the server.")
