"""Significant terms (``search.terms``) on the web test corpus: lemmas over-represented in
a query's best articles, without the query's own lemmas or function words."""

from __future__ import annotations

import pytest

from search.morphology import word_terms
from search.searching import SearchEngine, SearchRequest
from search.terms import MIN_COUNT, SAMPLE_SIZE, jlh, significant_terms


@pytest.fixture(scope="module")
def engine(web_corpus) -> SearchEngine:
    return SearchEngine(web_corpus.root)


def terms_of(engine: SearchEngine, q: str, size: int = 20):
    return significant_terms(engine.match(SearchRequest(q=q)), q, size)


def test_the_words_of_the_talks_headlines_stand_out(engine):
    found = terms_of(engine, "переговоры")
    lemmas = [t.lemma for t in found.terms]
    assert {"делегация", "раунд"} <= set(lemmas[:6]), lemmas
    assert found.total == engine.search(SearchRequest(q="переговоры")).total
    assert found.sample == min(found.total, SAMPLE_SIZE)
    assert found.documents == engine.arrays().documents


def test_the_query_and_function_words_are_left_out(engine):
    lemmas = {t.lemma for t in terms_of(engine, "переговоры", 100).terms}
    assert not lemmas & set(word_terms("переговоры"))
    assert not lemmas & {"о", "и", "в", "по"}


def test_counts_scores_and_order(engine):
    found = terms_of(engine, "переговоры", 100)
    assert found.terms
    for term in found.terms:
        assert MIN_COUNT <= term.count <= found.sample
        assert term.background >= term.count
        assert term.score > 0
    scores = [t.score for t in found.terms]
    assert scores == sorted(scores, reverse=True)
    assert len(terms_of(engine, "переговоры", 3).terms) == 3


def test_a_query_matching_nothing_has_no_terms(engine):
    found = terms_of(engine, "абракадабраз")
    assert (found.total, found.sample, found.terms) == (0, 0, [])


def test_jlh():
    assert jlh(0.5, 0.1) == pytest.approx((0.5 - 0.1) * 5)
    assert jlh(0.1, 0.1) == 0.0
    assert jlh(0.1, 0.5) == 0.0
