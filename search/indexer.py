"""Building, updating and deleting: article records into the Whoosh index on disk.

Layout of an index folder (``index/`` by default)::

    index/live -> builds/<stamp>   symlink to the index readers use
    index/builds/<stamp>/          one complete Whoosh index each, with build.json

A build writes a complete new index under ``builds/`` and then switches the
``live`` symlink to it with one atomic rename, so a failed or killed build never
touches the index people are searching. Updates and deletes go into the live
index through Whoosh's own writer lock and atomic commit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import FileIndex

from search.codec import NewsCodec
from search.ingest import read_articles
from search.records import Article, IngestProblem
from search.schema import build_schema, compress_text

DEFAULT_INDEX = Path("index")
LIVE = "live"
BUILDS = "builds"
META = "build.json"
WRITER_MEMORY_MB = 256

ProblemSink = Callable[[IngestProblem], None]
Progress = Callable[[int], None]


class IndexMissing(Exception):
    """There is no live index in the folder yet."""


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


def resolve_index_dir(option: str | os.PathLike | None = None) -> Path:
    """``--index``, else ``NEWS_SEARCH_INDEX``, else ``index/``."""
    return Path(option or os.environ.get("NEWS_SEARCH_INDEX") or DEFAULT_INDEX)


def live_dir(root: Path) -> Path | None:
    """The folder of the live index, or None when none has been built."""
    link = root / LIVE
    if not link.exists():
        return None
    return link.resolve()


def open_live(root: Path) -> FileIndex:
    path = live_dir(root)
    if path is None or not whoosh_index.exists_in(path):
        raise IndexMissing(f"no index in {root}: run `news-search index build` first")
    return whoosh_index.open_dir(str(path))


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


def _documents(articles: Iterable[Article]) -> Iterator[dict]:
    for article in articles:
        doc = article_document(article)
        yield {key: value for key, value in doc.items() if value is not None}


def build(
    root: Path,
    sources: Iterable[str | os.PathLike],
    procs: int = 1,
    on_problem: ProblemSink | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Write a complete new index of ``sources`` and make it the live one."""
    sources = [str(s) for s in sources]
    report = IngestReport()
    started = time.perf_counter()
    builds = root / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    target = builds / f"{stamp}.partial"
    target.mkdir()
    try:
        ix = whoosh_index.create_in(str(target), build_schema())
        articles = read_articles(sources, _collect(report, on_problem))
        report.indexed = _write(ix, _documents(articles), procs, progress)
        ix.close()
        report.seconds = time.perf_counter() - started
        _write_meta(target, sources, report)
        final = builds / stamp
        target.rename(final)
        _switch_live(root, final)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return report


def _write(ix: FileIndex, docs: Iterator[dict], procs: int, progress: Progress | None) -> int:
    if procs > 1:
        writer = ix.writer(
            procs=procs, multisegment=True, limitmb=WRITER_MEMORY_MB, codec=NewsCodec()
        )
    else:
        writer = ix.writer(limitmb=WRITER_MEMORY_MB, codec=NewsCodec())
    count = 0
    try:
        for doc in docs:
            writer.add_document(**doc)
            count += 1
            if progress:
                progress(1)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
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
    """Point ``live`` at ``build_dir`` atomically, then remove older builds."""
    previous = live_dir(root)
    temp_link = root / f".{LIVE}.tmp"
    if temp_link.is_symlink() or temp_link.exists():
        temp_link.unlink()
    temp_link.symlink_to(Path(BUILDS) / build_dir.name)
    os.replace(temp_link, root / LIVE)
    for old in (root / BUILDS).iterdir():
        if old != build_dir and old != previous:
            shutil.rmtree(old, ignore_errors=True)


def read_meta(root: Path) -> dict:
    path = live_dir(root)
    if path is None or not (path / META).exists():
        return {}
    return json.loads((path / META).read_text(encoding="utf-8"))


def update(
    root: Path,
    sources: Iterable[str | os.PathLike],
    on_problem: ProblemSink | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Add the articles of ``sources`` to the live index, replacing those with the same id."""
    report = IngestReport()
    started = time.perf_counter()
    ix = open_live(root)
    writer = ix.writer(limitmb=WRITER_MEMORY_MB, codec=NewsCodec())
    try:
        for doc in _documents(read_articles(sources, _collect(report, on_problem))):
            writer.update_document(**doc)
            report.indexed += 1
            if progress:
                progress(1)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    report.seconds = time.perf_counter() - started
    return report


def delete(root: Path, ids: Iterable[str]) -> list[str]:
    """Delete articles by id; returns the ids that were not in the index."""
    ix = open_live(root)
    writer = ix.writer(codec=NewsCodec())
    missing = []
    try:
        for article_id in ids:
            if not writer.delete_by_term("id", article_id):
                missing.append(article_id)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return missing


def stats(root: Path) -> dict:
    """Documents, size on disk, last build time and sources of the live index."""
    ix = open_live(root)
    path = live_dir(root)
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    meta = read_meta(root)
    with ix.searcher() as searcher:
        documents = searcher.doc_count()
    return {
        "index": str(root),
        "documents": documents,
        "size_bytes": size,
        "built_at": meta.get("built_at"),
        "sources": meta.get("sources", []),
    }
