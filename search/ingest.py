"""Reading source files into :class:`Article` records.

Supported inputs: JSON Lines (``.jsonl``, ``.ndjson``, either may be gzipped), CSV with a header
row (``.csv``, ``.csv.gz``) and the plain-text seed format (``.txt``, see :func:`_parse_seed`).
Malformed input never stops the reading: each bad record is reported to ``on_problem`` as
``FILE:LINE: reason`` and skipped, and the good records around it are still yielded.

Files are read as streams, a line or a CSV record at a time, so memory does not grow with the
size of a file: a record (a line of JSON Lines, a CSV record, a seed file) over
``MAX_RECORD_BYTES`` is reported and skipped without ever being held whole. Text and summary
are cleaned of scraping leftovers (:mod:`search.cleanup`), and fields over their limit
(:data:`search.records.FIELD_LIMITS`) are cut, with a warning.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .cleanup import clean_text
from .records import FIELD_LIMITS, MAX_TAGS, Article, IngestProblem, id_problem

MAX_RECORD_BYTES = 16 << 20  # 16 MiB, over 300 times the longest article of the shared corpus
_LIMIT_MB = MAX_RECORD_BYTES >> 20

_SNIFF_BYTES = 8192  # NUL bytes this early, with other control bytes, mean a binary file
_CONTROL_BYTES = bytes(set(range(32)) - set(b"\t\n\f\r")) + b"\x7f"
_BINARY_CONTROL_SHARE = 0.05  # random bytes have 12 %; text with a damaged line, next to none
_CHUNK_BYTES = 1 << 20
_ENCODING_SAMPLE_BYTES = 1 << 16
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
_MAX_INT_DIGITS = 100
_FREQUENT_LETTERS = "оеаинтсрвл"  # the ten most frequent Russian letters
_STRING_FIELDS = ("id", "title", "text", "summary", "url", "source", "topic")
_FIELDS = (*_STRING_FIELDS, "date", "tags")
_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}

_Report = Callable[[IngestProblem], None]
_Parser = Callable[["_File"], Iterator[tuple[int, Article]]]

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")
_RU_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TAG_SEPARATORS = re.compile(r"[;,|]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SEED_DATE_LINE = re.compile(r"date\s+(\d\S*)\s*(.*)", re.IGNORECASE)
_SEED_CAPTION = re.compile(
    r".*,\s*фото\s*[-–—]\s*Новости\s+(?P<source>.+?)\s+от\s+"
    r"(?P<when>\d{1,2}\.\d{1,2}\.\d{4}(?: \d{1,2}:\d{2})?)",
    re.IGNORECASE,
)
_SEED_CREDIT = re.compile(r"Фото:?\s+(?P<name>.+)")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")


def read_articles(
    sources: Iterable[str | Path], on_problem: Callable[[IngestProblem], None]
) -> Iterator[Article]:
    """Yield the articles of every supported file named by ``sources``.

    A source is a file or a directory (searched recursively, see :func:`supported_files`).
    Problems go to ``on_problem``; a record with a problem is skipped unless the problem says
    ``skipped=False`` (a warning). An id seen before in this call is reported and skipped.
    """
    first_seen: dict[str, str] = {}
    for path, parser in _expand(sources, on_problem):
        for line, article in _read_file(path, parser, on_problem):
            if article.id in first_seen:
                reason = f"duplicate id '{article.id}', first seen at {first_seen[article.id]}"
                on_problem(IngestProblem(str(path), line, reason))
            else:
                first_seen[article.id] = article.origin
                yield article


def supported_files(sources: Iterable[str | Path]) -> list[Path]:
    """The files :func:`read_articles` would read, in the order it would read them.

    Directories are expanded recursively (hidden entries skipped, sorted by path); sources keep
    their order and a file named twice is listed once. Unusable sources are silently left out:
    :func:`read_articles` reports them.
    """
    return [path for path, _ in _expand(sources, lambda problem: None)]


# --- Finding the files ---------------------------------------------------------------------


def _expand(sources: Iterable[str | Path], report: _Report) -> Iterator[tuple[Path, _Parser]]:
    """Each supported file named by ``sources``, once, with the parser for its format."""
    if isinstance(sources, (str, Path)):  # a lone path would otherwise be read letter by letter
        sources = [sources]
    seen: set[Path] = set()
    for source in sources:
        for path, parser in _files_of(Path(source), report):
            if (key := path.resolve()) not in seen:
                seen.add(key)
                yield path, parser


def _files_of(source: Path, report: _Report) -> list[tuple[Path, _Parser]]:
    if source.is_dir():
        files = list(_walk(source, report))
        if not files:
            report(IngestProblem(str(source), 0, "no supported files in directory", skipped=False))
        return files
    if not source.exists():
        report(IngestProblem(str(source), 0, "no such file or directory"))
    elif not source.is_file():
        report(IngestProblem(str(source), 0, "not a regular file"))
    elif parser := _parser_for(source):
        return [(source, parser)]
    else:
        expected = ", ".join(_PARSERS)
        report(IngestProblem(str(source), 0, f"unsupported file type (expected {expected})"))
    return []


def _walk(directory: Path, report: _Report) -> Iterator[tuple[Path, _Parser]]:
    """Supported files below ``directory`` in path order, skipping hidden entries.

    Symbolic links to directories are not followed, so a link cycle cannot recurse forever.
    """
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        report(IngestProblem(str(directory), 0, f"cannot read directory: {exc.strerror or exc}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                yield from _walk(entry, report)
        elif entry.is_file() and (parser := _parser_for(entry)):
            yield entry, parser


def _parser_for(path: Path) -> _Parser | None:
    name = path.name.lower()
    return next((parser for suffix, parser in _PARSERS.items() if name.endswith(suffix)), None)


# --- Reading bytes ---------------------------------------------------------------------------


def _read_file(path: Path, parser: _Parser, report: _Report) -> Iterator[tuple[int, Article]]:
    """The articles of one file, after the checks that concern the file as a whole."""
    try:
        head, damage = _read_head(path)
        if not head and not damage:
            report(IngestProblem(str(path), 0, "empty file", skipped=False))
        elif _is_binary(head[:_SNIFF_BYTES]):
            report(IngestProblem(str(path), 0, "binary file, skipped"))
        else:
            yield from parser(_File(path, _detect_encoding(head), head, report))
    except OSError as exc:
        report(IngestProblem(str(path), 0, f"cannot read file: {exc.strerror or exc}"))


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path) if path.name.lower().endswith(".gz") else open(path, "rb")


def _read_head(path: Path) -> tuple[bytes, str | None]:
    """About the first ``_ENCODING_SAMPLE_BYTES`` (decompressed) bytes of ``path``.

    Also returns the error of a truncated or damaged gzip stream, if any: what was decompressed
    before the damage is kept (``read1`` hands it over chunk by chunk, where ``read`` would
    drop it with the exception).
    """
    data = bytearray()
    with _open(path) as stream:
        try:
            while len(data) < _ENCODING_SAMPLE_BYTES and (
                chunk := stream.read1(_ENCODING_SAMPLE_BYTES)
            ):
                data += chunk
        except _GZIP_ERRORS as exc:
            return bytes(data), str(exc)
    return bytes(data), None


def _is_binary(head: bytes) -> bool:
    """Whether ``head`` is the start of an image, an archive, UTF-16 text and the like.

    That is, NUL bytes and more than a few percent of control bytes: one NUL byte in a text
    file is a damaged record, which costs only its line.
    """
    if b"\0" not in head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > _BINARY_CONTROL_SHARE * len(head)


def _detect_encoding(head: bytes) -> str:
    """The encoding of a text file that starts with ``head``.

    UTF-8 if ``head`` is valid UTF-8 (a character cut at its end is fine) or has at least as
    many good UTF-8 characters as bad bytes (a UTF-8 file with a stray byte, which is replaced,
    with a warning). Otherwise whichever of cp1251, koi8-r and UTF-8 with replacement shows the
    most frequent Russian letters: legacy archives use the first two.
    """
    head = head.removeprefix(codecs.BOM_UTF8)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)
        return "utf-8"
    except UnicodeDecodeError:
        text = head.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    if len(text) - len(text.encode("ascii", "ignore")) - bad >= bad:
        return "utf-8"
    return max(
        ("utf-8", "cp1251", "koi8-r"),
        key=lambda name: _russian_letters(head.decode(name, "replace")),
    )


def _russian_letters(text: str) -> int:
    return sum(map(text.count, _FREQUENT_LETTERS))


def _gzip_damage(reason: str) -> str:
    return f"truncated or damaged gzip data, rest of file lost ({reason})"


@dataclass
class _LongLine:
    """A line longer than ``MAX_RECORD_BYTES``, read past without being kept."""

    quotes: int  # its double quotes, to find where a CSV record ends


def _physical_lines(stream: io.BufferedIOBase) -> Iterator[bytes | _LongLine]:
    """The lines of ``stream`` (each ending with ``\\n`` but maybe the last), never more than
    ``MAX_RECORD_BYTES`` of one in memory: a longer one is a :class:`_LongLine`."""
    while line := stream.readline(MAX_RECORD_BYTES + 1):
        if len(line) <= MAX_RECORD_BYTES:
            yield line
            continue
        quotes, ended = line.count(b'"'), line.endswith(b"\n")
        while not ended and (chunk := stream.readline(_CHUNK_BYTES)):
            quotes, ended = quotes + chunk.count(b'"'), chunk.endswith(b"\n")
        yield _LongLine(quotes)


@dataclass
class _File:
    """A file being read: its encoding, its first bytes, and where its problems go."""

    path: Path
    encoding: str
    head: bytes
    report: _Report

    def problem(self, line: int, reason: str, skipped: bool = True) -> None:
        self.report(IngestProblem(str(self.path), line, reason, skipped))

    def decode_strict(self, raw: bytes, line: int) -> str:
        """One line; invalid UTF-8 makes it a bad record (JSON Lines: one record a line)."""
        if line == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if self.encoding != "utf-8":
            return raw.decode(self.encoding, "replace")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadRecord(f"invalid UTF-8 at byte {exc.start + 1}") from None

    def decode_lenient(self, raw: bytes, line: int) -> str:
        """One line, its ending made ``\\n``; invalid UTF-8 is replaced, with a warning."""
        body = raw.rstrip(b"\r\n")
        ending = "\n" if len(body) < len(raw) else ""
        if line == 1:
            body = body.removeprefix(codecs.BOM_UTF8)
        try:
            return body.decode(self.encoding) + ending
        except UnicodeDecodeError as exc:
            if self.encoding == "utf-8":
                self.problem(line, f"invalid UTF-8 at byte {exc.start + 1}, replaced", False)
            return body.decode(self.encoding, "replace") + ending

    def text_lines(self, stream: io.BufferedIOBase) -> Iterator[tuple[int, str | _LongLine, int]]:
        """Each line of ``stream`` with its number and size in bytes; ``\\n``, ``\\r\\n``
        and a lone ``\\r`` all end a line, as the old Mac files have it."""
        number = 0
        for raw in _physical_lines(stream):
            if isinstance(raw, _LongLine):
                number += 1
                yield number, raw, MAX_RECORD_BYTES + 1
                continue
            for part in raw.splitlines(keepends=True):
                number += 1
                yield number, self.decode_lenient(part, number), len(part)


# --- Formats ---------------------------------------------------------------------------------


class _BadRecord(Exception):
    """A record that cannot be used; the message is the reason reported."""


class _RecordTooLong(Exception):
    """Raised by :class:`_CsvFeed` inside ``csv.reader`` when a record outgrows the limit."""


_Built = tuple[Article, list[str]]  # an article and the warnings about it


def _attempt(file: _File, line: int, build: Callable[[], _Built]) -> Iterator[tuple[int, Article]]:
    """The article ``build`` makes of the record at ``line``, if it can.

    Whatever goes wrong costs this record only: a reason foreseen (:class:`_BadRecord`) or
    not, such as a bug or an input nobody thought of, is reported and the reading goes on.
    Only running out of memory, an interrupt or an exit still stop it.
    """
    try:
        article, warnings = build()
    except _BadRecord as exc:
        reason = str(exc)
    except MemoryError:
        raise
    except Exception as exc:
        reason = f"unreadable record ({type(exc).__name__}: {_shorten(str(exc))})"
    else:
        for warning in warnings:
            file.problem(line, warning, skipped=False)
        yield line, article
        return
    file.problem(line, reason)


def _read_jsonl(file: _File) -> Iterator[tuple[int, Article]]:
    """JSON Lines: one object a line, blank lines ignored.

    Lines are read and decoded one by one, so a bad byte, an over-long line or a damaged gzip
    stream costs only the lines it touches.
    """
    line = 0
    try:
        with _open(file.path) as stream:
            for line, raw in enumerate(_physical_lines(stream), 1):
                if isinstance(raw, _LongLine):
                    file.problem(line, f"line over {_LIMIT_MB} MB, skipped")
                elif not raw.isspace():
                    yield from _attempt(file, line, partial(_json_article, file, raw, line))
    except _GZIP_ERRORS as exc:
        file.problem(line + 1, _gzip_damage(str(exc)))


def _json_article(file: _File, raw: bytes, line: int) -> _Built:
    if (nul := raw.find(b"\0")) >= 0:
        raise _BadRecord(f"NUL byte at byte {nul + 1}")
    record = _json_object(file.decode_strict(raw, line))
    if b"\\u" in raw and _SURROGATE_ESCAPE.search(raw):  # only an escape can make one
        _check_no_surrogates(record)
    return _article(record, f"{file.path}:{line}")


def _check_no_surrogates(record: Mapping[str, Any]) -> None:
    """Refuse a record with a lone surrogate (a JSON escape such as ``\\ud800``, half of a
    character) in a field: it cannot be encoded, so it could never be stored."""
    tags = record.get("tags")
    values = [(name, record.get(name)) for name in _STRING_FIELDS]
    values += [("tags", tag) for tag in tags] if isinstance(tags, list) else []
    for name, value in values:
        if isinstance(value, str) and (match := _SURROGATE.search(value)):
            bad, where = ascii(match[0]), match.start() + 1
            raise _BadRecord(f"field '{name}' has a lone surrogate {bad} at character {where}")


def _json_object(text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        column = min(exc.pos, len(text.rstrip("\r\n"))) + 1  # not past the end of the line
        raise _BadRecord(f"bad JSON: {exc.msg} at column {column}") from None
    except RecursionError:
        raise _BadRecord("bad JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise _BadRecord(f"not a JSON object but {_json_type(value)}")
    return value


def _json_int(digits: str) -> int:
    """A JSON integer; a huge one is refused before ``int`` chokes on it (over 4,300 digits)."""
    if len(digits) > _MAX_INT_DIGITS:
        raise _BadRecord(f"bad JSON: a number of {len(digits):,} digits")
    return int(digits)


def _read_csv(file: _File) -> Iterator[tuple[int, Article]]:
    """CSV with a header row naming the fields; ``tags`` is split on ``;``, ``,`` or ``|``.

    Read record by record: an over-long record or a damaged gzip stream costs only the
    records it touches.
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))
    feed = None
    try:
        with _open(file.path) as stream:
            feed = _CsvFeed(file.text_lines(stream))
            yield from _csv_articles(file, _csv_rows(file, feed))
    except _GZIP_ERRORS as exc:
        file.problem((feed.line if feed else 0) + 1, _gzip_damage(str(exc)))


class _CsvFeed:
    """The lines of a CSV file for ``csv.reader``, no record let grow over the size limit.

    ``csv.reader`` pulls exactly the lines of one row each time, so the lines handed out since
    the last row are the record being read. Once that outgrows ``MAX_RECORD_BYTES``,
    :meth:`__next__` raises :class:`_RecordTooLong`, and :meth:`skip_record` reads on, keeping
    nothing, to the record's end: the end of the line where its double quotes balance (a
    quoted field doubles the quotes in it).
    """

    def __init__(self, lines: Iterator[tuple[int, str | _LongLine, int]]) -> None:
        self._lines = lines
        self.line = 0  # the last line handed out
        self.start = 1  # the first line of the record being read
        self._size = self._quotes = 0

    def __iter__(self) -> _CsvFeed:
        return self

    def __next__(self) -> str:
        self.line, text, size = next(self._lines)
        self._size += size
        if isinstance(text, _LongLine):
            self._quotes += text.quotes
            raise _RecordTooLong
        self._quotes += text.count('"')
        if self._size > MAX_RECORD_BYTES:
            raise _RecordTooLong
        return text

    def next_record(self) -> None:
        self.start, self._size, self._quotes = self.line + 1, 0, 0

    def skip_record(self) -> None:
        while self._quotes % 2 and (item := next(self._lines, None)):
            self.line, text, _ = item
            self._quotes += text.quotes if isinstance(text, _LongLine) else text.count('"')
        self.next_record()


def _csv_rows(file: _File, feed: _CsvFeed) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows, each with the line it starts on; an over-long or malformed record
    is reported and skipped."""
    lines = file.head.removeprefix(codecs.BOM_UTF8).splitlines()
    header = next((line for line in lines if line.strip()), b"")
    delimiter = max(",;\t", key=lambda char: header.count(char.encode()))
    rows = csv.reader(feed, delimiter=delimiter)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except _RecordTooLong:
            start = feed.start
            feed.skip_record()
            file.problem(start, f"record over {_LIMIT_MB} MB, skipped")
            continue
        except csv.Error as exc:
            row = None
            file.problem(feed.start, f"bad CSV: {exc}")
        if row:
            yield feed.start, row
        feed.next_record()


def _csv_articles(
    file: _File, rows: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, Article]]:
    header = next(rows, None)
    if header is None:
        return
    header_line, names = header[0], [name.strip().lower() for name in header[1]]
    if problem := _csv_header_problem(names):
        file.problem(header_line, f"CSV header {problem}, file skipped")
        return
    for line, row in rows:
        if len(row) != len(names):
            file.problem(line, f"expected {len(names)} fields, got {len(row)}")
        else:
            yield from _attempt(
                file, line, partial(_csv_article, names, row, f"{file.path}:{line}")
            )


def _csv_article(names: list[str], row: list[str], origin: str) -> _Built:
    record: dict[str, Any] = dict(zip(names, row, strict=True))
    record["tags"] = _TAG_SEPARATORS.split(record.get("tags") or "")
    return _article(record, origin)


def _csv_header_problem(names: list[str]) -> str:
    """What is wrong with a header naming the columns ``names``, if anything.

    A column named twice is an error rather than a guess: which of the two holds the field
    cannot be told, and taking either would silently index the wrong text.
    """
    if repeated := sorted({name for name in names if name in _FIELDS and names.count(name) > 1}):
        return "names " + ", ".join(f"'{name}'" for name in repeated) + " twice"
    lacking = []
    if "id" not in names:
        lacking.append("an 'id' column")
    if "title" not in names and "text" not in names:
        lacking.append("a 'title' or 'text' column")
    return "lacks " + " and ".join(lacking) if lacking else ""


def _read_txt(file: _File) -> Iterator[tuple[int, Article]]:
    """One article a file in the seed format; the file name (no extension) is its id."""
    with _open(file.path) as stream:
        data = stream.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        file.problem(1, f"file over {_LIMIT_MB} MB, skipped")
        return
    lines = data.splitlines(keepends=True)
    text = "".join(file.decode_lenient(raw, number) for number, raw in enumerate(lines, 1))
    yield from _attempt(file, 1, partial(_seed_article, file, text))


def _seed_article(file: _File, text: str) -> _Built:
    article, missing = _parse_seed(file.path.stem, f"{file.path}:1", text)
    warnings = ["incomplete seed file: no " + ", no ".join(missing)] if missing else []
    return article, warnings + _finish(article)


def _parse_seed(article_id: str, origin: str, text: str) -> tuple[Article, list[str]]:
    """Parse the seed text format; also return the names of the parts the file lacks.

    The layout, where every part but a title or some text may be missing::

         date 2026-03-02 #Tag-1                  date line, with tags
        #Tag-2                                   more tags
        Политика                                 rubric (topic)
        <blank>
        Title
        <blank>
        Caption, фото - Новости Zakon.kz от 02.03.2026 23:42      source, date and time
        Paragraph...                             body, paragraphs separated by blank lines
        Фото Елена Беляева                       closing photo credit, dropped
        Елена Беляева
    """
    lines = [line.strip() for line in text.strip().split("\n")]
    date_text, tags, topic, pos = _seed_header(lines)
    missing = [] if date_text else ["date line"]
    if not topic:
        missing.append("rubric")
    title, body = (lines[pos], lines[pos + 1 :]) if pos < len(lines) else ("", [])

    source = ""
    first = next((i for i, line in enumerate(body) if line), None)
    if first is not None and (caption := _SEED_CAPTION.fullmatch(body[first])):
        source, date_text = caption["source"], caption["when"]
        body = body[first + 1 :]
    else:
        missing.append("photo caption")

    body_text = "\n".join(_without_credit(body)).strip()
    if not title and not body_text:
        raise _BadRecord("no title or text")
    article = Article(
        id=article_id,
        title=title,
        text=_EXTRA_BLANK_LINES.sub("\n\n", body_text),
        date=_parse_date(date_text),
        source=source,
        topic=topic,
        tags=list(dict.fromkeys(tags)),
        origin=origin,
    )
    return article, missing


def _seed_header(lines: list[str]) -> tuple[str | None, list[str], str, int]:
    """The date line's date, the tags and the rubric, and where the title line is."""
    pos, date_text, tags = 0, None, []
    if date_line := _SEED_DATE_LINE.fullmatch(lines[0]):
        pos, date_text, tags = 1, date_line[1], _hashtags(date_line[2]) or []
    while pos < len(lines) and (line_tags := _hashtags(lines[pos])):
        pos, tags = pos + 1, tags + line_tags
    topic = ""
    if 0 < pos < len(lines) and lines[pos]:  # the rubric follows the header without a blank
        pos, topic = pos + 1, lines[pos]
    while pos < len(lines) and not lines[pos]:
        pos += 1
    return date_text, tags, topic, pos


def _hashtags(line: str) -> list[str] | None:
    """The tags of a line made only of ``#Tag`` tokens (lowercased, ``#`` removed), else None."""
    tokens = line.split()
    if tokens and all(len(token) > 1 and token.startswith("#") for token in tokens):
        return [token[1:].lower() for token in tokens]
    return None


def _without_credit(body: list[str]) -> list[str]:
    """``body`` without a closing photo credit: ``Фото <Name>`` then a line with the name."""
    while body and not body[-1]:
        body = body[:-1]
    credit = _SEED_CREDIT.fullmatch(body[-2]) if len(body) >= 2 else None
    return body[:-2] if credit and credit["name"] == body[-1] else body


_PARSERS: dict[str, _Parser] = {
    ".txt": _read_txt,
    ".jsonl": _read_jsonl,
    ".jsonl.gz": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".ndjson.gz": _read_jsonl,
    ".csv": _read_csv,
    ".csv.gz": _read_csv,
}


# --- Fields ----------------------------------------------------------------------------------


def _article(record: Mapping[str, Any], origin: str) -> _Built:
    """Check one decoded record (a JSON object or a CSV row) and build its Article."""
    article = Article(
        id=_record_id(record.get("id")),
        title=_string(record, "title"),
        text=_string(record, "text"),
        summary=_string(record, "summary"),
        date=_parse_date(record.get("date")),
        url=_string(record, "url"),
        source=_string(record, "source"),
        topic=_string(record, "topic"),
        tags=_tags(record.get("tags")),
        origin=origin,
    )
    warnings = _finish(article)
    if not article.title and not article.text:
        raise _BadRecord("neither title nor text")
    return article, warnings


def _finish(article: Article) -> list[str]:
    """Check the id, clean and cap the fields of ``article`` in place; the warnings of what
    was cut. A bad id makes the record bad: the article could not be opened."""
    if problem := id_problem(article.id):
        raise _BadRecord(problem)
    article.text = clean_text(article.text).strip()
    article.summary = clean_text(article.summary).strip()
    return _cap_fields(article)


def _cap_fields(article: Article) -> list[str]:
    """Cut the fields over their limit (:data:`FIELD_LIMITS`), saying so in the warnings.

    An over-long text is cut rather than the article skipped: the rest of it is still worth
    finding. An over-long URL is dropped instead, since a cut one would lead nowhere.
    """
    warnings = []
    for name in ("title", "summary", "text", "source", "topic"):
        value, limit = getattr(article, name), FIELD_LIMITS[name]
        if len(value) > limit:
            setattr(article, name, _cut(value, limit))
            warnings.append(f"field '{name}' of {len(value):,} characters cut to {limit:,}")
    if len(article.url) > FIELD_LIMITS["url"]:
        warnings.append(f"field 'url' over {FIELD_LIMITS['url']:,} characters dropped")
        article.url = ""
    if len(article.tags) > MAX_TAGS:
        warnings.append(f"{len(article.tags):,} tags, only the first {MAX_TAGS} kept")
        article.tags = article.tags[:MAX_TAGS]
    if any(len(tag) > FIELD_LIMITS["tags"] for tag in article.tags):
        warnings.append(f"tags over {FIELD_LIMITS['tags']} characters cut")
        article.tags = [_cut(tag, FIELD_LIMITS["tags"]) for tag in article.tags]
    return warnings


def _cut(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, at a space if there is one near the end."""
    head = value[: limit + 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    return (head[:space] if space > limit * 0.9 else head[:limit]).rstrip()


def _record_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is not None and not isinstance(value, str):
        raise _BadRecord(f"field 'id' must be a string, not {_json_type(value)}")
    if not value or not value.strip():
        raise _BadRecord("missing id")
    return value.strip()


def _string(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadRecord(f"field '{name}' must be a string, not {_json_type(value)}")
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise _BadRecord("field 'tags' must be a list of strings")
    return [tag.strip() for tag in value if tag.strip()]


def _parse_date(value: object) -> dt.datetime | None:
    """``YYYY-MM-DD[THH:MM[:SS]]`` or ``DD.MM.YYYY[ HH:MM[:SS]]``; a bare date is midnight."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadRecord(f"field 'date' must be a string, not {_json_type(value)}")
    text = value.strip()
    if not text:
        return None
    if match := _ISO_DATE.fullmatch(text):
        year, month, day, *clock = match.groups()
    elif match := _RU_DATE.fullmatch(text):
        day, month, year, *clock = match.groups()
    else:
        raise _BadRecord(f"bad date {_shorten(text)!r}")
    try:
        return dt.datetime(int(year), int(month), int(day), *(int(part or 0) for part in clock))
    except ValueError:
        raise _BadRecord(f"bad date {text!r}") from None


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _shorten(text: str, limit: int = 60) -> str:
    """``text`` short enough to quote in a message (a bad value may be megabytes long)."""
    return text if len(text) <= limit else text[:limit] + "…"
