"""Telling a damaged index from a bug, so that a damaged index is a 503 and never a crash.

Whoosh never checks what it reads: a truncated or overwritten segment fails deep inside
it (``struct.error``, ``zlib.error``, ``EOFError``, even ``KeyError: 'id'`` or "negative
seek value"), or opens and answers wrongly. The index's checksums
(``search.check.verify_checksums``) say for sure whether its files are what was written:
they are verified when a worker starts, and again after a request fails with an error
that could be either damage or a bug. While they do not match, every request is answered
503 ``index_unavailable``, and the files are checked again at most every
:data:`RECHECK_SECONDS` (at once when the live index was switched): the service comes
back by itself once the index is rebuilt. An index built before checksums were written
has none to verify: it is served as it is, as before.
"""

from __future__ import annotations

import logging
import pickle
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.filedb.filestore import StorageError
from whoosh.filedb.filetables import FileFormatError
from whoosh.index import IndexError as WhooshIndexError

from search import checksums, layout
from search.check import verify_checksums
from search.durable import INDEX_NAME

log = logging.getLogger(__name__)

#: Errors that only reading broken index files raises in the request path.
INDEX_READ_ERRORS = (
    struct.error,
    zlib.error,
    EOFError,
    pickle.UnpicklingError,
    OSError,
    WhooshIndexError,
    StorageError,
    FileFormatError,
)
#: Checking reads the whole index (about a second per 500 MB): not on every request.
RECHECK_SECONDS = 2.0
#: ...but a request that failed in a way damage could explain checks sooner.
ERROR_RECHECK_SECONDS = 0.5


@dataclass
class _Verdict:
    live: Path | None = None
    problems: list[str] = field(default_factory=list)
    checked: float = float("-inf")  # time.monotonic() of the check


class IndexGuard:
    """The latest verdict on the index of one application, shared by its threads."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._verdict = _Verdict()
        self._suspect = False  # a read failed since the last check
        self._lock = threading.Lock()

    def check(self) -> list[str]:
        """Verify the index files now; the problems found (none: the index is sound).

        No live index is no damage: that is ``IndexMissing``, answered on its own.
        """
        with self._lock:
            return self._check()

    def unavailable(self) -> bool:
        """Whether the index is known to be damaged (checking again when it is time to,
        and at once after a read error: a file read short is damage until checked)."""
        if self._suspect:
            return bool(self._recent_problems())
        return bool(self._verdict.problems) and bool(self._recent_problems())

    def is_index_fault(self, error: BaseException) -> bool:
        """Whether a request failed because of the index rather than a bug.

        Read errors are the index's whatever its checksums say (a file that cannot be
        read cannot be searched), and they make the next question check the files again;
        any other error is when the checksums do not match, checked again for it unless
        a check is fresher than :data:`ERROR_RECHECK_SECONDS` (a file damaged since the
        last check must not pass for a bug).
        """
        if isinstance(error, INDEX_READ_ERRORS):
            with self._lock:
                self._verdict.checked = float("-inf")
                self._suspect = True
            return True
        return bool(self._recent_problems(ERROR_RECHECK_SECONDS))

    def _recent_problems(self, within: float = RECHECK_SECONDS) -> list[str]:
        """The problems of a check at most ``within`` seconds old, of the live index."""
        with self._lock:
            verdict = self._verdict
            recent = time.monotonic() - verdict.checked < within
            if recent and layout.live_dir(self.root) == verdict.live:
                return verdict.problems
            return self._check()

    def _check(self) -> list[str]:
        live = layout.live_dir(self.root)
        problems = verify_checksums(self.root) if live and _has_checksums(live) else []
        if problems and not self._verdict.problems:
            log.error("index %s is damaged: %s", self.root, "; ".join(problems))
        elif self._verdict.problems and not problems:
            log.warning("index %s is sound again", self.root)
        self._verdict = _Verdict(live, problems, time.monotonic())
        self._suspect = False
        return problems


def _has_checksums(live: Path) -> bool:
    """Whether the index has checksums to verify: one built before they were written has
    none, and is served as it is (its files unverified) rather than refused."""
    generation = checksums.latest_generation(live, INDEX_NAME)
    if generation < 0:
        return True  # no table of contents: verifying says so
    if (live / checksums.manifest_name(INDEX_NAME, generation)).exists():
        return True
    log.warning("index %s has no checksums (built by an older version): not verified", live)
    return False
