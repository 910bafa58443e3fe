"""A W3 posting list read whole: all its document numbers and weights at once, or the
positions of given documents.

Whoosh's ``W3LeafMatcher`` reads a posting list a block of 128 postings at a time, each
through seeks and reads of its file object, an unpickling of the block header, a
generator that undoes the delta coding of the ids one by one, and a weights array
built posting by posting: 560 ns a posting, measured on a segment of the generated
million-article corpus (38,877 articles), where decoding took 60% of all query time.
Here the list's bytes are taken in one read, and each block costs one header
unpickling, one ``zlib.decompress`` and one unpickling of its data; the ids are
undone by one ``numpy.cumsum`` over the whole list.

The layout read (Whoosh 2.7's W3 format, as ``search.codec`` writes it and Whoosh
itself does): the 4-byte header tag, then blocks, each a big-endian signed int length
(negative for the last block), the pickled info tuple ``(count, max id, max weight,
compression, min length, max length)`` and the block data, zlib-compressed when the
compression level is not 0, pickling ``(id deltas, weights, values)``; weights are
None (all 1), one float (all equal) or one per posting.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.matching import FilterMatcher, ListMatcher

from search.codec import TERMINFO

#: Private attributes of Whoosh's W3 leaf matcher that :func:`read_list` relies on.
MATCHER_INTERNALS = ("_postfile", "_startoffset", "_length", "_byteids")
_LENGTH = struct.Struct("!i")
_OFFSET = struct.Struct("!q")


def read_list(matcher) -> tuple[np.ndarray, np.ndarray]:
    """Document numbers (int64, ascending) and weights (float32) of the posting list
    that a segment's matcher reads (deleted documents included)."""
    matcher = _unwrapped(matcher)
    if isinstance(matcher, ListMatcher):  # a short list inlined in the term table
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)
    return _decoded(_list_bytes(matcher), matcher._startoffset)


def read_terminfo(info: bytes, read: Callable[[int, int], bytes]) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`read_list` gives, from a term's W3 term info bytes (as the term table
    holds them): postings inlined there, or blocks that ``read(offset, length)`` returns
    from the segment's postings file. No matcher is made, and nothing of Whoosh's file
    objects is touched, so callers need no lock (``search.termtable.TermLookup``)."""
    inlined = _inlined(info)
    if inlined is not None:
        ids, weights, _ = inlined
        weights = weights or (1.0,) * len(ids)
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)
    offset, length = _list_span(info)
    return _decoded(read(offset, length), offset)


def _inlined(info: bytes) -> tuple | None:
    """(ids, weights or None, values) of a list inlined in its term info, as
    ``ListMatcher`` reads them; None when the list is in the postings file."""
    return pickle.loads(info[TERMINFO.size :]) if info[0] else None


def _list_span(info: bytes) -> tuple[int, int]:
    """Where a list that is not inlined starts in the postings file, and its length."""
    (offset,) = _OFFSET.unpack_from(info, TERMINFO.size)
    (length,) = _LENGTH.unpack_from(info, TERMINFO.size + _OFFSET.size)
    return offset, length


def _decoded(data: bytes, offset: int) -> tuple[np.ndarray, np.ndarray]:
    deltas: list[int] = []
    weights: list[float] = []
    last_id = 0
    for block in _blocks(data, offset):
        block_deltas, block_weights, _ = block.data()
        # Each block's ids restart from 0: its first delta is its first id.
        deltas.append(block_deltas[0] - last_id)
        deltas.extend(block_deltas[1:])
        weights.extend(_weights_of(block_weights, block.count))
        last_id = block.max_id
    return np.cumsum(np.asarray(deltas, dtype=np.int64)), np.asarray(weights, dtype=np.float32)


def _weights_of(block_weights, count: int) -> Sequence[float]:
    """A block's weights, one a posting: stored as None when all are 1, as one float when
    all are equal, else one a posting."""
    if block_weights is None:
        return [1.0] * count
    if isinstance(block_weights, float):
        return [block_weights] * count
    return block_weights


def read_whole(
    info: bytes, read: Callable[[int, int], bytes], fixedsize: int | None
) -> tuple[list[int], list[float], list | None]:
    """A term's whole posting list as lists: document numbers (ascending), weights and
    values (None for a format whose values have size 0; ``fixedsize`` is the format's
    ``fixed_value_size``), from its W3 term info bytes and ``read`` as
    :func:`read_terminfo` takes them. What Whoosh's matcher would step through, a block
    at a time (``search.merge_writer`` copies lists so)."""
    inlined = _inlined(info)
    if inlined is not None:
        ids, weights, values = inlined
        weights = list(weights) if weights else [1.0] * len(ids)
        return list(ids), weights, None if fixedsize == 0 else list(values)
    offset, length = _list_span(info)
    ids: list[int] = []
    weights: list[float] = []
    values: list | None = None if fixedsize == 0 else []
    for block in _blocks(read(offset, length), offset):
        deltas, block_weights, block_values = block.data()
        ids.extend(accumulate(deltas))  # a block's first delta is its first id
        weights.extend(_weights_of(block_weights, block.count))
        if values is None:
            continue
        if fixedsize is None or fixedsize < 0:
            values.extend(block_values)
        else:
            values.extend(
                block_values[at : at + fixedsize] for at in range(0, len(block_values), fixedsize)
            )
    return ids, weights, values


def values_at(
    info: bytes, read: Callable[[int, int], bytes], docnums: np.ndarray
) -> dict[int, bytes]:
    """The posting values (a positions field's encoded positions) of those of
    ``docnums`` (ascending) that a term's list holds, from its W3 term info bytes and
    ``read`` as :func:`read_terminfo` takes them. Blocks holding none of them are
    skipped unread but for their header."""
    inlined = _inlined(info)
    if inlined is not None:
        wanted = set(docnums.tolist())
        pairs = zip(inlined[0], inlined[2], strict=True)
        return {docnum: value for docnum, value in pairs if docnum in wanted}
    offset, length = _list_span(info)
    ids: list[int] = []
    held: list[bytes] = []
    first_id = 0
    for block in _blocks(read(offset, length), offset):
        start, end = np.searchsorted(docnums, (first_id, block.max_id + 1))
        first_id = block.max_id + 1
        if start < end:
            deltas, _, values = block.data()
            ids.extend(accumulate(deltas))  # a block's first delta is its first id
            held.extend(values)
    if not ids:
        return {}
    listed = np.asarray(ids, dtype=np.int64)
    at = np.minimum(np.searchsorted(listed, docnums), listed.size - 1)
    hit = listed[at] == docnums
    return {d: held[i] for d, i in zip(docnums[hit].tolist(), at[hit].tolist(), strict=True)}


def _unwrapped(matcher):
    """A segment with deletions wraps its postings to skip them one by one; callers drop
    deleted documents themselves (with the liveness array)."""
    return matcher.child if isinstance(matcher, FilterMatcher) else matcher


@dataclass
class _Block:
    count: int
    max_id: int
    compressed: bool
    raw: bytes

    def data(self) -> tuple:
        """(id deltas, weights, values) of the block."""
        return pickle.loads(zlib.decompress(self.raw) if self.compressed else self.raw)


def _list_bytes(matcher) -> bytes:
    """The bytes of a ``W3LeafMatcher``'s posting list."""
    if not all(hasattr(matcher, name) for name in MATCHER_INTERNALS):
        # Stepping posting by posting would still answer, 20-50x slower, without a word:
        # a Whoosh upgrade that renamed these must fail loudly (whoosh-reloaded is pinned).
        raise RuntimeError(
            f"{type(matcher).__name__} lacks the posting list internals "
            f"{MATCHER_INTERNALS}: is whoosh-reloaded the pinned version?"
        )
    if matcher._byteids:
        raise ValueError("a posting list of byte ids (a term vector) is not one of documents")
    size = matcher._length
    if isinstance(size, tuple):  # W3TermInfo.from_bytes keeps struct.unpack's tuple
        (size,) = size
    return matcher._postfile.get(matcher._startoffset, size)


def _blocks(data: bytes, offset: int) -> Iterator[_Block]:
    """The blocks of a posting list's bytes (read from ``offset``), their data not yet
    unpickled."""
    if data[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"no posting list at offset {offset}")
    stream = io.BytesIO(data)
    position = len(WHOOSH3_HEADER_MAGIC)
    while position < len(data):
        (length,) = _LENGTH.unpack_from(data, position)
        end = position + _LENGTH.size + abs(length)
        stream.seek(position + _LENGTH.size)
        count, max_id, _, compression, _, _ = pickle.load(stream)
        yield _Block(count, max_id, bool(compression), data[stream.tell() : end])
        position = end
        if length < 0:
            break
