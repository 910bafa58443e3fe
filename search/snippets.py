"""Snippets: the passages of an article that hold the most query words, with the forms marked.

Matching is by the analyzer's terms, so "переговорах" is marked for the query
"переговоры"; the mark covers the word as it stands in the text. Everything that is
not a mark is HTML-escaped: the corpus has leftover markup and scripts in its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from html import escape

from search.forms import FormFilter

SNIPPET_CHARS = 250
MAX_PASSAGES = 2
ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")


@dataclass
class Highlighter:
    """What to mark: lemma terms (any form) and exact surface forms."""

    terms: frozenset[str]
    surfaces: frozenset[str] = frozenset()

    @cached_property
    def forms(self) -> FormFilter:
        return FormFilter(self.terms, self.surfaces)

    def spans(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        """Matched (start, end, terms) spans, outermost for hyphenated words."""
        spans: list[tuple[int, int, frozenset[str]]] = []
        for word, hit in self.forms.matches(text):
            if spans and word.start < spans[-1][1]:
                continue  # a part inside a hyphenated word already marked whole
            spans.append((word.start, word.end, hit))
        return spans

    def mark(self, text: str) -> str:
        """The whole text, escaped, with every match marked."""
        return _render(text, 0, len(text), self.spans(text))

    def snippet(self, text: str, fallback: str = "") -> str:
        """One or two best passages of ``text``; ``fallback`` text's start when nothing matches."""
        spans = self.spans(text)
        if not spans:
            source = text or fallback
            end = _cut_end(source, min(len(source), SNIPPET_CHARS))
            tail = ELLIPSIS if end < len(source) else ""
            return escape(source[:end].strip()) + tail
        passages = _best_passages(text, spans)
        parts = []
        for start, end in passages:
            inner = [s for s in spans if s[0] >= start and s[1] <= end]
            html = _render(text, start, end, inner).strip()
            if start > 0 and not (parts and parts[-1].endswith(ELLIPSIS)):
                html = ELLIPSIS + html
            if end < len(text):
                html += ELLIPSIS
            parts.append(html)
        return " ".join(parts)


def _best_passages(text: str, spans: list) -> list[tuple[int, int]]:
    """Windows of about SNIPPET_CHARS, each starting a little before a match."""
    budget = SNIPPET_CHARS
    chosen: list[tuple[int, int]] = []
    covered: set[str] = set()
    for _ in range(MAX_PASSAGES):
        best = None
        for i, (start, _, _) in enumerate(spans):
            window_start = _cut_start(text, max(0, start - 40))
            window_end = _cut_end(text, min(len(text), window_start + budget))
            if any(window_start < e and s < window_end for s, e in chosen):
                continue
            inside = [sp for sp in spans[i:] if sp[1] <= window_end]
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


def _render(text: str, start: int, end: int, spans: list) -> str:
    out = []
    cursor = start
    for s, e, _ in spans:
        if s < cursor or e > end:
            continue
        out.append(escape(text[cursor:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        cursor = e
    out.append(escape(text[cursor:end]))
    return "".join(out)
