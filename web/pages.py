"""The HTML pages: the search page, its results fragment (for the script) and articles.

The search page and the fragment render the same context from the same engine call
as /api/search, so the page without JavaScript, the live update and the API agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, abort, render_template, request, url_for

from search.query import MAX_QUERY_LENGTH
from search.searching import MAX_PAGE, MAX_PER_PAGE, SearchError
from web import article, engine
from web.links import PageState
from web.params import query_text, search_request

bp = Blueprint("pages", __name__)

EXAMPLES = (
    "переговоры",
    "министр иностранных дел",
    '"Ближний Восток"',
    "нефть -газ",
    "выборы OR референдум",
    "экономик*",
)

ERROR_TEXT = {
    "empty_query": "Введите, что искать.",
    "query_too_long": f"Запрос слишком длинный: можно не больше {MAX_QUERY_LENGTH} символов.",
    "bad_page": f"Номер страницы должен быть целым числом от 1 до {MAX_PAGE}.",
    "bad_per_page": f"Результатов на странице может быть от 1 до {MAX_PER_PAGE}.",
    "bad_sort": "Такого порядка сортировки нет.",
    "bad_group": "Такой группировки результатов нет.",
    "bad_date": "Дата указана неверно: нужен вид ГГГГ-ММ-ДД, и начальная дата "
    "не может быть позже конечной.",
}


#: How much of a query too long to run the page shows, to say which one it was.
ECHOED_CHARS = 60


def error_text(error: SearchError, args: Mapping[str, str] | None = None) -> str:
    """The Russian message of a bad request, for the page.

    A query too long is not echoed whole (nor kept in the form): its start is enough.
    """
    text = ERROR_TEXT.get(error.code, "Неверный параметр запроса.")
    q = (args or {}).get("q", "")
    if error.code == "query_too_long" and q:
        text += f" В запросе {len(q)}, он начинается так: «{q[:ECHOED_CHARS].strip()}…»."
    return text


def page_title(q: str) -> str:
    return f"«{q.strip()}» — поиск по новостям" if q.strip() else "Поиск по новостям"


def search_context(args: Mapping[str, str]) -> tuple[dict, int]:
    """What the page shows for these URL parameters, and the HTTP status."""
    q = args.get("q", "")
    if not q.strip() and len(q) <= MAX_QUERY_LENGTH:
        return {"state": PageState.of_args(args), "result": None, "error": None}, 200
    try:
        search = search_request(args)
        result = engine.search(search)
    except SearchError as error:
        message = error_text(error, args)
        return {"state": PageState.of_args(args), "result": None, "error": message}, 400
    return {"state": PageState.of_request(search), "result": result, "error": None}, 200


def _render(template: str) -> tuple[str, int]:
    context, status = search_context(request.args)
    return (
        render_template(
            template,
            examples=EXAMPLES,
            page_title=page_title(context["state"].get("q")),
            **context,
        ),
        status,
    )


@bp.get("/")
def index() -> tuple[str, int]:
    return _render("index.html")


@bp.get("/results")
def results() -> tuple[str, int]:
    """The results part of the search page alone, for the script's live update."""
    return _render("_results.html")


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str) -> str | tuple[str, int]:
    """An article, with the results before and after it when opened from a search."""
    try:
        q = query_text(request.args, required=False)
    except SearchError as error:
        return render_template(
            "error.html", status=400, title="Неверный запрос", message=error_text(error)
        ), 400
    doc = engine.document(doc_id, q)
    if doc is None:
        abort(404, description="Такой статьи в индексе нет: возможно, её удалили.")
    state = PageState.of_args(request.args)
    at = article.position(request.args) if q.strip() else None
    previous, following = article.neighbours(request.args, at) if at else (None, None)
    return render_template(
        "doc.html",
        doc=doc,
        q=q,
        state=state,
        back=_back_link(state, q, at),
        previous=previous,
        following=following,
    )


def _back_link(state: PageState, q: str, at: int | None) -> str:
    """Back to the results page the article was on, else to a search for ``q``."""
    if at:
        return state.page_of(at)
    return state.url() if q.strip() else url_for("pages.index")
