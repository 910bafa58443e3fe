"""Background merging: the tiered policy, a stream of small updates kept to a bounded
number of segments, and deletions made while a merge runs carried into its segment."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from click.testing import CliRunner

from search import indexer, merging
from search.check import check_index
from search.cli import main
from search.merging import FLOOR_DOCS, MERGE_FACTOR, SegmentInfo, choose, tier
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


def test_the_policy_merges_a_full_tier_smallest_first():
    small = [SegmentInfo(f"s{i}", 10 + i, 0) for i in range(MERGE_FACTOR + 2)]
    big = [SegmentInfo("big", 50_000, 0)]
    assert choose(small[: MERGE_FACTOR - 1] + big) == []
    assert choose(small + big) == [f"s{i}" for i in range(MERGE_FACTOR)]


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
    assert report is not None and len(report.merged) == MERGE_FACTOR
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
