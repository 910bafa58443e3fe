"""The article page: the stored text as paragraphs, and the articles next to it in the search.

The sources keep one paragraph a line, but the scraper also broke lines where it dropped
a link: a line that starts in lower case or with a comma goes on with the line before. A
short line without closing punctuation followed by text is a subheading ("Нефть и
золото"); a short line padded with spaces is what the scraper kept of a caption or a
photo credit (" AFP ") and is shown small. The marked HTML of the engine has the same
line breaks as the text (marks never span one), so both are split alike.

An article opened from the results carries the search and its position there (``pos``):
running the same search again gives the results before and after it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from search.searching import MAX_PAGE, MAX_PER_PAGE, SearchError
from web import engine
from web.links import POSITION_KEY
from web.params import search_request, whole_number

MAX_HEADING_CHARS = 100
MAX_NOTE_CHARS = 120
_CLOSING = ".!?…:;,"
_GOING_ON = ",;:.!?)»…"  # what a line cut from its sentence starts with


@dataclass(frozen=True)
class Paragraph:
    kind: str  # "text", "heading" or "note"
    html: Markup


def paragraphs(text: str, html: str | None = None) -> list[Paragraph]:
    """The paragraphs of ``text``; ``html`` is the same text escaped and marked, if any."""
    lines = _lines(text)
    marked = _lines(html) if html is not None else []
    if len(marked) != len(lines):
        marked = [str(escape(line)) for line in lines]
    blocks = _rejoin(list(zip(lines, marked, strict=True)))
    kinds = _kinds([plain for plain, _ in blocks])
    return [
        Paragraph(kind, Markup(h.strip()))
        for (_, h), kind in zip(blocks, kinds, strict=True)
        if kind
    ]


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _rejoin(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(text, html) lines, a line that carries on the sentence of the one before joined to it."""
    blocks: list[tuple[str, str]] = []
    for plain, html in lines:
        if blocks and _goes_on(blocks[-1][0], plain):
            previous, previous_html = blocks[-1]
            glue = (
                "" if previous[-1].isspace() or plain[0].isspace() or plain[0] in _GOING_ON else " "
            )
            blocks[-1] = (previous + glue + plain, previous_html + glue + html)
        else:
            blocks.append((plain, html))
    return blocks


def _goes_on(previous: str, line: str) -> bool:
    """Whether ``line`` carries on the sentence of ``previous``: the scraper broke lines where
    it dropped a link («подписал указ» / «, запрещающий…», «займётся » / «новая дивизия»).
    A paragraph starts with a capital, a digit, a quote or a dash, and the one before ends
    its sentence."""
    stripped = line.strip()
    if not stripped or not previous.strip():
        return False
    if stripped[0].islower() or stripped[0] in _GOING_ON:
        return True
    ended = previous.rstrip()
    return ended != previous and not previous[0].isspace() and ended[-1] not in _CLOSING


def _kinds(blocks: list[str]) -> list[str]:
    """The kind of each block of text ("" for a blank one)."""
    kinds = []
    for block in blocks:
        plain = block.strip()
        if not plain:
            kinds.append("")
        elif block[0].isspace() and len(plain) <= MAX_NOTE_CHARS:
            kinds.append("note")
        else:
            kinds.append("text")
    following = ""  # the kind of the next block that is not blank
    for i in reversed(range(len(blocks))):
        kind = kinds[i]
        if kind == "text" and following == "text" and _looks_like_heading(blocks[i]):
            kinds[i] = "heading"
        following = kind or following
    return kinds


def _looks_like_heading(block: str) -> bool:
    """Short, not ending as a sentence does, capitalised, and not a name in capitals."""
    plain = block.strip()
    return (
        len(plain) <= MAX_HEADING_CHARS
        and plain[-1] not in _CLOSING
        and plain[0].isupper()
        and any(c.islower() for c in plain)
    )


@dataclass(frozen=True)
class Neighbour:
    """A result next to the article: where it stands in the search, its id and title."""

    position: int
    id: str
    title: str


def position(args: Mapping[str, str]) -> int | None:
    """The article's place in the search it was opened from (``pos``), if valid."""
    try:
        return whole_number(args, POSITION_KEY, 0, 1, MAX_PAGE * MAX_PER_PAGE, "bad_position")
    except SearchError:
        return None


def neighbours(args: Mapping[str, str], at: int) -> tuple[Neighbour | None, Neighbour | None]:
    """The results before and after position ``at`` of the search in ``args``."""
    return (_hit_at(args, at - 1) if at > 1 else None), _hit_at(args, at + 1)


def _hit_at(args: Mapping[str, str], at: int) -> Neighbour | None:
    """The result at position ``at``: one search for a page of one hit (or a few, far down,
    where pages of one would run past the last page)."""
    per_page = math.ceil(at / MAX_PAGE)
    if per_page > MAX_PER_PAGE:
        return None
    page = math.ceil(at / per_page)
    params = {key: args[key] for key in args if key != POSITION_KEY}
    try:
        request = search_request({**params, "page": str(page), "per_page": str(per_page)})
    except SearchError:
        return None
    request.facets = False
    request.correct = False  # q is the query that ran, corrected already
    hits = engine.search(request).hits
    index = (at - 1) % per_page
    if index >= len(hits):
        return None
    return Neighbour(at, hits[index].id, hits[index].title)
