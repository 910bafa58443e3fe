"""Marked text as HTML: the one place where the web escapes text and marks matches."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from search.results import Span


def marked_html(text: str, marks: list[Span]) -> Markup:
    """``text`` HTML-escaped, each match in ``<mark>``; marks that overlap or run past the
    text are skipped (they cannot come from the highlighter, but text is untrusted)."""
    out, cursor = [], 0
    for start, end in marks:
        if start < cursor or end > len(text) or start >= end:
            continue
        out.append(escape(text[cursor:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        cursor = end
    out.append(escape(text[cursor:]))
    return Markup("".join(out))
