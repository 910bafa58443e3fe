"""The worker processes of a bulk build, and the messages between them and the writer.

To a worker, on its own task queue (at most ``MAX_CHUNKS_AHEAD`` waiting): any number
of :class:`Chunk`, then one :class:`Share`, then one :class:`Encode`, after which it
ends. Back, on the one result queue: :class:`Lengths` for each chunk, :class:`Shared`,
:class:`Encoded`; or :class:`Failed` instead, which the writer raises as an
``IndexingError`` (a worker's OSError, a full disk say, as its cause).

:class:`WorkerPool` runs the processes; :class:`LocalPool` does the same work in the
writer's own process, for one process (or where processes cannot be forked). The
writer uses either through the methods of :class:`Pool`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from whoosh.writing import IndexingError

from search.bulk.analyzer import Analyzer, FieldLengths, TermRecords, TextValues
from search.procs import die_with_parent

CHUNK_DOCS = 32  # documents a worker analyzes per message
MAX_CHUNKS_AHEAD = 8  # chunks queued per worker before the parent waits
_POLL_SECONDS = 1.0

# -- to a worker ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    """Analyze these documents (the next ones in the worker's local numbering)."""

    number: int  # chunks are numbered in input order, across workers
    docs: list[TextValues]


@dataclass(frozen=True, slots=True)
class Share:
    """All documents are sent: leave the other workers their terms' postings."""

    bases: list[int]  # each worker's first final document number
    folder: str


@dataclass(frozen=True, slots=True)
class Encode:
    """Encode the postings of this worker's terms (of all workers) into ``path``."""

    workers: int
    folder: str
    path: str


# -- back to the writer ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lengths:
    """The field lengths of the documents of chunk ``chunk``, in its order."""

    chunk: int
    lengths: list[FieldLengths]


@dataclass(frozen=True, slots=True)
class Shared:
    worker: int


@dataclass(frozen=True, slots=True)
class Encoded:
    """A worker's terms: their terminfos, offsets in the worker's file."""

    worker: int
    terms: TermRecords


@dataclass(frozen=True, slots=True)
class Failed:
    worker: int
    traceback: str
    errno: int | None  # of an OSError


def _worker(number: int, parent: int, tasks, results, analyzer: Analyzer) -> None:
    """Worker process: chunks in, field lengths out; then share, encode, report.

    It dies with its parent (``parent``, the pid of the process that forked it): a
    parent killed with ``kill -9`` sends no more messages, and the worker would wait
    for them forever, holding its postings in memory.
    """
    die_with_parent(parent)
    gc.disable()  # see the documentation of search.bulk
    try:
        while True:
            message = tasks.get()
            if isinstance(message, Chunk):
                results.put(Lengths(message.number, analyzer.analyze(message.docs)))
            elif isinstance(message, Share):
                analyzer.share(number, message.bases, message.folder)
                results.put(Shared(number))
            else:
                terms = analyzer.encode(number, message.workers, message.folder, message.path)
                results.put(Encoded(number, terms))
                return
    except KeyboardInterrupt:  # Ctrl+C reached the whole process group; the parent stops too
        results.cancel_join_thread()
    except BaseException as error:  # reported to the parent, which raises it
        code = error.errno if isinstance(error, OSError) else None
        results.put(Failed(number, traceback.format_exc(), code))


def worker_error(failed: Failed) -> IndexingError:
    """The parent's exception for a worker's failure, from the worker's traceback.

    A worker's OSError (a full disk, say) becomes the cause, so that the indexer tells
    people what ``search.durable.write_error`` tells them for the parent's own.
    """
    error = IndexingError(f"index worker {failed.worker} failed:\n{failed.traceback}")
    if failed.errno is not None:
        error.__cause__ = OSError(failed.errno, os.strerror(failed.errno))
    return error


class Pool:
    """The workers, as the writer sees them.

    What they report is kept here for the writer: ``lengths`` (chunk -> its
    documents' field lengths, until the writer takes them), ``shared`` (the workers
    that have shared) and ``encoded`` (worker -> its terms, until taken).
    """

    def __init__(self, size: int):
        self.size = size
        self.lengths: dict[int, list[FieldLengths]] = {}
        self.shared: set[int] = set()
        self.encoded: dict[int, TermRecords] = {}

    def analyze(self, chunk: Chunk, worker: int) -> None:
        """Have ``worker`` analyze ``chunk``."""
        raise NotImplementedError

    def receive(self, block: bool) -> None:
        """Take what the workers reported: all waiting reports, or at least one if
        ``block``. A worker's failure is raised here. (A LocalPool has nothing to take:
        its work is done when asked for.)"""

    def share(self, bases: Sequence[int], folder: str) -> None:
        """Have every worker share its postings (see ``Analyzer.share``)."""
        raise NotImplementedError

    def all_shared(self) -> bool:
        return len(self.shared) == self.size

    def encode(self, folder: str, paths: Sequence[str]) -> None:
        """Have worker ``i`` encode its terms into ``paths[i]`` (once all have shared)."""
        raise NotImplementedError

    def wait_encoded(self) -> list[TermRecords]:
        """Each worker's terms, in worker order, once all are encoded."""
        while len(self.encoded) < self.size:
            self.receive(block=True)
        return [self.encoded.pop(number) for number in range(self.size)]

    def stop(self) -> None:
        """End the workers, done or not."""


class LocalPool(Pool):
    """The workers' job done in this process: one worker, number 0."""

    def __init__(self, analyzer: Analyzer):
        super().__init__(1)
        self._analyzer: Analyzer | None = analyzer

    def analyze(self, chunk: Chunk, worker: int) -> None:
        self.lengths[chunk.number] = self._analyzer.analyze(chunk.docs)

    def share(self, bases: Sequence[int], folder: str) -> None:
        self._analyzer.share(0, bases, folder)
        self.shared.add(0)

    def encode(self, folder: str, paths: Sequence[str]) -> None:
        self.encoded[0] = self._analyzer.encode(0, 1, folder, paths[0])
        self._analyzer = None


class WorkerPool(Pool):
    """``procs`` forked worker processes, each running :func:`_worker` on a copy of
    ``analyzer`` (fork: they share the parent's modules and caches)."""

    def __init__(self, analyzer: Analyzer, procs: int):
        super().__init__(procs)
        context = multiprocessing.get_context("fork")
        self._results = context.Queue()
        self._workers: list[tuple] = []  # (process, its task queue)
        for number in range(procs):
            tasks = context.Queue(MAX_CHUNKS_AHEAD)
            process = context.Process(
                target=_worker,
                args=(number, os.getpid(), tasks, self._results, analyzer),
                name=f"bulkwriter-{number}",
                daemon=True,
            )
            process.start()
            self._workers.append((process, tasks))

    def analyze(self, chunk: Chunk, worker: int) -> None:
        """Queue ``chunk`` for ``worker``, waiting (and taking reports) while its queue
        is full."""
        _, tasks = self._workers[worker]
        while True:
            try:
                tasks.put(chunk, timeout=_POLL_SECONDS)
                break
            except queue.Full:
                self.receive(block=False)
                self._check_alive()
        self.receive(block=False)

    def receive(self, block: bool) -> None:
        while True:
            try:
                message = self._results.get(block=block, timeout=_POLL_SECONDS)
            except queue.Empty:
                if not block:
                    return
                self._check_alive()
                continue
            if isinstance(message, Lengths):
                self.lengths[message.chunk] = message.lengths
            elif isinstance(message, Shared):
                self.shared.add(message.worker)
            elif isinstance(message, Encoded):
                self.encoded[message.worker] = message.terms
            else:
                raise worker_error(message)
            block = False

    def share(self, bases: Sequence[int], folder: str) -> None:
        for _, tasks in self._workers:
            tasks.put(Share(list(bases), folder))

    def encode(self, folder: str, paths: Sequence[str]) -> None:
        for number, (_, tasks) in enumerate(self._workers):
            tasks.put(Encode(len(self._workers), folder, paths[number]))

    def wait_encoded(self) -> list[TermRecords]:
        encoded = super().wait_encoded()
        for process, _ in self._workers:
            process.join()
        self._workers = []
        return encoded

    def stop(self) -> None:
        for process, tasks in self._workers:
            # Chunks still buffered for a worker that is gone must not keep this process
            # from exiting (the queue's feeder thread would wait for them forever).
            tasks.cancel_join_thread()
            if process.is_alive():
                process.terminate()
            process.join()
        self._workers = []

    def _check_alive(self) -> None:
        for process, _ in self._workers:
            if not process.is_alive() and process.exitcode:
                raise IndexingError(f"index worker {process.name} died ({process.exitcode})")


def start_pool(analyzer: Analyzer, procs: int) -> Pool:
    """``procs`` workers: forked processes, or this process for one (or without fork)."""
    if procs > 1 and "fork" in multiprocessing.get_all_start_methods():
        return WorkerPool(analyzer, procs)
    return LocalPool(analyzer)
