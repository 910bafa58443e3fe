"""Indexing the follower's pending records, a batch at a time, through the update path.

A batch is written to ``INDEX/follow/batch-<pid>-<n>.jsonl`` and added with
``search.indexer.update`` (or, when there is no index yet, ``search.indexer.build``), under
the writer lock like any other writer: a build holding the lock is waited for, the batch tried
again a few seconds later, and the follower polls on meanwhile. Only once the commit is on the
disk are its records marked indexed (see ``search.follow.state`` for why that makes every
item indexed once). Each commit then asks for a background merge (``search.merging``), which
keeps the segment count bounded without delaying the next batch.

The commits run in a process of their own, one batch at a time: the analysis is CPU-bound
Python, which in the follower's process would hold the GIL against the fetching threads and
stall the whole pipeline while it runs; in its own it uses another core, and the next pages
are read meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from search import indexer
from search.follow.state import State, state_dir
from search.merging import BackgroundMerger
from search.morphology import word_terms
from search.procs import die_with_parent
from search.records import IngestProblem

log = logging.getLogger(__name__)

LOCK_WAIT = 2.0  # seconds one commit waits for the writer lock
RETRY_SECONDS = 5.0  # before a batch that could not be committed is tried again


def worker_pool(warm_up: Callable[[], object], subprocess: bool = True) -> Executor:
    """A worker for the follower's CPU-bound work: a process of its own, started now and
    made to load what it needs by ``warm_up`` (seconds the first batch would otherwise
    wait); or, without ``subprocess``, a thread of this process (the ``subprocesses = false``
    setting, for small setups and tests). Spawned, not forked: forking a process that runs
    threads can copy a lock some thread holds."""
    if not subprocess:
        return ThreadPoolExecutor(1, thread_name_prefix="follow-worker")
    pool = ProcessPoolExecutor(
        1,
        mp_context=get_context("spawn"),
        initializer=die_with_parent,  # kill -9 of the follower must not leave it behind
        initargs=(os.getpid(),),
    )
    pool.submit(warm_up)
    return pool


def load_morphology() -> None:
    """Load the dictionaries that indexing needs (in the indexing process)."""
    word_terms("переговоры")


@dataclass
class Commit:
    """What a commit did, as it comes back from the indexing process."""

    indexed: int = 0
    problems: list[IngestProblem] = field(default_factory=list)
    refused: str = ""  # why nothing could be written (the lock busy, a full disk), if so


def commit_batch(root: Path, path: Path) -> Commit:
    """Add the records of ``path`` to the index (in the indexing process); the first batch
    builds a missing index. Errors come back as text: exceptions that take more than a
    message do not survive the trip between processes."""
    commit = Commit()
    try:
        try:
            report = indexer.update(root, [path], on_problem=commit.problems.append, wait=LOCK_WAIT)
        except indexer.IndexMissing:
            report = indexer.build(root, [path], on_problem=commit.problems.append, wait=LOCK_WAIT)
        commit.indexed = report.indexed
        _merger(root).poke()
    except indexer.BuildRefused:
        pass  # every record refused: the problems say why
    except (indexer.IndexBusy, indexer.IndexWriteError) as error:
        commit.refused = str(error)
    return commit


_mergers: dict[Path, BackgroundMerger] = {}


def _merger(root: Path) -> BackgroundMerger:
    """The indexing process's background merger of ``root`` (``search.merging``): merges
    run beside the next batches instead of delaying them."""
    merger = _mergers.get(root)
    if merger is None:
        merger = _mergers[root] = BackgroundMerger(root)
    return merger


@dataclass
class _Batch:
    future: Future
    keys: list[str]
    path: Path


class BatchIndexer:
    """The pending records of ``state`` into the index ``root``, one batch in flight at most."""

    def __init__(self, root: Path, state: State, batch_size: int, subprocess: bool = True):
        self.root = root
        self.state = state
        self.batch_size = batch_size
        self.subprocess = subprocess
        self.indexed = 0  # articles committed so far
        self.refusals = 0  # commits that had to wait
        self._pool = worker_pool(load_morphology, self.subprocess)
        self._batch: _Batch | None = None
        self._numbers = iter(range(1 << 62))
        self.retry_at = 0.0  # when a refused commit may be tried again (time.monotonic)
        self.started = float("-inf")  # when the last commit began (time.monotonic)
        self.last_full = False  # whether it was a whole batch_size

    @property
    def future(self) -> Future | None:
        """The commit in flight, for the follower to wait on with its other work."""
        return self._batch.future if self._batch else None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def start(self) -> bool:
        """Start committing the oldest pending records, unless a batch is in flight or a
        failed commit is waiting for its retry; whether a batch was started."""
        if self._batch is not None or time.monotonic() < self.retry_at:
            return False
        batch = self.state.pending(self.batch_size)
        if not batch:
            return False
        path = state_dir(self.root) / f"batch-{os.getpid()}-{next(self._numbers)}.jsonl"
        path.write_text(
            "".join(json.dumps(record, ensure_ascii=False) + "\n" for _, record in batch),
            encoding="utf-8",
        )
        future = self._pool.submit(commit_batch, self.root, path)
        self.started, self.last_full = time.monotonic(), len(batch) >= self.batch_size
        self._batch = _Batch(future, [key for key, _ in batch], path)
        return True

    def finish(self, block: bool = False) -> None:
        """Record the commit in flight once it is done (``block``: wait for it)."""
        batch = self._batch
        if batch is None or not (block or batch.future.done()):
            return
        self._batch = None
        try:
            commit = batch.future.result()
        except BrokenProcessPool:
            self._pool = worker_pool(load_morphology, self.subprocess)
            commit = Commit(refused="the indexing process died")
        finally:
            batch.path.unlink(missing_ok=True)
        if commit.refused:
            self.refusals += 1
            self.retry_at = time.monotonic() + RETRY_SECONDS
            log.warning("cannot index %d articles yet: %s", len(batch.keys), commit.refused)
            return
        self._record(batch.keys, commit)

    def _record(self, keys: list[str], commit: Commit) -> None:
        rejected = {}
        for problem in commit.problems:
            if problem.skipped and 1 <= problem.line <= len(keys):
                rejected[keys[problem.line - 1]] = problem.reason
            log.warning("article record %s", problem)
        self.state.indexed(keys, rejected)
        self.indexed += commit.indexed
        log.info("indexed %d articles", commit.indexed)

    def flush(self) -> None:
        """Commit everything pending now, batch after batch; stop at the first refusal
        (what is left is indexed by the next run)."""
        self.finish(block=True)
        self.retry_at = 0.0
        while self.start():
            self.finish(block=True)
            if self.retry_at:
                return
