"""The generated-scale benchmark end to end, small (slow tier: about a minute): our build of a
generated file with its process tree's memory, the server with one and two workers, the
reopen, tantivy (and PostgreSQL where its binaries are installed, as in CI) on the same file,
the reuse of a kept build and the report's section.

Shapes and counts only: timings and the issue's targets depend on the machine.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import require_corpus

from benchmarks.evaluate import read_jsonl_gz
from benchmarks.generated import BUILD_FIGURES, kept_build, scale_run
from benchmarks.newsgen import generate_articles
from benchmarks.peers import PostgresEngine
from benchmarks.report import format_generated

ARTICLES = 120


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("generated") / "gen.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(
            json.dumps(a, ensure_ascii=False) + "\n" for a in generate_articles(ARTICLES)
        )
    return path


@pytest.mark.slow
@pytest.mark.corpus
def test_every_step_reports_and_a_kept_build_is_reused(source: Path, tmp_path: Path):
    require_corpus()
    assert sum(1 for _ in read_jsonl_gz(source)) == ARTICLES
    peers = ["tantivy"] + (["pg"] if PostgresEngine.available()[0] else [])
    queries = ["дороги", "новости спорта", "выборы"]
    index = tmp_path / "index"
    run = scale_run(
        source,
        index,
        peers,
        queries,
        log=lambda _: None,
        requests=20,
        reopen_rounds=1,
        max_wait_s=0,
    )

    build = run["build"]
    assert build["documents"] == ARTICLES and build["segments"] >= 1
    assert build["peak_rss_bytes"] > 0 and build["samples"] >= 1
    assert kept_build(source, index) == build and (index / BUILD_FIGURES).is_file()
    for workers in (1, 2):
        server = run[f"server_{workers}"]
        assert server["workers"] == workers and server["docs"] == ARTICLES
        levels = {level["concurrency"]: level for level in server["levels"]}
        assert set(levels) == {1, 4}
        assert all(
            level["errors"] == 0 and level["memory"]["pss_bytes"] > 0 for level in levels.values()
        )
    reopen = run["reopen"]
    assert reopen["documents"] == ARTICLES and reopen["rounds"] == 1
    assert reopen["reopen_ms"] and reopen["pss_bytes"] > 0
    assert [p["documents"] for p in run["peers"]] == [ARTICLES] * len(peers)
    assert all(p["latency_ms"]["p95"] >= p["latency_ms"]["p50"] > 0 for p in run["peers"])

    again = scale_run(
        source, index, [], queries, log=lambda _: None, requests=5, reopen_rounds=0, max_wait_s=0
    )
    assert again["build"] == build  # reused, not rebuilt

    table = "\n".join(format_generated([run]))
    assert f"{ARTICLES:,} generated" in table and "full build" in table
    assert "reopen after a 10-article update" in table
    assert all(p["engine"] in table for p in run["peers"])
