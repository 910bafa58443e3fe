"""Export (``search.export``) and ``news-search export`` in process (click's CliRunner)
on the web test corpus: CSV and JSON Lines, every match in the search's order, the cut."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from search.cli import main
from search.export import COLUMNS, export
from search.searching import SearchEngine, SearchRequest


@pytest.fixture(scope="module")
def engine(web_corpus) -> SearchEngine:
    return SearchEngine(web_corpus.root)


def run(web_corpus, *args: str):
    result = CliRunner().invoke(main, ["export", *args, "--index", str(web_corpus.root)])
    assert result.exit_code == 0, result.output
    return result


def ids_of_search(engine: SearchEngine, q: str, **options) -> list[str]:
    result = engine.search(SearchRequest(q=q, per_page=100, **options))
    return [hit.id for hit in result.hits]


def test_csv_has_the_header_and_every_match_in_the_search_order(web_corpus, engine):
    result = run(web_corpus, "переговоры")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == COLUMNS
    assert [row[0] for row in rows[1:]] == ids_of_search(engine, "переговоры")
    talks = next(row for row in rows if row[0] == "talks-00")
    assert talks[1:4] == ["2018-01-01", "ТАСС", "Экономика"]
    assert talks[5] == "https://news.example.ru/talks/0" and float(talks[6]) > 0
    assert f"Exported {len(rows) - 1} articles." in result.stderr


def test_jsonl_by_date_with_filters(web_corpus, engine):
    result = run(web_corpus, "переговоры", "--format", "jsonl", "--sort", "date", "--source", "RT")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ids_of_search(engine, "переговоры", sort="date", source="RT")
    assert list(rows[0]) == list(COLUMNS) and {r["source"] for r in rows} == {"RT"}
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates, reverse=True)


def test_an_undated_article_has_an_empty_date(web_corpus):
    rows = list(csv.DictReader(io.StringIO(run(web_corpus, "волонтёры").stdout)))
    assert [(r["id"], r["date"]) for r in rows] == [("undated-1", "")]


def test_a_cut_export_says_so(web_corpus, engine, tmp_path):
    out = tmp_path / "cut.csv"
    result = run(web_corpus, "переговоры", "--limit", "5", "--output", str(out))
    total = engine.search(SearchRequest(q="переговоры")).total
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6
    assert f"Exported 5 articles; {total} matched, cut at 5." in result.stderr
    rows = export(engine, SearchRequest(q="переговоры"), limit=5)
    assert (rows.rows, rows.total, rows.truncated) == (5, total, True)


def test_a_bad_date_is_a_usage_error(web_corpus):
    result = CliRunner().invoke(
        main, ["export", "переговоры", "--from", "вчера", "--index", str(web_corpus.root)]
    )
    assert result.exit_code == 2 and "bad date" in result.output


def test_the_chunks_hold_every_row_once(engine):
    rows = export(engine, SearchRequest(q="переговоры"))
    counted: list[int] = []
    chunks = list(rows.encoded("jsonl", done=counted.append))
    assert sum(counted) == rows.rows == sum(chunk.count(b"\n") for chunk in chunks)
