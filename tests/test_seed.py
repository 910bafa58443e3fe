"""The seed article is found by every form of its words, and the snippet marks the forms."""

import re

import pytest

from search.searching import SearchRequest
from web.payload import search_payload, to_builtins

SEED_ID = "000_5389a332ed69a0f4"


def marked(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


def search(engine, q: str) -> dict:
    """The search as the API answers it (with the HTML of the marked fields)."""
    return to_builtins(search_payload(engine.search(SearchRequest(q=q))))


@pytest.mark.parametrize(
    ("query", "forms"),
    [
        ("переговоры Кошербаева", {"переговоры", "Кошербаева"}),
        ("Кошербаев", {"Кошербаева"}),
        ("переговорах", {"переговоры"}),
        ("министрами иностранных дел", {"министра", "министрами", "иностранных", "дел"}),
        ("состоялся", {"Cостоялся"}),  # the text has a Latin C
        ("Хаменеи", {"Хаменеи"}),
    ],
)
def test_seed_queries_find_the_article_and_mark_the_forms(seed_engine, query, forms):
    result = search(seed_engine, query)
    assert [hit["id"] for hit in result["hits"]] == [SEED_ID]
    hit = result["hits"][0]
    found = set(marked(hit["snippet_html"])) | set(marked(hit["title_html"]))
    assert forms <= found, (query, found)


def test_the_photo_credit_is_not_body_text(seed_engine):
    article = seed_engine.document(SEED_ID)
    assert article.text.startswith("Cостоялся телефонный разговор")
    assert "Беляева" not in article.text
    assert article.source == "Zakon.kz"
    assert article.date.isoformat() == "2026-03-02"


def test_unrelated_words_do_not_find_it(seed_engine):
    assert seed_engine.search(SearchRequest(q="футбол чемпионат")).total == 0


def test_the_seed_text_is_escaped_and_marked(seed_engine):
    hit = search(seed_engine, "людей")["hits"][0]
    assert "<mark>людей</mark>" in hit["snippet_html"]
    assert "<" not in re.sub(r"</?mark>", "", hit["snippet_html"])
