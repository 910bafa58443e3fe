"""The follower's memory, in the index folder: ``INDEX/follow/state.sqlite``.

SQLite in WAL mode with full sync: every change is one transaction, on the disk when it
returns, so a follower killed at any moment (``kill -9`` included) finds on restart exactly
what it had recorded. What is recorded, and when, is what makes every item indexed once:

- an item found in a feed is recorded (``todo``, or ``pending`` with its article record when
  the feed carries the text) in the same transaction as the feed's new ETag, so a crash
  after it cannot lose the item, and a crash before it fetches the feed again;
- an item whose page was read becomes ``pending`` with its record;
- a batch of pending records is indexed, and only then marked ``indexed``. A crash between
  the two indexes the batch again on restart, under the same ids, which replaces the
  copies already there: the index holds each article once.

Every name an item goes by (GUID, link, canonical link, text hash; see
``search.follow.articles``) is a row of ``keys``, so an article met again through another
feed or URL is known. :func:`status` reads the state for ``--status``, ``/api/feeds`` and
``/healthz``.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FOLDER = "follow"
DATABASE = "state.sqlite"
LOCK = "follower.lock"
RECENT_ERRORS = 10  # per feed, in the status
KEPT_ERRORS = 100  # per feed, in the database
HEARTBEAT_SECONDS = 5.0
BUSY_TIMEOUT = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, source TEXT, kind TEXT, detected_kind TEXT, interval REAL, topic TEXT,
    active INTEGER DEFAULT 1, etag TEXT, last_modified TEXT, body_hash TEXT,
    last_poll REAL, last_ok REAL, last_status TEXT, polls INTEGER DEFAULT 0,
    not_modified INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    item_key TEXT PRIMARY KEY, feed_url TEXT NOT NULL, state TEXT NOT NULL,
    item_json TEXT, record_json TEXT, article_id TEXT, url TEXT, title TEXT, author TEXT,
    attempts INTEGER DEFAULT 0, next_try REAL DEFAULT 0, error TEXT, duplicate_of TEXT,
    first_seen REAL, updated REAL
);
CREATE INDEX IF NOT EXISTS items_by_state ON items (state, next_try);
CREATE INDEX IF NOT EXISTS items_by_feed ON items (feed_url, state);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, item_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL, feed_url TEXT, kind TEXT, message TEXT
);
CREATE INDEX IF NOT EXISTS errors_by_feed ON errors (feed_url, id);
CREATE TABLE IF NOT EXISTS error_counts (
    feed_url TEXT, kind TEXT, count INTEGER, PRIMARY KEY (feed_url, kind)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

#: The states of an item. ``todo``: its page is to be read; ``pending``: its record waits
#: for the next batch; ``indexed``; ``duplicate``: another item is the same article;
#: ``empty``: no text was found (never indexed); ``failed``: its page could not be read;
#: ``rejected``: ingest refused its record.
STATES = ("todo", "pending", "indexed", "duplicate", "empty", "failed", "rejected")


class FollowerBusy(Exception):
    """Another follower is following into the same index folder."""


def state_dir(root: Path) -> Path:
    """The follower's folder in the index folder ``root``."""
    return Path(root) / FOLDER


@dataclass
class NewItem:
    """An item to record: its keys (its own first), and its item or its article record."""

    keys: list[str]
    item_json: str
    record: dict | None = None  # the record, when the feed carried the text
    content: str | None = None  # the key of the record's text (see articles.content_key)
    url: str = ""
    title: str = ""
    author: str = ""


class State:
    """The follower's side of the state; one connection, used by the thread that made it."""

    def __init__(self, root: Path):
        folder = state_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        self.db = connect(folder / DATABASE)
        self.db.executescript(SCHEMA)
        self._depth = 0  # transactions open (see transaction)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction for the block; a transaction inside another is part of it.

        The follower records all the results that came back together in one transaction:
        one sync of the disk for them all, where one each would hold up the loop.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self.db:
                yield self.db
        finally:
            self._depth = 0

    # -- feeds ------------------------------------------------------------------------

    def sync_feeds(self, feeds: Iterable) -> None:
        """Record the feeds of the feeds file; feeds no longer listed stay, inactive."""
        with self.transaction() as db:
            db.execute("UPDATE feeds SET active = 0")
            for feed in feeds:
                db.execute(
                    "INSERT INTO feeds (url, source, kind, interval, topic, active) "
                    "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (url) DO UPDATE SET "
                    "source = excluded.source, kind = excluded.kind, "
                    "interval = excluded.interval, topic = excluded.topic, active = 1",
                    (feed.url, feed.source, feed.kind, feed.interval, feed.topic),
                )

    def validators(self, url: str) -> tuple[str | None, str | None, str | None]:
        """The ETag, Last-Modified and body hash of the feed's last good response."""
        row = self.db.execute(
            "SELECT etag, last_modified, body_hash FROM feeds WHERE url = ?", (url,)
        ).fetchone()
        return tuple(row) if row else (None, None, None)

    def record_poll(
        self,
        url: str,
        status: str,
        validators: tuple[str | None, str | None, str | None] | None = None,
        items: Iterable[NewItem] = (),
        kind: str | None = None,
    ) -> int:
        """Record a poll and the new items it found, at once; how many items were new.

        ``validators`` (ETag, Last-Modified, body hash) replace the stored ones only with
        the items they cover, so a crash in between polls the feed unconditionally again.
        """
        now = time.time()
        with self.transaction() as db:
            added = sum(self._add_item(db, url, item, now) for item in items)
            ok = status in ("ok", "not_modified")
            db.execute(
                "UPDATE feeds SET last_poll = ?, last_status = ?, polls = polls + 1, "
                "last_ok = CASE WHEN ? THEN ? ELSE last_ok END, "
                "not_modified = not_modified + ?, detected_kind = COALESCE(?, detected_kind) "
                "WHERE url = ?",
                (now, status, ok, now, status == "not_modified", kind, url),
            )
            if validators is not None:
                db.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ?, body_hash = ? WHERE url = ?",
                    (*validators, url),
                )
        return added

    def _add_item(self, db: sqlite3.Connection, feed_url: str, item: NewItem, now: float) -> bool:
        known = self._known(db, item.keys)
        if known is not None:
            self._alias(db, known, item.keys)
            return False
        own = item.keys[0]
        self._alias(db, own, item.keys)
        if item.record is None:
            self._insert(db, own, feed_url, "todo", item, now)
        elif item.content and (same := self._known(db, [item.content])) is not None:
            self._insert(db, own, feed_url, "duplicate", item, now, duplicate_of=same)
        else:
            self._insert(db, own, feed_url, "pending", item, now, record=item.record)
            self._alias(db, own, [item.content] if item.content else [])
        return True

    def _insert(self, db, key, feed_url, state, item, now, record=None, duplicate_of=None):
        db.execute(
            "INSERT INTO items (item_key, feed_url, state, item_json, record_json, article_id, "
            "url, title, author, duplicate_of, first_seen, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key, feed_url, state, item.item_json, _json(record),
                record["id"] if record else None, item.url, item.title, item.author,
                duplicate_of, now, now,
            ),
        )  # fmt: skip

    @staticmethod
    def _known(db: sqlite3.Connection, keys: Iterable[str], besides: str = "") -> str | None:
        """The item (other than ``besides``) that one of ``keys`` names, if any."""
        for key in keys:
            row = db.execute("SELECT item_key FROM keys WHERE key = ?", (key,)).fetchone()
            if row and row[0] != besides:
                return row[0]
        return None

    @staticmethod
    def _alias(db: sqlite3.Connection, item_key: str, keys: Iterable[str]) -> None:
        db.executemany(
            "INSERT OR IGNORE INTO keys (key, item_key) VALUES (?, ?)",
            [(key, item_key) for key in keys],
        )

    def known(self, keys: Iterable[str]) -> str | None:
        """The item that one of ``keys`` names, if any."""
        return self._known(self.db, keys)

    # -- items --------------------------------------------------------------------------

    def due(self, per_feed: int, skip: set[str]) -> list[tuple[str, str, str]]:
        """Items whose page is to be read now, the oldest ``per_feed`` of each feed, but
        those in ``skip`` (being read already): (item key, feed URL, item JSON).

        Taken feed by feed, so that fifty new items of one feed, which its host's limit
        lets be read only a few at a time, do not hide the new items of the others.
        """
        rows = self.db.execute(
            "SELECT item_key, feed_url, item_json FROM ("
            "  SELECT item_key, feed_url, item_json, first_seen, ROW_NUMBER() OVER "
            "  (PARTITION BY feed_url ORDER BY first_seen) AS number FROM items "
            "  WHERE state = 'todo' AND next_try <= ?"
            ") WHERE number <= ? ORDER BY number, first_seen",
            (time.time(), per_feed),
        ).fetchall()
        return [tuple(row) for row in rows if row[0] not in skip]

    def resolve(self, item_key: str, record: dict, keys: list[str], author: str) -> None:
        """An item whose page was read: ``pending`` with its record, or ``duplicate`` when
        its canonical link or text (``keys``) names an article already known."""
        with self.transaction() as db:
            same = self._known(db, keys, besides=item_key)
            if same is not None:
                self._set(db, item_key, "duplicate", duplicate_of=same, author=author)
                return
            self._alias(db, item_key, keys)
            self._set(
                db, item_key, "pending", record_json=_json(record), article_id=record["id"],
                url=record["url"], title=record["title"], author=author,
            )  # fmt: skip

    def set_state(self, item_key: str, state: str, **columns) -> None:
        """Put an item in ``state``, setting other ``columns`` too."""
        with self.transaction() as db:
            self._set(db, item_key, state, **columns)

    @staticmethod
    def _set(db: sqlite3.Connection, item_key: str, state: str, **columns) -> None:
        names = "".join(f", {name} = ?" for name in columns)
        db.execute(
            f"UPDATE items SET state = ?, updated = ?{names} WHERE item_key = ?",
            (state, time.time(), *columns.values(), item_key),
        )

    def failed(self, item_key: str, error: str, retry_at: float | None) -> None:
        """Count a failed read of an item's page: retried at ``retry_at``, or given up
        (``failed``) when None."""
        with self.transaction() as db:
            db.execute(
                "UPDATE items SET attempts = attempts + 1, error = ?, updated = ?, "
                "state = CASE WHEN ? THEN 'todo' ELSE 'failed' END, next_try = ? "
                "WHERE item_key = ?",
                (error, time.time(), retry_at is not None, retry_at or 0, item_key),
            )

    def attempts(self, item_key: str) -> int:
        """How many times the page of the item failed to be read."""
        row = self.db.execute("SELECT attempts FROM items WHERE item_key = ?", (item_key,))
        found = row.fetchone()
        return found[0] if found else 0

    def pending(self, limit: int) -> list[tuple[str, dict]]:
        """The oldest pending records: (item key, record)."""
        rows = self.db.execute(
            "SELECT item_key, record_json FROM items WHERE state = 'pending' "
            "ORDER BY updated LIMIT ?",
            (limit,),
        )
        return [(key, json.loads(record)) for key, record in rows]

    def pending_age(self) -> tuple[int, float]:
        """How many records wait to be indexed, and since when (wall time) the oldest has."""
        row = self.db.execute(
            "SELECT COUNT(*), MIN(updated) FROM items WHERE state = 'pending'"
        ).fetchone()
        return row[0], row[1] or 0.0

    def indexed(self, item_keys: Iterable[str], rejected: dict[str, str]) -> None:
        """Mark a batch as indexed once its commit is on the disk (``rejected``: the keys
        that ingest refused, with why). The item and its record are dropped: the index has
        them, and the keys still know the item."""
        now = time.time()
        with self.transaction() as db:
            for key in item_keys:
                state, error = ("rejected", rejected[key]) if key in rejected else ("indexed", None)
                db.execute(
                    "UPDATE items SET state = ?, error = ?, record_json = NULL, item_json = NULL, "
                    "updated = ? "
                    "WHERE item_key = ?",
                    (state, error, now, key),
                )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_indexed', ?)", (str(now),))

    # -- errors and the heartbeat ---------------------------------------------------------

    def error(self, feed_url: str, kind: str, message: str) -> int:
        """Record an error of a feed; how many of its kind the feed has had."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO errors (time, feed_url, kind, message) VALUES (?, ?, ?, ?)",
                (time.time(), feed_url, kind, message),
            )
            db.execute(
                "DELETE FROM errors WHERE feed_url = ? AND id <= "
                "(SELECT id FROM errors WHERE feed_url = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (feed_url, feed_url, KEPT_ERRORS),
            )
            db.execute(
                "INSERT INTO error_counts VALUES (?, ?, 1) ON CONFLICT (feed_url, kind) "
                "DO UPDATE SET count = count + 1",
                (feed_url, kind),
            )
            return db.execute(
                "SELECT count FROM error_counts WHERE feed_url = ? AND kind = ?", (feed_url, kind)
            ).fetchone()[0]

    def heartbeat(self, **values: str | int | float) -> None:
        """Say that the follower is alive (and anything else about it) for the status."""
        values = {"last_seen": time.time(), **values}
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [(key, str(value)) for key, value in values.items()],
            )


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with full sync (see the module doc)."""
    if readonly:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
    else:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    return db


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


# -- one follower per index folder ---------------------------------------------------------


class FollowerLock:
    """``INDEX/follow/follower.lock``, held while a follower runs (a POSIX record lock,
    which the kernel drops when the process dies, however it dies)."""

    def __init__(self, root: Path):
        self.path = state_dir(root) / LOCK
        self._fd: int | None = None

    def __enter__(self) -> FollowerLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EACCES, errno.EAGAIN):
                holder = self.path.read_text(encoding="utf-8").strip() or "another process"
                raise FollowerBusy(
                    f"another follower is following into {self.path.parent.parent} ({holder})"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc_info) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# -- the status, for people and the web ----------------------------------------------------


def status(root: Path, now: float | None = None) -> dict:
    """The follower's state as a JSON-able dict, for ``--status``, ``/api/feeds``, ``/healthz``.

    ``follower``: when it was last seen (``last_seen``, ISO 8601 UTC), its pid, whether it
    looks alive (seen within three heartbeats), and when articles were last indexed;
    ``feeds``: per feed its last poll, last good poll and status, item counts by state
    and error counts by kind, and its recent errors, newest first. Never raises for a
    folder without a follower: it says so.
    """
    now = time.time() if now is None else now
    path = state_dir(root) / DATABASE
    try:
        db = connect(path, readonly=True)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            rows = _rows(db, "SELECT * FROM feeds ORDER BY url")
            feeds = [_feed_status(db, row) for row in rows]
        finally:
            db.close()
    except sqlite3.Error as error:  # no state yet (or a follower making it this moment)
        follower = {**_follower({}, now), "updated_at": None, "updated_text": None}
        unreadable = path.exists() and "no such table" not in str(error)
        return {
            "index": str(root),
            "follower": follower,
            "feeds": [],
            **({"error": f"cannot read {path}: {error}"} if unreadable else {}),
        }
    follower = _follower(meta, now)
    updated = max((row["last_ok"] for row in rows if row["last_ok"]), default=None)
    follower["updated_at"] = _iso(updated)
    follower["updated_text"] = updated_text(now - updated) if updated else None
    return {"index": str(root), "follower": follower, "feeds": feeds}


def updated_text(seconds: float) -> str:
    """«обновлено 5 минут назад»: how long ago the feeds were last read, for the page."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "обновлено только что"
    if minutes < 60:
        amount, forms = minutes, ("минуту", "минуты", "минут")
    elif minutes < 24 * 60:
        amount, forms = minutes // 60, ("час", "часа", "часов")
    else:
        amount, forms = minutes // (24 * 60), ("день", "дня", "дней")
    return f"обновлено {amount} {_plural(amount, forms)} назад"


def _plural(number: int, forms: tuple[str, str, str]) -> str:
    """The Russian form of a noun after ``number``: 1 минуту, 2 минуты, 5 минут, 21 минуту."""
    if number % 10 == 1 and number % 100 != 11:
        return forms[0]
    if 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        return forms[1]
    return forms[2]


def _follower(meta: dict, now: float) -> dict:
    seen = float(meta["last_seen"]) if "last_seen" in meta else None
    stopped = meta.get("stopped") == "1"
    return {
        "last_seen": _iso(seen),
        "seconds_since_seen": round(now - seen, 1) if seen else None,
        "running": bool(seen and not stopped and now - seen < 3 * HEARTBEAT_SECONDS),
        "pid": int(meta["pid"]) if "pid" in meta else None,
        "started": _iso(float(meta["started"])) if "started" in meta else None,
        "last_indexed": _iso(float(meta["last_indexed"])) if "last_indexed" in meta else None,
    }


def _feed_status(db: sqlite3.Connection, feed: dict) -> dict:
    counts = dict(
        db.execute(
            "SELECT state, COUNT(*) FROM items WHERE feed_url = ? GROUP BY state", (feed["url"],)
        )
    )
    errors = dict(
        db.execute("SELECT kind, count FROM error_counts WHERE feed_url = ?", (feed["url"],))
    )
    recent = _rows(
        db,
        "SELECT time, kind, message FROM errors WHERE feed_url = ? ORDER BY id DESC LIMIT ?",
        (feed["url"], RECENT_ERRORS),
    )
    return {
        "url": feed["url"],
        "source": feed["source"],
        "kind": feed["kind"] or feed["detected_kind"],
        "topic": feed["topic"] or None,
        "interval": feed["interval"],
        "active": bool(feed["active"]),
        "last_poll": _iso(feed["last_poll"]),
        "last_ok": _iso(feed["last_ok"]),
        "last_status": feed["last_status"],
        "polls": feed["polls"],
        "not_modified": feed["not_modified"],
        "items": {state: counts.get(state, 0) for state in STATES},
        "errors": errors,
        "recent_errors": [{**error, "time": _iso(error["time"])} for error in recent],
    }


def _rows(db: sqlite3.Connection, sql: str, args: tuple = ()) -> list[dict]:
    cursor = db.execute(sql, args)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="seconds")
