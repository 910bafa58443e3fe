"""The bulk writer: documents in, one ordinary Whoosh segment out (see :mod:`search.bulk`).

:class:`BulkWriter` reads the documents, hands their text fields to the workers
(:mod:`search.bulk.pool`) in chunks, indexes the other fields itself
(:class:`~search.bulk.numbering.ParentFields`), and writes each document's
:class:`Row` through the codec in final document order. On commit it has the workers
share and encode their postings and copies their blocks into the segment.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from whoosh.codec.base import Codec
from whoosh.index import Index
from whoosh.writing import IndexingError, SegmentWriter

from search.bulk.analyzer import Analyzer, FieldLengths, TermRecords, TextFields, TextValues
from search.bulk.numbering import Numbering, ParentFields
from search.bulk.pool import CHUNK_DOCS, Chunk, Pool, start_pool
from search.codec import NewsCodec, stored_blob
from search.durable import BULK_PARTS_PREFIX


class Row(NamedTuple):
    """A document's per-document row, which the writer holds until it is written."""

    # (field name, field, length) of each field with a value; length None: the length
    # of an analyzed field, which its worker reports
    lengths: list[tuple[str, Any, int | None]]
    stored_blob: bytes  # the stored fields, pickled and compressed
    columns: list[tuple[str, Any, Any]]  # (field name, column type, column value)


class _PendingRows:
    """The rows of each worker's documents, until they can be written in final order.

    A row can be written once its worker has reported the document's field lengths and
    every document numbered before it is written: while documents come in, those of
    worker 0 (whose documents are numbered first); the others' at commit, worker by
    worker.
    """

    def __init__(self, workers: int):
        self._rows: list[deque[Row]] = [deque() for _ in range(workers)]
        self._chunks: list[deque[int]] = [deque() for _ in range(workers)]  # sent, unwritten
        self.written = 0  # rows written: the final number of the next one

    def add(self, worker: int, row: Row) -> None:
        self._rows[worker].append(row)

    def sent(self, worker: int, chunk: int) -> None:
        """The documents of ``worker``'s rows not yet in a chunk went in ``chunk``."""
        self._chunks[worker].append(chunk)

    def ready(
        self, worker: int, reported: dict[int, list[FieldLengths]]
    ) -> Iterator[tuple[int, Row, FieldLengths]]:
        """Take ``worker``'s rows whose chunks are in ``reported`` (chunk -> its field
        lengths; taken from it), up to the first chunk that is not: each with its final
        document number and its field lengths. The workers before ``worker`` must have
        had all their rows taken."""
        rows, chunks = self._rows[worker], self._chunks[worker]
        while chunks and chunks[0] in reported:
            for lengths in reported.pop(chunks.popleft()):
                docnum = self.written
                self.written += 1
                yield docnum, rows.popleft(), lengths

    def done(self, worker: int) -> bool:
        """Whether all of ``worker``'s rows were taken."""
        return not self._chunks[worker]


class BulkWriter(SegmentWriter):
    """A ``SegmentWriter`` for building an index from many documents at once.

    ``procs`` worker processes analyze the text fields (1: all in this process).
    Use it like any writer: ``add_document`` for each document, then ``commit`` (or
    ``cancel``). Fields other than LemmaText/SurfaceText are indexed as usual; field
    boosts, term vectors and spelling fields are not supported.
    """

    def __init__(self, ix: Index, procs: int = 1, codec: Codec | None = None, **kwargs):
        self._pool: Pool | None = None
        self._gc_was_enabled = gc.isenabled()
        self._parts_dir: str | None = None
        super().__init__(ix, codec=codec or NewsCodec(), **kwargs)
        problem = self._unsupported()
        if problem:
            self.cancel()
            raise TypeError(problem)
        gc.disable()  # see the documentation of search.bulk
        self._text = TextFields(self.schema)
        limits = (self.codec._blocklimit, self.codec._inlinelimit)
        analyzer = Analyzer(self.schema, self._text, limits)
        self._parts_dir = tempfile.mkdtemp(prefix=BULK_PARTS_PREFIX, dir=_temp_parent(ix))
        self._pool = start_pool(analyzer, max(1, procs))
        self._numbering = Numbering(self._pool.size)
        self._pending = _PendingRows(self._pool.size)
        self._parent_fields = ParentFields()
        self._chunk: list[TextValues] = []  # the documents of the next chunk

    def _unsupported(self) -> str | None:
        """Why this writer cannot write the index, if it cannot."""
        schema = self.schema
        problem = None
        if not hasattr(self.fieldwriter, "add_field_terms"):
            problem = "BulkWriter needs a codec with NewsFieldWriter's bulk path"
        if not hasattr(self.perdocwriter, "add_stored_blob"):
            problem = "BulkWriter needs a codec with NewsPerDocWriter"
        for name in schema.names():
            if schema[name].vector or schema[name].separate_spelling():
                problem = f"BulkWriter does not write vectors or spelling ({name})"
        return problem

    # -- adding documents -----------------------------------------------------------

    def add_document(self, **fields) -> None:
        self._check_state()
        for key in fields:
            if key.startswith("_") and not key.startswith("_stored_"):
                raise IndexingError(f"BulkWriter does not support boosts ({key})")
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(self.schema, fieldnames)
        seq, worker = self._numbering.add()
        row = self._row(seq, fieldnames, fields)
        self._chunk.append(self._text.values(fields))
        self._pending.add(worker, row)
        self._added = True
        self.docnum += 1
        if len(self._chunk) >= CHUNK_DOCS:
            self._send_chunk()

    def _row(self, seq: int, fieldnames: list[str], fields: dict[str, Any]) -> Row:
        """The document's row; the fields that need no worker indexed on the way."""
        schema = self.schema
        analyzed = self._text.slots
        stored = {}
        columns = []
        lengths: list[tuple[str, Any, int | None]] = []
        for fieldname in fieldnames:
            value = fields[fieldname]
            if value is None:
                continue
            field = schema[fieldname]
            if fieldname in analyzed:
                lengths.append((fieldname, field, None))
            elif field.indexed:
                length = self._parent_fields.add(seq, fieldname, field, value)
                lengths.append((fieldname, field, length))
            else:
                lengths.append((fieldname, field, 0))
            value = fields.get(f"_stored_{fieldname}", value)
            if field.stored:
                stored[fieldname] = value
            if field.column_type and value is not None and fieldname != self._text.fingerprint:
                columns.append((fieldname, field.column_type, field.to_column_value(value)))
        return Row(lengths, stored_blob(stored), columns)

    def _send_chunk(self) -> None:
        if not self._chunk:
            return
        number, worker = self._numbering.end_chunk()
        docs, self._chunk = self._chunk, []
        self._pending.sent(worker, number)
        self._pool.analyze(Chunk(number, docs), worker)
        self._write_rows(0)

    def _write_rows(self, worker: int) -> None:
        """Write the rows of ``worker`` whose lengths are in, in order."""
        writer = self.perdocwriter
        slots = self._text.slots
        fingerprint = self._text.fingerprint  # its column comes from the worker
        column = self.schema[fingerprint].column_type if fingerprint else None
        for docnum, row, reported in self._pending.ready(worker, self._pool.lengths):
            writer.start_doc(docnum)
            for fieldname, field, length in row.lengths:
                if length is None:
                    length = reported[slots[fieldname]]
                writer.add_field(fieldname, field, None, length)
            for fieldname, column_type, value in row.columns:
                writer.add_column_value(fieldname, column_type, value)
            if fingerprint:
                writer.add_column_value(fingerprint, column, reported[-1])
            writer.add_stored_blob(row.stored_blob)
            writer.finish_doc()

    # -- commit -----------------------------------------------------------------------

    def _merge_segments(self, mergetype, optimize, merge):
        """Keep the index's segments as they are: a bulk build does not merge."""
        return list(self.segments)

    def _flush_segment(self) -> None:
        self._send_chunk()
        pool = self._pool
        folder = self._parts_dir
        paths = [os.path.join(folder, f"part{number}") for number in range(pool.size)]
        pool.share(self._numbering.bases(), folder)
        while not pool.all_shared():
            pool.receive(block=True)
            self._write_rows(0)
        pool.encode(folder, paths)
        # while the workers encode: the rows of their documents, the other fields
        for worker in range(pool.size):
            self._write_rows(worker)
            if not self._pending.done(worker):
                raise IndexingError("index workers did not report every document")
        self.perdocwriter.close()
        self._write_parent_fields()
        self._write_postings(pool.wait_encoded(), paths)

    def _write_parent_fields(self) -> None:
        """Write the postings of the fields indexed here, in final document numbers."""
        final = self._numbering.final()
        for name, postings, lengths in self._parent_fields.renumbered(final, self.docnum):
            self.fieldwriter.add_field_postings(name, self.schema[name], postings, lengths)

    def _write_postings(self, encoded: list[TermRecords], paths: list[str]) -> None:
        """Copy the workers' posting blocks (worker ``i``'s in ``paths[i]``) into the
        segment, and add their terms (``encoded[i]``) to the term table."""
        fieldwriter = self.fieldwriter
        offsets = []
        for path in paths:
            with open(path, "rb") as data:
                offsets.append(fieldwriter.append_postings(data))
            os.remove(path)
        for name in self._text.names:
            parts = [(offset, encoded[n].pop(name)) for n, offset in enumerate(offsets)]
            fieldwriter.add_field_terms(name, self.schema[name], parts)
        fieldwriter.close()

    def commit(
        self,
        mergetype: Callable | None = None,
        optimize: bool | None = None,
        merge: bool | None = None,
    ) -> None:
        try:
            super().commit(mergetype, optimize, merge)
        except BaseException:
            self._stop_workers()
            if not self.is_closed:
                self._finish()
            raise

    def _finish(self) -> None:
        self._stop_workers()
        super()._finish()
        if self._parts_dir:
            shutil.rmtree(self._parts_dir, ignore_errors=True)
        if self._gc_was_enabled:
            gc.enable()

    def cancel(self) -> None:
        self._stop_workers()
        super().cancel()

    def _stop_workers(self) -> None:
        if self._pool is not None:
            self._pool.stop()


def _temp_parent(ix: Index) -> str | None:
    """Where workers write their posting blocks: beside the index when it is on disk."""
    folder = getattr(ix.storage, "folder", None)
    return folder if folder and os.path.isdir(folder) else None
