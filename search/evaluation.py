"""Known-item evaluation: MRR@10 and recall@10 per query kind, via the shared search function."""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from search.searching import SearchEngine, SearchRequest

K = 10


def load_judgements(path: Path) -> list[dict]:
    """One ``{"qid", "kind", "query", "relevant": [ids]}`` object a line."""
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def evaluate(engine: SearchEngine, judgements: list[dict]) -> dict:
    """Scores per kind and overall, with wall-clock latency of each search call."""
    per_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    latencies: list[float] = []
    for judgement in judgements:
        started = time.perf_counter()
        result = engine.search(SearchRequest(q=judgement["query"], per_page=K))
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [hit.id for hit in result.hits]
        relevant = set(judgement["relevant"])
        rank = next((i for i, doc_id in enumerate(ids, 1) if doc_id in relevant), None)
        per_kind[judgement["kind"]].append((1 / rank if rank else 0.0, 1.0 if rank else 0.0))
    kinds = {kind: _scores(values) for kind, values in sorted(per_kind.items())}
    kinds["all"] = _scores([v for values in per_kind.values() for v in values])
    return {
        "queries": len(judgements),
        "kinds": kinds,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else 0.0,
            "p95": round(percentile(latencies, 95), 2),
        },
    }


def _scores(values: list[tuple[float, float]]) -> dict:
    n = len(values)
    return {
        "n": n,
        "mrr@10": round(sum(v[0] for v in values) / n, 4) if n else 0.0,
        "recall@10": round(sum(v[1] for v in values) / n, 4) if n else 0.0,
    }


def format_table(report: dict) -> str:
    lines = ["| kind | n | MRR@10 | recall@10 |", "|---|---|---|---|"]
    for kind, scores in report["kinds"].items():
        lines.append(
            f"| {kind} | {scores['n']} | {scores['mrr@10']:.3f} | {scores['recall@10']:.3f} |"
        )
    latency = report["latency_ms"]
    lines.append("")
    lines.append(f"latency p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms")
    return "\n".join(lines)
