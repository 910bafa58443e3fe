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
the whole list is made only when asked for (``ids``, ``tf``). The ranks are worked out
for all the segments' bitmaps at once: one segment at a time, the weights of a search's
leaders cost 36 µs a segment, most of a query's weighing at a million articles.
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
    """The documents of one segment holding a term, kept as a bitmap."""

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

    @cached_property
    def _unpacked(self) -> np.ndarray:
        """Whether each document of the segment holds the term, deleted or not."""
        return np.unpackbits(self.bitmap, count=self.size).view(bool)


class Postings:
    """A term's postings over all live documents of the index: the listed ones (global
    document numbers, ascending, and their weights) and the kept bitmaps of the segments
    that keep it as one (in the order of the segments). Segments hold apart document
    ranges, so the two never share a document."""

    def __init__(self, listed_ids: np.ndarray, listed_tf: np.ndarray, bitmaps=()):
        self.listed_ids = listed_ids  # int64
        self.listed_tf = listed_tf  # float32
        self.bitmaps: tuple[KeptBitmap, ...] = tuple(bitmaps)
        self.df = listed_ids.size + sum(part.count for part in self.bitmaps)
        self._with_deletions = [n for n, part in enumerate(self.bitmaps) if part.alive is not None]

    def mark(self, mask: np.ndarray) -> None:
        """Set ``mask`` (a bool a document of the index) at every document holding the term."""
        mask[self.listed_ids] = True
        for part in self.bitmaps:
            segment = mask[part.offset : part.offset + part.size]
            segment |= part.holding()

    def bitmap_weights(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of ``docs`` (ascending global numbers), where those are that a bitmap holds
        (live), and their weights: a document's weight is at the rank of its bit, the
        set bits before it. The ranks are worked out for all the bitmaps at once; the
        weights are then read segment by segment, from the first asked to the last."""
        offsets, sizes, words, first_word, bits_before = self._bitmap_table
        part = np.searchsorted(offsets, docs, side="right") - 1
        local = docs - offsets[part]
        inside = (part >= 0) & (local < sizes[part])
        where = np.flatnonzero(inside)
        part, local = part[where], local[where]
        word_at = first_word[part] + (local >> 6)
        word, bit = words[word_at], local & 63
        present = (word & _BIT[bit]) != 0
        for number in self._with_deletions:
            mine = part == number
            present[mine] &= self.bitmaps[number].alive[local[mine]]
        where, part, word_at = where[present], part[present], word_at[present]
        ranks = bits_before[word_at] - bits_before[first_word[part]]
        ranks += np.bitwise_count(word[present] & _BEFORE[bit[present]])
        weights = []
        cuts = np.flatnonzero(np.diff(part)) + 1
        for start, end in zip([0, *cuts.tolist()], [*cuts.tolist(), part.size], strict=True):
            if start < end:
                held = self.bitmaps[int(part[start])]
                weights.append(held.kept.weights_at(held.at, ranks[start:end]))
        found = np.concatenate(weights) if weights else np.zeros(0, dtype=np.float32)
        return where, found

    @cached_property
    def _bitmap_table(self) -> tuple[np.ndarray, ...]:
        """The bitmaps' segments (offsets and sizes), the bitmaps as 64-bit words one
        after another (each padded to a whole word), each one's first word, and the set
        bits before each word."""
        parts = self.bitmaps
        offsets = np.array([part.offset for part in parts], dtype=np.int64)
        sizes = np.array([part.size for part in parts], dtype=np.int64)
        first_word = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(-(-sizes // 64), out=first_word[1:])
        padded = np.zeros(int(first_word[-1]) * 8, dtype=np.uint8)
        for part, start in zip(parts, first_word.tolist(), strict=False):
            padded[start * 8 : start * 8 + part.bitmap.size] = part.bitmap
        words = padded.view(_WORD)
        bits_before = np.zeros(words.size + 1, dtype=np.int64)
        np.cumsum(np.bitwise_count(words), out=bits_before[1:])
        return offsets, sizes, words, first_word, bits_before

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
