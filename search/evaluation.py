"""Relevance evaluation through the shared search function, per query kind.

Two sorts of judgement files (``../shared/eval/README.md``): known-item, where each query has
the one article it must find (MRR@10 and hit@10: the share of queries whose article is in the
first 10), and topical, where each query is an editor tag and every article with the tag is
relevant (nDCG@10 with binary gains, P@10, AP@100, and MRR@10 and recall@10 beside them). A
kind is topical when any of its queries has more than one relevant article; its queries are
searched 100 deep, the known-item ones 10.

The measures are computed by ir-measures over trec_eval (pytrec_eval), the reference
implementation, not by hand. One adjustment: trec_eval's AP@100 divides by every relevant
article, while the shared README divides by min(relevant, 100), so that a tag of 300 articles
can reach 1.0 in 100 hits; the library's figure is rescaled by relevant / min(relevant, 100)
(the sum of precisions is the library's).

Topical judgements come from the editors' ``tags``: scored on an index that holds the tags,
an engine that matches tags would be judged against its own input. ``tagged_articles`` says
whether the judged articles carry tags, for the warning of ``news-search eval``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import ir_measures
from ir_measures import AP, RR, R, Success, nDCG
from ir_measures import P as Precision

from search.searching import SearchEngine, SearchRequest

K = 10
DEPTH = 100  # hits read for a topical query (AP@100)
AP_DEPTH = 100
#: Our names of the library's measures, in the order of the tables.
KNOWN_ITEM_MEASURES = {"mrr@10": RR @ K, "hit@10": Success @ K}
TOPICAL_MEASURES = {
    "ndcg@10": nDCG @ K,
    "p@10": Precision @ K,
    "ap@100": AP @ AP_DEPTH,
    "mrr@10": RR @ K,
    "recall@10": R @ K,
}
ALL = "all"
TAG_PROBE = 30  # relevant articles looked up to tell whether the index holds tags


def load_judgements(path: Path) -> list[dict]:
    """One ``{"qid"?, "kind", "query", "relevant": [ids]}`` object a line (topical files
    have no qid: the line number stands for it)."""
    with open(path, encoding="utf-8") as lines:
        judgements = [json.loads(line) for line in lines if line.strip()]
    for number, judgement in enumerate(judgements, 1):
        judgement.setdefault("qid", f"{judgement['kind']}-{number}")
    return judgements


def topical_kinds(judgements: Iterable[dict]) -> set[str]:
    """The kinds with a query that has more than one relevant article."""
    return {j["kind"] for j in judgements if len(set(j["relevant"])) > 1}


def depth(judgement: dict, topical: set[str]) -> int:
    """How many hits of the judgement's query are scored."""
    return DEPTH if judgement["kind"] in topical else K


def measure(judgements: Sequence[dict], rankings: Mapping[str, Sequence[str]]) -> dict:
    """Scores per kind and over all queries: ``{kind: {"n", measure: value, ...}}``.

    ``rankings`` maps each qid to the ids found, best first. ``all`` has the measures
    that every kind has (a file of both sorts: MRR@10 alone).
    """
    topical = topical_kinds(judgements)
    per_query: dict[str, dict[str, float]] = {}
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind_judgements in _group(judgements).values():
        kind = kind_judgements[0]["kind"]
        names = TOPICAL_MEASURES if kind in topical else KNOWN_ITEM_MEASURES
        for qid, values in _per_query(kind_judgements, rankings, names).items():
            per_query[qid] = values
            by_kind[kind].append(qid)
    report = {kind: _mean(per_query, qids) for kind, qids in sorted(by_kind.items())}
    shared = [name for name in TOPICAL_MEASURES if all(name in s for s in report.values())]
    everything = [qid for qids in by_kind.values() for qid in qids]
    report[ALL] = _mean(per_query, everything, shared)
    return report


def _group(judgements: Iterable[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for judgement in judgements:
        groups[judgement["kind"]].append(judgement)
    return groups


def _per_query(
    judgements: list[dict], rankings: Mapping[str, Sequence[str]], names: Mapping[str, object]
) -> dict[str, dict[str, float]]:
    """Each query's value of each measure (0.0 for a query that found nothing)."""
    qrels = [ir_measures.Qrel(j["qid"], rid, 1) for j in judgements for rid in set(j["relevant"])]
    # trec_eval orders by score: the score is minus the rank, so that the order is ours.
    run = [
        ir_measures.ScoredDoc(j["qid"], doc_id, -float(rank))
        for j in judgements
        for rank, doc_id in enumerate(dict.fromkeys(rankings.get(j["qid"], ())))
    ]
    values = {j["qid"]: dict.fromkeys(names, 0.0) for j in judgements}
    by_measure = {m: name for name, m in names.items()}
    for metric in ir_measures.iter_calc(list(names.values()), qrels, run):
        values[metric.query_id][by_measure[metric.measure]] = metric.value
    if "ap@100" in names:
        for j in judgements:
            relevant = len(set(j["relevant"]))
            values[j["qid"]]["ap@100"] *= relevant / min(relevant, AP_DEPTH)
    return values


def _mean(
    per_query: Mapping[str, Mapping[str, float]], qids: list[str], names: Iterable[str] = ()
) -> dict:
    names = list(names) or list(per_query[qids[0]])
    return {
        "n": len(qids),
        **{name: round(statistics.fmean(per_query[q][name] for q in qids), 4) for name in names},
    }


def evaluate(engine: SearchEngine, judgements: list[dict]) -> dict:
    """Scores per kind and overall, with wall-clock latency of each search call."""
    topical = topical_kinds(judgements)
    rankings: dict[str, list[str]] = {}
    latencies: list[float] = []
    for judgement in judgements:
        request = SearchRequest(q=judgement["query"], per_page=depth(judgement, topical))
        started = time.perf_counter()
        result = engine.search(request)
        latencies.append((time.perf_counter() - started) * 1000)
        relevant = set(judgement["relevant"])
        rankings[judgement["qid"]] = [
            judged_id([hit.id, *(copy.id for copy in hit.duplicates)], relevant)
            for hit in result.hits
        ]
    return {
        "queries": len(judgements),
        "kinds": measure(judgements, rankings) if judgements else {},
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else 0.0,
            "p95": round(percentile(latencies, 95), 2),
        },
    }


def judged_id(group: Sequence[str], relevant: set[str]) -> str:
    """The id a hit is judged by, ``group`` being its id and those of the copies collapsed
    under it: a hit stands for them all, so it is the relevant one among them when there
    is one (it counts once, at its rank)."""
    return next((article_id for article_id in group if article_id in relevant), group[0])


def tagged_articles(engine: SearchEngine, judgements: list[dict]) -> int:
    """How many of the first TAG_PROBE relevant articles of topical queries have tags."""
    topical = topical_kinds(judgements)
    ids = [rid for j in judgements if j["kind"] in topical for rid in j["relevant"]]
    found = (engine.document(rid) for rid in dict.fromkeys(ids[:TAG_PROBE]))
    return sum(1 for document in found if document is not None and document.tags)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def format_table(report: dict) -> str:
    """One row per kind, a column per measure that some kind has ("-" where it has not)."""
    kinds = report["kinds"]
    names = [
        name
        for name in (*TOPICAL_MEASURES, *KNOWN_ITEM_MEASURES)
        if any(name in scores for scores in kinds.values())
    ]
    names = list(dict.fromkeys(names))
    lines = [
        "| kind | n | " + " | ".join(_title(name) for name in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for kind, scores in kinds.items():
        cells = [f"{scores[name]:.3f}" if name in scores else "-" for name in names]
        lines.append(f"| {kind} | {scores['n']} | " + " | ".join(cells) + " |")
    latency = report["latency_ms"]
    lines.append("")
    lines.append(f"latency p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms")
    return "\n".join(lines)


def _title(name: str) -> str:
    """``ndcg@10`` -> ``nDCG@10``, as the measures are written."""
    head, _, cutoff = name.partition("@")
    titles = {"ndcg": "nDCG", "p": "P", "ap": "AP", "mrr": "MRR", "recall": "recall", "hit": "hit"}
    return f"{titles[head]}@{cutoff}"
