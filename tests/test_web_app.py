"""The web application in process (Flask's test client) over small real indexes in tmp_path.

The fast tier of the web tests: rubric names, undated articles, partial matches, the
article page (paragraphs, the results before and after), size caps on what is echoed
and returned, the OpenAPI server, the typing flag, and a damaged index answered with
503 until it is rebuilt. Errors of an engine with a bug are clean 500s.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from conftest import build_index
from flask.testing import FlaskClient

from search import indexer
from search.indexer import IndexMissing
from search.rubrics import rubric_label
from search.searching import SearchEngine
from web import create_app
from web.engine import get_guard
from web.limits import MAX_TITLE_CHARS
from web.params import search_request

BODY = (
    "Итоги встречи\n"
    "Министры провели переговоры в Женеве. Стороны договорились продолжить работу.\n"
    " Участники переговоров в Женеве \n"
    "\n"
    "Во втором абзаце сказано\n, что переговоры продолжатся весной."  # a line cut at a link
)
ARTICLES = [
    {"id": "world-1", "title": "Переговоры министров в Женеве", "text": BODY,
     "date": "2018-01-10", "topic": "world", "source": "RT"},
    {"id": "ussr-1", "title": "Переговоры в Минске", "text": "Переговоры прошли в Минске.",
     "topic": "ussr", "source": "RT"},
    {"id": "slug-1", "title": "Переговоры о торговле", "text": "Переговоры о торговле.",
     "date": "2017-05-05", "topic": "brand_new_section", "source": "Независимая газета"},
    {"id": "ru-1", "title": "Переговоры в Кремле", "text": "Переговоры начались утром.",
     "date": "2016-03-03", "topic": "Политика", "source": "Независимая газета",
     "tags": ["ближний восток"]},
    {"id": "long-1", "title": "Рекордный заголовок " + "очень длинный заголовок " * 100,
     "text": "Переговоры о заголовках.", "date": "2016-04-04", "topic": "sport"},
]  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    root = build_index(tmp_path_factory.mktemp("web-app"), ARTICLES)
    return create_app(root).test_client()


def page(client: FlaskClient, path: str, status: int = 200, **params: str) -> str:
    response = client.get(path, query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


# --- rubrics and dates ---------------------------------------------------------------------


def test_rubrics_are_shown_by_their_russian_names(client):
    html = page(client, "/", q="переговоры")
    text = visible_text(html)
    assert "В мире" in text and "Бывший СССР" in text and "Спорт" in text
    assert "Политика" in text  # a name already: as it is
    for slug in ("world", "ussr", "sport", "brand_new_section"):
        assert not re.search(rf"\b{slug}\b", text), slug  # neither a label nor a raw slug
    assert "topic=world" in html  # the filter still uses the stored value
    filtered = page(client, "/", q="переговоры", topic="world")
    assert "рубрика: В мире" in visible_text(filtered)
    assert filtered.count('class="hit"') == 1


def test_rubric_label_rules():
    assert rubric_label("world") == "В мире"
    assert rubric_label("ng_energiya") == "НГ-Энергия"
    assert rubric_label("Ussr") == "Бывший СССР"
    assert rubric_label("Экономика") == "Экономика"
    assert rubric_label("brand_new_section") == ""


def test_undated_articles_are_said_to_be_undated(client):
    html = page(client, "/", q="минске")
    assert "дата неизвестна" in html
    result = client.get("/api/search", query_string={"q": "переговоры"}).get_json()
    assert result["facets"]["undated"] == 1
    html = page(client, "/", q="переговоры")
    facet = re.search(r'class="facet facet-year">.*?</section>', html, re.S)
    assert facet and re.search(r"без даты</span><span class=\"count\">1<", facet.group())


# --- partial matches -------------------------------------------------------------------------


def test_partial_matches_are_counted_and_labelled(client):
    result = client.get("/api/search", query_string={"q": "переговоры торговле"}).get_json()
    assert result["total"] > result["total_full"] == 1
    partial = [hit for hit in result["hits"] if hit["missing"]]
    assert partial and all(hit["missing"] == ["торговле"] for hit in partial)
    html = page(client, "/", q="переговоры торговле")
    assert f"все слова: {result['total_full']}" in html
    assert "Отсутствует:" in html and "<s>торговле</s>" in html
    assert f"q={quote_plus('переговоры +торговле')}&amp;correct=0" in html  # "Обязательно"


def test_words_over_the_limit_of_a_query_are_said_to_be_left_out(client):
    q = "переговоры " + " ".join(f"слово{n}" for n in range(80))
    result = client.get("/api/search", query_string={"q": q}).get_json()
    assert result["dropped"] and result["total"] > 0
    html = page(client, "/", q=q)
    notice = re.search(r'class="notice notice-dropped">([^<]*)</p>', html).group(1)
    assert notice.startswith("В запросе слишком много слов: не учтены «слово")


# --- the article page --------------------------------------------------------------------------


def test_article_text_is_paragraphs_with_a_subheading(client):
    html = page(client, "/doc/world-1", q="переговоры")
    text = re.search(r'<div class="doc-text">(.*?)</div>', html, re.S).group(1)
    assert '<h2 class="doc-subheading">Итоги встречи</h2>' in text
    assert '<p class="doc-note">Участники <mark>переговоров</mark> в Женеве</p>' in text
    paragraphs = re.findall(r"<p>(.*?)</p>", text, re.S)
    assert len(paragraphs) == 2
    assert "<mark>переговоры</mark>" in paragraphs[0]
    assert paragraphs[1].startswith("Во втором абзаце сказано, что <mark>переговоры</mark>")


def test_article_links_to_the_results_before_and_after_it(client):
    ids = [h["id"] for h in client.get("/api/search?q=переговоры").get_json()["hits"]]
    results = page(client, "/", q="переговоры")
    assert f'href="/doc/{ids[1]}?q=' in results and "pos=2" in results
    html = page(client, f"/doc/{ids[1]}", q="переговоры", pos="2")
    assert re.search(rf'class="doc-prev" rel="prev" href="/doc/{ids[0]}\?q=[^"]*pos=1"', html)
    assert re.search(rf'class="doc-next" rel="next" href="/doc/{ids[2]}\?q=[^"]*pos=3"', html)
    first = page(client, f"/doc/{ids[0]}", q="переговоры", pos="1")
    assert 'rel="prev"' not in first and 'rel="next"' in first
    last = page(client, f"/doc/{ids[-1]}", q="переговоры", pos=str(len(ids)))
    assert 'rel="prev"' in last and 'rel="next"' not in last
    source = "Независимая газета"
    hits = client.get("/api/search", query_string={"q": "переговоры", "source": source})
    first_id, second_id = [h["id"] for h in hits.get_json()["hits"]]
    filtered = page(client, f"/doc/{first_id}", q="переговоры", source=source, pos="1")
    assert re.search(rf'rel="next" href="/doc/{second_id}\?q=[^"]*source=[^"]*pos=2"', filtered)
    assert 'href="/?q=' in page(client, "/doc/ru-1", q="переговоры", pos="bogus")  # no neighbours


def test_article_back_link_returns_to_its_results_page(client):
    html = page(client, "/doc/world-1", q="переговоры", per_page="2", pos="3")
    back = re.search(r'<a href="([^"]+)" class="back-link">', html).group(1)
    assert back == f"/?q={quote('переговоры')}&amp;per_page=2&amp;page=2"  # 3rd of 2 a page


# --- sizes ------------------------------------------------------------------------------------


def test_a_query_too_long_is_not_echoed(client):
    q = "ж" * 1500
    for path in ("/", "/results"):
        html = page(client, path, 400, q=q)
        assert "Запрос слишком длинный" in html and "В запросе 1500" in html
        assert max(len(run) for run in re.findall("ж+", html)) <= 60
        assert len(html) < 20_000
    html = page(client, "/", 400, q="нефть", source="ы" * 5000)
    assert "ы" * 201 not in html
    assert 'value="нефть"' in html  # a query of valid length stays in the form


def test_titles_are_capped_in_what_the_web_returns(client):
    hit = client.get("/api/search?q=рекордный").get_json()["hits"][0]
    assert hit["id"] == "long-1"
    assert len(hit["title"]) <= MAX_TITLE_CHARS + 1 and hit["title"].endswith("…")
    assert hit["title_html"].count("<mark>") == hit["title_html"].count("</mark>") >= 1
    assert len(re.sub(r"</?mark>", "", hit["title_html"])) <= MAX_TITLE_CHARS + 1
    doc = client.get("/api/doc/long-1").get_json()
    assert len(doc["title"]) <= MAX_TITLE_CHARS + 1


def test_openapi_does_not_reflect_the_host_header(client):
    response = client.get("/api/openapi.json", headers={"Host": "evil.example:666"})
    assert response.get_json()["servers"] == [{"url": "/"}]
    assert b"evil" not in response.data


# --- the typing flag ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "typing"),
    [(None, False), ("1", True), ("true", True), ("TRUE", True), ("0", False), ("no", False)],
)
def test_typing_flag_is_parsed(value, typing):
    args = {"q": "перегово"} if value is None else {"q": "перегово", "typing": value}
    assert search_request(args).typing is typing


def test_typing_searches_the_last_word_as_a_prefix(client):
    typed = client.get("/api/search", query_string={"q": "перегово", "typing": "1"}).get_json()
    assert typed["total"] == len(ARTICLES) and typed["corrected_query"] is None
    html = page(client, "/results", q="перегово", typing="1")
    assert "typing" not in html  # the links are of the page's state, without the flag


# --- a damaged index ------------------------------------------------------------------------


def damage(root: Path) -> None:
    """Overwrite the middle third of every segment of the live index (as a disk might)."""
    for segment in indexer.live_dir(root).glob("*.seg"):
        size = segment.stat().st_size
        with segment.open("r+b") as file:
            file.seek(size // 3)
            file.write(bytes(range(256)) * (size // 3 // 256 + 1))


def test_a_damaged_index_is_503_until_it_is_rebuilt(tmp_path):
    root = build_index(tmp_path, ARTICLES)
    app = create_app(root)
    client = app.test_client()
    assert client.get("/api/search?q=переговоры").status_code == 200
    damage(root)
    with app.app_context():
        assert get_guard().check()  # what a worker does when it starts
    for path in ("/api/search?q=переговоры", "/healthz", "/api/suggest?q=пе"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.get_json()["error"]["code"] == "index_unavailable"
        assert response.headers["Retry-After"]
    html = client.get("/?q=переговоры")
    assert html.status_code == 503 and "Индекс повреждён" in html.get_data(as_text=True)
    assert client.get("/static/style.css").status_code == 200
    assert str(root) not in html.get_data(as_text=True)
    build_index(tmp_path, ARTICLES)  # a rebuild switches a new live index in
    assert client.get("/api/search?q=переговоры").status_code == 200


def test_an_index_damaged_under_a_request_is_503(tmp_path):
    root = build_index(tmp_path, ARTICLES)
    damage(root)
    # It has not opened the index yet (and warms no suggestions in the background).
    client = create_app(root, engine=SearchEngine(root)).test_client()
    response = client.get("/api/search?q=переговоры")
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "index_unavailable"


# --- an engine with a bug ---------------------------------------------------------------------


class BrokenEngine:
    """An engine with a bug: every call fails with a message that must not leak."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise RuntimeError("secret internal detail")

        return fail


class MissingIndexEngine:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise IndexMissing("no index in /secret/path")

        return fail


def test_unexpected_errors_are_clean_500s(tmp_path):
    app = create_app(tmp_path, engine=BrokenEngine())
    assert not app.debug
    client = app.test_client()
    for path in ("/api/search?q=x", "/api/suggest?q=xy", "/api/doc/a", "/healthz"):
        response = client.get(path)
        assert response.status_code == 500
        assert response.get_json() == {
            "error": {"code": "internal_error", "message": "Something went wrong on the server."}
        }
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    for path in ("/?q=x", "/doc/a"):
        response = client.get(path)
        assert response.status_code == 500
        html = response.get_data(as_text=True)
        assert "Ошибка сервера" in html
        assert "secret" not in html and "Traceback" not in html
        assert "Content-Security-Policy" in response.headers


def test_missing_index_is_503(tmp_path):
    client = create_app(tmp_path, engine=MissingIndexEngine()).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "index_missing"
    assert "/secret/path" not in response.get_data(as_text=True)
    assert client.get("/?q=x").status_code == 503
