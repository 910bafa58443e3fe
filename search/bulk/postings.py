"""Postings as a worker holds them, and their encoding into posting blocks.

A worker keeps one flat list per term, its postings interleaved: document, weight
and, for positional fields, the encoded positions (``[doc, weight, value, doc, ...]``).
Documents are added and lists split with ``map`` in C, so no Python code runs per
posting; :func:`encode_terms` turns the lists into the codec's terminfos and blocks.
"""

from __future__ import annotations

from binascii import crc32
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import add

from whoosh.system import pack_uint

from search.codec import moved_terminfo, single_terminfo, write_term


class _Postings(dict):
    """term -> its postings in one list, interleaved: document, weight[, value], ...

    A new term gets an empty list; ``map`` calls this in C, so that adding a document
    runs no Python code per posting.
    """

    def __missing__(self, term: str) -> list:
        postings = self[term] = []
        return postings


_consume = deque(maxlen=0).extend  # runs an iterator to its end, in C


class FieldPostings:
    """One worker's postings of one field, term by term, in document order."""

    def __init__(self, positional: bool):
        self.postings: _Postings | None = _Postings()
        self.positional = positional

    def add_positions(
        self, docnum: int, found: dict[str, list[int]], encode: Callable[[list[int]], bytes]
    ) -> int:
        """Add a document's term -> positions; its field length."""
        frequencies = list(map(len, found.values()))
        items = zip(repeat(docnum), frequencies, map(encode, found.values()))
        _consume(map(list.extend, map(self.postings.__getitem__, found), items))
        return sum(frequencies)

    def add_counts(self, docnum: int, found: dict[str, int]) -> int:
        """Add a document's term -> count; its field length."""
        items = zip(repeat(docnum), found.values())
        _consume(map(list.extend, map(self.postings.__getitem__, found), items))
        return sum(found.values())

    def split(self, base: int, parts: int) -> list[dict[bytes, list]]:
        """The posting lists by term bytes, documents numbered from ``base``, divided
        into ``parts`` by a hash of the term (worker ``i`` encodes part ``i``)."""
        stride = 3 if self.positional else 2
        divided: list[dict[bytes, list]] = [{} for _ in range(parts)]
        postings, self.postings = self.postings, None
        for term, interleaved in postings.items():
            if base:
                interleaved[0::stride] = list(map(add, interleaved[0::stride], repeat(base)))
            btext = term.encode("utf-8")
            divided[crc32(btext) % parts if parts > 1 else 0][btext] = interleaved
        return divided


def encode_terms(
    postings: dict[bytes, list],
    positional: bool,
    write: Callable[[bytes], object],
    offset: int,
    lengths: bytes,
    fixedsize: int | None,
    limits: tuple[int, int],
) -> tuple[list[tuple[bytes, bytes]], int]:
    """Encode posting lists in term order with ``write``, the first block at ``offset``
    of the file; ``(term bytes, terminfo)`` for each term, and the offset reached.
    ``limits``: the codec's postings per block and inlining limit. Empties ``postings``."""
    stride = 3 if positional else 2
    single = limits[1] > 1 and fixedsize != 0
    terms = []
    for btext in sorted(postings):
        interleaved = postings.pop(btext)
        if single and len(interleaved) == stride:  # one posting: most terms
            docnum, weight = interleaved[0], interleaved[1]
            value = interleaved[2] if positional else _count_values((weight,))[0]
            terms.append((btext, single_terminfo(docnum, weight, value, lengths[docnum])))
            continue
        docs = interleaved[0::stride]
        weights = interleaved[1::stride]
        values = interleaved[2::3] if positional else _count_values(weights)
        lens = bytes(map(lengths.__getitem__, docs))
        info, written = write_term(write, docs, weights, values, lens, fixedsize, *limits)
        terms.append((btext, moved_terminfo(info, offset)))
        offset += written
    return terms, offset


def add_counts(counted: list[dict[str, int]]) -> dict[str, int]:
    """Surface counts of the joined text, from the counts of its parts."""
    if not counted:
        return {}
    largest = max(counted, key=len)
    total = dict(largest)
    for counts in counted:
        if counts is not largest:
            for surface, count in counts.items():
                total[surface] = total.get(surface, 0) + count
    return total


_UINTS = tuple(pack_uint(count) for count in range(1024))


def _count_values(counts: Sequence[int]) -> list[bytes]:
    """Frequency-format values of counts (``SurfaceText.index`` packs each count)."""
    try:
        return list(map(_UINTS.__getitem__, counts))
    except IndexError:
        return [pack_uint(count) for count in counts]
