"""A merged segment written from its sources' posting lists, a term at a time.

Whoosh's ``add_reader`` copies a segment's postings one by one: a generator steps a
matcher through every posting of every term, each posting goes into the writer's
pool, and at commit the pool sorts them all again before the field writer takes them.
Merging 4 segments of 1,000 generated articles took 131 s that way under a profiler
(30 articles a second), and a merge of the 8 segments of tier 3 at a million articles
(185,000 articles) would have taken about 100 minutes of a core. Indexing the articles
anew from their stored fields is faster (48 s for the same 4,000, under the same
profiler) but holds the whole segment's postings in memory. Here: 19 s (10.5 s without
the profiler), and 340 s for the 185,000.

Here the per-document part (stored fields, lengths, columns) is still Whoosh's own
``write_per_doc``, and the postings are read a whole list at a time from each source's
term table (``termtable.field_records``, ``blocks.read_whole``), renumbered past the
deleted documents, joined across the sources in term order, and written with the
codec's bulk path (``NewsFieldWriter.add_field_postings``): the segment that
``add_reader`` would write (a test compares them), holding one term's list at a time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.index import Index
from whoosh.writing import SegmentWriter

from search.blocks import read_whole
from search.codec import NewsCodec
from search.termtable import TermLookup, field_records

#: One term's postings: (term bytes, document numbers, weights, values or None).
TermPostings = tuple[bytes, list[int], list[float], list | None]


class _Source:
    """A segment being merged: its reader, and the new number of each of its documents
    (None: they follow on from ``base`` with none deleted)."""

    def __init__(self, reader, base: int, docmap: dict[int, int] | None):
        self.reader = reader
        self.lookup = TermLookup(reader)
        self.base = base
        self.numbers: list[int] | None = None
        if docmap is not None:
            self.numbers = [-1] * reader.doc_count_all()
            for old, new in docmap.items():
                self.numbers[old] = new

    def postings(self, info: bytes, fixedsize: int | None) -> tuple[list, list, list | None]:
        """A term's postings of the live documents, in the merged segment's numbers."""
        ids, weights, values = read_whole(info, self.lookup.read, fixedsize)
        numbers = self.numbers
        if numbers is None:
            base = self.base
            return [docnum + base for docnum in ids], weights, values
        kept = [at for at, docnum in enumerate(ids) if numbers[docnum] >= 0]
        if len(kept) < len(ids):
            weights = [weights[at] for at in kept]
            values = None if values is None else [values[at] for at in kept]
        return [numbers[ids[at]] for at in kept], weights, values


class MergeWriter(SegmentWriter):
    """A ``SegmentWriter`` of one segment holding the live documents of other segments,
    given in order by :meth:`add_segment`; ``commit`` writes it (and merges nothing
    else)."""

    def __init__(self, ix: Index, **kwargs):
        super().__init__(ix, codec=NewsCodec(), **kwargs)
        self._sources: list[_Source] = []
        for name in self.schema.names():
            field = self.schema[name]
            if field.vector or field.separate_spelling():
                self.cancel()
                raise TypeError(f"MergeWriter does not write vectors or spelling ({name})")

    def add_segment(self, reader) -> None:
        """Add the live documents of a segment's reader (kept open until the commit)."""
        self._check_state()
        base = self.docnum
        indexed = {name for name in reader.indexed_field_names() if name in self.schema}
        docmap = self.write_per_doc(set(self.schema.names()) | indexed, reader)
        self._sources.append(_Source(reader, base, docmap))
        self._added = True

    def _merge_segments(self, mergetype, optimize, merge):
        return list(self.segments)

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        per_doc = self.per_document_reader()
        try:
            for name in sorted(self.schema.names()):
                field = self.schema[name]
                if field.indexed:
                    lengths = _lengths(per_doc, name, self.docnum)
                    terms = self._merged_terms(name, field.format.fixed_value_size())
                    self.fieldwriter.add_field_postings(name, field, terms, lengths)
        finally:
            per_doc.close()
        self.fieldwriter.close()

    def _merged_terms(self, name: str, fixedsize: int | None) -> Iterator[TermPostings]:
        """The field's terms of all sources in order, each with the postings of its live
        documents in every source (sources in document order)."""
        sources = self._sources
        streams = [
            _numbered(field_records(source.reader, name), n) for n, source in enumerate(sources)
        ]
        for term, found in groupby(heapq.merge(*streams, key=itemgetter(0)), itemgetter(0)):
            ids: list[int] = []
            weights: list[float] = []
            values: list | None = None if fixedsize == 0 else []
            for _, number, info in found:  # (heapq.merge keeps the sources' order in a tie)
                more_ids, more_weights, more_values = sources[number].postings(info, fixedsize)
                ids.extend(more_ids)
                weights.extend(more_weights)
                if values is not None:
                    values.extend(more_values)
            if ids:
                yield term, ids, weights, values


def _numbered(records: Iterator[tuple[bytes, bytes]], number: int) -> Iterator[tuple]:
    """Each (term, term info) of a source as (term, the source's number, term info)."""
    for term, info in records:
        yield term, number, info


def _lengths(per_doc, name: str, documents: int) -> bytes | None:
    """The length byte of each document's field in the merged segment (None: the field
    keeps no lengths), as the per-document writer stored it."""
    column = _lenfield(name)
    if not per_doc.has_column(column):
        return None
    reader = per_doc.column_reader(column, LENGTHS_COLUMN)
    return bytes(reader[docnum] for docnum in range(documents))
