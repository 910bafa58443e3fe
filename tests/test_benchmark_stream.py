"""The live-stream benchmark end to end, small: a real server over a small index, 40 generated
articles fed at 2 a second for 20 s under a light load (slow tier: it runs for about 40 s).

Only what the run must always give is checked: every figure of the report, every article found
after its ack, no 5xx. Latencies and the issue's targets depend on the machine and are not
asserted.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, build_index

from benchmarks.evaluate import load_corpus
from benchmarks.newsgen import generate_articles
from benchmarks.stream import main

ARTICLES = 40
FIGURES = {
    "quiet", "stream", "p95_ratio", "max_request_ms", "over_1s", "server_errors", "batches",
    "articles", "indexed", "found", "missing", "searchable_s", "update_s", "segments",
    "segments_before", "segments_max", "segments_final", "segments_waiting_max", "targets",
    "error",
}  # fmt: skip
TARGETS = {
    "searchable_within_3s", "p95_within_1_5x_quiet", "no_request_over_1s", "segments_bounded"
}  # fmt: skip


@pytest.mark.corpus
def test_every_streamed_article_is_found_and_reported(tmp_path: Path):
    root = build_index(tmp_path / "served", generate_articles(200))
    sample = tmp_path / "corpus"
    sample.mkdir()
    with gzip.open(sample / "sample.jsonl.gz", "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in load_corpus(CORPUS, 400))
    report = tmp_path / "stream.json"
    options = ["--rate", "2", "--minutes", str(ARTICLES / 2 / 60), "--concurrency", "2"]
    options += ["--workers", "1", "--quiet-seconds", "3", "--corpus", str(sample)]
    outcome = CliRunner().invoke(
        main, ["--index", str(root), *options, "--json", str(report)], catch_exceptions=False
    )
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(report.read_text(encoding="utf-8"))
    assert set(result) >= FIGURES and set(result["targets"]) == TARGETS
    assert result["error"] is None
    assert result["articles"] == result["indexed"] == result["found"] == ARTICLES
    assert result["missing"] == 0 and result["server_errors"] == 0
    assert result["searchable_s"]["n"] == ARTICLES
    assert result["quiet"]["requests"] > 0 and result["stream"]["requests"] > 0
    assert len(result["segments"]) == result["batches"] >= 5
    assert result["segments_before"] >= 1 and result["segments_max"] >= result["segments_final"]
    slowest = result["stream"]["slowest"]
    assert slowest and [row["ms"] for row in slowest] == sorted(
        (r["ms"] for r in slowest), reverse=True
    )
    assert slowest[0]["ms"] == pytest.approx(result["stream"]["latency_ms"]["max"], abs=0.1)
    assert all(row["request"].startswith("/api/search?q=") for row in slowest)
    for label in (
        "quiet latency",
        "stream latency",
        "ack→searchable",
        "segments",
        "5xx",
        "Slowest",
    ):
        assert label in outcome.output
