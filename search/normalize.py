"""Normalization of single words: case, ё, Unicode forms, invisible characters, mixed scripts.

The analyzer tokenizes the raw text (so that character offsets stay true for
highlighting) and normalizes each word on its own, here.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that may sit inside a word without being part of it: the soft hyphen,
# zero-width spaces and joiners, the word joiner, a stray byte-order mark, and
# combining accents (a stress mark over a vowel).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
COMBINING = "\u0300-\u036f"
_STRIP = re.compile(f"[{INVISIBLE}{COMBINING}]")

# Latin letters that look like Cyrillic ones (after lower-casing), and back.
_LATIN_LOOKALIKES = "aceopxykmthb"
_CYRILLIC_LOOKALIKES = "асеорхукмтнв"
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES, _LATIN_LOOKALIKES)
_LATIN = re.compile("[a-z]")
_CYRILLIC = re.compile("[а-я]")


def normalize_word(raw: str) -> str:
    """Return the form under which a word is indexed and searched.

    Lower case, NFC, ё -> е, without invisible characters; a word written mostly in
    Cyrillic with Latin look-alike letters (the "Cостоялся" of the seed article, with
    a Latin C) is written all in Cyrillic, and the reverse for mostly-Latin words.
    """
    word = raw.lower()
    if word.isascii():
        return word
    word = unicodedata.normalize("NFC", word)
    # NFC has composed е + U+0308 into ё and и + U+0306 into й; what remains
    # combining is an accent to drop.
    word = _STRIP.sub("", word).replace("ё", "е")
    return _fix_mixed_script(word)


def _fix_mixed_script(word: str) -> str:
    latin = len(_LATIN.findall(word))
    if not latin:
        return word
    cyrillic = len(_CYRILLIC.findall(word))
    if not cyrillic:
        return word
    if cyrillic >= latin:
        fixed = word.translate(_TO_CYRILLIC)
        return fixed if not _LATIN.search(fixed) else word
    fixed = word.translate(_TO_LATIN)
    return fixed if not _CYRILLIC.search(fixed) else word


def is_cyrillic(word: str) -> bool:
    """True when the (normalized) word has Cyrillic letters."""
    return _CYRILLIC.search(word) is not None
