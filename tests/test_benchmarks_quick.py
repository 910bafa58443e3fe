"""Quick mode of the benchmarks: small samples through the real harness, the one command
(``benchmarks.run``: ours and the peers at two scales, the server under load, the report) and
the server benchmark.

Checks the shape of the results, that every engine finds relevant articles and that the report
is written; never timings. Needs the shared corpus (``../shared`` next to the project), else
the module is skipped. PostgreSQL runs when its Debian binaries are installed (as in CI).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import time
from pathlib import Path

import pytest

from benchmarks.evaluate import (
    load_corpus,
    load_judgements,
    mrr_recall,
    percentile,
    sample_corpus,
    score_engine,
)
from benchmarks.harness import benchmark_engine, format_report
from benchmarks.ours import OursEngine
from benchmarks.peers import PostgresEngine, make_peer
from benchmarks.quiet import CpuMeter, background_cpu, wait_until_quiet
from benchmarks.report import _ratio, cpu_model, machine_info, render_markdown
from benchmarks.run import ENGINES as RUN_NAMES
from benchmarks.run import main as run_main
from benchmarks.run import run_benchmarks
from benchmarks.run_peers import run_peers
from benchmarks.server import read_memory, search_paths

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared"
CORPUS = SHARED / "corpus"
JUDGEMENTS = SHARED / "eval" / "known-item.jsonl"

if not (CORPUS.is_dir() and any(CORPUS.glob("*.jsonl.gz")) and JUDGEMENTS.is_file()):
    pytest.skip(
        f"shared corpus and judgements not found under {SHARED.resolve()}", allow_module_level=True
    )

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
    scores = score_engine(
        lambda q: ["a", "b"] if q == "one" else [],
        [
            {"qid": "1", "kind": "k", "query": "one", "relevant": ["b"]},
            {"qid": "2", "kind": "k", "query": "two", "relevant": ["b"]},
        ],
    )
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
    pytest.param(
        "pg",
        marks=pytest.mark.skipif(
            not PostgresEngine.available()[0], reason=PostgresEngine.available()[1]
        ),
    ),
]


@pytest.mark.parametrize("short", ENGINES)
def test_engine_through_harness(short, sample):
    articles, judgements = sample
    engine = make_peer(short)
    try:
        result = benchmark_engine(engine, articles, judgements)
        # A layout query is not valid query syntax anywhere: it must not raise.
        assert isinstance(engine.search('g`hk-[fh,jhs "(:', 10), list)
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


# --- our engine ------------------------------------------------------------------------------


def test_ours_finds_what_peers_cannot_and_cleans_up(sample):
    articles, judgements = sample
    judged = [j for j in judgements if j["kind"] in ("layout", "typo")][:10]
    wanted = {rid for j in judged for rid in j["relevant"]}
    subset = [a for a in articles if a["id"] in wanted] + [
        a for a in articles if a["id"] not in wanted
    ][:20]
    engine = OursEngine()
    tmp = engine._tmp
    try:
        result = benchmark_engine(engine, subset, judged)
        assert isinstance(engine.search('g`hk-[fh,jhs "(:', 10), list)  # must not raise
        assert all(isinstance(i, str) for i in engine.search("россия", 10))
    finally:
        engine.close()
        engine.close()  # twice is fine
    assert not tmp.exists()
    assert result["docs"] == len(subset) and result["size_bytes"] > 0
    assert result["first_query_ms"] > 0
    assert result["by_kind"]["all"]["n"] == len(judged)
    # Layout and typo queries are what our correction is for; the peers score ~0 on them.
    assert result["by_kind"]["all"]["mrr"] > 0.5


# --- the one command -------------------------------------------------------------------------

RUN_ENGINES = ["ours", "tantivy", "whoosh"] + (["pg"] if PostgresEngine.available()[0] else [])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[dict, Path, Path]:
    """``benchmarks.run`` in quick mode: 60 articles at 1x and 2x, the server with a few dozen
    requests, the report and the JSON written to a temporary folder."""
    out = tmp_path_factory.mktemp("bench")
    started = time.perf_counter()
    report, raw = out / "RESULTS.md", out / "out" / "results.json"
    data = run_benchmarks(
        CORPUS,
        JUDGEMENTS,
        scales=[2, 1],
        engines=RUN_ENGINES,
        sample=60,
        server_requests=24,
        concurrency=[1, 4],
        json_path=raw,
        out_path=report,
        command="quick",
        quiet_check_s=0.05,
        max_wait_s=0,
        log=lambda msg: print(f"{time.perf_counter() - started:5.1f} s {msg}"),
    )
    return data, report, raw


def test_quick_run_measures_every_engine_at_every_scale(quick_run):
    data, _, _ = quick_run
    assert [run["scale"] for run in data["scales"]] == [1, 2]
    one, two = data["scales"]
    assert [r["engine"] for r in one["results"]] == [
        RUN_NAMES[e] for e in RUN_NAMES if e in RUN_ENGINES
    ]
    for run in data["scales"]:
        for result in run["results"]:
            if result["engine"] == "whoosh-stock" and run["scale"] == 2:
                assert "1×" in result["skipped"]  # stock Whoosh only up to 1x by default
                continue
            _check_result(result, run["docs"], run["queries"])
            assert result["by_kind"]["all"]["mrr"] > 0
    assert two["docs"] == 2 * one["docs"] and two["queries"] == one["queries"]
    ours = {run["scale"]: run["results"][0] for run in data["scales"]}
    assert ours[1]["engine"] == "ours" and ours[1]["by_kind"]["layout"]["mrr"] > 0
    assert data["meta"]["heldout"]["queries"] > 0  # fresh queries on the unjudged articles
    for result in one["results"]:
        assert result["heldout_by_kind"]["all"]["n"] == data["meta"]["heldout"]["queries"]
    assert all("heldout_by_kind" not in result for result in two["results"])
    topical = data["meta"]["topical"]
    assert topical["queries"] > 0  # shared tags with two or more articles in the sample
    for result in one["results"]:
        assert result["topical"]["all"]["n"] == topical["queries"]
        assert 0 < result["topical"]["all"]["ndcg@10"] <= 1
    assert all("topical" not in result for result in two["results"])
    assert [p["scale"] for p in data["profiles"]] == [1, 2]
    assert data["profiles"][0]["inclusive"] and data["profiles"][0]["self"]


def test_quick_run_server(quick_run):
    server = quick_run[0]["server"]
    assert server["docs"] == 60
    assert [level["concurrency"] for level in server["levels"]] == [1, 4]
    for level in server["levels"]:
        assert level["requests"] == 24 and level["errors"] == 0, level["error_examples"]
        assert level["rps"] > 0 and 0 < level["latency_ms"]["p50"] <= level["latency_ms"]["p95"]
        assert level["memory"]["rss_bytes"] > 0
        assert level["memory"]["hwm_bytes"] >= level["memory"]["rss_bytes"]
    assert not Path(f"/proc/{server['pid']}").exists(), "the server must be stopped"


def test_quick_run_report_and_json(quick_run):
    data, report, raw = quick_run
    assert json.loads(raw.read_text(encoding="utf-8")) == json.loads(json.dumps(data))
    text = report.read_text(encoding="utf-8")
    assert text == render_markdown(data)
    for needle in (
        "# Benchmark results",
        "Quick mode",
        "## Targets",
        "## Scaling",
        "held-out queries at 1×",
        "### Topical relevance at 1×",
        "judgements: nDCG@10",
        "## Server",
        "## Where our query time goes",
        "postgresql" if "pg" in RUN_ENGINES else "tantivy",
        "whoosh-stock",
        "rt-123#2",
        "| layout |",
        cpu_model(),
        f"{os.cpu_count()} cores",
    ):
        assert needle in text, needle
    # No absolute path of this machine (a relative one, ../../work/shared from a checkout
    # outside /work, is fine).
    text = re.sub(r"(?:\.\./)+work/", "", text.replace(str(CORPUS.resolve()), ""))
    assert "/work/" not in text


def test_report_regenerates_from_json(quick_run, tmp_path):
    from click.testing import CliRunner

    from benchmarks.report import main as report_main

    _, report, raw = quick_run
    again = tmp_path / "again.md"
    outcome = CliRunner().invoke(report_main, [str(raw), "--out", str(again)])
    assert outcome.exit_code == 0, outcome.output
    assert again.read_text(encoding="utf-8") == report.read_text(encoding="utf-8")


def test_run_rejects_bad_options():
    from click.testing import CliRunner

    for args in (["--engines", "nope"], ["--scales", "0"], ["--engines", "tantivy"]):
        outcome = CliRunner().invoke(run_main, args)
        assert outcome.exit_code == 2, (args, outcome.output)


def test_helpers():
    assert _ratio(2.0, 1.0) == "2.00×" and _ratio(1.0, 0.0) == "∞" and _ratio(0.0, 0.0) == "–"
    memory = read_memory(os.getpid())
    assert memory["hwm_bytes"] >= memory["rss_bytes"] > 0
    own, mapped = memory["pss_anon_bytes"], memory["pss_file_bytes"]
    assert own > 0 and mapped > 0 and own + mapped <= memory["pss_bytes"]
    assert read_memory(2**22 + 12345) == {}
    paths = search_paths(["а б", "в"], 3)
    assert paths == [
        "/api/search?q=%D0%B0+%D0%B1&per_page=10",
        "/api/search?q=%D0%B2&per_page=10",
        "/api/search?q=%D0%B0+%D0%B1&per_page=10",
    ]
    info = machine_info()
    assert info["cpus"] == os.cpu_count() and info["ram_bytes"] > 0


def test_load_measurement():
    share = background_cpu(0.05)
    assert share is None or 0.0 <= share <= 1.0
    assert background_cpu(0) is None
    share, waited = wait_until_quiet(0.05, max_wait_s=0)
    assert waited < 5 and (share is None or 0.0 <= share <= 1.0)
    meter = CpuMeter()
    sum(i * i for i in range(200_000))  # our own work does not count as others'
    others = meter.others_share()
    assert others is None or 0.0 <= others <= 1.0


def test_profile_samplers():
    from benchmarks.profiling import profile_calls

    def busy(query: str) -> int:
        return sum(len(query) * i for i in range(20_000))

    summary = profile_calls(busy, ["а", "бб"] * 20, sampler="pyinstrument")
    assert summary["sampler"] == "pyinstrument" and summary["queries"] == 40
    assert summary["inclusive"] and all(0 <= pct <= 100 for _, pct in summary["self"])


def test_the_server_benchmark_needs_an_existing_index(tmp_path):
    """`serve` builds the seed article into a missing folder: measured, it would pass off a
    one-article index as the one asked for."""
    from click.testing import CliRunner

    from benchmarks.server import main as server_main

    outcome = CliRunner().invoke(server_main, ["--index", str(tmp_path / "missing")])
    assert outcome.exit_code == 2 and "does not exist" in outcome.output
    assert not (tmp_path / "missing").exists()


def test_a_stopped_server_benchmark_stops_its_server(tmp_path):
    """SIGTERM to the benchmark (``kill``, a timeout) stops the server it started, instead
    of leaving it to take the CPUs of whatever runs next."""
    import signal
    import subprocess
    import sys

    from benchmarks.server import process_tree
    from search import indexer
    from tests.conftest import SEEDS

    index = tmp_path / "index"
    indexer.build(index, [SEEDS])
    bench = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--index", str(index),
         "--requests", "1000000", "--concurrency", "1", "--workers", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert bench.stderr is not None
    try:
        # It logs each level when done: wait until the server is up and answering.
        deadline = time.monotonic() + 60
        while len(process_tree(bench.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)  # the benchmark, gunicorn's arbiter and its worker
        time.sleep(1.0)
        tree = process_tree(bench.pid)
        assert len(tree) >= 3, tree
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if bench.poll() is None:
            bench.kill()
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in tree if Path(f"/proc/{pid}").exists()], bench.stderr.read()


def test_ranking_experiments_rank_as_the_engine_does_and_score_every_variant(tmp_path, sample):
    """The experiments start from the engine's own ranking (the same hits as a search) and
    every variant gives measures for topical and known-item queries."""
    from benchmarks import ranking_experiments
    from benchmarks.heldout import tag_counts
    from search import indexer
    from search.searching import SearchEngine, SearchRequest
    from tests.conftest import write_jsonl

    articles, judgements = sample
    root = tmp_path / "index"
    indexer.build(root, [write_jsonl(tmp_path / "a.jsonl", articles)], tags=False)
    engine = SearchEngine(root)
    tagged = sorted(tag_counts(articles).items(), key=lambda item: -len(item[1]))[:4]
    topical = [
        {"qid": f"t{n}", "kind": "topical", "query": tag, "relevant": ids}
        for n, (tag, ids) in enumerate(tagged)
    ]
    for judgement in topical + judgements[:6]:
        query = judgement["query"]
        hits = engine.search(SearchRequest(q=query, per_page=10)).hits
        expected = [[hit.id, *(copy.id for copy in hit.duplicates)] for hit in hits]
        assert ranking_experiments.baseline(engine, query, 10) == expected, query
    assert any(sum(ranking_experiments.baseline(engine, j["query"], 10), []) for j in topical)
    for name, variant in ranking_experiments.VARIANTS.items():
        for these, depth in ((topical, 100), (judgements[:6], 10)):
            figures = ranking_experiments.score(engine, variant, these, depth)
            assert figures["n"] == len(these), name
            assert all(0.0 <= v <= 1.0 for k, v in figures.items() if "@" in k), (name, figures)
