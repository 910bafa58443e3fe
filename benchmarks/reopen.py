"""What an update costs the readers: the reopen after a small update, and memory.

``python -m benchmarks.reopen --index DIR`` copies the index (``--in-place`` to use it
as it is), then in one process:

* opens it with the per-segment arrays missing (built from the segments, as the first
  reader of an index written by an older version does) and with them kept on disk;
* runs ``--queries`` judged queries and reports the process's RSS and PSS;
* ``--rounds`` times: adds ``--batch`` new articles with ``search.indexer.update``, then
  times the reopen (``SearchEngine.arrays()`` picking up the new generation) and the first
  query after it, beside the query's time before the update; merges as updates do.

The issue's target is a reopen of 200 ms or less per worker after a 10-article update.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import click

from benchmarks.evaluate import JUDGEMENTS_PATH, load_judgements
from benchmarks.newsgen import generate_articles, write_jsonl
from benchmarks.options import json_option, write_json
from benchmarks.server import read_memory
from search import indexer, layout, merging
from search.searching import REFRESH_SECONDS, SearchEngine, SearchRequest


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _reopen(engine: SearchEngine) -> float:
    """Milliseconds until the engine holds the newest generation."""
    time.sleep(REFRESH_SECONDS)  # the engine looks for a new generation this often
    return _timed(engine.arrays)


def measure_reopen(
    index_dir: Path, in_place: bool = False, queries: int = 200, rounds: int = 10,
    batch: int = 10, log=print,
) -> dict:  # fmt: skip
    """The figures described above, as a dict (times in ms, memory in bytes)."""
    scratch = None
    if not in_place:
        scratch = Path(tempfile.mkdtemp(prefix="reopen-"))
        log(f"copying {index_dir} ...")
        shutil.copytree(index_dir, scratch / "index", symlinks=True)
        index_dir = scratch / "index"
    try:
        arrays_dir = layout.arrays_dir(layout.open_live(index_dir))
        shutil.rmtree(arrays_dir, ignore_errors=True)
        cold = _timed(SearchEngine(index_dir).arrays)
        engine = SearchEngine(index_dir)
        warm = _timed(engine.arrays)
        result: dict = {
            "documents": engine.arrays().documents,
            "segments": len(engine.arrays().segments),
            "open_built_ms": cold,
            "open_kept_ms": warm,
        }
        log(f"{result['documents']:,} articles in {result['segments']} segments")
        log(f"open, arrays built from the segments: {cold:8.0f} ms")
        log(f"open, arrays kept on disk:            {warm:8.0f} ms")
        judged = [j["query"] for j in load_judgements(JUDGEMENTS_PATH)][:queries]
        took = [_timed(lambda q=q: engine.search(SearchRequest(q=q))) for q in judged]
        memory = read_memory(os.getpid())
        result |= {"queries": len(judged), "query_median_ms": statistics.median(took)}
        result |= {"rss_bytes": memory["rss_bytes"], "pss_bytes": memory["pss_bytes"]}
        log(
            f"{len(judged)} queries: median {statistics.median(took):.1f} ms; process RSS "
            f"{memory['rss_bytes'] / 2**20:.0f} MB, PSS {memory['pss_bytes'] / 2**20:.0f} MB"
        )
        reopen, before, after = [], [], []
        probe = SearchRequest(q=judged[0] if judged else "новости")
        for number in range(rounds):
            path = write_jsonl(
                (scratch or Path(tempfile.mkdtemp())) / f"update-{number}.jsonl",
                generate_articles(batch, prefix=f"reopen{number}"),
            )
            before.append(_timed(lambda: engine.search(probe)))
            indexer.update(index_dir, [path])
            merging.merge_while_needed(index_dir)
            reopen.append(_reopen(engine))
            after.append(_timed(lambda: engine.search(probe)))
        if rounds:
            result |= {
                "rounds": rounds,
                "batch": batch,
                "reopen_ms": reopen,
                "reopen_median_ms": statistics.median(reopen),
                "reopen_max_ms": max(reopen),
                "query_before_ms": statistics.median(before),
                "query_first_after_ms": statistics.median(after),
                "segments_after": len(merging.segment_infos(index_dir)),
            }
            log(
                f"{rounds} updates of {batch} articles: reopen median "
                f"{statistics.median(reopen):.0f} ms, max {max(reopen):.0f} ms; query before "
                f"{statistics.median(before):.1f} ms, first after {statistics.median(after):.1f} "
                f"ms (medians); {result['segments_after']} segments at the end"
            )
        return result
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


@click.command()
@click.option("--index", "index_dir", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--in-place", is_flag=True, help="Update the index itself instead of a copy.")
@click.option("--queries", default=200, show_default=True, help="Judged queries before measuring.")
@click.option("--rounds", default=10, show_default=True, help="Updates measured.")
@click.option("--batch", default=10, show_default=True, help="Articles an update adds.")
@json_option
def main(
    index_dir: Path, in_place: bool, queries: int, rounds: int, batch: int, json_path: Path | None
) -> None:
    """The reopen after a small update, per-segment arrays built vs kept, process memory."""
    result = measure_reopen(index_dir, in_place, queries, rounds, batch, log=click.echo)
    write_json(json_path, result)


if __name__ == "__main__":
    main()
