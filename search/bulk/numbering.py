"""Document numbers in a bulk build: which worker gets a document, and its final number.

A document has three numbers:

* its input sequence number ``seq``: the order ``add_document`` got it in (0, 1, ...);
* its local number: the order its worker got it in, from 0 in each worker;
* its final number, in the segment: worker by worker, first the documents of worker 0
  in input order, then those of worker 1, and so on. A worker's *base* is the number
  of documents of the workers before it; final number = base + local number.

The documents go to the workers in chunks, chunk ``c`` to worker ``c % workers``.
Worker ``i``'s base is only known once all documents are in, at commit: until then
the fields the parent indexes itself (:class:`ParentFields`) are kept by input
sequence, and renumbered then.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from operator import add
from typing import Any

from whoosh.util.numeric import length_to_byte

# term bytes -> (document numbers, weights, values): a field's postings, term by term
FieldTerms = dict[bytes, tuple[list[int], list[float], list[bytes]]]


class Numbering:
    """Which worker analyzes each document, and the document numbers that follow."""

    def __init__(self, workers: int):
        self.workers = workers
        self._worker = array("I")  # input sequence -> worker
        self._local = array("I")  # input sequence -> number in its worker
        self._counts = [0] * workers  # documents in the chunks given to each worker
        self._chunks = 0  # chunks ended
        self._pending = 0  # documents added since the last chunk ended

    def add(self) -> tuple[int, int]:
        """Number the next document (in the chunk being filled): its input sequence
        number and its worker."""
        seq = len(self._worker)
        worker = self._chunks % self.workers
        self._worker.append(worker)
        self._local.append(self._counts[worker] + self._pending)
        self._pending += 1
        return seq, worker

    def end_chunk(self) -> tuple[int, int]:
        """End the chunk of the documents added since the last one: its number (chunks
        are numbered in input order) and its worker."""
        number = self._chunks
        worker = number % self.workers
        self._chunks += 1
        self._counts[worker] += self._pending
        self._pending = 0
        return number, worker

    def bases(self) -> list[int]:
        """Each worker's first final document number, once the last chunk is ended."""
        bases = []
        total = 0
        for count in self._counts:
            bases.append(total)
            total += count
        return bases

    def final(self) -> array:
        """Input sequence number -> final document number, once the last chunk is ended."""
        bases = self.bases()
        return array("I", map(add, self._local, map(bases.__getitem__, self._worker)))


class ParentFields:
    """The fields the parent indexes itself (ids, dates, facets: all but LemmaText and
    SurfaceText), by input sequence number until the final numbers are known."""

    def __init__(self):
        self._postings: dict[str, FieldTerms] = {}
        self._lengths: dict[str, dict[int, int]] = {}  # field -> seq -> length, if not 0

    def add(self, seq: int, fieldname: str, field: Any, value: Any) -> int:
        """Index a document's value of a field; its field length."""
        postings = self._postings.setdefault(fieldname, {})
        length = 0
        for tbytes, freq, weight, vbytes in field.index(value):
            entry = postings.get(tbytes)
            if entry is None:
                entry = postings[tbytes] = ([], [], [])
            entry[0].append(seq)
            entry[1].append(weight)
            entry[2].append(vbytes)
            if field.scorable:
                length += freq
        if length:
            self._lengths.setdefault(fieldname, {})[seq] = length
        return length

    def renumbered(
        self, final: array, doccount: int
    ) -> Iterator[tuple[str, Iterator[tuple[bytes, list, list, list]], bytes | None]]:
        """Field by field in name order: its name, its postings by term in final
        document numbers (take them before the next field), and its length byte per
        document (scorable fields; else None). ``final``: :meth:`Numbering.final`."""
        tables = self._length_tables(final, doccount)
        for name in sorted(self._postings):
            yield name, _renumbered(self._postings.pop(name), final), tables.get(name)

    def _length_tables(self, final: array, doccount: int) -> dict[str, bytes]:
        """Length byte per document of the scorable fields."""
        tables = {}
        for name, lengths in self._lengths.items():
            table = bytearray(doccount)
            for seq, length in lengths.items():
                table[final[seq]] = length_to_byte(length)
            tables[name] = bytes(table)
        return tables


def _renumbered(postings: FieldTerms, final: array) -> Iterator[tuple[bytes, list, list, list]]:
    """The postings of a field indexed by input order, in final document order."""
    for tbytes in sorted(postings):
        seqs, weights, values = postings[tbytes]
        docnums = list(map(final.__getitem__, seqs))
        if any(map(int.__gt__, docnums, docnums[1:])):
            order = sorted(range(len(docnums)), key=docnums.__getitem__)
            docnums = [docnums[i] for i in order]
            weights = [weights[i] for i in order]
            values = [values[i] for i in order]
        yield tbytes, docnums, weights, values
