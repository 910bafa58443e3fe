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

from collections.abc import Sequence

import numpy as np
from whoosh import query as wq

from search.schema import PackedPositions
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


def phrase_holders(words: Sequence[tuple[np.ndarray, np.ndarray]], slop: int) -> np.ndarray:
    """The documents (ascending) where one position of each word, in order, steps 1 to
    ``slop`` from the last; each word given as (document, position) arrays, one entry
    a position."""
    reached = np.zeros(0, dtype=np.int64)
    for number, (docs, positions) in enumerate(words):
        keys = (np.asarray(docs, dtype=np.int64) << 32) | positions
        if number:  # ``reached`` holds some: the loop ends when it holds none
            follows = np.zeros(keys.size, dtype=bool)
            for step in range(1, slop + 1):
                wanted = keys - step
                at = np.minimum(np.searchsorted(reached, wanted), reached.size - 1)
                follows |= (positions >= step) & (reached[at] == wanted)
            keys = keys[follows]
        reached = np.unique(keys)
        if not reached.size:
            break
    return np.unique(reached >> 32)


def matching_docs(
    lookup: TermLookup, positions: PackedPositions, phrase: PhraseTerms, candidates: np.ndarray
) -> np.ndarray:
    """Which of ``candidates`` (ascending document numbers of the segment ``lookup``
    reads, each holding every word) hold the phrase, in the field's ``positions``
    format.

    Each term's posting list is read block by block, and only the blocks that hold a
    candidate are decoded (``blocks.values_at``). Stepping Whoosh's matchers to each
    candidate with ``skip_to`` cost 75 µs a candidate at a million articles. The lists
    are read with ``pread`` (``TermLookup``), not through Whoosh's file objects, so
    other searches of the worker need not wait for a long phrase (Whoosh's objects are
    used under a lock, one thread at a time). Positions are decoded and followed in
    NumPy (``PackedPositions.decode_all``, ``phrase_holders``).
    """
    field, words, slop = phrase
    found_words = []
    for terms in words:
        docs: list[int] = []
        values: list[bytes] = []
        for term in terms:
            found = lookup.values_at(field, term, candidates)
            docs.extend(found)
            values.extend(found.values())
        owner, held = positions.decode_all(values)
        found_words.append((np.asarray(docs, dtype=np.int64)[owner], held))
    return phrase_holders(found_words, slop)
