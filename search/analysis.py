"""The Russian analyzer: words, their positions and offsets, and the terms they are indexed under.

One piece of code serves indexing, querying and highlighting. ``analyze`` walks the
raw text and yields each word with its offsets and terms; ``RussianAnalyzer`` wraps it
as a Whoosh analyzer, and ``field_postings`` is the fast path that the index fields
use (a term -> positions mapping without Whoosh's per-token objects).

A hyphenated word (Санкт-Петербург) is indexed whole at the position of its first part,
and each part at its own position, so that both "санкт-петербург" and the phrase
"санкт петербург" find it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import accumulate, repeat
from typing import NamedTuple

from whoosh.analysis import Composable, Token

from search.morphology import word_terms
from search.normalize import COMBINING, INVISIBLE, normalize_word

_WORD_CHAR = rf"[^\W_]|[{INVISIBLE}{COMBINING}]"
WORD = re.compile(rf"(?:{_WORD_CHAR})+(?:[-‐‑](?:{_WORD_CHAR})+)*")
_HYPHEN = re.compile("[-‐‑]")


class Word(NamedTuple):
    """One position of the analyzed text."""

    pos: int
    start: int
    end: int
    surface: str  # the normalized form as it stands
    terms: tuple[str, ...]  # lemmas (and stem) under which it is indexed


# (relative start, relative end, position offset, surface, terms) for each indexed
# unit of a raw word, and the number of positions the word takes.
_Unit = tuple[int, int, int, str, tuple[str, ...]]
_raw_cache: dict[str, tuple[tuple[_Unit, ...], int]] = {}
RAW_CACHE_LIMIT = 1_000_000


def _raw_units(raw: str) -> tuple[tuple[_Unit, ...], int]:
    found = _raw_cache.get(raw)
    if found is not None:
        return found
    surface = normalize_word(raw)
    if not _HYPHEN.search(raw):
        found = (((0, len(raw), 0, surface, word_terms(surface)),), 1)
    else:
        units: list[_Unit] = []
        if surface:
            units.append((0, len(raw), 0, surface, word_terms(surface)))
        offset = 0
        pos = 0
        for part in _HYPHEN.split(raw):
            part_surface = normalize_word(part)
            if part_surface:
                units.append(
                    (offset, offset + len(part), pos, part_surface, word_terms(part_surface))
                )
                pos += 1
            offset += len(part) + 1
        found = (tuple(units), max(pos, 1))
    if len(_raw_cache) >= RAW_CACHE_LIMIT:
        _raw_cache.clear()
    _raw_cache[raw] = found
    return found


def analyze(text: str, start_pos: int = 0) -> Iterator[Word]:
    """Every indexed unit of ``text`` with its position, character offsets and terms."""
    pos = start_pos
    for match in WORD.finditer(text):
        units, width = _raw_units(match.group())
        start = match.start()
        for rel_start, rel_end, offset, surface, terms in units:
            if surface:
                yield Word(pos + offset, start + rel_start, start + rel_end, surface, terms)
        pos += width


# ``WORD`` spends most of its time in the alternation of its character class. On text
# without underscores, invisible or combining characters (nearly all text) it matches
# exactly what ``\w+`` words joined by hyphens match, about twice as fast; an
# underscore, which ``\w`` would take in, is blanked first (offsets do not matter here).
_PLAIN_WORD = re.compile(r"\w+(?:[-‐‑]\w+)*")
_NOT_PLAIN = re.compile(f"[{INVISIBLE}{COMBINING}]")


def _words(text: str) -> list[str]:
    """``WORD.findall(text)``, the fast way when the text allows it."""
    if _NOT_PLAIN.search(text):
        return WORD.findall(text)
    if "_" in text:
        text = text.replace("_", " ")
    return _PLAIN_WORD.findall(text)


def field_postings(text: str) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Lemma term -> positions, and surface form -> count, for one field value.

    This is the indexing hot path (each word of the corpus passes here), so the work
    per word is kept to one dictionary append: words are grouped by their raw form
    first, and each distinct raw form is then analyzed once (through the caches)
    for all of its positions. Terms and surfaces come in order of first occurrence.
    """
    raws = _words(text)
    where: dict[str, list[int]] = {}
    for index, raw in enumerate(raws):
        found = where.get(raw)
        if found is None:
            where[raw] = [index]
        else:
            found.append(index)
    cache = _raw_cache
    analyses = [cache.get(raw) or _raw_units(raw) for raw in where]
    positions_of: Iterable[list[int]] = where.values()
    widths = {raw: width for raw, (_, width) in zip(where, analyses, strict=True) if width != 1}
    if widths:
        # Hyphenated words take one position per part: the position of a word is
        # the sum of the widths of the words before it.
        starts = list(accumulate(map(widths.get, raws, repeat(1)), initial=0))
        positions_of = [list(map(starts.__getitem__, found)) for found in where.values()]
    postings: dict[str, list[int]] = {}
    surfaces: dict[str, int] = {}
    merged: set[str] = set()  # terms of more than one unit, to sort and deduplicate
    for (units, _), positions in zip(analyses, positions_of, strict=True):
        count = len(positions)
        unused = True  # ``positions`` itself is not yet the list of a term
        for _, _, offset, surface, terms in units:
            shifted = [pos + offset for pos in positions] if offset else positions
            for term in terms:
                known = postings.get(term)
                if known is not None:  # a new list: ``known`` may be ``positions``
                    postings[term] = known + shifted
                    merged.add(term)
                elif shifted is not positions:
                    postings[term] = shifted
                elif unused:
                    postings[term] = positions
                    unused = False
                else:
                    postings[term] = positions.copy()
            surfaces[surface] = surfaces.get(surface, 0) + count
    for term in merged:
        postings[term] = sorted(set(postings[term]))
    return postings, surfaces


def query_words(text: str) -> list[Word]:
    """The words of a piece of query text (same analysis as the documents)."""
    return list(analyze(text))


def raw_words(text: str) -> list[str]:
    """The words of ``text`` exactly as written, for layout and spelling checks."""
    return WORD.findall(text)


class RussianAnalyzer(Composable):
    """Whoosh analyzer yielding the lemma terms of each word (several at one position)."""

    def __init__(self, surface: bool = False):
        self.surface = surface

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for word in analyze(value, start_pos):
            texts = (word.surface,) if self.surface else word.terms
            for text in texts:
                token.text = text
                token.original = word.surface
                token.boost = 1.0
                token.stopped = False
                if positions:
                    token.pos = word.pos
                if chars:
                    token.startchar = start_char + word.start
                    token.endchar = start_char + word.end
                yield token

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RussianAnalyzer) and other.surface == self.surface
