"""The interface every benchmarked engine implements, ours and the peers alike."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Engine(Protocol):
    """A full-text engine as the harness sees it.

    ``build`` is timed as a whole, so it must leave the index searchable (committed, indexes
    created, statistics gathered); start-up work that does not depend on the articles (starting a
    server, creating an empty directory) belongs in the constructor and is not timed. An engine
    may also define ``prepare(articles)``, called untimed just before ``build``, for converting
    the input into the form its build reads (ours indexes a JSON Lines file); it is optional, so
    it is not part of the protocol.
    """

    name: str

    def build(self, articles: list[dict]) -> None:
        """Index ``articles`` (dicts with id, title, text, summary, date, url, source, topic,
        tags)."""
        ...

    def search(self, query: str, limit: int = 10) -> list[str]:
        """Return the ids of the best ``limit`` articles for ``query``, best first."""
        ...

    def size_bytes(self) -> int:
        """Size of the index on disk, in bytes."""
        ...

    def close(self) -> None:
        """Release everything: stop servers, delete temporary files. Safe to call twice."""
        ...
