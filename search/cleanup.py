"""Removing scraping leftovers from article text at ingest.

Scraped news pages leave more than prose in the text: the code of embedded players and
widgets, the attribution lines of embedded tweets and Instagram posts, "related article"
teasers and photo credits. They are noise for search (``function``, ``fjs``, ``Reuters``
would match every such article) and garbage on the article page.

Cleaning works line by line: it removes the lines that have a leftover's shape exactly, and cuts
out of a line only a picture link or a closing photo credit. Lines are never merged, so the
paragraphs stay as they are; only a text that had something removed has its blank lines tidied
(a run of them becomes one).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

#: What some line of each leftover has; only the lines with one (and the lines that go with
#: them) are looked at. Every line of the embedded code met so far has "{" or ";".
_CODE_MARKS = ("{", ";")
_MARKS = (
    *_CODE_MARKS,
    *("pic.twitter.com/", "t.co/", "(@", "Также по теме", "Читайте также", "©", "Фото"),
)

# --- code ------------------------------------------------------------------------------------

_CODE_SIGNS = re.compile(
    r"\bfunction\s*\(|\bvar\s+\w+\s*[=,;]|\bjwplayer\b|\bgetElementsBy\w+\(|\bgetElementById\("
    r"|\bcreateElement\(|\binsertBefore\(|\bencodeURI(?:Component)?\(|\bsetTimeout\("
    r"|\bwindow\.\w|\bdocument\.\w|\}\s*\(\s*document\b|\bVK\.Widgets\b|\btrends\.embed\."
    r"|^\s*//\s*\w+\s*:|^\s*\}\s*[,);]|</?(?:div|iframe|script|blockquote|p|a|span|time)\b[^>]{0,300}>"
)
_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)

# --- embedded posts --------------------------------------------------------------------------

_PIC_LINK = re.compile(r"(?:https?://)?pic\.twitter\.com/\w+")
_BARE_SHORT_LINK = re.compile(r"\s*https?://t\.co/\w+\s*")
_TWEET_BY = re.compile(r"\s*[—–-]\s*\S.{0,150}?\(@\w{1,30}\)\s*(?P<rest>.{0,40})")
_POST_BY = re.compile(
    r"\s*(?:Публикация от|Фото опубликовано|Видео опубликовано|An? (?:photo|video|post) "
    r"(?:posted|shared) by)\s.{0,150}?\(@[\w.]{1,30}\)(?:\s+on)?\s*(?P<rest>.{0,40})"
)
_BYLINE_START = re.compile(
    r"\s*(?:[—–-]|Публикация от|Фото опубликовано|Видео опубликовано|An? (?:photo|video|post)\s)"
)
_POST_DATE = re.compile(
    r"\s*(?:\d{1,2}\s+\w{3,9}\.?,?|\w{3,9}\.?\s+\d{1,2},?)\s+(?:19|20)\d\d"
    r"(?:\s*(?:г|р)\.|\s+(?:в|at)\s+\d{1,2}:\d\d\s*(?:[ap]m)?\s+[A-Z]{3})?\s*"
)

# --- related articles and photo credits ------------------------------------------------------

_RELATED = "Также по теме"
_READ_ALSO = re.compile(r"\s*Читайте также\s*:?\s*")
_CREDIT = re.compile(r"\s*(?:©|Фото\s*:).{0,150}")
_INLINE_CREDIT = re.compile(r"(?<=[.!?»])\s+Фото:\s*(?:\(c\)|©)?\s*[^.!?\n]{1,40}\.?\s*$")
_PHOTO_AGENCIES = {
    "afp",
    "ap",
    "east news",
    "facebook",
    "getty images",
    "gettyimages.ru",
    "globallookpress.com",
    "instagram",
    "nasa",
    "reuters",
    "twitter",
    "vk.com",
    "youtube",
    "риа новости",
    "тасс",
}


def clean_text(text: str) -> str:
    """``text`` without the leftovers of embedded code, posts, related links and credits."""
    marks = [mark for mark in _MARKS if mark in text]  # "in" is much faster than a regex
    if not marks:
        return text
    lines = text.split("\n")
    code = any(mark in _CODE_MARKS for mark in marks)
    drop = _junk_lines(lines, _lines_with(text, lines, marks), code)
    kept = [line for i, line in enumerate(lines) if i not in drop]
    if "pic.twitter.com/" in text or "Фото:" in text:
        kept = [_without_inline_junk(line) for line in kept]
    return text if kept == lines else _tidy(kept)


def _lines_with(text: str, lines: list[str], marks: list[str]) -> list[int]:
    """The indexes of the ``lines`` of ``text`` that have one of ``marks``, in order, and of
    the two lines over a handle (``(@``), where a post's byline may start."""
    ends = list(accumulate(len(line) + 1 for line in lines))
    found: set[int] = set()
    for mark in marks:
        at = text.find(mark)
        while at >= 0:
            found.add(i := bisect_right(ends, at))
            if mark == "(@":
                found.update(range(max(0, i - 2), i))
            at = text.find(mark, ends[i])
    return sorted(found)


def _junk_lines(lines: list[str], candidates: list[int], code: bool) -> set[int]:
    """The indexes of the lines that are leftovers, among ``candidates`` and the lines that
    go with them (the date under a byline, the agency over a credit, a teaser); lines of code
    are looked for only if ``code`` says the text may have some."""
    drop: set[int] = set()
    for i in candidates:
        line = lines[i]
        if i in drop:
            continue
        if (code and _is_code(line)) or _is_link_only(line):
            drop.add(i)
        elif span := _embed_attribution(lines, i) or _related_block(lines, i):
            drop.update(range(i, i + span))
        elif _CREDIT.fullmatch(line):
            drop.add(i)
            if i > 0 and lines[i - 1].strip().lower() in _PHOTO_AGENCIES:
                drop.add(i - 1)
    return drop


def _is_code(line: str) -> bool:
    """A line of JavaScript or HTML: a sign of code, code punctuation, hardly any Russian."""
    if sum(map(line.count, "{}();=<>")) < 2 or not _CODE_SIGNS.search(line):
        return False
    return len(_CYRILLIC.findall(line)) <= 0.2 * len(_LETTER.findall(line))


def _is_link_only(line: str) -> bool:
    """A line that is only an embedded tweet's picture link or its shortened link."""
    if "pic.twitter.com/" in line:
        return not _PIC_LINK.sub("", line).strip()
    return "t.co/" in line and bool(_BARE_SHORT_LINK.fullmatch(line))


def _embed_attribution(lines: list[str], i: int) -> int:
    """How many lines from ``i`` make an embedded post's byline and date, else 0.

    ``— Name (@handle)`` ends an embedded tweet, ``Публикация от Name (@handle)`` an Instagram
    post (whose name and handle may stand on lines of their own); the date follows on the same
    line or the next. The post's own text above the byline is kept: it is a quotation.
    """
    if not _BYLINE_START.match(lines[i]):
        return 0
    match, span = _TWEET_BY.fullmatch(lines[i]), 1
    while not match and span <= 3:
        joined = " ".join(lines[i : i + span])
        if match := _POST_BY.fullmatch(joined):
            break
        if "(@" in joined:
            return 0
        span += 1
    if not match:
        return 0
    rest = match["rest"]
    if not rest.strip() and i + span < len(lines) and _POST_DATE.fullmatch(lines[i + span]):
        return span + 1
    return span if not rest.strip() or _POST_DATE.fullmatch(rest) else 0


def _related_block(lines: list[str], i: int) -> int:
    """How many lines from ``i`` make a "related article" block, else 0.

    ``Также по теме`` on a line of its own, then the related article's headline and its
    teaser, both indented by a space; the teaser is recognized by its cut-off end (``...``) or,
    when whole, by being a short indented sentence. A bare ``Читайте также:`` (whose links
    were lost) is one line.
    """
    if _READ_ALSO.fullmatch(lines[i]):
        return 1
    if lines[i].strip() != _RELATED:
        return 0
    span = 1
    if _indented(lines, i + 1):
        span = 2
        teaser = lines[i + 2].rstrip() if _indented(lines, i + 2) else ""
        if teaser.endswith(("...", "…")) or (
            len(teaser) <= 300 and teaser.endswith(".") and lines[i + 2].endswith(" ")
        ):
            span = 3
    return span


def _indented(lines: list[str], i: int) -> bool:
    return i < len(lines) and lines[i][:1].isspace() and bool(lines[i].strip())


def _without_inline_junk(line: str) -> str:
    """``line`` without a picture link or a closing ``Фото: (c) Agency.`` inside it."""
    if "pic.twitter.com/" in line:
        line = _PIC_LINK.sub("", line)
    if "Фото:" in line:
        line = _INLINE_CREDIT.sub("", line)
    return line


def _tidy(lines: list[str]) -> str:
    """Join ``lines``: blank lines at the ends dropped, a run of them made one empty line."""
    out: list[str] = []
    for line in lines:
        if line.strip():
            out.append(line)
        elif out and out[-1]:
            out.append("")
    return "\n".join(out).strip("\n")
