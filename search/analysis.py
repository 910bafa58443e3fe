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
from collections.abc import Iterator
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
# without invisible or combining characters (nearly all text) it matches what ``\w+``
# words joined by hyphens match, once underscores (which ``\w`` takes in) are blanked.
# ``_PLAIN_PARTS`` matches the same words, and also each later part of a hyphenated
# word, as "" (its group does not take part): the word at index i is at position i.
_PLAIN_WORD = re.compile(r"\w+(?:[-‐‑]\w+)*")
_PLAIN_PARTS = re.compile(r"(?<=\w[-‐‑])\w+|(?=(\w+(?:[-‐‑]\w+)*))\w+")
_JOINED = re.compile(r"\w[-‐‑]\w")
_NOT_PLAIN = re.compile(f"[{INVISIBLE}{COMBINING}]")

# raw word -> (surface, terms, the term if only one) of a word of one unit at one
# position, or (None, units, None) of a hyphenated one (the units of ``_raw_units``).
_position_cache: dict[str, tuple[str | None, tuple, str | None]] = {}


def _position_words(text: str) -> list[str] | None:
    """The raw word at each position of ``text`` ("" for later parts of hyphenated words).

    None when the text holds invisible or combining characters, which only ``WORD``
    handles.
    """
    if _NOT_PLAIN.search(text):
        return None
    if "_" in text:
        text = text.replace("_", " ")
    if _JOINED.search(text):
        return _PLAIN_PARTS.findall(text)
    return _PLAIN_WORD.findall(text)


def field_postings(text: str) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Lemma term -> positions, and surface form -> count, for one field value.

    This is the indexing hot path (each word of the corpus passes here; 61 lines, kept in
    one function since a call per word costs measurably), so the work
    per word is one dictionary append: the positions of each raw word are gathered
    first, and each distinct raw word is then analyzed once (through the caches) for
    all of its positions. Terms and surfaces come in order of first occurrence, the
    positions of a term in increasing order without repeats.
    """
    words = _position_words(text)
    if words is None:
        return _field_postings_by_word(text)
    where: dict[str, list[int]] = {}
    for pos, raw in enumerate(words):
        found = where.get(raw)
        if found is None:
            where[raw] = [pos]
        else:
            found.append(pos)
    where.pop("", None)
    cache = _position_cache
    postings: dict[str, list[int]] = {}
    surfaces: dict[str, int] = {}
    posted = postings.get
    counted = surfaces.get
    merged: list[str] = []  # terms of more than one word: to sort and deduplicate
    for raw, positions in where.items():
        surface, terms, term = cache.get(raw) or _position_analysis(raw)
        if term is not None:  # most words: one unit, one term
            surfaces[surface] = counted(surface, 0) + len(positions)
            known = posted(term)
            if known is None:
                postings[term] = positions
            else:
                postings[term] = known + positions  # a new list: ``known`` may be shared
                merged.append(term)
            continue
        if surface is None:  # hyphenated: the whole word, then each part
            for _, _, offset, surface, unit_terms in terms:
                shifted = [pos + offset for pos in positions]
                for term in unit_terms:
                    known = posted(term)
                    postings[term] = shifted.copy() if known is None else known + shifted
                    merged.append(term)
                surfaces[surface] = counted(surface, 0) + len(positions)
            continue
        surfaces[surface] = counted(surface, 0) + len(positions)
        owned = False  # each term gets a list of its own
        for term in terms:
            known = posted(term)
            if known is not None:
                postings[term] = known + positions
                merged.append(term)
            elif owned:
                postings[term] = positions.copy()
            else:
                postings[term] = positions
                owned = True
    for term in set(merged):
        postings[term] = sorted(set(postings[term]))
    return postings, surfaces


def _position_analysis(raw: str) -> tuple[str | None, tuple, str | None]:
    units, width = _raw_units(raw)
    if width == 1 and len(units) == 1:
        terms = units[0][4]
        analyzed = (units[0][3], terms, terms[0] if len(terms) == 1 else None)
    else:
        analyzed = (None, units, None)
    if len(_position_cache) >= RAW_CACHE_LIMIT:
        _position_cache.clear()
    _position_cache[raw] = analyzed
    return analyzed


def _field_postings_by_word(text: str) -> tuple[dict[str, list[int]], dict[str, int]]:
    """``field_postings`` the plain way, for text that only ``WORD`` splits right."""
    postings: dict[str, list[int]] = {}
    surfaces: dict[str, int] = {}
    pos = 0
    for match in WORD.finditer(text):
        units, width = _raw_units(match.group())
        for _, _, offset, surface, terms in units:
            for term in terms:
                positions = postings.get(term)
                if positions is None:
                    postings[term] = [pos + offset]
                elif positions[-1] != pos + offset:
                    positions.append(pos + offset)
            surfaces[surface] = surfaces.get(surface, 0) + 1
        pos += width
    return postings, surfaces


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
