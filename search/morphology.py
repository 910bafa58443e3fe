"""Index terms of a single normalized word: its lemmas, or a stem when the dictionary lacks it.

Every distinct normal form of an ambiguous word is kept ("стали" -> сталь, стать),
so that any reading finds the word; ranking prefers exact forms. pymorphy3 is slow
(about 10-20 thousand words a second), so each distinct word is parsed once per process
and kept in a bounded cache; a parent process can warm the cache before forking
index workers, which then share it.
"""

from __future__ import annotations

import re
import threading
from binascii import a2b_base64
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


_thread = threading.local()


def _stemmer(language: str):
    """This thread's snowball stemmer of ``language``. A stemmer keeps the word it is
    stemming in itself, so threads must not share one: a merge indexing articles beside an
    update (``search.merging``) made the shared one fail with IndexError inside snowball."""
    stemmers = _thread.__dict__.setdefault("stemmers", {})
    stemmer = stemmers.get(language)
    if stemmer is None:
        stemmer = stemmers[language] = snowballstemmer.stemmer(language)
    return stemmer


def word_terms(word: str) -> tuple[str, ...]:
    """Index terms of a normalized word (lower case, ё as е), most likely lemma first."""
    terms = _cache.get(word)
    if terms is None:
        if len(_cache) >= CACHE_LIMIT:
            _cache.clear()
        terms = _cache[word] = _compute_terms(word)
    return terms


#: Noun readings of an unknown query word whose paradigms are asked for, and the shortest
#: stem taken from them (shorter ones are the stems of other words as often as of this one).
PARADIGM_GUESSES = 2
MIN_GUESSED_STEM = 4
_RUSSIAN_WORD = re.compile("[а-я]+")  # pymorphy3 fails on some other letters


@lru_cache(maxsize=20_000)
def query_terms(word: str) -> tuple[str, ...]:
    """Terms to search a normalized query word by: its index terms and, for a word the
    dictionary lacks, the snowball stems of every form of its likely noun paradigms.

    Snowball does not stem every form of a new name alike: Байден -> байд but Байдене ->
    байден, Пхенчхан -> пхенчха but Пхенчхане -> пхенчхан, брексит -> брекс but брекситом ->
    брексит. Indexing stays one stem a word (pymorphy3's guesses cost a millisecond a word,
    too slow for a build); the query, a few words, asks for all its forms' stems instead.
    """
    terms = word_terms(word)
    if not _RUSSIAN_WORD.fullmatch(word) or _dictionary_lemmas(word):
        return terms
    found = list(terms)
    stemmer = _stemmer("russian")
    for parse in morph_analyzer().parse(word)[:PARADIGM_GUESSES]:
        if parse.tag.POS != "NOUN":
            continue
        for form in parse.lexeme:
            stem = stemmer.stemWord(form.word.replace("ё", "е"))
            if len(stem) >= MIN_GUESSED_STEM and stem[:4] == word[:4] and stem not in found:
                found.append(stem)
    return tuple(found)


def _compute_terms(word: str) -> tuple[str, ...]:
    if is_cyrillic(word):
        return _cyrillic_terms(word)
    if _LATIN_WORD.match(word):
        stem = _stemmer("english").stemWord(word)
        return (word, stem) if stem != word else (word,)
    return (word,)


def _cyrillic_terms(word: str) -> tuple[str, ...]:
    if "-" in word:
        # A compound the dictionary lacks ("женщиной-арбитром") is the compound of
        # its parts' first lemmas ("женщина-арбитр"), so that its forms meet.
        terms = _parsed_lemmas(word) or ["-".join(word_terms(p)[0] for p in word.split("-") if p)]
        return tuple(terms)
    terms = _dictionary_lemmas(word)
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
    tags and scores we do not use. The lookup is ``similar_items`` of the words DAWG
    (the word and its variants with ё for е) walked by :func:`_similar_forms`, which
    returns the same forms in the same order, about twice as fast; the normal form
    recipes of each DAWG payload are computed once per process (payloads are shared
    by many words).
    """
    morph = morph_analyzer()
    lemmas: list[str] = []
    for fixed_word, payload in _dictionary_forms(word):
        recipes = _recipes.get(payload)
        if recipes is None:
            recipes = _recipes[payload] = _normal_form_recipes(morph.dictionary, payload)
        for recipe in recipes:
            if recipe is None:  # the word is its own normal form
                lemma = fixed_word
            else:
                cut, keep_to, prefix, suffix = recipe
                lemma = prefix + fixed_word[cut : len(fixed_word) - keep_to] + suffix
            lemma = lemma.replace("ё", "е")
            if lemma not in lemmas:
                lemmas.append(lemma)
    return lemmas


def _dictionary_forms(word: str) -> list[tuple[str, int]]:
    """``(dictionary form, payload index)`` of ``word`` as spelt and with ё for е."""
    morph = morph_analyzer()
    found: list[tuple[str, int]] = []
    _similar_forms(morph.dictionary.words.dct._units, morph.char_substitutes, "", word, 0, found)
    return found


# DAWG units (dawg_python's layout): the offset of a node's children, the label of a
# node with its leaf bit, and the byte that separates a key from its payload.
_EXTENSION_BIT = 1 << 9
_LABEL_MASK = (1 << 31) | 0xFF
_HAS_LEAF_BIT = 1 << 8
_PAYLOAD_SEPARATOR = b"\x01"
_utf8: dict[str, bytes] = {}
_Recipe = tuple[int, int, str, str] | None
_recipes: dict[int, list[_Recipe]] = {}


def _similar_forms(
    units, substitutes, prefix: str, key: str, index: int, found: list[tuple[str, int]]
) -> None:
    """Append ``(dictionary form, payload index)`` for ``key`` and its substituted variants.

    A transcription of ``dawg_python``'s ``BytesDAWG._similar_items`` with the unit
    arithmetic inlined, keeping its order: the form spelt as ``key`` first, then the
    variants with a substitution at an earlier position before those at a later one.
    """
    start = pos = len(prefix)
    insert_at = len(found)
    for char in key[start:]:
        step = _utf8.get(char)
        if step is None:
            step = _utf8[char] = char.encode("utf-8")
        if step in substitutes:
            for replacement, replacement_char in substitutes[step]:
                branch = _follow(units, index, replacement)
                if branch:
                    variant = prefix + key[start:pos] + replacement_char
                    _similar_forms(units, substitutes, variant, key, branch, found)
        for label in step:  # _follow, inlined: this loop is most of the lookup
            base = units[index]
            index ^= ((base >> 10) << ((base & _EXTENSION_BIT) >> 6)) ^ label
            if units[index] & _LABEL_MASK != label:
                return
        pos += 1
    index = _follow(units, index, _PAYLOAD_SEPARATOR)
    if index:
        found.insert(insert_at, (prefix + key[start:], index))


def _follow(units, index: int, label_bytes: bytes) -> int:
    """The DAWG node reached from ``index`` by ``label_bytes``, or 0."""
    for label in label_bytes:
        index = _child(units, index, label)
        if not index:
            return 0
    return index


def _child(units, index: int, label: int) -> int:
    """The DAWG node reached from ``index`` by one byte ``label``, or 0."""
    base = units[index]
    child = index ^ ((base >> 10) << ((base & _EXTENSION_BIT) >> 6)) ^ label
    return child if units[child] & _LABEL_MASK == label else 0


def _payload_values(words, index: int) -> list[tuple[int, int]]:
    """``RecordDAWG._value_for_index`` (the parses stored under a payload node), with
    dawg_python's ``Completer`` walk inlined: every key below ``index``, in its order."""
    units = words.dct._units
    guide = words.guide._units
    unpack = words._struct.unpack
    values: list[tuple[int, int]] = []
    key = bytearray()
    stack = [index]
    started = False
    while True:
        index = stack[-1]
        if started:
            label = guide[index * 2]  # the first child
            if label:
                index = _child(units, index, label)
                if not index:
                    return values
                key.append(label)
                stack.append(index)
            else:  # back up to the next sibling
                while True:
                    label = guide[index * 2 + 1]
                    if key:
                        key.pop()
                    stack.pop()
                    if not stack:
                        return values
                    index = stack[-1]
                    if label:
                        index = _child(units, index, label)
                        if not index:
                            return values
                        key.append(label)
                        stack.append(index)
                        break
        started = True
        while not units[index] & _HAS_LEAF_BIT:  # down to the end of a key
            label = guide[index * 2]
            index = _child(units, index, label)
            if not index:
                return values
            key.append(label)
            stack.append(index)
        values.append(unpack(a2b_base64(bytes(key))))


def _normal_form_recipes(dictionary, payload: int) -> list[_Recipe]:
    """How to build the normal form of each (paradigm, form) pair of a DAWG payload.

    ``OpencorporaDict.build_normal_form`` as data: cut the form's prefix and keep the
    stem up to its suffix, then add the normal form's prefix and suffix.
    """
    recipes: list[_Recipe] = []
    for para_id, idx in _payload_values(dictionary.words, payload):
        if idx == 0:
            recipes.append(None)
            continue
        paradigm = dictionary.paradigms[para_id]
        forms = len(paradigm) // 3
        prefix = dictionary.paradigm_prefixes[paradigm[forms * 2 + idx]]
        suffix = dictionary.suffixes[paradigm[idx]]
        normal_prefix = dictionary.paradigm_prefixes[paradigm[forms * 2]]
        normal_suffix = dictionary.suffixes[paradigm[0]]
        recipes.append((len(prefix), len(suffix), normal_prefix, normal_suffix))
    return recipes


def _parsed_lemmas(word: str) -> list[str]:
    """Normal forms of a hyphenated word, which pymorphy3 analyzes by its parts.

    Only a word the dictionary knows as a whole gets lemmas (every parse of a known word
    is a dictionary parse, every parse of an unknown one is not), so the full parse,
    some thirty times slower than the check, runs for known words only.
    """
    morph = morph_analyzer()
    if not morph.word_is_known(word):
        return []
    lemmas: list[str] = []
    for parse in morph.parse(word):
        if not parse.is_known:
            return []
        lemma = parse.normal_form.replace("ё", "е")
        if lemma not in lemmas:
            lemmas.append(lemma)
    return lemmas


def is_known(word: str) -> bool:
    """True when the dictionary knows the normalized Cyrillic word (spelt with е or ё).

    ``MorphAnalyzer.word_is_known`` by the walk of :func:`_similar_forms`, which is faster:
    spelling correction asks this of hundreds of candidate words a query.
    """
    return bool(_dictionary_forms(word))
