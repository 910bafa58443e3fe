"""Bulk index builds: one standard Whoosh segment from many documents, on all cores.

Whoosh's ``SegmentWriter`` costs some 13 µs per posting (a build of the news corpus
has about eleven million): each posting is a tuple in a pool that is sorted on
commit, then goes one by one through ``FieldWriter.add_postings``, which looks up the
document's field length in a column, pickles and compresses a block per term and
hashes terms with MD5. Its ``MpWriter`` runs several of those and merges their
segments, the merge costing as much again. A build managed about 30 documents a second.

:class:`BulkWriter` is a ``SegmentWriter`` for whole builds:

* The analyzed text fields (:class:`~search.schema.LemmaText` and
  :class:`~search.schema.SurfaceText`) are analyzed by ``procs`` worker processes
  (forked: they share the parent's modules and caches), worker ``i`` taking chunks
  ``i``, ``i + procs``, ... A worker appends each document's postings to one list per
  term (document, weight, encoded positions, interleaved) with ``map`` in C, so no
  Python code runs per posting; the surface field that joins the lemma fields
  (``exact`` is title, summary and text) is counted from their analysis instead of
  being tokenized again.
* The parent reads the documents, indexes the few other fields itself (ids, dates,
  facets), pickles and compresses each document's stored fields, and writes the
  per-document rows (lengths, columns) through the codec in document order.
* On commit the workers divide the terms among themselves by a hash of the term:
  each leaves the postings of the others' terms in a file for them, then joins the
  postings of its own terms from all workers and encodes them into posting blocks
  (in parallel: pickling and compressing blocks is most of a commit). The parent
  copies their blocks into the segment's postings file and adds the terms to the term
  table through :class:`search.codec.NewsFieldWriter`, then finishes the segment and
  the TOC with ``SegmentWriter``'s own code: the result is an ordinary segment, which
  any Whoosh writer can later update or merge.

Document numbers follow the workers: first the documents of worker 0 in input order,
then those of worker 1, and so on (with one process: input order). That is what lets
a term's postings from two workers be joined without sorting them. Existing segments
are kept as they are (no merge). The garbage collector is paused while a writer is
open: the postings are millions of small acyclic objects, which the collector would
otherwise scan again and again (a third of the time).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import shutil
import tempfile
import traceback
from array import array
from binascii import crc32
from collections import deque
from collections.abc import Sequence
from itertools import repeat
from operator import add
from typing import Any

from whoosh.system import pack_uint
from whoosh.util.numeric import length_to_byte
from whoosh.writing import IndexingError, SegmentWriter

from search.analysis import field_postings
from search.codec import (
    NewsCodec,
    moved_terminfo,
    single_terminfo,
    stored_blob,
    write_term,
)
from search.procs import die_with_parent
from search.schema import LemmaText, SurfaceText

CHUNK_DOCS = 32  # documents a worker analyzes per message
MAX_CHUNKS_AHEAD = 8  # chunks queued per worker before the parent waits
_POLL_SECONDS = 1.0

# Stands for a SurfaceText value that is the lemma fields' values joined by newlines
# (the worker counts its surface forms from their analysis); None stands for no value.
JOINED = True


class _Postings(dict):
    """term -> its postings in one list, interleaved: document, weight[, value], ...

    A new term gets an empty list; ``map`` calls this in C, so that adding a document
    runs no Python code per posting.
    """

    def __missing__(self, term: str) -> list:
        postings = self[term] = []
        return postings


_consume = deque(maxlen=0).extend  # runs an iterator to its end, in C


class _FieldPostings:
    """One worker's postings of one field, term by term, in document order."""

    def __init__(self, positional: bool):
        self.postings = _Postings()
        self.positional = positional

    def add_positions(self, docnum: int, found: dict[str, list[int]], encode) -> int:
        """Add a document's term -> positions; its field length."""
        frequencies = list(map(len, found.values()))
        items = zip(repeat(docnum), frequencies, map(encode, found.values()))
        _consume(map(list.extend, map(self.postings.__getitem__, found), items))
        return sum(frequencies)

    def add_counts(self, docnum: int, found: dict[str, int]) -> int:
        """Add a document's term -> count; its field length."""
        items = zip(repeat(docnum), found.values())
        _consume(map(list.extend, map(self.postings.__getitem__, found), items))
        return sum(found.values())

    def split(self, base: int, parts: int) -> list[dict[bytes, list]]:
        """The posting lists by term bytes, documents numbered from ``base``, divided
        into ``parts`` by a hash of the term (worker ``i`` encodes part ``i``)."""
        stride = 3 if self.positional else 2
        divided: list[dict[bytes, list]] = [{} for _ in range(parts)]
        postings, self.postings = self.postings, None
        for term, interleaved in postings.items():
            if base:
                interleaved[0::stride] = list(map(add, interleaved[0::stride], repeat(base)))
            btext = term.encode("utf-8")
            divided[crc32(btext) % parts if parts > 1 else 0][btext] = interleaved
        return divided


def _encode_terms(
    postings: dict[bytes, list],
    positional: bool,
    write,
    offset: int,
    lengths: bytes,
    fixedsize: int | None,
    limits: tuple[int, int],
) -> tuple[list[tuple[bytes, bytes]], int]:
    """Encode posting lists in term order with ``write``, the first block at ``offset``
    of the file; ``(term bytes, terminfo)`` for each term, and the offset reached.
    ``limits``: the codec's postings per block and inlining limit."""
    stride = 3 if positional else 2
    single = limits[1] > 1 and fixedsize != 0
    terms = []
    for btext in sorted(postings):
        interleaved = postings.pop(btext)
        if single and len(interleaved) == stride:  # one posting: most terms
            docnum, weight = interleaved[0], interleaved[1]
            value = interleaved[2] if positional else _count_values((weight,))[0]
            terms.append((btext, single_terminfo(docnum, weight, value, lengths[docnum])))
            continue
        docs = interleaved[0::stride]
        weights = interleaved[1::stride]
        values = interleaved[2::3] if positional else _count_values(weights)
        lens = bytes(map(lengths.__getitem__, docs))
        info, written = write_term(write, docs, weights, values, lens, fixedsize, *limits)
        terms.append((btext, moved_terminfo(info, offset)))
        offset += written
    return terms, offset


class _Analyzer:
    """What a worker does: analyze chunks of documents, keep and at last encode their
    postings. Lemma fields keep encoded positions; surface fields counts (their
    Frequency-format values are made from the counts when encoding)."""

    def __init__(self, schema, lemma: Sequence[str], surface: Sequence[str], limits):
        self.schema = schema
        self.limits = limits
        self.names = list(lemma) + list(surface)
        self.encoders = [schema[name].format.encode for name in lemma]
        self.lemma = [_FieldPostings(True) for _ in lemma]
        self.surface = [_FieldPostings(False) for _ in surface]
        self.lengths = [bytearray() for _ in self.names]  # length byte per local doc
        self.count = 0

    def analyze(self, docs: list[tuple]) -> list[tuple[int, ...]]:
        """Add a chunk of documents; return each one's field lengths (lemma fields,
        then surface fields)."""
        reported = []
        tables = self.lengths
        for lemma_values, surface_values in docs:
            docnum = self.count
            self.count += 1
            lengths = []
            counted: list[dict[str, int]] = []
            for postings, encode, value in zip(
                self.lemma, self.encoders, lemma_values, strict=True
            ):
                if value is None:
                    lengths.append(0)
                    continue
                found, surfaces = field_postings(value)
                counted.append(surfaces)
                lengths.append(postings.add_positions(docnum, found, encode))
            for postings, value in zip(self.surface, surface_values, strict=True):
                if value is None:
                    lengths.append(0)
                    continue
                counts = _add_counts(counted) if value is JOINED else field_postings(value)[1]
                lengths.append(postings.add_counts(docnum, counts))
            for table, length in zip(tables, lengths, strict=True):
                table.append(length_to_byte(length))
            reported.append(tuple(lengths))
        return reported

    def share(self, number: int, bases: Sequence[int], folder: str) -> None:
        """Divide the postings among the workers by term: keep this worker's part,
        leave each other worker's (with this worker's field lengths) in ``folder``."""
        fields = self.lemma + self.surface
        self.lemma = self.surface = []
        shares: list[dict[str, dict]] = [{} for _ in bases]
        for name, postings in zip(self.names, fields, strict=True):
            for share, part in zip(shares, postings.split(bases[number], len(bases)), strict=True):
                share[name] = part
        lengths = [bytes(table) for table in self.lengths]
        for other, share in enumerate(shares):
            if other == number:
                self.mine = (lengths, share)
            else:
                with open(_share_path(folder, number, other), "wb") as out:
                    pickle.dump((lengths, share), out, protocol=pickle.HIGHEST_PROTOCOL)

    def encode(self, number: int, workers: int, folder: str, path: str) -> dict[str, list]:
        """Encode this worker's part of the postings (all workers' documents) into
        ``path``: field -> [(term bytes, terminfo)] with offsets in that file."""
        sources = []
        for other in range(workers):
            if other == number:
                sources.append(self.mine)
                self.mine = None
            else:
                share_path = _share_path(folder, other, number)
                with open(share_path, "rb") as data:
                    sources.append(pickle.load(data))
                os.remove(share_path)
        records = {}
        offset = 0
        with open(path, "wb") as out:
            for index, name in enumerate(self.names):
                postings = sources[0][1].pop(name)
                for _, share in sources[1:]:  # in worker order, which is document order
                    for btext, interleaved in share.pop(name).items():
                        known = postings.get(btext)
                        if known is None:
                            postings[btext] = interleaved
                        else:
                            known += interleaved
                lengths = b"".join(source[0][index] for source in sources)
                fixedsize = self.schema[name].format.fixed_value_size()
                positional = index < len(self.encoders)
                records[name], offset = _encode_terms(
                    postings, positional, out.write, offset, lengths, fixedsize, self.limits
                )
        return records


def _share_path(folder: str, source: int, target: int) -> str:
    return os.path.join(folder, f"share-{source}-{target}")


def _add_counts(counted: list[dict[str, int]]) -> dict[str, int]:
    """Surface counts of the joined text, from the counts of its parts."""
    if not counted:
        return {}
    largest = max(counted, key=len)
    total = dict(largest)
    for counts in counted:
        if counts is not largest:
            for surface, count in counts.items():
                total[surface] = total.get(surface, 0) + count
    return total


_UINTS = tuple(pack_uint(count) for count in range(1024))


def _count_values(counts: list[int]) -> list[bytes]:
    """Frequency-format values of counts (``SurfaceText.index`` packs each count)."""
    try:
        return list(map(_UINTS.__getitem__, counts))
    except IndexError:
        return [pack_uint(count) for count in counts]


def _worker(number: int, parent: int, tasks, results, analyzer: _Analyzer) -> None:
    """Worker process: chunks in, field lengths out; then share, encode, report.

    It dies with its parent (``parent``, the pid of the process that forked it): a
    parent killed with ``kill -9`` sends no more messages, and the worker would wait
    for them forever, holding its postings in memory.
    """
    die_with_parent(parent)
    gc.disable()  # see the module documentation
    try:
        while True:
            message = tasks.get()
            if message[0] == "chunk":
                _, chunk, docs = message
                results.put(("lengths", chunk, analyzer.analyze(docs)))
            elif message[0] == "share":
                _, bases, folder = message
                analyzer.share(number, bases, folder)
                results.put(("shared", number, None))
            else:
                _, workers, folder, path = message
                results.put(("done", number, analyzer.encode(number, workers, folder, path)))
                return
    except KeyboardInterrupt:  # Ctrl+C reached the whole process group; the parent stops too
        results.cancel_join_thread()
    except BaseException as error:  # reported to the parent, which raises it
        code = error.errno if isinstance(error, OSError) else None
        results.put(("error", number, (traceback.format_exc(), code)))


def _worker_error(number: int, payload: tuple[str, int | None]) -> IndexingError:
    """The parent's exception for a worker's failure, from the worker's traceback.

    A worker's OSError (a full disk, say) becomes the cause, so that the indexer tells
    people what ``search.durable.write_error`` tells them for the parent's own.
    """
    text, code = payload
    error = IndexingError(f"index worker {number} failed:\n{text}")
    if code is not None:
        error.__cause__ = OSError(code, os.strerror(code))
    return error


class BulkWriter(SegmentWriter):
    """A ``SegmentWriter`` for building an index from many documents at once.

    ``procs`` worker processes analyze the text fields (1: all in this process).
    Use it like any writer: ``add_document`` for each document, then ``commit`` (or
    ``cancel``). Fields other than LemmaText/SurfaceText are indexed as usual; field
    boosts, term vectors and spelling fields are not supported.
    """

    def __init__(self, ix, procs: int = 1, codec=None, **kwargs):
        self._workers: list = []
        self._gc_was_enabled = gc.isenabled()
        self._parts_dir: str | None = None
        super().__init__(ix, codec=codec or NewsCodec(), **kwargs)
        schema = self.schema
        problem = None
        if not hasattr(self.fieldwriter, "add_field_terms"):
            problem = "BulkWriter needs a codec with NewsFieldWriter's bulk path"
        if not hasattr(self.perdocwriter, "add_stored_blob"):
            problem = "BulkWriter needs a codec with NewsPerDocWriter"
        for name in schema.names():
            if schema[name].vector or schema[name].separate_spelling():
                problem = f"BulkWriter does not write vectors or spelling ({name})"
        if problem:
            self.cancel()
            raise TypeError(problem)
        gc.disable()
        self._lemma = [n for n in schema.names() if isinstance(schema[n], LemmaText)]
        self._surface = [n for n in schema.names() if isinstance(schema[n], SurfaceText)]
        self._slots = {name: i for i, name in enumerate(self._lemma + self._surface)}
        self._procs = max(1, procs)
        # Documents are held (rows for the per-document writer) per worker, in the
        # order the worker gets them; seq -> (worker, local number) for other fields.
        self._rows: list[list] = [[] for _ in range(self._procs)]
        self._lengths_of: list[dict[int, list]] = [{} for _ in range(self._procs)]
        self._chunk_of: list[list[int]] = [[] for _ in range(self._procs)]
        self._written = [0] * self._procs  # rows written, per worker
        self._next_docnum = 0
        self._other: dict[str, dict[bytes, tuple[list, list, list]]] = {}
        self._other_lengths: dict[str, dict[int, int]] = {}
        self._placement = array("I")  # input sequence -> worker
        self._local = array("I")  # input sequence -> number in its worker
        self._sent = [0] * self._procs
        self._chunk: list[tuple] = []
        self._chunks = 0
        self._results: dict[int, dict] = {}
        self._shared: set[int] = set()
        limits = (self.codec._blocklimit, self.codec._inlinelimit)
        analyzer = _Analyzer(schema, self._lemma, self._surface, limits)
        self._parts_dir = tempfile.mkdtemp(prefix="bulkwriter-", dir=_temp_parent(ix))
        if self._procs > 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._result_queue = context.Queue()
            for number in range(self._procs):
                tasks = context.Queue(MAX_CHUNKS_AHEAD)
                process = context.Process(
                    target=_worker,
                    args=(number, os.getpid(), tasks, self._result_queue, analyzer),
                    name=f"bulkwriter-{number}",
                    daemon=True,
                )
                process.start()
                self._workers.append((process, tasks))
            self._analyzer = None
        else:
            self._procs = 1
            self._analyzer = analyzer

    # -- adding documents -----------------------------------------------------------

    def add_document(self, **fields) -> None:
        self._check_state()
        schema = self.schema
        for key in fields:
            if key.startswith("_") and not key.startswith("_stored_"):
                raise IndexingError(f"BulkWriter does not support boosts ({key})")
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        seq = len(self._placement)
        worker = self._chunks % self._procs
        self._placement.append(worker)
        self._local.append(self._sent[worker] + len(self._chunk))
        stored = {}
        columns = []
        lengths: list[tuple[str, Any]] = []
        for fieldname in fieldnames:
            value = fields[fieldname]
            if value is None:
                continue
            field = schema[fieldname]
            if fieldname in self._slots:
                lengths.append((fieldname, field))
            elif field.indexed:
                length = self._index_here(fieldname, field, value, seq)
                lengths.append((fieldname, length))
                if length:
                    self._other_lengths.setdefault(fieldname, {})[seq] = length
            else:
                lengths.append((fieldname, 0))
            value = fields.get(f"_stored_{fieldname}", value)
            if field.stored:
                stored[fieldname] = value
            if field.column_type and value is not None:
                columns.append((fieldname, field.column_type, field.to_column_value(value)))
        lemma_values: list[str | None] = [None] * len(self._lemma)
        joined = []
        for fieldname, value in fields.items():  # in the document's order, as joined
            slot = self._slots.get(fieldname)
            if slot is not None and slot < len(self._lemma) and value is not None:
                lemma_values[slot] = value
                joined.append(value)
        surface_values: list[Any] = []
        for fieldname in self._surface:
            value = fields.get(fieldname)
            if value is not None and joined and value == "\n".join(joined):
                value = JOINED
            surface_values.append(value)
        self._chunk.append((lemma_values, surface_values))
        self._rows[worker].append((lengths, stored_blob(stored), columns))
        self._added = True
        self.docnum += 1
        if len(self._chunk) >= CHUNK_DOCS:
            self._send_chunk()

    def _index_here(self, fieldname: str, field, value, seq: int) -> int:
        """Index a field that needs no worker (ids, dates, facets); its length."""
        postings = self._other.setdefault(fieldname, {})
        length = 0
        for tbytes, freq, weight, vbytes in field.index(value):
            entry = postings.get(tbytes)
            if entry is None:
                entry = postings[tbytes] = ([], [], [])
            entry[0].append(seq)
            entry[1].append(weight)
            entry[2].append(vbytes)
            if field.scorable:
                length += freq
        return length

    def _send_chunk(self) -> None:
        if not self._chunk:
            return
        chunk = self._chunks
        worker = chunk % self._procs
        self._chunks += 1
        docs, self._chunk = self._chunk, []
        self._chunk_of[worker].append(chunk)
        self._sent[worker] += len(docs)
        if self._analyzer is not None:
            self._lengths_of[0][chunk] = self._analyzer.analyze(docs)
        else:
            _, tasks = self._workers[worker]
            while True:
                try:
                    tasks.put(("chunk", chunk, docs), timeout=_POLL_SECONDS)
                    break
                except queue.Full:
                    self._receive(block=False)
                    self._check_workers()
            self._receive(block=False)
        self._write_rows(0)

    # -- results from the workers ---------------------------------------------------

    def _receive(self, block: bool) -> None:
        """Take the workers' messages: all waiting ones, or at least one if ``block``."""
        while True:
            try:
                message = self._result_queue.get(block=block, timeout=_POLL_SECONDS)
            except queue.Empty:
                if not block:
                    return
                self._check_workers()
                continue
            kind, key, payload = message
            if kind == "error":
                raise _worker_error(key, payload)
            if kind == "lengths":
                self._lengths_of[key % self._procs][key] = payload
            elif kind == "shared":
                self._shared.add(key)
            else:
                self._results[key] = payload
            block = False

    def _check_workers(self) -> None:
        for process, _ in self._workers:
            if not process.is_alive() and process.exitcode:
                raise IndexingError(f"index worker {process.name} died ({process.exitcode})")

    def _write_rows(self, worker: int) -> None:
        """Write the per-document rows of ``worker`` whose lengths are in, in order.

        Only worker 0's rows can be written before the end (its documents come first).
        """
        rows = self._rows[worker]
        chunks = self._chunk_of[worker]
        reported = self._lengths_of[worker]
        writer = self.perdocwriter
        slots = self._slots
        while chunks and chunks[0] in reported:
            for lengths in reported.pop(chunks.pop(0)):
                row = self._written[worker]
                row_lengths, blob, columns = rows[row]
                rows[row] = None
                self._written[worker] += 1
                writer.start_doc(self._next_docnum)
                self._next_docnum += 1
                for fieldname, length in row_lengths:
                    if not isinstance(length, int):  # an analyzed field: its field object
                        writer.add_field(fieldname, length, None, lengths[slots[fieldname]])
                    else:
                        writer.add_field(fieldname, self.schema[fieldname], None, length)
                for fieldname, column, value in columns:
                    writer.add_column_value(fieldname, column, value)
                writer.add_stored_blob(blob)
                writer.finish_doc()

    # -- commit -----------------------------------------------------------------------

    def _merge_segments(self, mergetype, optimize, merge):
        """Keep the index's segments as they are: a bulk build does not merge."""
        return list(self.segments)

    def _flush_segment(self) -> None:
        self._send_chunk()
        bases = []
        total = 0
        for count in self._sent:
            bases.append(total)
            total += count
        folder = self._parts_dir
        paths = [os.path.join(folder, f"part{number}") for number in range(self._procs)]
        if self._analyzer is not None:
            self._analyzer.share(0, bases, folder)
            self._results[0] = self._analyzer.encode(0, 1, folder, paths[0])
            self._analyzer = None
        else:
            for _, tasks in self._workers:
                tasks.put(("share", bases, folder))
            while len(self._shared) < len(self._workers):
                self._receive(block=True)
                self._write_rows(0)
            for number, (_, tasks) in enumerate(self._workers):
                tasks.put(("encode", len(self._workers), folder, paths[number]))
        # while the workers encode: the rows of their documents, the other fields
        for worker in range(self._procs):
            self._write_rows(worker)
            if self._chunk_of[worker]:
                raise IndexingError("index workers did not report every document")
        self.perdocwriter.close()
        self._write_other_fields(bases)
        while len(self._results) < self._procs:
            self._receive(block=True)
        for process, _ in self._workers:
            process.join()
        self._workers = []
        fieldwriter = self.fieldwriter
        offsets = []
        for path in paths:
            with open(path, "rb") as data:
                offsets.append(fieldwriter.append_postings(data))
            os.remove(path)
        for name in self._slots:
            parts = [(offset, self._results[n].pop(name)) for n, offset in enumerate(offsets)]
            fieldwriter.add_field_terms(name, self.schema[name], parts)
        fieldwriter.close()

    def _write_other_fields(self, bases: list[int]) -> None:
        """Write the postings of the fields indexed here, in final document numbers."""
        final = array("I", map(add, self._local, map(bases.__getitem__, self._placement)))
        lengths_of = self._other_lengths_table(final)
        for name in sorted(self._other):
            postings = self._other.pop(name)
            self.fieldwriter.add_field_postings(
                name, self.schema[name], _renumbered(postings, final), lengths_of.get(name)
            )

    def _other_lengths_table(self, final: array) -> dict[str, bytes]:
        """Length byte per document of the scorable fields indexed here."""
        tables = {}
        for name, lengths in self._other_lengths.items():
            table = bytearray(self.docnum)
            for seq, length in lengths.items():
                table[final[seq]] = length_to_byte(length)
            tables[name] = bytes(table)
        return tables

    def commit(self, mergetype=None, optimize=None, merge=None) -> None:
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
        for process, tasks in self._workers:
            # Chunks still buffered for a worker that is gone must not keep this process
            # from exiting (the queue's feeder thread would wait for them forever).
            tasks.cancel_join_thread()
            if process.is_alive():
                process.terminate()
            process.join()
        self._workers = []


def _temp_parent(ix) -> str | None:
    """Where workers write their posting blocks: beside the index when it is on disk."""
    folder = getattr(ix.storage, "folder", None)
    return folder if folder and os.path.isdir(folder) else None


def _renumbered(postings: dict[bytes, tuple[list, list, list]], final: array):
    """The postings of a field indexed by input order, in final document order."""
    for tbytes in sorted(postings):
        seqs, weights, values = postings[tbytes]
        docnums = list(map(final.__getitem__, seqs))
        if any(map(int.__gt__, docnums, docnums[1:])):
            order = sorted(range(len(docnums)), key=docnums.__getitem__)
            docnums = [docnums[i] for i in order]
            weights = [weights[i] for i in order]
            values = [values[i] for i in order]
        yield tbytes, docnums, weights, values
