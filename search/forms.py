"""Which words of a text can match a query, found without lemmatizing the whole text.

Highlighting and the proximity bonus look for the query's lemmas in article text.
Analyzing every word of every hit in Python costs more than the search itself, so
the query's lemmas are first turned into the short prefixes that their forms start
with (every form in their dictionary paradigms, so "людей" is found for человек; the
term itself for stems of unknown words); one regular expression finds the words that
start so, and only those are analyzed to confirm the match.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from functools import lru_cache

from search.analysis import WORD, Word, analyze
from search.morphology import morph_analyzer
from search.normalize import COMBINING, INVISIBLE, is_cyrillic

PREFIX_LENGTH = 5
_WORD_CHARS = re.compile(rf"[^\W_]|[-‐‑{INVISIBLE}{COMBINING}]")
# Lower-case Latin letters that look Cyrillic, for finding "Cостоялся" (a Latin C).
_LOOKALIKE_LETTERS = "aceopxykmthb"
_LOOKALIKES = str.maketrans(_LOOKALIKE_LETTERS, "асеорхукмтнв")
# A look-alike letter next to a Cyrillic one. Starting with the (rare in Russian text)
# Latin letters lets the regex engine skip ahead; "[а-я][a...]" tried every position,
# and cost more than the rest of the highlighting.
_MIXED = re.compile(f"[{_LOOKALIKE_LETTERS}](?:(?<=[а-я].)|(?=[а-я]))")


@lru_cache(maxsize=20_000)
def paradigm_prefixes(term: str) -> frozenset[str]:
    """Prefixes that every form of ``term``'s dictionary paradigms starts with."""
    prefixes = {term[:PREFIX_LENGTH]}
    if not (term.isalpha() and is_cyrillic(term)):
        return frozenset(prefixes)
    try:
        parses = morph_analyzer().parse(term)
    except ValueError:
        # pymorphy3 asks unicodedata for letter names, which some scripts lack.
        return frozenset(prefixes)
    for parse in parses:
        if parse.normal_form.replace("ё", "е") != term:
            continue
        for form in parse.lexeme:
            prefixes.add(form.word.replace("ё", "е")[:PREFIX_LENGTH])
    return frozenset(prefixes)


class FormFilter:
    """Finds the words of a text whose terms meet ``terms`` (or that are wanted surfaces)."""

    def __init__(self, terms: frozenset[str], surfaces: frozenset[str] = frozenset()):
        self.terms = terms
        self.surfaces = surfaces
        prefixes = set(s[:PREFIX_LENGTH] for s in surfaces)
        for term in terms:
            prefixes.update(paradigm_prefixes(term))
        alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
        # No look-behind for the word start: it keeps the regex engine from skipping
        # ahead to the alternatives' first letters, which made the scan five times
        # slower; a word start is checked on the few matches instead.
        self.pattern = re.compile(f"(?:{alternatives})") if prefixes else None

    def matches(self, text: str, positions: bool = False) -> Iterator[tuple[Word, frozenset[str]]]:
        """Each matching word with what it met; positions (word counts) only when asked."""
        if self.pattern is None or not text:
            return
        lowered = text.lower()
        if len(lowered) != len(text):
            lowered = text
        haystack = lowered.replace("ё", "е")
        starts: list[int] = []
        if positions:
            starts = [m.start() for m in WORD.finditer(text)]
        seen_end = -1
        for found in self._candidates(haystack):
            start, end = _enclosing_word(text, found)
            if start < seen_end:
                continue
            seen_end = end
            pos = bisect_right(starts, start) - 1 if positions else 0
            for word in analyze(text[start:end], max(pos, 0)):
                hit = self.terms.intersection(word.terms)
                if not hit and word.surface in self.surfaces:
                    hit = {word.surface}
                if hit:
                    yield (
                        word._replace(start=word.start + start, end=word.end + start),
                        frozenset(hit),
                    )

    def _candidates(self, haystack: str) -> list[int]:
        found = set(_word_starts(self.pattern, haystack))
        if _MIXED.search(haystack):
            # Words written with Latin look-alike letters among Cyrillic ones.
            found.update(_word_starts(self.pattern, haystack.translate(_LOOKALIKES)))
        return sorted(found)


def _word_starts(pattern: re.Pattern, haystack: str) -> list[int]:
    """Where the pattern matches at the start of a word."""
    return [
        m.start()
        for m in pattern.finditer(haystack)
        if m.start() == 0 or not haystack[m.start() - 1].isalnum()
    ]


def _enclosing_word(text: str, index: int) -> tuple[int, int]:
    """The whole (possibly hyphenated) word around a character offset."""
    start = index
    while start > 0 and _WORD_CHARS.match(text[start - 1]):
        start -= 1
    end = index
    while end < len(text) and _WORD_CHARS.match(text[end]):
        end += 1
    while start < end and text[start] in "-‐‑":
        start += 1
    while end > start and text[end - 1] in "-‐‑":
        end -= 1
    return start, end
