"""The one search function that the CLI, the JSON API and the web page share.

A query is parsed (``query``), corrected (``correction``) and planned (``plan``);
documents are scored for all of the index at once (``ranking``): BM25 per field with
the title above the lead above the body, the best reading of an ambiguous word
counting once, plus an exact-form bonus. Documents that hold more of the query's
words come first, so that one lacking a word still appears below those that have
them all; among the leaders, words standing close and in order in the title or lead
lift a document further.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from whoosh import query as wq

from search import indexer
from search.correction import correct_words
from search.forms import FormFilter
from search.morphology import word_terms
from search.normalize import normalize_word
from search.plan import FIELD_BOOSTS, Plan, Planner, query_units
from search.query import AnyOf, ParsedQuery, Word, parse, parse_date_bound, plain_words
from search.ranking import NO_DATE, IndexArrays
from search.schema import decompress_text
from search.snippets import Highlighter

EXACT_BOOST = 0.3
PROXIMITY_BOOST = 1.5
PROXIMITY_CANDIDATES = 20
TITLE_EXACT_BOOST = 3.5  # each query word standing in the headline in the form typed
HEADLINE_FIELDS = ("title", "summary")
HEADLINE_WORD_BONUS = 40.0  # each query word the headline (or the lead) holds
LEAD_SHARE = 0.9  # a word in the lead counts a little less than in the headline
#: CPU seconds of its own thread a query may spend scoring; clauses left when it runs out
#: are not scored (``timed_out``). CPU time, not wall time: a busy server must not change
#: what a query finds, only an expensive query is cut short.
SCORING_BUDGET_SECONDS = 0.75
PREFIX_SCAN_TERMS = 1000  # indexed terms read for a prefix, before the commonest are kept
MAX_PER_PAGE = 100
MAX_PAGE = 1000
SORTS = ("relevance", "date", "date_asc")
REFRESH_SECONDS = 1.0
SCORED_FIELDS = (*FIELD_BOOSTS, "exact")


class SearchError(ValueError):
    """A request that cannot be searched (bad page, sort, date...): the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SearchRequest:
    q: str
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    source: str | None = None
    topic: str | None = None
    tag: str | None = None
    facets: bool = True
    correct: bool = True
    typing: bool = False  # the last word is still being typed: a prefix, never corrected

    def validate(self) -> None:
        if not isinstance(self.page, int) or not 1 <= self.page <= MAX_PAGE:
            raise SearchError("bad_page", f"page must be a whole number from 1 to {MAX_PAGE}")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise SearchError(
                "bad_per_page", f"per_page must be a whole number from 1 to {MAX_PER_PAGE}"
            )
        if self.sort not in SORTS:
            raise SearchError("bad_sort", f"sort must be one of: {', '.join(SORTS)}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise SearchError("bad_date", "the start date is after the end date")


def parse_date_option(value: str | None, last: bool) -> dt.date | None:
    """A ``from``/``to`` option (YYYY, YYYY-MM or YYYY-MM-DD); SearchError when malformed."""
    if value is None or not value.strip():
        return None
    bound = parse_date_bound(value, last)
    if bound is None:
        raise SearchError("bad_date", f"bad date {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    return bound


class _IndexVocabulary:
    """The correction module's view of the index."""

    def __init__(self, arrays: IndexArrays):
        self.arrays = arrays
        self._masks: dict[str, np.ndarray] = {}

    def frequency(self, form: str) -> int:
        found = self.arrays.surface_frequency(form)
        return self.arrays.term_frequency("exact", form) if found is None else found

    def lemma_frequency(self, form: str) -> int:
        return max((self.arrays.term_frequency("text", t) for t in word_terms(form)), default=0)

    def within_two(self, form: str) -> list[str]:
        return self.arrays.terms_within("exact", form, 2, prefix=2)

    def together(self, form: str, others: list[str]) -> int:
        found = self._mask(form)
        for other in others:
            mask = self._mask(other)
            if mask.any():  # another typo finds nothing, and must not hide the rest
                found = found & mask
        return int(found.sum())

    def _mask(self, form: str) -> np.ndarray:
        """Live articles holding a lemma of the word in any scored field (kept per query)."""
        mask = self._masks.get(form)
        if mask is None:
            mask = np.zeros(self.arrays.size, dtype=bool)
            for word in query_units(form):
                for term in word.terms:
                    for field_name in FIELD_BOOSTS:
                        mask[self.arrays.postings(field_name, term).ids] = True
            mask = self._masks[form] = mask & self.arrays.alive
        return mask


class SearchEngine:
    """An index folder opened for searching; the searcher is reused and reopened on change."""

    def __init__(self, root: Path, warm_suggestions: bool = False):
        """``warm_suggestions``: build the completion vocabulary in the background
        whenever the index is (re)opened, as a server wants; the CLI does not."""
        self.root = Path(root)
        self.warm_suggestions = warm_suggestions
        self._lock = threading.Lock()
        self._arrays: IndexArrays | None = None
        self._live: Path | None = None
        self._checked = 0.0

    def arrays(self) -> IndexArrays:
        """The current searcher and its arrays, reopened when the index was rebuilt or updated.

        One thread reopens while the others go on with the arrays they have, so an
        update never stalls the requests in flight.
        """
        current = self._arrays
        if current is not None and time.monotonic() - self._checked < REFRESH_SECONDS:
            return current
        if not self._lock.acquire(blocking=current is None):
            return current
        try:
            current = self._arrays
            self._checked = time.monotonic()
            live = indexer.live_dir(self.root)
            if current is not None and live == self._live and current.is_current():
                return current
            # A fresh searcher, never a refreshed one: requests in flight go on reading
            # the old one (see ``indexer.LiveIndex``).
            searcher = indexer.open_live(self.root).searcher()
            self._arrays = IndexArrays(searcher, SCORED_FIELDS)
            self._live = live
            if self.warm_suggestions:
                threading.Thread(target=self._arrays.vocabulary, daemon=True).start()
            return self._arrays
        finally:
            self._lock.release()

    # -- search --------------------------------------------------------------------

    def search(self, request: SearchRequest) -> dict:
        """Run a search; the result is the JSON object of the API."""
        started = time.perf_counter()
        request.validate()
        arrays = self.arrays()
        parsed, typed = _parse(request.q, request.typing)
        corrected, did_you_mean = None, None
        if request.correct:
            words = [w for w in plain_words(parsed.root) if w is not typed]
            fix = correct_words(request.q, words, _IndexVocabulary(arrays))
            corrected, did_you_mean = fix.text, fix.did_you_mean
            if corrected:
                parsed, _ = _parse(corrected, request.typing)
        plan = Planner(_prefix_expander(arrays)).build(parsed)
        scores = _score(arrays, plan, time.thread_time() + SCORING_BUDGET_SECONDS)
        matched = scores.matched
        if matched is None:
            matched = arrays.alive.copy() if _has_filters(request, parsed) else None
        if matched is not None:
            matched &= self._filter_mask(arrays, request, parsed)
        first = (request.page - 1) * request.per_page
        order = _order(arrays, plan, matched, scores, request.sort, first + request.per_page)
        highlighter = Highlighter(
            frozenset(plan.highlight_terms), frozenset(plan.highlight_surfaces)
        )
        hits = [
            self._hit(arrays, int(d), float(scores.relevance[d]), highlighter)
            for d in order[first : first + request.per_page]
        ]
        total = int(matched.sum()) if matched is not None else 0
        result = {
            "query": request.q,
            "corrected_query": corrected,
            "did_you_mean": did_you_mean,
            "total": total,
            "total_full": scores.full_count(matched) if matched is not None else 0,
            "page": request.page,
            "per_page": request.per_page,
            "took_ms": 0.0,
            "timed_out": scores.timed_out,
            "hits": hits,
            "facets": _facets(arrays, matched) if request.facets else {},
        }
        result["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return result

    def _filter_mask(self, arrays: IndexArrays, request: SearchRequest, parsed) -> np.ndarray:
        mask = arrays.alive.copy()
        for name, value in (
            ("source", request.source or parsed.filters.get("source")),
            ("topic", request.topic or parsed.filters.get("topic")),
        ):
            if value:
                codes, values = arrays.categories[name]
                wanted = value.strip().casefold()
                matching = [i for i, v in enumerate(values) if v.casefold() == wanted]
                mask &= np.isin(codes, matching)
        tag = request.tag or parsed.filters.get("tag")
        if tag:
            mask &= arrays.matching(wq.Term("tags", tag.strip().lower()))
        start = request.date_from or parsed.date_from
        end = request.date_to or parsed.date_to
        if start:
            mask &= (arrays.dates >= start.toordinal()) & (arrays.dates != NO_DATE)
        if end:
            mask &= (arrays.dates <= end.toordinal()) & (arrays.dates != NO_DATE)
        return mask

    def _hit(self, arrays: IndexArrays, docnum: int, score: float, hl: Highlighter) -> dict:
        stored = arrays.stored_fields(docnum)
        text = decompress_text(stored.get("text_zlib"))
        title = stored.get("title", "")
        return {
            "id": stored["id"],
            "title": title,
            "title_html": hl.mark(title),
            "snippet_html": hl.snippet(text, fallback=stored.get("summary", "")),
            "url": stored.get("url", ""),
            "date": _date_text(stored.get("date")),
            "source": stored.get("source", ""),
            "topic": stored.get("topic", ""),
            "tags": _tags(stored.get("tags")),
            "score": round(score, 4),
        }

    # -- other endpoints -----------------------------------------------------------

    def suggest(self, text: str, limit: int = 10) -> list[str]:
        """Completions of the last word of ``text`` from the index vocabulary, commonest first."""
        words = text.split()
        if not words or text[-1:].isspace():
            return []
        last = normalize_word(words[-1])
        if len(last) < 2 or not last.isalpha():
            return []
        head = text[: len(text) - len(words[-1])]
        return [head + word for word in self.arrays().completions(last, limit)]

    def document(self, article_id: str, q: str = "") -> dict | None:
        """The stored article with the given id (its text marked for ``q``), or None."""
        arrays = self.arrays()
        docnum = arrays.document_number(article_id)
        if docnum is None:
            return None
        stored = arrays.stored_fields(docnum)
        text = decompress_text(stored.get("text_zlib"))
        doc = {
            "id": stored["id"],
            "title": stored.get("title", ""),
            "summary": stored.get("summary", ""),
            "text": text,
            "url": stored.get("url", ""),
            "date": _date_text(stored.get("date")),
            "source": stored.get("source", ""),
            "topic": stored.get("topic", ""),
            "tags": _tags(stored.get("tags")),
        }
        if q:
            plan = Planner(_prefix_expander(arrays)).build(parse(q))
            hl = Highlighter(frozenset(plan.highlight_terms), frozenset(plan.highlight_surfaces))
            doc["title_html"] = hl.mark(doc["title"])
            doc["summary_html"] = hl.mark(doc["summary"])
            doc["text_html"] = hl.mark(text)
        return doc

    def health(self) -> dict:
        arrays = self.arrays()
        return {
            "status": "ok",
            "documents": arrays.documents,
            "index_built_at": indexer.read_meta(self.root).get("built_at"),
        }


# -- scoring and order -------------------------------------------------------------


@dataclass
class _Scores:
    """What scoring found: ``coverage`` (clauses matched) ranks before ``relevance``."""

    matched: np.ndarray | None
    coverage: np.ndarray
    relevance: np.ndarray
    clauses: int = 0  # clauses scored
    timed_out: bool = False  # the budget ran out before every clause was scored

    def full_count(self, matched: np.ndarray) -> int:
        """Matching articles that hold every scored clause."""
        if not self.clauses:
            return int(matched.sum())
        return int((matched & (self.coverage >= self.clauses)).sum())


def _score(arrays: IndexArrays, plan: Plan, deadline: float) -> _Scores:
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
            return _Scores(None, coverage, relevance)
        # Only exclusions ("-война"): everything else.
        return _Scores(arrays.alive & ~arrays.matching(plan.excluded), coverage, relevance)
    required = arrays.alive.copy()
    optional = np.zeros(size, dtype=bool)
    has_optional = timed_out = False
    in_field = {name: np.zeros(size, dtype=np.float64) for name in HEADLINE_FIELDS}
    scored = 0
    for clause in plan.clauses:
        if scored and time.thread_time() > deadline:
            timed_out = True
            break
        score, mask, clause_in = _score_clause(arrays, clause)
        for name, found in clause_in.items():
            in_field[name] += found
        relevance += score * mask
        coverage += mask
        scored += 1
        if clause.required:
            required &= mask
        else:
            optional |= mask
            has_optional = True
    matched = required & (optional if has_optional else True)
    if plan.excluded is not None:
        matched &= ~arrays.matching(plan.excluded)
    for unit in plan.plain_units:
        ids, weights = arrays.bm25("exact", unit.surface)
        relevance[ids] += EXACT_BOOST * weights
    # Query words gathered in the headline or the lead: what a searcher remembers.
    gathered = np.maximum(in_field["title"], in_field["summary"] * LEAD_SHARE)
    relevance += gathered * HEADLINE_WORD_BONUS
    relevance[~matched] = 0.0
    coverage[~matched] = 0
    return _Scores(matched, coverage, relevance, scored, timed_out)


def _score_clause(
    arrays: IndexArrays, clause
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One clause's BM25F score, the documents it matches, and where its words stand."""
    size = arrays.size
    score = np.zeros(size, dtype=np.float64)
    clause_in = {name: np.zeros(size, dtype=bool) for name in HEADLINE_FIELDS}
    own = np.zeros(size, dtype=bool)
    for word in clause.words:
        for field_name in word.fields:
            best = np.zeros(size, dtype=np.float32)
            for term in word.terms:
                ids, weights = arrays.bm25(field_name, term)
                best[ids] = np.maximum(best[ids], weights)
            score += FIELD_BOOSTS.get(field_name, 1.0) * word.weight * best
            if word.matches:
                own |= best > 0
                if field_name in clause_in:
                    clause_in[field_name] |= best > 0
    if clause.match is None:
        mask = own
        if clause.also is not None:
            mask |= arrays.matching(clause.also)
    else:
        mask = arrays.matching(clause.match)
    return score, mask, clause_in


def _order(
    arrays: IndexArrays,
    plan: Plan,
    matched: np.ndarray | None,
    scores: _Scores,
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
    docs = _leaders(docs, coverage, relevance, max(needed, PROXIMITY_CANDIDATES))
    docs = _by_relevance(docs, coverage, relevance)
    if len(plan.plain_units) > 1:
        _proximity_bonus(arrays, docs[:PROXIMITY_CANDIDATES], plan, relevance)
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


def _parse(text: str, typing: bool) -> tuple[ParsedQuery, Word | None]:
    """The parsed query and, while the last word is still being typed, that word.

    A half-typed word («санкц», «перег») is not a typo: it is searched as typed or as
    the start of a lemma (``санкц | санкц*``) and is never corrected.
    """
    parsed = parse(text)
    items = parsed.root.items
    if not typing or not items or text[-1:].isspace():
        return parsed, None
    last = items[-1]
    if (
        not isinstance(last, Word)
        or last.exact
        or last.prefix
        or last.field
        or len(last.text) < 2
        or not text.endswith(last.text)
    ):
        return parsed, None
    items[-1] = AnyOf([last, Word(last.text, prefix=True)])
    return parsed, last


# -- helpers -------------------------------------------------------------------------


def _prefix_expander(arrays: IndexArrays):
    def expand(field_name: str, prefix: str) -> list[str]:
        return arrays.expand_prefix(field_name, prefix, PREFIX_SCAN_TERMS)

    return expand


def _has_filters(request: SearchRequest, parsed) -> bool:
    return bool(
        request.source
        or request.topic
        or request.tag
        or request.date_from
        or request.date_to
        or parsed.filters
        or parsed.date_from
        or parsed.date_to
    )


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
            PROXIMITY_BOOST * _closeness(matches, wanted) + TITLE_EXACT_BOOST * exact
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


def _facets(arrays: IndexArrays, matched: np.ndarray | None) -> dict:
    if matched is None:
        return {"source": [], "topic": [], "year": [], "undated": 0}
    return {
        "source": arrays.facet_counts("source", matched),
        "topic": arrays.facet_counts("topic", matched),
        "year": arrays.year_counts(matched),
        "undated": int((matched & (arrays.dates == NO_DATE)).sum()),
    }


def _date_text(value) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return None


def _tags(value) -> list[str]:
    if not value:
        return []
    return [t for t in value.split(",") if t]
