"""Corpus and judgement loading, relevance scoring and latency statistics.

Pure functions with no engine-specific code, so that any engine (ours or a peer) is scored the
same way: MRR@k and recall@k per query kind and overall, as in ``../shared/eval/README.md``;
topical judgements (many relevant articles a query) by ``search.evaluation.measure``
(ir-measures): nDCG@10, P@10, AP@100, MRR@10, recall@10.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from search.evaluation import DEPTH, measure

#: Where the shared corpus and judgements live, relative to the project root.
SHARED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared"
CORPUS_DIR = SHARED_DIR / "corpus"
JUDGEMENTS_PATH = SHARED_DIR / "eval" / "known-item.jsonl"
TOPICAL_PATH = SHARED_DIR / "eval" / "topical.jsonl"

#: The key under which the figures over all queries are reported, next to the per-kind ones.
ALL = "all"


def load_corpus(
    corpus_dir: str | Path = CORPUS_DIR, limit: int | None = None, scale: int = 1
) -> list[dict]:
    """Read the articles of every ``*.jsonl.gz`` file in ``corpus_dir`` (in file-name order).

    ``limit`` keeps only the first ``limit`` articles. ``scale`` > 1 replicates the corpus for
    scale tests, as the corpus README asks, instead of inventing text: copy 1 keeps the original
    ids, copy ``k`` gets ``<id>#k``. Copies come as whole blocks (all of copy 1, then all of
    copy 2, ...), like a corpus that grows over time.
    """
    paths = sorted(Path(corpus_dir).glob("*.jsonl.gz"))
    if not paths:
        raise FileNotFoundError(f"no *.jsonl.gz files in {corpus_dir}")
    articles: list[dict] = []
    for path in paths:
        for article in read_jsonl_gz(path):
            if limit is not None and len(articles) >= limit:
                break
            articles.append(article)
    return replicate(articles, scale)


def read_jsonl_gz(path: Path) -> Iterator[dict]:
    """The records of a gzip JSON Lines file, one at a time (a generated million articles
    do not fit in memory as Python objects)."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def replicate(articles: list[dict], scale: int) -> list[dict]:
    """``scale`` copies of ``articles`` in blocks; copy ``k`` > 1 has ids ``<id>#k``."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    copies = list(articles)
    for k in range(2, scale + 1):
        copies.extend({**article, "id": f"{article['id']}#{k}"} for article in articles)
    return copies


def expand_judgements(judgements: list[dict], scale: int) -> list[dict]:
    """Judgements for a corpus made by :func:`replicate`: every copy of a relevant article is
    relevant, so that MRR stays the rank of the first copy and recall counts the copies."""
    return [
        {
            **j,
            "relevant": [
                f"{rid}#{k}" if k > 1 else rid for rid in j["relevant"] for k in range(1, scale + 1)
            ],
        }
        for j in judgements
    ]


def load_judgements(path: str | Path = JUDGEMENTS_PATH) -> list[dict]:
    """Read known-item judgements: one ``{"qid", "kind", "query", "relevant": [id]}`` a line."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def sample_corpus(
    articles: list[dict], judgements: list[dict], n: int, seed: int = 0
) -> tuple[list[dict], list[dict]]:
    """Pick ``n`` articles and the judgements whose relevant articles are all among them.

    A uniform sample of a few hundred articles would hold only a handful of judged articles, so
    half of the sample is drawn from the judged articles, taking the kinds in turn so that every
    kind is represented; the rest are random other articles (distractors). For quick runs and
    tests: the scores are not comparable with full-corpus ones.
    """
    rng = random.Random(seed)
    by_id = {article["id"]: article for article in articles}
    by_kind: dict[str, list[dict]] = {}
    for judgement in judgements:
        if all(rid in by_id for rid in judgement["relevant"]):
            by_kind.setdefault(judgement["kind"], []).append(judgement)
    queues = [rng.sample(group, len(group)) for _, group in sorted(by_kind.items())]
    chosen: dict[str, None] = {}  # an ordered set of article ids
    while len(chosen) < n // 2 and any(queues):
        for queue in queues:
            if queue and len(chosen) < n // 2:
                for rid in queue.pop()["relevant"]:
                    chosen[rid] = None
    others = [aid for aid in by_id if aid not in chosen]
    for aid in rng.sample(others, min(n - len(chosen), len(others))):
        chosen[aid] = None
    sample = [by_id[aid] for aid in chosen]
    rng.shuffle(sample)
    kept = [j for j in judgements if all(rid in chosen for rid in j["relevant"])]
    return sample, kept


def mrr_recall(ranked_ids: list[str], relevant: Iterable[str], k: int = 10) -> tuple[float, float]:
    """Reciprocal rank of the first relevant id in the top ``k`` (0 if none), and recall@k."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("a judgement needs at least one relevant id")
    top = ranked_ids[:k]
    rr = next((1.0 / rank for rank, aid in enumerate(top, 1) if aid in wanted), 0.0)
    return rr, len(wanted.intersection(top)) / len(wanted)


def score_engine(
    search_fn: Callable[[str], list[str]], judgements: list[dict], k: int = 10
) -> dict:
    """Run every judged query through ``search_fn`` and score the rankings.

    Returns ``{"by_kind": {kind: {"n", "mrr", "recall"}, ..., "all": {...}},
    "latencies_ms": [...]}``, latencies in judgement order, each the wall time of one
    ``search_fn`` call.
    """
    sums: dict[str, list[float]] = {}  # kind -> [n, sum of rr, sum of recall]
    latencies: list[float] = []
    for judgement in judgements:
        started = time.perf_counter()
        ranked = search_fn(judgement["query"])
        latencies.append((time.perf_counter() - started) * 1000.0)
        rr, recall = mrr_recall(ranked, judgement["relevant"], k)
        for kind in (judgement["kind"], ALL):
            acc = sums.setdefault(kind, [0, 0.0, 0.0])
            acc[0] += 1
            acc[1] += rr
            acc[2] += recall
    by_kind = {
        kind: {"n": int(n), "mrr": rr_sum / n, "recall": recall_sum / n}
        for kind, (n, rr_sum, recall_sum) in sorted(sums.items(), key=lambda kv: kv[0] == ALL)
    }
    return {"by_kind": by_kind, "latencies_ms": latencies}


def sample_topical(judgements: list[dict], articles: list[dict]) -> list[dict]:
    """The topical judgements of a sampled corpus: relevant articles outside it left out, and
    the queries left with fewer than two (no longer topical) dropped."""
    ids = {article["id"] for article in articles}
    kept = [{**j, "relevant": [rid for rid in j["relevant"] if rid in ids]} for j in judgements]
    return [j for j in kept if len(j["relevant"]) > 1]


def score_topical(
    search_fn: Callable[[str, int], list[str]], judgements: list[dict], depth: int = DEPTH
) -> dict:
    """Every topical query through ``search_fn(query, depth)``, scored like ``news-search eval``.

    Returns ``{"by_kind": {kind: {"n", "ndcg@10", "p@10", "ap@100", "mrr@10", "recall@10"},
    "all": {...}}, "latencies_ms": [...]}``; the judgements need a ``qid``
    (``search.evaluation.load_judgements`` gives one).
    """
    rankings: dict[str, list[str]] = {}
    latencies: list[float] = []
    for judgement in judgements:
        started = time.perf_counter()
        rankings[judgement["qid"]] = search_fn(judgement["query"], depth)
        latencies.append((time.perf_counter() - started) * 1000.0)
    return {"by_kind": measure(judgements, rankings), "latencies_ms": latencies}


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0..100) with linear interpolation (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    pos = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
