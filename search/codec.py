"""Whoosh's W3 codec, writing the same on-disk format more compactly and much faster.

Every file this codec writes is a standard W3 file that Whoosh's own W3 reader
classes read (``NewsCodec`` overrides writing only), so an index stays a normal
Whoosh index. What changes is how the writer fills the format:

* Posting lists of rare terms are inlined into the term table. Most terms of a news
  archive occur in one or two articles (names, numbers, typos); Whoosh means to inline
  them but Whoosh-Reloaded 2.7.5 calls a misspelt method (``set_inline`` for
  ``set_inlined``), so each got a posting block of its own. Inlined postings are
  read through ``ListMatcher`` like any (the tests compare them with blocks).
* Blocks are pickled with protocol 3 without memo (Whoosh uses protocol 2, which
  writes each ``bytes`` value as a latin-1 string through ``_codecs.encode``, and
  memoizes every value), whole-number weights as ints, and only blocks of
  ``COMPRESS_MIN`` bytes or more are compressed (a zlib call costs tens of µs, and
  does not shrink a small block).
* The term table hashes keys with CRC-32 (one of the table's standard hash types)
  instead of MD5, is written in bulk, and its hash tables have 1.5 slots a key
  instead of 2 (a lookup probes a little longer; the reader takes any table size).
* Stored fields are pickled with protocol 3 (the stored article text is ``bytes``).

With it an index of the news corpus is about a third smaller. The bulk path,
:func:`write_term` and :meth:`NewsFieldWriter.add_field_terms`, serves
:mod:`search.bulk`; the usual ``start_term``/``add``/``finish_term`` path
(updates, merges) writes the same bytes through :class:`NewsPostingsWriter`.
"""

from __future__ import annotations

import heapq
import io
import pickle
import shutil
import struct
import zlib
from array import array
from binascii import crc32
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter, sub

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import (
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3FieldWriter,
    W3PerDocWriter,
    W3PostingsWriter,
    W3TermInfo,
)
from whoosh.filedb.filetables import HashWriter, OrderedHashWriter
from whoosh.system import emptybytes, pack_int, pack_long, pack_ushort, unpack_long
from whoosh.util.numeric import length_to_byte
from whoosh.util.numlists import GrowableArray

INLINE_LIMIT = 2  # posting lists shorter than this are inlined into the term table
BLOCK_LIMIT = 128  # postings per block (Whoosh's default)
COMPRESS_MIN = 200  # pickled block data shorter than this is stored uncompressed
COMPRESSION = 4
_CRC_HASH = 1  # filetables' hash type number for CRC-32

#: The head of a W3TermInfo; a term info of blocks goes on with their offset and length.
TERMINFO = W3TermInfo._struct


def dumps(obj) -> bytes:
    """Pickle ``obj`` (ints, floats, bytes, None and tuples of them) without memo."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, 3)
    pickler.fast = True  # no memo: nothing is shared, and memo marks cost 2-5 bytes each
    pickler.dump(obj)
    return out.getvalue()


def compress(data: bytes) -> bytes:
    """zlib data, as ``zlib.decompress`` (which the readers call) takes it."""
    return zlib.compress(data, COMPRESSION)


def _mini_weights(weights: Sequence[float]):
    """Block weights as the W3 reader takes them: None when all 1, one float when all
    equal, else a tuple (of ints when all whole: 2 bytes each pickled instead of 9)."""
    first = weights[0]
    if weights.count(first) == len(weights):
        return None if first == 1 else float(first)
    if type(first) is int:  # (the bulk path's weights: counts, all ints)
        return tuple(weights)
    try:
        whole = all(map(float.is_integer, weights))
    except TypeError:  # ints among floats
        return tuple(map(_number, weights))
    return tuple(map(int, weights)) if whole else tuple(weights)


def _number(value: float) -> float:
    """An int for a whole number (a shorter pickle), else the float."""
    return int(value) if float(value).is_integer() else value


def _length_range(lens: bytes | None) -> tuple[int, int]:
    """Smallest and largest length byte, leaving out 0 (no length), as
    W3PostingsWriter tracks them; ``lens`` holds the length byte of each posting."""
    if not lens:
        return 0, 0
    smallest = min(lens)
    if not smallest:
        lens = lens.replace(b"\x00", b"")
        smallest = min(lens) if lens else 0
    return smallest, max(lens) if lens else 0


def block_bytes(
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes] | None,
    fixedsize: int | None,
    minlength: int,
    maxlength: int,
    last: bool,
) -> bytes:
    """One W3 posting block: signed length, pickled block info, pickled block data.

    ``minlength``/``maxlength`` are length bytes (``length_to_byte``). The data is what
    ``W3LeafMatcher`` unpickles: delta-coded ids, weights, values (a tuple, or for a
    format of fixed value size the values joined, or None for size 0).
    """
    deltas = tuple(map(sub, ids, [0, *ids]))
    if fixedsize is None or fixedsize < 0:
        packed_values = tuple(values)
    elif fixedsize == 0:
        packed_values = None
    else:
        packed_values = emptybytes.join(values)
    data = dumps((deltas, _mini_weights(weights), packed_values))
    level = 0
    if len(data) >= COMPRESS_MIN:
        squeezed = compress(data)
        if len(squeezed) < len(data):
            data, level = squeezed, COMPRESSION
    info = dumps((len(ids), ids[-1], _number(max(weights)), level, minlength, maxlength))
    size = len(info) + len(data)
    return pack_int(-size if last else size) + info + data


def inlined_terminfo(
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes] | None,
    minlength: int,
    maxlength: int,
) -> bytes:
    """W3TermInfo bytes holding the postings themselves (``ListMatcher`` reads them).

    Weights are None when all are 1 (``ListMatcher`` then gives 1.0), else a tuple;
    values None (a format without values) are stored as Nones, which is what the
    block reader gives for them.
    """
    mini = _mini_weights(weights)
    if mini is not None and not isinstance(mini, tuple):
        mini = (mini,) * len(weights)
    head = TERMINFO.pack(
        1, sum(weights), len(ids), minlength, maxlength, max(weights), ids[0], ids[-1]
    )
    return head + dumps((tuple(ids), mini, tuple(values) if values else (None,) * len(ids)))


def single_terminfo(docnum: int, weight: float, value: bytes | None, length: int) -> bytes:
    """:func:`inlined_terminfo` of a posting list of one posting (most terms), sooner."""
    mini = None if weight == 1 else (float(weight),)
    head = TERMINFO.pack(1, weight, 1, length, length, weight, docnum, docnum)
    return head + dumps(((docnum,), mini, (value,)))


def postings_terminfo(
    ids: Sequence[int],
    weights: Sequence[float],
    minlength: int,
    maxlength: int,
    offset: int,
    length: int,
) -> bytes:
    """W3TermInfo bytes pointing to posting blocks at ``offset`` in the postings file."""
    head = TERMINFO.pack(
        0, sum(weights), len(ids), minlength, maxlength, max(weights), ids[0], ids[-1]
    )
    return head + pack_long(offset) + pack_int(length)


def write_term(
    write,
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes] | None,
    lens: bytes | None,
    fixedsize: int | None,
    blocklimit: int = BLOCK_LIMIT,
    inlinelimit: int = INLINE_LIMIT,
) -> tuple[bytes, int]:
    """Encode one posting list, as blocks written with ``write`` or inlined.

    ``lens`` holds the length byte of each posting's document (None: no lengths).
    Returns the term's W3TermInfo bytes and the number of bytes written; the
    terminfo of blocks points at offset 0 (see :func:`moved_terminfo`).
    """
    if fixedsize == 0:
        values = None  # (W3PostingsWriter drops empty values)
    count = len(ids)
    minlength, maxlength = _length_range(lens)
    if count < inlinelimit:
        return inlined_terminfo(ids, weights, values, minlength, maxlength), 0
    write(WHOOSH3_HEADER_MAGIC)
    written = len(WHOOSH3_HEADER_MAGIC)
    for start in range(0, count, blocklimit):
        end = start + blocklimit
        if count > blocklimit:
            low, high = _length_range(lens[start:end] if lens else None)
        else:
            low, high = minlength, maxlength
        block = block_bytes(
            ids[start:end],
            weights[start:end],
            values[start:end] if values is not None else None,
            fixedsize,
            low,
            high,
            end >= count,
        )
        write(block)
        written += len(block)
    return postings_terminfo(ids, weights, minlength, maxlength, 0, written), written


def moved_terminfo(info: bytes, offset: int) -> bytes:
    """W3TermInfo bytes of ``write_term`` with its blocks ``offset`` bytes further on."""
    if not offset or info[0]:  # (the first byte holds the inlined flag)
        return info
    size = TERMINFO.size
    moved = unpack_long(info[size : size + 8])[0] + offset
    return info[:size] + pack_long(moved) + info[size + 8 :]


class NewsPostingsWriter(W3PostingsWriter):
    """W3PostingsWriter with working inlining and the compact block encoding."""

    def finish_postings(self):
        terminfo = self._terminfo
        if not self.written() and len(self) < self._inlinelimit:
            terminfo.add_block(self)
            terminfo.set_inlined(self._ids, self._weights, self._values)
            self._terminfo = None
            return terminfo
        return super().finish_postings()

    def _write_block(self, last=False):
        if self._byteids:  # term vectors: rare, left as Whoosh writes them
            return super()._write_block(last)
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        self._postfile.write(
            block_bytes(
                self._ids,
                self._weights,
                self._values,
                self._format.fixed_value_size(),
                length_to_byte(self._minlength),
                length_to_byte(self._maxlength),
                last,
            )
        )
        self._blockcount += 1
        self._new_block()


class NewsTermInfo(W3TermInfo):
    """W3TermInfo whose inlined postings are pickled compactly."""

    def to_bytes(self):
        if not self.is_inlined():
            return super().to_bytes()
        ids, weights, values = self._inlined
        minlength = 0 if self._minlength is None else length_to_byte(self._minlength)
        return inlined_terminfo(ids, weights, values, minlength, length_to_byte(self._maxlength))


class BulkHashWriter(OrderedHashWriter):
    """The W3 term table (an ordered CDB-like hash file), hashed with CRC-32.

    ``add`` buffers the key/value records and ``close`` writes each of the 256 hash
    tables in one piece: ``OrderedHashWriter``'s format with ``hashtype=1`` and
    smaller tables, which ``OrderedHashReader`` reads as usual.
    """

    def __init__(self, dbfile):
        # OrderedHashWriter.__init__, with the hash type
        HashWriter.__init__(self, dbfile, hashtype=_CRC_HASH)
        self.index = GrowableArray("H")
        self.lastkey = emptybytes
        self._position = dbfile.tell()
        self._positions = array("q")
        self._hashes = array("I")  # each key's CRC-32, beside its record's position
        self._records: list[bytes] = []
        self._buffered = 0

    def tell(self):
        return self._position

    def add(self, key, value):
        if key <= self.lastkey:
            raise ValueError(f"Keys must increase: {self.lastkey!r}..{key!r}")
        self.lastkey = key
        position = self._position
        self._positions.append(position)
        record = struct.pack("!ii", len(key), len(value)) + key + value
        self._records.append(record)
        self._position = position + len(record)
        self._buffered += len(record)
        if self._buffered > 1 << 20:
            self._flush()
        self._hashes.append(crc32(key) & 0xFFFFFFFF)

    def _flush(self):
        self.dbfile.write(b"".join(self._records))
        self._records.clear()
        self._buffered = 0

    def _write_hashes(self):
        self._flush()
        dbfile = self.dbfile
        for entries in self._bucket_entries():
            numslots = len(entries) * 3 // 2 + 1 if entries else 0  # Whoosh: 2 x entries
            self.directory.append((dbfile.tell(), numslots))
            if not numslots:
                continue
            hashes = [0] * numslots
            positions = [0] * numslots
            for hashval, position in entries:
                slot = (hashval >> 8) % numslots
                while positions[slot]:
                    slot = (slot + 1) % numslots
                hashes[slot] = hashval
                positions[slot] = position
            flat = [0] * (2 * numslots)
            flat[0::2] = hashes
            flat[1::2] = positions
            dbfile.write(struct.pack("!" + "Iq" * numslots, *flat))

    def _bucket_entries(self) -> Iterator[list[tuple[int, int]]]:
        """The (hash, position) of each key of each of the 256 hash tables, in the order
        the keys came. Kept as two arrays until now (12 bytes a key), not as Whoosh's
        lists of tuples (about 130 bytes a key, 2 GB of a merge of 185,000 articles)."""
        hashes = np.frombuffer(self._hashes, dtype=np.uint32)
        positions = np.frombuffer(self._positions, dtype=np.int64)
        tables = hashes & 255
        order = np.argsort(tables, kind="stable")
        bounds = np.searchsorted(tables[order], np.arange(257)).tolist()
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            chosen = order[start:end]
            yield list(zip(hashes[chosen].tolist(), positions[chosen].tolist(), strict=True))

    def _write_extras(self):
        positions = self._positions
        largest = positions[-1] if positions else 0
        if largest < 2**16:
            typecode = "H"
        elif largest < 2**31:
            typecode = "i"
        elif largest < 2**32:
            typecode = "I"
        else:
            typecode = "q"
        self.index.array = array(typecode, positions)
        super()._write_extras()


class NewsFieldWriter(W3FieldWriter):
    """W3FieldWriter on the CRC-32 term table, with a bulk path for whole fields."""

    def __init__(self, codec, storage, segment):
        self._codec = codec
        self._storage = storage
        self._segment = segment
        self._fieldname = None
        self._fieldid = None
        self._btext = None
        self._fieldobj = None
        self._format = None
        self._tindex = BulkHashWriter(self._create_file(W3Codec.TERMS_EXT))
        self._fieldmap = self._tindex.extras["fieldmap"] = {}
        self._postfile = self._create_file(W3Codec.POSTS_EXT)
        self._postwriter = None
        self._infield = False
        self.is_closed = False

    def start_term(self, btext):
        if self._postwriter is None:
            raise Exception("Called start_term before start_field")
        self._btext = btext
        self._postwriter.start_postings(self._fieldobj.format, NewsTermInfo())

    def add_field_postings(
        self,
        fieldname: str,
        fieldobj,
        terms: Iterable[tuple[bytes, Sequence[int], Sequence[float], Sequence[bytes] | None]],
        lengths: bytes | None,
    ) -> None:
        """Write every posting list of a field: ``(term bytes, doc numbers, weights,
        values)`` in increasing term order, doc numbers increasing.

        ``lengths`` holds the length byte of each document's field (0 for none), as
        the per-document writer stored it; values may be None for a format without
        values. Writes what ``add_postings`` would write for the same postings.
        """
        self.start_field(fieldname, fieldobj)
        fixedsize = fieldobj.format.fixed_value_size()
        prefix = pack_ushort(self._fieldid)
        add = self._tindex.add
        postfile = self._postfile
        for btext, ids, weights, values in terms:
            lens = bytes(map(lengths.__getitem__, ids)) if lengths is not None else None
            offset = postfile.tell()
            info, _ = write_term(
                postfile.write,
                ids,
                weights,
                values,
                lens,
                fixedsize,
                self._codec._blocklimit,
                self._codec._inlinelimit,
            )
            add(prefix + btext, moved_terminfo(info, offset))
        self.finish_field()

    def append_postings(self, data) -> int:
        """Copy posting blocks that ``write_term`` wrote elsewhere (a binary file
        object) to the postings file; the offset they start at."""
        offset = self._postfile.tell()
        shutil.copyfileobj(data, self._postfile.file, 1 << 20)
        return offset

    def add_field_terms(
        self, fieldname: str, fieldobj, parts: Sequence[tuple[int, Sequence[tuple[bytes, bytes]]]]
    ) -> None:
        """Add a field's terms whose postings :meth:`append_postings` copied.

        Each part is ``(offset of its blocks, [(term bytes, terminfo), ...])``, terms
        in increasing order; a term is in one part only.
        """
        self.start_field(fieldname, fieldobj)
        prefix = pack_ushort(self._fieldid)
        add = self._tindex.add
        streams = [_moved(offset, terms) for offset, terms in parts]
        merged = heapq.merge(*streams, key=itemgetter(0)) if len(streams) > 1 else streams[0]
        for btext, info in merged:
            add(prefix + btext, info)
        self.finish_field()


def _moved(offset: int, terms: Sequence[tuple[bytes, bytes]]):
    if not offset:
        yield from terms
        return
    for btext, info in terms:
        yield btext, moved_terminfo(info, offset)


def stored_blob(values: dict) -> bytes:
    """The stored-fields column's bytes for one document's stored values."""
    return compress(pickle.dumps(values, 3)) if values else emptybytes


class _StoredColumn(columns.PickleColumn):
    """Whoosh's stored-fields column (read as usual: decompress, unpickle), written
    with protocol 3 pickles (bytes stay bytes) and :func:`compress`."""

    class Writer(columns.PickleColumn.Writer):
        def add(self, docnum, v):
            self.add_blob(docnum, stored_blob(v) if v else emptybytes)

        def add_blob(self, docnum, blob: bytes) -> None:
            # to the VarBytesColumn writer that the compressing writer extends
            columns.VarBytesColumn.Writer.add(self._child, docnum, blob)


_STORED_COLUMN = _StoredColumn(columns.CompressedBytesColumn())


class NewsPerDocWriter(W3PerDocWriter):
    """W3PerDocWriter writing stored fields with :data:`_STORED_COLUMN`, which can
    also take a document's stored fields prepared by :func:`stored_blob`."""

    _blob: bytes | None = None

    def _create_column(self, fieldname, column):
        if fieldname == "_stored":
            column = _STORED_COLUMN
        super()._create_column(fieldname, column)

    def add_stored_blob(self, blob: bytes) -> None:
        """The current document's stored fields, instead of values given to add_field."""
        self._blob = blob

    def finish_doc(self):
        blob = self._blob
        if blob is None:
            return super().finish_doc()
        self._blob = None
        self._storedfields.clear()
        if blob:
            self._get_column("_stored").add_blob(self._docnum, blob)
        self._indoc = False


class NewsCodec(W3Codec):
    """W3Codec writing compactly: see the module documentation."""

    def __init__(self):
        super().__init__(blocklimit=BLOCK_LIMIT, inlinelimit=INLINE_LIMIT)

    def per_document_writer(self, storage, segment):
        return NewsPerDocWriter(self, storage, segment)

    def field_writer(self, storage, segment):
        return NewsFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        return NewsPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )
