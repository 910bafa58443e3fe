"""No query breaks the engine: generated queries through the library and over HTTP.

Queries mix the operators of the query language (``" ( ) OR | - + ! * ~ : ИЛИ И НЕ``),
field prefixes, unbalanced quotes and brackets, any Unicode (astral planes, Tangut),
control and invisible characters, and lengths up to 10,000 characters. The library
must answer every one (it truncates long queries) or raise SearchError; the server
must answer 400 for a ``q`` over 1,000 characters or a blank one, 200 otherwise, and
never 500.
"""

from __future__ import annotations

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.query import MAX_QUERY_LENGTH
from search.searching import SearchEngine, SearchError, SearchRequest

OPERATORS = ['"', '"', "(", ")", " OR ", "|", "-", "+", "!", "*", "~", "~2", ":", " AND ",
             " NOT ", " ", "  ", "\\", "..", "'", " ИЛИ ", " И ", " НЕ "]  # fmt: skip
FIELDS = ["title:", "source:", "tag:", "date:", "topic:", "tags:", "date:2018..2019",
          "date:..2020", "date:2021-02", "date:2020-13-45", "source:ТАСС", 'title:"']  # fmt: skip
WORDS = ["нефть", "переговоры", "Лавров", "ставку", "ЦБ", "ё", "газ", "санкт-петербург",
         "gthtujdjhs", "перговоры", "2024", "ШОС", "e\u0301", "NaN", "США", "рф",
         "нато*"]  # fmt: skip
TANGUT = st.characters(min_codepoint=0x17000, max_codepoint=0x187F7)
ASTRAL = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF)
CONTROL = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])

pieces = st.one_of(
    st.sampled_from(OPERATORS + FIELDS + WORDS),
    st.text(max_size=6),
    st.text(alphabet=TANGUT, min_size=1, max_size=3),
    st.text(alphabet=ASTRAL, min_size=1, max_size=3),
    st.text(alphabet=CONTROL, min_size=1, max_size=2),
)
structured = st.lists(pieces, max_size=16).map("".join)
# Up to 10,000 characters: a generated stretch repeated (generating each one is slow).
long_queries = st.builds(
    lambda stretch, times: (stretch * times)[:10_000],
    st.lists(pieces, min_size=1, max_size=6).map("".join).filter(bool),
    st.integers(min_value=1, max_value=10_000),
)
queries = st.one_of(st.text(), structured, structured, long_queries)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=queries)
def test_library_answers_every_query(web_corpus, q):
    engine = _engine(web_corpus.root)
    try:
        result = engine.search(SearchRequest(q=q))
    except SearchError:
        return
    assert result.query == q
    assert 0 <= len(result.hits) <= min(result.total, 10)
    assert isinstance(engine.suggest(q), list)


_engines: dict = {}


def _engine(root) -> SearchEngine:
    """One engine per index (hypothesis does not mix with function-scoped fixtures)."""
    if root not in _engines:
        _engines[root] = SearchEngine(root)
    return _engines[root]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=queries)
def test_server_answers_every_query(live_server, q):
    response = requests.get(f"{live_server}/api/search", params={"q": q}, timeout=60)
    assert response.status_code != 500, (q, response.text)
    body = response.json()
    if response.status_code == 414:  # the request line is over gunicorn's 8,190 bytes
        assert len(response.request.url.encode()) > 8190, q
        assert body["error"]["code"] == "request_line_too_long"
    elif len(q) > MAX_QUERY_LENGTH:
        assert response.status_code == 400 and body["error"]["code"] == "query_too_long"
    elif not q.strip():
        assert response.status_code == 400 and body["error"]["code"] == "empty_query"
    else:
        assert response.status_code == 200, (q, body)
        assert body["query"] == q
