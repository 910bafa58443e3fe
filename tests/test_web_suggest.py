"""Completions for the search box (search.suggest): one form per lemma, tags as phrases.

Over a real index of a few articles in tmp_path and the real morphology.
"""

from __future__ import annotations

import pytest
from test_web_app import build_index

from search import indexer
from search.searching import SearchEngine
from search.suggest import merge_completions, phrase_completions, suggestions

TALKS = "Переговоры прошли в Женеве."
MORE = " Переговоров было много, о переговорах писали все."  # rarer forms: in a third
ARTICLES = [
    {"id": f"a{i}", "title": f"Переговорщики и переговоры, раунд {i}",
     "text": TALKS + (MORE if i % 3 == 0 else ""),
     "tags": ["ближний восток", "переговоры в женеве"] if i % 2 else ["ближневосточный регион"]}
    for i in range(6)
]  # fmt: skip


def test_the_forms_of_one_lemma_are_merged_keeping_the_commonest():
    forms = ["переговоры", "переговоров", "переговорах", "переговорщики", "переговорный"]
    assert merge_completions("министр ", forms, 10) == [
        "министр переговоры", "министр переговорщики", "министр переговорный",
    ]  # fmt: skip
    assert merge_completions("", forms, 2) == ["переговоры", "переговорщики"]
    assert merge_completions("", forms, 10, seen={"переговоры"}) == [
        "переговорщики", "переговорный",
    ]  # fmt: skip


def test_phrases_are_tags_that_go_on_from_all_that_was_typed():
    tags = ["ближний восток", "ближний", "ближневосточный регион"]
    assert phrase_completions("Ближний  во", tags, 3) == ["Ближний  восток"]
    assert phrase_completions("ближ", tags, 3) == tags  # the commonest first, as given
    assert phrase_completions("ближний", tags, 3) == ["ближний восток"]  # not itself


@pytest.fixture(scope="module")
def vocabulary(tmp_path_factory: pytest.TempPathFactory):
    root = build_index(tmp_path_factory.mktemp("suggest"), ARTICLES)
    return SearchEngine(root).arrays()


def test_suggestions_over_an_index(vocabulary):
    found = suggestions(vocabulary, "перег", 10)
    assert found[:1] == ["переговоры в женеве"]  # a tag, all that was typed and more
    words = found[1:]
    assert "переговоры" in words and "переговорщики" in words
    assert not {"переговоров", "переговорах"} & set(words)  # forms of a lemma offered
    assert suggestions(vocabulary, "Ближний во", 10)[0] == "Ближний восток"
    assert suggestions(vocabulary, "переговоры ", 10) == []  # the word is finished
    assert suggestions(vocabulary, "п", 10) == []
    assert len(suggestions(vocabulary, "пе", 2)) == 2


def test_an_empty_index_suggests_nothing(tmp_path):
    (tmp_path / "nothing").mkdir()
    indexer.build(tmp_path / "index", [tmp_path / "nothing"], allow_empty=True)
    assert suggestions(SearchEngine(tmp_path / "index").arrays(), "пере", 10) == []
