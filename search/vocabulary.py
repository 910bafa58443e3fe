"""The correction module's view of an index generation (``correction.Vocabulary``)."""

from __future__ import annotations

import numpy as np

from search.morphology import word_terms
from search.plan import query_units
from search.ranking import IndexArrays
from search.weights import WEIGHTS


class IndexVocabulary:
    """The correction module's view of the index."""

    def __init__(self, arrays: IndexArrays):
        self.arrays = arrays
        self._masks: dict[str, np.ndarray] = {}

    def frequency(self, form: str) -> int:
        return self.arrays.surface_frequency(form)

    def frequencies(self, forms: list[str]) -> list[int]:
        return self.arrays.surface_frequencies(forms)

    def lemma_frequency(self, form: str) -> int:
        """The most articles holding a lemma of the form in one scored field: the words
        of a headline are often in no body («переговорах» for a title «Срочные
        переговоры…»), and counting the body alone corrected them to a form in it."""
        return max(
            (
                self.arrays.term_frequency(field_name, term)
                for term in word_terms(form)
                for field_name in WEIGHTS.field_boosts
            ),
            default=0,
        )

    def within_two(self, form: str) -> list[str]:
        return self.arrays.forms_within(form, 2, prefix=2)

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
                    for field_name in WEIGHTS.field_boosts:
                        self.arrays.postings(field_name, term).mark(mask)
            mask = self._masks[form] = mask & self.arrays.alive
        return mask
