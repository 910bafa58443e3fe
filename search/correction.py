"""Query correction: the wrong keyboard layout, and typos.

Both decide with the index vocabulary (how many articles hold a form) and the
pymorphy3 dictionary, never with a fixed word list: "ghbdtn" becomes "привет"
because the Cyrillic reading is a Russian word and the Latin one is in no article,
while "trump" stays because articles hold it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from search.morphology import is_known

_LATIN_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`" + 'QWERTYUIOP{}ASDFGHJKL:"ZXCVBNM<>~'
_CYRILLIC_KEYS = "йцукенгшщзхъфывапролджэячсмитьбюё" + "ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
_TO_CYRILLIC = str.maketrans(_LATIN_KEYS, _CYRILLIC_KEYS)
_LAYOUT_WORD = re.compile(r"^[a-zA-Z\[\]{};:'\",.<>`~]+(?:-[a-zA-Z\[\]{};:'\",.<>`~]+)*$")
# Keys that type a Russian letter but are punctuation in the Latin layout; inside a
# word they show that the layout was wrong.
_PUNCTUATION_LETTERS = re.compile(r"[a-zA-Z][\[\]{};:'\",.<>`~]+[a-zA-Z]")
RUSSIAN_LETTERS = "абвгдежзийклмнопрстуфхцчшщъыьэюя"

DocFrequency = Callable[[str], int]


def from_latin_layout(word: str) -> str:
    """The Cyrillic text typed with the Latin layout on: "ghbdtn" -> "привет"."""
    return word.translate(_TO_CYRILLIC)


def could_be_layout(word: str) -> bool:
    """True when the word is made only of keys that the Russian layout maps to letters."""
    return bool(_LAYOUT_WORD.match(word))


def prefer_layout(latin: str, cyrillic: str, frequency: DocFrequency) -> bool:
    """Decide whether a Latin-typed word was meant in Russian.

    ``frequency`` tells how many articles hold a normalized form. The Cyrillic
    reading wins when it is a word (in the dictionary or the index) and the Latin
    one is rarer in the index; punctuation keys inside the word (``g`hk-[fh,jhs``)
    leave no doubt when the Cyrillic reading is a word.
    """
    cyr = cyrillic.lower().replace("ё", "е")
    cyr_freq = sum(frequency(part) for part in cyr.split("-") if part)
    cyr_word = cyr_freq > 0 or all(is_known(p) for p in cyr.split("-") if p)
    if not cyr_word:
        return False
    if _PUNCTUATION_LETTERS.search(latin):
        return True
    return frequency(latin.lower()) < max(cyr_freq, 1)


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
    frequency: DocFrequency,
    lemma_frequency: DocFrequency,
    within_two: Callable[[str], list[str]],
) -> str | None:
    """The likeliest intended form of a word the index does not hold.

    First the form one edit away (Damerau: a dropped, added, swapped or replaced
    letter) that most articles hold; then a dictionary form one edit away whose
    lemma most articles hold (the inflected form may be in no article); then, for
    longer words, the most frequent indexed form two edits away.
    """
    if len(word) < 3:
        return None
    alphabet = RUSSIAN_LETTERS if re.search("[а-я]", word) else "abcdefghijklmnopqrstuvwxyz"
    candidates = edits1(word, alphabet)
    best = _most_frequent(candidates, frequency)
    if best is None:
        best = _most_frequent((c for c in candidates if is_known(c)), lemma_frequency)
    if best is None and len(word) >= 6:
        best = _most_frequent(within_two(word), frequency)
    return best


def _most_frequent(candidates, frequency: DocFrequency) -> str | None:
    best, best_freq = None, 0
    for candidate in sorted(candidates):
        freq = frequency(candidate)
        if freq > best_freq:
            best, best_freq = candidate, freq
    return best
