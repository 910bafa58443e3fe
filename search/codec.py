"""Whoosh's W3 codec with posting-list inlining that works.

Most terms of a news archive occur in one article (names, numbers, typos). Whoosh
writes each such term a posting block of its own (header, pickle, zlib), which made
the commit the slowest part of a build and the index large. The codec means to
inline short posting lists into the term table, but Whoosh-Reloaded 2.7.5 calls a
misspelt method (``set_inline`` for ``set_inlined``), so inlining never runs.
"""

from __future__ import annotations

from whoosh.codec.whoosh3 import W3Codec, W3PostingsWriter

INLINE_LIMIT = 2  # posting lists shorter than this are inlined


class _InliningPostingsWriter(W3PostingsWriter):
    def finish_postings(self):
        terminfo = self._terminfo
        if not self.written() and len(self) < self._inlinelimit:
            terminfo.add_block(self)
            terminfo.set_inlined(self._ids, self._weights, self._values)
            self._terminfo = None
            return terminfo
        return super().finish_postings()


class NewsCodec(W3Codec):
    """W3Codec that inlines the posting lists of rare terms."""

    def __init__(self):
        super().__init__(inlinelimit=INLINE_LIMIT)

    def postings_writer(self, dbfile, byteids=False):
        return _InliningPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            byteids=byteids,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
        )
