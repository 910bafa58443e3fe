"""Relevance worked out only for the documents asked about (``ranker.Scores``) is the
relevance of a whole-index sum, to the bit, whichever way each weight is looked up."""

from __future__ import annotations

import numpy as np
import pytest

from search import ranker, ranking
from search.searching import SearchEngine, SearchRequest

QUERIES = [
    "переговоры",  # one item: the topic weights
    "переговоры о поставках газа",
    "Франции и Германии торговых пошлинах",
    "переговоры | пошлины -газа",
    '"прекращении огня" Женеве',
    '"огня прекращении" переговоры',  # the words, not the phrase: a clause's mask counts
    "делегации провели раунд",
]


@pytest.fixture(scope="module")
def engine(web_corpus):
    return SearchEngine(web_corpus.root)


@pytest.fixture
def few_share(monkeypatch):
    """A share for which a corpus of about 70 articles asks each of the three lookups
    of ``IndexArrays.bm25_weights``: 8 documents or postings count as few."""
    monkeypatch.setattr(ranking, "_FEW_SHARE", 8)


def whole_index_relevance(scores: ranker.Scores) -> np.ndarray:
    """Relevance summed over the index part by part, each weight scattered: the way the
    ranker summed it before it weighed only the leaders."""
    arrays = scores.arrays
    relevance = np.zeros(arrays.size, dtype=np.float64)
    masks = [mask for _, mask in scores.clause_masks]
    for part in scores.parts:
        best = np.zeros(arrays.size, dtype=np.float32)
        for postings, k1, b in part.readings:
            weights = arrays.bm25_weights(part.field, postings, k1, b)
            best[postings.ids] = np.maximum(best[postings.ids], weights)
        ids = np.flatnonzero(best)
        weights = part.factor * best[ids]
        relevance[ids] += weights if part.clause is None else weights * masks[part.clause][ids]
    docs = np.flatnonzero(scores.matched)
    counts = {name: np.zeros(docs.size, dtype=np.int32) for name in ranker.HEADLINE_FIELDS}
    for name, found in scores.in_field.items():
        for mask in found:
            counts[name] += mask[docs]
    gathered = np.maximum(counts["title"], counts["summary"] * ranker.WEIGHTS.lead_share)
    relevance[docs] += gathered * scores.headline_word
    relevance[~scores.matched] = 0.0
    return relevance


@pytest.mark.parametrize("query", QUERIES)
def test_relevance_of_any_documents_is_the_whole_index_sum(engine, few_share, query):
    found = engine.match(SearchRequest(q=query))
    scores = found.scores
    assert scores.parts, "the query scores nothing"
    expected = whole_index_relevance(scores)
    everything = np.arange(found.arrays.size)
    matched = np.flatnonzero(found.matched)
    assert matched.size > 8  # more than "few": the scattered lookup
    assert np.array_equal(scores.relevance_of(everything), expected)
    assert np.array_equal(scores.relevance_of(matched), expected[matched])
    for docnum in matched.tolist():  # one document: looked for among the postings
        assert scores.relevance_of(np.array([docnum]))[0] == expected[docnum]
    shuffled = np.random.default_rng(7).permutation(matched)[:5]  # any order
    assert np.array_equal(scores.relevance_of(shuffled), expected[shuffled])
    assert np.all(expected[matched] > 0) and not expected[~found.matched].any()


@pytest.mark.parametrize("sort", ["relevance", "date", "date_asc"])
@pytest.mark.parametrize("needed", [1, 3, 25])
def test_order_is_the_sort_of_every_match(engine, few_share, sort, needed):
    """The first ``needed`` are those of a sort of all matches, weighed whole (with the
    proximity bonus of the leaders that the order gave them)."""
    for query in QUERIES:
        found = engine.match(SearchRequest(q=query))
        arrays, scores = found.arrays, found.scores
        order = ranker.order(arrays, found.plan, found.matched, scores, sort, needed)
        docs = np.flatnonzero(found.matched)
        relevance = whole_index_relevance(scores)
        for docnum, extra in scores.bonus.items():
            relevance[docnum] += extra
        coverage = scores.coverage[docs]
        if sort == "relevance":
            expected = docs[np.lexsort((docs, -relevance[docs], -coverage))]
        else:
            dates = arrays.dates[docs]
            keys = np.where(dates == ranking.NO_DATE, np.iinfo(np.int64).max, dates)
            keys = -keys if sort == "date" else keys
            keys[dates == ranking.NO_DATE] = np.iinfo(np.int64).max
            expected = docs[np.lexsort((-relevance[docs], -coverage, keys))]
        assert order.tolist() == expected[:needed].tolist(), query
        for docnum in order.tolist():
            assert scores.score_of(docnum) == relevance[docnum]
