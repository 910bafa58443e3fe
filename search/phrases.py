"""Phrase matching by positions, for the documents that could hold the phrase.

Whoosh matches a phrase (``Sequence``) by walking the intersection of its words'
postings in Python, one document and one span at a time, over the whole index. At a
million articles a query for «россия» (whose synonym «российская федерация» is a
phrase) spent 3-4 s there: 64% of all query time with the postings cached. Here the
documents that hold every word of the phrase come from the postings masks, in NumPy
(``ranking.IndexArrays``), and only they are read for positions; a caller that needs
the phrase only where nothing else matched narrows them further.

The semantics are Whoosh's ordered ``Sequence`` of single-position spans: the phrase
stands in a document when it has positions p1 < p2 < ... of its words, one each, with
every step ``p[i+1] - p[i]`` between 1 and ``slop`` (``tests/test_phrases.py`` compares
the two on random phrases).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence

import numpy as np
from whoosh import query as wq

from search.termtable import TermLookup

#: (field, alternative terms of each word, in order, slop) of a phrase this module matches.
PhraseTerms = tuple[str, tuple[tuple[str, ...], ...], int]


def phrase_terms(query: wq.Query) -> PhraseTerms | None:
    """A ``Sequence`` of words (each a term or an ``Or`` of terms of one field) as its
    field, terms and slop; None for any other query (Whoosh matches those)."""
    if not isinstance(query, wq.Sequence) or not query.ordered or query.slop < 1:
        return None
    words = []
    fields = set()
    for sub in query.subqueries:
        leaves = sub.subqueries if isinstance(sub, wq.Or) else [sub]
        if not leaves or not all(isinstance(leaf, wq.Term) for leaf in leaves):
            return None
        fields.update(leaf.fieldname for leaf in leaves)
        words.append(tuple(leaf.text for leaf in leaves))
    if len(words) < 2 or len(fields) != 1:
        return None
    return fields.pop(), tuple(words), int(query.slop)


def holds_phrase(positions: Sequence[Sequence[int]], slop: int) -> bool:
    """Whether one position of each word, in order, steps 1 to ``slop`` from the last."""
    reached = sorted(positions[0])
    for following in positions[1:]:
        if not reached:
            return False
        reached = [p for p in sorted(following) if _any_within(reached, p - slop, p - 1)]
    return bool(reached)


def _any_within(sorted_positions: list[int], low: int, high: int) -> bool:
    at = bisect_left(sorted_positions, low)
    return at < len(sorted_positions) and sorted_positions[at] <= high


def matching_docs(
    lookup: TermLookup,
    decode: Callable[[bytes], list[int]],
    phrase: PhraseTerms,
    candidates: np.ndarray,
) -> list[int]:
    """Which of ``candidates`` (ascending document numbers of the segment ``lookup``
    reads, each holding every word) hold the phrase; ``decode`` reads a posting value's
    positions.

    Each term's posting list is read block by block, and only the blocks that hold a
    candidate are decoded (``blocks.values_at``). Stepping Whoosh's matchers to each
    candidate with ``skip_to`` cost 75 µs a candidate at a million articles. The lists
    are read with ``pread`` (``TermLookup``), not through Whoosh's file objects, so
    other searches of the worker need not wait for a long phrase (Whoosh's objects are
    used under a lock, one thread at a time).
    """
    field, words, slop = phrase
    held_by_word = []
    for terms in words:
        held: dict[int, list[int]] = {}
        for term in terms:
            for docnum, value in lookup.values_at(field, term, candidates).items():
                held.setdefault(docnum, []).extend(decode(value))
        held_by_word.append(held)
    matched = []
    for docnum in candidates.tolist():
        positions = [held.get(docnum) for held in held_by_word]
        if all(positions) and holds_phrase(positions, slop):
            matched.append(docnum)
    return matched
