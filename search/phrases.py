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
from collections.abc import Sequence

import numpy as np
from whoosh import query as wq

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


def matching_docs(leaf, phrase: PhraseTerms, candidates: np.ndarray) -> list[int]:
    """Which of ``candidates`` (ascending document numbers of the Whoosh segment reader
    ``leaf``, each holding every word) hold the phrase.

    Each term's postings are walked forward once with ``skip_to``, so a block of
    postings is decoded at most once however many candidates it holds.
    """
    field, words, slop = phrase
    matchers = [[_matcher(leaf, field, term) for term in terms] for terms in words]
    found = []
    for docnum in candidates.tolist():
        positions = []
        for alternatives in matchers:
            here: list[int] = []
            for matcher in alternatives:
                if matcher is not None and _at(matcher, docnum):
                    here.extend(matcher.value_as("positions"))
            if not here:
                break
            positions.append(here)
        else:
            if holds_phrase(positions, slop):
                found.append(docnum)
    return found


def _matcher(leaf, field: str, term: str):
    return leaf.postings(field, term) if (field, term) in leaf else None


def _at(matcher, docnum: int) -> bool:
    """Move ``matcher`` forward to ``docnum``: whether it holds it."""
    if not matcher.is_active():
        return False
    if matcher.id() < docnum:
        matcher.skip_to(docnum)
        if not matcher.is_active():
            return False
    return matcher.id() == docnum
