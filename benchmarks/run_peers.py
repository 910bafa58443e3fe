"""Benchmark the peer engines on the shared corpus and known-item judgements.

    python -m benchmarks.run_peers                        # whole corpus, all peers
    python -m benchmarks.run_peers --sample 200 --engines tantivy,whoosh
    python -m benchmarks.run_peers --json benchmarks/out/peers.json

Each engine is built, scored and closed before the next starts, so they do not compete for
the machine.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from benchmarks.evaluate import (
    expand_judgements,
    load_corpus,
    load_judgements,
    replicate,
    sample_corpus,
)
from benchmarks.harness import benchmark_engine, format_report
from benchmarks.options import NameList, corpus_option, judgements_option
from benchmarks.peers import PEERS, TEXT_FIELDS, PostgresEngine, make_peer


def run_peers(
    engines: list[str],
    articles: list[dict],
    judgements: list[dict],
    fields: Sequence[str] = TEXT_FIELDS,
    log: Callable[[str], object] = print,
) -> list[dict]:
    """Benchmark each named peer in turn; an engine that cannot run here (PostgreSQL not
    installed) is reported as ``{"engine", "skipped": reason}`` instead of failing the run."""
    results = []
    for short in engines:
        if short == "pg":
            ok, reason = PostgresEngine.available()
            if not ok:
                log(f"[{short}] skipped: {reason}")
                results.append({"engine": PostgresEngine.name, "skipped": reason})
                continue
        log(f"[{short}] building on {len(articles)} articles ...")
        engine = make_peer(short, fields)
        try:
            result = benchmark_engine(engine, articles, judgements)
        finally:
            engine.close()
            gc.collect()
        log(
            f"[{short}] {result['docs_per_s']:.0f} docs/s, {result['size_mb']:.1f} MB, "
            f"MRR all {result['by_kind'].get('all', {}).get('mrr', 0.0):.3f}"
        )
        results.append(result)
    return results


@click.command()
@corpus_option
@judgements_option
@click.option(
    "--engines",
    type=NameList(PEERS),
    default=",".join(PEERS),
    show_default=True,
    help=f"Comma-separated peers to run, of: {', '.join(PEERS)}.",
)
@click.option(
    "--fields",
    type=NameList(TEXT_FIELDS),
    default=",".join(TEXT_FIELDS),
    show_default=True,
    help="Comma-separated article fields to index and search; title,text "
    "reproduces the setup of the figures in ../shared/eval/README.md.",
)
@click.option(
    "--sample",
    type=int,
    default=0,
    help="Quick mode: N articles (half of them judged) and their judgements; "
    "scores are then not comparable with full runs.",
)
@click.option(
    "--scale",
    type=int,
    default=1,
    show_default=True,
    help="Replicate the corpus N times with new ids (rt-1#2, ...); copies of a "
    "relevant article count as relevant.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the results as JSON here.",
)
def main(
    corpus_dir: Path,
    judgements_path: Path,
    engines: list[str],
    fields: list[str],
    sample: int,
    scale: int,
    seed: int,
    json_path: Path | None,
) -> None:
    """Build each peer engine on the corpus and report speed, size, relevance and latency."""
    articles = load_corpus(corpus_dir)
    judgements = load_judgements(judgements_path)
    if sample:
        articles, judgements = sample_corpus(articles, judgements, sample, seed)
    if scale > 1:
        articles = replicate(articles, scale)
        judgements = expand_judgements(judgements, scale)
    click.echo(
        f"{len(articles)} articles, {len(judgements)} judged queries, {os.cpu_count()} CPUs",
        err=True,
    )
    results = run_peers(
        engines, articles, judgements, tuple(fields), log=lambda msg: click.echo(msg, err=True)
    )
    click.echo(format_report(results))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "corpus": str(corpus_dir.resolve()),
            "judgements": str(judgements_path.resolve()),
            "articles": len(articles),
            "queries": len(judgements),
            "sample": sample,
            "scale": scale,
            "fields": fields,
            "seed": seed,
        }
        json_path.write_text(
            json.dumps({"meta": meta, "results": results}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        click.echo(f"wrote {json_path}", err=True)


if __name__ == "__main__":
    main()
