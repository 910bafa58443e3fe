"""Relevance worked out only for the documents asked about (``ranker.Scores``) is the
relevance of a whole-index sum, to the bit, whichever way each weight is looked up."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from search import facets as facets_module
from search import ranker, ranking
from search.searching import SearchEngine, SearchRequest
from tests.conftest import build_index

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
@pytest.mark.parametrize("prune_factor", [0, 8])
@pytest.mark.parametrize("filters", [{}, {"source": "ТАСС"}])
def test_order_is_the_sort_of_every_match(
    engine, few_share, monkeypatch, sort, needed, prune_factor, filters
):
    """The first ``needed`` are those of a sort of all matches, weighed whole (with the
    proximity bonus of the leaders that the order gave them), whether or not the bounds
    of relevance pruned the candidates (factor 0: every level is pruned)."""
    monkeypatch.setattr(ranker, "_PRUNE_FACTOR", prune_factor)
    monkeypatch.setattr(ranker, "WEIGHTS", replace(ranker.WEIGHTS, proximity_candidates=2))
    for query in [*QUERIES, "-газа"]:  # only an exclusion: every match at coverage 0
        found = engine.match(SearchRequest(q=query, **filters))
        arrays, scores = found.arrays, found.scores
        order = ranker.order(arrays, found.plan, found.matched, scores, sort, needed)
        docs = np.flatnonzero(found.matched)
        relevance = whole_index_relevance(scores) if scores.parts else np.zeros(arrays.size)
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


def test_pruning_drops_only_what_cannot_lead(engine, few_share):
    """``may_reach`` keeps every document whose relevance reaches the ``room``-th best,
    and drops some of the others when the bounds allow."""
    dropped = 0
    for query in QUERIES:
        found = engine.match(SearchRequest(q=query))
        scores = found.scores
        docs = np.flatnonzero(found.matched)
        level = scores.coverage[docs].max()
        tied = docs[scores.coverage[docs] == level]
        relevance = whole_index_relevance(scores)[tied]
        for room in (1, 2, 3, 5, 8, 13, 21):
            if tied.size <= room:
                continue
            kept = scores.may_reach(tied, room)
            cut = np.sort(relevance)[::-1][room - 1]
            assert set(tied[relevance >= cut].tolist()) <= set(kept.tolist()), query
            dropped += tied.size - kept.size
    assert dropped > 0


def test_a_document_behind_on_the_rarer_word_is_kept_when_the_other_can_lift_it(tmp_path):
    """The rarer word is weighed first; a document far behind on it but far ahead on the
    other word ends first, and pruning after the first word must not drop it."""
    filler = "текст"

    def body(alpha: int, beta: int) -> str:
        return " ".join(["альфа"] * alpha + ["бета"] * beta + [filler] * (40 - alpha - beta))

    articles = [dict(id=f"d{n}", title=f"Заметка {n}", text=body(5, 1)) for n in range(9)]
    articles.append(dict(id="x", title="Заметка x", text=body(1, 20)))
    articles.append(dict(id="b", title="Заметка b", text=body(0, 3)))
    articles += [dict(id=f"f{n}", title=f"Заметка f{n}", text=body(0, 0)) for n in range(20)]
    engine = SearchEngine(build_index(tmp_path, articles))
    found = engine.match(SearchRequest(q="альфа бета"))
    scores = found.scores
    tied = np.flatnonzero(found.matched & (found.scores.coverage == 2))
    relevance = whole_index_relevance(scores)[tied]
    first = int(tied[np.argmax(relevance)])
    assert found.arrays.stored_fields(first)["id"] == "x"
    kept = scores.may_reach(tied, 1)
    assert first in kept.tolist()


@pytest.mark.parametrize("cells", [True, False], ids=["cells", "apart"])
@pytest.mark.parametrize("query", ["переговоры | газа", "-зимбабве", "Женеве", "газа"])
def test_facets_count_the_matches(engine, monkeypatch, query, cells):
    """Facets counted directly (few matches) or as everything less the rest (most of the
    index matched), by cells of the table or each facet apart (a table too large), are
    the stored fields' own counts."""
    if not cells:
        monkeypatch.setattr(facets_module, "MAX_CELLS", 0)
    found = engine.match(SearchRequest(q=query))
    arrays, docs = found.arrays, np.flatnonzero(found.matched)
    stored = [arrays.stored_fields(d) for d in docs.tolist()]
    counter = facets_module.FacetCounter(
        arrays.categories, arrays.years, arrays.undated, arrays.alive
    )
    facets = counter.facets(found.matched)
    assert (counter._table() is not None) == cells

    def counted(values) -> list[tuple]:
        counts = Counter(v for v in values if v)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    assert [(f.value, f.count) for f in facets.source] == counted(s.get("source") for s in stored)
    assert [(f.value, f.count) for f in facets.topic] == counted(s.get("topic") for s in stored)
    dates = [s.get("date") for s in stored]
    years = sorted(Counter(d.year for d in dates if d).items(), reverse=True)
    assert [(f.value, f.count) for f in facets.year] == years
    assert facets.undated == sum(d is None for d in dates)


def test_facets_of_most_of_the_index_are_counted_from_the_rest(engine):
    found = engine.match(SearchRequest(q="-зимбабве"))
    assert np.count_nonzero(found.matched) > found.arrays.documents // 2
    assert len(found.arrays.facets(found.matched).source) > 1
    assert found.arrays._facets._everything is not None  # counted once, then less the rest
