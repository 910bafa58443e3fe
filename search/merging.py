"""Merging segments in the background, by a tiered policy, without blocking anyone.

Updates commit a new segment each and never merge (Whoosh's default merges small
segments inside the commit, so an update's acknowledgement waited for them). A stream
of small updates would then grow the segment count without bound, and every query
pays per segment; so segments are merged here, as Lucene's log/tiered policies do:

* A segment's *tier* is the power of ``MERGE_FACTOR`` its live documents reach, above
  ``FLOOR_DOCS`` (all smaller segments share tier 0). When a tier holds
  ``MERGE_FACTOR`` segments or more, they are merged into one (as many as fit under
  the size limit, smallest first; fewer than ``MERGE_FACTOR`` are not merged). A merge
  in tier 1 or above makes a segment of a higher tier, so each article is rewritten
  about once per tier and a tier keeps fewer than ``MERGE_FACTOR`` segments: the
  count grows with the logarithm of the archive, not with the number of updates.
* Tier 0 is merged whole: a merge of small segments may make one that is still in
  tier 0, and merging only the ``MERGE_FACTOR`` smallest would pass it over again and
  again. It did: the policy merged the 8 smallest, and in a stream of 12-article
  updates at 5 a second into a million articles the merged segments of 96 articles
  piled up in tier 0 while each new merge took the fresh 12-article ones (29 segments
  became 58 in ten minutes). ``FLOOR_DOCS`` is 100, not 1,000, for the same stream:
  with 1,000 an article went through about 7 merges in tier 0 before it left it
  (simulated: 7.6 merged articles per streamed one, 2.3 with 100).
* A segment with more than ``MAX_DELETED_SHARE`` of its documents deleted (replaced
  articles) is rewritten alone, which drops them.
* No merge makes a segment above ``MAX_MERGED_DOCS``, and the segments a build writes
  (one per ``indexer.SEGMENT_TEXT_BYTES`` of text) are larger than a merge of them
  may be.

A merge writes its segment with ``search.merge_writer``: the stored fields, lengths and
columns through Whoosh's own per-document copy, the postings a whole term list at a time
from the sources' files, in term order, one list in memory at a time. Merging 4
segments of 1,000 generated articles took 19 s that way, Whoosh's ``add_reader`` (each
posting stepped through a matcher, pooled and sorted again) 131 s, and indexing the
articles anew from their stored fields with the bulk writer, which the smaller merges
used to do, 48 s, holding the whole segment's postings in memory (about 10 bytes a byte
of text); all three under the same profiler (10.5 s without it). A merge of the 8
segments of tier 3 at a million articles (185,000 articles) would have taken about 100
minutes of a core through ``add_reader``; it took 340 s.

A merge never blocks readers or writers. Under the writer lock it only picks the
segments and, at the end, swaps them for the merged one in a new table of contents;
the merged segment is written between the two, unlocked, in a scratch folder that
writers' garbage collection leaves alone. Articles deleted or replaced meanwhile are
deleted in the merged segment too (its document numbers follow from the snapshot).
If the live index was rebuilt or a chosen segment vanished, the merge is dropped.

Merges run in two lanes, each one merge at a time per index (a ``flock``), in any
process: the merges of tier 0, and those of larger segments. With one lane, a merge of 8
segments and 10,462 articles in the 1M stream (Whoosh's ``add_reader``: 339 s) held up
every small merge meanwhile, and 215 segments piled up; with the lanes split at 2,000
articles, merges of 1,200 (25-28 s) still held up those of tier 0, and 18 segments waited.
The lanes merge segments of different tiers; should deletions move a segment into tier 0
while a merge of the other lane holds it, the second of the two merges to finish finds it
gone and is dropped, as any merge whose segments changed.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import shutil
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh.index import TOC
from whoosh.reading import SegmentReader

from search import frequent, segments
from search.durable import INDEX_NAME, create_durable, discard_garbage, fsync_path
from search.indexer import writing
from search.layout import (
    ARRAYS,
    SegmentInfo,
    arrays_dir,
    live_dir,
    open_live,
    scorable_fields,
    segment_info,
    segments_of,
)
from search.merge_writer import MergeWriter

MERGE_FACTOR = 8
FLOOR_DOCS = 100
MAX_DELETED_SHARE = 0.3
MAX_MERGED_DOCS = 200_000
#: Merges run in two lanes, each one merge at a time: those of tier 0 (the segments of
#: updates), and those of larger segments, which never hold up the first.
LANES = ("small", "large")
LOCK_WAIT_SECONDS = 60.0

log = logging.getLogger(__name__)


@dataclass
class MergeReport:
    merged: list[str]  # segment ids replaced
    into: str | None  # the new segment's id (None: every document was deleted)
    documents: int
    seconds: float


def tier(documents: int) -> int:
    """Tier 0 up to ``FLOOR_DOCS`` live documents, then one more per ``MERGE_FACTOR``×."""
    if documents <= FLOOR_DOCS:
        return 0
    return 1 + int(math.log(documents / FLOOR_DOCS, MERGE_FACTOR))


def choose(infos: list[SegmentInfo], lane: str | None = None) -> list[str]:
    """The ids of the segments to merge next (none: the index is within the policy), in
    ``lane`` (None: either)."""
    for info in infos:
        mostly_deleted = info.documents and info.deleted / info.documents > MAX_DELETED_SHARE
        if mostly_deleted and lane in (None, lane_of(tier(info.live))):
            return [info.segment_id]
    tiers: dict[int, list[SegmentInfo]] = {}
    for info in infos:
        tiers.setdefault(tier(info.live), []).append(info)
    for level in sorted(tiers):
        chosen, documents = [], 0
        for info in sorted(tiers[level], key=lambda info: info.live):
            if documents + info.live > MAX_MERGED_DOCS:
                break
            chosen.append(info.segment_id)
            documents += info.live
        if len(chosen) >= MERGE_FACTOR and lane in (None, lane_of(level)):
            return chosen
    return []


def lane_of(level: int) -> str:
    """The lane of a merge of segments of tier ``level``."""
    return "small" if level == 0 else "large"


def waiting(infos: list[SegmentInfo]) -> int:
    """How many segments fewer the index would have once the policy made every merge it
    wants now: how far merging is behind the updates."""
    infos, fewer = list(infos), 0
    while chosen := set(choose(infos)):
        live = sum(info.live for info in infos if info.segment_id in chosen)
        infos = [info for info in infos if info.segment_id not in chosen]
        if live:
            infos.append(SegmentInfo(f"merged-{fewer}", live, 0))
        fewer += len(chosen) - bool(live)
    return fewer


def segment_infos(root: Path) -> list[SegmentInfo]:
    """The segments of the live index, in index order."""
    return segments_of(open_live(root))


# -- running a merge ------------------------------------------------------------------


def merge_once(
    root: Path, written: Callable[[], object] | None = None, lane: str = "small"
) -> MergeReport | None:
    """Run the next merge the policy wants in ``lane``, if any and if no other merge of
    the lane is running.

    ``written`` is called once the merged segment is written, before it is swapped in
    (where deletions made meanwhile are carried over: tests delete there).
    """
    with _merge_lock(root, lane) as held:
        if not held:
            return None
        started = time.perf_counter()
        with writing(root, LOCK_WAIT_SECONDS):
            folder = live_dir(root)
            ix = open_live(root)
            toc = TOC.read(ix.storage, INDEX_NAME)
            infos = [segment_info(segment) for segment in toc.segments]
            chosen_ids = choose(infos, lane)
            if not chosen_ids:
                return None
            # In index order, and the merged segment takes the place of the first: the
            # articles keep their order, and with it results that tie keep theirs.
            chosen = [segment for segment in toc.segments if segment.segment_id() in chosen_ids]
            snapshot = {s.segment_id(): frozenset(s.deleted_docs()) for s in chosen}
        scratch = folder / f"merging-{lane}.tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        try:
            merged = _write_merged(ix, chosen, scratch)
            if written is not None:
                written()
            with writing(root, LOCK_WAIT_SECONDS):
                if live_dir(root) != folder:
                    log.info("merge dropped: the index was rebuilt meanwhile")
                    return None
                current = open_live(root)
                toc = TOC.read(current.storage, INDEX_NAME)
                present = {segment.segment_id(): segment for segment in toc.segments}
                if not all(segment_id in present for segment_id in chosen_ids):
                    log.info("merge dropped: its segments changed meanwhile")
                    return None
                if merged is not None:
                    _delete_since(merged, chosen, snapshot, present)
                    for path in scratch.glob(f"{merged.segment_id()}.*"):
                        os.rename(path, folder / path.name)
                    fsync_path(folder)
                    _move_arrays(scratch / ARRAYS, arrays_dir(current), merged.segment_id())
                after_merge = _replaced(toc.segments, snapshot, merged)
                TOC(toc.schema, after_merge, toc.generation + 1).write(current.storage, INDEX_NAME)
                after = open_live(root)
                discard_garbage(after)
                segments.keep(after)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if merged is not None:
            frequent.keep(after)  # seconds for a large segment: not under the lock
        report = MergeReport(
            chosen_ids,
            merged.segment_id() if merged is not None else None,
            merged.doc_count() if merged is not None else 0,
            time.perf_counter() - started,
        )
        log.info(
            "merged %d segments into %s (%d documents) in %.1f s",
            len(report.merged),
            report.into,
            report.documents,
            report.seconds,
        )
        return report


def merge_while_needed(root: Path) -> list[MergeReport]:
    """Merge until the policy is content (or other processes are merging)."""
    reports = []
    while (report := merge_once(root, lane="small") or merge_once(root, lane="large")) is not None:
        reports.append(report)
    return reports


def _write_merged(ix, chosen: list, scratch: Path):
    """The chosen segments (their documents live at the snapshot) as one new segment
    written into ``scratch``, or None when none of their documents is live."""
    if not sum(segment.doc_count() for segment in chosen):
        return None
    target = create_durable(scratch, ix.schema)
    readers = [SegmentReader(ix.storage, ix.schema, segment) for segment in chosen]
    try:
        _copy_postings(target, readers)
    finally:
        for reader in readers:
            reader.close()
    (merged,) = TOC.read(target.storage, INDEX_NAME).segments
    _keep_arrays(target, merged, scratch / ARRAYS)
    return merged


def _keep_arrays(target, merged, folder: Path) -> None:
    """Keep the merged segment's arrays and frequent postings in ``folder`` now, unlocked;
    the swap moves them beside the live ones. Kept after the swap, under the writer lock,
    they could be missing when a server reopened, and the reopen built them itself while
    its search waited (seconds for a merged segment at a million articles)."""
    with SegmentReader(target.storage, target.schema, merged) as leaf:
        segments.load(leaf, folder).close()
        postings = frequent.build(leaf, scorable_fields(target.schema))
    if (folder / merged.segment_id()).is_dir():
        frequent.write(folder / merged.segment_id(), postings)


def _move_arrays(scratch: Path, live: Path, segment_id: str) -> None:
    """Move the merged segment's kept arrays beside the live ones (if they could not be,
    the writer's ``segments.keep`` after the swap builds them)."""
    try:
        live.mkdir(exist_ok=True)
        os.rename(scratch / segment_id, live / segment_id)
    except OSError as error:
        log.info("the arrays of %s are kept after the swap: %r", segment_id, error)


def _copy_postings(target, readers: list) -> None:
    """The live documents of ``readers``, in order, their postings copied a term at a
    time (``search.merge_writer``)."""
    writer = MergeWriter(target)
    try:
        for reader in readers:
            writer.add_segment(reader)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(merge=False)


def _replaced(current: list, merged_away: dict, merged) -> list:
    """The segments of ``current`` with ``merged`` in place of the first of those merged
    away, and the others of them left out."""
    result, placed = [], False
    for segment in current:
        if segment.segment_id() not in merged_away:
            result.append(segment)
        elif not placed:
            placed = True
            if merged is not None:
                result.append(merged)
    return result


def _delete_since(merged, chosen: list, snapshot: dict, present: dict) -> None:
    """Delete in ``merged`` what was deleted in its sources after the snapshot.

    ``add_reader`` copies each source's live documents in order, so a source document's
    number in the merged segment is its rank among the snapshot's live documents.
    """
    base = 0
    for segment in chosen:
        segment_id = segment.segment_id()
        before = sorted(snapshot[segment_id])
        now = frozenset(present[segment_id].deleted_docs())
        for docnum in sorted(now - snapshot[segment_id]):
            merged.delete_document(base + docnum - bisect_left(before, docnum))
        base += segment.doc_count_all() - len(before)


@contextmanager
def _merge_lock(root: Path, lane: str) -> Iterator[bool]:
    """Whether this process holds the merge lock of ``lane`` of ``root`` for the block."""
    path = root / f".merge-{lane}.lock"
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class BackgroundMerger:
    """Merges of one index in threads of this process, a thread a lane, asked for after
    each commit.

    ``poke`` returns at once; a merge already running picks up what the new commit
    needs when it looks again. ``reports`` has each merge as soon as it is swapped in.
    ``close`` waits for the merges in progress, and starts no other.
    """

    def __init__(self, root: Path):
        self.root = root
        self.reports: list[MergeReport] = []
        self._closing = False
        self._wanted = {lane: threading.Event() for lane in LANES}
        self._threads = [
            threading.Thread(target=self._run, args=(lane,), name=f"merger-{lane}", daemon=True)
            for lane in LANES
        ]
        for thread in self._threads:
            thread.start()

    def poke(self) -> None:
        for wanted in self._wanted.values():
            wanted.set()

    def close(self) -> None:
        self._closing = True
        self.poke()
        for thread in self._threads:
            thread.join()

    def _run(self, lane: str) -> None:
        wanted = self._wanted[lane]
        while True:
            wanted.wait()
            wanted.clear()
            if self._closing:
                return
            try:
                while not self._closing and (report := merge_once(self.root, lane=lane)):
                    self.reports.append(report)
            except Exception:  # noqa: BLE001 - a failed merge loses nothing; say so and go on
                log.exception("background merge of %s failed", self.root)
