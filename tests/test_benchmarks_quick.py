"""Quick mode of the peer benchmark: a 200-article sample through the real harness.

Checks the shape of the results and that every engine finds relevant articles; never timings.
Needs the shared corpus (``../shared`` next to the project), else the module is skipped.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

# ``benchmarks`` is not an installed package: make it importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.evaluate import (
    load_corpus,
    load_judgements,
    mrr_recall,
    percentile,
    sample_corpus,
    score_engine,
)
from benchmarks.harness import benchmark_engine, format_report
from benchmarks.peers import PostgresEngine, make_peer
from benchmarks.run_peers import run_peers

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared"
CORPUS = SHARED / "corpus"
JUDGEMENTS = SHARED / "eval" / "known-item.jsonl"

if not (CORPUS.is_dir() and any(CORPUS.glob("*.jsonl.gz")) and JUDGEMENTS.is_file()):
    pytest.skip(f"shared corpus and judgements not found under {SHARED.resolve()}",
                allow_module_level=True)

KINDS = {"inflected", "lead", "yo", "layout", "typo"}


@pytest.fixture(scope="module")
def sample() -> tuple[list[dict], list[dict]]:
    return sample_corpus(load_corpus(CORPUS), load_judgements(JUDGEMENTS), 200, seed=0)


def test_sample_keeps_only_judgements_it_can_answer(sample):
    articles, judgements = sample
    ids = {a["id"] for a in articles}
    assert len(articles) == 200 and len(ids) == 200
    assert judgements, "the sample must hold judged articles"
    assert all(set(j["relevant"]) <= ids for j in judgements)
    assert {j["kind"] for j in judgements} == KINDS


def test_scoring_functions():
    assert mrr_recall(["a", "b", "c"], ["b"]) == (0.5, 1.0)
    assert mrr_recall(["a"] * 10 + ["b"], ["b"]) == (0.0, 0.0)
    assert mrr_recall(["x", "b"], ["a", "b"]) == (0.5, 0.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    scores = score_engine(lambda q: ["a", "b"] if q == "one" else [],
                          [{"qid": "1", "kind": "k", "query": "one", "relevant": ["b"]},
                           {"qid": "2", "kind": "k", "query": "two", "relevant": ["b"]}])
    assert scores["by_kind"]["k"] == {"n": 2, "mrr": 0.25, "recall": 0.5}
    assert scores["by_kind"]["all"] == scores["by_kind"]["k"]
    assert len(scores["latencies_ms"]) == 2


def test_replicated_corpus_keeps_original_ids(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for i in range(3):
            fh.write(json.dumps({"id": f"rt-{i}", "title": "t", "text": "x"}) + "\n")
    ids = [a["id"] for a in load_corpus(tmp_path, limit=2, scale=2)]
    assert ids == ["rt-0", "rt-1", "rt-0#2", "rt-1#2"]


def test_postgres_unavailable_is_explained():
    ok, reason = PostgresEngine.available("/nonexistent/bin")
    assert not ok and "initdb" in reason


def _check_result(result: dict, n_articles: int, n_queries: int) -> None:
    assert result["docs"] == n_articles
    assert result["build_s"] > 0 and result["docs_per_s"] > 0
    assert result["size_bytes"] > 0
    by_kind = result["by_kind"]
    assert set(by_kind) == KINDS | {"all"}
    assert by_kind["all"]["n"] == n_queries
    for stats in by_kind.values():
        assert 0.0 <= stats["mrr"] <= 1.0 and 0.0 <= stats["recall"] <= 1.0
    lat = result["latency_ms"]
    assert lat["n"] == n_queries and 0 <= lat["p50"] <= lat["p95"] <= lat["max"]
    json.dumps(result)  # JSON-ready


ENGINES = [
    "tantivy",
    "whoosh",
    pytest.param("pg", marks=pytest.mark.skipif(not PostgresEngine.available()[0],
                                                reason=PostgresEngine.available()[1])),
]


@pytest.mark.parametrize("short", ENGINES)
def test_engine_through_harness(short, sample):
    articles, judgements = sample
    engine = make_peer(short)
    try:
        result = benchmark_engine(engine, articles, judgements)
        # A layout query is not valid query syntax anywhere: it must not raise.
        assert isinstance(engine.search("g`hk-[fh,jhs \"(:", 10), list)
        assert engine.search("", 10) == []
    finally:
        engine.close()
    _check_result(result, len(articles), len(judgements))
    by_kind = result["by_kind"]
    assert by_kind["all"]["mrr"] > 0 and by_kind["yo"]["mrr"] > 0
    if short == "tantivy":
        assert by_kind["inflected"]["mrr"] > 0


def test_engine_close_removes_its_files(sample):
    engine = make_peer("tantivy")
    directory = engine._dir
    engine.build(sample[0][:10])
    engine.close()
    engine.close()  # twice is fine
    assert not directory.exists()


def test_run_peers_report(sample):
    articles, judgements = sample
    messages: list[str] = []
    results = run_peers(["tantivy"], articles[:50], judgements, log=messages.append)
    assert [r["engine"] for r in results] == ["tantivy"]
    report = format_report(results)
    assert "tantivy" in report and "inflected" in report
    assert messages
