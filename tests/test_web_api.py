"""HTTP tests against a real ``news-search serve`` process over the web test corpus.

Covers every endpoint, every error case, the JSON contract (checked against the
OpenAPI schemas the server publishes), the security headers, escaping of an article
holding HTML, corrections, pagination, facets, and that no input yields a 500.
The application's failures without a server (an engine with a bug, a damaged index)
are in test_web_app.py; gunicorn's own errors and the worker processes in
test_web_server.py.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from search import indexer
from search.morphology import word_terms
from web.server import MAX_REQUEST_LINE

pytestmark = pytest.mark.slow  # every test here talks to a server process

TIMEOUT = 30
TALKS = quote("переговоры")  # as it appears in links
OPERATOR_PIECES = [
    '"', "'", "(", ")", "-", "+", "!", "*", "~", "~3", "|", " OR ", " AND ", " NOT ",
    "title:", "source:", "topic:", "tag:", "date:", "date:2018..2019", "..", ":", "\\",
    "переговоры", "gthtujdjhs", "нефть", "ё", "%", "&", "<script>", "\x00", "\u200b", " ",
]  # fmt: skip


def get(base: str, path: str, **params: object) -> requests.Response:
    return requests.get(base + path, params=params or None, timeout=TIMEOUT)


def search(base: str, **params: object) -> dict:
    response = get(base, "/api/search", **params)
    assert response.status_code == 200, response.text
    return response.json()


def all_ids(base: str, **params: object) -> list[str]:
    """The ids of every hit, walking all the pages."""
    ids: list[str] = []
    page = 1
    while True:
        result = search(base, page=page, per_page=7, **params)
        ids += [hit["id"] for hit in result["hits"]]
        if page * 7 >= result["total"]:
            return ids
        page += 1


def assert_api_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# --- the OpenAPI schemas, checked with jsonschema ---------------------------------------------


def conforms(value: object, schema: dict, spec: dict) -> None:
    """Assert that ``value`` matches ``schema`` of the OpenAPI 3.1 document ``spec`` (its
    schemas are JSON Schema 2020-12, their references into the document's components)."""
    validator = Draft202012Validator({**schema, "components": spec["components"]})
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)
    ]
    assert not errors, errors[:5]


@pytest.fixture(scope="module")
def spec(live_server: str) -> dict:
    response = get(live_server, "/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def response_schema(spec: dict, path: str, status: str = "200") -> dict:
    content = spec["paths"][path]["get"]["responses"][status]["content"]
    return content["application/json"]["schema"]


# --- health and OpenAPI --------------------------------------------------------------------


def test_healthz(live_server, web_corpus, spec):
    response = get(live_server, "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["status", "documents", "index_built_at", "follower_last_seen"]
    assert body["follower_last_seen"] is None  # no follower on this index
    assert body["status"] == "ok"
    assert body["documents"] == len(web_corpus.articles) + 1  # and the seed article
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", body["index_built_at"])
    conforms(body, response_schema(spec, "/healthz"), spec)


def test_openapi_document_is_structurally_valid(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert set(spec["paths"]) == {
        "/api/search", "/api/suggest", "/api/doc/{id}", "/api/feeds", "/healthz",
        "/api/openapi.json", "/api/timeline", "/api/terms", "/api/export", "/feed",
    }  # fmt: skip
    schemas = spec["components"]["schemas"]
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for path, item in spec["paths"].items():
        assert set(item) == {"get"}, path
        operation = item["get"]
        assert operation["operationId"] and operation["summary"]
        assert "200" in operation["responses"]
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status)
            assert response["description"]
        for parameter in operation.get("parameters", []):
            assert parameter["in"] in ("query", "path")
            assert parameter["name"] and "schema" in parameter
            if parameter["in"] == "path":
                assert parameter["required"] and "{" + parameter["name"] + "}" in path
    names = [p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]]
    for name in ("q", "page", "per_page", "sort", "from", "to", "source", "topic", "tag"):
        assert name in names


# --- /api/search: the contract ------------------------------------------------------------


def test_search_contract_field_by_field(live_server, spec):
    result = search(live_server, q="переговоры")
    assert list(result) == [
        "query", "corrected_query", "did_you_mean", "total", "total_full", "page", "per_page",
        "took_ms", "timed_out", "dropped", "hits", "facets", "collapsed",
    ]  # fmt: skip
    assert result["query"] == "переговоры"
    assert result["corrected_query"] is None and result["did_you_mean"] is None
    assert isinstance(result["total"], int) and result["total"] > 50
    assert result["total_full"] == result["total"] and result["timed_out"] is False
    assert result["dropped"] == []
    assert (result["page"], result["per_page"]) == (1, 10)
    assert isinstance(result["took_ms"], (int, float)) and result["took_ms"] >= 0
    assert len(result["hits"]) == 10
    for hit in result["hits"]:
        assert list(hit) == [
            "id", "title", "title_marks", "snippet", "snippet_marks", "url", "date", "source",
            "topic", "tags", "score", "missing", "duplicates", "story", "title_html",
            "snippet_html",
        ]  # fmt: skip
        for text, marks in (
            (hit["title"], hit["title_marks"]),
            (hit["snippet"], hit["snippet_marks"]),
        ):
            assert all(0 <= start < end <= len(text) for start, end in marks)
        assert hit["missing"] == []
        assert all(isinstance(hit[k], str) for k in ("id", "title", "title_html", "url"))
        assert isinstance(hit["snippet_html"], str) and isinstance(hit["source"], str)
        assert isinstance(hit["topic"], str)
        assert hit["date"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", hit["date"])
        assert isinstance(hit["tags"], list) and all(isinstance(t, str) for t in hit["tags"])
        assert isinstance(hit["score"], (int, float))
        assert "<mark>" in hit["title_html"] + hit["snippet_html"]
    assert list(result["facets"]) == ["source", "topic", "year", "undated"]
    assert result["facets"]["undated"] == 0  # every talks article has a date
    for name in ("source", "topic", "year"):
        values = result["facets"][name]
        assert values, name
        for item in values:
            assert set(item) == {"value", "count"}
            assert isinstance(item["count"], int) and item["count"] > 0
            assert isinstance(item["value"], int if name == "year" else str)
    conforms(result, response_schema(spec, "/api/search"), spec)


def test_search_json_is_utf8_not_escaped(live_server):
    response = get(live_server, "/api/search", q="нефть")
    assert response.headers["Content-Type"] == "application/json"
    assert "нефть" in response.content.decode("utf-8")


def test_per_page_up_to_100(live_server):
    result = search(live_server, q="переговоры", per_page=100)
    assert result["per_page"] == 100
    assert len(result["hits"]) == result["total"]


def test_query_of_1000_characters_is_accepted(live_server):
    q = "нефть " * 166 + " газ"
    assert len(q) == 1000
    result = search(live_server, q=q)
    assert result["total"] >= 2


# --- /api/search: errors ------------------------------------------------------------------

BAD_REQUESTS = [
    ({"q": ""}, "empty_query"),
    ({"q": "   "}, "empty_query"),
    ({}, "empty_query"),
    ({"q": "а" * 1001}, "query_too_long"),
    ({"q": "нефть", "page": "0"}, "bad_page"),
    ({"q": "нефть", "page": "abc"}, "bad_page"),
    ({"q": "нефть", "page": "-1"}, "bad_page"),
    ({"q": "нефть", "page": "1.5"}, "bad_page"),
    ({"q": "нефть", "page": "1001"}, "bad_page"),
    ({"q": "нефть", "page": "99999999999999999999"}, "bad_page"),
    ({"q": "нефть", "page": "٣"}, "bad_page"),
    ({"q": "нефть", "per_page": "101"}, "bad_per_page"),
    ({"q": "нефть", "per_page": "0"}, "bad_per_page"),
    ({"q": "нефть", "per_page": "ten"}, "bad_per_page"),
    ({"q": "нефть", "sort": "bogus"}, "bad_sort"),
    ({"q": "нефть", "sort": "DATE"}, "bad_sort"),
    ({"q": "нефть", "from": "2018-13-01"}, "bad_date"),
    ({"q": "нефть", "to": "yesterday"}, "bad_date"),
    ({"q": "нефть", "from": "2018-02-30"}, "bad_date"),
    ({"q": "нефть", "from": "2022-01-01", "to": "2021-01-01"}, "bad_date"),
    ({"q": "нефть", "from": "9" * 50}, "bad_date"),
]


@pytest.mark.parametrize(("params", "code"), BAD_REQUESTS, ids=[c for _, c in BAD_REQUESTS])
def test_search_bad_requests(live_server, spec, params, code):
    response = get(live_server, "/api/search", **params)
    assert_api_error(response, 400, code)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    conforms(response.json(), response_schema(spec, "/api/search", "400"), spec)


def test_unknown_api_path_is_json_404(live_server):
    for path in ("/api/nope", "/api/search/extra", "/api/", "/api/doc/"):
        assert_api_error(get(live_server, path), 404, "not_found")


def test_wrong_method_on_api_is_json_405(live_server):
    response = requests.post(live_server + "/api/search", data={"q": "нефть"}, timeout=TIMEOUT)
    assert_api_error(response, 405, "method_not_allowed")


# --- /api/search: behaviour ---------------------------------------------------------------


def test_layout_correction(live_server):
    result = search(live_server, q="gthtujdjhs")
    assert result["query"] == "gthtujdjhs"
    assert result["corrected_query"] == "переговоры"
    assert result["total"] > 50
    assert "<mark>" in result["hits"][0]["title_html"] + result["hits"][0]["snippet_html"]
    uncorrected = search(live_server, q="gthtujdjhs", correct="0")
    assert uncorrected["corrected_query"] is None
    assert uncorrected["total"] == 0


def test_did_you_mean_for_a_rare_misspelling(live_server):
    result = search(live_server, q="перговоры")
    assert result["corrected_query"] is None
    assert result["did_you_mean"] == "переговоры"
    assert [hit["id"] for hit in result["hits"]] == ["typo-2022"]


def test_pagination_pages_are_disjoint_and_complete(live_server):
    first = search(live_server, q="переговоры")
    second = search(live_server, q="переговоры", page=2)
    assert second["page"] == 2 and len(second["hits"]) == 10
    first_ids = {hit["id"] for hit in first["hits"]}
    second_ids = {hit["id"] for hit in second["hits"]}
    assert not first_ids & second_ids
    ids = all_ids(live_server, q="переговоры")
    assert len(ids) == len(set(ids)) == first["total"]


def test_page_past_the_end_is_empty(live_server):
    result = search(live_server, q="нефть", page=50)
    assert result["hits"] == [] and result["total"] > 0


@pytest.mark.parametrize("name", ["source", "topic"])
def test_facet_counts_match_filtered_totals(live_server, name):
    unfiltered = search(live_server, q="переговоры")
    facet = unfiltered["facets"][name]
    assert sum(item["count"] for item in facet) == unfiltered["total"]
    for item in facet:
        filtered = search(live_server, q="переговоры", **{name: item["value"]})
        assert filtered["total"] == item["count"], item
        assert {hit[name] for hit in filtered["hits"]} == {item["value"]}
        assert filtered["facets"][name] == [item]


def test_year_facet_counts_match_date_range_totals(live_server):
    unfiltered = search(live_server, q="переговоры")
    for item in unfiltered["facets"]["year"]:
        year = item["value"]
        filtered = search(live_server, q="переговоры", **{"from": year, "to": year})
        assert filtered["total"] == item["count"], item
        assert all(hit["date"].startswith(str(year)) for hit in filtered["hits"])


def test_filters_are_case_insensitive_and_combine(live_server):
    upper = search(live_server, q="переговоры", source="ТАСС", topic="Экономика")
    lower = search(live_server, q="переговоры", source="тасс", topic="экономика")
    assert upper["total"] == lower["total"] > 0
    assert {(h["source"], h["topic"]) for h in upper["hits"]} == {("ТАСС", "Экономика")}


def test_tag_filter(live_server):
    result = search(live_server, q="транспорт OR метро OR снегопад", tag="транспорт")
    assert result["total"] >= 2
    assert all("транспорт" in hit["tags"] for hit in result["hits"])


@pytest.mark.parametrize(("sort", "newest_first"), [("date", True), ("date_asc", False)])
def test_sort_by_date(live_server, sort, newest_first):
    result = search(live_server, q="переговоры", sort=sort, per_page=100)
    dates = [hit["date"] for hit in result["hits"] if hit["date"]]
    assert dates == sorted(dates, reverse=newest_first)
    assert len(dates) > 50


def test_date_range(live_server):
    result = search(live_server, q="переговоры", per_page=100, **{"from": "2020-03", "to": "2021"})
    assert result["total"] > 0
    assert all("2020-03-01" <= hit["date"] <= "2021-12-31" for hit in result["hits"])


# --- /api/suggest ----------------------------------------------------------------------------


def test_suggest_completes_the_last_word(live_server, spec):
    response = get(live_server, "/api/suggest", q="министр пере")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["query", "suggestions"]
    assert body["query"] == "министр пере"
    assert 1 <= len(body["suggestions"]) <= 10
    assert "министр переговоры" in body["suggestions"]
    assert all(s.startswith("министр пере") for s in body["suggestions"])
    conforms(body, response_schema(spec, "/api/suggest"), spec)


def test_suggest_offers_one_form_of_each_word(live_server):
    """Not "переговоры", "переговоров", "переговорах": the commonest form of each lemma."""
    suggestions = get(live_server, "/api/suggest", q="перего").json()["suggestions"]
    assert suggestions and suggestions[0] == "переговоры"
    lemmas = [word_terms(s.split()[-1])[0] for s in suggestions]
    assert len(lemmas) == len(set(lemmas)), suggestions
    assert "переговорах" not in suggestions and "переговоров" not in suggestions


def test_suggest_offers_tags_as_phrases(live_server):
    suggestions = get(live_server, "/api/suggest", q="Кибер").json()["suggestions"]
    assert suggestions[0] == "Кибербезопасность"  # a tag, the letters typed as typed


def test_suggest_limit_and_edges(live_server):
    assert len(get(live_server, "/api/suggest", q="п", limit=3).json()["suggestions"]) == 0
    assert len(get(live_server, "/api/suggest", q="по", limit=3).json()["suggestions"]) == 3
    assert get(live_server, "/api/suggest", q="").json() == {"query": "", "suggestions": []}
    assert get(live_server, "/api/suggest").json()["suggestions"] == []
    assert get(live_server, "/api/suggest", q="нефть ").json()["suggestions"] == []
    assert_api_error(get(live_server, "/api/suggest", q="а" * 1001), 400, "query_too_long")
    assert_api_error(get(live_server, "/api/suggest", q="по", limit=11), 400, "bad_limit")


def test_suggest_is_fast(live_server):
    for prefix in ("п", "пе", "пер", "пере", "перег"):
        response = get(live_server, "/api/suggest", q=prefix)
        assert response.status_code == 200
        assert response.elapsed.total_seconds() < 0.5


# --- /api/doc ------------------------------------------------------------------------------


def test_document(live_server, web_corpus, spec):
    response = get(live_server, "/api/doc/brent-2022")
    assert response.status_code == 200
    doc = response.json()
    article = web_corpus.article("brent-2022")
    assert doc["id"] == "brent-2022"
    assert doc["title"] == article["title"] and doc["text"] == article["text"]
    assert (doc["source"], doc["topic"], doc["date"]) == ("Интерфакс", "Экономика", "2022-02-14")
    assert doc["tags"] == ["нефть"]
    assert doc["text_marks"] == [] and "<mark>" not in doc["text_html"]  # no query: no marks
    conforms(doc, response_schema(spec, "/api/doc/{id}"), spec)


def test_document_marked_for_a_query(live_server):
    doc = get(live_server, "/api/doc/brent-2022", q="нефть").json()
    assert "<mark>нефти</mark>" in doc["text_html"]
    assert "<mark>нефть</mark>" in doc["text_html"]


def test_unknown_document_is_json_404(live_server, spec):
    response = get(live_server, "/api/doc/no-such-article")
    assert_api_error(response, 404, "not_found")
    conforms(response.json(), response_schema(spec, "/api/doc/{id}", "404"), spec)


def test_document_html_fields_are_escaped(live_server):
    doc = get(live_server, "/api/doc/xss-1", q="опасный").json()
    assert doc["title"].startswith("<script>")  # the raw field is the stored text
    for key in ("title_html", "summary_html", "text_html"):
        assert "<script" not in doc[key] and "<img" not in doc[key] and "<b>" not in doc[key]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc["title_html"]
    assert "&lt;img src=x onerror=alert(2)&gt;" in doc["text_html"]


# --- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/search?q=нефть", "/api/suggest?q=не", "/api/doc/brent-2022", "/healthz",
             "/api/openapi.json", "/api/doc/missing"],
)  # fmt: skip
def test_cors_allows_any_origin_on_the_api(live_server, path):
    response = requests.get(
        live_server + path, headers={"Origin": "https://example.org"}, timeout=TIMEOUT
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


def test_cors_preflight(live_server):
    response = requests.options(
        live_server + "/api/search",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "path", ["/", "/?q=нефть", "/results?q=нефть", "/doc/brent-2022", "/nothing", "/api/nope",
             "/api/search?q=нефть", "/static/app.js"],
)  # fmt: skip
def test_security_headers_everywhere(live_server, path):
    response = get(live_server, path)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_html_pages_are_not_cors_enabled(live_server):
    assert "Access-Control-Allow-Origin" not in get(live_server, "/").headers


# --- the HTML pages ------------------------------------------------------------------------


class PageParser(HTMLParser):
    """Collects what the CSP and the no-external-assets rules care about."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.assets: list[str] = []
        self.hrefs: list[str] = []
        self.inline_styles = 0
        self.handlers: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag in ("script", "img") and attributes.get("src"):
            self.assets.append(attributes["src"])
        if tag == "link" and attributes.get("href") and attributes.get("rel") != "alternate":
            self.assets.append(attributes["href"])
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"])
        if tag == "style" or "style" in attributes:
            self.inline_styles += 1
        self.handlers += [name for name in attributes if name.startswith("on")]

    def handle_data(self, data):
        self.text.append(data)


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


PAGES = ["/", "/?q=переговоры", "/?q=опасный", "/doc/xss-1?q=опасный", "/?q=zzzqqq", "/nothing"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_use_only_local_assets_and_no_inline_code(live_server, path):
    page = parse_page(get(live_server, path).text)
    scripts = [{"src": f"/static/{name}", "defer": None} for name in ("app.js", "chart.js")]
    assert page.scripts in (scripts[:1], scripts)  # chart.js: the search page's chart tooltips
    assert page.assets and all(src.startswith("/static/") for src in page.assets)
    assert page.inline_styles == 0
    assert page.handlers == []
    assert not [href for href in page.hrefs if href.lower().startswith("javascript:")]


def test_static_assets(live_server):
    script = get(live_server, "/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    style = get(live_server, "/static/style.css")
    assert style.status_code == 200 and style.headers["Content-Type"].startswith("text/css")
    assert "http" not in style.text and "@import" not in style.text
    assert "http:" not in script.text and "https:" not in script.text


def test_home_page_intro(live_server):
    response = get(live_server, "/")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ru">' in html
    assert 'name="viewport"' in html
    assert re.search(r'<input id="q" name="q" type="search" value=""\s+autofocus', html)
    assert "Поиск по архиву новостей" in html
    assert f'href="/?q={TALKS}"' in html


def test_results_page(live_server):
    response = get(live_server, "/", q="переговоры", source="ТАСС")
    assert response.status_code == 200
    html = response.text
    total = search(live_server, q="переговоры", source="ТАСС")["total"]
    assert total > 10
    assert "<title>«переговоры» — поиск по новостям</title>" in html
    assert re.search(rf"Найден[оы] {total} стат(ей|ьи)", html)
    assert html.count('class="hit"') == 10
    assert "<mark>" in html
    assert 'class="facet-link active" href="/?q=' in html  # the ТАСС facet, to remove it
    assert "источник: ТАСС" in html  # the chip
    assert f'rel="next" href="/?q={TALKS}' in html
    assert "autofocus" not in html  # only the empty home page takes the focus to the box


def test_results_page_2(live_server):
    html = get(live_server, "/", q="переговоры", page=2).text
    assert '<span class="pager-current" aria-current="page">2</span>' in html
    assert 'rel="prev"' in html and 'rel="next"' in html
    assert '<ol class="hit-list" start="11">' in html
    first_of_page_2 = search(live_server, q="переговоры", page=2)["hits"][0]["id"]
    assert f'href="/doc/{first_of_page_2}?q=' in html


def test_results_fragment_is_the_same_render(live_server):
    page = get(live_server, "/", q="нефть").text
    fragment = get(live_server, "/results", q="нефть")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="results-body"' in fragment.text
    assert re.sub(r"за [\d,]+ мс", "", fragment.text).strip() in re.sub(r"за [\d,]+ мс", "", page)


def test_correction_notice_in_html(live_server):
    html = get(live_server, "/", q="gthtujdjhs").text
    assert "Показаны результаты по запросу «" in html
    assert ">переговоры</a>»." in html
    assert "Искать вместо этого «" in html
    assert 'href="/?q=gthtujdjhs&amp;correct=0">gthtujdjhs</a>»' in html
    original = get(live_server, "/", q="gthtujdjhs", correct="0").text
    assert "Показаны результаты" not in original
    assert "ничего не нашлось" in original


def test_did_you_mean_in_html(live_server):
    html = get(live_server, "/", q="перговоры").text
    assert "Возможно, вы имели в виду «" in html
    assert f'class="did-you-mean" href="/?q={TALKS}">переговоры</a>' in html


def test_no_results_page_suggests_what_to_try(live_server):
    html = get(live_server, "/", q="zzzqqq", source="RT").text
    assert "По запросу «zzzqqq» ничего не нашлось" in html
    assert "Искать без фильтров" in html
    assert "Проверьте написание" in html


def test_bad_parameters_page_is_400_in_russian(live_server):
    response = get(live_server, "/", q="нефть", page="abc")
    assert response.status_code == 400
    assert "Номер страницы должен быть целым числом" in response.text
    assert 'value="нефть"' in response.text  # the form keeps the query
    too_long = get(live_server, "/", q="б" * 1001)
    assert too_long.status_code == 400 and "Запрос слишком длинный" in too_long.text


def test_xss_article_is_escaped_in_html(live_server):
    for path, params in (("/", {"q": "опасный"}), ("/doc/xss-1", {"q": "опасный"}),
                         ("/doc/xss-1", {})):  # fmt: skip
        response = get(live_server, path, **params)
        assert response.status_code == 200
        html = response.text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "javascript:alert" not in html
        text = "".join(parse_page(html).text)
        assert "<script>alert(1)</script>" in text
        if path.startswith("/doc"):
            assert "<img src=x onerror=alert(2)>" in text
            assert "<b>взлома</b>" in text


def test_query_text_is_escaped_everywhere(live_server):
    evil = '"><script>alert(5)</script><img src=x onerror=alert(6)>'
    for path in ("/", "/results", "/doc/brent-2022"):
        html = get(live_server, path, q=evil).text
        assert "<script>alert(5)" not in html and "<img src=x" not in html, path
        assert '"><' not in html, path
        if path != "/doc/brent-2022":  # the article page has the query only in a link
            assert "&lt;script&gt;alert(5)&lt;/script&gt;" in html, path


def test_document_page(live_server):
    response = get(live_server, "/doc/brent-2022", q="нефть")
    assert response.status_code == 200
    html = response.text
    assert "<mark>нефти</mark>" in html
    assert "14 февраля 2022" in html
    assert 'href="https://www.example.ru/news/brent-2022"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert f'class="tag" href="/?q={quote("нефть")}&amp;tag={quote("нефть")}"' in html
    bare = get(live_server, "/doc/brent-2022").text  # without a query: search the tag alone
    assert f'class="tag" href="/?q=tag:%22{quote("нефть")}%22"' in bare


def test_unknown_document_page_is_404(live_server):
    response = get(live_server, "/doc/no-such-article")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Такой статьи в индексе нет" in response.text


def test_unknown_page_is_html_404(live_server):
    response = get(live_server, "/no/such/page")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Страница не найдена" in response.text


# --- no input yields a 500 -------------------------------------------------------------------

queries = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(OPERATOR_PIECES) | st.text(max_size=5), max_size=12).map("".join),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=990, max_size=1010),
)


def request_line_bytes(path: str, **params: object) -> int:
    """The length of the request line ``requests`` sends for ``path`` and ``params``."""
    prepared = requests.Request("GET", "http://x" + path, params=params).prepare()
    return len(f"GET {prepared.path_url} HTTP/1.1")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=queries)
def test_random_queries_never_fail(live_server, q):
    response = get(live_server, "/api/search", q=q)
    body = response.json()
    if request_line_bytes("/api/search", q=q) > MAX_REQUEST_LINE:  # 1,000 emoji: 12 KB
        assert response.status_code == 414, (q, response.text)
        assert body["error"]["code"] == "request_line_too_long"
        return
    assert response.status_code in (200, 400), (q, response.text)
    if response.status_code == 400:
        assert body["error"]["code"] in ("empty_query", "query_too_long")
    else:
        assert body["query"] == q
    suggest = get(live_server, "/api/suggest", q=q)
    assert suggest.status_code in (200, 400), (q, suggest.text)


UNUSUAL_QUERIES = [
    "𗦉 нефть",  # a Tangut ideograph: a letter that unicodedata has no name for
    "🙂🙂 переговоры",
    "е\u0301лка",  # a combining accent
    "\u202eнефть",  # right-to-left override
    "石油 нефть",
    "\x00\x01 нефть",
    "нефть\ufffd",
    '"""',
    "(((((((((((нефть",
    "-нефть",
    "-",
    "*",
    "title:",
    "date:9999-99-99",
    "date:2018..2017",
    "нефть OR OR OR",
]


@pytest.mark.parametrize("q", UNUSUAL_QUERIES)
def test_unusual_queries_never_fail(live_server, q):
    for path in ("/api/search", "/", "/api/suggest"):
        response = get(live_server, path, q=q)
        assert response.status_code == 200, (path, q, response.text[:300])
    doc = get(live_server, "/api/doc/brent-2022", q=q)
    assert doc.status_code == 200, (q, doc.text[:300])


values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-5, 2000).map(str),
    st.sampled_from(["2018", "2018-02", "2018-02-30", "2021-12-31", "date", "date_asc"]),
)


@settings(max_examples=100, deadline=None)
@given(
    page=values, per_page=values, sort=values, date_from=values, date_to=values,
    source=values, correct=values,
)  # fmt: skip
def test_random_parameters_never_fail(
    live_server, page, per_page, sort, date_from, date_to, source, correct
):
    params = {
        "q": "переговоры", "page": page, "per_page": per_page, "sort": sort,
        "from": date_from, "to": date_to, "source": source, "correct": correct,
    }  # fmt: skip
    for path in ("/api/search", "/results"):
        response = get(live_server, path, **{k: v for k, v in params.items() if v is not None})
        assert response.status_code in (200, 400), (params, response.text[:500])


# --- the server process and failures -------------------------------------------------------


def test_serve_builds_the_seed_index_and_follows_updates(server_process, tmp_path):
    index_dir = tmp_path / "index"
    log = tmp_path / "server.log"
    with server_process(index_dir, log) as base:
        output = log.read_text()
        assert "No index in" in output and f"on {base}/" in output
        assert get(base, "/healthz").json()["documents"] == 1  # the seed article
        assert search(base, q="Казахстан")["total"] == 1

        article = {"id": "fresh-1", "title": "Свежая новость о дирижаблях", "text": "Текст."}
        source = tmp_path / "fresh.jsonl"
        source.write_text(json.dumps(article, ensure_ascii=False) + "\n", encoding="utf-8")
        indexer.update(index_dir, [source])
        deadline = time.monotonic() + 15
        # Each worker process reopens its searcher by itself, within a second of the update.
        while (
            search(base, q="дирижабли")["total"] == 0
            or get(base, "/healthz").json()["documents"] != 2
        ):
            assert time.monotonic() < deadline, "the server did not see the update"
            time.sleep(0.2)
        time.sleep(1.5)  # past every worker's refresh interval (one second)
        for _ in range(10):  # whichever worker answers
            assert search(base, q="дирижабли")["total"] == 1
