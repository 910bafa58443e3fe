"""Tests for search.ingest: every malformed input is reported as FILE:LINE, and the good
records before and after it are still read."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from search.ingest import read_articles, supported_files
from search.records import Article, IngestProblem

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


def test_gzip_suffix_on_a_plain_file(tmp_path):
    path = write_good_jsonl(tmp_path / "news.jsonl.gz", "a")
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


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_ten_megabyte_text_is_read_whole(tmp_path, suffix):
    huge = ("Очень длинная статья, " * 500_000)[:10_000_000].strip()
    path = tmp_path / f"huge.{suffix}"
    if suffix == "jsonl":
        write_lines(path, record("a"), record("huge", text=huge), record("b"))
    else:
        write_lines(
            path, "id,title,text", f"a,Первая,{TEXT}", f'huge,Длинная,"{huge}"', "b,Вторая,x"
        )
    articles, problems = read(path)
    assert problems == []
    assert ids(articles) == ["a", "huge", "b"]
    assert articles[1].text == huge


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


def test_corpus():
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    articles, problems = read(*sorted(CORPUS.glob("*.jsonl.gz")))
    assert problems == []
    assert len(articles) == 8934
    assert all(a.date is not None for a in articles if a.id.startswith("ng-"))
    assert all(a.date is None for a in articles if a.id.startswith("rt-"))
    assert sum(a.id.startswith("ng-") for a in articles) == 1721
