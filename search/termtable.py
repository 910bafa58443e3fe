"""A segment's term table read raw, and sorted terms kept as arrays that can be mapped.

Whoosh's own iteration of a term table makes three file reads and a term-info object a
term: 15 s for the 298,000 surface forms of the shared corpus under profile.
:func:`field_terms` reads the table's key/value records a chunk at a time instead,
well under a second. :class:`Terms` holds sorted terms as one UTF-8 blob, offsets and
a hash table, all of which can be kept as ``.npy`` files and memory-mapped.
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from hashlib import blake2b

import numpy as np
from whoosh.system import pack_ushort

from search import blocks
from search.preads import file_position

#: Private attributes of Whoosh's term table readers read here.
TABLE_INTERNALS = {
    "W3TermsReader": ("_fieldmap", "_tindex", "_postfile"),
    "OrderedHashReader": ("dbfile", "endofdata", "tables", "hashfn"),
    "StructFile": ("file",),
    "SubFile": ("_file", "_offset"),
}

# A term table record: key and value lengths, then the key (field number, term) and the
# value, a W3 term info whose document frequency follows a flag byte and a weight.
_RECORD_HEAD = struct.Struct("!ii")
_TERM_DOCS = struct.Struct("!xxxxxI")
_TERMS_CHUNK = 8 << 20
# Bytes of a record's value read with its head: a term info pointing to blocks is 35
# (the most asked for: the rarer words' lists), an inlined list of a few postings more.
_VALUE_GUESS = 96
# A slot of the hash table: the key's hash and where its record starts (``filetables``).
_SLOT = struct.Struct("!Iq")


class Terms(Sequence[str]):
    """Sorted terms stored as one UTF-8 blob and their offsets: a sequence for bisect,
    with a hash table for exact lookups.

    A Python list of a segment's surface forms costs about 150 bytes a term in every
    worker (46 MB on the shared corpus, growing with the vocabulary); the blob costs
    about 20, memory-mapped once for all of them. Spelling correction looks up the
    frequency of some 200 candidate forms a query in every segment: a bisection of the
    blob took 15 µs a lookup (on the shared corpus's 284,000 forms), a search of the
    sorted 64-bit hashes (``hashes``, with ``order`` the term of each) about 5 µs,
    for 12 more bytes a term.
    """

    def __init__(
        self, blob: np.ndarray, offsets: np.ndarray, hashes: np.ndarray, order: np.ndarray
    ):
        # Plain views of the (memory-mapped) arrays: slicing a ``np.memmap`` makes a new
        # memmap object each time, which cost 20% of a query's time through bisect.
        self._blob = memoryview(np.asarray(blob))
        self._offsets = np.asarray(offsets)
        self._hashes = np.asarray(hashes)
        self._order = np.asarray(order)

    @classmethod
    def of(cls, blob: np.ndarray, offsets: np.ndarray) -> Terms:
        """The terms of ``blob`` with their hash table worked out."""
        view = memoryview(blob)
        bounds = offsets.tolist()
        spans = zip(bounds[:-1], bounds[1:], strict=True)
        hashes = np.fromiter(
            (term_hash(view[start:end]) for start, end in spans),
            dtype=np.uint64,
            count=len(bounds) - 1,
        )
        order = np.argsort(hashes, kind="stable").astype(np.int32)
        return cls(blob, offsets, hashes[order], order)

    @classmethod
    def encoded(cls, terms: list[bytes]) -> Terms:
        """The terms, UTF-8 encoded and in byte order (which is code point order, as
        ``str`` sorts), with their hash table worked out."""
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(term) for term in terms], out=offsets[1:])
        return cls.of(np.frombuffer(b"".join(terms), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start, end = self._offsets[index], self._offsets[index + 1]
        return str(self._blob[start:end], "utf-8")

    def find(self, term: str, hashed: int | None = None) -> int | None:
        """The position of ``term``, or None (``hashed``: its ``term_hash``, when the
        caller looks it up in many segments)."""
        wanted = np.uint64(term_hash(term.encode("utf-8")) if hashed is None else hashed)
        at = int(self._hashes.searchsorted(wanted))
        if at == len(self._hashes) or self._hashes[at] != wanted:  # (most lookups)
            return None
        return self._probe(at, wanted, term)

    def find_all(self, terms: Sequence[str], hashes: np.ndarray) -> np.ndarray:
        """The position of each of ``terms`` (``hashes``: their ``term_hash``, uint64),
        -1 for those missing: one search of the hash table for all of them."""
        found = np.full(len(terms), -1, dtype=np.int64)
        if not len(self._hashes):
            return found
        at = np.searchsorted(self._hashes, hashes)
        same = self._hashes[np.minimum(at, len(self._hashes) - 1)] == hashes
        for i in np.flatnonzero(same).tolist():
            position = self._probe(int(at[i]), hashes[i], terms[i])
            if position is not None:
                found[i] = position
        return found

    def _probe(self, at: int, wanted: np.uint64, term: str) -> int | None:
        """The position of ``term`` among the hash table's entries from ``at`` on that
        have its hash ``wanted``, or None."""
        while at < len(self._hashes) and self._hashes[at] == wanted:
            position = int(self._order[at])
            if self[position] == term:
                return position
            at += 1
        return None

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        start = bisect_left(self, prefix)
        return start, bisect_left(self, prefix + "\U0010ffff", lo=start)


def term_hash(encoded: bytes | memoryview) -> int:
    """A term's 64-bit hash, the same in every process (``hash()`` is salted)."""
    return int.from_bytes(blake2b(encoded, digest_size=8).digest(), "little")


def term_hashes(terms: Sequence[str]) -> np.ndarray:
    """The ``term_hash`` of each term, as uint64."""
    hashes = (term_hash(term.encode("utf-8")) for term in terms)
    return np.fromiter(hashes, dtype=np.uint64, count=len(terms))


def field_terms(leaf, field: str) -> tuple[list[bytes], list[int]]:
    """A field's terms in a segment (UTF-8, in the table's byte order) and the number of
    documents holding each, read from the term table's raw key/value records."""
    encoded: list[bytes] = []
    counts: list[int] = []
    for term, info in field_records(leaf, field):
        encoded.append(term)
        counts.append(_TERM_DOCS.unpack_from(info)[0])
    return encoded, counts


def field_records(leaf, field: str) -> Iterator[tuple[bytes, bytes]]:
    """A field's terms in a segment (UTF-8, in the table's byte order), each with its W3
    term info bytes, read from the term table's raw key/value records a chunk at a time."""
    terms_reader = leaf._terms
    number = terms_reader._fieldmap.get(field)
    table = terms_reader._tindex
    first = None if number is None else next(table.ranges_from(pack_ushort(number)), None)
    if first is None:
        return
    prefix = pack_ushort(number)
    position, end = first[0] - _RECORD_HEAD.size, table.endofdata
    while position < end:
        chunk = table.dbfile.get(position, min(_TERMS_CHUNK, end - position))
        at = 0
        while at + _RECORD_HEAD.size <= len(chunk):
            key_length, value_length = _RECORD_HEAD.unpack_from(chunk, at)
            value_at = at + _RECORD_HEAD.size + key_length
            if value_at + value_length > len(chunk):
                if at == 0:  # one record larger than a chunk (long inlined postings)
                    chunk = table.dbfile.get(position, value_at + value_length)
                    continue
                break
            key = chunk[at + _RECORD_HEAD.size : value_at]
            if key[:2] != prefix:
                return
            yield key[2:], chunk[value_at : value_at + value_length]
            at = value_at + value_length
        position += at


class TermLookup:
    """Exact lookups in a segment's term table with ``os.pread``, to Whoosh's term info.

    Whoosh's own lookup reads its hash table through three layers of Python file objects
    (seek, then read): at a million articles in 31 segments, the presence test and the
    term info of the words of 100 known-item queries took 3.2 s of their 18 s, since a
    rare word is looked for in every segment. This follows the same table (Whoosh's
    ``HashReader.ranges_for_key``, whoosh-reloaded 2.7.5) with positioned reads of the
    segment's file, which need no lock and no seek.
    """

    def __init__(self, leaf):
        terms = leaf._terms
        table = terms._tindex
        # the term table and the postings file, within the segment's compound file
        self._fd, self._base = file_position(table.dbfile.file)
        self._tables = table.tables
        self._hash = table.hashfn
        self._fieldmap = terms._fieldmap
        self._postings_fd, self._postings_base = file_position(terms._postfile.file)

    def postings(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """The term's document numbers (int64) and weights (float32) in the segment, or
        None when it lacks the term: read with ``os.pread``, as the term info, without
        Whoosh's matcher or its file objects (which one thread at a time may use)."""
        info = self.info(field, term)
        if info is None:
            return None
        return blocks.read_terminfo(info, self.read)

    def values_at(self, field: str, term: str, docnums: np.ndarray) -> dict[int, bytes]:
        """The posting values (encoded positions) of those of ``docnums`` (ascending,
        local) that hold ``term`` in ``field``, read as :meth:`postings` reads."""
        info = self.info(field, term.encode("utf-8"))
        if info is None:
            return {}
        return blocks.values_at(info, self.read, docnums)

    def doc_frequency(self, field: str, term: bytes) -> int:
        """The documents of the segment holding the term, deleted ones included (the
        count its term info holds, which Whoosh's ``doc_frequency`` gives)."""
        info = self.info(field, term)
        return 0 if info is None else _TERM_DOCS.unpack_from(info)[0]

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes of the segment's postings file from ``offset``."""
        return os.pread(self._postings_fd, length, self._postings_base + offset)

    def info(self, field: str, term: bytes) -> bytes | None:
        """The term info bytes of ``term`` in ``field``, or None when the segment lacks it."""
        number = self._fieldmap.get(field)
        if number is None:
            return None
        key = pack_ushort(number) + term
        keyhash = self._hash(key)
        start, slots = self._tables[keyhash & 255]
        if not slots:
            return None
        fd, base = self._fd, self._base
        slot = (keyhash >> 8) % slots
        size = _SLOT.size
        for _ in range(slots):
            slot_hash, position = _SLOT.unpack(os.pread(fd, size, base + start + slot * size))
            if not position:
                return None
            if slot_hash == keyhash:
                # the record's head, key and (most often) value in one read
                head_size = _RECORD_HEAD.size + len(key)
                record = os.pread(fd, head_size + _VALUE_GUESS, base + position)
                key_length, value_length = _RECORD_HEAD.unpack_from(record)
                if key_length == len(key) and record[_RECORD_HEAD.size : head_size] == key:
                    if len(record) >= head_size + value_length:
                        return record[head_size : head_size + value_length]
                    return os.pread(fd, value_length, base + position + head_size)
            slot = (slot + 1) % slots
        return None
