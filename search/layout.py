"""The layout of an index folder, for readers and writers alike.

    index/live -> builds/<stamp>   symlink to the index readers use
    index/builds/<stamp>/          one complete Whoosh index each, with build.json
    index/builds/<stamp>.partial/  a build being written (or left by a failed one)
    index/builds/<stamp>/arrays/   per-segment document arrays (see ``search.segments``)
    index/.writer.lock(.json)      the writer lock (see ``search.locking``)

The read side (``searching``, ``check``, the web) needs only this module and the schema,
never the writer (``search.indexer``), which brings the bulk writer and its processes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from whoosh.index import TOC, EmptyIndexError, FileIndex

from search.durable import INDEX_NAME, open_durable

DEFAULT_INDEX = Path("index")
LIVE = "live"
BUILDS = "builds"
PARTIAL = ".partial"
LIVE_TEMP = f".{LIVE}.tmp"
META = "build.json"
ARRAYS = "arrays"
OPEN_RETRIES = 20  # a reader opening while a writer commits may see a file vanish
OPEN_RETRY_SECONDS = 0.05


@dataclass(frozen=True)
class SegmentInfo:
    segment_id: str
    documents: int  # all, deleted included
    deleted: int

    @property
    def live(self) -> int:
        return self.documents - self.deleted


def segment_info(segment) -> SegmentInfo:
    """What a Whoosh segment (of a table of contents) holds."""
    return SegmentInfo(segment.segment_id(), segment.doc_count_all(), segment.deleted_count())


def scorable_fields(schema) -> tuple[str, ...]:
    """The fields whose lengths are kept per segment: those BM25 scores."""
    return tuple(name for name, field in schema.items() if field.scorable)


def whoosh_segments(index: FileIndex) -> list:
    """The Whoosh segments of an opened index, in index order (from its table of contents)."""
    return TOC.read(index.storage, INDEX_NAME).segments


def segments_of(index: FileIndex) -> list[SegmentInfo]:
    """The segments of an opened index, in index order (from its table of contents)."""
    return [segment_info(s) for s in whoosh_segments(index)]


def segment_readers(reader) -> list:
    """The per-segment readers of a Whoosh reader (itself, when it reads one segment;
    none, when the index is empty)."""
    if reader.doc_count_all() == 0:
        return []
    if reader.is_atomic():
        return [reader]
    return [leaf for leaf, _ in reader.leaf_readers()]


def scratch_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` to fill and then rename into place, readable by
    whoever may read ``parent``: ``mkdtemp`` makes it for its owner alone, so a server
    run as another user than the writer could not map the arrays renamed from it."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(scratch, parent.stat().st_mode & 0o777)
    return scratch


class IndexMissing(Exception):
    """There is no live index in the folder yet."""


def resolve_index_dir(option: str | os.PathLike | None = None) -> Path:
    """``--index``, else ``NEWS_SEARCH_INDEX``, else ``index/``."""
    return Path(option or os.environ.get("NEWS_SEARCH_INDEX") or DEFAULT_INDEX)


def live_dir(root: Path) -> Path | None:
    """The folder of the live index, or None when none has been built."""
    link = root / LIVE
    if not link.exists():
        return None
    return link.resolve()


def arrays_dir(index: FileIndex) -> Path:
    """Where the per-segment arrays of an opened index are kept."""
    return Path(index.storage.folder) / ARRAYS


class LiveIndex(FileIndex):
    """A FileIndex whose refreshed searchers never reuse (or close) the old readers.

    Whoosh's ``Searcher.refresh()`` reuses the reader of every segment whose id is
    unchanged, but a segment's deletions live in the reader's copy of the segment:
    a reused reader would go on showing deleted and replaced articles (a replaced
    one twice). It also closes the readers it does not reuse, under requests still
    running on the old searcher. Fresh readers cost little (they open the files, reading
    little of them); the old ones are closed when the last request using them lets go.
    """

    def reader(self, reuse=None):
        return super().reader(reuse=None)


def open_live(root: Path) -> FileIndex:
    """The live index, for reading or writing.

    Opening reads the newest table of contents; a writer committing at that moment
    may delete it (or a build may remove an old build) between the listing and the
    reading, so a vanished file is retried, as Whoosh's own reader does.
    """
    for attempt in range(OPEN_RETRIES):
        path = live_dir(root)
        if path is None or not path.is_dir():
            break
        try:
            return open_durable(path, LiveIndex)
        except EmptyIndexError:
            break
        except FileNotFoundError:
            if attempt == OPEN_RETRIES - 1:
                raise
            time.sleep(OPEN_RETRY_SECONDS)
    raise IndexMissing(f"no index in {root.absolute()}: run `news-search index build` first")


def read_meta(root: Path) -> dict:
    path = live_dir(root)
    if path is None or not (path / META).exists():
        return {}
    return json.loads((path / META).read_text(encoding="utf-8"))
