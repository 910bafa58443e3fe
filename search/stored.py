"""A segment's stored fields read with ``os.pread``, without Whoosh's file objects.

Whoosh reads a document's stored fields through three layers of Python file objects
(seek, then read), which one thread of a worker may use at a time (``ranking``'s lock).
A search reads the stored fields of its hits and the headlines of its 20 leaders (the
proximity bonus): at a million articles, 30 reads a query asked once, 4 ms of its 50
in one thread, and the other threads of the worker waited for the lock meanwhile. The
stored column is Whoosh's own (``PickleColumn`` over ``CompressedBytesColumn``: a
pickle compressed with zlib, each document's at an offset the column's reader keeps);
this reads a document's bytes at that offset with a positioned read of the segment's
file, and decompresses and unpickles them as Whoosh does (whoosh-reloaded 2.7.5).
"""

from __future__ import annotations

import os
import pickle
import zlib

from whoosh.codec.whoosh3 import STORED_COLUMN

from search.preads import file_position

# The private attributes of whoosh-reloaded read here (tests/test_segments.py).
STORED_INTERNALS = {
    "SegmentReader": ("_perdoc",),
    "W3PerDocReader": ("_cached_reader",),
    "PickleColumn.Reader": ("_child",),
    "VarBytesColumn.Reader": ("_dbfile", "_basepos", "_offsets", "_lengths"),
    "StructFile": ("file",),
    "SubFile": ("_file", "_offset"),
}


class StoredLookup:
    """The stored fields of a segment's documents, by local number, read from any thread.

    Made by :func:`stored_lookup` with the segment's Whoosh reader held by the caller
    alone (opening the column reads its offsets through Whoosh's file objects).
    """

    def __init__(self, fd: int, base: int, offsets, lengths):
        self._fd = fd
        self._base = base  # where the column's first document starts in the file
        self._offsets, self._lengths = offsets, lengths

    def stored_fields(self, local: int) -> dict:
        """The stored fields of document ``local`` of the segment ({} when none)."""
        length = self._lengths[local]
        if not length:
            return {}
        data = os.pread(self._fd, length, self._base + self._offsets[local])
        if len(data) != length:
            raise OSError(f"the stored fields of document {local} end early")
        return pickle.loads(zlib.decompress(data))


def stored_lookup(leaf) -> StoredLookup | None:
    """The lookup of a segment's stored fields; None when they are not in a file that
    can be read so (no stored column, or a column in memory): Whoosh reads those."""
    reader = leaf._perdoc._cached_reader("_stored", STORED_COLUMN)
    if reader is None:
        return None
    column = reader._child  # the compressed bytes under the pickles
    try:
        fd, base = file_position(getattr(column._dbfile, "file", None))
    except ValueError:
        return None
    return StoredLookup(fd, base + column._basepos, column._offsets, column._lengths)
