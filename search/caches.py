"""Caches bounded in megabytes, shared by the index generations of a process.

A cache bounded by entries is not bounded in memory on a growing archive: a common
term's postings are 12 bytes an article, so the 20,000 terms the postings cache used to
keep were 8 MB on the shared corpus after 200 queries and would be about a gigabyte at a
million articles, in every worker. Each cache here counts the bytes it holds and drops
the least recently used entries beyond its limit. The limits are set with environment
variables (``news-search serve`` sets them from its options), so that every worker
process of a server gets them.

Entries are keyed by segment id: a segment never changes, so what was cached for the
segments an update did not touch survives the reopen.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")

#: Environment variable -> default megabytes.
LIMITS_MB = {
    "NEWS_SEARCH_POSTINGS_CACHE_MB": 128,
    "NEWS_SEARCH_TITLES_CACHE_MB": 16,
}
_MB = 1 << 20


def limit_bytes(variable: str) -> int:
    """The limit an environment variable sets, in bytes (its default when unset)."""
    raw = os.environ.get(variable, "").strip()
    try:
        megabytes = float(raw) if raw else LIMITS_MB[variable]
    except ValueError:
        raise ValueError(f"{variable} must be a number of megabytes, not {raw!r}") from None
    if megabytes < 0:
        raise ValueError(f"{variable} must not be negative")
    return int(megabytes * _MB)


class ByteLRU(Generic[Value]):
    """A thread-safe least-recently-used cache holding at most ``max_bytes``."""

    def __init__(self, max_bytes: int, size_of: Callable[[Value], int]):
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Value) -> None:
        size = self._size_of(value)
        if size > self.max_bytes:
            return  # larger than the whole cache: read it again when asked
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
