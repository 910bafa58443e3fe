"""Background merging: the tiered policy, a stream of small updates kept to a bounded
number of segments, and deletions made while a merge runs carried into its segment."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from search import codec, indexer, merging
from search.check import check_index
from search.cli import main
from search.merging import (
    FLOOR_DOCS,
    MAX_MERGED_DOCS,
    MERGE_FACTOR,
    SegmentInfo,
    choose,
    tier,
)
from search.searching import SearchEngine, SearchRequest
from tests.conftest import build_index


def article(number: int, title: str = "") -> dict:
    return {
        "id": f"n-{number}",
        "title": title or f"Новость номер {number}",
        "text": f"Текст новости о погоде и дорогах, метка{number}.",
        "date": "2024-01-01",
    }


def add(root: Path, folder: Path, articles: list[dict]) -> None:
    path = folder / f"batch-{articles[0]['id']}.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles))
    indexer.update(root, [path])


def ids(root: Path, q: str) -> list[str]:
    result = SearchEngine(root).search(SearchRequest(q=q, per_page=100))
    return sorted(hit.id for hit in result.hits)


def test_tiers_grow_by_the_merge_factor():
    assert tier(1) == tier(FLOOR_DOCS) == 0
    assert tier(FLOOR_DOCS + 1) == 1
    assert tier(FLOOR_DOCS * MERGE_FACTOR - 1) == 1
    assert tier(FLOOR_DOCS * MERGE_FACTOR) == 2


def test_a_full_tier_above_0_is_merged_smallest_first_up_to_the_size_limit():
    size = FLOOR_DOCS * MERGE_FACTOR  # tier 2
    tier2 = [SegmentInfo(f"s{i}", size + i, 0) for i in range(MERGE_FACTOR + 2)]
    big = [SegmentInfo("big", MAX_MERGED_DOCS // 2, 0)]
    assert choose(tier2[: MERGE_FACTOR - 1] + big) == []
    assert choose(tier2 + big) == [f"s{i}" for i in range(MERGE_FACTOR + 2)]
    near_the_limit = [SegmentInfo(f"n{i}", MAX_MERGED_DOCS // 9 + i, 0) for i in range(12)]
    assert choose(near_the_limit) == [f"n{i}" for i in range(MERGE_FACTOR)]
    over_it = [SegmentInfo(f"o{i}", MAX_MERGED_DOCS // 7, 0) for i in range(12)]
    assert choose(over_it) == []


def test_tier_0_is_merged_whole_so_merged_small_segments_are_not_passed_over():
    merged = [SegmentInfo(f"m{i}", 8 * 12, 0) for i in range(3)]  # still tier 0
    fresh = [SegmentInfo(f"f{i}", 12, 0) for i in range(MERGE_FACTOR)]
    assert tier(8 * 12) == 0
    assert sorted(choose(merged + fresh)) == sorted(info.segment_id for info in merged + fresh)


def test_waiting_counts_the_segments_the_policy_would_merge_away_now():
    fresh = [SegmentInfo(f"f{i}", 12, 0) for i in range(MERGE_FACTOR - 1)]
    assert merging.waiting(fresh) == 0
    assert merging.waiting([*fresh, SegmentInfo("one more", 12, 0)]) == MERGE_FACTOR - 1
    # tier 1 full as well: tier 0's merge (whose 96 articles stay in tier 0), then its
    tier1 = [SegmentInfo(f"t{i}", FLOOR_DOCS * 2, 0) for i in range(MERGE_FACTOR)]
    assert merging.waiting([*fresh, SegmentInfo("x", 12, 0), *tier1]) == 2 * MERGE_FACTOR - 2
    # 14 small ones make one of tier 1, which joins (and fills) it
    more = [SegmentInfo(f"g{i}", 12, 0) for i in range(MERGE_FACTOR - 1)]
    assert merging.waiting(fresh + more + tier1[1:]) == 13 + 7
    assert merging.waiting([SegmentInfo("gone", 10, 10), *fresh]) == 1
    assert merging.waiting([SegmentInfo("half gone", 10, 5), *fresh[1:]]) == 0  # rewritten


def test_a_segment_mostly_deleted_is_rewritten_alone():
    infos = [SegmentInfo("a", 100, 10), SegmentInfo("b", 100, 31), SegmentInfo("c", 5, 0)]
    assert choose(infos) == ["b"]


def test_a_stream_of_small_updates_stays_within_a_bounded_segment_count(tmp_path):
    root = build_index(tmp_path, [article(n) for n in range(20)])
    most = 0
    for batch in range(3 * MERGE_FACTOR):
        numbers = range(100 + 3 * batch, 103 + 3 * batch)
        add(root, tmp_path, [article(n) for n in numbers] + [article(batch, "Заменённая")])
        merging.merge_while_needed(root)
        most = max(most, len(merging.segment_infos(root)))
    assert most < MERGE_FACTOR + 1  # one tier: the base build and fewer than 8 small ones
    # Articles 0-19 built, 0-23 replaced or added once each, 3 new a batch.
    assert len(ids(root, "погоде")) == 3 * MERGE_FACTOR + 3 * 3 * MERGE_FACTOR
    assert ids(root, "заменённая") == sorted(f"n-{b}" for b in range(3 * MERGE_FACTOR))
    assert check_index(root).sound


def test_deletions_made_while_a_merge_runs_are_kept(tmp_path):
    root = build_index(tmp_path, [article(n) for n in range(5)])
    for batch in range(MERGE_FACTOR):
        add(root, tmp_path, [article(10 * (batch + 1) + k) for k in range(3)])

    def meanwhile() -> None:
        assert indexer.delete(root, ["n-11", "n-42", "n-81"]) == []
        add(root, tmp_path, [article(52, "Обновлённая")])

    report = merging.merge_once(root, written=meanwhile)
    assert report is not None and len(report.merged) == MERGE_FACTOR + 1  # tier 0, whole
    found = ids(root, "погоде")
    assert "n-11" not in found and "n-42" not in found and "n-81" not in found
    assert len(found) == 5 + 3 * MERGE_FACTOR - 3
    assert ids(root, "обновлённая") == ["n-52"]
    assert check_index(root).sound


def test_only_one_merge_runs_at_a_time(tmp_path):
    root = build_index(tmp_path, [article(n) for n in range(3)])
    for batch in range(MERGE_FACTOR):
        add(root, tmp_path, [article(100 + batch)])
    results = []
    started, go_on = threading.Event(), threading.Event()

    def first() -> None:
        def hold() -> None:
            started.set()
            go_on.wait(30)

        results.append(merging.merge_once(root, written=hold))

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(30)
    assert merging.merge_once(root) is None  # the other one holds the merge lock
    go_on.set()
    thread.join()
    assert results[0] is not None


def test_update_merges_and_stats_lists_the_segments(tmp_path):
    root = build_index(tmp_path, [article(n) for n in range(3)])
    runner = CliRunner()
    said = ""
    for batch in range(MERGE_FACTOR):
        path = tmp_path / f"u{batch}.jsonl"
        path.write_text(json.dumps(article(200 + batch), ensure_ascii=False))
        done = runner.invoke(main, ["index", "update", str(path), "--index", str(root)])
        assert done.exit_code == 0, done.output
        said += done.stderr
    # The build and seven updates make eight segments of tier 0: merged into one.
    assert said.count("merged 8 segments (10 articles)") == 1
    stats = runner.invoke(main, ["index", "stats", "--index", str(root), "--json"])
    listed = json.loads(stats.stdout)["segments"]
    assert len(listed) == 2 and sum(s["documents"] for s in listed) == 3 + MERGE_FACTOR
    shown = runner.invoke(main, ["index", "stats", "--index", str(root)])
    assert "segments:  2" in shown.stdout and "tier 0" in shown.stdout
    merged = runner.invoke(main, ["index", "merge", "--index", str(root)])
    assert merged.exit_code == 0 and "0 merges; 2 segments now." in merged.stdout


def test_a_build_writes_a_segment_per_budget_of_text(tmp_path, monkeypatch):
    monkeypatch.setattr(indexer, "SEGMENT_TEXT_BYTES", 500)
    articles = [article(n) for n in range(30)]
    root = build_index(tmp_path, articles)
    infos = merging.segment_infos(root)
    assert len(infos) > 3 and sum(info.documents for info in infos) == 30
    assert len(ids(root, "погоде")) == 30
    assert ids(root, "метка17") == ["n-17"]
    assert check_index(root).sound


def rich_article(number: int) -> dict:
    """An article with every field, some of them left out by turns."""
    article = {
        "id": f"r-{number}",
        "title": f"Ёлки и ели в Подмосковье: выпуск {number}",
        # words at other positions and counted other times from article to article
        "text": "Снова " * (number % 4) + f"лесники пересчитали ёлки. В выпуске {number} — "
        f"о том, как растут ели, {'ели, ' * (number % 3)}"
        f"и о погоде (Mосква, латинская M). Метка{number}.",
        "url": f"https://news.example.ru/{number}",
        "source": ["ТАСС", "RT", "Интерфакс"][number % 3],
        "topic": ["Общество", "Наука"][number % 2],
    }
    if number % 2:
        article["summary"] = f"Краткое содержание выпуска {number}."
    if number % 3:
        article["date"] = f"20{10 + number % 12}-0{1 + number % 9}-1{number % 10}"
    if number % 4:
        article["tags"] = ["лес", f"выпуск {number}"]
    return article


def postings(reader) -> list:
    return [
        (field, term, docnum, weight, value)
        for field, term, docnum, weight, value in reader.iter_postings()
    ]


def document_rows(reader, schema) -> list:
    names = [name for name in schema.names() if schema[name].scorable]
    rows = []
    for docnum in range(reader.doc_count_all()):
        lengths = [reader.doc_field_length(docnum, name) for name in names]
        rows.append((reader.stored_fields(docnum), lengths))
    columns = {
        name: list(reader.column_reader(name, translate=False))
        for name in schema.names()
        if schema[name].column_type
    }
    return [rows, columns]


@pytest.mark.parametrize("block_limit", [codec.BLOCK_LIMIT, 3])
def test_a_merge_writes_the_segment_whooshs_add_reader_would(tmp_path, monkeypatch, block_limit):
    """``search.merge_writer`` copies posting lists a term at a time; Whoosh's own
    ``add_reader`` (posting by posting, pooled and sorted) is the reference. With 3
    postings a block, lists of many blocks are copied too."""
    from whoosh.index import open_dir
    from whoosh.reading import SegmentReader

    from search.durable import INDEX_NAME, create_durable

    monkeypatch.setattr(codec, "BLOCK_LIMIT", block_limit)
    root = build_index(tmp_path, [rich_article(n) for n in range(6)])
    for batch in range(MERGE_FACTOR - 1):
        add(root, tmp_path, [rich_article(10 + 3 * batch + k) for k in range(3)])
    indexer.delete(root, ["r-2", "r-14"])
    add(root, tmp_path, [rich_article(20) | {"title": "Заменённый выпуск"}])
    ix = merging.open_live(root)
    chosen = merging.TOC.read(ix.storage, INDEX_NAME).segments
    assert any(segment.has_deletions() for segment in chosen)
    made = {}
    for way in ("merge_writer", "add_reader"):
        scratch = tmp_path / way
        scratch.mkdir()
        if way == "merge_writer":
            segment = merging._write_merged(ix, chosen, scratch)
        else:
            target = create_durable(scratch, ix.schema)
            writer = target.writer(codec=codec.NewsCodec())
            for source in chosen:
                with SegmentReader(ix.storage, ix.schema, source) as reader:
                    writer.add_reader(reader)
            writer.commit(merge=False)
            (segment,) = merging.TOC.read(target.storage, INDEX_NAME).segments
        reader = SegmentReader(open_dir(scratch, indexname=INDEX_NAME).storage, ix.schema, segment)
        terms = {
            name: [(term, reader.doc_frequency(name, term)) for term in reader.lexicon(name)]
            for name in ix.schema.names()
            if ix.schema[name].indexed
        }
        made[way] = (
            postings(reader),
            terms,
            document_rows(reader, ix.schema),
            segment.doc_count_all(),
        )
        reader.close()
    assert made["merge_writer"][3] == 6 + 3 * (MERGE_FACTOR - 1) + 1 - 3  # r-20 replaced, 2 deleted
    assert len(made["merge_writer"][0]) > 1_000
    longest = max(count for field in made["add_reader"][1].values() for _, count in field)
    assert longest > 3 * block_limit or block_limit == codec.BLOCK_LIMIT
    assert made["merge_writer"] == made["add_reader"]


def test_a_merge_keeps_the_articles_in_index_order_so_ties_keep_their_order(tmp_path):
    root = build_index(tmp_path, [article(n) for n in range(FLOOR_DOCS + 20)])  # tier 1
    for batch in range(MERGE_FACTOR):  # then smaller and smaller updates
        first = 1_000 + 10 * batch
        add(root, tmp_path, [article(first + k) for k in range(MERGE_FACTOR - batch)])

    def in_order() -> list[str]:
        engine, found = SearchEngine(root), []
        for page in (1, 2, 3):
            result = engine.search(SearchRequest(q="погоде", per_page=100, page=page))
            found += [hit.id for hit in result.hits]
        return found

    before = in_order()
    report = merging.merge_once(root)
    assert report is not None and len(report.merged) == MERGE_FACTOR
    assert in_order() == before
    assert merging.segment_infos(root)[1].segment_id == report.into


def test_a_large_merge_holds_up_no_small_one(tmp_path, monkeypatch):
    """Merges run in two lanes: those of tier 0 go on while one of larger segments is
    written (in the 1M stream one of 10,462 articles took 339 s, and 186 small segments
    waited for it)."""
    monkeypatch.setattr(merging, "FLOOR_DOCS", 4)  # tier 0: up to 4 articles
    root = build_index(tmp_path, [article(n) for n in range(3)])
    for batch in range(MERGE_FACTOR):  # 8 segments of tier 1: a large merge
        add(root, tmp_path, [article(100 + 5 * batch + k) for k in range(5)])
    large_started, go_on, results = threading.Event(), threading.Event(), []

    def hold() -> None:
        large_started.set()
        assert go_on.wait(60)

    thread = threading.Thread(
        target=lambda: results.append(merging.merge_once(root, written=hold, lane="large"))
    )
    thread.start()
    try:
        assert large_started.wait(60)
        assert merging.merge_once(root, lane="large") is None  # one a lane
        for number in range(MERGE_FACTOR - 1):  # with the build, 8 segments of tier 0
            add(root, tmp_path, [article(500 + number)])
        small = merging.merge_once(root, lane="small")
        assert small is not None and len(small.merged) == MERGE_FACTOR and small.documents == 10
    finally:
        go_on.set()
        thread.join()
    assert results[0] is not None and results[0].documents == 40
    assert len(merging.segment_infos(root)) == 2
    assert len(ids(root, "погоде")) == 3 + 40 + 7
    assert check_index(root).sound
    assert merging.merge_while_needed(root) == []


def test_a_merged_segment_has_its_arrays_beside_the_live_ones_when_it_goes_live(
    tmp_path, monkeypatch
):
    """Kept before the swap, so that a server reopening at once finds them (after it, a
    reopen could beat the writer to them and build them while its search waited)."""
    from search import frequent, layout, segments

    root = build_index(tmp_path, [article(n) for n in range(3)])
    for batch in range(MERGE_FACTOR):
        add(root, tmp_path, [article(100 + batch)])
    monkeypatch.setattr(segments, "keep", lambda ix: None)  # the writer's keeping after it
    monkeypatch.setattr(frequent, "keep", lambda ix: None)
    report = merging.merge_once(root)
    assert report is not None and report.into is not None
    kept = layout.arrays_dir(layout.open_live(root)) / report.into
    assert (kept / "meta.json").is_file() and (kept / frequent.FOLDER / "meta.json").is_file()
    assert not list((layout.live_dir(root)).glob("merging-*"))
    assert len(ids(root, "погоде")) == 3 + MERGE_FACTOR
