"""The posting lists of a segment's frequent terms, kept decoded as memory-mapped arrays.

At a million generated articles, decoding posting lists was half of all query time (30
of 60.7 s over 200 known-item queries with the default postings cache), and 26 s of it
went to the terms held by at least :data:`FREQUENT_DOCS` documents of a segment: 4,575
of its 847,962 terms, on a 38,877-article segment, but about 28 million postings. Such
a list costs 280 ns a posting to decode (``search.blocks``) and 8 bytes a posting to
cache in each worker, so a cache of any sane size could not hold them all, and a query
of a common word paid tens of milliseconds a segment for it.

Here they are decoded once, when the segment's writer has committed it, and kept under
``arrays/<segment>/frequent/``, with the terms' keys (``field`` + ``\\x1f`` + term) as a
:class:`search.termtable.Terms`. Every worker shares the same pages.

The threshold was 2,048 documents. With the common terms kept, the lists of 512 to 2,047
documents a segment were the next cost: 10.5 ms of a 76 ms known-item query at a million
articles (200 queries, each asked once, as the server is asked), and 4.4 ms more went to
those of 128 to 511. At 256, the kept postings of that index grow from 1.3 to 3.1 GB
(beside 16 GB of index), and such a query's p50 went from 67-73 to 60-64 ms. Lists and
weights are read with ``pread`` (``search.preads``): a term's list in each of 40
segments, read through the maps, would soon have counted most of these gigabytes in
every worker's memory. Segments kept with another threshold are read as they are: a
reader takes the terms it finds kept and decodes the others, and merges keep their new
segments with this one.

A frequent term's documents are kept as a bitmap of the segment (one bit a document)
when that is smaller than a list of int32 numbers, which it is for every term held by
more than one document in 32: on a generated segment of 38,695 articles, all 4,577
frequent terms. Term frequencies are kept as uint8, the few over 255 (43 of 28 million
postings there) apart with their place. Both were int32 and uint16 before: 168 MB a
segment, now 50 MB. Queries touch most of these pages: at 200,000 generated articles they
were 832 of the 1,513 MB that a two-worker server held after 1,000 queries, 239 MB now.
(Weights that are not small whole numbers are kept as float32.)

Like the other arrays, these are a cache of what the segment holds. A reader never
builds them (that costs seconds a segment): without them, or with them torn, it decodes
the lists as before. Only writers keep them, after the commit (``keep``); a merge keeps
them for its merged segment after it has let go of the writer lock.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from whoosh.index import FileIndex
from whoosh.reading import SegmentReader

from search import blocks
from search.layout import arrays_dir, scorable_fields, scratch_dir, whoosh_segments
from search.preads import read_span
from search.termtable import Terms, field_terms

FREQUENT_DOCS = 256
FOLDER = "frequent"
FORMAT = 2
_SEPARATOR = "\x1f"
_MAX_SMALL_TF = int(np.iinfo(np.uint8).max)
_ARRAYS = (
    "keys", "key_offsets", "key_hashes", "key_order", "starts", "bitmaps", "bits", "ids",
    "id_starts", "tf", "over_at", "over_tf",
)  # fmt: skip

log = logging.getLogger(__name__)


def key(field: str, term: str) -> str:
    """How the term of a field is known among the kept ones."""
    return f"{field}{_SEPARATOR}{term}"


def bitmap_bytes(size: int) -> int:
    """The bytes of a bitmap of a segment of ``size`` documents."""
    return (size + 7) // 8


@dataclass
class FrequentPostings:
    """One segment's frequent-term posting lists (local document numbers)."""

    keys: Terms  # field, separator, term; sorted
    size: int  # documents of the segment, the bits of a bitmap
    starts: np.ndarray  # int64, the first posting of each key (in ``tf``), and the end
    bitmaps: np.ndarray  # int32 a key: its bitmap's number in ``bits``, -1 for a list
    bits: np.ndarray  # uint8, the bitmaps one after another, ``bitmap_bytes(size)`` each
    ids: np.ndarray  # int32, the lists of the keys without a bitmap, ascending within one
    id_starts: np.ndarray  # int64 a key: where its list starts in ``ids`` (0 for a bitmap)
    tf: np.ndarray  # uint8 (float32 when a weight is not whole), one a posting
    over_at: np.ndarray  # int64, ascending: the postings whose frequency is over 255,
    over_tf: np.ndarray  # float32, and that frequency (their uint8 ``tf`` says 255)
    # the files of kept ``ids`` and ``tf``, open while these live: lists and weights are
    # read from them with ``pread`` (``search.preads``), not through their maps
    files: tuple[BinaryIO, BinaryIO] | None = None

    def bitmap(self, at: int) -> np.ndarray | None:
        """The bitmap (``np.packbits`` order) of the documents of kept term ``at`` (its
        place among the keys), or None when they are kept as a list."""
        slot = int(self.bitmaps[at])
        if slot < 0:
            return None
        width = bitmap_bytes(self.size)
        return self.bits[slot * width : (slot + 1) * width]

    def count(self, at: int) -> int:
        """The postings of kept term ``at``."""
        return int(self.starts[at + 1] - self.starts[at])

    def documents(self, at: int) -> np.ndarray:
        """The document numbers of kept term ``at``, ascending."""
        bitmap = self.bitmap(at)
        if bitmap is not None:
            # nonzero of a bool array: 3-5 times as fast as of the unpacked uint8 one
            return np.unpackbits(bitmap, count=self.size).view(bool).nonzero()[0]
        first = int(self.id_starts[at])
        return self._span(0, first, first + self.count(at))

    def weights(self, at: int) -> np.ndarray:
        """The weights (float32) of kept term ``at``, in the order of its documents."""
        start, end = int(self.starts[at]), int(self.starts[at + 1])
        tf = self._span(1, start, end).astype(np.float32)
        if self.over_at.size:
            low, high = np.searchsorted(self.over_at, (start, end))
            tf[self.over_at[low:high] - start] = self.over_tf[low:high]
        return tf

    def weights_at(self, at: int, ranks: np.ndarray) -> np.ndarray:
        """The weights (float32) of kept term ``at``'s postings number ``ranks``
        (ascending): read from the first to the last, converted only where asked."""
        start = int(self.starts[at])
        first, last = start + int(ranks[0]), start + int(ranks[-1]) + 1
        tf = self._span(1, first, last)[ranks - (first - start)].astype(np.float32)
        if self.over_at.size:
            low, high = np.searchsorted(self.over_at, (first, last))
            if low < high:  # the few weights over 255, where asked
                over = np.searchsorted(ranks + start, self.over_at[low:high])
                asked = over < ranks.size
                asked[asked] = ranks[over[asked]] + start == self.over_at[low:high][asked]
                tf[over[asked]] = self.over_tf[low:high][asked]
        return tf

    def _span(self, which: int, start: int, end: int) -> np.ndarray:
        """Items ``start:end`` of ``ids`` (0) or ``tf`` (1): read from their file when
        they are kept (``read`` maps them and opens ``files``), sliced when built here."""
        kept = (self.ids, self.tf)[which]
        if self.files is None:
            return kept[start:end]
        return read_span(self.files[which], kept, start, end)

    def close(self) -> None:
        """Close the files opened with the kept arrays (their maps stay readable)."""
        for file in self.files or ():
            file.close()


def build(leaf, fields: tuple[str, ...]) -> FrequentPostings:
    """Decode the posting lists of ``leaf``'s terms held by FREQUENT_DOCS documents or
    more in any of ``fields``.

    Each list is packed as soon as it is decoded (``_Packer``): decoded all first, the
    lists of a merged segment of 45,000 generated articles held 1.2 GB at once (8 bytes
    a document number and 4 a weight, then copied again to be packed), and those of a
    merge of 185,000 articles about 5 GB."""
    packer = _Packer(leaf.doc_count_all())
    for field in sorted(fields):  # keys in order: a field's all start with its name
        prefix = key(field, "").encode("utf-8")
        encoded, counts = field_terms(leaf, field)
        for term, count in zip(encoded, counts, strict=True):
            if count >= FREQUENT_DOCS:
                ids, tf = blocks.read_list(leaf.postings(field, term.decode("utf-8")))
                packer.add(prefix + term, ids, tf)
    return packer.packed()


def pack(found: list[tuple[bytes, np.ndarray, np.ndarray]], size: int) -> FrequentPostings:
    """The kept form of posting lists ``(key, document numbers, weights)``, in key
    order, of a segment of ``size`` documents (see ``_Packer``)."""
    packer = _Packer(size)
    for entry in found:
        packer.add(*entry)
    return packer.packed()


class _Packer:
    """Posting lists packed one by one, in key order: each list as a bitmap where that is
    the smaller, the weights as uint8 with those over 255 apart (as float32 when any
    weight is not a whole number)."""

    def __init__(self, size: int):
        self.size = size
        self.width = bitmap_bytes(size)
        self.keys: list[bytes] = []
        self.counts: list[int] = []
        self.bitmaps: list[int] = []
        self.id_starts: list[int] = []
        self.bit_parts: list[np.ndarray] = []
        self.id_parts: list[np.ndarray] = []
        self.listed = 0
        self.tf_parts: list[np.ndarray] = []  # uint8 while every weight is whole
        self.whole = True
        self.over_at: list[np.ndarray] = []
        self.over_tf: list[np.ndarray] = []
        self.postings = 0

    def add(self, key: bytes, ids: np.ndarray, tf: np.ndarray) -> None:
        self.keys.append(key)
        self.counts.append(ids.size)
        if self.width < 4 * ids.size:
            holding = np.zeros(self.size, dtype=bool)
            holding[ids] = True
            self.bitmaps.append(len(self.bit_parts))
            self.id_starts.append(0)
            self.bit_parts.append(np.packbits(holding))
        else:
            self.bitmaps.append(-1)
            self.id_starts.append(self.listed)
            self.listed += ids.size
            self.id_parts.append(ids.astype(np.int32))
        whole = tf.size == 0 or (bool((tf == np.round(tf)).all()) and tf.min() >= 0)
        if self.whole and not whole:  # from now on every weight as float32
            self.whole = False
            self.tf_parts = [self._weights_as_floats()]
        if self.whole:
            over = np.flatnonzero(tf > _MAX_SMALL_TF)
            self.over_at.append(over + self.postings)
            self.over_tf.append(tf[over].astype(np.float32))
            self.tf_parts.append(np.minimum(tf, _MAX_SMALL_TF).astype(np.uint8))
        else:
            self.tf_parts.append(tf.astype(np.float32))
        self.postings += ids.size

    def _weights_as_floats(self) -> np.ndarray:
        """The weights packed so far, as they were (the uint8 ones and those over 255)."""
        floats = _joined(self.tf_parts, np.float32)
        floats[_joined(self.over_at, np.int64)] = _joined(self.over_tf, np.float32)
        self.over_at, self.over_tf = [], []
        return floats

    def packed(self) -> FrequentPostings:
        starts = np.zeros(len(self.keys) + 1, dtype=np.int64)
        np.cumsum(self.counts, out=starts[1:])
        return FrequentPostings(
            Terms.encoded(self.keys),
            self.size,
            starts,
            np.asarray(self.bitmaps, dtype=np.int32),
            _joined(self.bit_parts, np.uint8),
            _joined(self.id_parts, np.int32),
            np.asarray(self.id_starts, dtype=np.int64),
            _joined(self.tf_parts, np.uint8 if self.whole else np.float32),
            _joined(self.over_at, np.int64),
            _joined(self.over_tf, np.float32),
        )


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def keep(ix: FileIndex) -> None:
    """Keep the frequent postings of every segment of ``ix`` whose arrays are kept but
    lack them (known by their ``meta.json``: only those segments are opened). Failing
    loses nothing (readers decode instead), so it only logs."""
    folder = arrays_dir(ix)
    try:
        for segment in whoosh_segments(ix):
            kept = folder / segment.segment_id()
            if not kept.is_dir() or _kept(kept / FOLDER, segment.doc_count_all()):
                continue
            with SegmentReader(ix.storage, ix.schema, segment) as leaf:
                write(kept, build(leaf, scorable_fields(leaf.schema)))
    except OSError as error:
        log.warning("could not keep the frequent postings of %s: %r", ix.storage.folder, error)


def _kept(path: Path, size: int) -> bool:
    """Whether ``path`` holds frequent postings of this format for ``size`` documents."""
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT and meta.get("size") == size


def write(segment: Path, postings: FrequentPostings) -> None:
    """Write them into ``segment/frequent``, whole or not at all; kept postings of an
    older format there are replaced."""
    scratch = scratch_dir(segment, f".{FOLDER}-")
    try:
        keys = postings.keys
        named = {
            "keys": keys._blob,
            "key_offsets": keys._offsets,
            "key_hashes": keys._hashes,
            "key_order": keys._order,
            **{name: getattr(postings, name) for name in _ARRAYS[4:]},
        }
        for name, values in named.items():
            np.save(scratch / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
        meta = {"format": FORMAT, "size": postings.size, "threshold": FREQUENT_DOCS}
        (scratch / "meta.json").write_text(json.dumps(meta))
        _put(scratch, segment / FOLDER)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _put(scratch: Path, target: Path) -> None:
    """Rename ``scratch`` to ``target``, unless another writer has kept them there in
    this format already; an older format's folder is moved aside and removed (readers
    that mapped its files keep them until they let go)."""
    try:
        os.rename(scratch, target)
        return
    except OSError:
        if _format(target) == FORMAT:
            return
        if not target.exists():
            raise
    aside = scratch_dir(target.parent, f".{FOLDER}-old-")
    os.rename(target, aside / FOLDER)
    try:
        os.rename(scratch, target)
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def _format(path: Path) -> int | None:
    try:
        return json.loads((path / "meta.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return None


def read(segment: Path, size: int) -> FrequentPostings | None:
    """The kept frequent postings of a segment of ``size`` documents, memory-mapped;
    None when there are none, or they are torn or of another format."""
    path = segment / FOLDER
    try:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT or meta.get("size") != size:
            return None
        arrays = {
            name: np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            for name in _ARRAYS
        }
        offsets, starts, bitmaps = arrays["key_offsets"], arrays["starts"], arrays["bitmaps"]
        count = len(offsets) - 1
        keys = Terms(arrays["keys"], offsets, arrays["key_hashes"], arrays["key_order"])
        postings = int(starts[-1])
        listed = bitmaps < 0
        sound = (
            len(keys._blob) == offsets[-1]
            and len(keys._hashes) == len(keys._order) == count
            and starts.shape == (count + 1,)
            and bitmaps.shape == arrays["id_starts"].shape == (count,)
            and arrays["bits"].shape == (int((~listed).sum()) * bitmap_bytes(size),)
            and arrays["ids"].shape == (int(np.diff(starts)[listed].sum()),)
            and arrays["tf"].shape == (postings,)
            and arrays["over_at"].shape == arrays["over_tf"].shape
        )
        if not sound:
            return None
        # open while the postings are used (``FrequentPostings.files``)
        ids_file = open(path / "ids.npy", "rb", buffering=0)  # noqa: SIM115
        tf_file = open(path / "tf.npy", "rb", buffering=0)  # noqa: SIM115
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
    # Plain views of the maps, but for the two read with ``pread`` (which need the map's
    # file offset): every slice of a ``np.memmap``, and every array made from one, is a
    # memmap again, at some microseconds each (a common word's bitmap is sliced and
    # unpacked in each of 40 segments).
    kept = (
        arrays[name] if name in ("ids", "tf") else np.asarray(arrays[name]) for name in _ARRAYS[4:]
    )
    return FrequentPostings(keys, size, *kept, (ids_file, tf_file))
