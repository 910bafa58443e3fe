"""Slices of kept arrays read with ``os.pread``, not through their memory map.

A search reads small parts of some kept arrays at random: a few hundred fingerprint
rows, or a term's posting list in each of 40 segments. Each part read through the map
maps about 64 KB around it (the kernel's fault-around), and every page a worker has
mapped counts in its memory: at a million articles, all 512 MB of fingerprints were
soon counted in every worker that way. Read with ``pread``, the pages stay in the page
cache, shared and counted in no process. The reads go to the file opened with the map,
which stays readable when a merge removes it while an older generation still serves
searches (as its map did).
"""

from __future__ import annotations

import math
import os
from typing import BinaryIO

import numpy as np


def read_span(file: BinaryIO, kept: np.memmap, start: int, end: int) -> np.ndarray:
    """Items (rows, of an array of more than one dimension) ``start`` to ``end`` of
    ``kept``, an array memory-mapped from ``file`` by ``np.load``."""
    row_bytes = kept.itemsize * math.prod(kept.shape[1:])  # (np.prod: 3 µs a call)
    wanted = (end - start) * row_bytes
    data = os.pread(file.fileno(), wanted, kept.offset + start * row_bytes)
    if len(data) != wanted:
        raise OSError(f"{kept.filename} ends before item {end}")
    return np.frombuffer(data, dtype=kept.dtype).reshape((end - start, *kept.shape[1:]))


def file_position(file) -> tuple[int, int]:
    """The descriptor of the file that a Whoosh file object (a ``StructFile``'s ``file``)
    reads, and where its bytes start there: within the segment's compound file for a
    ``SubFile``, at 0 for a file of its own. ValueError for one in memory."""
    if hasattr(file, "_offset"):  # a part of the segment's compound file
        return file._file.fileno(), file._offset
    if hasattr(file, "fileno"):
        return file.fileno(), 0
    raise ValueError(f"{type(file).__name__} is not read from a file")
