"""The bulk writer builds the index Whoosh's own writer would build, and it stays writable.

Each test builds the same articles twice: with ``search.indexer.build`` (the bulk
writer) and with Whoosh's standard ``ix.writer()`` and stock ``W3Codec``; then
compares what ordinary Whoosh reading gives: terms, postings (documents, weights,
positions), statistics, stored fields, columns, query results. Documents are matched
by stored id, since with several worker processes the bulk writer numbers them
worker by worker.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.query import And, Or, Phrase, Sequence, Term

from search import indexer
from search.bulk import BulkWriter
from search.ingest import read_articles
from search.schema import build_schema

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
CORPUS_ARTICLES = 300

ARTICLES = [
    {
        "id": "a1",
        "title": "Министр иностранных дел России встретился с коллегой из США",
        "summary": "Переговоры прошли в Санкт-Петербурге.",
        "text": "Министр иностранных дел России Сергей Лавров провёл переговоры в "
        "Санкт-Петербурге. Стороны обсудили из-за чего стали расти цены на сталь. "
        "Министр заявил, что переговоры были полезными.",
        "date": "2018-03-02",
        "source": "RT",
        "topic": "world",
        "tags": ["политика", "США", "Россия"],
        "url": "https://example.org/a1",
    },
    {
        "id": "a2",
        "title": "Ёлки подорожали перед Новым годом",
        "summary": "",
        "text": "Цены на ёлки выросли. Елки продают на рынках Москвы; в Москве их "
        "покупают 1-2 раза в год. Так говорят продавцы ёлок и елок.",
        "date": "2017-12-20",
        "source": "НГ",
        "topic": "economics",
        "tags": ["цены"],
    },
    {
        "id": "a3",
        "title": "Apple представила новый iPhone",
        "summary": "Smartphones and phones: the company presented new models.",
        "text": "Компания Apple представила iPhone X. Продажи iPhone начнутся в "
        "ноябре. Эксперты Apple-сообщества ждали этого с 2016 года; C-400 и С-400 "
        "тут ни при чём. some_snake_case word__with__underscores.",
        "source": "RT",
        "topic": "tech",
    },
    {
        "id": "a4",
        "title": "Сборная России по футболу вышла в четвертьфинал",
        "summary": "Матч завершился со счётом 2:1.",
        "text": "Сборная России обыграла соперника. Футболисты сборной России "
        "забили два мяча. Тренер сборной доволен игрой футболистов. " * 3,
        "date": "2018-07-01",
        "source": "RT",
        "topic": "sport",
        "tags": ["футбол", "чемпионат мира"],
    },
    {
        "id": "a5",
        "title": "Слово с ударе\u0301нием и мягким\u00adпереносом",
        "summary": "Текст со скрытыми символами.",
        "text": "В тексте есть ударе\u0301ние, мяг\u00adкий перенос и сло\u200bво с нулевым "
        "пробелом. Обычные слова тоже есть: переговоры, министр, Россия.",
        "date": "2016-01-15",
        "source": "НГ",
        "topic": "culture",
    },
]


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records),
        encoding="utf-8",
    )
    return path


def _reference_index(source: Path, folder: Path):
    """The same documents through Whoosh's standard writer and stock codec."""
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    writer = ix.writer(codec=W3Codec())
    for doc in indexer._documents(read_articles([source], lambda problem: None)):
        writer.add_document(**doc)
    writer.commit()
    return ix


def _postings(reader, fieldname: str, term: bytes, ids: dict[int, str]) -> list[tuple]:
    matcher = reader.postings(fieldname, term)
    found = []
    while matcher.is_active():
        found.append((ids[matcher.id()], matcher.weight(), matcher.value()))
        matcher.next()
    return sorted(found)


def _assert_same_index(expected_ix, actual_ix, sample: int = 300) -> None:
    """Everything Whoosh reads from the two indexes is the same (documents by id)."""
    with expected_ix.searcher() as expected, actual_ix.searcher() as actual:
        er, ar = expected.reader(), actual.reader()
        assert ar.doc_count() == er.doc_count()
        eids = {d: er.stored_fields(d)["id"] for d in range(er.doc_count_all())}
        aids = {d: ar.stored_fields(d)["id"] for d in range(ar.doc_count_all())}
        adoc = {article_id: d for d, article_id in aids.items()}
        assert sorted(eids.values()) == sorted(aids.values())
        for d, article_id in eids.items():
            assert ar.stored_fields(adoc[article_id]) == er.stored_fields(d)
        schema = expected_ix.schema
        rng = random.Random(0)
        for fieldname in schema.names():
            field = schema[fieldname]
            if not field.indexed:
                continue
            terms = list(er.lexicon(fieldname))
            assert list(ar.lexicon(fieldname)) == terms, fieldname
            for term in rng.sample(terms, min(sample, len(terms))):
                assert _postings(ar, fieldname, term, aids) == _postings(
                    er, fieldname, term, eids
                ), (fieldname, term)
                assert ar.doc_frequency(fieldname, term) == er.doc_frequency(fieldname, term)
                assert ar.frequency(fieldname, term) == pytest.approx(er.frequency(fieldname, term))
                einfo, ainfo = er.term_info(fieldname, term), ar.term_info(fieldname, term)
                assert (ainfo.min_length(), ainfo.max_length(), ainfo.max_weight()) == (
                    einfo.min_length(),
                    einfo.max_length(),
                    einfo.max_weight(),
                )
            if field.scorable:
                assert ar.field_length(fieldname) == er.field_length(fieldname)
                for d, article_id in eids.items():
                    assert ar.doc_field_length(adoc[article_id], fieldname) == (
                        er.doc_field_length(d, fieldname)
                    )
        for column in ("source", "topic", "year", "date"):
            ecol = er.column_reader(column, translate=False)
            acol = ar.column_reader(column, translate=False)
            for d, article_id in eids.items():
                assert acol[adoc[article_id]] == ecol[d], column


def _assert_same_results(expected_ix, actual_ix, queries) -> None:
    with expected_ix.searcher() as expected, actual_ix.searcher() as actual:
        for query in queries:
            want = {hit["id"]: round(hit.score, 5) for hit in expected.search(query, limit=None)}
            got = {hit["id"]: round(hit.score, 5) for hit in actual.search(query, limit=None)}
            assert got == want, query


QUERIES = [
    Term("text", "министр"),
    Or([Term("text", "россия"), Term("text", "цена"), Term("title", "apple")]),
    Term("exact", "москве"),
    Phrase("text", ["министр", "иностранный", "дело"]),
    Sequence([Term("text", "санкт"), Term("text", "петербург")]),
    Term("text", "санкт-петербург"),
    And([Term("text", "сборная"), Term("topic", "sport")]),
    Term("tags", "сша"),
    Term("source", "RT"),
]


@pytest.fixture(scope="module")
def inline_source(tmp_path_factory) -> Path:
    return _write_jsonl(tmp_path_factory.mktemp("inline") / "articles.jsonl", ARTICLES)


@pytest.mark.parametrize("procs", [1, 2])
def test_bulk_index_equals_standard_index(inline_source: Path, tmp_path: Path, procs: int):
    report = indexer.build(tmp_path / "root", [inline_source], procs=procs)
    assert report.indexed == len(ARTICLES)
    bulk = indexer.open_live(tmp_path / "root")
    reference = _reference_index(inline_source, tmp_path / "reference")
    _assert_same_index(reference, bulk)
    _assert_same_results(reference, bulk, QUERIES)
    with bulk.searcher() as searcher, reference.searcher() as expected:
        ids = [hit["id"] for hit in searcher.search(Term("exact", "елки"), limit=None)]
        assert ids == ["a2"]
        for column in ("date", "year", "source", "topic"):  # the sortable columns
            query = Or([Term("text", "россия"), Term("text", "цена"), Term("source", "RT")])
            got = searcher.search(query, sortedby=column, limit=None)
            want = expected.search(query, sortedby=column, limit=None)
            assert [hit["id"] for hit in got] == [hit["id"] for hit in want], column
        by_date = searcher.search(Term("source", "RT"), sortedby="date", limit=None)
        assert [hit["id"] for hit in by_date] == ["a1", "a4", "a3"]  # no date: last


def test_bulk_index_is_a_plain_whoosh_index(inline_source: Path, tmp_path: Path):
    indexer.build(tmp_path / "root", [inline_source], procs=2)
    folder = indexer.live_dir(tmp_path / "root")
    ix = whoosh_index.open_dir(str(folder))
    assert len(ix._segments()) == 1
    with ix.searcher() as searcher:
        assert searcher.doc_count() == len(ARTICLES)
        hits = searcher.search(Phrase("title", ["новый", "iphone"]), limit=None)
        assert [hit["id"] for hit in hits] == ["a3"]
        assert searcher.document(id="a1")["date"] == dt.datetime(2018, 3, 2)


def test_update_and_delete_on_a_bulk_built_index(inline_source: Path, tmp_path: Path):
    root = tmp_path / "root"
    indexer.build(root, [inline_source], procs=2)
    changed = dict(ARTICLES[0], title="Совсем другой заголовок про переговоры", text="Новый текст.")
    added = dict(ARTICLES[1], id="a6", title="Новая статья о ёлках")
    update_source = _write_jsonl(tmp_path / "update.jsonl", [changed, added])
    report = indexer.update(root, [update_source])
    assert report.indexed == 2
    assert indexer.delete(root, ["a4", "missing"]) == ["missing"]
    ix = indexer.open_live(root)
    with ix.searcher() as searcher:
        assert searcher.doc_count() == len(ARTICLES)  # +1 added, -1 deleted
        ids = {hit["id"] for hit in searcher.search(Term("text", "сборная"), limit=None)}
        assert ids == set()
        title = searcher.search(Term("title", "заголовок"), limit=None)
        assert [hit["id"] for hit in title] == ["a1"]
        assert not searcher.search(Term("text", "лавров"), limit=None)
        both = {hit["id"] for hit in searcher.search(Term("title", "елка"), limit=None)}
        assert both == {"a2", "a6"}


def test_writer_with_existing_segments_keeps_them(inline_source: Path, tmp_path: Path):
    ix = _reference_index(inline_source, tmp_path / "ix")
    writer = BulkWriter(ix, procs=1)
    writer.add_document(**indexer.article_document(_article("b1", "Ещё одна статья")))
    writer.commit()
    with ix.refresh().searcher() as searcher:
        assert searcher.doc_count() == len(ARTICLES) + 1
        assert [hit["id"] for hit in searcher.search(Term("title", "статья"))] == ["b1"]


def test_cancel_leaves_the_index_unchanged(inline_source: Path, tmp_path: Path):
    ix = _reference_index(inline_source, tmp_path / "ix")
    writer = BulkWriter(ix, procs=2)
    writer.add_document(**indexer.article_document(_article("b1", "Отменённая статья")))
    writer.cancel()
    with ix.refresh().searcher() as searcher:
        assert searcher.doc_count() == len(ARTICLES)


def _article(article_id: str, title: str):
    from search.records import Article

    return Article(id=article_id, title=title, text=title + ". Текст статьи.")


@pytest.fixture(scope="module")
def corpus_source(tmp_path_factory) -> Path:
    files = sorted(CORPUS.glob("*.jsonl.gz"))
    records = []
    per_file = CORPUS_ARTICLES // len(files) + 1
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if number >= per_file:
                    break
                records.append(json.loads(line))
    return _write_jsonl(tmp_path_factory.mktemp("corpus") / "sample.jsonl", records)


@pytest.mark.corpus
@pytest.mark.parametrize("procs", [1, 2])
def test_corpus_sample_equals_standard_index(corpus_source: Path, tmp_path: Path, procs: int):
    indexer.build(tmp_path / "root", [corpus_source], procs=procs)
    bulk = indexer.open_live(tmp_path / "root")
    reference = _reference_index(corpus_source, tmp_path / "reference")
    _assert_same_index(reference, bulk, sample=400)
    with reference.searcher() as searcher:
        words = [word for _, word in searcher.reader().most_frequent_terms("text", number=40)]
    queries = [Term("text", word) for word in words[:10]]
    queries.append(Or([Term("text", word) for word in words[10:20]]))
    queries.append(Sequence([Term("text", words[0]), Term("text", words[1])]))
    queries.append(Phrase("text", ["министр", "иностранный", "дело"]))
    _assert_same_results(reference, bulk, queries)


def test_a_small_update_written_by_the_bulk_writer_equals_whooshs(
    inline_source: Path, tmp_path: Path, monkeypatch
):
    """Updates of up to ``BULK_UPDATE_DOCS`` articles go through the bulk writer, larger
    ones through Whoosh's: both replace and add the same way."""
    changed = dict(ARTICLES[0], title="Совсем другой заголовок про переговоры", text="Новый текст.")
    added = dict(ARTICLES[1], id="a6", title="Новая статья о ёлках")
    update_source = _write_jsonl(tmp_path / "update.jsonl", [changed, added])
    updated = {}
    for way, limit in (("bulk", indexer.BULK_UPDATE_DOCS), ("whoosh", 1)):
        monkeypatch.setattr(indexer, "BULK_UPDATE_DOCS", limit)
        root = tmp_path / way
        indexer.build(root, [inline_source], procs=1)
        assert indexer.update(root, [update_source]).indexed == 2
        updated[way] = indexer.open_live(root)
    assert len(updated["bulk"]._segments()) == len(updated["whoosh"]._segments()) == 2
    with updated["whoosh"].reader() as want_all, updated["bulk"].reader() as got_all:
        live = [{f["id"]: f for f in r.all_stored_fields()} for r in (want_all, got_all)]
        assert live[0] == live[1] and live[0]["a1"]["title"] == changed["title"]
        # segment by segment (a MultiReader lists terms wrong: ``ranking.expand_prefix``)
        for (want, _), (got, _) in zip(
            want_all.leaf_readers(), got_all.leaf_readers(), strict=True
        ):
            same = {d: d for d in range(want.doc_count_all())}
            assert got.doc_count_all() == len(same)
            for fieldname in ("title", "text", "exact", "tags", "id"):
                terms = list(want.lexicon(fieldname))
                assert list(got.lexicon(fieldname)) == terms
                for term in terms:
                    found = _postings(got, fieldname, term, same)
                    assert found == _postings(want, fieldname, term, same), (fieldname, term)
                assert got.field_length(fieldname) == want.field_length(fieldname)
    _assert_same_results(updated["whoosh"], updated["bulk"], QUERIES)
    with updated["bulk"].searcher() as searcher:
        assert [hit["id"] for hit in searcher.search(Term("title", "заголовок"))] == ["a1"]
