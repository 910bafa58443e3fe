"""/api/timeline, /api/terms, /api/export, /feed and the chart on the page, in process
(Flask's test client) over the web test corpus: the JSON contracts (checked against the
OpenAPI schemas), totals that agree with /api/search, bad parameters as 400s, the CSV and
JSON Lines streams, and the Atom feed as feedparser reads it."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from urllib.parse import parse_qs, unquote_plus, urlsplit

import feedparser
import pytest
import requests
from flask.testing import FlaskClient
from test_web_api import conforms

from web import create_app


@pytest.fixture(scope="module")
def client(web_corpus) -> FlaskClient:
    return create_app(web_corpus.root).test_client()


@pytest.fixture(scope="module")
def spec(client) -> dict:
    return client.get("/api/openapi.json").get_json()


def api(client: FlaskClient, path: str, **params) -> dict:
    response = client.get(path, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    return response.get_json()


def schema_of(spec: dict, path: str) -> dict:
    return spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


# --- /api/timeline ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"q": "переговоры"}, {"q": "переговоры", "source": "RT", "from": "2020"}, {"q": "волонтёры"}],
)
def test_timeline_contract_and_totals(client, spec, params):
    body = api(client, "/api/timeline", **params, by="source")
    conforms(body, schema_of(spec, "/api/timeline"), spec)
    assert list(body) == ["query", "interval", "buckets", "undated", "total", "series"]
    assert body["total"] == api(client, "/api/search", **params)["total"]
    assert body["undated"] + sum(b["count"] for b in body["buckets"]) == body["total"]
    for bucket in body["buckets"]:
        assert re.fullmatch(r"\d{4}-\d\d-01", bucket["start"])
        assert sum(bucket["by_source"].values()) == bucket["count"]


def test_timeline_compares_up_to_three_queries(client, spec):
    response = client.get("/api/timeline?q=переговоры&compare=нефть&compare=футбол&interval=year")
    body = response.get_json()
    conforms(body, schema_of(spec, "/api/timeline"), spec)
    assert [s["query"] for s in body["series"]] == ["нефть", "футбол"]
    starts = [b["start"] for b in body["buckets"]]
    for series in body["series"]:
        assert [b["start"] for b in series["buckets"]] == starts
        assert series["total"] == api(client, "/api/search", q=series["query"])["total"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("q=переговоры&interval=hour", "bad_interval"),
        ("q=переговоры&by=topic", "bad_by"),
        ("q=переговоры&compare=a&compare=b&compare=c", "too_many_queries"),
        ("q=", "empty_query"),
        ("q=переговоры&from=вчера", "bad_date"),
        ("q=переговоры&compare=" + "ы" * 1001, "query_too_long"),
    ],
)
def test_timeline_bad_parameters(client, query, code):
    assert_error(client.get("/api/timeline?" + query), code)


def assert_error(response, code: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code


# --- /api/terms ------------------------------------------------------------------------


def test_terms_contract(client, spec):
    body = api(client, "/api/terms", q="переговоры", size=5)
    conforms(body, schema_of(spec, "/api/terms"), spec)
    assert list(body) == ["query", "total", "sample", "documents", "terms"]
    assert len(body["terms"]) == 5
    assert set(body["terms"][0]) == {"lemma", "count", "background", "score"}
    assert body["total"] == api(client, "/api/search", q="переговоры")["total"]


@pytest.mark.parametrize(
    ("size", "code"), [("0", "bad_size"), ("101", "bad_size"), ("x", "bad_size")]
)
def test_terms_bad_size(client, size, code):
    assert_error(client.get("/api/terms", query_string={"q": "переговоры", "size": size}), code)


# --- /api/export -----------------------------------------------------------------------


def test_export_csv_streams_every_match(client):
    response = client.get("/api/export", query_string={"q": "переговоры"})
    assert response.status_code == 200 and response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "date", "source", "topic", "title", "url", "score"]
    total = api(client, "/api/search", q="переговоры")["total"]
    assert len(rows) - 1 == total == int(response.headers["X-Export-Total"])
    assert response.headers["X-Export-Truncated"] == "false"
    first_page = [h["id"] for h in api(client, "/api/search", q="переговоры")["hits"]]
    assert [row[0] for row in rows[1:11]] == first_page


def test_export_jsonl_conforms_and_says_when_cut(client, spec):
    response = client.get(
        "/api/export", query_string={"q": "переговоры", "format": "jsonl", "limit": 3}
    )
    assert response.content_type == "application/x-ndjson"
    rows = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(rows) == 3 == int(response.headers["X-Export-Rows"])
    assert response.headers["X-Export-Truncated"] == "true"
    row_schema = {"$ref": "#/components/schemas/ExportRow"}
    for row in rows:
        conforms(row, row_schema, spec)


@pytest.mark.parametrize(
    ("query", "code"),
    [("format=xml", "bad_format"), ("limit=0", "bad_limit"), ("limit=100001", "bad_limit"),
     ("sort=random", "bad_sort")],
)  # fmt: skip
def test_export_bad_parameters(client, query, code):
    assert_error(client.get("/api/export?q=переговоры&" + query), code)


def test_export_streams_from_the_real_server(live_server):
    """Chunk by chunk (no Content-Length), as gunicorn sends a generator's body."""
    url = live_server + "/api/export"
    with requests.get(url, params={"q": "переговоры"}, stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.headers
        lines = [line.decode("utf-8") for line in response.iter_lines()]
    assert lines[0] == "id,date,source,topic,title,url,score"
    assert len(lines) - 1 == int(response.headers["X-Export-Rows"])


# --- /feed -------------------------------------------------------------------------------


def test_feed_is_valid_atom_newest_first(client, web_corpus):
    response = client.get("/feed", query_string={"q": "переговоры", "source": "ТАСС"})
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "«переговоры» — поиск по новостям"
    entries = feed.entries
    assert entries and all(e.author == "ТАСС" for e in entries)
    days = [e.updated[:10] for e in entries]
    assert days == sorted(days, reverse=True)
    first = entries[0]
    assert first.link.startswith("http://localhost/doc/")
    assert web_corpus.article(first.link.rsplit("/", 1)[1])["title"] == first.title
    assert any(link.rel == "related" for link in first.links)
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert parse_qs(urlsplit(self_link).query) == {"q": ["переговоры"], "source": ["ТАСС"]}


def test_feed_of_an_undated_article_and_bad_parameters(client):
    feed = feedparser.parse(client.get("/feed?q=волонтёры").data)
    assert not feed.bozo and len(feed.entries) == 1 and feed.entries[0].updated
    assert_error(client.get("/feed?q="), "empty_query")
    assert_error(client.get("/feed?q=a&to=2001-13"), "bad_date")


# --- the search page -----------------------------------------------------------------------


def test_the_page_has_the_chart_terms_and_feed(client):
    html = client.get("/?q=переговоры").get_data(as_text=True)
    head = html.split("</head>")[0]
    assert re.search(
        r'<link rel="alternate" type="application/atom\+xml"[^>]* href="/feed\?q=', head
    )
    assert 'class="timeline-chart"' in html and "Подписаться" in html
    bars = re.findall(r'<a class="bar" href="([^"]+)" aria-label="([^"]+)"', html)
    assert bars
    href, label = bars[0]
    params = parse_qs(urlsplit(unescape(href)).query)
    assert params["q"] == ["переговоры"] and params["from"][0] <= params["to"][0]
    assert "«переговоры»" in unescape(label)
    terms = re.findall(r'<ul class="sig-terms-list">(.*?)</ul>', html, re.S)[0]
    queries = [
        parse_qs(urlsplit(unescape(h)).query)["q"][0] for h in re.findall(r'href="([^"]+)"', terms)
    ]
    assert "переговоры делегация" in queries and all(q.startswith("переговоры ") for q in queries)


def test_a_corrected_query_is_refined_and_charted_as_searched(client):
    html = unescape(client.get("/?q=gthtujdjhs").get_data(as_text=True))
    terms = re.findall(r'<ul class="sig-terms-list">(.*?)</ul>', html, re.S)[0]
    assert "q=переговоры делегация" in unquote_plus(terms)
    assert 'data-query="переговоры"' in html


def test_the_terms_wait_while_a_word_is_typed(client):
    typed = client.get("/results?q=переговоры&typing=1").get_data(as_text=True)
    assert "timeline-chart" in typed and "sig-terms" not in typed
    assert "sig-terms" in client.get("/results?q=переговоры").get_data(as_text=True)


def test_a_bar_link_filters_to_its_period(client):
    html = client.get("/?q=переговоры").get_data(as_text=True)
    href, count = re.findall(r'<a class="bar" href="([^"]+)"[^>]* data-count="(\d+)"', html)[0]
    page = client.get(unescape(href)).get_data(as_text=True)
    assert re.search(rf"Найден\w* {count} стат", page)


def test_the_page_compares_queries(client):
    html = client.get("/?q=переговоры&compare=нефть&compare=футбол").get_data(as_text=True)
    assert len(re.findall(r'<g class="series series-\d"', html)) == 3
    assert 'value="нефть"' in html and 'value="футбол"' in html


def test_an_article_without_a_date_is_said_apart(client):
    html = client.get("/?q=волонтёры").get_data(as_text=True)
    assert "timeline-chart" not in html and "Без даты: 1 статья" in html
