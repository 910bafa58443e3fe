"""The search engine on tiny indexes built in a temporary folder (fast tier)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build_index

from search import indexer
from search.results import FacetCount
from search.searching import SearchEngine, SearchRequest

# Forty distinct nouns: a long query whose every word stands in one article.
WORDS = [
    "армия", "банк", "вокзал", "газета", "дорога", "завод", "игра", "карта", "лес", "мост",
    "налог", "озеро", "парк", "рынок", "сад", "театр", "улица", "фабрика", "храм", "школа",
    "музей", "полиция", "река", "город", "остров", "порт", "суд", "вуз", "флот", "нефть",
    "газ", "уголь", "сталь", "зерно", "хлеб", "молоко", "сахар", "соль", "чай", "кофе",
]  # fmt: skip


def build(tmp_path: Path, articles: list[dict]) -> SearchEngine:
    return SearchEngine(build_index(tmp_path, articles))


@pytest.fixture
def small(tmp_path: Path) -> SearchEngine:
    return build(
        tmp_path,
        [
            {"id": "talks", "title": "Переговоры министров в Москве", "text": "Министры "
             "провели переговоры о санкциях.", "date": "2024-03-01", "source": "ТАСС"},
            {"id": "sanctions", "title": "Санкции продлены", "text": "Евросоюз продлил "
             "санкции против банков.", "source": "RT"},
            {"id": "before", "title": "Перед выборами", "text": "Перед выборами партии "
             "провели съезды.", "source": "RT"},
        ],
    )  # fmt: skip


def test_all_words_outrank_a_document_lacking_one(tmp_path: Path):
    """Coverage ranks before score: the 39 words in a headline (thousands of points of
    bonus) do not lift an article above one holding all 40 words in its body."""
    query = " ".join(WORDS)
    engine = build(
        tmp_path,
        [
            {"id": "all", "title": "Обзор", "text": "В обзоре: " + ", ".join(WORDS) + "."},
            {"id": "lacks-one", "title": " ".join(WORDS[:-1]),
             "text": " ".join(WORDS[:-1] * 3)},
        ],
    )  # fmt: skip
    result = engine.search(SearchRequest(q=query))
    assert [h.id for h in result.hits] == ["all", "lacks-one"]
    assert result.total == 2 and result.total_full == 1
    assert result.hits[0].score < result.hits[1].score  # shown as it is


def test_empty_index_answers_nothing_found(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    root = tmp_path / "index"
    indexer.build(root, [empty], allow_empty=True)
    engine = SearchEngine(root)
    for q in ("переговоры", "-сша", "source:RT"):
        result = engine.search(SearchRequest(q=q))
        assert result.total == 0 and result.hits == [], q
    assert engine.suggest("пере") == []
    assert engine.document("talks") is None
    assert engine.health().documents == 0


def test_a_word_being_typed_is_a_prefix_never_corrected(small: SearchEngine):
    # «санкц» half-typed: the start of «санкции», not a typo of something else.
    typed = small.search(SearchRequest(q="санкц", typing=True))
    assert typed.corrected_query is None
    assert {h.id for h in typed.hits} == {"talks", "sanctions"}
    # «перег» is not corrected to «перед»; a finished word is searched as before.
    assert small.search(SearchRequest(q="перег", typing=True)).corrected_query is None
    assert [h.id for h in small.search(SearchRequest(q="перег", typing=True)).hits] == ["talks"]
    finished = small.search(SearchRequest(q="переговоры ", typing=True))
    assert [h.id for h in finished.hits] == ["talks"]


def test_typing_keeps_the_finished_words_as_they_are(small: SearchEngine):
    full_word = small.search(SearchRequest(q="министров", typing=True))
    assert [h.id for h in full_word.hits] == ["talks"]


def test_undated_articles_are_counted(small: SearchEngine):
    facets = small.search(SearchRequest(q="провели OR санкции")).facets
    assert facets.undated == 2
    assert facets.year == [FacetCount(2024, 1)]


def test_partial_matches_say_what_they_lack(small: SearchEngine):
    result = small.search(SearchRequest(q="переговоры министров санкции"))
    missing = {h.id: h.missing for h in result.hits}
    assert missing["talks"] == []
    assert missing["sanctions"] == ["переговоры", "министров"]
    assert result.total == 2 and result.total_full == 1


def test_a_word_typed_in_the_latin_layout_is_read_while_typing(small: SearchEngine):
    typed = small.search(SearchRequest(q="gthtujdjhs", typing=True))
    assert typed.corrected_query == "переговоры"
    assert [h.id for h in typed.hits] == ["talks"]
    # Half typed in the Latin layout, and no word there yet: left alone.
    assert small.search(SearchRequest(q="gthtu", typing=True)).corrected_query is None


@pytest.mark.parametrize(
    "q",
    ["(переговоры министров) OR санкции", '"переговоры министров"', "перед -выборами",
     "НЕ (санкции банков) провели", "+провели (съезды OR санкции OR министры)"],
)  # fmt: skip
def test_boolean_structure_on_masks_matches_what_whoosh_matches(small: SearchEngine, q: str):
    """IndexArrays evaluates And/Or/Not itself and sends only phrases to Whoosh."""
    from search.plan import Planner
    from search.query import parse

    arrays = small.arrays()
    plan = Planner(lambda field, prefix: []).build(parse(q))
    queries = [c.match for c in plan.clauses if c.match is not None]
    queries += [plan.excluded] if plan.excluded is not None else []
    assert queries
    with arrays._whoosh:
        expected = [arrays.docs_mask(arrays._searcher.docs_for_query(x)) for x in queries]
    assert [arrays.matching(x).tolist() for x in queries] == [m.tolist() for m in expected]


def test_an_inflected_form_of_a_headline_word_is_not_corrected(tmp_path: Path):
    """A word only the headline holds, typed in a form no article holds, is a word the
    index knows: it was "corrected" to another form of it (that the body had nearby)."""
    engine = build(
        tmp_path,
        [{"id": "talks", "title": "Срочные переговоры с соседями",
          "text": "Министр провёл телефонный разговор о конфликте."}],
    )  # fmt: skip
    for q in ("переговорах", "соседям", "переговорам соседей"):
        result = engine.search(SearchRequest(q=q))
        assert result.corrected_query is None, q
        assert [h.id for h in result.hits] == ["talks"], q
    # A typo of a headline word is still corrected.
    assert engine.search(SearchRequest(q="перегаворы")).corrected_query == "переговоры"
