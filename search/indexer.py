"""Building, updating and deleting: article records into the Whoosh index on disk.

Layout of an index folder (``index/`` by default)::

    index/live -> builds/<stamp>   symlink to the index readers use
    index/builds/<stamp>/          one complete Whoosh index each, with build.json and
                                   the checksums of its files (``search.checksums``)
    index/.writer.lock             the writer lock (see ``search.locking``)
    index/.writer.lock.json        who holds it

Every writer (build, update, delete) holds the writer lock for its whole run: a
second one waits or fails naming the holder, and an update cannot race a build
switching ``live``. A build writes a complete new index under ``builds/``, syncs it
to the disk and then switches the ``live`` symlink to it with one atomic rename, so a
failed or killed build never touches the index people are searching; the next build
removes what it left. Updates and deletes go into the live index through Whoosh's
atomic commit, made durable by ``search.durable`` before they return: what a writer
reports as done survives a crash, and readers only ever see whole commits.

A build that indexed nothing, or lost a whole source (a mistyped path, an unreadable
file), is not switched live unless asked for: a typo must not replace the index
people search with an empty one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from whoosh.index import FileIndex, LockError
from whoosh.writing import IndexWriter

from search import frequent, segments
from search.bulk import BulkWriter
from search.codec import NewsCodec
from search.durable import (
    IndexWriteError,
    create_durable,
    discard_garbage,
    fsync_path,
    fsync_tree,
    write_error,
)
from search.ingest import read_articles
from search.layout import (
    BUILDS,
    LIVE,
    LIVE_TEMP,
    META,
    PARTIAL,
    IndexMissing,
    live_dir,
    open_live,
    read_meta,
    resolve_index_dir,
    segments_of,
)
from search.locking import IndexBusy, WriterLock
from search.records import Article, IngestProblem
from search.schema import build_schema, compress_text

__all__ = [
    "BuildRefused",
    "IndexBusy",
    "IndexMissing",
    "IndexWriteError",
    "IngestReport",
    "live_dir",
    "open_live",
    "read_meta",
    "resolve_index_dir",
]

WRITER_MEMORY_MB = 256
#: An update of up to this many articles is written by the bulk writer in this process:
#: Whoosh's writer pools, sorts and writes each posting in Python (an update of 12
#: generated articles into a million: 0.34 s of its 0.74 s in Whoosh's commit). A larger
#: update goes through Whoosh's writer, whose memory is bounded (``WRITER_MEMORY_MB``);
#: the bulk writer holds the postings until it writes them, about 10 bytes a character.
BULK_UPDATE_DOCS = 1_000
WHOOSH_LOCK_SECONDS = 1.0  # least wait for Whoosh's own lock once ours is held
NAMED_IN_REFUSAL = 3  # lost sources a refusal names before "and N more"

ProblemSink = Callable[[IngestProblem], None]
Progress = Callable[[int], None]

log = logging.getLogger(__name__)


class BuildRefused(Exception):
    """A build that indexed nothing or lost whole sources was not switched live.

    The message says why; the live index (if any) is as it was.
    """


@dataclass
class IngestReport:
    """What an index build or update did, for the closing summary."""

    indexed: int = 0
    skipped: int = 0
    warnings: int = 0
    seconds: float = 0.0
    problems: list[IngestProblem] = field(default_factory=list)

    @property
    def docs_per_second(self) -> float:
        return self.indexed / self.seconds if self.seconds else 0.0


def article_document(article: Article) -> dict:
    """The Whoosh document of an article: analyzed fields, stored display fields, facets."""
    return {
        "id": article.id,
        "title": article.title,
        "summary": article.summary,
        "text": article.text,
        "exact": "\n".join((article.title, article.summary, article.text)),
        "text_zlib": compress_text(article.text),
        "url": article.url,
        "date": article.date,
        "source": article.source,
        "topic": article.topic,
        "tags": ",".join(tag.replace(",", " ") for tag in article.tags),
        "year": article.date.year if article.date else None,
        "fingerprint": (article.title, article.summary, article.text),
    }


def _collect(report: IngestReport, sink: ProblemSink | None) -> ProblemSink:
    def on_problem(problem: IngestProblem) -> None:
        report.problems.append(problem)
        if problem.skipped:
            report.skipped += 1
        else:
            report.warnings += 1
        if sink:
            sink(problem)

    return on_problem


def _documents(articles: Iterable[Article], tags: bool = True) -> Iterator[dict]:
    """``tags=False`` leaves the editors' tags out: topical judgements are made of them."""
    for article in articles:
        doc = article_document(article)
        if not tags:
            del doc["tags"]
        yield {key: value for key, value in doc.items() if value is not None}


# -- the writer lock and write errors ----------------------------------------------


#: Text (characters) a build writes into one segment: the bulk writer's memory follows it.
SEGMENT_TEXT_BYTES = 256 << 20


@contextmanager
def writing(root: Path, wait: float = 0.0, create: bool = False) -> Iterator[WriterLock]:
    """Hold the writer lock of ``root`` for the block (creating ``root`` if asked).

    An OSError that means the folder cannot be written (read-only, full...) becomes
    an IndexWriteError with a message for people, raised after the cleanup it needs.
    """
    try:
        if create:
            _make_root(root)
        with WriterLock(root, wait) as lock:
            if lock.stale:
                log.warning("cleared the lock record of a killed writer: %s", lock.stale.describe())
            yield lock
    except Exception as error:
        mapped = write_error(root, error)
        if mapped is None:
            raise
        raise mapped from error


def _make_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise IndexWriteError(f"cannot write to index folder {root}: not a directory")
    root.mkdir(parents=True, exist_ok=True)


# -- build ---------------------------------------------------------------------------


def build(
    root: Path,
    sources: Iterable[str | os.PathLike],
    procs: int = 1,
    on_problem: ProblemSink | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
    allow_empty: bool = False,
    tags: bool = True,
) -> IngestReport:
    """Write a complete new index of ``sources`` and make it the live one.

    ``wait`` is how many seconds to wait for another writer of ``root`` to finish.
    Raises BuildRefused, leaving the live index as it was, when the build indexed
    nothing or lost a whole source (see :func:`_lost_sources`), unless ``allow_empty``.
    A source that does not exist is refused before anything is read.
    """
    sources = [str(s) for s in sources]
    missing = [s for s in sources if not os.path.lexists(s)]
    if missing and not allow_empty:
        lost = [IngestProblem(s, 0, "no such file or directory") for s in missing]
        raise BuildRefused(_refusal(root, lost))
    with writing(root, wait, create=True):
        _remove_leftovers(root)
        final, report = _build_beside(root, sources, procs, on_problem, progress, allow_empty, tags)
        _switch_live(root, final)
    return report


def _lost_sources(sources: Iterable[str], problems: Iterable[IngestProblem]) -> list[IngestProblem]:
    """The problems that cost a whole source.

    That is, any problem with a source named in ``sources`` as a whole (missing, not
    a file, unsupported, binary, empty, a folder with no supported files), and a file
    or folder below a named folder that could not be read (an OSError: permissions,
    I/O; ``search.ingest`` reports those as "cannot read ..."). A malformed file inside
    a folder is a bad record like any other and costs only itself.
    """
    named = {str(Path(s)) for s in sources}
    return [
        problem
        for problem in problems
        if problem.line == 0 and (problem.path in named or problem.reason.startswith("cannot read"))
    ]


def _refusal(root: Path, lost: list[IngestProblem]) -> str:
    """The one-line message of a refused build."""
    if lost:
        named = ", ".join(f"{p.path} ({p.reason})" for p in lost[:NAMED_IN_REFUSAL])
        more = len(lost) - NAMED_IN_REFUSAL
        what = f"it skipped whole sources: {named}" + (f" and {more} more" if more > 0 else "")
    else:
        what = "it indexed no articles"
    return f"the new build was not switched live, since {what}; {root.absolute()} is unchanged"


def _build_beside(
    root: Path,
    sources: list[str],
    procs: int,
    on_problem: ProblemSink | None,
    progress: Progress | None,
    allow_empty: bool,
    tags: bool = True,
) -> tuple[Path, IngestReport]:
    """The new index, complete and on the disk under ``builds/``; not live yet."""
    report = IngestReport()
    started = time.perf_counter()
    builds = root / BUILDS
    builds.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    target = builds / f"{stamp}{PARTIAL}"
    target.mkdir()
    try:
        ix = create_durable(target, build_schema())
        articles = read_articles(sources, _collect(report, on_problem))
        report.indexed = _write(ix, _documents(articles, tags), procs, progress)
        segments.keep(ix)
        frequent.keep(ix)
        ix.close()
        lost = _lost_sources(sources, report.problems)
        if (lost or not report.indexed) and not allow_empty:
            raise BuildRefused(_refusal(root, lost))
        report.seconds = time.perf_counter() - started
        _write_meta(target, sources, report)
        fsync_tree(target)
        final = builds / stamp
        target.rename(final)
        fsync_path(builds)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return final, report


def _remove_leftovers(root: Path) -> None:
    """Remove what killed or failed builds left: ``*.partial`` builds, a ``.live.tmp`` link.

    Only called under the writer lock, so no build that is still running owns them.
    """
    temp_link = root / LIVE_TEMP
    if temp_link.is_symlink() or temp_link.exists():
        log.warning("removing %s left by a failed build", temp_link)
        temp_link.unlink()
    builds = root / BUILDS
    if not builds.is_dir():
        return
    for leftover in builds.glob(f"*{PARTIAL}"):
        log.warning("removing %s left by a failed build", leftover)
        shutil.rmtree(leftover, ignore_errors=True)


def _write(ix: FileIndex, docs: Iterator[dict], procs: int, progress: Progress | None) -> int:
    """Write all ``docs`` into the new index ``ix``, a segment per ``SEGMENT_TEXT_BYTES``.

    The bulk writer analyzes the text in ``procs`` processes and writes the postings
    of whole terms at once: on the news corpus some eight times as fast as Whoosh's
    writers (see ``search.bulk``). It holds a segment's postings until it writes them,
    about 7 bytes of memory per byte of text (a single segment of 100,000 generated
    articles peaked at 4.9 GB), so a build writes a segment per ``SEGMENT_TEXT_BYTES``
    of text and its memory stays bounded whatever the size of the archive. Updates and
    deletes keep Whoosh's own writer.
    """
    count = 0
    pending = iter(docs)
    while True:
        writer = BulkWriter(ix, procs=max(procs, 1))
        added = text = 0
        try:
            for doc in pending:
                writer.add_document(**doc)
                count += 1
                added += 1
                text += sum(len(doc.get(name) or "") for name in ("title", "summary", "text"))
                if progress:
                    progress(1)
                if text >= SEGMENT_TEXT_BYTES:
                    break
        except BaseException:
            writer.cancel()
            raise
        if added or not count:  # an empty build still writes its (empty) first commit
            writer.commit()
        else:
            writer.cancel()
        if text < SEGMENT_TEXT_BYTES:
            return count


def _write_meta(target: Path, sources: list[str], report: IngestReport) -> None:
    meta = {
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "sources": sources,
        "indexed": report.indexed,
        "skipped": report.skipped,
        "seconds": round(report.seconds, 2),
    }
    (target / META).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def _switch_live(root: Path, build_dir: Path) -> None:
    """Point ``live`` at ``build_dir`` atomically and durably, then remove older builds.

    The build that was live until now is kept: servers may still be answering from it.
    Paths are compared resolved: ``live_dir`` is absolute, ``root`` may be relative.
    """
    keep = {build_dir.resolve(), live_dir(root)}
    temp_link = root / LIVE_TEMP
    if temp_link.is_symlink() or temp_link.exists():
        temp_link.unlink()
    temp_link.symlink_to(Path(BUILDS) / build_dir.name)
    os.replace(temp_link, root / LIVE)
    fsync_path(root)
    for old in (root / BUILDS).iterdir():
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)


# -- update and delete ----------------------------------------------------------------


def update(
    root: Path,
    sources: Iterable[str | os.PathLike],
    on_problem: ProblemSink | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
) -> IngestReport:
    """Add the articles of ``sources`` to the live index, replacing those with the same id.

    Returns once the commit is on the disk. ``wait`` is how many seconds to wait for
    another writer of ``root`` to finish.
    """
    report = IngestReport()
    started = time.perf_counter()
    open_live(root)  # IndexMissing before anything is read
    docs = _documents(read_articles(sources, _collect(report, on_problem)))
    first = list(islice(docs, BULK_UPDATE_DOCS + 1))
    with _live_writer(root, wait, bulk=len(first) <= BULK_UPDATE_DOCS) as writer:
        for doc in chain(first, docs):
            # An index built before a field was added (the fingerprint) takes the rest.
            writer.update_document(**{k: v for k, v in doc.items() if k in writer.schema})
            report.indexed += 1
            if progress:
                progress(1)
    report.seconds = time.perf_counter() - started
    return report


def delete(root: Path, ids: Iterable[str], wait: float = 0.0) -> list[str]:
    """Delete articles by id; returns the ids that were not in the index.

    Returns once the commit is on the disk.
    """
    missing = []
    with _live_writer(root, wait) as writer:
        for article_id in ids:
            if not writer.delete_by_term("id", article_id):
                missing.append(article_id)
    return missing


@contextmanager
def _live_writer(root: Path, wait: float, bulk: bool = False) -> Iterator[IndexWriter]:
    """A Whoosh writer on the live index, under the writer lock, committed durably
    (``bulk``: the bulk writer, in this process).

    The commit happens when the block ends without an exception; otherwise the
    writer is cancelled and the files it wrote are removed (a full disk gets its
    space back). Leftovers of killed writers are removed before writing.
    """
    open_live(root)  # IndexMissing before anything is created in the folder
    with writing(root, wait):
        ix = open_live(root)
        discard_garbage(ix)
        writer = _whoosh_writer(ix, max(wait, WHOOSH_LOCK_SECONDS), bulk)
        try:
            yield writer
        except BaseException:
            _cancel_quietly(writer)
            _discard_quietly(ix)
            raise
        try:
            writer.commit(merge=False)  # merges run apart: search.merging
        except BaseException:
            _discard_quietly(ix)
            raise
        segments.keep(live := open_live(root))
        frequent.keep(live)


def _whoosh_writer(ix: FileIndex, timeout: float, bulk: bool) -> IndexWriter:
    """Whoosh's writer, or the bulk writer with one process (``bulk``), whose own file
    lock is free unless a foreign program holds it.

    Whoosh locks with ``flock``, which the kernel drops when a writer dies, so a
    killed writer leaves only the harmless ``MAIN_WRITELOCK`` file behind.
    """
    try:
        if bulk:
            return BulkWriter(ix, procs=1, timeout=timeout, delay=0.1)
        return ix.writer(timeout=timeout, delay=0.1, codec=NewsCodec(), limitmb=WRITER_MEMORY_MB)
    except LockError:
        raise IndexBusy(
            f"the Whoosh write lock of {ix.storage.folder} is held by a process that does "
            "not hold the news-search writer lock (another program writing to the index?)"
        ) from None


def _cancel_quietly(writer: IndexWriter) -> None:
    """Cancel ``writer``; failing to (a full disk) must not hide why it is cancelled."""
    try:
        writer.cancel()
    except Exception:
        log.debug("could not cancel the writer", exc_info=True)


def _discard_quietly(ix: FileIndex) -> None:
    try:
        discard_garbage(ix)
    except Exception:  # a read-only or vanished folder: the next writer cleans up
        log.debug("could not remove the files of a failed commit", exc_info=True)


def stats(root: Path) -> dict:
    """Documents, size on disk, last build time, sources and segments of the live index."""
    ix = open_live(root)
    path = live_dir(root)
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    meta = read_meta(root)
    with ix.reader():  # opening every segment: a damaged one says so here
        pass
    listed = [
        {"id": info.segment_id, "documents": info.documents, "deleted": info.deleted}
        for info in segments_of(ix)
    ]
    return {
        "index": str(root),
        "documents": sum(s["documents"] - s["deleted"] for s in listed),
        "deleted": sum(s["deleted"] for s in listed),
        "size_bytes": size,
        "built_at": meta.get("built_at"),
        "sources": meta.get("sources", []),
        "segments": listed,
    }
