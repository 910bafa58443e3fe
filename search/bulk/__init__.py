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

Memory
------

Nothing goes to the segment before commit but the per-document rows, so peak memory
grows with the size of the segment (the number and length of its documents); there
is no fixed bound:

* The parent holds each document's :class:`~search.bulk.writer.Row` (field lengths,
  columns and the stored blob: the stored fields pickled and compressed, mostly the
  article text) until it is written. Rows are written in final document order, so
  only worker 0's go out as its lengths come back; the rows of the documents of
  workers 1 .. procs-1 (and their reported lengths) wait for the commit: about
  (procs - 1) / procs of all the stored blobs. Besides: the postings of the fields it
  indexes itself (a few per document), 8 bytes of numbering per document, and for
  each worker at most ``MAX_CHUNKS_AHEAD`` x ``CHUNK_DOCS`` (8 x 32) documents' text
  in its queue, plus the chunk being filled. At commit it gets the terminfos of all
  terms.
* Each worker holds the postings of all its documents (lists of ints and encoded
  positions, term by term) until commit. At commit it leaves the other workers their
  terms in files beside the index, then holds the postings of its own terms from all
  workers while it encodes them: about 1 / procs of the segment's postings each.
* With one process (``procs=1``) the parent holds both.

Peak RSS (VmHWM) building the shared news corpus, 8,934 articles, with ``--procs 2``:
parent 218 MB, workers 558 and 626 MB; half of it (4,467 articles): 168, 379 and
402 MB. With ``--procs 1``: 686 MB. (``/usr/bin/time -v`` reports the largest
process: 625 MB.)

Modules: :mod:`~search.bulk.writer` (the writer), :mod:`~search.bulk.pool` (the
worker processes and their messages), :mod:`~search.bulk.analyzer` (a worker's job),
:mod:`~search.bulk.postings` (postings as a worker holds and encodes them),
:mod:`~search.bulk.numbering` (document numbers).
"""

from search.bulk.writer import BulkWriter

__all__ = ["BulkWriter"]
