"""The whole benchmark in one command: our engine and the peers at several corpus scales, the
server under load, and the Markdown report.

    python -m benchmarks.run --scales 1,4,10          # everything; writes benchmarks/RESULTS.md
    python -m benchmarks.run --scales 1 --no-server   # the 1x comparison only
    python -m benchmarks.run --sample 200 --scales 1,2 --server-requests 30 \\
        --out /tmp/RESULTS.md --json /tmp/results.json  # quick mode (what CI runs)

For each scale every engine is built, scored and closed before the next starts, so they never
compete for the machine; the raw figures are written to the JSON file after every engine, so a
long run that fails late keeps what it measured (``python -m benchmarks.report`` renders it).
"""

from __future__ import annotations

import gc
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from benchmarks.engine import Engine
from benchmarks.evaluate import (
    CORPUS_DIR,
    JUDGEMENTS_PATH,
    TOPICAL_PATH,
    expand_judgements,
    load_corpus,
    load_judgements,
    replicate,
    sample_corpus,
    sample_topical,
    score_engine,
    score_topical,
)
from benchmarks.generated import scale_run
from benchmarks.harness import benchmark_engine
from benchmarks.heldout import generate as generate_heldout
from benchmarks.heldout import topical as heldout_topical
from benchmarks.options import (
    NameList,
    NumberList,
    corpus_option,
    judgements_option,
    stop_on_sigterm,
)
from benchmarks.ours import OursEngine
from benchmarks.peers import TEXT_FIELDS, PostgresEngine, make_peer
from benchmarks.profiling import profile_calls
from benchmarks.quiet import QUIET_SHARE, CpuMeter, wait_until_quiet
from benchmarks.report import machine_info, write_report
from benchmarks.server import DEFAULT_CONCURRENCY, DEFAULT_THREADS, benchmark_server
from search.evaluation import load_judgements as load_topical

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR / "RESULTS.md"
DEFAULT_JSON = BENCH_DIR / "out" / "results.json"

#: Command-line names of the engines, in the order they run; ours first.
ENGINES: dict[str, str] = {
    "ours": "ours",
    "pg": "postgresql",
    "tantivy": "tantivy",
    "whoosh": "whoosh-stock",
}

#: The peers built on generated files (stock Whoosh builds at ~110 docs/s: hours at 1M),
#: on files of at most ``GENERATED_PEERS_MAX`` articles (PostgreSQL loads ~400 a second).
GENERATED_PEERS = ("tantivy", "pg")
GENERATED_PEERS_MAX = 200_000

Log = Callable[[str], object]


def _display(path: Path) -> str:
    """``path`` relative to the project (``../shared/corpus``), so reports name no home folders
    of whoever ran them."""
    return os.path.relpath(path.resolve(), BENCH_DIR.parent)


def make_engine(short: str, root: Path | None = None) -> Engine:
    """Our engine (keeping its index in ``root`` when given) or the peer called ``short``.

    Ours is built without the editors' tags, which the topical judgements are made of (the
    peers index title, summary and text only); tags are a filter, never ranked, so the
    known-item figures are those of an index with tags."""
    if short == "ours":
        return OursEngine(root=root, tags=False)
    return make_peer(short, TEXT_FIELDS)


def skip_reason(short: str, scale: int, whoosh_max_scale: int) -> str | None:
    """Why engine ``short`` does not run at ``scale`` here, or None when it does."""
    if short == "whoosh" and scale > whoosh_max_scale:
        return (
            f"stock Whoosh runs up to {whoosh_max_scale}× only (--whoosh-max-scale): one writer "
            "process builds at about 70-110 articles/s, so 10× would take 15-20 minutes"
        )
    if short == "pg":
        ok, reason = PostgresEngine.available()
        if not ok:
            return reason
    return None


def run_benchmarks(
    corpus_dir: Path = CORPUS_DIR,
    judgements_path: Path = JUDGEMENTS_PATH,
    scales: Sequence[int] = (1,),
    engines: Sequence[str] = tuple(ENGINES),
    sample: int = 0,
    seed: int = 0,
    whoosh_max_scale: int = 1,
    server: bool = True,
    server_requests: int = 1000,
    concurrency: Sequence[int] = DEFAULT_CONCURRENCY,
    server_threads: int = DEFAULT_THREADS,
    profile: bool = True,
    json_path: Path | None = DEFAULT_JSON,
    out_path: Path | None = DEFAULT_OUT,
    command: str = "python -m benchmarks.run",
    keep_indexes: Path | None = None,
    quiet_check_s: float = 1.0,
    max_wait_s: float = 300.0,
    heldout_seed: int = 1,
    topical_path: Path | None = TOPICAL_PATH,
    generated: Sequence[Path] = (),
    generated_dir: Path | None = None,
    generated_peers_max: int = GENERATED_PEERS_MAX,
    log: Log = print,
) -> dict:
    """Measure ``engines`` at every scale (and the server on the first scale's index of ours),
    write the raw figures to ``json_path`` and the report to ``out_path``; return the figures.

    ``sample`` > 0 is the quick mode: that many articles (half of them judged, see
    :func:`~benchmarks.evaluate.sample_corpus`) instead of the whole corpus. With ``profile``,
    ours runs the judged queries a second time under a sampling profiler at the first and the
    last scale, and the report says where the time goes. ``keep_indexes`` keeps our index of
    each scale there (``ours-<N>x``, servable and profilable afterwards) instead of deleting it.
    Before each engine the CPU use of other processes is sampled for ``quiet_check_s`` seconds
    at a time until it is below :data:`QUIET_SHARE` or ``max_wait_s`` have passed (see
    :func:`~benchmarks.quiet.wait_until_quiet`), and the CPU that other processes used while
    each engine ran is measured (:class:`~benchmarks.quiet.CpuMeter`) for the report.
    ``heldout_seed`` > 0: every engine is also scored at 1x on fresh queries made the same
    way as the judgements, on other articles (:mod:`benchmarks.heldout`), since ranking may
    have been tuned on the judgements themselves. ``topical_path``: at 1x every engine is also
    scored on those topical judgements (nDCG@10, P@10, AP@100 of the first 100 hits) and, with
    ``heldout_seed``, on as many other editor tags made the same way. Each file of
    ``generated`` (``benchmarks.scalegen`` output) then gets every step of
    :func:`benchmarks.generated.scale_run`, our index of it kept in ``generated_dir`` (a
    build found there is reused); the peers only on files of at most
    ``generated_peers_max`` articles.
    """
    started = time.perf_counter()
    scales = sorted(set(scales))
    engines = [name for name in ENGINES if name in engines]  # ours first, whatever was asked
    base_articles = load_corpus(corpus_dir)
    base_judgements = load_judgements(judgements_path)
    if sample:
        base_articles, base_judgements = sample_corpus(base_articles, base_judgements, sample, seed)
    heldout = []
    if heldout_seed and 1 in scales:
        used = [i for j in base_judgements for i in j["relevant"]]
        heldout = generate_heldout(base_articles, seed=heldout_seed, exclude=used)
    topical: list[dict] = []
    topical_heldout: list[dict] = []
    if topical_path is not None and topical_path.is_file() and 1 in scales:
        shared_topical = load_topical(topical_path)
        topical = sample_topical(shared_topical, base_articles) if sample else shared_topical
        if heldout_seed:
            tags = [j["query"] for j in shared_topical]
            topical_heldout = heldout_topical(
                base_articles, len(shared_topical), heldout_seed, exclude=tags
            )
    topical_sets = {"topical": topical, "topical_heldout": topical_heldout}
    kinds: dict[str, int] = {}
    for judgement in base_judgements:
        kinds[judgement["kind"]] = kinds.get(judgement["kind"], 0) + 1
    data: dict = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "command": command,
            "machine": machine_info(),
            "corpus": {
                "path": _display(corpus_dir),
                "articles": len(base_articles),
                "chars": sum(len(a.get(f) or "") for a in base_articles for f in TEXT_FIELDS),
            },
            "judgements": {
                "path": _display(judgements_path),
                "queries": len(base_judgements),
                "kinds": kinds,
            },
            "heldout": {"seed": heldout_seed, "queries": len(heldout)} if heldout else None,
            "topical": {
                "path": _display(topical_path) if topical else None,
                "queries": len(topical),
                "heldout": len(topical_heldout),
            },
            "sample": sample,
            "seed": seed,
            "scales": scales,
            "engines": [ENGINES[e] for e in engines],
            "fields": list(TEXT_FIELDS),
            "whoosh_max_scale": whoosh_max_scale,
            "json": _display(json_path) if json_path else None,
        },
        "scales": [],
        "server": None,
        "profiles": [],
        "generated": [],
    }

    def save() -> None:
        data["meta"]["seconds"] = time.perf_counter() - started
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(
                json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
            )

    keep = Path(tempfile.mkdtemp(prefix="bench-run-")) if keep_indexes is None else keep_indexes
    try:
        for scale in scales:
            articles = replicate(base_articles, scale)
            judgements = expand_judgements(base_judgements, scale)
            run = {"scale": scale, "docs": len(articles), "queries": len(judgements), "results": []}
            data["scales"].append(run)
            for short in engines:
                reason = skip_reason(short, scale, whoosh_max_scale)
                if reason is not None:
                    log(f"[{scale}x {short}] skipped: {reason}")
                    run["results"].append({"engine": ENGINES[short], "skipped": reason})
                    save()
                    continue
                log(f"[{scale}x {short}] building on {len(articles):,} articles ...")
                engine = make_engine(short, keep / f"ours-{scale}x" if short == "ours" else None)
                try:
                    background, waited = wait_until_quiet(quiet_check_s, max_wait_s)
                    if waited >= quiet_check_s * 2:
                        log(
                            f"[{scale}x {short}] waited {waited:.0f} s for other work to end "
                            f"(now {background:.0%} of the CPUs busy)"
                        )
                    meter = CpuMeter()
                    result = benchmark_engine(engine, articles, judgements)
                    result["others_cpu"] = meter.others_share()
                    if heldout and scale == 1:
                        search = lambda q, e=engine: e.search(q, 10)  # noqa: E731
                        result["heldout_by_kind"] = score_engine(search, heldout)["by_kind"]
                    for key, judged in topical_sets.items():
                        if judged and scale == 1:
                            result[key] = score_topical(engine.search, judged)["by_kind"]
                    result["background_cpu"] = background
                    result["waited_for_quiet_s"] = waited
                    lat = result["latency_ms"]
                    log(
                        f"[{scale}x {short}] {result['docs_per_s']:,.0f} docs/s, "
                        f"{result['size_mb']:.1f} MB, p50 {lat['p50']:.1f} ms, "
                        f"p95 {lat['p95']:.1f} ms, MRR {result['by_kind']['all']['mrr']:.3f}"
                    )
                    run["results"].append(result)
                    save()
                    if short == "ours" and profile and scale in (scales[0], scales[-1]):
                        log(f"[{scale}x ours] profiling the queries ...")
                        queries = [j["query"] for j in judgements]
                        summary = profile_calls(lambda q, e=engine: e.search(q, 10), queries)
                        data["profiles"].append({"scale": scale, **summary})
                        save()
                finally:
                    engine.close()
                    del engine
                    gc.collect()
                if short == "ours" and server and scale == scales[0]:
                    log(
                        f"[server] {len(base_judgements)} queries, concurrency "
                        f"{', '.join(map(str, concurrency))}, {server_requests} requests each"
                    )
                    background, waited = wait_until_quiet(quiet_check_s, max_wait_s)
                    data["server"] = benchmark_server(
                        keep / f"ours-{scale}x",
                        [j["query"] for j in base_judgements],
                        concurrency,
                        server_requests,
                        server_threads,
                        retries=2 if max_wait_s > 0 else 0,
                        max_wait_s=max_wait_s,
                        log=log,
                    )
                    data["server"]["background_cpu"] = background
                    data["server"]["waited_for_quiet_s"] = waited
                    save()
                if keep_indexes is None:
                    shutil.rmtree(keep / f"ours-{scale}x", ignore_errors=True)
            del articles
            gc.collect()
    finally:
        if keep_indexes is None:
            shutil.rmtree(keep, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="bench-generated-") as scratch:
        for source in generated:
            folder = (generated_dir or Path(scratch)) / source.name.split(".")[0]
            peers = [name for name in GENERATED_PEERS if name in engines]
            queries = [j["query"] for j in base_judgements]
            data["generated"].append(
                scale_run(
                    source,
                    folder,
                    peers,
                    queries,
                    log,
                    peers_max=generated_peers_max,
                    max_wait_s=max_wait_s,
                )
            )
            save()
    save()
    if out_path is not None:
        write_report(data, out_path)
        log(f"wrote {out_path}")
    return data


@click.command()
@click.option(
    "--scales",
    type=NumberList(),
    default="1",
    show_default=True,
    help="Comma-separated corpus scales, e.g. 1,4,10 (N copies with new ids).",
)
@click.option(
    "--engines",
    type=NameList(ENGINES),
    default=",".join(ENGINES),
    show_default=True,
    help=f"Comma-separated engines, of: {', '.join(ENGINES)}.",
)
@corpus_option
@judgements_option
@click.option(
    "--sample",
    type=int,
    default=0,
    help="Quick mode: N articles (half of them judged) instead of the corpus.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample.")
@click.option(
    "--whoosh-max-scale",
    type=int,
    default=1,
    show_default=True,
    help="Run stock Whoosh only up to this scale (it builds at ~110 docs/s).",
)
@click.option(
    "--server/--no-server",
    default=True,
    show_default=True,
    help="Benchmark the HTTP server on our index of the first scale.",
)
@click.option(
    "--server-requests",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Requests at each concurrency level.",
)
@click.option(
    "--concurrency",
    type=NumberList(),
    default=",".join(map(str, DEFAULT_CONCURRENCY)),
    show_default=True,
    help="Comma-separated client concurrency levels.",
)
@click.option(
    "--server-threads",
    type=click.IntRange(1, 256),
    default=DEFAULT_THREADS,
    show_default=True,
    help="`serve --threads`.",
)
@click.option(
    "--heldout-seed",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Also score every engine at 1x on fresh queries made like the judgements with this "
    "seed (benchmarks/heldout.py); 0: not.",
)
@click.option(
    "--topical",
    "topical_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=TOPICAL_PATH,
    show_default=True,
    help="Topical judgements to score every engine on at 1x (skipped when the file is absent).",
)
@click.option(
    "--profile/--no-profile",
    default=True,
    show_default=True,
    help="Profile our queries at the first and the last scale.",
)
@click.option(
    "--max-wait",
    "max_wait_s",
    type=click.FloatRange(0),
    default=300.0,
    show_default=True,
    help="Seconds to wait, before each engine, for other processes to leave the CPUs "
    f"(below {QUIET_SHARE:.0%} busy); then measure anyway, and the report says so.",
)
@click.option(
    "--keep-indexes",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep our index of each scale in this folder (ours-<N>x), e.g. to profile "
    "it with `python -m benchmarks.profiling run --index DIR/ours-10x`.",
)
@click.option(
    "--generated",
    "generated",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A generated corpus (`python -m benchmarks.scalegen N FILE`) to run the scale "
    "steps on (`benchmarks.generated`); repeat for several.",
)
@click.option(
    "--generated-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep our index of each --generated file here (FOLDER/<file name>), and reuse a "
    "build found there.",
)
@click.option(
    "--generated-peers-max",
    type=click.IntRange(0),
    default=GENERATED_PEERS_MAX,
    show_default=True,
    help="Build the peers only on generated files of at most this many articles.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="The Markdown report.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_JSON,
    show_default=True,
    help="The raw figures.",
)
def main(
    scales: list[int],
    engines: list[str],
    corpus_dir: Path,
    judgements_path: Path,
    sample: int,
    seed: int,
    whoosh_max_scale: int,
    server: bool,
    server_requests: int,
    concurrency: list[int],
    server_threads: int,
    heldout_seed: int,
    topical_path: Path,
    profile: bool,
    max_wait_s: float,
    keep_indexes: Path | None,
    generated: tuple[Path, ...],
    generated_dir: Path | None,
    generated_peers_max: int,
    out_path: Path,
    json_path: Path,
) -> None:
    """Benchmark our engine and the peers; write RESULTS.md and the raw JSON."""
    stop_on_sigterm()
    if server and "ours" not in engines:
        raise click.BadParameter(
            "the server benchmark needs ours among the engines (or --no-server)",
            param_hint="--engines",
        )
    command = "python -m benchmarks.run " + shlex.join(sys.argv[1:])
    run_benchmarks(
        corpus_dir,
        judgements_path,
        scales,
        engines,
        sample,
        seed,
        whoosh_max_scale,
        server,
        server_requests,
        concurrency,
        server_threads,
        profile,
        json_path,
        out_path,
        command.strip(),
        keep_indexes,
        max_wait_s=max_wait_s,
        heldout_seed=heldout_seed,
        topical_path=topical_path,
        generated=generated,
        generated_dir=generated_dir,
        generated_peers_max=generated_peers_max,
        log=lambda msg: click.echo(msg, err=True),
    )


if __name__ == "__main__":
    main()
