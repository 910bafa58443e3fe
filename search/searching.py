"""The one search function that the CLI, the JSON API and the web page share.

The path of a query: ``query`` parses it, ``correction`` fixes layout and typos
against the index (``vocabulary``), ``plan`` turns it into clauses of lemma terms and
Whoosh queries, ``ranker`` scores every document at once over ``ranking.IndexArrays``
and orders the leaders, and the hits are built here with ``snippets``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from whoosh import query as wq

from search import duplicates, layout, ranker, stories
from search.correction import correct_words
from search.plan import Plan, Planner
from search.query import AnyOf, ParsedQuery, Word, parse, parse_date_bound, plain_words
from search.ranking import NO_DATE, IndexArrays
from search.results import Copy, Document, Facets, Health, Hit, Record, SearchResult
from search.schema import decompress_text
from search.snippets import Highlighter
from search.suggest import suggestions
from search.vocabulary import IndexVocabulary
from search.weights import WEIGHTS

#: CPU seconds of its own thread a query may spend scoring; clauses left when it runs out
#: are not scored (``timed_out``). CPU time, not wall time: a busy server must not change
#: what a query finds, only an expensive query is cut short.
SCORING_BUDGET_SECONDS = 0.75
PREFIX_SCAN_TERMS = 1000  # indexed terms read for a prefix, before the commonest are kept
MAX_PER_PAGE = 100
MAX_PAGE = 1000
SORTS = ("relevance", "date", "date_asc")
#: How copies are shown: collapsed under the best of them (``duplicates``), and also the
#: articles of one story under its best (``story``), or each as a hit (``none``).
GROUPS = ("duplicates", "story", "none")
SIMILAR_ARTICLES = 5  # «Похожие материалы» of an article
#: Leaders grouped beyond those shown, where copies are looked for: a copy scores as its
#: original does, so it ranks beside it, and one within ``duplicates.LINK_WINDOW`` places
#: of its first is grouped with it. (A pool of ``needed`` + 100 cost 12% of a query in the
#: grouping; the pool grows whenever the last hit's copies may lie beyond it.)
COLLAPSE_POOL = duplicates.LINK_WINDOW + 1
REFRESH_SECONDS = 1.0
SCORED_FIELDS = (*WEIGHTS.field_boosts, "exact")

log = logging.getLogger(__name__)


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
    group: str = "duplicates"  # one of GROUPS

    def validate(self) -> None:
        if not isinstance(self.page, int) or not 1 <= self.page <= MAX_PAGE:
            raise SearchError("bad_page", f"page must be a whole number from 1 to {MAX_PAGE}")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise SearchError(
                "bad_per_page", f"per_page must be a whole number from 1 to {MAX_PER_PAGE}"
            )
        if self.sort not in SORTS:
            raise SearchError("bad_sort", f"sort must be one of: {', '.join(SORTS)}")
        if self.group not in GROUPS:
            raise SearchError("bad_group", f"group must be one of: {', '.join(GROUPS)}")
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


@dataclass
class Match:
    """A request's matching documents over one index generation, and their scores."""

    arrays: IndexArrays
    plan: Plan
    scores: ranker.Scores
    matched: np.ndarray | None  # None: nothing to match (an empty query)
    corrected: str | None = None
    did_you_mean: str | None = None

    @property
    def total(self) -> int:
        return int(self.matched.sum()) if self.matched is not None else 0


class SearchEngine:
    """An index folder opened for searching; the searcher is reused and reopened on change."""

    def __init__(self, root: Path):
        self.root = Path(root)
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
            live = layout.live_dir(self.root)
            if current is not None and live == self._live and current.is_current():
                return current
            # A fresh searcher, never a refreshed one: requests in flight go on reading
            # the old one (see ``layout.LiveIndex``).
            started = time.perf_counter()
            index = layout.open_live(self.root)
            folder = Path(index.storage.folder)
            self._arrays = IndexArrays(index.searcher(), SCORED_FIELDS, folder, current)
            self._live = live
            log.info(
                "opened %s: %d documents in %d segments in %.0f ms",
                live,
                self._arrays.documents,
                len(self._arrays.segments),
                (time.perf_counter() - started) * 1000,
            )
            return self._arrays
        finally:
            self._lock.release()

    # -- search --------------------------------------------------------------------

    def match(self, request: SearchRequest) -> Match:
        """What a request matches, scored: the part of a search that every view of the
        results (hits, timeline, terms, export, feed) shares."""
        request.validate()
        arrays = self.arrays()
        parsed, typed = _parse(request.q, request.typing)
        corrected, did_you_mean = None, None
        if request.correct:
            words = plain_words(parsed.root)
            fix = correct_words(request.q, words, IndexVocabulary(arrays), typing=typed)
            corrected, did_you_mean = fix.text, fix.did_you_mean
            if corrected:
                parsed, _ = _parse(corrected, request.typing)
        plan = Planner(_prefix_expander(arrays)).build(parsed)
        scores = ranker.score(arrays, plan, time.thread_time() + SCORING_BUDGET_SECONDS)
        matched = scores.matched
        if matched is None:
            matched = arrays.alive.copy() if _has_filters(request, parsed) else None
        filtered = self._filter_mask(arrays, request, parsed)
        if matched is not None and filtered is not None:
            matched &= filtered
            np.multiply(scores.coverage, filtered, out=scores.coverage)  # 0 outside the matches
        return Match(arrays, plan, scores, matched, corrected, did_you_mean)

    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search."""
        started = time.perf_counter()
        found = self.match(request)
        arrays, plan, scores, matched = found.arrays, found.plan, found.scores, found.matched
        first = (request.page - 1) * request.per_page
        needed = first + request.per_page
        groups = None
        if request.group == "none":
            order = ranker.order(arrays, plan, matched, scores, request.sort, needed)
            shown = [(int(d), []) for d in order[first:needed]]
        else:
            groups = _grouped(arrays, plan, matched, scores, request.sort, needed)
            leaders = groups.firsts()
            if request.group == "story":
                shown = stories.group(arrays.dates, groups, leaders)[first:needed]
            else:
                shown = [(int(d), []) for d in leaders[first:needed]]
        highlighter = _highlighter(plan)
        hits = [_hit(arrays, docnum, scores, highlighter, groups, story) for docnum, story in shown]
        return SearchResult(
            query=request.q,
            corrected_query=found.corrected,
            did_you_mean=found.did_you_mean,
            total=found.total,
            total_full=scores.full_count(matched) if matched is not None else 0,
            page=request.page,
            per_page=request.per_page,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            timed_out=scores.timed_out,
            dropped=plan.dropped,
            hits=hits,
            facets=_facets(arrays, matched) if request.facets else Facets(),
            collapsed=groups.collapsed if groups else 0,
        )

    def _filter_mask(
        self, arrays: IndexArrays, request: SearchRequest, parsed
    ) -> np.ndarray | None:
        """The live documents the request's filters let through; None without filters
        (what a query matches is live already)."""
        if not _has_filters(request, parsed):
            return None
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

    # -- other endpoints -----------------------------------------------------------

    def suggest(self, text: str, limit: int = 10) -> list[str]:
        """Tags that go on from the text, then one form of each word (``search.suggest``)."""
        return suggestions(self.arrays(), text, limit)

    def document(self, article_id: str, q: str = "") -> Document | None:
        """The stored article with the given id (its text marked for ``q``), or None."""
        arrays = self.arrays()
        docnum = arrays.document_number(article_id)
        if docnum is None:
            return None
        record = _record(arrays.stored_fields(docnum))
        plan = Planner(_prefix_expander(arrays)).build(parse(q)) if q else Plan()
        hl = _highlighter(plan)
        title, summary, text = (hl.mark(t) for t in (record.title, record.summary, record.text))
        texts = [record.title, record.text]
        candidates = stories.similar(arrays, docnum, texts, SIMILAR_ARTICLES + COLLAPSE_POOL)
        groups = duplicates.among(arrays, np.asarray([docnum, *candidates], dtype=np.int64))
        copies = groups.copies(docnum)
        copied = set(copies.tolist())
        similar = [d for d in candidates if d not in copied][:SIMILAR_ARTICLES]
        return Document(
            **asdict(record),
            title_marks=title.marks,
            summary_marks=summary.marks,
            text_marks=text.marks,
            duplicates=[_copy(arrays, int(d)) for d in copies],
            similar=[_copy(arrays, d) for d in similar],
        )

    def health(self) -> Health:
        arrays = self.arrays()
        return Health("ok", arrays.documents, layout.read_meta(self.root).get("built_at"))


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


def _highlighter(plan: Plan) -> Highlighter:
    return Highlighter(
        frozenset(plan.highlight_terms),
        frozenset(plan.highlight_surfaces),
        tuple(plan.highlight_phrases),
    )


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


def _facets(arrays: IndexArrays, matched: np.ndarray | None) -> Facets:
    return Facets() if matched is None else arrays.facets(matched)


def _record(stored: dict) -> Record:
    """An article's stored fields as a record (the one place that knows their names)."""
    date = stored.get("date")
    return Record(
        id=stored["id"],
        title=stored.get("title", ""),
        summary=stored.get("summary", ""),
        text=decompress_text(stored.get("text_zlib")),
        url=stored.get("url", ""),
        date=date.date() if isinstance(date, dt.datetime) else None,
        source=stored.get("source", ""),
        topic=stored.get("topic", ""),
        tags=[t for t in (stored.get("tags") or "").split(",") if t],
    )


def _grouped(
    arrays: IndexArrays,
    plan: Plan,
    matched: np.ndarray | None,
    scores: ranker.Scores,
    sort: str,
    needed: int,
) -> duplicates.Groups:
    """The duplicate groups among the leaders, enough of them for ``needed`` hits and for
    the copies of the last one (a copy ranks within ``duplicates.LINK_WINDOW`` of its
    best): the pool doubles until it holds them. The proximity bonus in ``scores`` is
    that of the last try's leaders."""
    pool = needed + COLLAPSE_POOL
    while True:
        order = ranker.order(arrays, plan, matched, scores, sort, pool)
        groups = duplicates.among(arrays, order)
        firsts = np.flatnonzero(groups.first == np.arange(order.size))
        last = firsts[needed - 1] if firsts.size >= needed else order.size
        if order.size < pool or last + duplicates.LINK_WINDOW < order.size:
            return groups
        pool *= 2


def _copy(arrays: IndexArrays, docnum: int) -> Copy:
    stored = arrays.stored_fields(docnum)
    date = stored.get("date")
    return Copy(
        id=stored["id"],
        title=stored.get("title", ""),
        source=stored.get("source", ""),
        date=date.date() if isinstance(date, dt.datetime) else None,
        url=stored.get("url", ""),
    )


def _hit(
    arrays: IndexArrays,
    docnum: int,
    scores: ranker.Scores,
    hl: Highlighter,
    groups: duplicates.Groups | None = None,
    story: list[int] | None = None,
) -> Hit:
    """A hit, with its copies when ``groups`` is given, and the other articles of its
    ``story``."""
    copies = groups.copies(docnum) if groups else []
    record = _record(arrays.stored_fields(docnum))
    title = hl.mark(record.title)
    snippet = hl.snippet(record.text, fallback=record.summary)
    return Hit(
        id=record.id,
        title=title.text,
        title_marks=title.marks,
        snippet=snippet.text,
        snippet_marks=snippet.marks,
        url=record.url,
        date=record.date,
        source=record.source,
        topic=record.topic,
        tags=record.tags,
        score=round(scores.score_of(docnum), 4),
        missing=scores.missing(docnum),
        duplicates=[_copy(arrays, int(d)) for d in copies],
        story=[_copy(arrays, d) for d in story or ()],
    )
