"""The peers our engine is measured against, each behind the :class:`~benchmarks.engine.Engine`
interface and each used the way its documentation suggests (stock analysis, default query
parsing), so that the comparison shows what a user gets without tuning.

* :class:`PostgresEngine`: PostgreSQL 15 full-text search, ``russian`` configuration, a weighted
  tsvector (title A, summary B, text C) with a GIN index, ``websearch_to_tsquery`` and
  ``ts_rank_cd``. Runs a private server in a temporary directory.
* :class:`TantivyEngine`: tantivy (Rust, via the ``tantivy`` PyPI package) with a Russian Snowball
  stemmer and the default (OR) query parser.
* :class:`WhooshStockEngine`: Whoosh with the stock ``LanguageAnalyzer("ru")`` and the default
  ``MultifieldParser`` (AND grouping).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import psycopg2
import tantivy
from whoosh import index as whoosh_index
from whoosh.analysis import LanguageAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import MultifieldParser

from benchmarks.engine import Engine

#: The searchable text fields, in the order of their weight.
TEXT_FIELDS = ("title", "summary", "text")

__all__ = [
    "PEERS",
    "TEXT_FIELDS",
    "Engine",
    "PostgresEngine",
    "TantivyEngine",
    "WhooshStockEngine",
    "dir_size",
    "make_peer",
]


def dir_size(path: str | Path) -> int:
    """Total size in bytes of the regular files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def _text(article: dict, field: str) -> str:
    return article.get(field) or ""


def _check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """Validate a choice of searchable fields (a non-empty subset of :data:`TEXT_FIELDS`).

    All three are searched by default; ``("title", "text")`` reproduces the peer figures in
    ``../shared/eval/README.md``, which were measured without the summary (hence their low
    ``lead`` scores: lead queries are made of summary words).
    """
    fields = tuple(fields)
    unknown = set(fields) - set(TEXT_FIELDS)
    if not fields or unknown:
        raise ValueError(f"fields must be a non-empty subset of {TEXT_FIELDS}, not {fields}")
    return fields


# --------------------------------------------------------------------------------------------
# PostgreSQL


PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")

#: Server settings for the throw-away cluster. Durability is pointless for a benchmark whose
#: data directory is deleted afterwards, and the GIN build is faster with more memory; every
#: other setting is the PostgreSQL default.
PG_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "maintenance_work_mem": "256MB",
}

#: Article field -> (table column, tsvector weight).
_PG_COLUMNS = {"title": ("title", "A"), "summary": ("summary", "B"), "text": ("body", "C")}

_PG_SCHEMA = """
CREATE TABLE articles (
    id text PRIMARY KEY,
    title text NOT NULL,
    summary text NOT NULL,
    body text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS ({tsvector}) STORED
)
"""

# In CSV an empty unquoted field is NULL: FORCE_NOT_NULL keeps empty summaries as ''.
_PG_COPY = (
    "COPY articles (id, title, summary, body) FROM STDIN "
    "(FORMAT csv, FORCE_NOT_NULL (title, summary, body))"
)

_PG_SEARCH = """
SELECT id FROM articles, websearch_to_tsquery('russian', %s) AS q
WHERE tsv @@ q
ORDER BY ts_rank_cd(tsv, q) DESC, id
LIMIT %s
"""


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: Sequence[str], what: str, log: Path | None = None) -> None:
    """Run ``cmd``; on failure raise with its output (and the server log, if any) attached."""
    proc = subprocess.run(
        cmd, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        details = (proc.stdout + proc.stderr).strip()
        if log is not None and log.exists():
            details += "\n--- server log ---\n" + log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{what} failed ({proc.returncode}): {' '.join(cmd)}\n{details}")


def _stop_cluster(prefix: list[str], pg_ctl: str, data: Path, tmp: Path) -> None:
    """Stop the server (if it runs) and delete its directory; used by close() and at exit."""
    if (data / "postmaster.pid").exists():
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    shutil.rmtree(tmp, ignore_errors=True)


def _copy_rows(articles: Iterable[dict]) -> str:
    """Articles as CSV for ``COPY ... (FORMAT csv)``; NUL characters are not allowed in text."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    for a in articles:
        out.writerow([_text(a, f).replace("\x00", "") for f in ("id", "title", "summary", "text")])
    return buf.getvalue()


def _chunks(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Lists of ``size`` items (the last may be shorter), from a list or a stream."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


class PostgresEngine:
    """PostgreSQL FTS in a private, temporary cluster (started here, removed by :meth:`close`).

    initdb and the server refuse to run as root, so when we are root every server command runs
    as ``os_user`` (the ``postgres`` account that the Debian package creates) through
    ``runuser``, and the temporary directory is handed to that user. The cluster listens on a
    free port on 127.0.0.1 and keeps its Unix socket inside the temporary directory, so it never
    collides with a system cluster.
    """

    name = "postgresql"

    def __init__(
        self,
        fields: Sequence[str] = TEXT_FIELDS,
        bin_dir: str | Path = PG_BIN_DIR,
        os_user: str = "postgres",
        settings: dict[str, str] | None = None,
        batch: int = 2000,
    ) -> None:
        self.fields = _check_fields(fields)
        ok, reason = self.available(bin_dir, os_user)
        if not ok:
            raise RuntimeError(reason)
        bin_dir = Path(bin_dir)
        self._batch = batch
        self._conn = None
        self._tmp = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        data, log = self._tmp / "data", self._tmp / "server.log"
        prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(os_user)
            os.chown(self._tmp, user.pw_uid, user.pw_gid)
            prefix = ["runuser", "-u", os_user, "--"]
        pg_ctl = str(bin_dir / "pg_ctl")
        self._finalizer = weakref.finalize(self, _stop_cluster, prefix, pg_ctl, data, self._tmp)
        try:
            _run(
                [
                    *prefix,
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                "initdb",
            )
            self.port = _free_port()
            options = [f"-p {self.port}", f"-k {self._tmp}"]
            options += [
                f"-c {key}={value}" for key, value in {**PG_SETTINGS, **(settings or {})}.items()
            ]
            _run(
                [
                    *prefix,
                    pg_ctl,
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    " ".join(options),
                    "start",
                ],
                "pg_ctl start",
                log,
            )
            self._conn = psycopg2.connect(
                host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
            )
        except BaseException:
            self._finalizer()
            raise

    @property
    def server_pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self._tmp / "data" / "postmaster.pid").read_text().split()[0])

    @staticmethod
    def available(bin_dir: str | Path = PG_BIN_DIR, os_user: str = "postgres") -> tuple[bool, str]:
        """Whether a cluster can be started here, and if not, why not."""
        if not (Path(bin_dir) / "initdb").exists():
            return False, (
                f"{bin_dir}/initdb not found: install the Debian package "
                "postgresql-15 (or postgresql on bookworm)"
            )
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(os_user)
            except KeyError:
                return False, (
                    f"running as root and there is no {os_user!r} user to run "
                    "PostgreSQL as (initdb refuses root)"
                )
            if shutil.which("runuser") is None:
                return False, "running as root and runuser (util-linux) is missing"
        return True, ""

    def build(self, articles: Iterable[dict]) -> None:
        """Create the table, COPY the articles in (the tsvector is a generated column, so it is
        computed during the load), then build the GIN index and gather statistics."""
        with self._conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS articles")
            cur.execute(_PG_SCHEMA.format(tsvector=self.tsvector_sql()))
            for chunk in _chunks(articles, self._batch):
                cur.copy_expert(_PG_COPY, io.StringIO(_copy_rows(chunk)))
            cur.execute("CREATE INDEX articles_tsv ON articles USING gin (tsv)")
            cur.execute("ANALYZE articles")
        self._conn.commit()
        self._conn.autocommit = True

    def tsvector_sql(self) -> str:
        """The generated column's expression, e.g. ``setweight(to_tsvector('russian',
        coalesce(title, '')), 'A') || ...``."""
        parts = (
            f"setweight(to_tsvector('russian', coalesce({column}, '')), '{weight}')"
            for column, weight in (_PG_COLUMNS[f] for f in self.fields)
        )
        return "\n        || ".join(parts)

    def search(self, query: str, limit: int = 10) -> list[str]:
        with self._conn.cursor() as cur:
            cur.execute(_PG_SEARCH, (query, limit))
            return [row[0] for row in cur.fetchall()]

    def size_bytes(self) -> int:
        """Table, TOAST (the stored text) and indexes (GIN and primary key) together."""
        return self._scalar("SELECT pg_total_relation_size('articles')")

    def extra_stats(self) -> dict:
        """The GIN index alone, which is what compares with the other engines' inverted
        indexes (those do not store the article text)."""
        return {"gin_index_bytes": self._scalar("SELECT pg_relation_size('articles_tsv')")}

    def _scalar(self, sql: str) -> int:
        with self._conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._finalizer()


# --------------------------------------------------------------------------------------------
# tantivy

_WORD = re.compile(r"\w+")


def russian_stem_analyzer() -> tantivy.TextAnalyzer:
    """tantivy's default analysis (split on non-alphanumerics, drop tokens of 40+ bytes,
    lower-case) followed by the Snowball Russian stemmer (which also folds ё to е)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("russian"))
        .build()
    )


class TantivyEngine:
    """tantivy with a Russian stemmer; queries go through tantivy's own query parser (OR of
    the terms over title, summary and text, BM25)."""

    name = "tantivy"

    def __init__(
        self,
        fields: Sequence[str] = TEXT_FIELDS,
        heap_bytes: int = 128_000_000,
        num_threads: int = 0,
    ) -> None:
        self.fields = _check_fields(fields)
        self._heap, self._threads = heap_bytes, num_threads
        self._dir = Path(tempfile.mkdtemp(prefix="bench-tantivy-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        for field in self.fields:
            builder.add_text_field(field, tokenizer_name="ru_stem")
        self._index = tantivy.Index(builder.build(), path=str(self._dir))
        self._index.register_tokenizer("ru_stem", russian_stem_analyzer())
        self._searcher: tantivy.Searcher | None = None

    def build(self, articles: Iterable[dict]) -> None:
        writer = self._index.writer(self._heap, self._threads)
        for a in articles:
            writer.add_document(
                tantivy.Document(id=a["id"], **{f: _text(a, f) for f in self.fields})
            )
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()
        self._searcher = self._index.searcher()

    def parse(self, query: str) -> tantivy.Query | None:
        """Parse with the default parser; text that is not valid query syntax (a query typed in
        the wrong keyboard layout, ``g`hk-[fh,jhs``) is searched as its bare words instead."""
        try:
            return self._index.parse_query(query, list(self.fields))
        except ValueError:
            words = _WORD.findall(query)
            if not words:
                return None
            parsed, _errors = self._index.parse_query_lenient(" ".join(words), list(self.fields))
            return parsed

    def search(self, query: str, limit: int = 10) -> list[str]:
        parsed = self.parse(query)
        if parsed is None:
            return []
        searcher = self._searcher
        return [
            searcher.doc(address)["id"][0]
            for _score, address in searcher.search(parsed, limit, count=False).hits
        ]

    def size_bytes(self) -> int:
        return dir_size(self._dir)

    def close(self) -> None:
        self._searcher = None
        self._finalizer()


# --------------------------------------------------------------------------------------------
# Whoosh, stock


class WhooshStockEngine:
    """Whoosh as its documentation sets it up for Russian: ``LanguageAnalyzer("ru")`` (regex
    tokenizer, lower-case, stop words, Snowball stemmer), the default ``MultifieldParser``
    (all terms required), BM25F, one writer process."""

    name = "whoosh-stock"

    def __init__(self, fields: Sequence[str] = TEXT_FIELDS) -> None:
        self.fields = _check_fields(fields)
        self._dir = Path(tempfile.mkdtemp(prefix="bench-whoosh-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        schema = Schema(
            id=ID(stored=True), **{f: TEXT(analyzer=LanguageAnalyzer("ru")) for f in self.fields}
        )
        self._index = whoosh_index.create_in(str(self._dir), schema)
        self._parser = MultifieldParser(list(self.fields), schema)
        self._searcher = None

    def build(self, articles: Iterable[dict]) -> None:
        writer = self._index.writer()
        for a in articles:
            writer.add_document(id=a["id"], **{f: _text(a, f) for f in self.fields})
        writer.commit()
        self._searcher = self._index.searcher()

    def search(self, query: str, limit: int = 10) -> list[str]:
        results = self._searcher.search(self._parser.parse(query), limit=limit)
        return [hit["id"] for hit in results]

    def size_bytes(self) -> int:
        return dir_size(self._dir)

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        self._index.close()
        self._finalizer()


#: Short names (as on the command line) of the peer engines.
PEERS: dict[str, type] = {
    "pg": PostgresEngine,
    "tantivy": TantivyEngine,
    "whoosh": WhooshStockEngine,
}


def make_peer(short_name: str, fields: Sequence[str] = TEXT_FIELDS) -> Engine:
    """Create the peer engine called ``short_name`` (a key of :data:`PEERS`) searching
    ``fields``."""
    if short_name not in PEERS:
        raise ValueError(f"unknown engine {short_name!r}; known: {', '.join(PEERS)}")
    return PEERS[short_name](fields=fields)
