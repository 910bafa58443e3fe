"""A live news stream into a served index: search latency while articles arrive, and how soon
each one can be found.

The real server (``benchmarks.server.running_server``) serves ``--index``; client threads with
keep-alive connections send the judged queries, first with nothing else running (the quiet
latency), then while generated articles (``benchmarks.scalegen``, each with a marker word of its
own, ``benchmarks.newsgen.marker``) arrive at ``--rate`` a second and are indexed in one update
every ``--batch-seconds``. After each update returns (is acknowledged: on the disk), the
benchmark searches for that batch's markers until every one is found: the ack→searchable time.
The live index's segment count is read after every update, each of which asks for a
background merge (``search.merging``) as the follower's do.

The updates run in a feeder process of their own that calls ``search.indexer.update`` and
then pokes a ``search.merging.BackgroundMerger``, as ``news-search follow`` does, rather than
one ``news-search index update`` process a batch. Starting that process (imports, pymorphy3's
dictionary) took 1.75 s (0.94 s of CPU) on the shared 2-core machine, against 0.2-0.35 s for an
in-process update of 1 to 10 short articles, and it would be paid every two seconds; the command
also merges before it exits (23.8 s once, on the 1x index), where a live writer merges beside
the next batches. In the benchmark's own process the indexing would hold the GIL against the
client threads whose latency is being measured.

    python -m benchmarks.stream --index /tmp/my-index --rate 5 --minutes 10 --concurrency 4

It writes to ``--index``: give it a copy. The issue's targets, reported and not enforced: every
article searchable within 3 s of its ack, stream p95 at most 1.5 times the quiet p95, no request
over 1 s, and a segment count that does not keep growing. Beside the count, the report gives
how many segments were waiting for a merge at each ack (``search.merging.waiting``): how far
merging is behind the updates.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import queue
import tempfile
import threading
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from urllib.parse import urlencode

import click

from benchmarks.evaluate import load_judgements, percentile
from benchmarks.newsgen import marker, write_jsonl
from benchmarks.options import (
    corpus_option,
    json_option,
    judgements_option,
    stop_on_sigterm,
    write_json,
)
from benchmarks.scalegen import generate
from benchmarks.server import (
    REQUEST_TIMEOUT_S,
    load_level,
    running_server,
    search_paths,
)
from search import indexer, merging
from search.merging import MERGE_FACTOR, BackgroundMerger
from web.server import DEFAULT_THREADS

POLL_SECONDS = 0.05  # between rounds of searches for the markers not found yet
GIVE_UP_S = 60.0  # a marker not found this long after its ack counts as missing
MARKERS_A_QUERY = 20
WARM_UP = 20
#: The issue's targets.
SEARCHABLE_TARGET_S = 3.0
P95_RATIO_TARGET = 1.5
SLOWEST_SHOWN = 5  # the slowest requests the table names


def stream_articles(corpus_dir: Path, count: int, seed: int = 0) -> list[dict]:
    """``count`` generated articles with ids of this run (``live<stamp>-000001``) and a marker
    word each, so that a run on an index fed before still measures new articles. The marker is
    the text's first line: ingest's cleanup may drop a closing line (a related-article teaser)
    and with it a marker put last, as it did 2 of 600."""
    prefix = f"live{int(time.time())}"
    _, articles = generate(corpus_dir, count, seed)
    result = []
    for number, article in enumerate(articles, 1):
        article_id = f"{prefix}-{number:06d}"
        text = f"Служебная отметка {marker(article_id)}.\n{article['text']}"
        result.append({**article, "id": article_id, "text": text})
    return result


def segment_count(root: Path) -> tuple[int, int]:
    """Segments of the live index, and how many of them the merge policy would merge away now
    (``search.merging.waiting``): each update adds one, which the merges fold into others."""
    infos = merging.segment_infos(root)
    return len(infos), merging.waiting(infos)


def feed(
    root: Path,
    articles: list[dict],
    rate: float,
    batch_seconds: float,
    start: Event,
    acks: Queue,
    folder: Path,
) -> None:
    """The feeder process: from ``start`` on, every ``batch_seconds`` the articles due by then
    (``rate`` a second) go into the live index in one update, followed by a background merge
    as the follower's commits are (``search.follow.batches.commit_batch``); each ack is put on
    ``acks`` (``None`` at the end, after an ``{"error": ...}`` if one stopped it)."""
    merger = BackgroundMerger(root)
    try:
        start.wait()
        began, fed, number, reported = time.monotonic(), 0, 0, 0
        while fed < len(articles):
            number += 1
            time.sleep(max(0.0, began + number * batch_seconds - time.monotonic()))
            due = min(len(articles), int(rate * (time.monotonic() - began)))
            if due <= fed:
                continue
            batch = articles[fed:due]
            path = write_jsonl(folder / f"batch-{number}.jsonl", batch)
            started = time.monotonic()
            report = indexer.update(root, [path], wait=GIVE_UP_S)
            acked = time.monotonic()
            merger.poke()
            path.unlink()
            merges = len(merger.reports)
            acks.put(
                {
                    "batch": number,
                    "ids": [a["id"] for a in batch],
                    "indexed": report.indexed,
                    "started": started,
                    "acked": acked,
                    "at_s": acked - began,
                    "update_s": acked - started,
                    **dict(zip(("segments", "waiting"), segment_count(root), strict=True)),
                    "merges": merges,
                    "merged": [
                        {"segments": len(r.merged), "documents": r.documents, "s": r.seconds}
                        for r in merger.reports[reported:merges]
                    ],
                }
            )
            fed, reported = due, merges
    except Exception as error:  # the benchmark reports it instead of waiting for acks
        acks.put({"error": f"{type(error).__name__}: {error}"})
    finally:
        merger.close()
        acks.put(None)


class Watcher:
    """Searches for the markers of acknowledged batches until each is found (or given up)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = self._connect()
        self.batches: list[dict] = []
        self.pending: dict[str, dict] = {}  # id -> its batch
        self.searchable_s: dict[str, float] = {}
        self.missing: list[str] = []

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)

    def add(self, batch: dict) -> None:
        self.batches.append(batch)
        for article_id in batch["ids"]:
            self.pending[article_id] = batch

    def poll(self) -> None:
        """One round: search every pending marker once, record those found."""
        ids = list(self.pending)
        for start in range(0, len(ids), MARKERS_A_QUERY):
            chunk = ids[start : start + MARKERS_A_QUERY]
            query = " OR ".join(marker(article_id) for article_id in chunk)
            found = self._search(query, len(chunk))
            now = time.monotonic()
            for article_id in chunk:
                batch = self.pending[article_id]
                if article_id in found:
                    self.searchable_s[article_id] = now - batch["acked"]
                    del self.pending[article_id]
                elif now - batch["acked"] > GIVE_UP_S:
                    self.missing.append(article_id)
                    del self.pending[article_id]

    def _search(self, query: str, hits: int) -> set[str]:
        path = f"/api/search?{urlencode({'q': query, 'per_page': min(100, 2 * hits)})}"
        try:
            self.conn.request("GET", path)
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S
            )
            return set()
        if response.status != 200:
            return set()
        return {hit["id"] for hit in json.loads(body)["hits"]}

    def close(self) -> None:
        self.conn.close()


def watch(watcher: Watcher, acks: Queue, feeder: multiprocessing.Process) -> str | None:
    """Take the feeder's acks and poll their markers until it is done and all are found;
    the feeder's error, if it stopped on one."""
    error, done = None, False
    while not done or watcher.pending:
        while not done:
            try:
                message = acks.get(timeout=POLL_SECONDS if watcher.pending else 1.0)
            except queue.Empty:
                if not feeder.is_alive():
                    error, done = error or f"the feeder died ({feeder.exitcode})", True
                break
            if message is None:
                done = True
            elif "error" in message:
                error = message["error"]
            else:
                watcher.add(message)
        watcher.poll()
        if watcher.pending:
            time.sleep(POLL_SECONDS)
    return error


def benchmark_stream(
    index_dir: Path,
    queries: list[str],
    articles: list[dict],
    rate: float,
    concurrency: int = 4,
    batch_seconds: float = 2.0,
    workers: int | None = None,
    threads: int = DEFAULT_THREADS,
    quiet_seconds: float = 30.0,
    log=print,
) -> dict:
    """Serve ``index_dir``, measure the quiet latency for ``quiet_seconds``, then feed
    ``articles`` at ``rate`` a second under the same load; the figures (see :func:`summary`)."""
    paths = search_paths(queries, len(queries))
    context = multiprocessing.get_context("fork")  # before any thread; pymorphy3 is loaded
    start, acks = context.Event(), context.Queue()
    with (
        tempfile.TemporaryDirectory(prefix="bench-stream-") as temp,
        running_server(index_dir, threads, workers) as (_, port, health),
    ):
        feeder = context.Process(
            target=feed,
            args=(index_dir, articles, rate, batch_seconds, start, acks, Path(temp)),
            daemon=True,
        )
        feeder.start()
        segments_before = segment_count(index_dir)[0]
        load_level(port, search_paths(queries[::-1], WARM_UP), 1)
        log(f"[stream] quiet load for {quiet_seconds:.0f} s at concurrency {concurrency}")
        quiet_until = time.monotonic() + quiet_seconds
        quiet = load_level(port, paths, concurrency, until=lambda: time.monotonic() > quiet_until)
        log(
            f"[stream] feeding {len(articles)} articles at {rate}/s in batches of {batch_seconds} s"
        )
        stop, stream = threading.Event(), {}
        clients = threading.Thread(
            target=lambda: stream.update(load_level(port, paths, concurrency, until=stop.is_set))
        )
        clients.start()
        start.set()
        watcher = Watcher(port)
        try:
            error = watch(watcher, acks, feeder)
        finally:
            stop.set()
            clients.join()
            watcher.close()
            feeder.join(timeout=GIVE_UP_S)
    return summary(
        watcher, quiet, stream, error,
        {
            "index": str(index_dir), "documents_before": health.get("documents", 0),
            "rate": rate, "batch_seconds": batch_seconds, "concurrency": concurrency,
            "workers": workers, "threads": threads, "quiet_seconds": quiet_seconds,
            "segments_before": segments_before,
        },
    )  # fmt: skip


def summary(watcher: Watcher, quiet: dict, stream: dict, error: str | None, run: dict) -> dict:
    """The run's figures, and whether each of the issue's targets was met."""
    searchable = list(watcher.searchable_s.values())
    updates = [batch["update_s"] for batch in watcher.batches]
    segments = [
        {key: b[key] for key in ("at_s", "segments", "waiting", "merges")} for b in watcher.batches
    ]
    counts = [run["segments_before"], *(s["segments"] for s in segments)]
    half = len(counts) // 2
    waiting = max((s["waiting"] for s in segments), default=0)
    quiet_p95, stream_p95 = quiet["latency_ms"]["p95"], stream["latency_ms"]["p95"]
    result = {
        **run,
        "error": error,
        "quiet": quiet,
        "stream": stream,
        "p95_ratio": stream_p95 / quiet_p95 if quiet_p95 else None,
        "max_request_ms": max(quiet["latency_ms"]["max"], stream["latency_ms"]["max"]),
        "over_1s": quiet["over_1s"] + stream["over_1s"],
        "server_errors": quiet["server_errors"] + stream["server_errors"],
        "batches": len(watcher.batches),
        "articles": sum(len(batch["ids"]) for batch in watcher.batches),
        "indexed": sum(batch["indexed"] for batch in watcher.batches),
        "found": len(searchable),
        "missing": len(watcher.missing),
        "missing_ids": watcher.missing[:20],
        "searchable_s": _spread(searchable),
        "update_s": _spread(updates),
        "segments": segments,
        "segments_max": max(counts),
        "segments_final": counts[-1],
        "segments_waiting_max": waiting,
        "merges": segments[-1]["merges"] if segments else 0,
        "merged": [merge for batch in watcher.batches for merge in batch["merged"]],
    }
    result["targets"] = {
        "searchable_within_3s": bool(searchable)
        and not watcher.missing
        and max(searchable) <= SEARCHABLE_TARGET_S,
        "p95_within_1_5x_quiet": result["p95_ratio"] is not None
        and result["p95_ratio"] <= P95_RATIO_TARGET,
        "no_request_over_1s": result["over_1s"] == 0,
        # bounded: the second half of the run never exceeds the most of its first half; with
        # fewer than twice MERGE_FACTOR updates (the first merge comes at 8) it cannot tell
        "segments_bounded": max(counts[half:]) <= max(counts[: half + 1])
        if len(watcher.batches) >= 2 * MERGE_FACTOR
        else None,
    }
    return result


def _spread(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values),
    }


def format_table(result: dict) -> str:
    """The figures as a Markdown table, with the issue's targets beside them."""
    quiet, stream = result["quiet"]["latency_ms"], result["stream"]["latency_ms"]
    searchable, updates, met = result["searchable_s"], result["update_s"], result["targets"]

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} s"

    def mark(key: str) -> str:
        return {True: "met", False: "NOT met", None: "too few updates to tell"}[met[key]]

    ratio = result["p95_ratio"]
    longest = max(result["merged"], key=lambda merge: merge["s"], default=None)
    rows = [
        ("quiet latency p50 / p95", f"{quiet['p50']:.1f} / {quiet['p95']:.1f} ms "
         f"({result['quiet']['requests']} requests, {result['quiet']['rps']:.0f}/s)", ""),
        ("stream latency p50 / p95", f"{stream['p50']:.1f} / {stream['p95']:.1f} ms "
         f"({result['stream']['requests']} requests, {result['stream']['rps']:.0f}/s)", ""),
        ("stream p95 / quiet p95", "-" if ratio is None else f"{ratio:.2f}",
         f"≤ {P95_RATIO_TARGET}: {mark('p95_within_1_5x_quiet')}"),
        ("max request latency (quiet and stream)", f"{result['max_request_ms']:.0f} ms", ""),
        ("requests over 1 s (quiet and stream)", str(result["over_1s"]),
         f"0: {mark('no_request_over_1s')}"),
        ("5xx responses (quiet and stream)", str(result["server_errors"]), ""),
        ("articles fed / indexed / found", f"{result['articles']} / {result['indexed']} / "
         f"{result['found']} ({result['missing']} missing)", ""),
        ("ack→searchable p50 / p95 / max", f"{seconds(searchable['p50'])} / "
         f"{seconds(searchable['p95'])} / {seconds(searchable['max'])}",
         f"≤ {SEARCHABLE_TARGET_S:.0f} s: {mark('searchable_within_3s')}"),
        ("update (batch) p50 / max", f"{seconds(updates['p50'])} / {seconds(updates['max'])} "
         f"({result['batches']} batches)", ""),
        ("segments before / max / final", f"{result['segments_before']} / "
         f"{result['segments_max']} / {result['segments_final']} "
         f"({result['merges']} merges)", f"bounded: {mark('segments_bounded')}"),
        ("most segments waiting for a merge", str(result["segments_waiting_max"]), ""),
        ("longest merge", "-" if not longest else f"{seconds(longest['s'])} "
         f"({longest['segments']} segments, {longest['documents']} articles)", ""),
    ]  # fmt: skip
    lines = ["| figure | value | target |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {target} |" for name, value, target in rows]
    slowest = result["stream"].get("slowest", [])[:SLOWEST_SHOWN]
    if slowest:
        named = ", ".join(f"{row['ms']:.0f} ms `{row['request']}`" for row in slowest)
        lines.append(f"\nSlowest requests while streaming: {named}")
    if result["error"]:
        lines.append(f"\nThe feeder stopped: {result['error']}")
    examples = sorted({*result["quiet"]["error_examples"], *result["stream"]["error_examples"]})
    if examples:
        lines.append(f"\nFailed requests: {', '.join(examples)}")
    return "\n".join(lines)


@click.command()
@click.option(
    "--index",
    "index_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The index to serve and feed (it is written to: give a copy).",
)
@click.option("--rate", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Articles a second.")  # fmt: skip
@click.option("--minutes", type=click.FloatRange(min=0.05), default=10.0, show_default=True,
              help="How long the stream runs.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1), default=4, show_default=True,
              help="Client threads.")  # fmt: skip
@click.option("--batch-seconds", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="One update this often.")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Server worker processes  [default: one per core]")  # fmt: skip
@click.option("--threads", type=click.IntRange(1, 256), default=DEFAULT_THREADS,
              show_default=True, help="Threads in each server worker.")  # fmt: skip
@click.option("--quiet-seconds", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="The quiet load before the stream starts.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Of the generated articles.")
@corpus_option
@judgements_option
@json_option
def main(
    index_dir: Path,
    rate: float,
    minutes: float,
    concurrency: int,
    batch_seconds: float,
    workers: int | None,
    threads: int,
    quiet_seconds: float,
    seed: int,
    corpus_dir: Path,
    judgements_path: Path,
    json_path: Path | None,
) -> None:
    """Search latency and ack→searchable time while a live stream of articles is indexed."""
    stop_on_sigterm()
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    queries = [j["query"] for j in load_judgements(judgements_path)]
    count = max(1, round(rate * minutes * 60))
    log(f"[stream] generating {count} articles")
    articles = stream_articles(corpus_dir, count, seed)
    result = benchmark_stream(
        index_dir, queries, articles, rate, concurrency, batch_seconds, workers, threads,
        quiet_seconds, log,
    )  # fmt: skip
    click.echo(format_table(result))
    write_json(json_path, result)


if __name__ == "__main__":
    main()
