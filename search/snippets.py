"""Snippets: the passages of an article that hold the most query words, with the forms marked.

Matching is by the analyzer's terms, so "переговорах" is marked for the query
"переговоры"; the mark covers the word as it stands in the text. A snippet is plain
text with the marks as character offsets (``results.Marked``): the web renders HTML
from it, the command line ANSI.

The words of a phrase (a quoted one, or a synonym of several words: «Российская
Федерация» for россия) are marked only where they stand together, as the phrase
matched: «Федерации» in «Совета Федерации» is not a match of россия.

A passage is whole sentences where they fit: it starts at the start of the sentence
holding its first match and ends at the last sentence end within the length limit;
only a passage cut inside a sentence gets an ellipsis, never next to a full stop.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from search.analysis import WORD, Word
from search.forms import FormFilter
from search.results import Marked

SNIPPET_CHARS = 250
MAX_PASSAGES = 2
ELLIPSIS = "…"
LEAD_CHARS = 40  # context before a match when its sentence starts too far back
TAIL_CHARS = 30  # a sentence start is kept only when this much room follows the match
_SPACE = re.compile(r"\s+")
_HYPHEN = re.compile("[-‐‑]")
# A sentence ends at . ! ? … (and closing quotes or brackets) before a space and a
# capital letter, a digit, or an opening quote or dash; and at a line break.
# (A line break is matched from the break itself: from the spaces before it, the regex
# would try every space of the text.)
_BOUNDARY = re.compile(r"(?P<stop>[.!?…]+[»“”\"')\]]*)\s+(?=[«„“\"(\[—–-]?\s?[A-ZА-ЯЁ0-9])|\n\s*")
# Abbreviations after which a full stop does not end the sentence (г. Москва, т. е.).
ABBREVIATIONS = frozenset({"г", "гг", "т", "тт", "д", "ул", "им", "тыс", "млн", "млрд",
                           "руб", "коп", "долл", "см", "ст", "стр", "св", "проф", "акад",
                           "ген"})  # fmt: skip
ABBREVIATION_LETTERS = max(len(word) for word in ABBREVIATIONS)
_CUT_TAIL = ' \t\n,;:—–-(«„“"/'  # what a passage cut inside a sentence must not end with
_CUT_HEAD = " \t\n,;:.…»”)"  # nor start with
_CLOSING = "»“”\"')]"
_STOPS = (".", "!", "?", ELLIPSIS)


@dataclass(frozen=True)
class MarkedPhrase:
    """A phrase to mark: the terms of each of its words, which must stand in order, each
    within ``slop`` positions of the one before (as the phrase query matched them)."""

    words: tuple[frozenset[str], ...]
    slop: int = 1


@dataclass
class Highlighter:
    """What to mark: lemma terms (any form), exact surface forms and phrases."""

    terms: frozenset[str]
    surfaces: frozenset[str] = frozenset()
    phrases: tuple[MarkedPhrase, ...] = ()

    @cached_property
    def forms(self) -> FormFilter:
        phrase_terms = frozenset().union(*(w for p in self.phrases for w in p.words))
        return FormFilter(self.terms | phrase_terms, self.surfaces)

    def spans(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        """Matched (start, end, terms) spans, outermost for hyphenated words."""
        found = list(self.forms.matches(text))
        in_phrase = _phrase_words(text, found, self.phrases) if self.phrases else set()
        spans: list[tuple[int, int, frozenset[str]]] = []
        for i, (word, hit) in enumerate(found):
            if i not in in_phrase and not (hit & self.terms or word.surface in self.surfaces):
                continue  # a word of a phrase, standing alone
            if spans and word.start < spans[-1][1]:
                continue  # a part inside a hyphenated word already marked whole
            spans.append((word.start, word.end, hit))
        return spans

    def mark(self, text: str) -> Marked:
        """The whole text with every match marked."""
        return Marked(text, [(start, end) for start, end, _ in self.spans(text)])

    def snippet(self, text: str, fallback: str = "") -> Marked:
        """One or two best passages of ``text``; ``fallback`` text's start when nothing matches."""
        spans = self.spans(text)
        out = _Joined()
        if not spans:
            source = text or fallback
            sentences = Sentences(source, _near(source, [(0, 0)]))
            start, end = _window(source, sentences, 0, 0, SNIPPET_CHARS)
            _, start, end, tail = _passage(source, sentences, start, end)
            out.add(source, start, end, [])
            if tail:
                out.add_text(ELLIPSIS)
            return out.marked()
        sentences = Sentences(text, _near(text, [(start, end) for start, end, _ in spans]))
        last_end = 0
        for start, end in _best_passages(text, sentences, spans):
            head, start, end, tail = _passage(text, sentences, start, end)
            if start >= end:
                continue
            gap = text[last_end:start]
            if out.text and not head and not gap.strip():
                out.add_text(gap)  # the passages meet: the text as it stands between them
            else:
                if out.text.endswith(ELLIPSIS):
                    head = False  # one ellipsis between passages is enough
                elif out.text and not head:
                    out.add_text(" " + ELLIPSIS)  # whole sentences, others left out between
                out.add_text((" " if out.text else "") + (ELLIPSIS if head else ""))
            out.add(text, start, end, [sp for sp in spans if sp[0] >= start and sp[1] <= end])
            if tail:
                out.add_text(ELLIPSIS)
            last_end = end
        return out.marked()


class _Joined:
    """Pieces of texts joined into one, with their marks moved to the joined offsets."""

    def __init__(self) -> None:
        self.text = ""
        self.marks: list[tuple[int, int]] = []

    def add_text(self, text: str) -> None:
        self.text += text

    def add(self, source: str, start: int, end: int, spans: list) -> None:
        shift = len(self.text) - start
        self.text += source[start:end]
        self.marks.extend((s + shift, e + shift) for s, e, _ in spans)

    def marked(self) -> Marked:
        return Marked(self.text, self.marks)


def _phrase_words(text: str, found: list[tuple[Word, frozenset[str]]], phrases) -> set[int]:
    """Indexes of the found words that stand in an occurrence of one of the phrases."""
    members: set[int] = set()
    for phrase in phrases:
        for first, (_, hit) in enumerate(found):
            if hit & phrase.words[0]:
                members.update(_occurrence(text, found, first, phrase))
    return members


def _occurrence(text: str, found: list, first: int, phrase: MarkedPhrase) -> list[int]:
    """The found words of the phrase starting at ``found[first]``; [] when it does not."""
    chain = [first]
    for wanted in phrase.words[1:]:
        last = found[chain[-1]][0]
        following = None
        for j in range(chain[-1] + 1, len(found)):
            word, hit = found[j]
            if word.start < last.end:
                continue  # a part of the hyphenated word just taken
            if _positions(text[last.end : word.start]) >= phrase.slop:
                break
            if hit & wanted:
                following = j
                break
        if following is None:
            return []
        chain.append(following)
    return chain


def _positions(gap: str) -> int:
    """Index positions the words of a stretch of text take (hyphenated words one per part)."""
    return sum(len(_HYPHEN.split(m.group())) for m in WORD.finditer(gap))


def _near(text: str, matches: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of ``text`` whose sentence bounds a passage around one of ``matches``
    can take: a passage starts at most SNIPPET_CHARS before its match (an earlier sentence
    start is cut to LEAD_CHARS before it) and ends at most SNIPPET_CHARS after it. Finding
    the sentences of the whole text was a tenth of a known-item search at 1x, for passages
    of a few hundred characters out of articles of thousands."""
    reach = SNIPPET_CHARS + _BOUNDARY_CHARS
    stretches: list[tuple[int, int]] = []
    for start, end in sorted(matches):
        low, high = max(0, start - reach), min(len(text), end + reach)
        if stretches and low <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(high, stretches[-1][1]))
        else:
            stretches.append((low, high))
    return stretches


#: More than a sentence boundary (stops, closing quotes, spaces, an opening quote) takes,
#: so that one found at the edge of a stretch is found whole.
_BOUNDARY_CHARS = 40


class Sentences:
    """Where the sentences of a text start and end (character offsets, in order), within
    ``stretches`` of it (sorted, apart; default: the whole text)."""

    def __init__(self, text: str, stretches: list[tuple[int, int]] | None = None):
        self.starts = [0]
        self.ends: list[int] = []
        for match in _boundaries(text, stretches or [(0, len(text))]):
            start, end = match.span()
            stop = match.end("stop")
            if stop == -1:  # a line break
                stop = start
                while stop > 0 and text[stop - 1] in " \t":
                    stop -= 1
            elif stop == start + 1 and text[start] == "." and _abbreviation(text, start):
                continue
            self.ends.append(stop)
            self.starts.append(end)
        self.ends.append(len(text.rstrip()))
        self.end_set = frozenset(self.ends)
        self.start_set = frozenset(self.starts)

    def start_of(self, index: int) -> int:
        """The start of the sentence holding ``index``."""
        return self.starts[bisect_right(self.starts, index) - 1]

    def end_before(self, after: int, limit: int) -> int | None:
        """The last sentence end from ``after`` to ``limit``; None when the sentence runs on."""
        i = bisect_right(self.ends, limit) - 1
        if i < 0 or self.ends[i] < after:
            return None
        return self.ends[i]


def _boundaries(text: str, stretches: list[tuple[int, int]]) -> Iterator[re.Match]:
    """The sentence boundaries within each stretch of ``text``, in order."""
    last_end = 0
    for start, end in stretches:
        for match in _BOUNDARY.finditer(text, max(start, last_end), end):
            last_end = match.end()
            yield match


def _abbreviation(text: str, stop: int) -> bool:
    """A full stop that ends an initial (В. Путин) or an abbreviation (г. Москва)."""
    before = text[max(0, stop - ABBREVIATION_LETTERS - 1) : stop]
    if before.isalpha() and len(before) > ABBREVIATION_LETTERS:
        return False  # a longer word: most sentence ends, decided without a loop
    start = len(before)
    while start > 0 and before[start - 1].isalpha():
        start -= 1
    word = before[start:]
    return len(word) == 1 or word.lower() in ABBREVIATIONS


def _best_passages(text: str, sentences: Sentences, spans: list) -> list[tuple[int, int]]:
    """Passages of up to about SNIPPET_CHARS, each around a match, holding the most query
    words."""
    budget = SNIPPET_CHARS
    chosen: list[tuple[int, int]] = []
    covered: set[str] = set()
    for _ in range(MAX_PASSAGES):
        best = None
        for start, end, _ in spans:
            window_start, window_end = _window(text, sentences, start, end, budget)
            if any(window_start < e and s < window_end for s, e in chosen):
                continue
            inside = [sp for sp in spans if sp[0] >= window_start and sp[1] <= window_end]
            new_terms = set().union(*(sp[2] for sp in inside)) - covered
            score = (len(new_terms), len(inside))
            if best is None or score > best[0]:
                best = (score, window_start, window_end, new_terms)
        if best is None or (chosen and best[0][0] == 0):
            break
        chosen.append((best[1], best[2]))
        covered |= best[3]
        budget = SNIPPET_CHARS // 2 if len(chosen) == 1 else budget
    return sorted(chosen)


def _window(
    text: str, sentences: Sentences, match_start: int, match_end: int, budget: int
) -> tuple[int, int]:
    """A passage around a match: from its sentence's start when that leaves room after the
    match (else a little before the match), to the last sentence end that fits, unless
    that leaves the passage under a third of the budget (then to a word end)."""
    start = sentences.start_of(match_start)
    if match_end - start > budget - TAIL_CHARS:
        start = _cut_start(text, max(start, match_start - LEAD_CHARS))
    limit = min(len(text), start + budget)
    end = sentences.end_before(match_end, limit)
    if end is None or end - start < budget // 3:
        end = max(_cut_end(text, limit), match_end)
    return start, end


def _passage(text: str, sentences: Sentences, start: int, end: int) -> tuple[bool, int, int, bool]:
    """A passage's bounds without the space around it, and whether it is cut inside a
    sentence at its head and its tail (where an ellipsis goes); the punctuation of a cut
    is dropped."""
    head = start > 0 and start not in sentences.start_set
    tail = end < len(text.rstrip()) and end not in sentences.end_set
    if head:
        while start < end and text[start] in _CUT_HEAD:
            start += 1
    if tail:
        while end > start and text[end - 1] in _CUT_TAIL:
            end -= 1
        tail = not text[start:end].rstrip(_CLOSING).endswith(_STOPS)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return head and start < end, start, end, tail and start < end


def _cut_start(text: str, index: int) -> int:
    """Move a passage start forward to the beginning of a word."""
    if index == 0:
        return 0
    match = _SPACE.search(text, index, index + 30)
    return match.end() if match else index


def _cut_end(text: str, index: int) -> int:
    """Move a passage end back to the end of a word."""
    if index >= len(text):
        return len(text)
    cut = max(text.rfind(" ", index - 40, index), text.rfind("\n", index - 40, index))
    return cut if cut != -1 else index
