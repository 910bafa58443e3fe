"""One writer at a time per index folder: ``ROOT/.writer.lock``.

Builds, updates and deletes all take this lock for their whole run, so an update can
never race a build switching ``live``, and a second writer either waits (``wait``
seconds) or fails at once with a message that names the holder.

The lock is a POSIX record lock (``fcntl.lockf``) that the kernel drops when its
process dies, however it dies: a writer killed with ``kill -9`` cannot leave the index
locked. Unlike ``flock``, a record lock is not inherited by forked children, so worker
processes of a killed build cannot keep holding it either. The price is that closing
*any* descriptor of the lock file releases the process's lock, which is why only this
module opens it, once per holder. Record locks do not exclude threads of one process,
so a per-folder thread lock is taken first.

Who holds the lock (pid, host, command, since when) is written to
``ROOT/.writer.lock.json`` next to it, for the message the next writer shows. A record
found there by a writer that got the lock is what a killed writer left: it is reported
as cleared and replaced.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

LOCK_FILE = ".writer.lock"
HOLDER_FILE = ".writer.lock.json"
POLL_SECONDS = 0.1

_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()
_held: set[Path] = set()  # folders whose lock this process holds


@dataclass(frozen=True)
class Holder:
    """The writer that holds (or held) the lock of an index folder."""

    pid: int
    host: str
    command: str
    since: str  # ISO 8601, UTC

    @classmethod
    def this_process(cls, command: str | None = None) -> Holder:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return cls(os.getpid(), socket.gethostname(), command or _command_line(), now)

    @classmethod
    def read(cls, root: Path) -> Holder | None:
        """The record in ``root``, or None when there is none or it cannot be read."""
        try:
            data = json.loads((root / HOLDER_FILE).read_text(encoding="utf-8"))
            return cls(
                int(data["pid"]), str(data["host"]), str(data["command"]), str(data["since"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, root: Path) -> None:
        """Replace the record atomically, so that a reader never sees half of it."""
        temp = root / f"{HOLDER_FILE}.{self.pid}.tmp"
        temp.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")
        os.replace(temp, root / HOLDER_FILE)

    def is_alive(self) -> bool | None:
        """Whether the process still runs; None when it ran on another host."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        alive = self.is_alive()
        state = {True: "", False: " (no longer running)", None: " (another host)"}[alive]
        return (
            f"pid {self.pid} on {self.host}{state}, command `{self.command}`, "
            f"since {self.since} ({self._age()})"
        )

    def _age(self) -> str:
        try:
            since = dt.datetime.fromisoformat(self.since)
        except ValueError:
            return "unknown age"
        seconds = (dt.datetime.now(dt.timezone.utc) - since).total_seconds()
        return f"{max(seconds, 0):.0f} s ago"


class IndexBusy(Exception):
    """The index folder is being written by someone else; the message says by whom."""


class WriterBusy(IndexBusy):
    """Another writer holds the lock of the index folder (and did not let go in time)."""

    def __init__(self, root: Path, holder: Holder | None, waited: float):
        self.root = root
        self.holder = holder
        who = holder.describe() if holder else "another process (it has not said who yet)"
        waited_text = f" after waiting {waited:.0f} s" if waited > 0 else ""
        super().__init__(f"index folder {root} is locked by another writer{waited_text}: {who}")


class WriterLock:
    """The writer lock of an index folder, as a context manager.

    ``wait`` is how many seconds to wait for another writer to finish (0: fail at
    once). After acquiring, ``stale`` is the record of a killed writer that had held
    the lock before, if one was found.
    """

    def __init__(self, root: Path, wait: float = 0.0, command: str | None = None):
        self.root = Path(root)
        self.wait = max(0.0, wait)
        self.command = command
        self.stale: Holder | None = None
        self._fd: int | None = None
        self._thread_lock = _thread_lock(self.root)

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        taken = (
            self._thread_lock.acquire(timeout=self.wait)
            if self.wait > 0
            else self._thread_lock.acquire(blocking=False)
        )
        if not taken:
            raise WriterBusy(self.root, Holder.read(self.root), self.wait)
        try:
            self._fd = _lock_file(self.root, deadline, self.wait)
            _held.add(self.root.absolute())
            self.stale = Holder.read(self.root)
            Holder.this_process(self.command).write(self.root)
        except BaseException:
            self._close()
            self._thread_lock.release()
            raise

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            (self.root / HOLDER_FILE).unlink(missing_ok=True)
        except OSError:
            pass  # a read-only folder: the next holder replaces the record
        finally:
            self._close()
            self._thread_lock.release()

    def _close(self) -> None:
        if self._fd is not None:
            _held.discard(self.root.absolute())
            os.close(self._fd)  # closing drops the record lock
            self._fd = None


def current_holder(root: Path) -> Holder | None:
    """The writer holding the lock of ``root`` now, or None when no writer runs.

    Tests the lock itself (the record alone may be a killed writer's), without taking it.
    """
    root = Path(root)
    if root.absolute() in _held:  # opening the file again would drop our own lock
        return Holder.read(root)
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        # F_GETLK through lockf is not exposed: a shared non-blocking lock that fails
        # means a writer holds the exclusive one. It is dropped again at once.
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return Holder.read(root) or Holder(0, "?", "?", "?")
        raise
    finally:
        os.close(fd)
    return None


def _thread_lock(root: Path) -> threading.Lock:
    key = root.absolute()
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


def _lock_file(root: Path, deadline: float, wait: float) -> int:
    """Open and lock ``root/.writer.lock``, polling until ``deadline``; the descriptor."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise WriterBusy(root, Holder.read(root), wait)
            time.sleep(POLL_SECONDS)
    except BaseException:
        os.close(fd)
        raise


def _command_line() -> str:
    """This process's command line, ``python -m search`` shown as ``news-search``."""
    args = list(sys.argv)
    if args and Path(args[0]).name in ("__main__.py", "news-search"):
        args[0] = "news-search"
    return shlex.join(args)
