"""Tests for search.ingest: every malformed input is reported as FILE:LINE, and the good
records before and after it are still read."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import tracemalloc
from pathlib import Path

import pytest

from search.ingest import MAX_RECORD_BYTES, read_articles, supported_files
from search.records import FIELD_LIMITS, MAX_TAGS, Article, IngestProblem

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_5389a332ed69a0f4.txt"
CORPUS = ROOT.parent / "shared" / "corpus"

TEXT = "Правительство обсудило бюджет на следующий год и решение о новых расходах."


def read(*sources: str | Path) -> tuple[list[Article], list[IngestProblem]]:
    problems: list[IngestProblem] = []
    articles = list(read_articles(sources, problems.append))
    return articles, problems


def ids(articles: list[Article]) -> list[str]:
    return [article.id for article in articles]


def messages(problems: list[IngestProblem]) -> list[str]:
    return [str(problem) for problem in problems]


def record(article_id: str, **fields: object) -> str:
    """A good JSON line."""
    values = {"id": article_id, "title": f"Новость {article_id}", "text": TEXT, **fields}
    return json.dumps(values, ensure_ascii=False)


def write_lines(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
    return path


def write_good_jsonl(path: Path, *article_ids: str) -> Path:
    return write_lines(path, *(record(article_id) for article_id in article_ids))


# --- JSON Lines ------------------------------------------------------------------------------

MALFORMED_JSON_LINES = {
    "bad JSON": ('{"id": "x", "title": ', "bad JSON: Expecting value at column 22"),
    "not an object": ('["x", "заголовок"]', "not a JSON object but array"),
    "neither title nor text": (
        '{"id": "x", "title": "  ", "text": null}',
        "neither title nor text",
    ),
    "title is a number": ('{"id": "x", "title": 42}', "field 'title' must be a string, not number"),
    "tags not a list": (
        '{"id": "x", "title": "t", "tags": "спорт"}',
        "field 'tags' must be a list of strings",
    ),
    "tags not strings": (
        '{"id": "x", "title": "t", "tags": ["спорт", 1]}',
        "field 'tags' must be a list of strings",
    ),
    "id is a list": ('{"id": ["x"], "title": "t"}', "field 'id' must be a string, not array"),
    "missing id": ('{"title": "Без идентификатора"}', "missing id"),
    "empty id": ('{"id": " ", "title": "t"}', "missing id"),
    "impossible date": ('{"id": "x", "title": "t", "date": "2018-13-45"}', "bad date '2018-13-45'"),
    "date in words": ('{"id": "x", "title": "t", "date": "yesterday"}', "bad date 'yesterday'"),
    "date not a string": (
        '{"id": "x", "title": "t", "date": 2018}',
        "field 'date' must be a string, not number",
    ),
}


PATHOLOGICAL_JSON_LINES = {
    "nested 100,000 deep": (
        '{"id": "d", "title": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "bad JSON: nested too deeply",
    ),
    "id of 5,000 digits": ('{"id": ' + "9" * 5_000 + "}", "bad JSON: a number of 5,000 digits"),
    "extra number of 5,000 digits": (
        '{"id": "x", "title": "t", "views": ' + "1" * 5_000 + "}",
        "bad JSON: a number of 5,000 digits",
    ),
    "NUL byte in a line": ('{"id": "x", "title": "a\0b"}', "NUL byte at byte 24"),
    "long bad date": (
        '{"id": "x", "title": "t", "date": "' + "9" * 1_000 + '"}',
        f"bad date '{'9' * 60}…'",
    ),
    **{
        f"lone surrogate in {field}": (
            '{"id": "x", "title": "t", "' + field + '": ' + value + "}",
            f"field '{field}' has a lone surrogate '\\{escape}' at character {where}",
        )
        for field, value, escape, where in [
            ("text", '"abc\\ud800"', "ud800", 4),
            ("summary", '"\\ud800"', "ud800", 1),
            ("url", '"https://x.ru/\\ud800"', "ud800", 14),
            ("source", '"\\ud800"', "ud800", 1),
            ("topic", '"\\udc00"', "udc00", 1),
            ("tags", '["спорт", "\\ud800"]', "ud800", 1),
        ]
    },
    "lone surrogate in title": (
        '{"id": "x", "title": "\\ud83d"}',
        "field 'title' has a lone surrogate '\\ud83d' at character 1",
    ),
    "lone surrogate in id": (
        '{"id": "x\\ud800", "title": "t"}',
        "field 'id' has a lone surrogate '\\ud800' at character 2",
    ),
}
MALFORMED_JSON_LINES |= PATHOLOGICAL_JSON_LINES


@pytest.mark.parametrize(
    ("bad_line", "reason"), MALFORMED_JSON_LINES.values(), ids=MALFORMED_JSON_LINES.keys()
)
def test_malformed_json_line_is_reported_and_skipped(tmp_path, bad_line, reason):
    path = write_lines(tmp_path / "news.jsonl", record("a"), bad_line, record("b"))
    articles, problems = read(path)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{path}:2: {reason}"]
    assert problems[0].skipped


def test_invalid_utf8_costs_only_its_line(tmp_path):
    path = tmp_path / "news.jsonl"
    bad = b'{"id": "x", "title": "\xff\xfe"}'
    path.write_bytes(record("a").encode() + b"\n" + bad + b"\n" + record("b").encode() + b"\n")
    articles, problems = read(path)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{path}:2: invalid UTF-8 at byte 23"]


def test_a_whole_surrogate_pair_is_one_character(tmp_path):
    path = write_lines(tmp_path / "news.jsonl", '{"id": "x", "title": "Эмодзи \\ud83d\\ude00"}')
    articles, problems = read(path)
    assert problems == [] and articles[0].title == "Эмодзи \U0001f600"


def loads_failing_on(marker: str, error: BaseException):
    """``json.loads``, failing with ``error`` on a text holding ``marker``: an error nobody
    foresaw, which no real input is known to cause."""
    real_loads = json.loads

    def loads(text, **options):
        if marker in text:
            raise error
        return real_loads(text, **options)

    return loads


def test_an_unforeseen_error_costs_only_its_record(tmp_path, monkeypatch):
    monkeypatch.setattr(json, "loads", loads_failing_on("boom", OverflowError("unforeseen")))
    path = write_lines(tmp_path / "news.jsonl", record("a"), record("boom"), record("b"))
    articles, problems = read(path)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{path}:2: unreadable record (OverflowError: unforeseen)"]


@pytest.mark.parametrize("error", [MemoryError, KeyboardInterrupt])
def test_running_out_of_memory_or_an_interrupt_still_stops_the_reading(
    tmp_path, monkeypatch, error
):
    monkeypatch.setattr(json, "loads", loads_failing_on("boom", error()))
    path = write_lines(tmp_path / "news.jsonl", record("a"), record("boom"), record("b"))
    with pytest.raises(error):
        read(path)


UNUSABLE_IDS = {
    "a\nb": "contains the unprintable character '\\n'",
    "a\tb": "contains the unprintable character '\\t'",
    "a\x00b": "contains the unprintable character '\\x00'",
    "a\u200bb": "contains the unprintable character '\\u200b'",  # zero-width space
    "a\xa0b": "contains the unprintable character '\\xa0'",  # no-break space
    "/leading-slash": "cannot be a URL path",
    "trailing-slash/": "cannot be a URL path",
    "a//b": "cannot be a URL path",
    "a/./b": "cannot be a URL path",
    "../up": "cannot be a URL path",
    "x" * 257: "id longer than 256 characters",
}


@pytest.mark.parametrize("bad_id", UNUSABLE_IDS, ids=[ascii(i[:20]) for i in UNUSABLE_IDS])
def test_id_that_cannot_be_opened_is_skipped(tmp_path, bad_id):
    path = write_lines(tmp_path / "news.jsonl", record("a"), record(bad_id), record("b"))
    articles, problems = read(path)
    assert ids(articles) == ["a", "b"]
    [problem] = problems
    assert (problem.line, problem.skipped) == (2, True)
    assert UNUSABLE_IDS[bad_id] in problem.reason


def test_ids_in_use_stay_valid(tmp_path):
    good = ["rt-360018", "ng-nauka-2018-02-27-8_7181_mars", "000_5389a332ed69a0f4", "rt-123#2"]
    good += ["a/b", "Новость 1", "100%", "a?b", "x" * 256]
    path = write_lines(
        tmp_path / "news.jsonl", *(record(i) for i in good), '{"id": 7, "text": "t"}'
    )
    articles, problems = read(path)
    assert problems == []
    assert ids(articles) == [*good, "7"]


def test_duplicate_id_is_reported_with_where_it_was_first_seen(tmp_path):
    first = write_good_jsonl(tmp_path / "first.jsonl", "a", "b")
    second = write_lines(
        tmp_path / "second.jsonl", record("c"), record("a", title="Другая"), record("d")
    )
    articles, problems = read(first, second)
    assert ids(articles) == ["a", "b", "c", "d"]
    assert articles[0].title == "Новость a"
    assert messages(problems) == [f"{second}:2: duplicate id 'a', first seen at {first}:1"]


def test_fields_origin_and_physical_line_numbers(tmp_path):
    path = tmp_path / "news.jsonl"
    full = record(
        "full",
        summary="  Кратко.  ",
        date="2018-01-02",
        url="https://example.ru/1",
        source="RT",
        topic="world",
        tags=["политика", " выборы "],
        text="Первый абзац.\r\nВторой абзац.",
    )
    path.write_bytes(f'\ufeff{record("a")}\r\n\r\n   \n{full}\r\n{{"id": 7, "text": "t"}}'.encode())
    articles, problems = read(path)
    assert problems == []
    assert [(a.id, a.origin) for a in articles] == [
        ("a", f"{path}:1"),
        ("full", f"{path}:4"),
        ("7", f"{path}:5"),
    ]
    assert articles[1] == Article(
        id="full",
        title="Новость full",
        text="Первый абзац.\nВторой абзац.",
        summary="Кратко.",
        date=dt.datetime(2018, 1, 2),
        url="https://example.ru/1",
        source="RT",
        topic="world",
        tags=["политика", "выборы"],
        origin=f"{path}:4",
    )
    assert articles[0].date is None and articles[0].tags == [] and articles[0].topic == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-01-02", dt.datetime(2018, 1, 2)),
        ("2018-01-02T10:20", dt.datetime(2018, 1, 2, 10, 20)),
        ("2018-01-02T10:20:30", dt.datetime(2018, 1, 2, 10, 20, 30)),
        ("02.01.2018", dt.datetime(2018, 1, 2)),
        ("02.01.2018 10:20", dt.datetime(2018, 1, 2, 10, 20)),
        (None, None),
        ("", None),
    ],
)
def test_accepted_dates(tmp_path, text, expected):
    path = write_lines(tmp_path / "news.jsonl", record("a", date=text))
    articles, problems = read(path)
    assert problems == []
    assert articles[0].date == expected


def test_truncated_gzip_keeps_the_lines_read(tmp_path):
    lines = [record("a"), record("b"), record("c", text=TEXT * 20)]
    data = "".join(line + "\n" for line in lines).encode()
    cut = len(lines[0].encode()) + len(lines[1].encode()) + 2 + 40  # inside the third line
    path = tmp_path / "news.jsonl.gz"
    # Stored (uncompressed) deflate blocks: 10 bytes of gzip header, 5 of block header.
    path.write_bytes(gzip.compress(data, compresslevel=0, mtime=0)[: 10 + 5 + cut])
    after = write_good_jsonl(tmp_path / "after.jsonl", "d")
    articles, problems = read(path, after)
    assert ids(articles) == ["a", "b", "d"]
    reason = (
        "truncated or damaged gzip data, rest of file lost"
        " (Compressed file ended before the end-of-stream marker was reached)"
    )
    assert messages(problems) == [f"{path}:3: {reason}"]


@pytest.mark.parametrize("name", ["news.jsonl.gz", "news.csv.gz"])
def test_gzip_suffix_on_a_plain_file(tmp_path, name):
    path = write_good_jsonl(tmp_path / name, "a")
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(path, after)
    assert ids(articles) == ["b"]
    assert [(p.path, p.line) for p in problems] == [(str(path), 1)]
    assert problems[0].reason.startswith("truncated or damaged gzip data")


def test_gzipped_jsonl_and_ndjson(tmp_path):
    zipped = tmp_path / "news.jsonl.gz"
    zipped.write_bytes(gzip.compress((record("a") + "\n" + record("b") + "\n").encode()))
    ndjson = write_good_jsonl(tmp_path / "more.ndjson", "c")
    articles, problems = read(zipped, ndjson)
    assert problems == []
    assert ids(articles) == ["a", "b", "c"]
    assert articles[1].origin == f"{zipped}:2"


# --- Whole files -----------------------------------------------------------------------------


def test_binary_file_is_skipped(tmp_path):
    before = write_good_jsonl(tmp_path / "before.jsonl", "a")
    binary = tmp_path / "photo.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(before, binary, after)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{binary}:0: binary file, skipped"]


@pytest.mark.parametrize(
    "content",
    [
        random.Random(0).randbytes(20_000),  # compressed or encrypted data
        (record("a") + "\n").encode("utf-16"),  # UTF-16 text is not supported
        b"\x7fELF\x02\x01\x01" + bytes(100) + b'{"id": "x", "title": "t"}\n' * 20,
    ],
    ids=["random bytes", "utf-16", "executable"],
)
def test_binary_content_is_still_a_binary_file(tmp_path, content):
    binary = tmp_path / "data.jsonl"
    binary.write_bytes(content)
    articles, problems = read(binary)
    assert articles == []
    assert messages(problems) == [f"{binary}:0: binary file, skipped"]


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.jsonl.gz", "empty.csv", "empty.txt"])
def test_empty_file_is_a_warning(tmp_path, name):
    before = write_good_jsonl(tmp_path / "before.jsonl", "a")
    empty = tmp_path / name
    empty.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(before, empty, after)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{empty}:0: empty file"]
    assert not problems[0].skipped


def test_missing_and_unsupported_sources(tmp_path):
    missing = tmp_path / "nowhere.jsonl"
    unsupported = tmp_path / "notes.md"
    unsupported.write_text("# заметки\n")
    good = write_good_jsonl(tmp_path / "news.jsonl", "a")
    articles, problems = read(missing, unsupported, good)
    assert ids(articles) == ["a"]
    assert messages(problems)[0] == f"{missing}:0: no such file or directory"
    assert messages(problems)[1].startswith(f"{unsupported}:0: unsupported file type (expected")
    assert len(problems) == 2


def test_article_of_a_megabyte_is_read_whole(tmp_path):
    long_text = ("Очень длинная статья, " * 50_000)[: FIELD_LIMITS["text"]].strip()
    path = write_lines(tmp_path / "long.jsonl", record("a"), record("long", text=long_text))
    articles, problems = read(path)
    assert problems == []
    assert articles[1].text == long_text


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_over_long_fields_are_cut_with_a_warning(tmp_path, suffix):
    fields = {
        "title": "Заголовок " * 150,  # 1,500 characters
        "summary": "Кратко. " * 1_500,  # 12,000
        "text": "Слово " * 200_000,  # 1,200,000
        "url": "https://example.ru/" + "x" * 3_000,
        "source": "Источник" * 30,
    }
    path = tmp_path / f"long.{suffix}"
    if suffix == "jsonl":
        write_lines(path, record("long", **fields))
    else:
        write_lines(path, "id," + ",".join(fields), "long," + ",".join(fields.values()))
    articles, problems = read(path)
    [article] = articles
    assert article.title == ("Заголовок " * 100).strip()  # cut at a space
    assert len(article.summary) <= FIELD_LIMITS["summary"]
    assert len(article.text) <= FIELD_LIMITS["text"] and article.text.startswith("Слово Слово")
    assert article.url == ""
    assert len(article.source) == FIELD_LIMITS["source"]
    line = 2 if suffix == "csv" else 1
    assert messages(problems) == [
        f"{path}:{line}: field 'title' of 1,499 characters cut to 1,000",
        f"{path}:{line}: field 'summary' of 11,999 characters cut to 10,000",
        f"{path}:{line}: field 'text' of 1,199,999 characters cut to 1,000,000",
        f"{path}:{line}: field 'source' of 240 characters cut to 200",
        f"{path}:{line}: field 'url' over 2,000 characters dropped",
    ]
    assert not any(problem.skipped for problem in problems)


def test_too_many_and_too_long_tags_are_cut(tmp_path):
    tags = ["тег" * 100, *(f"тег-{n}" for n in range(150))]
    path = write_lines(tmp_path / "news.jsonl", record("a", tags=tags))
    articles, problems = read(path)
    assert len(articles[0].tags) == MAX_TAGS and len(articles[0].tags[0]) == 200
    assert messages(problems) == [
        f"{path}:1: 151 tags, only the first 100 kept",
        f"{path}:1: tags over 200 characters cut",
    ]


def test_text_and_summary_are_cleaned_of_scraping_leftovers(tmp_path):
    text = "\n".join(
        [
            "Первый абзац о переговорах.",
            " Также по теме ",
            " Заголовок другой статьи ",
            " Анонс другой статьи... ",
            "Второй абзац.",
            "",
            "Третий абзац после пустой строки.",
            "pic.twitter.com/AbC123",
            "— Пресс-служба (@press) ",
            "3 марта 2018 г.",
        ]
    )
    path = write_lines(
        tmp_path / "news.jsonl",
        record("a", title="Заголовок © 2018", text=text, summary="Кратко о главном.\n © Reuters"),
        record("junk", title="", text=" Также по теме \n © AFP "),
    )
    articles, problems = read(path)
    assert messages(problems) == [f"{path}:2: neither title nor text"]
    [article] = articles
    assert (
        article.text
        == "Первый абзац о переговорах.\nВторой абзац.\n\nТретий абзац после пустой строки."
    )
    assert article.summary == "Кратко о главном."
    assert article.title == "Заголовок © 2018"  # titles are not cleaned


# --- Huge records: skipped without being held whole ------------------------------------------

HUGE = 40 << 20  # 40 MiB, two and a half times the limit


def gzip_with_huge_part(path: Path, before: bytes, part: bytes, after: bytes) -> int:
    """Write a gzip file of ``before``, ``part`` repeated over ``HUGE`` bytes and ``after``;
    the number of times ``part`` is repeated.

    The huge part is one compressed mebibyte written again and again (a gzip file may be
    several gzip streams one after the other), so the file is made in no time and is small.
    """
    chunk = part * ((1 << 20) // len(part))
    member = gzip.compress(chunk, compresslevel=1)
    with path.open("wb") as out:
        out.write(gzip.compress(before))
        for _ in range(HUGE // len(chunk)):
            out.write(member)
        out.write(gzip.compress(after))
    return HUGE // len(chunk) * (len(chunk) // len(part))


def peak_memory_of(function, *args):
    """The result of ``function(*args)`` and the peak of Python memory allocated meanwhile."""
    tracemalloc.start()
    try:
        return function(*args), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_over_long_jsonl_line_is_skipped_without_holding_it(tmp_path):
    before = (record("a") + "\n").encode()
    after = ('"}\n' + record("b") + "\n").encode()
    path = tmp_path / "bomb.jsonl.gz"
    gzip_with_huge_part(path, before + b'{"id": "big", "text": "', b"x", after)
    (articles, problems), peak = peak_memory_of(read, path)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{path}:2: line over 16 MB, skipped"]
    assert peak < 2 * MAX_RECORD_BYTES + (8 << 20)


def test_over_long_csv_record_is_skipped_without_holding_it(tmp_path):
    """A quoted field running over many lines: the record is skipped to where it ends."""
    before = 'id,title,text\n1,Первая,текст\nbig,Большая,"начало\n'.encode()
    after = 'конец, и ""кавычки"" внутри"\n3,Третья,текст\n'.encode()
    part = ("строка длинной статьи " * 3_000 + "\n").encode()  # 64 KB lines
    path = tmp_path / "bomb.csv.gz"
    lines = gzip_with_huge_part(path, before, part, after)
    (articles, problems), peak = peak_memory_of(read, path)
    assert ids(articles) == ["1", "3"]
    assert messages(problems) == [f"{path}:3: record over 16 MB, skipped"]
    assert articles[1].origin == f"{path}:{5 + lines}"
    assert peak < 5 * MAX_RECORD_BYTES  # csv.reader holds a field at 4 bytes a character


def test_over_long_csv_line_is_skipped(tmp_path):
    before = b"id,title,text\n1,first,text\nbig,big,"
    path = tmp_path / "bomb.csv.gz"
    gzip_with_huge_part(path, before, b"x", b"\n3,third,text\n")
    articles, problems = read(path)
    assert ids(articles) == ["1", "3"]
    assert messages(problems) == [f"{path}:3: record over 16 MB, skipped"]
    assert articles[1].origin == f"{path}:4"


def test_over_long_seed_file_is_skipped(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(("Заголовок\n\n" + "Текст. " * (MAX_RECORD_BYTES // 10)).encode())
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(path, after)
    assert ids(articles) == ["b"]
    assert messages(problems) == [f"{path}:1: file over 16 MB, skipped"]


# --- CSV -------------------------------------------------------------------------------------


def test_csv_rows(tmp_path):
    path = write_lines(
        tmp_path / "news.csv",
        "ID, Title ,text,date,tags,extra",
        f"1,Первая,{TEXT},02.01.2018 10:20,спорт; футбол|ЧМ-2018,?",
        '2,"Вторая, с запятой","Абзац один.',
        "",
        'Абзац два.",2018-01-03,,',
        "",
        "3,Третья,,,,",
    )
    articles, problems = read(path)
    assert problems == []
    assert [(a.id, a.origin) for a in articles] == [
        ("1", f"{path}:2"),
        ("2", f"{path}:3"),
        ("3", f"{path}:7"),
    ]
    assert articles[0].tags == ["спорт", "футбол", "ЧМ-2018"]
    assert articles[0].date == dt.datetime(2018, 1, 2, 10, 20)
    assert articles[1].title == "Вторая, с запятой"
    assert articles[1].text == "Абзац один.\n\nАбзац два."
    assert articles[2].text == "" and articles[2].date is None


def test_csv_row_with_wrong_field_count(tmp_path):
    path = write_lines(
        tmp_path / "news.csv",
        "id,title,text",
        f"1,Первая,{TEXT}",
        "2,Вторая",
        '3,"Многострочная',
        'запись",текст',
        "4,Четвёртая,текст,лишнее",
        "5,Пятая,текст",
    )
    articles, problems = read(path)
    assert ids(articles) == ["1", "3", "5"]
    assert messages(problems) == [
        f"{path}:3: expected 3 fields, got 2",
        f"{path}:6: expected 3 fields, got 4",
    ]


def test_csv_record_problems_are_the_json_ones(tmp_path):
    path = write_lines(
        tmp_path / "news.csv",
        "id,title,text,date",
        "1,Первая,текст,",
        ",Без id,текст,",
        "3,,,",
        "4,Плохая дата,текст,31.02.2018",
        "5,Пятая,текст,2018-02-28",
    )
    articles, problems = read(path)
    assert ids(articles) == ["1", "5"]
    assert messages(problems) == [
        f"{path}:3: missing id",
        f"{path}:4: neither title nor text",
        f"{path}:5: bad date '31.02.2018'",
    ]


@pytest.mark.parametrize(
    ("header", "lacks"),
    [
        ("name,title,text", "an 'id' column"),
        ("id,body", "a 'title' or 'text' column"),
        ("name,body", "an 'id' column and a 'title' or 'text' column"),
    ],
)
def test_csv_bad_header_skips_the_file(tmp_path, header, lacks):
    before = write_good_jsonl(tmp_path / "before.jsonl", "a")
    bad = write_lines(tmp_path / "bad.csv", header, "1,x,y")
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(before, bad, after)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{bad}:1: CSV header lacks {lacks}, file skipped"]


def test_csv_column_named_twice_skips_the_file(tmp_path):
    bad = write_lines(tmp_path / "bad.csv", "id,title,text,Title,extra,extra", "1,a,b,c,d,e")
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(bad, after)
    assert ids(articles) == ["b"]
    assert messages(problems) == [f"{bad}:1: CSV header names 'title' twice, file skipped"]


def test_csv_with_old_mac_line_endings(tmp_path):
    path = tmp_path / "news.csv"
    path.write_bytes('id,title,text\r1,Первая,"Абзац.\rЕщё абзац."\r2,Вторая,текст\r'.encode())
    articles, problems = read(path)
    assert problems == []
    assert [(a.id, a.text, a.origin) for a in articles] == [
        ("1", "Абзац.\nЕщё абзац.", f"{path}:2"),
        ("2", "текст", f"{path}:4"),
    ]


def test_csv_semicolon_delimited_gzipped(tmp_path):
    path = tmp_path / "news.csv.gz"
    content = "id;title;text;tags\r\n1;Первая;Текст, с запятой;а,б\r\n2;Вторая;текст;\r\n"
    path.write_bytes(gzip.compress(content.encode()))
    articles, problems = read(path)
    assert problems == []
    assert [(a.id, a.text, a.tags) for a in articles] == [
        ("1", "Текст, с запятой", ["а", "б"]),
        ("2", "текст", []),
    ]
    assert articles[1].origin == f"{path}:3"


def test_truncated_gzipped_csv_keeps_the_rows_read(tmp_path):
    rows = ["id,title,text", "1,Первая,текст", "2,Вторая,текст", f"3,Третья,{TEXT}"]
    data = "".join(row + "\n" for row in rows).encode()
    path = tmp_path / "news.csv.gz"
    path.write_bytes(gzip.compress(data, compresslevel=0, mtime=0)[: 10 + 5 + len(data) - 20])
    articles, problems = read(path)
    assert ids(articles) == ["1", "2"]
    assert [(p.line, p.reason.split(",")[0]) for p in problems] == [
        (4, "truncated or damaged gzip data")
    ]


# --- Encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r", "utf-8-sig"])
def test_legacy_encoded_csv(tmp_path, encoding):
    path = write_lines(
        tmp_path / "news.csv", "id,title,text", f"1,Новости дня,{TEXT}", encoding=encoding
    )
    articles, problems = read(path)
    assert problems == []
    assert [(a.id, a.title, a.text) for a in articles] == [("1", "Новости дня", TEXT)]


@pytest.mark.parametrize("name", ["news.jsonl", "news.jsonl.gz"])
@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r"])
def test_legacy_encoded_jsonl(tmp_path, encoding, name):
    data = (record("1", title="Новости дня") + "\n" + record("2") + "\n").encode(encoding)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    articles, problems = read(path)
    assert problems == []
    assert [(a.id, a.title, a.text) for a in articles] == [
        ("1", "Новости дня", TEXT),
        ("2", "Новость 2", TEXT),
    ]


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r"])
def test_legacy_encoded_txt(tmp_path, encoding):
    path = write_lines(
        tmp_path / "legacy.txt",
        " date 2001-09-11 #Экономика",
        "Финансы",
        "",
        "Новости дня",
        "",
        TEXT,
        encoding=encoding,
    )
    articles, problems = read(path)
    assert [(a.title, a.text, a.topic, a.tags) for a in articles] == [
        ("Новости дня", TEXT, "Финансы", ["экономика"])
    ]
    assert messages(problems) == [f"{path}:1: incomplete seed file: no photo caption"]


def test_utf8_with_a_stray_byte_is_not_taken_for_a_legacy_encoding(tmp_path):
    path = tmp_path / "news.csv"
    path.write_bytes(
        f"id,title,text\n1,Новости,{TEXT}\n2,Пл".encode() + b"\xff" + "охо,х\n".encode()
    )
    articles, problems = read(path)
    assert [(a.id, a.title) for a in articles] == [("1", "Новости"), ("2", "Пл\ufffdохо")]
    assert messages(problems) == [f"{path}:3: invalid UTF-8 at byte 7, replaced"]
    assert not problems[0].skipped


def test_stray_byte_in_mostly_latin_utf8_does_not_make_mojibake(tmp_path):
    """Read as cp1251, the stray byte would be a Russian letter and "Café" would be "CafГ©"."""
    path = tmp_path / "news.csv"
    path.write_bytes("id,title,text\n1,Café,text\n2,x".encode() + b"\xee" + b",y\n")
    articles, problems = read(path)
    assert [a.title for a in articles] == ["Café", "x\ufffd"]
    assert messages(problems) == [f"{path}:3: invalid UTF-8 at byte 4, replaced"]


# --- Seed text format ------------------------------------------------------------------------


def test_seed_file():
    articles, problems = read(SEED)
    assert problems == []
    [article] = articles
    assert article.id == "000_5389a332ed69a0f4"
    assert article.origin == f"{SEED}:1"
    assert article.title == (
        "Срочные переговоры на фоне конфликта: Казахстан экстренно связался с соседями"
    )
    assert article.topic == "Политика"
    assert article.tags == ["референдум-2026", "казахмыс"]
    assert article.source == "Zakon.kz"
    assert article.date == dt.datetime(2026, 3, 2, 23, 42)
    assert article.summary == "" and article.url == ""
    assert article.text.startswith("Cостоялся телефонный разговор")
    # The seed has no-break spaces here; text normalization is the analyzer's job.
    assert article.text.endswith("Трамп\xa0объяснил\xa0ликвидацию Хаменеи.")
    assert "фото - Новости" not in article.text
    assert "Беляева" not in article.text
    assert "\n\nВ ходе беседы министры" in article.text


def test_plain_txt_is_indexed_with_a_warning(tmp_path):
    path = tmp_path / "plain.txt"
    lines = ["", "Заголовок", "", "Первый абзац,", "его вторая строка.", "", "", "  Второй абзац. "]
    path.write_bytes("\r\n".join(lines).encode())
    articles, problems = read(path)
    assert [(a.id, a.title, a.text, a.date) for a in articles] == [
        ("plain", "Заголовок", "Первый абзац,\nего вторая строка.\n\nВторой абзац.", None)
    ]
    assert messages(problems) == [
        f"{path}:1: incomplete seed file: no date line, no rubric, no photo caption"
    ]
    assert not problems[0].skipped


def test_txt_without_text_is_skipped(tmp_path):
    before = write_good_jsonl(tmp_path / "before.jsonl", "a")
    path = write_lines(tmp_path / "tags-only.txt", " date 2026-03-02 #Один", "#Два", "", "")
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(before, path, after)
    assert ids(articles) == ["a", "b"]
    assert messages(problems) == [f"{path}:1: no title or text"]


def test_txt_bad_date_is_skipped(tmp_path):
    path = write_lines(tmp_path / "bad-date.txt", "date 2026-02-30", "Политика", "", "Заголовок")
    after = write_good_jsonl(tmp_path / "after.jsonl", "b")
    articles, problems = read(path, after)
    assert ids(articles) == ["b"]
    assert messages(problems) == [f"{path}:1: bad date '2026-02-30'"]


# --- Directories and the corpus --------------------------------------------------------------


def test_directory_is_searched_recursively_in_path_order(tmp_path):
    root = tmp_path / "sources"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    write_good_jsonl(root / "b.jsonl", "b")
    write_lines(root / "a.csv", "id,text", "a,текст")
    write_lines(root / "sub" / "c.txt", "Заголовок", "", TEXT)
    (root / "sub" / "deeper" / "d.jsonl.gz").write_bytes(gzip.compress(record("d").encode()))
    write_good_jsonl(root / "sub" / "e.ndjson", "e")
    write_good_jsonl(root / ".hidden.jsonl", "hidden")
    write_good_jsonl(root / ".git" / "x.jsonl", "git")
    (root / "readme.md").write_text("не статья")

    expected = [
        root / "a.csv",
        root / "b.jsonl",
        root / "sub" / "c.txt",
        root / "sub" / "deeper" / "d.jsonl.gz",
        root / "sub" / "e.ndjson",
    ]
    assert supported_files([root]) == expected
    assert supported_files([root, root / "b.jsonl"]) == expected  # a file is read once

    articles, problems = read(root, root / "b.jsonl")
    assert ids(articles) == ["a", "b", "c", "d", "e"]
    reason = "incomplete seed file: no date line, no rubric, no photo caption"
    assert messages(problems) == [f"{root / 'sub' / 'c.txt'}:1: {reason}"]


def test_directory_without_supported_files(tmp_path):
    (tmp_path / "readme.md").write_text("нет статей")
    articles, problems = read(tmp_path)
    assert articles == []
    assert messages(problems) == [f"{tmp_path}:0: no supported files in directory"]


@pytest.mark.corpus
def test_corpus():
    articles, problems = read(*sorted(CORPUS.glob("*.jsonl.gz")))
    assert problems == []
    assert len(articles) == 8934
    assert all(a.date is not None for a in articles if a.id.startswith("ng-"))
    assert all(a.date is None for a in articles if a.id.startswith("rt-"))
    assert sum(a.id.startswith("ng-") for a in articles) == 1721
    # The scraping leftovers are gone: 1,121, 32 and 24 articles had these before cleaning.
    for leftover in ("pic.twitter.com", "fjs);", "document, 'script'"):
        assert not any(leftover in a.text for a in articles), leftover
