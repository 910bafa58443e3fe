"""Run one engine through the benchmark (build, size, relevance, latency) and format reports.

Engine-agnostic: anything implementing :class:`~benchmarks.engine.Engine` can be measured,
so our own engine plugs in next to the peers.
"""

from __future__ import annotations

import time

from benchmarks.engine import Engine
from benchmarks.evaluate import ALL, percentile, score_engine

MB = 1_000_000

#: The untimed first query of every engine: common words, not one of the judged queries.
WARM_UP_QUERY = "новости россии"


def benchmark_engine(
    engine: Engine, articles: list[dict], judgements: list[dict], k: int = 10
) -> dict:
    """Build ``engine`` on ``articles`` (timed as a whole) and score it on ``judgements``.

    An engine may have a ``prepare(articles)`` method for input conversion that is not indexing
    (ours reads a JSON Lines file, as its ``index build`` command does): it runs before the
    clock starts. One query that is not judged runs before the timed ones, so that opening
    the index (loading ranking arrays, warming caches) is reported as ``first_query_ms``
    instead of landing in the latency percentiles of the first judged query.

    The engine is not closed here: whoever created it closes it. The result is JSON-ready::

        {"engine", "docs", "build_s", "docs_per_s", "size_bytes", "size_mb", "first_query_ms",
         "by_kind": {kind: {"n", "mrr", "recall"}, ..., "all": {...}},
         "latency_ms": {"n", "p50", "p95", "p99", "mean", "max"}, "extra": {...}}
    """
    prepare = getattr(engine, "prepare", None)
    if callable(prepare):
        prepare(articles)
    started = time.perf_counter()
    engine.build(articles)
    build_s = time.perf_counter() - started
    size = engine.size_bytes()
    started = time.perf_counter()
    engine.search(WARM_UP_QUERY, k)
    first_query_ms = (time.perf_counter() - started) * 1000.0
    scores = score_engine(lambda query: engine.search(query, k), judgements, k)
    latencies = scores["latencies_ms"]
    extra_stats = getattr(engine, "extra_stats", None)
    return {
        "engine": engine.name,
        "docs": len(articles),
        "build_s": build_s,
        "docs_per_s": len(articles) / build_s if build_s > 0 else float("inf"),
        "size_bytes": size,
        "size_mb": size / MB,
        "first_query_ms": first_query_ms,
        "by_kind": scores["by_kind"],
        "latency_ms": latency_summary(latencies),
        "extra": extra_stats() if callable(extra_stats) else {},
    }


def latency_summary(latencies_ms: list[float]) -> dict:
    """p50/p95/p99/mean/max of per-query latencies (all 0 when there were no queries)."""
    if not latencies_ms:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "n": len(latencies_ms),
        "p50": percentile(latencies_ms, 50),
        "p95": percentile(latencies_ms, 95),
        "p99": percentile(latencies_ms, 99),
        "mean": sum(latencies_ms) / len(latencies_ms),
        "max": max(latencies_ms),
    }


def format_report(results: list[dict]) -> str:
    """Two plain-text tables: speed and size per engine, then MRR@10 / recall@10 per kind."""
    done = [r for r in results if "skipped" not in r]
    header = (
        f"{'engine':<14} {'docs':>7} {'build s':>8} {'docs/s':>8} {'size MB':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'MRR all':>8}"
    )
    lines = [header]
    for r in done:
        lat = r["latency_ms"]
        mrr_all = r["by_kind"].get(ALL, {}).get("mrr", 0.0)
        lines.append(
            f"{r['engine']:<14} {r['docs']:>7} {r['build_s']:>8.1f} "
            f"{r['docs_per_s']:>8.0f} {r['size_mb']:>8.1f} {lat['p50']:>7.2f} "
            f"{lat['p95']:>7.2f} {mrr_all:>8.3f}"
        )
    for r in results:
        if "skipped" in r:
            lines.append(f"{r['engine']:<14} skipped: {r['skipped']}")
    if done:
        kinds = list(dict.fromkeys(kind for r in done for kind in r["by_kind"]))
        lines += [
            "",
            "MRR@10 / recall@10 per kind (n = queries)",
            f"{'kind':<10} {'n':>5} " + " ".join(f"{r['engine']:>15}" for r in done),
        ]
        for kind in kinds:
            n = max(r["by_kind"].get(kind, {}).get("n", 0) for r in done)
            cells = []
            for r in done:
                s = r["by_kind"].get(kind)
                cells.append(f"{s['mrr']:.3f} / {s['recall']:.3f}" if s else "-")
            lines.append(f"{kind:<10} {n:>5} " + " ".join(f"{c:>15}" for c in cells))
    return "\n".join(lines)
