"""A term's postings over the whole index, as a search reads them.

A segment keeps the documents of its common terms as bitmaps (``search.frequent``).
Searches used to turn each of them into a list of document numbers, join the lists of
all segments, and scatter them back into the masks of what a clause matches: at a
million articles (40 segments), 4.4 ms for «россия» in the body, 882,577 postings,
and a known-item query asks for some ten such (field, term) pairs. A search only needs
the whole list for its masks, which the bitmaps give directly (unpacked into the mask,
segment by segment: 0.4 ms for «россия»), and the weights of the few thousand documents
that may lead, which the rank of a document's bit gives (the set bits before it, counted
a 64-bit word at a time). So :class:`Postings` holds the listed postings joined,
as before, and a :class:`KeptBitmap` for each segment that keeps the term as a bitmap;
the whole list is made only when asked for (``ids``, ``tf``).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from search.frequent import FrequentPostings

# A document's bit, ``np.packbits`` order (the highest bit of each byte first), in the
# bitmap read as little-endian 64-bit words: for bit ``i`` of a word (``i`` = the
# document's number modulo 64), where it stands, and the bits of the word before it.
_AT = np.arange(64)
_SHIFT = (8 * (_AT >> 3) + 7 - (_AT & 7)).astype(np.uint64)
_BEFORE = np.array([sum(1 << int(_SHIFT[j]) for j in range(i)) for i in range(64)], dtype=np.uint64)
_BIT = np.left_shift(np.uint64(1), _SHIFT)
_WORD = np.dtype("<u8")


class KeptBitmap:
    """The documents of one segment holding a term, kept as a bitmap, and the weights of
    those asked about."""

    def __init__(self, kept: FrequentPostings, at: int, offset: int, alive: np.ndarray | None):
        self.kept = kept
        self.at = at  # the term's place among the segment's kept terms
        self.offset = offset  # the global number of the segment's first document
        self.size = kept.size
        self.alive = alive  # the segment's live documents; None when it has no deletions
        self.bitmap = kept.bitmap(at)
        self.count = kept.count(at) if alive is None else int(self.holding().sum())

    def holding(self) -> np.ndarray:
        """Whether each document of the segment holds the term (and is live)."""
        holding = self._unpacked
        return holding if self.alive is None else holding & self.alive

    def ids(self) -> np.ndarray:
        """The live documents holding the term, global numbers, ascending."""
        return np.flatnonzero(self.holding()) + self.offset

    def tf(self) -> np.ndarray:
        """The weight of each of ``ids``."""
        weights = self.kept.weights(self.at)
        if self.alive is None:
            return weights
        return weights[self.alive[np.flatnonzero(self._unpacked)]]

    def weights_of(self, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``local`` (document numbers in the segment) are live and hold the
        term, and the weight of each that does: the weight of a document is at the rank
        of its bit, the set bits before it."""
        words, at = self._words[local >> 6], local & 63
        present = (words & _BIT[at]) != 0
        if self.alive is not None:
            present &= self.alive[local]
        if not present.any():
            return present, np.zeros(0, dtype=np.float32)
        ranks = self._words_before[(local >> 6)[present]] + np.bitwise_count(
            words[present] & _BEFORE[at[present]]
        )
        first, last = int(ranks.min()), int(ranks.max())
        return present, self.kept.weights(self.at, first, last + 1)[ranks - first]

    @cached_property
    def _unpacked(self) -> np.ndarray:
        """Whether each document of the segment holds the term, deleted or not."""
        return np.unpackbits(self.bitmap, count=self.size).view(bool)

    @cached_property
    def _words(self) -> np.ndarray:
        """The bitmap as 64-bit words (the last one padded with zeros)."""
        padded = np.zeros(-(-self.bitmap.size // 8) * 8, dtype=np.uint8)
        padded[: self.bitmap.size] = self.bitmap
        return padded.view(_WORD)

    @cached_property
    def _words_before(self) -> np.ndarray:
        """The set bits of the bitmap before each of its words."""
        before = np.zeros(self._words.size, dtype=np.int64)
        np.cumsum(np.bitwise_count(self._words[:-1]), out=before[1:])
        return before


class Postings:
    """A term's postings over all live documents of the index: the listed ones (global
    document numbers, ascending, and their weights) and the kept bitmaps of the segments
    that keep it as one. Segments hold apart document ranges, so the two never share a
    document."""

    def __init__(self, listed_ids: np.ndarray, listed_tf: np.ndarray, bitmaps=()):
        self.listed_ids = listed_ids  # int64
        self.listed_tf = listed_tf  # float32
        self.bitmaps: tuple[KeptBitmap, ...] = tuple(bitmaps)
        self.df = listed_ids.size + sum(part.count for part in self.bitmaps)
        # where each bitmap's segment starts and ends, in global numbers
        self.edges = np.array([(part.offset, part.offset + part.size) for part in self.bitmaps])
        self.edges = self.edges.ravel()

    def mark(self, mask: np.ndarray) -> None:
        """Set ``mask`` (a bool a document of the index) at every document holding the term."""
        mask[self.listed_ids] = True
        for part in self.bitmaps:
            segment = mask[part.offset : part.offset + part.size]
            segment |= part.holding()

    @cached_property
    def _whole(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.bitmaps:
            return self.listed_ids, self.listed_tf
        ids = np.concatenate([self.listed_ids, *(part.ids() for part in self.bitmaps)])
        tf = np.concatenate([self.listed_tf, *(part.tf() for part in self.bitmaps)])
        order = np.argsort(ids, kind="stable")
        return ids[order], tf[order]

    @property
    def ids(self) -> np.ndarray:
        """Every live document holding the term, ascending (made when first asked for)."""
        return self._whole[0]

    @property
    def tf(self) -> np.ndarray:
        """The weight of each of ``ids``."""
        return self._whole[1]
