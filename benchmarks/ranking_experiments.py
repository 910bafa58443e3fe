"""The topical ranking ideas of issue #14, each measured against the engine as it ranks now.

Topical queries are editor tags and every article with the tag is relevant
(``../shared/eval/topical.jsonl``); they are scored on an index built without tags
(``news-search index build --without-tags``), on the shared file and on as many held-out
tags made the same way (``benchmarks.heldout.topical``), and the known-item file is
scored beside them, since a change must not cost the known-item figures. An idea is kept
in the engine only when it helps on both topical sets; ``benchmarks/README.md`` records
what each one gave::

    python -m benchmarks.ranking_experiments --index INDEX_WITHOUT_TAGS

Each variant ranks the documents of a query from the engine's own scores
(``SearchEngine.match`` and its duplicate grouping, as ``search`` does); what it changes
is said in its docstring. Collapsed copies count as found, as in ``news-search eval``.
navec is not among the variants: its PyPI wheel (navec 0.10.0, 23 KB) ships the code
only, and the vectors are a download, which this project does not make at run time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click
import numpy as np

import search.plan
import search.ranker
from benchmarks.evaluate import CORPUS_DIR, JUDGEMENTS_PATH, TOPICAL_PATH, load_corpus
from benchmarks.heldout import topical
from benchmarks.options import json_option, write_json
from search.analysis import analyze, field_postings
from search.evaluation import judged_id, load_judgements, measure
from search.searching import SearchEngine, SearchRequest, _grouped, _record
from search.weights import WEIGHTS

DEPTH = 100  # hits judged per topical query (AP@100)
KNOWN_DEPTH = 10

#: A variant: (engine, query, depth) -> article ids, best first, each standing for its
#: group of copies (a list of the group's ids).
Variant = Callable[[SearchEngine, str, int], list[list[str]]]


def ranked(engine: SearchEngine, query: str, depth: int) -> tuple:
    """The engine's ranking of ``query``: (arrays, leaders' docnums, their groups'
    docnums, the leaders' relevance), as ``SearchEngine.search`` orders them."""
    found = engine.match(SearchRequest(q=query, per_page=min(depth, 100)))
    if found.matched is None:
        return found.arrays, [], {}, None
    scores = found.scores
    groups = _grouped(found.arrays, found.plan, found.matched, scores, "relevance", depth)
    leaders = [int(d) for d in groups.firsts()]
    copies = {d: [int(c) for c in groups.copies(d)] for d in leaders}
    relevance = np.zeros(found.arrays.size)  # the leaders' (the variants read no other)
    relevance[leaders] = scores.relevance_of(np.asarray(leaders, dtype=np.int64))
    return found.arrays, leaders, copies, relevance


def _ids(arrays, docnums: list[int], copies: dict[int, list[int]], depth: int) -> list[list[str]]:
    return [
        [arrays.stored_fields(d)["id"], *(arrays.stored_fields(c)["id"] for c in copies.get(d, ()))]
        for d in docnums[:depth]
    ]


def baseline(engine: SearchEngine, query: str, depth: int) -> list[list[str]]:
    """The engine as it ranks now."""
    arrays, leaders, copies, _ = ranked(engine, query, depth)
    return _ids(arrays, leaders, copies, depth)


# --- pseudo-relevance feedback ------------------------------------------------------------


def _lemmas(arrays, docnum: int) -> Counter:
    record = _record(arrays.stored_fields(docnum))
    counts: Counter = Counter()
    for text in (record.title, record.text):
        for term, positions in field_postings(text)[0].items():
            counts[term] += len(positions)
    return counts


def rm3(feedback_docs: int = 10, feedback_terms: int = 10, original: float = 0.5) -> Variant:
    """RM3: the lemmas most probable in the first ``feedback_docs`` hits (each hit's share
    weighted by its score), less those in more than a tenth of the articles, are searched
    in the body by BM25; the final score interpolates the normalized original score
    (weight ``original``) with theirs, over the original's first 1,000 and every article
    the expansion finds."""

    def variant(engine: SearchEngine, query: str, depth: int) -> list[list[str]]:
        arrays, leaders, copies, relevance = ranked(engine, query, 1000)
        if not leaders:
            return []
        top = leaders[:feedback_docs]
        weights = np.array([relevance[d] for d in top], dtype=np.float64)
        weights = np.exp((weights - weights.max()) / max(weights.std(), 1e-9))
        model: Counter = Counter()
        query_terms = {term for terms in _query_terms(query) for term in terms}
        for docnum, weight in zip(top, weights / weights.sum(), strict=True):
            lemmas = _lemmas(arrays, docnum)
            length = sum(lemmas.values()) or 1
            for term, count in lemmas.items():
                model[term] += weight * count / length
        documents = arrays.documents
        expansion = []
        for term, p in model.most_common():
            if term in query_terms or not term.isalpha():
                continue
            if arrays.postings("text", term).df > documents / 10:
                continue
            expansion.append((term, p))
            if len(expansion) == feedback_terms:
                break
        expanded = np.zeros(arrays.size)
        for term, p in expansion:
            ids, scores = arrays.bm25("text", term)
            expanded[ids] += p * scores
        first = np.zeros(arrays.size)
        first[leaders] = relevance[leaders] / max(relevance[leaders[0]], 1e-9)
        if expanded.max() > 0:
            expanded /= expanded.max()
        final = original * first + (1 - original) * expanded
        order = [int(d) for d in np.argsort(-final, kind="stable")[: depth * 2] if final[d] > 0]
        return _ids(arrays, _leaders_only(order, copies), copies, depth)

    return variant


def _leaders_only(order: list[int], copies: dict[int, list[int]]) -> list[int]:
    """``order`` without the copies of a group whose best is in it already."""
    shown = set()
    kept = []
    for docnum in order:
        if docnum in shown:
            continue
        kept.append(docnum)
        shown.add(docnum)
        shown.update(copies.get(docnum, ()))
    return kept


# --- proximity and units ------------------------------------------------------------------


def body_proximity(weight: float = 0.3, candidates: int = 100) -> Variant:
    """Query words close together in the body: the first ``candidates`` of a query of two
    words or more get ``weight`` × (words / smallest window holding all of them) × the
    first hit's score, and are ordered again."""

    def variant(engine: SearchEngine, query: str, depth: int) -> list[list[str]]:
        arrays, leaders, copies, relevance = ranked(engine, query, max(depth, candidates))
        wanted = [set(terms) for terms in _query_terms(query)]
        if len(wanted) < 2 or not leaders:
            return _ids(arrays, leaders, copies, depth)
        top = relevance[leaders[0]]
        scored = []
        for rank, docnum in enumerate(leaders):
            bonus = 0.0
            if rank < candidates:
                window = _smallest_window(arrays, docnum, wanted)
                if window:
                    bonus = weight * top * len(wanted) / window
            scored.append((-(relevance[docnum] + bonus), rank, docnum))
        return _ids(arrays, [d for _, _, d in sorted(scored)], copies, depth)

    return variant


def _query_terms(query: str) -> list[tuple[str, ...]]:
    return [word.terms for word in analyze(query) if word.terms]


def _smallest_window(arrays, docnum: int, wanted: list[set[str]]) -> int | None:
    """The fewest positions of the body holding a word of each of ``wanted``."""
    postings = field_postings(_record(arrays.stored_fields(docnum)).text)[0]
    events = sorted(
        (pos, i) for i, terms in enumerate(wanted) for t in terms for pos in postings.get(t, ())
    )
    if len({i for _, i in events}) < len(wanted):
        return None
    best = None
    counts: Counter = Counter()
    left = 0
    for pos, i in events:
        counts[i] += 1
        while len(counts) == len(wanted):
            start, j = events[left]
            best = pos - start + 1 if best is None else min(best, pos - start + 1)
            counts[j] -= 1
            if not counts[j]:
                del counts[j]
            left += 1
    return best


def units(engine: SearchEngine, query: str, depth: int) -> list[list[str]]:
    """A query of several words searched as a unit first: the articles where they stand
    together as a phrase (``"верховная рада"``) before the others, each part in the
    engine's order."""
    arrays, leaders, copies, _ = ranked(engine, query, depth)
    if len(_query_terms(query)) < 2:
        return _ids(arrays, leaders, copies, depth)
    phrase = engine.match(SearchRequest(q=f'"{query}"'))
    inside = phrase.matched if phrase.matched is not None else np.zeros(arrays.size, bool)
    together = [d for d in leaders if inside[d] or any(inside[c] for c in copies.get(d, ()))]
    apart = [d for d in leaders if d not in set(together)]
    return _ids(arrays, together + apart, copies, depth)


# --- weights and synonyms -------------------------------------------------------------------


@contextmanager
def _weights(**changes):
    """The ranker with ``WEIGHTS`` changed (``topic=...`` a TopicWeights change)."""
    topic = changes.pop("topic", None)
    changed = replace(WEIGHTS, **changes)
    if topic:
        changed = replace(changed, topic=replace(WEIGHTS.topic, **topic))
    saved = search.ranker.WEIGHTS
    search.ranker.WEIGHTS = changed
    try:
        yield
    finally:
        search.ranker.WEIGHTS = saved


def with_weights(**changes) -> Variant:
    """The engine with other ranking weights (BM25 per field: ``topic={"bm25": ...}``)."""

    def variant(engine: SearchEngine, query: str, depth: int) -> list[list[str]]:
        with _weights(**changes):
            return baseline(engine, query, depth)

    return variant


def without_synonyms(engine: SearchEngine, query: str, depth: int) -> list[list[str]]:
    """The engine with no synonyms (``synonyms.txt`` empty)."""
    saved = search.plan.synonyms_of
    search.plan.synonyms_of = lambda text: ()
    try:
        return baseline(engine, query, depth)
    finally:
        search.plan.synonyms_of = saved


VARIANTS: dict[str, Variant] = {
    "baseline": baseline,
    "rm3 (10 docs, 10 terms, λ 0.5)": rm3(),
    "rm3 (5 docs, 20 terms, λ 0.7)": rm3(5, 20, 0.7),
    "body proximity (0.3)": body_proximity(),
    "units (phrase first)": units,
    "title BM25 b 0.3 (one-item queries)": with_weights(
        topic={"bm25": {"text": (10.0, 0.5), "title": (1.2, 0.3)}}
    ),
    "text k1 2, b 0.75 (one-item queries)": with_weights(topic={"bm25": {"text": (2.0, 0.75)}}),
    "no synonyms": without_synonyms,
}


def score(engine: SearchEngine, variant: Variant, judgements: list[dict], depth: int) -> dict:
    """The variant's measures over ``judgements`` and its mean time a query."""
    rankings = {}
    started = time.perf_counter()
    for judgement in judgements:
        relevant = set(judgement["relevant"])
        groups = variant(engine, judgement["query"], depth)
        rankings[judgement["qid"]] = [judged_id(group, relevant) for group in groups]
    report = measure(judgements, rankings)["all"]
    report["ms_per_query"] = round((time.perf_counter() - started) * 1000 / len(judgements), 1)
    return report


@click.command()
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, path_type=Path),
              help="An index built without tags (`index build --without-tags`).")  # fmt: skip
@click.option("--only", multiple=True, help="Run only the variants whose name starts so.")
@click.option("--heldout-seed", default=1, show_default=True)
@json_option
def main(index_dir: Path, only: tuple[str, ...], heldout_seed: int, json_path) -> None:
    """Each topical ranking idea on the shared topical file, held-out tags and the
    known-item file; a Markdown table."""
    engine = SearchEngine(index_dir)
    shared = load_judgements(TOPICAL_PATH)
    heldout = topical(load_corpus(CORPUS_DIR), len(shared), heldout_seed,
                      exclude=[j["query"] for j in shared])  # fmt: skip
    known = load_judgements(JUDGEMENTS_PATH)
    rows = {}
    click.echo("| variant | topical nDCG@10 | AP@100 | held-out nDCG@10 | AP@100 | "
               "known-item MRR@10 | ms a topical query |")  # fmt: skip
    click.echo("|---|---|---|---|---|---|---|")
    for name, variant in VARIANTS.items():
        if only and name != "baseline" and not name.startswith(only):
            continue
        a = score(engine, variant, shared, DEPTH)
        b = score(engine, variant, heldout, DEPTH)
        c = score(engine, variant, known, KNOWN_DEPTH)
        rows[name] = {"topical": a, "heldout": b, "known_item": c}
        click.echo(
            f"| {name} | {a['ndcg@10']:.3f} | {a['ap@100']:.3f} | {b['ndcg@10']:.3f} | "
            f"{b['ap@100']:.3f} | {c['mrr@10']:.3f} | {a['ms_per_query']:.0f} |"
        )
    write_json(json_path, rows)


if __name__ == "__main__":
    main()
