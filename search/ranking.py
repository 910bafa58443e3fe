"""Vectorized BM25F scoring, filters and facets over a Whoosh index.

Whoosh scores a query by walking a tree of matcher objects in Python, one document
at a time: 40-100 ms for a four-word query on this corpus, since each word becomes
an OR of lemma alternatives in three fields. Here each posting list is read once
into NumPy arrays (and kept, per index generation), and a query is scored for all
documents at once: a few milliseconds. Whoosh still reads the index, and still
matches what needs positions (phrases) or boolean structure (operators).

Whoosh readers are not thread-safe: their posting and stored-field files keep one
read position, so two threads reading at once corrupt each other (``zlib.error``,
``UnpicklingError``, ``EOFError``, or silently wrong totals on phrase and OR queries,
measured at concurrency 2 and up). Every read of the Whoosh searcher goes through
``IndexArrays`` and holds its lock; the searcher itself is not handed out. The lock
costs little: the work it guards is Python, which the GIL serializes anyway, and the
NumPy scoring around it runs unlocked.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.matching import FilterMatcher, ListMatcher
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long

from search.results import FacetCount
from search.weights import WEIGHTS

POSTINGS_CACHE_TERMS = 20_000
#: Private attributes of Whoosh's W3 leaf matcher that ``_read_postings`` relies on.
BLOCK_MATCHER_INTERNALS = (
    "_atend",
    "_read_ids",
    "_read_weights",
    "_ids",
    "_weights",
    "_next_block",
)
TITLE_CACHE_DOCS = 50_000  # headlines kept for the proximity bonus (about 10 MB)
NO_DATE = np.iinfo(np.int64).min
_MICROSECONDS_A_DAY = 86_400 * 10**6
_MAX_DATE_VALUE = datetime_to_long(dt.datetime(9999, 1, 1))


@dataclass
class Postings:
    ids: np.ndarray  # global document numbers, ascending
    tf: np.ndarray  # term frequency in the field


class IndexArrays:
    """Per-document arrays of one searcher generation: field lengths, liveness, columns."""

    def __init__(self, searcher: Searcher, fields: Iterable[str]):
        self._searcher = searcher
        self._reader = reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.leaves = _leaves(searcher) if self.size else []
        self.alive = np.ones(self.size, dtype=bool)
        for leaf, offset in self.leaves:
            if leaf.has_deletions():
                for docnum in range(leaf.doc_count_all()):
                    if leaf.is_deleted(docnum):
                        self.alive[offset + docnum] = False
        self.documents = int(self.alive.sum())
        self.lengths: dict[str, np.ndarray] = {}
        self.average_length: dict[str, float] = {}
        for name in fields:
            lengths = np.zeros(self.size, dtype=np.float32)
            for leaf, offset in self.leaves:
                for docnum in range(leaf.doc_count_all()):
                    lengths[offset + docnum] = leaf.doc_field_length(docnum, name, 0) or 0
            self.lengths[name] = lengths
            alive_lengths = lengths[self.alive]
            self.average_length[name] = float(alive_lengths.mean()) if alive_lengths.size else 1.0
        self.categories = {name: self._categories(name) for name in ("source", "topic")}
        self.dates = self._dates()
        self._postings: OrderedDict[tuple[str, str], Postings] = OrderedDict()
        self._vocabulary: tuple[list[str], np.ndarray] | None = None
        self._surface_frequencies: dict[str, int] | None = None
        self._titles: OrderedDict[int, str] = OrderedDict()
        self._year_of: np.ndarray | None = None
        self._vocabulary_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._whoosh = threading.RLock()  # every read of the searcher (see the module doc)

    # -- columns -------------------------------------------------------------------

    def _categories(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Codes per document (-1: none) and the values they stand for."""
        codes = np.full(self.size, -1, dtype=np.int32)
        values: list[str] = []
        index: dict[str, int] = {}
        for leaf, offset in self.leaves:
            column = leaf.column_reader(name)
            for docnum in range(leaf.doc_count_all()):
                value = column[docnum]
                if isinstance(value, bytes):
                    value = value.decode("utf-8")
                if not value:
                    continue
                code = index.get(value)
                if code is None:
                    code = index[value] = len(values)
                    values.append(value)
                codes[offset + docnum] = code
        return codes, values

    def _dates(self) -> np.ndarray:
        """Dates as proleptic ordinals (NO_DATE when unknown).

        Read raw: Whoosh stores a datetime as microseconds since ``datetime.min``,
        and an article without a date as an out-of-range default.
        """
        dates = np.full(self.size, NO_DATE, dtype=np.int64)
        for leaf, offset in self.leaves:
            column = leaf.column_reader("date", translate=False)
            raw = np.fromiter((column[d] for d in range(leaf.doc_count_all())), dtype=np.uint64)
            valid = (raw > 0) & (raw < _MAX_DATE_VALUE)
            ordinals = (raw // _MICROSECONDS_A_DAY).astype(np.int64) + 1
            dates[offset : offset + raw.size] = np.where(valid, ordinals, NO_DATE)
        return dates

    # -- postings ------------------------------------------------------------------

    def postings(self, field: str, term: str) -> Postings:
        """A term's postings over all live documents of all segments (cached)."""
        key = (field, term)
        with self._cache_lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
                return found
        ids_parts, tf_parts = [], []
        with self._whoosh:
            for leaf, offset in self.leaves:
                if (field, term) not in leaf:
                    continue
                ids, tf = _read_postings(leaf.postings(field, term))
                ids_parts.append(ids + offset)
                tf_parts.append(tf)
        if ids_parts:
            ids, tf = np.concatenate(ids_parts), np.concatenate(tf_parts)
            live = self.alive[ids]
            found = Postings(ids[live], tf[live])
        else:
            found = Postings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        with self._cache_lock:
            self._postings[key] = found
            if len(self._postings) > POSTINGS_CACHE_TERMS:
                self._postings.popitem(last=False)
        return found

    def vocabulary(self) -> tuple[list[str], np.ndarray]:
        """The surface forms of the index, sorted, with their document frequencies.

        Built on first use (about a second for the shared corpus) and kept for this
        index generation: completions on every keystroke then cost a bisection.
        """
        with self._vocabulary_lock:
            if self._vocabulary is None:
                frequencies: dict[str, int] = {}
                # Leaf by leaf: Whoosh's merged iteration over segments is slower.
                for leaf, _ in self.leaves:
                    with self._whoosh:
                        for term, info in leaf.iter_field("exact"):
                            word = term.decode("utf-8") if isinstance(term, bytes) else term
                            frequencies[word] = frequencies.get(word, 0) + info.doc_frequency()
                terms = sorted(frequencies)
                counts = np.fromiter((frequencies[t] for t in terms), dtype=np.int64)
                self._vocabulary = (terms, counts)
                self._surface_frequencies = frequencies
            return self._vocabulary

    def title(self, docnum: int) -> str:
        """A document's title, kept once read: the leaders of many queries are the same
        articles, and reading the stored fields decompresses the whole record."""
        with self._cache_lock:
            title = self._titles.get(docnum)
            if title is not None:
                self._titles.move_to_end(docnum)
                return title
        title = self.stored_fields(docnum).get("title") or ""
        with self._cache_lock:
            self._titles[docnum] = title
            if len(self._titles) > TITLE_CACHE_DOCS:
                self._titles.popitem(last=False)
        return title

    # -- reads of the Whoosh searcher, one thread at a time -----------------------

    def stored_fields(self, docnum: int) -> dict:
        with self._whoosh:
            return self._searcher.stored_fields(docnum)

    def document_number(self, article_id: str) -> int | None:
        with self._whoosh:
            return self._searcher.document_number(id=article_id)

    def matching(self, query: wq.Query, known: dict | None = None) -> np.ndarray:
        """The live documents a Whoosh query matches, as a mask.

        Its boolean structure is evaluated here, on masks: terms from the cached
        postings, ``Or``/``And``/``Not`` as array operations. Only what needs positions
        (phrases) goes to Whoosh, once each: ``known`` holds the masks already worked
        out for one search. Whoosh's matcher tree walks the documents in Python, one
        skip at a time: a 1,000-character query of nested groups and synonym phrases
        took 11-16 s that way.
        """
        known = {} if known is None else known
        found = known.get(query)
        if found is None:
            found = known[query] = self._evaluate(query, known)
        return found

    def _evaluate(self, query: wq.Query, known: dict) -> np.ndarray:
        if isinstance(query, wq.Term):
            mask = np.zeros(self.size, dtype=bool)
            mask[self.postings(query.fieldname, query.text).ids] = True
            return mask
        if isinstance(query, (wq.Or, wq.And)) and query.subqueries:
            masks = [self.matching(q, known) for q in query.subqueries]
            combine = np.logical_or if isinstance(query, wq.Or) else np.logical_and
            return combine.reduce(masks)
        if isinstance(query, wq.Not):
            return self.alive & ~self.matching(query.query, known)
        with self._whoosh:  # phrases, and anything else: Whoosh matches it
            return self.docs_mask(self._searcher.docs_for_query(query))

    def term_frequency(self, field: str, term: str) -> int:
        """Live documents holding the term (Whoosh's term table)."""
        with self._whoosh:
            return self._reader.doc_frequency(field, term)

    def terms_within(self, field: str, text: str, distance: int, prefix: int) -> list[str]:
        with self._whoosh:
            return list(self._reader.terms_within(field, text, distance, prefix=prefix))

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` indexed terms starting with ``prefix``, commonest first."""
        terms: list[str] = []
        with self._whoosh:
            for term in self._reader.expand_prefix(field, prefix):
                terms.append(term.decode("utf-8") if isinstance(term, bytes) else term)
                if len(terms) >= limit:
                    break
            frequency = {t: self._reader.doc_frequency(field, t) for t in terms}
        terms.sort(key=lambda t: -frequency[t])
        return terms

    def is_current(self) -> bool:
        with self._whoosh:
            return self._searcher.up_to_date()

    def surface_frequency(self, form: str) -> int | None:
        """Articles holding the surface form, from the vocabulary once it is built (a dict
        lookup, where Whoosh reads its term table), else None."""
        frequencies = self._surface_frequencies
        return None if frequencies is None else frequencies.get(form, 0)

    def completions(self, prefix: str, limit: int) -> list[str]:
        """The most frequent indexed forms starting with ``prefix`` (not the prefix itself)."""
        terms, counts = self.vocabulary()
        start = bisect_left(terms, prefix)
        end = bisect_left(terms, prefix + "\U0010ffff", lo=start)
        if terms[start : start + 1] == [prefix]:
            start += 1
        if start >= end:
            return []
        window = counts[start:end]
        best = np.argsort(-window, kind="stable")[:limit]
        return [terms[start + int(i)] for i in best]

    def bm25(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers holding the term and their BM25 weight in the field."""
        postings = self.postings(field, term)
        if postings.ids.size == 0:
            return postings.ids, postings.tf
        df = postings.ids.size
        idf = math.log(1 + (self.documents - df + 0.5) / (df + 0.5))
        lengths = self.lengths[field][postings.ids]
        k1, b = WEIGHTS.k1, WEIGHTS.b
        norm = k1 * (1 - b + b * lengths / max(self.average_length[field], 1.0))
        tf = postings.tf
        return postings.ids, (idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32)

    def docs_mask(self, docnums: Iterable[int]) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        ids = np.fromiter(docnums, dtype=np.int64)
        if ids.size:
            mask[ids] = True
        return mask

    def facet_counts(self, name: str, mask: np.ndarray) -> list[FacetCount]:
        codes, values = self.categories[name]
        selected = codes[mask]
        counts = np.bincount(selected[selected >= 0], minlength=len(values))
        found = [FacetCount(values[code], int(count)) for code, count in enumerate(counts) if count]
        found.sort(key=lambda item: (-item.count, item.value))
        return found

    def year_counts(self, mask: np.ndarray) -> list[FacetCount]:
        years = self._years()
        selected = years[mask]
        selected = selected[selected > 0]
        if selected.size == 0:
            return []
        first = int(selected.min())
        counts = np.bincount(selected - first)
        return [
            FacetCount(first + int(offset), int(counts[offset]))
            for offset in np.flatnonzero(counts)[::-1]
        ]

    def _years(self) -> np.ndarray:
        """The year of each document (0 when undated), worked out once per generation."""
        if self._year_of is None:
            years = np.zeros(self.size, dtype=np.int64)
            dated = np.flatnonzero(self.dates != NO_DATE)
            years[dated] = [dt.date.fromordinal(o).year for o in self.dates[dated].tolist()]
            self._year_of = years
        return self._year_of


def _leaves(searcher: Searcher) -> list[tuple[object, int]]:
    reader = searcher.reader()
    if reader.is_atomic():
        return [(reader, 0)]
    return list(reader.leaf_readers())


def _read_postings(matcher) -> tuple[np.ndarray, np.ndarray]:
    """All ids and weights (term frequencies) of a leaf posting list.

    Whoosh's W3 leaf matcher decodes a block of 128 postings at a time; reading
    whole blocks through its block methods is many times faster than stepping
    posting by posting with ``next()``.
    """
    if isinstance(matcher, FilterMatcher):
        # A segment with deletions wraps its postings to skip them one by one; the
        # caller drops deleted documents with the liveness array instead.
        matcher = matcher.child
    if isinstance(matcher, ListMatcher):  # a short list inlined in the term table
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)
    if not all(hasattr(matcher, name) for name in BLOCK_MATCHER_INTERNALS):
        # Stepping posting by posting would still answer, 20-50x slower, without a word:
        # a Whoosh upgrade that renamed these must fail loudly (whoosh-reloaded is pinned).
        raise RuntimeError(
            f"{type(matcher).__name__} lacks the block reader internals "
            f"{BLOCK_MATCHER_INTERNALS}: is whoosh-reloaded the pinned version?"
        )
    ids: list[int] = []
    weights: list[float] = []
    while not matcher._atend and matcher.is_active():
        matcher._read_ids()
        matcher._read_weights()
        ids.extend(matcher._ids)
        weights.extend(matcher._weights)
        matcher._next_block()
    return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)
