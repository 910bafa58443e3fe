"""Per-segment document arrays, built once per segment and kept on disk beside the index.

A Whoosh segment never changes once committed (deletions are kept apart, in the TOC),
so what the ranking needs of its documents (field lengths, dates, source and topic
codes, the surface-form vocabulary) is worked out once per segment, written to
``<index>/arrays/<segment id>/`` as ``.npy`` files, and memory-mapped by every reader:
the workers of a server share the pages, and an update costs work in proportion to
its new segment, not to the corpus. Before, every worker rebuilt these arrays for the
whole index after every commit, looping in Python over every document and field: on
the shared corpus copied 10 times, queries stalled up to 3.8 s after a 10-article
update, and each worker held about 17 KB per article.

The files are a cache: a missing, torn or foreign one is rebuilt from the segment
(and written again when the folder is writable), so a crash while writing them, or
an index built by an older version, costs time once and never a wrong answer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.index import FileIndex
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length
from whoosh.util.times import datetime_to_long

from search import checksums, frequent
from search.duplicates import FINGERPRINT_BYTES
from search.frequent import FrequentPostings
from search.layout import arrays_dir, scorable_fields, scratch_dir, whoosh_segments
from search.preads import read_span
from search.termtable import Terms, field_terms

FORMAT = 3
CATEGORY_FIELDS = ("source", "topic")
VOCABULARY_FIELD = "exact"
NO_DATE = np.iinfo(np.int64).min
_MICROSECONDS_A_DAY = 86_400 * 10**6
_MAX_DATE_VALUE = datetime_to_long(dt.datetime(9999, 1, 1))
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
# Whoosh keeps a field length in one byte; the table turns every byte into its length.
_BYTE_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
#: Private attributes of Whoosh's per-document reader and column readers read here.
COLUMN_INTERNALS = {
    "SegmentReader": ("_perdoc", "_terms", "_segment"),
    "W3PerDocReader": ("_cached_reader",),
    "NumericColumn.Reader": ("_dbfile", "_basepos", "_count", "_typecode", "_default"),
    "FixedBytesColumn.Reader": ("_dbfile", "_basepos", "_count"),
    "VarBytesColumn.Reader": ("_dbfile", "_basepos", "_offsets", "_lengths"),
}

log = logging.getLogger(__name__)


@dataclass
class SegmentArrays:
    """One segment's per-document arrays (local document numbers) and its vocabulary."""

    segment_id: str
    size: int
    lengths: dict[str, np.ndarray]  # float32 field length per document
    dates: np.ndarray  # int64 proleptic ordinals, NO_DATE when unknown
    years: np.ndarray  # int16, 0 when unknown
    codes: dict[str, np.ndarray]  # int32 per category field, -1 for none
    values: dict[str, list[str]]  # what the codes stand for
    terms: Terms  # surface forms, sorted
    counts: np.ndarray  # int32 documents of the segment holding each form
    fingerprints: np.ndarray  # uint8 (size, FINGERPRINT_BYTES), zeros when not fingerprinted
    frequent: FrequentPostings | None = None  # kept by writers only (``search.frequent``)
    # the kept fingerprints' file, open while these arrays live (``fingerprint_rows``)
    fingerprint_file: BinaryIO | None = None

    def fingerprint_rows(self, local: np.ndarray) -> np.ndarray:
        """The fingerprints of these documents (local numbers), a row each; kept ones
        read with ``pread`` (``search.preads``), not through their map."""
        kept, file = self.fingerprints, self.fingerprint_file
        if file is None or not isinstance(kept, np.memmap):
            return np.asarray(kept[local])
        rows = np.empty((local.size, kept.shape[1]), dtype=np.uint8)
        for at, row in enumerate(local.tolist()):
            rows[at] = read_span(file, kept, row, row + 1)[0]
        return rows

    def close(self) -> None:
        """Close the files opened with the kept arrays (their maps stay readable)."""
        if self.fingerprint_file is not None:
            self.fingerprint_file.close()
        if self.frequent is not None:
            self.frequent.close()


def load(leaf, folder: Path | None, loaded: SegmentArrays | None = None) -> SegmentArrays:
    """The arrays of ``leaf`` (a Whoosh segment reader), from ``folder`` when kept there.

    Built from the segment when missing or unreadable, and then kept in ``folder``
    (when it is given and writable) for every later reader. Lengths are kept for every
    scorable field of the schema.

    ``loaded``: the segment's arrays as an earlier generation of this index loaded them,
    taken over as they are, since a segment never changes: a reopen then maps the new
    segment's files only. Mapping some 30 files of each segment was 60% of a reopen at
    200,000 articles in 6 segments, and grows with their number. Frequent postings
    missing then are looked for again (a merge keeps them after its segment is live).
    """
    fields = scorable_fields(leaf.schema)
    segment_id = leaf._segment.segment_id()
    size = leaf.doc_count_all()
    if loaded is not None and loaded.size == size and set(fields) <= loaded.lengths.keys():
        if loaded.frequent is None and folder is not None:
            loaded = replace(loaded, frequent=frequent.read(folder / segment_id, size))
        return loaded
    if folder is not None:
        kept = folder / segment_id
        try:
            return _read(kept, segment_id, size, fields)
        except (OSError, ValueError, KeyError) as error:
            if kept.exists():
                log.warning("rebuilding the arrays of segment %s: %r", segment_id, error)
                shutil.rmtree(kept, ignore_errors=True)
    built = _build(leaf, fields)
    if folder is None:
        return built
    try:
        _write(folder, built)
        return _read(folder / segment_id, segment_id, size, fields)
    except (OSError, ValueError, KeyError) as error:  # a read-only folder: keep them in memory
        log.info("could not keep the arrays of segment %s: %r", segment_id, error)
        return built


def keep(ix: FileIndex) -> None:
    """Build the arrays of every segment of ``ix`` that lacks them, and remove those (and
    the checksum stamps) of segments it no longer has.

    Writers do this after each commit, so that readers find the arrays of a new segment
    ready. It runs after the commit is on the disk: failing here loses nothing (readers
    build what is missing), so it only logs. Only a new segment is opened: the others'
    kept arrays are known by their ``meta.json`` (mapping every segment's arrays to see
    they were there, and opening a reader of every segment, cost 57 ms of each update of
    a million articles in 31 segments).
    """
    folder = arrays_dir(ix)
    fields = scorable_fields(ix.schema)
    try:
        current = []
        for segment in whoosh_segments(ix):
            segment_id = segment.segment_id()
            current.append(segment_id)
            try:
                _check_meta(folder / segment_id, segment_id, segment.doc_count_all(), fields)
                continue
            except (OSError, ValueError, KeyError):
                pass
            with SegmentReader(ix.storage, ix.schema, segment) as leaf:
                load(leaf, folder)
        discard_unused(folder, current)
        checksums.discard_stamps(Path(ix.storage.folder), current)
    except OSError as error:
        log.warning("could not keep the arrays of %s: %r", ix.storage.folder, error)


def discard_unused(folder: Path, segment_ids: Iterable[str]) -> None:
    """Remove the kept arrays of segments that are gone (merged away or rebuilt).

    Readers of an older generation may still map them; on POSIX the pages stay theirs
    until they close.
    """
    keep = set(segment_ids)
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


# -- building from the segment --------------------------------------------------------


def _build(leaf, fields: tuple[str, ...]) -> SegmentArrays:
    size = leaf.doc_count_all()
    perdoc = leaf._perdoc
    lengths = {name: _field_lengths(perdoc, name, size) for name in fields}
    dates = _dates(leaf, size)
    codes, values = {}, {}
    for name in CATEGORY_FIELDS:
        codes[name], values[name] = _categories(leaf, name, size)
    terms, counts = _vocabulary(leaf)
    return SegmentArrays(
        leaf._segment.segment_id(),
        size,
        lengths,
        dates,
        _years(dates),
        codes,
        values,
        terms,
        counts,
        _fingerprints(leaf, size),
    )


def _fingerprints(leaf, size: int) -> np.ndarray:
    """The fingerprint column (``search.duplicates``) of every document, in one read of its
    fixed-width data: the duplicate grouping reads the rows of a search's leaders, which
    through Whoosh's column reader cost a file read and a lock each."""
    rows = np.zeros((size, FINGERPRINT_BYTES), dtype=np.uint8)
    if "fingerprint" not in leaf.schema or not leaf.has_column("fingerprint"):
        return rows
    column = leaf.column_reader("fingerprint", translate=False)
    count = min(column._count, size)
    data = column._dbfile.get(column._basepos, count * FINGERPRINT_BYTES)
    rows[:count] = np.frombuffer(data, dtype=np.uint8).reshape(count, FINGERPRINT_BYTES)
    return rows


def _field_lengths(perdoc, name: str, size: int) -> np.ndarray:
    """A field's length per document, from its one-byte-a-document column, read whole."""
    reader = perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
    lengths = np.zeros(size, dtype=np.float32)
    if reader is None:  # no document has the field
        return lengths
    count = min(reader._count, size)
    raw = np.frombuffer(reader._dbfile.get(reader._basepos, count), dtype=np.uint8)
    lengths[:count] = _BYTE_LENGTHS[raw]
    return lengths


def _dates(leaf, size: int) -> np.ndarray:
    """Dates as proleptic ordinals (NO_DATE when unknown).

    Read raw: Whoosh stores a datetime as microseconds since ``datetime.min``, and an
    article without a date as an out-of-range default.
    """
    dates = np.full(size, NO_DATE, dtype=np.int64)
    if not leaf.has_column("date"):
        return dates
    column = leaf.column_reader("date", translate=False)
    count = min(column._count, size)
    raw = np.full(size, column._default, dtype=np.uint64)
    width = np.dtype(column._typecode).itemsize
    data = column._dbfile.get(column._basepos, count * width)
    raw[:count] = np.frombuffer(data, dtype=">" + column._typecode)
    valid = (raw > 0) & (raw < _MAX_DATE_VALUE)
    ordinals = (raw // _MICROSECONDS_A_DAY).astype(np.int64) + 1
    return np.where(valid, ordinals, NO_DATE)


def _years(dates: np.ndarray) -> np.ndarray:
    years = np.zeros(dates.size, dtype=np.int16)
    dated = dates != NO_DATE
    days = (dates[dated] - _EPOCH_ORDINAL).astype("datetime64[D]")
    years[dated] = days.astype("datetime64[Y]").astype(np.int64) + 1970
    return years


def _categories(leaf, name: str, size: int) -> tuple[np.ndarray, list[str]]:
    """Codes per document (-1: none) and the values they stand for.

    One read of the column's data; the loop that slices it runs once per segment.
    """
    codes = np.full(size, -1, dtype=np.int32)
    values: list[str] = []
    if not leaf.has_column(name):
        return codes, values
    column = leaf.column_reader(name, translate=False)
    offsets, lengths = column._offsets, column._lengths
    total = (offsets[-1] + lengths[-1]) if len(offsets) else 0
    data = column._dbfile.get(column._basepos, total) if total else b""
    index: dict[bytes, int] = {}
    for docnum, (start, length) in enumerate(zip(offsets, lengths, strict=True)):
        if not length or docnum >= size:
            continue
        value = data[start : start + length]
        code = index.get(value)
        if code is None:
            code = index[value] = len(values)
            values.append(value.decode("utf-8"))
        codes[docnum] = code
    return codes, values


def _vocabulary(leaf) -> tuple[Terms, np.ndarray]:
    """The segment's surface forms, sorted, with the documents holding each."""
    encoded, counts = field_terms(leaf, VOCABULARY_FIELD)
    # The table is in byte order, which for UTF-8 is code point order, as str sorts.
    return Terms.encoded(encoded), np.asarray(counts, dtype=np.int32)


# -- keeping on disk ------------------------------------------------------------------


def _arrays_of(arrays: SegmentArrays) -> dict[str, np.ndarray]:
    named = {f"length.{name}": values for name, values in arrays.lengths.items()}
    named |= {f"codes.{name}": values for name, values in arrays.codes.items()}
    named |= {
        "dates": arrays.dates,
        "years": arrays.years,
        "terms": arrays.terms._blob,
        "term_offsets": arrays.terms._offsets,
        "term_hashes": arrays.terms._hashes,
        "term_order": arrays.terms._order,
        "counts": arrays.counts,
        "fingerprints": arrays.fingerprints,
    }
    return named


def _write(folder: Path, arrays: SegmentArrays) -> None:
    """Write the arrays into ``folder/<segment id>``, whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = scratch_dir(folder, f".{arrays.segment_id}-")
    try:
        for name, values in _arrays_of(arrays).items():
            np.save(scratch / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
        meta = {
            "format": FORMAT,
            "segment": arrays.segment_id,
            "size": arrays.size,
            "fields": sorted(arrays.lengths),
            "values": arrays.values,
        }
        (scratch / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
        try:
            os.rename(scratch, folder / arrays.segment_id)
        except OSError:
            if not (folder / arrays.segment_id / "meta.json").exists():
                raise
            # Another reader kept them first: theirs are the same.
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_meta(path: Path, segment_id: str, size: int, fields: tuple[str, ...]) -> dict:
    """The ``meta.json`` of the arrays kept in ``path``; ValueError when they are not the
    arrays of this segment (or lack fields), OSError when there are none."""
    meta = json.loads((path / "meta.json").read_text())
    if meta["format"] != FORMAT or meta["segment"] != segment_id or meta["size"] != size:
        raise ValueError(f"{path} holds other arrays ({meta.get('segment')}, {meta.get('size')})")
    if not set(fields) <= set(meta["fields"]):
        raise ValueError(f"{path} lacks the lengths of {sorted(set(fields) - set(meta['fields']))}")
    return meta


def _read(path: Path, segment_id: str, size: int, fields: tuple[str, ...]) -> SegmentArrays:
    meta = _check_meta(path, segment_id, size, fields)

    def mapped(name: str, *shape: int | None) -> np.ndarray:
        """A kept array, of ``shape`` (default: one value a document; None: any)."""
        values = np.load(path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        wanted = shape or (size,)
        if wanted != (None,) and values.shape != wanted:
            raise ValueError(f"{path / name}.npy has {values.shape}, not {wanted}")
        return values

    offsets = mapped("term_offsets", None)
    counts = mapped("counts", len(offsets) - 1)
    blob = mapped("terms", int(offsets[-1]))
    hashes = mapped("term_hashes", len(offsets) - 1)
    order = mapped("term_order", len(offsets) - 1)
    return SegmentArrays(
        segment_id,
        size,
        {name: mapped(f"length.{name}") for name in fields},
        mapped("dates"),
        mapped("years"),
        {name: mapped(f"codes.{name}") for name in CATEGORY_FIELDS},
        {name: list(meta["values"][name]) for name in CATEGORY_FIELDS},
        Terms(blob, offsets, hashes, order),
        counts,
        mapped("fingerprints", size, FINGERPRINT_BYTES),
        frequent.read(path, size),
        open(path / "fingerprints.npy", "rb", buffering=0),  # noqa: SIM115 (open while used)
    )
