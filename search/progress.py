"""Progress of an index build or update, on stderr while it runs.

A build of a large corpus takes minutes, and a command that prints nothing until it
ends looks hung. On a terminal a tqdm bar shows the articles indexed, the rate and,
since the number of records is counted first (:func:`estimate_records`, a fraction
of a second per 100 MB), the time left. Elsewhere (a log, a pipe, CI) a bar would be
a stream of carriage returns, so a plain line is printed every ``every`` seconds.
"""

from __future__ import annotations

import gzip
import sys
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from search.ingest import supported_files

PLAIN_EVERY_SECONDS = 10.0
_CHUNK_BYTES = 1 << 20
_READ_ERRORS = (OSError, EOFError, zlib.error)


def estimate_records(sources: Iterable[str | Path]) -> int | None:
    """About how many records ``sources`` hold: lines of JSON Lines and CSV files (less
    the CSV header), one per text file. None when there are no readable files.

    An estimate: blank lines and bad records count, quoted line breaks in CSV too.
    """
    total = None
    for path in supported_files(sources):
        name = path.name.lower()
        if name.endswith(".txt"):
            count = 1
        else:
            count = _lines(path)
            if count is not None and ".csv" in name:
                count = max(count - 1, 0)
        if count is not None:
            total = (total or 0) + count
    return total


def _lines(path: Path) -> int | None:
    """The lines of a (gzipped) text file, counted chunk by chunk; None when unreadable."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    lines, last = 0, b"\n"
    try:
        with opener(path, "rb") as data:
            while chunk := data.read(_CHUNK_BYTES):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except _READ_ERRORS:
        return lines or None
    return lines + (last != b"\n")


class Progress:
    """Articles done, on ``stream``: a bar on a terminal, else a line every ``every`` s
    (default :data:`PLAIN_EVERY_SECONDS`)."""

    def __init__(
        self,
        desc: str,
        total: int | None = None,
        stream: TextIO | None = None,
        every: float | None = None,
    ):
        self.desc = desc
        self.total = total
        self.stream = stream or sys.stderr
        self.every = PLAIN_EVERY_SECONDS if every is None else every
        self.count = 0
        self._started = self._last = time.monotonic()
        self._bar = None
        if self.stream.isatty():
            self._bar = tqdm(desc=desc, total=total, unit=" docs", file=self.stream)

    def update(self, done: int = 1) -> None:
        """Count ``done`` more articles (the indexer calls this for each one)."""
        self.count += done
        if self._bar is not None:
            self._bar.update(done)
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            print(self.line(now - self._started), file=self.stream, flush=True)

    def line(self, seconds: float) -> str:
        """The plain progress line after ``seconds``: count, share of the total, rate, ETA."""
        rate = self.count / seconds if seconds > 0 else 0.0
        text = f"{self.desc}: {self.count} articles"
        if self.total:
            text = f"{self.desc}: {self.count} of about {self.total} articles"
            text += f" ({min(self.count / self.total, 1):.0%})"
        text += f", {rate:.0f} docs/s"
        if self.total and rate > 0:
            text += f", about {_duration(max(self.total - self.count, 0) / rate)} left"
        return text

    def write(self, message: str) -> None:
        """Print a message line without breaking the bar."""
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
