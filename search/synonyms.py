"""Synonyms and abbreviations (РФ / Россия, МИД / министерство иностранных дел), at query time.

The groups live in ``synonyms.txt`` beside this module, one group a line. Members are
compared by their lemmas, so "России" finds the group of "россия". A word gets at most
MAX_SYNONYMS of them: each is searched in every field, a phrase by the positions of all
of its words, and an edited file with a long group must not make one word cost seconds.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from search.analysis import analyze

SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt")
MAX_SYNONYMS = 4  # the groups of synonyms.txt give a word up to 3


def _key(text: str) -> tuple[str, ...]:
    """A phrase's identity: the first lemma of each of its words."""
    return tuple(word.terms[0] for word in analyze(text) if word.terms)


@lru_cache(maxsize=4)
def load_groups(path: Path = SYNONYMS_FILE) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Lemma key of a member -> the other members of its group, as written."""
    groups: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        members = [m.strip() for m in line.split("=") if m.strip()]
        for member in members:
            others = tuple(m for m in members if m != member)
            groups.setdefault(_key(member), ())
            groups[_key(member)] += others
    return groups


def synonyms_of(word: str, path: Path = SYNONYMS_FILE) -> tuple[str, ...]:
    """The other members of the groups a single query word belongs to (the first
    MAX_SYNONYMS, in the order of the file)."""
    words = [w for w in analyze(word) if w.terms]
    if len(words) != 1:
        return ()
    groups = load_groups(path)
    found: list[str] = []
    for lemma in words[0].terms:
        for other in groups.get((lemma,), ()):
            if other not in found:
                found.append(other)
    return tuple(found[:MAX_SYNONYMS])
