"""Ranking: how well each document answers a plan, and the order of the results.

Every document of the index is scored at once with NumPy (``ranking.IndexArrays``):
BM25 per field with the title above the lead above the body (BM25F), the best reading
of an ambiguous word counting once, plus the form typed. A document holding more of
the query's clauses ranks first whatever its score (coverage, then relevance, sorted
apart with a lexsort: a single float packing both wrapped around on long queries).
Among the leaders, query words standing close and in order in the headline, and in
the form typed, lift a document further. A query of one item asks for a topic, and is
scored with ``WEIGHTS.topic``: the body counts more and its repeats keep counting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from search.forms import FormFilter
from search.plan import Clause, Plan
from search.ranking import NO_DATE, IndexArrays
from search.weights import WEIGHTS, TopicWeights

HEADLINE_FIELDS = ("title", "summary")


@dataclass
class Scores:
    """What scoring found: ``coverage`` (clauses matched) ranks before ``relevance``."""

    matched: np.ndarray | None
    coverage: np.ndarray
    relevance: np.ndarray
    clauses: int = 0  # clauses scored
    timed_out: bool = False  # the budget ran out before every clause was scored
    # Each scored clause's text and the documents it matches, to tell what a hit lacks.
    clause_masks: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def missing(self, docnum: int) -> list[str]:
        """The clauses (as query text) a matching document lacks."""
        if self.coverage[docnum] >= self.clauses:
            return []
        return [text for text, mask in self.clause_masks if not mask[docnum]]

    def full_count(self, matched: np.ndarray) -> int:
        """Matching articles that hold every scored clause."""
        if not self.clauses:
            return int(matched.sum())
        return int((matched & (self.coverage >= self.clauses)).sum())


def score(arrays: IndexArrays, plan: Plan, deadline: float) -> Scores:
    """The matching documents, their coverage and relevance (BM25F + bonuses).

    Clauses are scored in query order until ``deadline`` (``time.thread_time``): a query
    that would take seconds (thousands of expanded terms) answers with what its first
    clauses found, flagged ``timed_out``.
    """
    size = arrays.size
    relevance = np.zeros(size, dtype=np.float64)
    coverage = np.zeros(size, dtype=np.int32)
    if plan.empty:
        if plan.excluded is None:
            return Scores(None, coverage, relevance)
        # Only exclusions ("-война"): everything else.
        return Scores(arrays.alive & ~arrays.matching(plan.excluded), coverage, relevance)
    required = arrays.alive.copy()
    optional = np.zeros(size, dtype=bool)
    has_optional = timed_out = False
    # Where each clause has a word: in the headline, in the lead. Counted at the end, over
    # the matching documents only (adding each clause's mask to a count of every document
    # cost two passes over 5 MB a clause at a million articles).
    in_field: dict[str, list[np.ndarray]] = {name: [] for name in HEADLINE_FIELDS}
    # A query of one item asks for a topic, not for one article (``WEIGHTS.topic``).
    topic = WEIGHTS.topic if len(plan.clauses) == 1 else None
    scored = 0
    clause_masks: list[tuple[str, np.ndarray]] = []
    known: dict = {}  # masks of the Whoosh queries matched so far (phrases repeat)
    for clause in plan.clauses:
        if scored and time.thread_time() > deadline:
            timed_out = True
            break
        parts, mask, clause_in = _score_clause(arrays, clause, known, topic)
        for name, found in clause_in.items():
            in_field[name].append(found)
        for ids, weights in parts:  # only where the clause matches
            relevance[ids] += weights * mask[ids]
        coverage += mask
        clause_masks.append((clause.text, mask))
        scored += 1
        if clause.required:
            required &= mask
        else:
            optional |= mask
            has_optional = True
    matched = required & (optional if has_optional else True)
    if plan.excluded is not None:
        matched &= ~arrays.matching(plan.excluded, known)
    for unit in plan.plain_units:
        ids, weights = arrays.bm25("exact", unit.surface)
        relevance[ids] += WEIGHTS.exact_form * weights
    # Query words gathered in the headline or the lead: what a searcher remembers.
    docs = np.flatnonzero(matched)
    counts = {name: np.zeros(docs.size, dtype=np.int32) for name in HEADLINE_FIELDS}
    for name, masks in in_field.items():
        for found in masks:
            counts[name] += found[docs]
    gathered = np.maximum(counts["title"], counts["summary"] * WEIGHTS.lead_share)
    relevance[docs] += gathered * (topic.headline_word if topic else WEIGHTS.headline_word)
    unmatched = ~matched
    np.copyto(relevance, 0.0, where=unmatched)
    np.copyto(coverage, 0, where=unmatched)
    return Scores(matched, coverage, relevance, scored, timed_out, clause_masks)


def _score_clause(
    arrays: IndexArrays, clause: Clause, known: dict, topic: TopicWeights | None = None
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, dict[str, np.ndarray]]:
    """One clause's BM25F score, as the documents of each word and field with their
    weights, the documents it matches, and where its words stand (with ``topic``'s BM25
    parameters and boosts where it has them).

    The score stays in those parts rather than in an array the size of the index: adding
    such an array, masked, to the relevance of every document cost two passes over 8 MB a
    clause at a million articles, while most words are held by a few thousand.
    """
    size = arrays.size
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    clause_in = {name: np.zeros(size, dtype=bool) for name in HEADLINE_FIELDS}
    own = np.zeros(size, dtype=bool)
    for word in clause.words:
        for field_name in word.fields:
            if topic and field_name in topic.bm25:
                parameters = topic.bm25[field_name]
                found = [arrays.bm25(field_name, term, *parameters) for term in word.terms]
            else:
                found = [arrays.bm25(field_name, term) for term in word.terms]
            ids, best = _best_reading([(i, w) for i, w in found if i.size], size)
            if not ids.size:
                continue
            boost = WEIGHTS.field_boosts.get(field_name, 1.0)
            if topic:
                boost = topic.field_boosts.get(field_name, boost)
            parts.append((ids, boost * word.weight * best))
            if word.matches:
                own[ids] = True
                if field_name in clause_in:
                    clause_in[field_name][ids] = True
    if clause.match is None:
        mask = own
        if clause.also is not None:
            # The synonym phrases count only where the words did not match already.
            mask |= arrays.matching(clause.also, known, among=~own)
    else:
        mask = arrays.matching(clause.match, known)
    return parts, mask, clause_in


def _best_reading(
    found: list[tuple[np.ndarray, np.ndarray]], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The documents holding any reading of a word, and the best weight each has (a
    word read several ways counts once, by its best reading); weights are positive."""
    if len(found) == 1:
        return found[0]
    if not found:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    best = np.zeros(size, dtype=np.float32)
    for ids, weights in found:
        best[ids] = np.maximum(best[ids], weights)
    ids = np.flatnonzero(best)
    return ids, best[ids]


def order(
    arrays: IndexArrays,
    plan: Plan,
    matched: np.ndarray | None,
    scores: Scores,
    sort: str,
    needed: int,
) -> np.ndarray:
    """Document numbers of the first ``needed`` results in the requested order."""
    if matched is None:
        return np.zeros(0, dtype=np.int64)
    docs = np.flatnonzero(matched)
    coverage, relevance = scores.coverage, scores.relevance
    if sort != "relevance":
        dates = arrays.dates[docs]
        undated = dates == NO_DATE
        if sort == "date":
            keys = np.where(undated, np.iinfo(np.int64).max, -dates)
        else:
            keys = np.where(undated, np.iinfo(np.int64).max, dates)
        # Ties (and undated articles) by coverage, then relevance.
        return docs[np.lexsort((-relevance[docs], -coverage[docs], keys))][:needed]
    docs = _leaders(docs, coverage, relevance, max(needed, WEIGHTS.proximity_candidates))
    docs = _by_relevance(docs, coverage, relevance)
    if len(plan.plain_units) > 1:
        _proximity_bonus(arrays, docs[: WEIGHTS.proximity_candidates], plan, relevance)
        docs = _by_relevance(docs, coverage, relevance)
    return docs[:needed]


def _leaders(docs: np.ndarray, coverage: np.ndarray, relevance: np.ndarray, top: int) -> np.ndarray:
    """The ``top`` best documents by (coverage, relevance), and every one tied with the
    last of them, so that pages never depend on how a partition split a tie."""
    if docs.size <= top:
        return docs
    levels = coverage[docs]
    level = -np.partition(-levels, top - 1)[top - 1]
    above = docs[levels > level]
    tied = docs[levels == level]
    rel = relevance[tied]
    room = top - above.size
    cut = -np.partition(-rel, room - 1)[room - 1]
    return np.concatenate([above, tied[rel >= cut]])


def _by_relevance(docs: np.ndarray, coverage: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """More clauses matched first, then more relevant; ties in index order."""
    return docs[np.lexsort((docs, -relevance[docs], -coverage[docs]))]


def _proximity_bonus(
    arrays: IndexArrays, docs: np.ndarray, plan: Plan, relevance: np.ndarray
) -> None:
    """Lift documents whose headline has the query words close together and in order.

    Only the headline, and only for the leaders: the bonus reorders near-ties, and
    reading positions for the whole result set would cost more than the search.
    """
    wanted = [frozenset(unit.terms) for unit in plan.plain_units]
    surfaces = {unit.surface for unit in plan.plain_units}
    forms = FormFilter(frozenset().union(*wanted))
    for docnum in docs.tolist():
        matches = list(forms.matches(arrays.title(docnum), positions=True))
        exact = len(surfaces & {word.surface for word, _ in matches})
        relevance[docnum] += (
            WEIGHTS.proximity * _closeness(matches, wanted) + WEIGHTS.title_exact * exact
        )


def _closeness(matches, wanted: list[frozenset[str]]) -> float:
    """1.0 when all query words stand in order, each within a few words of the last."""
    positions = [[word.pos for word, hit in matches if terms & hit] for terms in wanted]
    if any(not p for p in positions):
        return 0.0
    window = len(wanted) + 1
    for start in positions[0]:
        current = start
        for later in positions[1:]:
            following = [p for p in later if current < p <= current + window]
            if not following:
                break
            current = following[0]
        else:
            return 1.0
    return 0.0
