"""The posting lists of a segment's frequent terms, kept decoded as memory-mapped arrays.

At a million generated articles, decoding posting lists was half of all query time (30
of 60.7 s over 200 known-item queries with the default postings cache), and 26 s of it
went to the terms held by at least :data:`FREQUENT_DOCS` documents of a segment: 4,575
of its 847,962 terms, on a 38,877-article segment, but about 28 million postings. Such
a list costs 280 ns a posting to decode (``search.blocks``) and 8 bytes a posting to
cache in each worker, so a cache of any sane size could not hold them all, and a query
of a common word paid tens of milliseconds a segment for it.

Here they are decoded once, when the segment's writer has committed it, and kept under
``arrays/<segment>/frequent/``: the document numbers as int32, the term frequencies as
uint16 (float32 when a weight is not a small whole number), one start offset per term,
and the terms' keys (``field`` + ``\\x1f`` + term) as a :class:`search.termtable.Terms`.
Every worker maps the same pages, and a read is a slice.

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

import numpy as np
from whoosh.index import FileIndex

from search import blocks
from search.layout import arrays_dir, scratch_dir, segment_readers
from search.termtable import Terms, field_terms

FREQUENT_DOCS = 2048
FOLDER = "frequent"
FORMAT = 1
_SEPARATOR = b"\x1f"
_MAX_WHOLE_TF = np.iinfo(np.uint16).max

log = logging.getLogger(__name__)


@dataclass
class FrequentPostings:
    """One segment's frequent-term posting lists (local document numbers)."""

    keys: Terms  # field, separator, term; sorted
    starts: np.ndarray  # int64, the first posting of each key, and the end
    ids: np.ndarray  # int32, ascending within a key
    tf: np.ndarray  # uint16 or float32, one a posting

    def get(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The term's document numbers and weights (float32), or None when it is not
        one of the segment's frequent terms."""
        at = self.keys.find(f"{field}\x1f{term}")
        if at is None:
            return None
        start, end = int(self.starts[at]), int(self.starts[at + 1])
        return self.ids[start:end], self.tf[start:end].astype(np.float32)


def build(leaf, fields: tuple[str, ...]) -> FrequentPostings:
    """Decode the posting lists of ``leaf``'s terms held by FREQUENT_DOCS documents or
    more in any of ``fields``."""
    found: list[tuple[bytes, np.ndarray, np.ndarray]] = []
    for field in fields:
        prefix = field.encode("utf-8") + _SEPARATOR
        encoded, counts = field_terms(leaf, field)
        for term, count in zip(encoded, counts, strict=True):
            if count >= FREQUENT_DOCS:
                ids, tf = blocks.read_list(leaf.postings(field, term.decode("utf-8")))
                found.append((prefix + term, ids.astype(np.int32), tf))
    found.sort(key=lambda entry: entry[0])
    starts = np.zeros(len(found) + 1, dtype=np.int64)
    np.cumsum([entry[1].size for entry in found], out=starts[1:])
    ids = np.concatenate([e[1] for e in found]) if found else np.zeros(0, np.int32)
    tf = np.concatenate([e[2] for e in found]) if found else np.zeros(0, np.float32)
    whole = tf.size == 0 or (
        bool((tf == np.round(tf)).all()) and tf.min() >= 0 and tf.max() <= _MAX_WHOLE_TF
    )
    return FrequentPostings(
        Terms.encoded([entry[0] for entry in found]),
        starts,
        ids,
        tf.astype(np.uint16) if whole else tf,
    )


def keep(ix: FileIndex) -> None:
    """Keep the frequent postings of every segment of ``ix`` whose arrays are kept but
    lack them. Failing loses nothing (readers decode instead), so it only logs."""
    folder = arrays_dir(ix)
    try:
        with ix.reader() as reader:
            for leaf in segment_readers(reader):
                segment = folder / leaf._segment.segment_id()
                if segment.is_dir() and read(segment, leaf.doc_count_all()) is None:
                    fields = tuple(n for n, f in leaf.schema.items() if f.scorable)
                    write(segment, build(leaf, fields), leaf.doc_count_all())
    except OSError as error:
        log.warning("could not keep the frequent postings of %s: %r", ix.storage.folder, error)


def write(segment: Path, postings: FrequentPostings, size: int) -> None:
    """Write them into ``segment/frequent``, whole or not at all."""
    scratch = scratch_dir(segment, f".{FOLDER}-")
    try:
        named = {
            "keys": postings.keys._blob,
            "key_offsets": postings.keys._offsets,
            "key_hashes": postings.keys._hashes,
            "key_order": postings.keys._order,
            "starts": postings.starts,
            "ids": postings.ids,
            "tf": postings.tf,
        }
        for name, values in named.items():
            np.save(scratch / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
        meta = {"format": FORMAT, "size": size, "threshold": FREQUENT_DOCS}
        (scratch / "meta.json").write_text(json.dumps(meta))
        try:
            os.rename(scratch, segment / FOLDER)
        except OSError:
            if not (segment / FOLDER / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read(segment: Path, size: int) -> FrequentPostings | None:
    """The kept frequent postings of a segment of ``size`` documents, memory-mapped;
    None when there are none, or they are torn or of another format."""
    path = segment / FOLDER
    try:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT or meta.get("size") != size:
            return None

        def mapped(name: str) -> np.ndarray:
            return np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)

        offsets, starts, ids, tf = (mapped(n) for n in ("key_offsets", "starts", "ids", "tf"))
        count = len(offsets) - 1
        keys = Terms(mapped("keys"), offsets, mapped("key_hashes"), mapped("key_order"))
        sound = (
            len(keys._blob) == offsets[-1]
            and len(keys._hashes) == len(keys._order) == count
            and starts.shape == (count + 1,)
            and ids.shape == tf.shape == (int(starts[-1]),)
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return FrequentPostings(keys, starts, ids, tf) if sound else None
