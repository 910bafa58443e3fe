"""Caps on the size of what the web returns for an article, whatever the index holds.

Ingest caps new records, but an index built before (or a source gone wrong) can hold a
10 MB title: returned whole, one hit makes every page of its results 10 MB. Titles and
snippets are cut to a length no real headline reaches; the ``*_html`` fields are cut by
their visible characters, never inside a tag or an entity, and an open ``<mark>`` is
closed. The article text itself is what ``/doc`` is for and stays whole.
"""

from __future__ import annotations

import re

MAX_TITLE_CHARS = 500
MAX_SNIPPET_CHARS = 1000
MAX_NAME_CHARS = 200  # source, topic, each tag
MAX_TAGS = 50
MAX_URL_CHARS = 2000  # a longer link is dropped: cut, it would lead somewhere else
ELLIPSIS = "…"
_MARKUP = re.compile(r"</?mark>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def clip(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[:limit].rstrip() + ELLIPSIS


def clip_marked(html: str, limit: int) -> str:
    """Escaped text with ``<mark>`` tags, cut to ``limit`` visible characters.

    An entity (``&lt;``) counts as the one character it shows.
    """
    if len(html) <= limit:
        return html
    visible = 0
    position = 0
    marked = False
    for token in _MARKUP.finditer(html):
        plain = token.start() - position
        if visible + plain >= limit:
            break
        visible += plain
        position = token.end()
        if token.group() == "<mark>":
            marked = True
        elif token.group() == "</mark>":
            marked = False
        else:
            visible += 1
    cut = position + max(0, limit - visible)
    if cut >= len(html):
        return html
    return html[:cut] + ("</mark>" if marked else "") + ELLIPSIS


def _bounded_fields(record: dict) -> dict:
    """The fields a hit and an article share, capped (a copy)."""
    record = dict(record)
    for key in ("source", "topic"):
        if isinstance(record.get(key), str):
            record[key] = clip(record[key], MAX_NAME_CHARS)
    if isinstance(record.get("title"), str):
        record["title"] = clip(record["title"], MAX_TITLE_CHARS)
    if isinstance(record.get("title_html"), str):
        record["title_html"] = clip_marked(record["title_html"], MAX_TITLE_CHARS)
    if isinstance(record.get("url"), str) and len(record["url"]) > MAX_URL_CHARS:
        record["url"] = ""
    if isinstance(record.get("tags"), list):
        record["tags"] = [clip(tag, MAX_NAME_CHARS) for tag in record["tags"][:MAX_TAGS]]
    return record


def bounded_hit(hit: dict) -> dict:
    hit = _bounded_fields(hit)
    if isinstance(hit.get("snippet_html"), str):
        hit["snippet_html"] = clip_marked(hit["snippet_html"], MAX_SNIPPET_CHARS)
    return hit


def bounded_result(result: dict) -> dict:
    """A search result whose hits are capped (a copy)."""
    return {**result, "hits": [bounded_hit(hit) for hit in result.get("hits", [])]}


def bounded_document(doc: dict) -> dict:
    """An article with its title and names capped; the text stays whole."""
    return _bounded_fields(doc)
