"""Reading source files into :class:`Article` records.

Supported inputs: JSON Lines (``.jsonl``, ``.ndjson``, either may be gzipped), CSV with a header
row (``.csv``, ``.csv.gz``) and the plain-text seed format (``.txt``, see :func:`_parse_seed`).
Malformed input never stops the reading: each bad record is reported to ``on_problem`` as
``FILE:LINE: reason`` and skipped, and the good records around it are still yielded.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .records import Article, IngestProblem

_Report = Callable[[IngestProblem], None]
_Parser = Callable[[Path, _Report], Iterator[tuple[int, Article]]]

_SNIFF_BYTES = 8192  # a NUL byte this early means a binary file
_CHUNK_BYTES = 1 << 20
_ENCODING_SAMPLE_BYTES = 1 << 16
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
_CSV_FIELD_LIMIT = 2**31 - 1  # the csv module's default of 128 KiB would reject long articles
_FREQUENT_LETTERS = "оеаинтсрвл"  # the ten most frequent Russian letters
_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")
_RU_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_TAG_SEPARATORS = re.compile(r"[;,|]")
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
        head, damage = _read(path, limit=_SNIFF_BYTES)
        if not head and not damage:
            report(IngestProblem(str(path), 0, "empty file", skipped=False))
        elif b"\0" in head:
            report(IngestProblem(str(path), 0, "binary file, skipped"))
        else:
            yield from parser(path, report)
    except OSError as exc:
        report(IngestProblem(str(path), 0, f"cannot read file: {exc.strerror or exc}"))


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path) if path.name.lower().endswith(".gz") else open(path, "rb")


def _read(path: Path, limit: int | None = None) -> tuple[bytes, str | None]:
    """The (decompressed) content of ``path``, or about its first ``limit`` bytes.

    Also returns the error of a truncated or damaged gzip stream, if any: what was decompressed
    before the damage is kept (``read1`` hands it over chunk by chunk, where ``read`` would
    drop it with the exception).
    """
    data = bytearray()
    size = limit or _CHUNK_BYTES
    with _open(path) as stream:
        try:
            while (limit is None or len(data) < limit) and (chunk := stream.read1(size)):
                data += chunk
        except _GZIP_ERRORS as exc:
            return bytes(data), str(exc)
    return bytes(data), None


def _gzip_damage(reason: str) -> str:
    return f"truncated or damaged gzip data, rest of file lost ({reason})"


def _decode(path: Path, data: bytes, report: _Report) -> str:
    """Decode a whole text file, with line endings normalized to ``\\n``.

    UTF-8 if the file is valid UTF-8, otherwise whichever of cp1251, koi8-r and UTF-8 with
    replacement characters shows the most frequent Russian letters (legacy archives use the
    first two; the last keeps a UTF-8 file with one stray byte from turning into mojibake,
    and is reported).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        sample = data[:_ENCODING_SAMPLE_BYTES]
        encoding = max(
            ("utf-8", "cp1251", "koi8-r"),
            key=lambda name: _russian_letters(sample.decode(name, "replace")),
        )
        if encoding == "utf-8":
            line = data.count(b"\n", 0, exc.start) + 1
            byte = exc.start - data.rfind(b"\n", 0, exc.start)
            reason = f"invalid UTF-8 at byte {byte}, replaced"
            report(IngestProblem(str(path), line, reason, skipped=False))
        text = data.decode(encoding, "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _russian_letters(text: str) -> int:
    return sum(map(text.count, _FREQUENT_LETTERS))


# --- Formats ---------------------------------------------------------------------------------


class _BadRecord(Exception):
    """A record that cannot be used; the message is the reason reported."""


def _read_jsonl(path: Path, report: _Report) -> Iterator[tuple[int, Article]]:
    """JSON Lines: one object a line, blank lines ignored.

    Lines are decoded one by one, so a bad byte or a damaged gzip stream costs only the
    lines it touches.
    """
    line = 0
    try:
        with _open(path) as stream:
            for line, raw in enumerate(stream, 1):
                if raw.isspace():
                    continue
                try:
                    yield line, _article(_json_object(raw, line), f"{path}:{line}")
                except _BadRecord as exc:
                    report(IngestProblem(str(path), line, str(exc)))
    except _GZIP_ERRORS as exc:
        report(IngestProblem(str(path), line + 1, _gzip_damage(str(exc))))


def _json_object(raw: bytes, line: int) -> Mapping[str, Any]:
    try:
        text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise _BadRecord(f"invalid UTF-8 at byte {exc.start + 1}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        column = min(exc.pos, len(text.rstrip("\r\n"))) + 1  # not past the end of the line
        raise _BadRecord(f"bad JSON: {exc.msg} at column {column}") from None
    if not isinstance(value, dict):
        raise _BadRecord(f"not a JSON object but {_json_type(value)}")
    return value


def _read_csv(path: Path, report: _Report) -> Iterator[tuple[int, Article]]:
    """CSV with a header row naming the fields; ``tags`` is split on ``;``, ``,`` or ``|``."""
    data, damage = _read(path)
    if damage:
        data = data[: data.rfind(b"\n") + 1]  # the unfinished last line is lost
    text = _decode(path, data, report)
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    yield from _csv_articles(path, _csv_rows(text), report)
    if damage:
        report(IngestProblem(str(path), text.count("\n") + 1, _gzip_damage(damage)))


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of ``text``, each with the physical line it starts on."""
    first_line = text.partition("\n")[0]
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=max(",;\t", key=first_line.count))
    start = 1
    for row in rows:
        if row:
            yield start, row
        start = rows.line_num + 1


def _csv_articles(
    path: Path, rows: Iterator[tuple[int, list[str]]], report: _Report
) -> Iterator[tuple[int, Article]]:
    header = next(rows, None)
    if header is None:
        return
    header_line, names = header[0], [name.strip().lower() for name in header[1]]
    if lacking := _csv_header_lacks(names):
        report(IngestProblem(str(path), header_line, f"CSV header lacks {lacking}, file skipped"))
        return
    for line, row in rows:
        if len(row) != len(names):
            reason = f"expected {len(names)} fields, got {len(row)}"
            report(IngestProblem(str(path), line, reason))
            continue
        record: dict[str, Any] = dict(zip(names, row, strict=True))
        record["tags"] = _TAG_SEPARATORS.split(record.get("tags") or "")
        try:
            yield line, _article(record, f"{path}:{line}")
        except _BadRecord as exc:
            report(IngestProblem(str(path), line, str(exc)))


def _csv_header_lacks(names: list[str]) -> str:
    lacking = []
    if "id" not in names:
        lacking.append("an 'id' column")
    if "title" not in names and "text" not in names:
        lacking.append("a 'title' or 'text' column")
    return " and ".join(lacking)


def _read_txt(path: Path, report: _Report) -> Iterator[tuple[int, Article]]:
    """One article a file in the seed format; the file name (no extension) is its id."""
    data, _ = _read(path)  # a .txt file is never compressed, so never damaged
    try:
        article, missing = _parse_seed(path.stem, f"{path}:1", _decode(path, data, report))
    except _BadRecord as exc:
        report(IngestProblem(str(path), 1, str(exc)))
        return
    if missing:
        reason = "incomplete seed file: no " + ", no ".join(missing)
        report(IngestProblem(str(path), 1, reason, skipped=False))
    yield 1, article


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


def _article(record: Mapping[str, Any], origin: str) -> Article:
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
    if not article.title and not article.text:
        raise _BadRecord("neither title nor text")
    return article


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
        raise _BadRecord(f"bad date {text!r}")
    try:
        return dt.datetime(int(year), int(month), int(day), *(int(part or 0) for part in clock))
    except ValueError:
        raise _BadRecord(f"bad date {text!r}") from None


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)
