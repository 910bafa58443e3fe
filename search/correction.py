"""Query correction: the wrong keyboard layout, and typos.

Both decide with the index vocabulary (how many articles hold a form) and the
pymorphy3 dictionary, never with a fixed word list: "ghbdtn" becomes "привет"
because the Cyrillic reading is a Russian word and the Latin one is in no article,
while "trump" stays because articles hold it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from search.morphology import is_known, word_terms
from search.normalize import normalize_word
from search.query import Word

_LATIN_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`" + 'QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>~'
_CYRILLIC_KEYS = "йцукенгшщзхъфывапролджэячсмитьбюё" + "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
_TO_CYRILLIC = str.maketrans(_LATIN_KEYS, _CYRILLIC_KEYS)
_TO_LATIN = str.maketrans(_CYRILLIC_KEYS, _LATIN_KEYS)
_LAYOUT_WORD = re.compile(r"^[a-zA-Z\[\]{};:'\",.<>`~]+(?:-[a-zA-Z\[\]{};:'\",.<>`~]+)*$")
# Keys that type a Russian letter but are punctuation in the Latin layout; inside a
# word they show that the layout was wrong.
_PUNCTUATION_LETTERS = re.compile(r"[a-zA-Z][\[\]{};:'\",.<>`~]+[a-zA-Z]")
RUSSIAN_LETTERS = "абвгдежзийклмнопрстуфхцчшщъыьэюя"
LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"
RARE = 3  # articles: a form this rare may be a typo even though the index holds it
COMMON_RATIO = 50  # ...when a neighbour is this many times more common
MAX_TYPO_LENGTH = 40  # longer "words" are not typos, and their edits cost seconds
CONTEXT_CANDIDATES = 5  # corrections weighed by the other query words: the most common few

DocFrequency = Callable[[str], int]
#: Articles holding each of several forms, in their order: at a million articles in 27
#: segments, counting a typo's 600 candidates one at a time took 80 ms a word.
DocFrequencies = Callable[[list[str]], list[int]]


def from_latin_layout(word: str) -> str:
    """The Cyrillic text typed with the Latin layout on: "ghbdtn" -> "привет"."""
    return word.translate(_TO_CYRILLIC)


def to_latin_layout(text: str) -> str:
    """Russian text as typed with the Latin layout on: "привет" -> "ghbdtn"."""
    return text.translate(_TO_LATIN)


def could_be_layout(word: str) -> bool:
    """True when the word is made only of keys that the Russian layout maps to letters."""
    return bool(_LAYOUT_WORD.match(word))


def prefer_layout(latin: str, cyrillic: str, vocabulary: Vocabulary) -> bool:
    """Decide whether a Latin-typed word was meant in Russian.

    The Cyrillic reading wins when it is a word (in the dictionary, or in the index
    in this form or another form of it) and the Latin one is rarer in the index;
    punctuation keys inside the word (``g`hk-[fh,jhs``) leave no doubt when the
    Cyrillic reading is a word.
    """
    parts = [p for p in cyrillic.lower().replace("ё", "е").split("-") if p]
    cyr_freq = sum(vocabulary.frequency(part) for part in parts)
    cyr_word = (
        cyr_freq > 0
        or all(is_known(p) for p in parts)
        or all(vocabulary.lemma_frequency(p) > 0 for p in parts)
    )
    if not cyr_word:
        return False
    if _PUNCTUATION_LETTERS.search(latin):
        return True
    return vocabulary.frequency(latin.lower()) < max(cyr_freq, 1)


def edits1(word: str, alphabet: str = RUSSIAN_LETTERS) -> set[str]:
    """Forms one deletion, transposition, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in alphabet]
    inserts = [a + c + b for a, b in splits for c in alphabet]
    return set(deletes + transposes + replaces + inserts)


def best_correction(
    word: str,
    frequencies: DocFrequencies,
    lemma_frequency: DocFrequency,
    within_two: Callable[[str], list[str]],
    together: DocFrequency | None = None,
) -> str | None:
    """The likeliest intended form of a word the index does not hold.

    First the forms one edit away (Damerau: a dropped, added, swapped or replaced
    letter) that articles hold: of the most common few, the one found most often with
    the query's other words (``together``), then the most common; then a dictionary form
    one edit away whose lemma most articles hold (the inflected form may be in no
    article); then, for longer words, the most frequent indexed form two edits away.
    """
    if len(word) < 3:
        return None
    alphabet = RUSSIAN_LETTERS if re.search("[а-я]", word) else LATIN_LETTERS
    candidates = sorted(edits1(word, alphabet))
    best = _in_context(candidates, frequencies, together)
    if best is None:
        known = [c for c in candidates if is_known(c)]
        best = _most_frequent(known, lambda forms: [lemma_frequency(f) for f in forms])
    if best is None and len(word) >= 6:
        best = _most_frequent(sorted(within_two(word)), frequencies)
    return best


def _in_context(
    candidates: list[str], frequencies: DocFrequencies, together: DocFrequency | None
) -> str | None:
    """Of the indexed candidates, the one most articles hold with the other query words
    ("хавера трампа": хакера, not the more common хавьера); the most common on a tie."""
    found = sorted(zip(frequencies(candidates), candidates, strict=True), reverse=True)
    found = [(freq, c) for freq, c in found if freq > 0][:CONTEXT_CANDIDATES]
    if not found:
        return None
    if together is None or len(found) == 1:
        return found[0][1]
    return max(found, key=lambda item: (together(item[1]), item[0]))[1]


def _most_frequent(
    candidates: list[str], frequencies: DocFrequencies, above: int = 0
) -> str | None:
    """The most frequent of the (sorted) candidates, the first of them on a tie; None
    when none is in more than ``above`` articles."""
    counts = frequencies(candidates) if candidates else []
    best = max(range(len(counts)), key=counts.__getitem__, default=None)
    return None if best is None or counts[best] <= above else candidates[best]


class Vocabulary(Protocol):
    """What correction needs to know of the index."""

    def frequency(self, form: str) -> int:
        """Articles holding the normalized surface form."""

    def frequencies(self, forms: list[str]) -> list[int]:
        """Articles holding each of the normalized surface forms."""

    def lemma_frequency(self, form: str) -> int:
        """Articles holding a lemma of the form (the most in one scored field)."""

    def within_two(self, form: str) -> list[str]:
        """Indexed forms up to two edits away."""

    def together(self, form: str, others: list[str]) -> int:
        """Articles holding a lemma of ``form`` and of each of ``others`` that any holds."""


@dataclass
class Correction:
    text: str | None = None  # the corrected query, when a word was replaced
    did_you_mean: str | None = None  # a suggestion that was not applied


def correct_words(
    text: str, words: list[Word], vocabulary: Vocabulary, typing: Word | None = None
) -> Correction:
    """Fix the keyboard layout and unknown words of a query.

    Only the words that change are replaced in the query text, so operators and the
    rest of the query stay as typed. ``typing``, the word still being typed, is only
    read in the other layout when it is a word there (``gthtujdjhs``): half typed, it
    is no typo.
    """
    replacements: dict[str, str] = {}
    suggestions: dict[str, str] = {}
    if typing is not None and could_be_layout(typing.text):
        cyrillic = from_latin_layout(typing.text)
        if prefer_layout(typing.text, cyrillic, vocabulary):
            replacements[typing.text] = cyrillic
    for word in words:
        raw = word.text
        if raw in replacements or word.prefix or word is typing:
            continue
        others = [w.text for w in words if w.text != raw]
        if could_be_layout(raw):
            cyrillic = from_latin_layout(raw)
            if prefer_layout(raw, cyrillic, vocabulary):
                replacements[raw] = cyrillic
                continue
            fixed = _fix_word(cyrillic, vocabulary, others)
            if fixed and vocabulary.frequency(normalize_word(raw)) == 0:
                replacements[raw] = fixed
                continue
        if word.exact:
            continue
        fixed = _fix_word(raw, vocabulary, others)
        if fixed:
            replacements[raw] = fixed
            continue
        suggestion = _common_neighbour(raw, vocabulary)
        if suggestion:
            suggestions[raw] = suggestion
    return Correction(
        _replace_words(text, replacements) if replacements else None,
        _replace_words(text, suggestions) if suggestions else None,
    )


def _fix_word(raw: str, vocabulary: Vocabulary, others: list[str]) -> str | None:
    """A correction of a word, or of the parts of a hyphenated one ("какоо-то")."""
    parts = raw.split("-")
    if len(parts) == 1:
        return _fix_typo(raw, vocabulary, others)
    fixed = [_fix_typo(part, vocabulary, others) if part else None for part in parts]
    if not any(fixed):
        return None
    return "-".join(new or old for new, old in zip(fixed, parts, strict=True))


def _fix_typo(raw: str, vocabulary: Vocabulary, others: list[str]) -> str | None:
    """A correction for a word that the index does not know.

    The typed form may still share a stem with a few articles (a new name in another
    case, or a stem that happens to match): then the correction must be far more
    common than what the typed word finds, so that rare names are left alone. A stem
    that is itself a dictionary word ("судьы" -> суд) says nothing of the typed word.
    A dictionary word that no article holds in any form ("капания") is corrected too:
    as typed it finds nothing.
    """
    surface = normalize_word(raw)
    if len(surface) > MAX_TYPO_LENGTH:
        return None
    if len(surface) < 3 or not surface.isalpha() or vocabulary.frequency(surface) > 0:
        return None
    own = vocabulary.lemma_frequency(surface)
    if is_known(surface):
        if own:
            return None
    elif all(is_known(term) for term in word_terms(surface)):
        own = 0
    elif own > RARE:
        return None
    fixed = best_correction(
        surface,
        vocabulary.frequencies,
        vocabulary.lemma_frequency,
        vocabulary.within_two,
        lambda candidate: vocabulary.together(candidate, others),
    )
    if fixed and own and vocabulary.frequency(fixed) < own * COMMON_RATIO:
        return None
    return fixed


def _common_neighbour(raw: str, vocabulary: Vocabulary) -> str | None:
    """A far more common form one edit away from a rare unknown word: offered, not applied."""
    surface = normalize_word(raw)
    if len(surface) < 4 or not surface.isalpha() or is_known(surface):
        return None
    own = vocabulary.frequency(surface)
    if own == 0 or own > RARE:
        return None
    alphabet = RUSSIAN_LETTERS if re.search("[а-я]", surface) else LATIN_LETTERS
    candidates = sorted(edits1(surface, alphabet))
    return _most_frequent(candidates, vocabulary.frequencies, above=own * COMMON_RATIO)


def _replace_words(text: str, replacements: dict[str, str]) -> str:
    keys = sorted(replacements, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(k) for k in keys) + r")(?!\w)")
    return pattern.sub(lambda m: replacements[m.group()], text)
