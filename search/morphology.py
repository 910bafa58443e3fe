"""Index terms of a single normalized word: its lemmas, and a stem when the dictionary does not know it.

Every distinct normal form of an ambiguous word is kept ("стали" -> сталь, стать),
so that any reading finds the word; ranking prefers exact forms. pymorphy3 is slow
(about 10-20 thousand words a second), so each distinct word is parsed once per process
and kept in a bounded cache; a parent process can warm the cache before forking
index workers, which then share it.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from search.normalize import is_cyrillic

CACHE_LIMIT = 1_000_000
_LATIN_WORD = re.compile("^[a-z]+$")
_SURNAME = re.compile("^([а-я]{2,}(?:ов|ев|ин|ын))(?:а|у|ым|ом|е|ой|ою|ы|ых|ыми)?$")

_morph = None
_cache: dict[str, tuple[str, ...]] = {}


def morph_analyzer():
    """The process's pymorphy3 analyzer, created on first use (it is not picklable)."""
    global _morph
    if _morph is None:
        import pymorphy3

        _morph = pymorphy3.MorphAnalyzer(lang="ru")
    return _morph


@lru_cache(maxsize=None)
def _stemmer(language: str):
    return snowballstemmer.stemmer(language)


def word_terms(word: str) -> tuple[str, ...]:
    """Index terms of a normalized word (lower case, ё as е), most likely lemma first."""
    terms = _cache.get(word)
    if terms is None:
        if len(_cache) >= CACHE_LIMIT:
            _cache.clear()
        terms = _cache[word] = _compute_terms(word)
    return terms


def _compute_terms(word: str) -> tuple[str, ...]:
    if is_cyrillic(word):
        return _cyrillic_terms(word)
    if _LATIN_WORD.match(word):
        stem = _stemmer("english").stemWord(word)
        return (word, stem) if stem != word else (word,)
    return (word,)


def _cyrillic_terms(word: str) -> tuple[str, ...]:
    terms = _dictionary_lemmas(word) if "-" not in word else _parsed_lemmas(word)
    if not terms:
        # Not in the dictionary: pymorphy3's guesses for unknown words are slow and
        # often wrong, while the snowball stem joins the forms of a new name or
        # place (Жетыбаев, Жетыбаева, Жетыбаевым) reliably -- except for the bare
        # masculine surname, whose "-ев" snowball takes for an ending; the surname
        # base puts it back with the other forms.
        terms = [_stemmer("russian").stemWord(word)]
        surname = _SURNAME.match(word)
        if surname and surname.group(1) not in terms:
            terms.append(surname.group(1))
    return tuple(terms)


def _dictionary_lemmas(word: str) -> list[str]:
    """Normal forms of every dictionary reading of ``word``.

    The dictionary lookup that ``MorphAnalyzer.parse`` starts with, without building
    tags and scores we do not use: about five times faster.
    """
    morph = morph_analyzer()
    dictionary = morph.dictionary
    lemmas: list[str] = []
    for fixed_word, parses in dictionary.words.similar_items(word, morph.char_substitutes):
        for para_id, idx in parses:
            lemma = dictionary.build_normal_form(para_id, idx, fixed_word).replace("ё", "е")
            if lemma not in lemmas:
                lemmas.append(lemma)
    return lemmas


def _parsed_lemmas(word: str) -> list[str]:
    """Normal forms of a hyphenated word, which pymorphy3 analyzes by its parts."""
    lemmas: list[str] = []
    for parse in morph_analyzer().parse(word):
        if not parse.is_known:
            return []
        lemma = parse.normal_form.replace("ё", "е")
        if lemma not in lemmas:
            lemmas.append(lemma)
    return lemmas


def warm_cache(words: dict[str, tuple[str, ...]]) -> None:
    """Adopt terms computed elsewhere (by a pool of worker processes)."""
    _cache.update(words)


def is_known(word: str) -> bool:
    """True when the dictionary knows the normalized Cyrillic word."""
    return morph_analyzer().word_is_known(word)
