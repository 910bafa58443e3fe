"""Vectorized BM25F scoring, filters and facets over a Whoosh index.

Whoosh scores a query by walking a tree of matcher objects in Python, one document
at a time: 40-100 ms for a four-word query on this corpus, since each word becomes
an OR of lemma alternatives in three fields. Here each posting list is read once
into NumPy arrays (and kept, per segment: ``search.caches``), and a query is matched for all
documents at once: a few milliseconds. Whoosh still reads the index, and still
matches what needs positions (phrases) or boolean structure (operators).

Whoosh readers are not thread-safe: their posting and stored-field files keep one
read position, so two threads reading at once corrupt each other (``zlib.error``,
``UnpicklingError``, ``EOFError``, or silently wrong totals on phrase and OR queries,
measured at concurrency 2 and up). Every read of the Whoosh searcher goes through
``IndexArrays`` and holds its lock; the searcher itself is not handed out. The lock
costs little: the work it guards is Python, which the GIL serializes anyway, and the
NumPy scoring around it runs unlocked. Posting lists, the bulk of the reads, need no
lock: they are read with ``os.pread`` from the term info (``termtable.TermLookup``).
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from whoosh import query as wq
from whoosh.codec.base import Automata
from whoosh.searching import Searcher

from search import checksums, frequent, phrases, segments
from search.caches import ByteLRU, limit_bytes
from search.duplicates import FINGERPRINT_BYTES
from search.durable import INDEX_NAME
from search.facets import FacetCounter
from search.layout import ARRAYS
from search.postings import KeptBitmap, Postings
from search.results import Facets
from search.schema import PackedPositions
from search.segments import NO_DATE as NO_DATE
from search.stored import StoredLookup, stored_lookup
from search.termtable import TermLookup, Terms, term_hash, term_hashes
from search.weights import WEIGHTS

#: What the postings cache keeps for a term a segment lacks.
_NO_POSTINGS = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
# Weights asked for at most one document in this many of the index are looked up by a
# binary search (``IndexArrays.bm25_weights``).
_FEW_SHARE = 128
# A term a segment keeps as a bitmap is read as one (``search.postings``) when at least
# one document in this many of the segment holds it: 32 takes every kept bitmap (see
# ``frequent.pack``); 0 reads them all as lists, as before (a test compares the two).
_BITMAP_SHARE = 32
_UNOPENED = object()  # a segment's stored fields lookup not opened yet


_caches_lock = threading.Lock()
_segment_postings: ByteLRU[tuple[np.ndarray, np.ndarray]] | None = None
_segment_titles: ByteLRU[str] | None = None


def _caches() -> tuple[ByteLRU, ByteLRU]:
    """The process's postings and headline caches, keyed by segment id (see
    ``search.caches``); made on first use, after the limits are set."""
    global _segment_postings, _segment_titles
    with _caches_lock:
        if _segment_postings is None:
            _segment_postings = ByteLRU(
                limit_bytes("NEWS_SEARCH_POSTINGS_CACHE_MB"),
                lambda found: found[0].nbytes + found[1].nbytes + 200,
            )
            _segment_titles = ByteLRU(
                limit_bytes("NEWS_SEARCH_TITLES_CACHE_MB"), lambda title: 2 * len(title) + 80
            )
        return _segment_postings, _segment_titles


class IndexArrays:
    """Per-document arrays of one searcher generation: field lengths, liveness, columns.

    Joined from the arrays of each segment (``search.segments``), which are built once
    per segment and memory-mapped; what depends on the generation (liveness, the joined
    arrays, the averages) is worked out from them with NumPy. A reopen after an update
    reads the new segment's documents only.
    """

    def __init__(
        self,
        searcher: Searcher,
        fields: Iterable[str],
        folder: Path | None,
        previous: IndexArrays | None = None,
    ):
        """``folder``: the index's, where the segments' arrays are kept and their checksums
        verified (None: arrays in memory only, unverified). ``previous``: the arrays of
        an earlier generation of the same folder, whose segments' arrays are taken over
        (see ``segments.load``)."""
        self._searcher = searcher
        self._reader = reader = searcher.reader()
        self._whoosh = threading.RLock()  # every read of the searcher (see the module doc)
        self.folder = folder
        self.size = reader.doc_count_all()
        self.leaves = _leaves(searcher) if self.size else []
        fields = tuple(fields)
        if folder is not None:
            for leaf, _ in self.leaves:
                checksums.verify_segment(folder, INDEX_NAME, leaf._segment.segment_id())
        arrays_folder = None if folder is None else folder / ARRAYS
        loaded = {}
        if previous is not None and previous.folder == folder:
            loaded = {segment.segment_id: segment for segment in previous.segments}
        self.segments = [
            segments.load(leaf, arrays_folder, loaded.get(leaf._segment.segment_id()))
            for leaf, _ in self.leaves
        ]
        self._starts = [offset for _, offset in self.leaves]
        self._lookups = [TermLookup(leaf) for leaf, _ in self.leaves]
        # each segment's stored fields lookup, opened when first read
        self._stored: list[StoredLookup | None | object] = [_UNOPENED] * len(self.leaves)
        self.alive = np.ones(self.size, dtype=bool)
        # The live documents of each segment that has deletions (a view of ``alive``).
        self._segment_alive: list[np.ndarray | None] = []
        for leaf, offset in self.leaves:
            live = None
            if leaf.has_deletions():
                deleted = np.fromiter(leaf.deleted_docs_set, dtype=np.int64)
                self.alive[offset + deleted] = False
                live = self.alive[offset : offset + leaf.doc_count_all()]
            self._segment_alive.append(live)
        self.has_deletions = not bool(self.alive.all())
        self.documents = int(self.alive.sum())
        self.lengths: dict[str, np.ndarray] = {}
        self.average_length: dict[str, float] = {}
        for name in fields:
            lengths = self.lengths[name] = self._joined([s.lengths[name] for s in self.segments])
            alive_lengths = lengths[self.alive] if self.has_deletions else lengths
            self.average_length[name] = float(alive_lengths.mean()) if alive_lengths.size else 1.0
        self.categories = {name: self._categories(name) for name in segments.CATEGORY_FIELDS}
        self.dates = self._joined([s.dates for s in self.segments], np.int64)
        self.undated = self.dates == NO_DATE
        self.years = self._joined([s.years for s in self.segments], np.int16)
        self._facets = FacetCounter(self.categories, self.years, self.undated, self.alive)

    def _joined(self, parts: list[np.ndarray], dtype=np.float32) -> np.ndarray:
        """One array over all documents: a single segment's own (mapped) array, unjoined."""
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    def _categories(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Codes per document (-1: none) and the values they stand for, over all segments."""
        values: list[str] = []
        index: dict[str, int] = {}
        parts = []
        for segment in self.segments:
            table = []
            for value in segment.values[name]:
                code = index.get(value)
                if code is None:
                    code = index[value] = len(values)
                    values.append(value)
                table.append(code)
            table.append(-1)  # a segment's code -1 (no value) indexes this last entry
            parts.append(np.asarray(table, dtype=np.int32)[segment.codes[name]])
        return self._joined(parts, np.int32), values

    def _locate(self, docnum: int) -> tuple[int, int]:
        """The segment holding a global document number, and its number there."""
        position = bisect_right(self._starts, docnum) - 1
        return position, docnum - self._starts[position]

    # -- postings ------------------------------------------------------------------

    def postings(self, field: str, term: str) -> Postings:
        """A term's postings over all live documents of all segments.

        A segment's frequent terms are read from their kept arrays (``search.frequent``):
        those kept as a bitmap stay one (``search.postings``), the lists are read. The
        others' postings are cached by segment id, so they outlive the reopen after an
        update. Joining the lists is a NumPy concatenation.
        """
        cache, _ = _caches()
        parts = []
        bitmaps = []
        encoded = term.encode("utf-8")
        kept_key = frequent.key(field, term)
        hashed = term_hash(kept_key.encode("utf-8"))
        for segment, (_, offset), lookup, alive in zip(
            self.segments, self.leaves, self._lookups, self._segment_alive, strict=True
        ):
            kept = segment.frequent
            at = None if kept is None else kept.keys.find(kept_key, hashed)
            if at is not None:
                if kept.bitmap(at) is not None and kept.count(at) * _BITMAP_SHARE >= kept.size:
                    part = KeptBitmap(kept, at, offset, alive)
                    if part.count:
                        bitmaps.append(part)
                    continue
                found = kept.documents(at), kept.weights(at)
            else:
                key = (segment.segment_id, field, term)
                found = cache.get(key)
                if found is None:
                    found = self._read_postings(lookup, field, encoded)
                    cache.put(key, found)
            ids, tf = found
            if alive is not None and ids.size:  # deletions dropped where there are some
                live = alive[ids]
                ids, tf = ids[live], tf[live]
            if ids.size:
                parts.append((ids, tf, offset))
        # Joined into arrays made once: a common word's postings are 900,000 at a million
        # articles, and each pass over them (a copy, a mask of the live ones) cost 1-2 ms.
        total = sum(ids.size for ids, _, _ in parts)
        joined_ids = np.empty(total, dtype=np.int64)
        joined_tf = np.empty(total, dtype=np.float32)
        at = 0
        for ids, tf, offset in parts:
            np.add(ids, offset, out=joined_ids[at : at + ids.size])
            joined_tf[at : at + ids.size] = tf
            at += ids.size
        return Postings(joined_ids, joined_tf, bitmaps)

    def _read_postings(self, lookup: TermLookup, field: str, term: bytes) -> tuple:
        """A term's postings in one segment, read from its file (``_NO_POSTINGS`` when the
        segment lacks the term)."""
        found = lookup.postings(field, term)
        if found is None:
            return _NO_POSTINGS
        return found[0].astype(np.int32), found[1]

    def title(self, docnum: int) -> str:
        """A document's title, kept once read: the leaders of many queries are the same
        articles, and reading the stored fields decompresses the whole record."""
        _, titles = _caches()
        position, local = self._locate(docnum)
        key = (self.segments[position].segment_id, local)
        title = titles.get(key)
        if title is None:
            title = self.stored_fields(docnum).get("title") or ""
            titles.put(key, title)
        return title

    def fingerprints(self, docnums: np.ndarray) -> np.ndarray:
        """The fingerprints (``search.duplicates``) of these documents, a row of bytes each,
        from the segments' arrays; zeros where a segment was built without them."""
        rows = np.zeros((docnums.size, FINGERPRINT_BYTES), dtype=np.uint8)
        for segment, start in zip(self.segments, self._starts, strict=True):
            local = docnums - start
            inside = np.flatnonzero((local >= 0) & (local < segment.size))
            if inside.size:
                rows[inside] = segment.fingerprint_rows(local[inside])
        return rows

    def stored_fields(self, docnum: int) -> dict:
        """A document's stored fields, read by ``pread`` (``search.stored``) where its
        segment's column allows, else by Whoosh."""
        position, local = self._locate(docnum)
        lookup = self._stored[position]
        if lookup is _UNOPENED:
            with self._whoosh:
                lookup = self._stored[position] = stored_lookup(self.leaves[position][0])
        if lookup is None:
            with self._whoosh:
                return self._searcher.stored_fields(docnum)
        return lookup.stored_fields(local)

    # -- reads of the Whoosh searcher, one thread at a time -----------------------

    def document_number(self, article_id: str) -> int | None:
        with self._whoosh:
            return self._searcher.document_number(id=article_id)

    def matching(
        self, query: wq.Query, known: dict | None = None, among: np.ndarray | None = None
    ) -> np.ndarray:
        """The live documents a Whoosh query matches, as a mask.

        Its boolean structure is evaluated here, on masks: terms from the cached
        postings, ``Or``/``And``/``Not`` as array operations, phrases by the positions of
        the documents holding all their words (``search.phrases``). Only what is none of
        these goes to Whoosh, once each: ``known`` holds the masks already worked out for
        one search. Whoosh's matcher tree walks the documents in Python, one skip at a
        time: a 1,000-character query of nested groups and synonym phrases took 11-16 s
        that way.

        ``among``: only these documents are wanted (the mask is False elsewhere), so a
        phrase reads the positions of fewer of them; such masks are not kept in ``known``.
        """
        known = {} if known is None else known
        found = known.get(query)
        if found is not None:
            return found if among is None else found & among
        if among is not None:
            return self._evaluate(query, known, among)
        found = known[query] = self._evaluate(query, known, None)
        return found

    def _evaluate(self, query: wq.Query, known: dict, among: np.ndarray | None) -> np.ndarray:
        if isinstance(query, wq.Term):
            mask = self._holding(query.fieldname, (query.text,))
            return mask if among is None else mask & among
        if isinstance(query, (wq.Or, wq.And)) and query.subqueries:
            masks = [self.matching(q, known, among) for q in query.subqueries]
            combine = np.logical_or if isinstance(query, wq.Or) else np.logical_and
            return combine.reduce(masks)
        if isinstance(query, wq.Not):
            return (self.alive if among is None else among) & ~self.matching(
                query.query, known, among
            )
        phrase = phrases.phrase_terms(query)
        if phrase is not None:
            return self._phrase_mask(phrase, among)
        with self._whoosh:  # anything else: Whoosh matches it
            mask = self.docs_mask(self._searcher.docs_for_query(query))
        return mask if among is None else mask & among

    def _holding(self, field: str, terms: tuple[str, ...]) -> np.ndarray:
        """The live documents holding any of ``terms`` in ``field``."""
        mask = np.zeros(self.size, dtype=bool)
        for term in terms:
            self.postings(field, term).mark(mask)
        return mask

    def _phrase_mask(self, phrase: phrases.PhraseTerms, among: np.ndarray | None) -> np.ndarray:
        """The documents (of ``among``) holding the phrase: those holding all its words,
        read for positions segment by segment (``_phrase_in_segment``)."""
        field, words, _ = phrase
        candidates = self.alive.copy() if among is None else among & self.alive
        for terms in words:
            candidates &= self._holding(field, terms)
        docs = np.flatnonzero(candidates)
        mask = np.zeros(self.size, dtype=bool)
        if not docs.size:
            return mask
        cache, _ = _caches()
        positions = self._searcher.schema[field].format
        bounds = np.searchsorted(docs, [*self._starts, self.size])
        spans = zip(
            self._starts, self.segments, self._lookups, bounds[:-1], bounds[1:], strict=True
        )
        for offset, segment, lookup, start, end in spans:
            if start < end:
                local = docs[start:end] - offset
                found = _phrase_in_segment(cache, segment, lookup, positions, phrase, local)
                mask[found + offset] = True
        return mask

    def term_frequency(self, field: str, term: str) -> int:
        """Documents holding the term, as Whoosh's ``doc_frequency`` counts them (deleted
        ones until their segment is merged): read by ``pread``, without the lock."""
        encoded = term.encode("utf-8")
        return sum(lookup.doc_frequency(field, encoded) for lookup in self._lookups)

    # Terms are listed segment by segment: Whoosh's MultiReader merges its segments' term
    # iterators as if each went on in field name order past the end of a field, but the
    # bulk writer's segments hold their fields in another order (the analyzed text fields
    # last), so a merged listing of ``title`` stopped where one segment's titles ended
    # (at «ящик», say), and the other segments' later terms were lost.

    def forms_within(self, text: str, distance: int, prefix: int) -> list[str]:
        """The indexed surface forms up to ``distance`` edits from ``text`` that share
        its first ``prefix`` letters, sorted.

        Whoosh's walk of its Levenshtein automaton over the sorted terms, with the
        automaton built once and the terms of each segment's vocabulary arrays
        (bisected, no file reads): Whoosh's own ``terms_within`` builds the automaton
        anew for every segment and steps through the term table's file, and a typo of
        11 letters took 5.3 s over 41 segments at a million articles.
        """
        dfa = Automata.levenshtein_dfa(text, distance, prefix)
        cursor = _TermsCursor([segment.terms for segment in self.segments], text[:prefix])
        return list(Automata.find_matches(dfa, cursor))

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        """Up to ``limit`` indexed terms starting with ``prefix`` (the first in order),
        commonest first."""
        terms: list[str] = []
        with self._whoosh:
            listed = [leaf.expand_prefix(field, prefix) for leaf, _ in self.leaves]
            for term, _ in itertools.groupby(heapq.merge(*listed)):
                terms.append(term.decode("utf-8"))
                if len(terms) >= limit:
                    break
            frequency = {t: self._reader.doc_frequency(field, t) for t in terms}
        terms.sort(key=lambda t: -frequency[t])
        return terms

    def is_current(self) -> bool:
        with self._whoosh:
            return self._searcher.up_to_date()

    def surface_frequency(self, form: str) -> int:
        """Articles holding the surface form (as ``surface_frequencies``): each word of
        a query is asked for, in all 40 segments of a million articles, where a lookup
        of one key costs a fifth of one through ``find_all``."""
        hashed = term_hash(form.encode("utf-8"))
        total = 0
        for segment in self.segments:
            at = segment.terms.find(form, hashed)
            if at is not None:
                total += int(segment.counts[at])
        return total

    def surface_frequencies(self, forms: list[str]) -> list[int]:
        """Articles holding each surface form (deleted ones included, as in Whoosh's term
        table): the forms hashed once and looked up in each segment's vocabulary together.

        They are looked up in the order of their hashes: a binary search of sorted keys
        starts where the last one ended, and the 672 forms one edit from a ten-letter
        word took 110 µs a segment so, 210-350 µs unsorted (at 200,000 articles; a typo
        or a rare name looks them up in all 40 segments of a million).
        """
        hashes = term_hashes(forms)
        order = np.argsort(hashes, kind="stable")
        ordered_forms = [forms[i] for i in order.tolist()]
        ordered_hashes = hashes[order]
        total = np.zeros(len(forms), dtype=np.int64)
        for segment in self.segments:
            positions = segment.terms.find_all(ordered_forms, ordered_hashes)
            held = positions >= 0
            total[order[held]] += segment.counts[positions[held]]
        return total.tolist()

    def completions(self, prefix: str, limit: int) -> list[str]:
        """The most frequent indexed forms starting with ``prefix`` (not the prefix itself).

        Each segment offers its own most frequent forms; their counts are then summed
        over all segments.
        """
        candidates: set[str] = set()
        for segment in self.segments:
            start, end = segment.terms.prefix_range(prefix)
            if start >= end:
                continue
            window = np.asarray(segment.counts[start:end])
            best = np.argsort(-window, kind="stable")[: limit + 1]
            candidates.update(segment.terms[start + int(i)] for i in best)
        candidates.discard(prefix)
        forms = sorted(candidates)
        counts = dict(zip(forms, self.surface_frequencies(forms), strict=True))
        ranked = sorted(forms, key=lambda form: (-counts[form], form))
        return ranked[:limit]

    def bm25(
        self, field: str, term: str, k1: float = WEIGHTS.k1, b: float = WEIGHTS.b
    ) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers holding the term and their BM25 weight in the field."""
        postings = self.postings(field, term)
        return postings.ids, self.bm25_weights(field, postings, k1, b)

    def bm25_weights(
        self,
        field: str,
        postings: Postings,
        k1: float = WEIGHTS.k1,
        b: float = WEIGHTS.b,
        docs: np.ndarray | None = None,
    ) -> np.ndarray:
        """The BM25 weights (float32) of a term's postings in the field: of each posting,
        or of each of ``docs`` (ascending document numbers), 0 where it lacks the term.

        The formula is applied element by element, so a document's weight is the same
        to the bit whichever way it is asked for. Of the listed postings, the few of
        ``docs`` are looked for among them, or the few of them among ``docs``; when both
        are many, the weights are scattered over the index and gathered back, as a
        search of one sorted array in the other cost 40 ms for 870,000 in 870,000 (at a
        million articles), the scatter 7 ms. Those of the segments that keep the term as
        a bitmap are found by the rank of each document's bit (``Postings.bitmap_weights``).
        """
        if docs is None:
            ids, tf = postings.ids, postings.tf
            return tf if ids.size == 0 else self._bm25(field, ids.size, ids, tf, k1, b)
        weights = np.zeros(docs.size, dtype=np.float32)
        if postings.df == 0 or docs.size == 0:
            return weights
        if postings.listed_ids.size:
            weights = self._listed_weights(field, postings, k1, b, docs)
        if postings.bitmaps:
            at, found = postings.bitmap_weights(docs)
            if at.size:
                weights[at] = self._bm25(field, postings.df, docs[at], found, k1, b)
        return weights

    def _listed_weights(
        self, field: str, postings: Postings, k1: float, b: float, docs: np.ndarray
    ) -> np.ndarray:
        """``bm25_weights`` of ``docs`` from the listed postings only (0 elsewhere)."""
        df, ids, tf = postings.df, postings.listed_ids, postings.listed_tf
        few = max(self.size // _FEW_SHARE, 1)
        if docs.size <= few:
            weights = np.zeros(docs.size, dtype=np.float32)
            at = np.minimum(np.searchsorted(ids, docs), ids.size - 1)
            present = ids[at] == docs
            weights[present] = self._bm25(field, df, docs[present], tf[at[present]], k1, b)
            return weights
        if ids.size <= few:
            weights = np.zeros(docs.size, dtype=np.float32)
            at = np.minimum(np.searchsorted(docs, ids), docs.size - 1)
            present = docs[at] == ids
            weights[at[present]] = self._bm25(field, df, ids[present], tf[present], k1, b)
            return weights
        spread = np.zeros(self.size, dtype=np.float32)
        spread[ids] = self._bm25(field, df, ids, tf, k1, b)
        return spread[docs]

    def bm25_bound(self, postings: Postings, k1: float = WEIGHTS.k1) -> float:
        """A bound above every BM25 weight of the term: ``tf / (tf + norm)`` stays
        below 1, so a weight below ``idf * (k1 + 1)``."""
        return self._idf(postings.df) * (k1 + 1)

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.documents - df + 0.5) / (df + 0.5))

    def _bm25(
        self, field: str, df: int, ids: np.ndarray, tf: np.ndarray, k1: float, b: float
    ) -> np.ndarray:
        idf = self._idf(df)
        lengths = self.lengths[field][ids]
        norm = k1 * (1 - b + b * lengths / max(self.average_length[field], 1.0))
        return (idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32)

    def docs_mask(self, docnums: Iterable[int]) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        ids = np.fromiter(docnums, dtype=np.int64)
        if ids.size:
            mask[ids] = True
        return mask

    def facets(self, matched: np.ndarray) -> Facets:
        """The facets of the matching documents (live ones, as a mask)."""
        return self._facets.facets(matched)


class _TermsCursor:
    """A cursor over the union of sorted term lists, as ``Automata.find_matches`` steps
    with it: at the least term of any list not before the last one looked for, among
    those starting with ``prefix``. Stepping the automaton once over the union, not once
    a segment, made a typo's neighbours two edits away five times as quick over 41
    segments."""

    def __init__(self, lists: list[Terms], prefix: str):
        self._lists = lists
        self._ranges = [list(terms.prefix_range(prefix)) for terms in lists]
        self._current = [self._term(number) for number in range(len(lists))]

    def _term(self, number: int) -> str | None:
        at, end = self._ranges[number]
        return self._lists[number][at] if at < end else None

    def text(self) -> str | None:
        return min((term for term in self._current if term is not None), default=None)

    def find(self, string: str) -> None:
        for number, term in enumerate(self._current):
            if term is not None and term < string:
                span = self._ranges[number]
                span[0] = bisect_left(self._lists[number], string, lo=span[0], hi=span[1])
                self._current[number] = self._term(number)


def _phrase_in_segment(
    cache: ByteLRU,
    segment: segments.SegmentArrays,
    lookup: TermLookup,
    positions: PackedPositions,
    phrase: phrases.PhraseTerms,
    local: np.ndarray,
) -> np.ndarray:
    """Which of ``local`` (document numbers of a segment, ascending, each holding every
    word of the phrase) hold it.

    What the positions said is kept in the postings cache, by segment: the documents read
    and those of them holding the phrase. Only documents not read before are read. A
    synonym phrase is looked for where its word is missing (``ranker``), among nearly
    the same documents in every query holding the word: at a million articles,
    «российская федерация» where «россия» is missing took 235 ms of each such query.
    A kept pair is replaced, never changed, as other threads may be reading it. Both are
    kept as bits (``np.packbits``): as bytes, the pairs of the six synonym phrases in
    three fields took 31 MB of the 145 MB that the 1,000 known-item queries keep at a
    million articles, and with the cache's 128 MB they were dropped and read again.
    """
    key = (segment.segment_id, phrase)
    kept = cache.get(key)
    if kept is None:
        empty = np.zeros((segment.size + 7) // 8, dtype=np.uint8)
        kept = (empty, empty)
    read, held = kept
    unread = local[~_bits_at(read, local)]
    if unread.size:
        found = phrases.matching_docs(lookup, positions, phrase, unread)
        read_now = np.unpackbits(read, count=segment.size).view(bool)
        held_now = np.unpackbits(held, count=segment.size).view(bool)
        read_now[unread] = True
        held_now[found] = True
        held = np.packbits(held_now)
        cache.put(key, (np.packbits(read_now), held))
    return local[_bits_at(held, local)]


def _bits_at(bits: np.ndarray, docnums: np.ndarray) -> np.ndarray:
    """Whether each of ``docnums`` is set in ``bits`` (``np.packbits``' order)."""
    return (bits[docnums >> 3] >> (7 - (docnums & 7)).astype(np.uint8)) & 1 == 1


def _leaves(searcher: Searcher) -> list[tuple[object, int]]:
    reader = searcher.reader()
    if reader.is_atomic():
        return [(reader, 0)]
    return list(reader.leaf_readers())
