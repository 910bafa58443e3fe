"""Ranking: how well each document answers a plan, and the order of the results.

What a query matches, and how many of its clauses each document holds, is worked out
for the whole index at once with NumPy masks (``ranking.IndexArrays``); relevance only
for the documents that can lead (``Scores``): BM25 per field with the title above the
lead above the body (BM25F), the best reading of an ambiguous word counting once, plus
the form typed. A document holding more of the query's clauses ranks first whatever its
score (coverage, then relevance, sorted apart with a lexsort: a single float packing
both wrapped around on long queries).
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
from search.postings import Postings
from search.ranking import NO_DATE, IndexArrays
from search.weights import WEIGHTS, TopicWeights

HEADLINE_FIELDS = ("title", "summary")
# Relevance asked for is kept for later questions up to this many documents (the leaders
# of a search, then its hits).
_KEPT_SCORES = 10_000
# A level of coverage with more than this many documents a place is pruned by the bounds
# of relevance (``Scores.may_reach``).
_PRUNE_FACTOR = 8


@dataclass(frozen=True)
class _Part:
    """One word's BM25 in one field, weighed only when asked for: the best of its
    readings (``(postings, k1, b)``), times ``factor``, and only where clause ``clause``
    matches (None: everywhere, as the bonus of the form typed)."""

    field: str
    readings: list[tuple[Postings, float, float]]
    factor: float
    clause: int | None


@dataclass
class Scores:
    """What scoring found: ``coverage`` (clauses matched) ranks before relevance.

    Relevance (BM25F plus bonuses) is worked out only for the documents asked about
    (:meth:`relevance_of`): the leaders of a search, its hits. Weighing every posting
    of every word, and adding them up over the index, was most of a search at a million
    articles: a common word's postings in the body are 870,000, and 100 known-item
    queries weighed 960,000 postings each, while their leaders were a few hundred
    documents. What a search must count whole (its total, its facets) needs the
    matches, which are masks.
    """

    matched: np.ndarray | None
    coverage: np.ndarray
    clauses: int = 0  # clauses scored
    timed_out: bool = False  # the budget ran out before every clause was scored
    # Each scored clause's text and the documents it matches, to tell what a hit lacks.
    clause_masks: list[tuple[str, np.ndarray]] = field(default_factory=list)
    arrays: IndexArrays | None = None
    parts: list[_Part] = field(default_factory=list)
    # Per headline field, each clause's documents with one of its words there.
    in_field: dict[str, list[np.ndarray]] = field(default_factory=dict)
    headline_word: float = WEIGHTS.headline_word
    # The proximity bonus of the leaders (``order``), by document.
    bonus: dict[int, float] = field(default_factory=dict)
    # Relevance without the bonus, of the documents asked about so far.
    _known: dict[int, float] = field(default_factory=dict)

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

    def relevance_of(self, docs: np.ndarray) -> np.ndarray:
        """The relevance (float64) of each of ``docs`` (distinct document numbers), 0
        for those not matched, with the proximity bonus of those that have one."""
        docs = np.asarray(docs, dtype=np.int64)
        ascending = np.argsort(docs, kind="stable")
        relevance = np.empty(docs.size, dtype=np.float64)
        relevance[ascending] = self._base(docs[ascending])
        if len(self._known) + docs.size <= _KEPT_SCORES:  # (not an export's every row)
            self._known.update(zip(docs.tolist(), relevance.tolist(), strict=True))
        if self.bonus:
            for at, docnum in enumerate(docs.tolist()):
                extra = self.bonus.get(docnum)
                if extra is not None:
                    relevance[at] += extra
        return relevance

    def score_of(self, docnum: int) -> float:
        """One document's relevance: kept from the leaders a search ordered."""
        base = self._known.get(docnum)
        if base is None:
            return float(self.relevance_of(np.array([docnum]))[0])
        extra = self.bonus.get(docnum)
        return base if extra is None else base + extra

    def may_reach(self, docs: np.ndarray, room: int) -> np.ndarray:
        """Those of ``docs`` (ascending, all of one coverage) whose relevance may be
        among the ``room`` best of them, ties included: the others surely fall short.

        MaxScore's bound over a candidate list: no BM25 weight reaches ``idf * (k1 +
        1)``, so a part's weight is bounded before it is worked out. The headline bonus
        is added first, then the parts from the largest bound down (a rare word's, whose
        postings are few and quick to look up, before a common one's), and after each,
        a document whose score so far plus the bounds of the parts still to come is
        below the ``room``-th best score so far is dropped. At a million articles a
        query's level of most coverage held up to 918,000 documents, and weighing all
        of them took up to 90 ms.
        """
        if self.arrays is None or self.matched is None:
            return docs
        arrays = self.arrays
        bounds = [
            max(part.factor, 0.0) * max(arrays.bm25_bound(p, k1) for p, k1, _ in part.readings)
            for part in self.parts
        ]
        partial = self._headline(docs)
        remaining = sum(bounds)
        for at in np.argsort(bounds)[::-1].tolist():
            best = -np.partition(-partial, room - 1)[room - 1]
            # (a margin for the rounding of float32 weights summed in another order)
            keep = partial + remaining * (1 + 1e-4) + 1e-6 >= best
            docs, partial = docs[keep], partial[keep]
            if docs.size <= room * _PRUNE_FACTOR:
                break
            partial += self._part_scores(self.parts[at], docs)
            remaining -= bounds[at]
        return docs

    def _part_scores(self, part: _Part, docs: np.ndarray) -> np.ndarray:
        """A part's score (float32) at each of ``docs``: the best of its readings, where
        its clause matches."""
        best = np.zeros(docs.size, dtype=np.float32)
        for postings, k1, b in part.readings:
            weights = self.arrays.bm25_weights(part.field, postings, k1, b, docs)
            if len(part.readings) == 1:
                best = weights
            else:
                np.maximum(best, weights, out=best)
        scores = part.factor * best
        if part.clause is None:
            return scores
        return scores * self.clause_masks[part.clause][1][docs]

    def _headline(self, docs: np.ndarray) -> np.ndarray:
        """The bonus (float64) of query words gathered in the headline or the lead."""
        if not self.in_field:
            return np.zeros(docs.size, dtype=np.float64)
        counts = {name: np.zeros(docs.size, dtype=np.int32) for name in HEADLINE_FIELDS}
        for name, found in self.in_field.items():
            for mask in found:
                counts[name] += mask[docs]
        gathered = np.maximum(counts["title"], counts["summary"] * WEIGHTS.lead_share)
        return gathered * self.headline_word

    def _base(self, docs: np.ndarray) -> np.ndarray:
        """BM25F of the parts, then the bonus of words gathered in the headline: added
        in the order a whole-index sum took, so each value is the same to the bit."""
        relevance = np.zeros(docs.size, dtype=np.float64)
        if self.arrays is None or self.matched is None or docs.size == 0:
            return relevance
        for part in self.parts:
            relevance += self._part_scores(part, docs)
        relevance += self._headline(docs)
        relevance[~self.matched[docs]] = 0.0
        return relevance


def score(arrays: IndexArrays, plan: Plan, deadline: float) -> Scores:
    """The matching documents and their coverage, with what their relevance (BM25F +
    bonuses) is made of.

    Clauses are scored in query order until ``deadline`` (``time.thread_time``): a query
    that would take seconds (thousands of expanded terms) answers with what its first
    clauses found, flagged ``timed_out``.
    """
    size = arrays.size
    # (int16: a query has far fewer clauses; adding a clause's mask takes 0.15 ms at a
    # million articles, 0.38 ms in int32)
    coverage = np.zeros(size, dtype=np.int16)
    if plan.empty:
        if plan.excluded is None:
            return Scores(None, coverage)
        # Only exclusions ("-война"): everything else.
        return Scores(arrays.alive & ~arrays.matching(plan.excluded), coverage)
    required = arrays.alive.copy()
    optional = np.zeros(size, dtype=bool)
    has_optional = timed_out = False
    # Where each clause has a word: in the headline, in the lead (``Scores._base``).
    in_field: dict[str, list[np.ndarray]] = {name: [] for name in HEADLINE_FIELDS}
    # A query of one item asks for a topic, not for one article (``WEIGHTS.topic``).
    topic = WEIGHTS.topic if len(plan.clauses) == 1 else None
    parts: list[_Part] = []
    clause_masks: list[tuple[str, np.ndarray]] = []
    known: dict = {}  # masks of the Whoosh queries matched so far (phrases repeat)
    for clause in plan.clauses:
        if clause_masks and time.thread_time() > deadline:
            timed_out = True
            break
        mask = _score_clause(arrays, clause, known, topic, len(clause_masks), parts, in_field)
        coverage += mask
        clause_masks.append((clause.text, mask))
        if clause.required:
            required &= mask
        else:
            optional |= mask
            has_optional = True
    matched = required & (optional if has_optional else True)
    if plan.excluded is not None:
        matched &= ~arrays.matching(plan.excluded, known)
    for unit in plan.plain_units:
        postings = arrays.postings("exact", unit.surface)
        if postings.df:
            readings = [(postings, WEIGHTS.k1, WEIGHTS.b)]
            parts.append(_Part("exact", readings, WEIGHTS.exact_form, None))
    # 0 outside the matches: a product, as ``np.copyto(..., where=~matched)`` took 2-5 ms
    # at a million articles (a branch a document), the product 0.3 ms
    np.multiply(coverage, matched, out=coverage)
    return Scores(
        matched,
        coverage,
        len(clause_masks),
        timed_out,
        clause_masks,
        arrays,
        parts,
        in_field,
        topic.headline_word if topic else WEIGHTS.headline_word,
    )


def _score_clause(
    arrays: IndexArrays,
    clause: Clause,
    known: dict,
    topic: TopicWeights | None,
    number: int,
    parts: list[_Part],
    in_field: dict[str, list[np.ndarray]],
) -> np.ndarray:
    """The documents clause ``number`` matches; its words' postings, to be weighed later,
    go to ``parts`` (with ``topic``'s BM25 parameters and boosts where it has them), and
    where its words stand in the headline to ``in_field``."""
    size = arrays.size
    clause_in = {name: np.zeros(size, dtype=bool) for name in HEADLINE_FIELDS}
    own = np.zeros(size, dtype=bool)
    for word in clause.words:
        for field_name in word.fields:
            k1, b = WEIGHTS.k1, WEIGHTS.b
            if topic and field_name in topic.bm25:
                k1, b = topic.bm25[field_name]
            found = [arrays.postings(field_name, term) for term in word.terms]
            readings = [(postings, k1, b) for postings in found if postings.df]
            if not readings:
                continue
            boost = WEIGHTS.field_boosts.get(field_name, 1.0)
            if topic:
                boost = topic.field_boosts.get(field_name, boost)
            parts.append(_Part(field_name, readings, boost * word.weight, number))
            if word.matches:
                for postings, _, _ in readings:
                    postings.mark(own)
                    if field_name in clause_in:
                        postings.mark(clause_in[field_name])
    for name, found in clause_in.items():
        in_field[name].append(found)
    if clause.match is None:
        mask = own
        if clause.also is not None:
            # The synonym phrases count only where the words did not match already.
            mask |= arrays.matching(clause.also, known, among=~own)
    else:
        mask = arrays.matching(clause.match, known)
    return mask


def order(
    arrays: IndexArrays,
    plan: Plan,
    matched: np.ndarray | None,
    scores: Scores,
    sort: str,
    needed: int,
) -> np.ndarray:
    """Document numbers of the first ``needed`` results in the requested order; the
    proximity bonus of the leaders goes to ``scores.bonus``."""
    scores.bonus = {}
    if matched is None:
        return np.zeros(0, dtype=np.int64)
    if sort != "relevance":
        return _by_date(arrays, matched, scores, sort == "date", needed)
    coverage = scores.coverage
    top = max(needed, WEIGHTS.proximity_candidates)
    docs = _candidates(matched, scores, top)
    relevance = scores.relevance_of(docs)
    docs, relevance = _leaders(docs, coverage[docs], relevance, top)
    if len(plan.plain_units) > 1:
        near = docs[: WEIGHTS.proximity_candidates]
        scores.bonus = _proximity_bonus(arrays, near, plan)
        relevance[: near.size] += [scores.bonus[d] for d in near.tolist()]
        docs, relevance = _by_relevance(docs, coverage[docs], relevance)
    return docs[:needed]


def _by_date(
    arrays: IndexArrays, matched: np.ndarray, scores: Scores, latest: bool, needed: int
) -> np.ndarray:
    """The first ``needed`` matching documents by date (``latest`` first, or earliest),
    undated last; ties by coverage, then relevance."""
    docs = np.flatnonzero(matched)
    dates = arrays.dates[docs]
    keys = np.where(dates == NO_DATE, np.iinfo(np.int64).max, -dates if latest else dates)
    if needed < docs.size:  # only the first ``needed`` dates and their ties
        first = keys <= np.partition(keys, needed - 1)[needed - 1]
        docs, keys = docs[first], keys[first]
    relevance = scores.relevance_of(docs)
    return docs[np.lexsort((-relevance, -scores.coverage[docs], keys))][:needed]


def _candidates(matched: np.ndarray, scores: Scores, top: int) -> np.ndarray:
    """The matching documents that can be among the ``top`` best: those of the highest
    levels of coverage, down to the level of the ``top``-th; of that level, those that
    relevance may place among the best (``Scores.may_reach``).

    The levels are counted from the highest down, one comparison each, and only until
    ``top`` documents are reached: most known-item queries reach them at their highest
    level or the next. Most of them match 900,000 documents of a million, and counting
    every level at once (a ``bincount`` of the coverage) took 2-3 ms a query there.
    """
    coverage = scores.coverage  # 0 outside the matches (``SearchEngine.match``)
    higher = 0  # matching documents above the level
    for level in range(scores.clauses, 0, -1):
        tied = coverage == level
        count = int(np.count_nonzero(tied))
        if higher + count >= top:
            break
        higher += count
    else:  # fewer than ``top`` match a clause: the rest match none (level 0)
        if int(np.count_nonzero(matched)) <= top:
            return np.flatnonzero(matched)
        level, tied = 0, (coverage == 0) & matched
    tied = np.flatnonzero(tied)
    if tied.size > (top - higher) * _PRUNE_FACTOR:
        tied = scores.may_reach(tied, top - higher)
    if not higher:
        return tied
    return np.union1d(np.flatnonzero(coverage > level), tied)


def _leaders(
    docs: np.ndarray, coverage: np.ndarray, relevance: np.ndarray, top: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` best of ``docs`` by (coverage, relevance), and every one tied with the
    last of them, so that pages never depend on how a partition split a tie; best
    first."""
    if docs.size > top:
        level = -np.partition(-coverage, top - 1)[top - 1]
        above = coverage > level
        tied = np.flatnonzero(coverage == level)
        room = top - int(np.count_nonzero(above))
        cut = -np.partition(-relevance[tied], room - 1)[room - 1]
        keep = above
        keep[tied[relevance[tied] >= cut]] = True
        docs, coverage, relevance = docs[keep], coverage[keep], relevance[keep]
    return _by_relevance(docs, coverage, relevance)


def _by_relevance(
    docs: np.ndarray, coverage: np.ndarray, relevance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``docs`` (with their coverage and relevance) with more clauses matched first, then
    more relevant; ties in index order."""
    ordered = np.lexsort((docs, -relevance, -coverage))
    return docs[ordered], relevance[ordered]


def _proximity_bonus(arrays: IndexArrays, docs: np.ndarray, plan: Plan) -> dict[int, float]:
    """The lift of documents whose headline has the query words close together and in
    order.

    Only the headline, and only for the leaders: the bonus reorders near-ties, and
    reading positions for the whole result set would cost more than the search.
    """
    wanted = [frozenset(unit.terms) for unit in plan.plain_units]
    surfaces = {unit.surface for unit in plan.plain_units}
    forms = FormFilter(frozenset().union(*wanted))
    bonus = {}
    for docnum in docs.tolist():
        matches = list(forms.matches(arrays.title(docnum), positions=True))
        exact = len(surfaces & {word.surface for word, _ in matches})
        closeness = _closeness(matches, wanted)
        bonus[docnum] = WEIGHTS.proximity * closeness + WEIGHTS.title_exact * exact
    return bonus


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
