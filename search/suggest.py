"""Completions for the search box: one form per word, and the index's tags as phrases.

The vocabulary of surface forms offers every inflection of a frequent word at once
("переговоры", "переговоров", "переговорах", ...): ten suggestions that are one. Forms
are grouped by their first lemma and only the commonest form of each is kept. Tags
are the editors' phrases ("ближний восток"): a tag that starts with everything typed so
far is offered before the single words, as it completes the whole thought.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from search.morphology import word_terms
from search.normalize import normalize_word

#: Forms read from the vocabulary for each suggestion wanted: a common word has a dozen
#: forms, and each lemma should still get its own line.
FORMS_PER_SUGGESTION = 6
MAX_PHRASES = 3  # tags offered before the words
TAG_SCAN = 500  # tags read, in alphabetical order, before the commonest are kept
MIN_PREFIX = 2
_PLAIN_TEXT = re.compile(r"[^\W\d_]+(?:[ -][^\W\d_]+)*", re.UNICODE)


class Vocabulary(Protocol):
    """What completions need from an index (``search.ranking.IndexArrays``)."""

    def completions(self, prefix: str, limit: int) -> list[str]: ...

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]: ...


def merge_completions(
    head: str, forms: Sequence[str], limit: int, seen: Iterable[str] = ()
) -> list[str]:
    """``head`` + the first form of each lemma in ``forms`` (commonest first), ``limit`` of
    them; the lemmas in ``seen`` (offered already) are left out."""
    seen = set(seen)
    merged: list[str] = []
    for form in forms:
        lemma = _lemma(form)
        if lemma in seen:
            continue
        seen.add(lemma)
        merged.append(head + form)
        if len(merged) >= limit:
            break
    return merged


def _lemma(form: str) -> str:
    """The likeliest lemma of a surface form: what its inflections share."""
    normalized = normalize_word(form)
    return (word_terms(normalized) or (normalized,))[0]


def phrase_completions(typed: str, tags: Sequence[str], limit: int) -> list[str]:
    """Tags (commonest first) that start with all of ``typed`` and go on past it, as
    ``typed`` and the rest of the tag: the letters typed keep their case."""
    wanted = " ".join(typed.split()).casefold()
    found = [typed + tag[len(wanted) :] for tag in tags if tag.startswith(wanted) and tag != wanted]
    return found[:limit]


def suggestions(vocabulary: Vocabulary, text: str, limit: int) -> list[str]:
    """Completions of ``text``: phrases (tags) first, then one form per word of the last word."""
    words = text.split()
    if not words or text[-1:].isspace():
        return []
    last = normalize_word(words[-1])
    if len(last) < MIN_PREFIX or not last.isalpha():
        return []
    head = text[: len(text) - len(words[-1])]
    phrases: list[str] = []
    typed = " ".join(words).casefold()
    if _PLAIN_TEXT.fullmatch(typed):
        tags = vocabulary.expand_prefix("tags", typed, TAG_SCAN)
        phrases = phrase_completions(text, tags, MAX_PHRASES)
    # Other forms of the word typed are no completions ("трамп" -> not "трампа").
    seen = {_lemma(last)}
    offered: list[str] = []
    for phrase in phrases:
        if len(phrase.split()) == len(words):  # it completes the last word: one form a lemma
            lemma = _lemma(phrase.split()[-1])
            if lemma in seen:
                continue
            seen.add(lemma)
        offered.append(phrase)
    forms = vocabulary.completions(last, limit * FORMS_PER_SUGGESTION)
    return (offered + merge_completions(head, forms, limit, seen))[:limit]
