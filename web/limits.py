"""Caps on the size of what the web returns for an article, whatever the index holds.

Ingest caps new records, but an index built before (or a source gone wrong) can hold a
10 MB title: returned whole, one hit makes every page of its results 10 MB. Titles and
snippets are cut to a length no real headline reaches, with their marks (the HTML is
made from what is left, so it is never cut inside a tag or an entity). The article text
itself is what ``/doc`` is for and stays whole.
"""

from __future__ import annotations

from dataclasses import replace

from search.results import Document, Hit, SearchResult, Span

MAX_TITLE_CHARS = 500
MAX_SNIPPET_CHARS = 1000
MAX_NAME_CHARS = 200  # source, topic, each tag
MAX_TAGS = 50
MAX_URL_CHARS = 2000  # a longer link is dropped: cut, it would lead somewhere else
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[:limit].rstrip() + ELLIPSIS


def clip_marked(text: str, marks: list[Span], limit: int) -> tuple[str, list[Span]]:
    """``text`` cut to ``limit`` characters, and its marks within what is left."""
    if len(text) <= limit:
        return text, marks
    kept = len(text[:limit].rstrip())
    return text[:kept] + ELLIPSIS, [(start, min(end, kept)) for start, end in marks if start < kept]


def _bounded_fields(record: Hit | Document) -> dict:
    """The capped values of the fields a hit and an article share."""
    title, title_marks = clip_marked(record.title, record.title_marks, MAX_TITLE_CHARS)
    return {
        "source": clip(record.source, MAX_NAME_CHARS),
        "topic": clip(record.topic, MAX_NAME_CHARS),
        "title": title,
        "title_marks": title_marks,
        "url": "" if len(record.url) > MAX_URL_CHARS else record.url,
        "tags": [clip(tag, MAX_NAME_CHARS) for tag in record.tags[:MAX_TAGS]],
    }


def bounded_hit(hit: Hit) -> Hit:
    snippet, snippet_marks = clip_marked(hit.snippet, hit.snippet_marks, MAX_SNIPPET_CHARS)
    return replace(hit, **_bounded_fields(hit), snippet=snippet, snippet_marks=snippet_marks)


def bounded_result(result: SearchResult) -> SearchResult:
    """A search result whose hits are capped."""
    return replace(result, hits=[bounded_hit(hit) for hit in result.hits])


def bounded_document(doc: Document) -> Document:
    """An article with its title and names capped; the text stays whole."""
    return replace(doc, **_bounded_fields(doc))
