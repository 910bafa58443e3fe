"""``news-search index check``: is the index folder sound?

Sound means: ``live`` is a symlink to a complete build inside ``builds/`` (not a
``.partial`` one), every file of the index there matches the checksum written when it
was committed (``search.checksums``), the Whoosh index opens, and every stored article
can be read, its text decompressed, and its id is unique. Leftovers of killed writers
and a writer at work are reported as notes: they do not make the index unsound.

The check only reads, so it is safe while a server searches and a writer writes.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from search import checksums, layout
from search.durable import INDEX_NAME, open_durable
from search.locking import current_holder
from search.schema import decompress_text


@dataclass
class CheckReport:
    """What the check found; ``sound`` is False when ``problems`` is not empty."""

    index: str
    live: str | None = None
    documents: int = 0
    deleted: int = 0
    segments: int = 0
    generation: int = -1
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"sound": self.sound, **asdict(self)}


class _Unsound(Exception):
    """A problem that stops the check: nothing after it could be checked."""


def check_index(root: Path) -> CheckReport:
    """Check the index folder ``root``; never raises for an unsound index."""
    report = CheckReport(index=str(root))
    try:
        live = _check_live_link(Path(root), report)
        report.problems.extend(checksums.verify(live, INDEX_NAME))
        _check_documents(live, report)
    except _Unsound as problem:
        report.problems.append(str(problem))
    _note_leftovers(Path(root), report)
    return report


def verify_checksums(root: Path) -> list[str]:
    """What is wrong with the files of the live index of ``root``: one line each.

    Empty when every file matches the checksum written at its commit. Reads the whole
    index (about a second per 500 MB), so call it at startup or after a failure, not
    per request. Never raises for a damaged or missing index.
    """
    try:
        live = _check_live_link(Path(root), CheckReport(index=str(root)))
    except _Unsound as problem:
        return [str(problem)]
    return checksums.verify(live, INDEX_NAME)


def _check_live_link(root: Path, report: CheckReport) -> Path:
    """The folder ``live`` points to, if the link is sound."""
    if not root.is_dir():
        raise _Unsound(f"{root} is not a folder")
    link = root / layout.LIVE
    if not link.is_symlink():
        what = "missing" if not link.exists() else "not a symlink"
        raise _Unsound(f"{link} is {what}: no index has been switched live")
    target = os.readlink(link)
    report.live = target
    resolved = link.resolve()
    builds = (root / layout.BUILDS).resolve()
    if resolved.parent != builds:
        raise _Unsound(f"{link} points outside {builds}: {target}")
    if resolved.name.endswith(layout.PARTIAL):
        raise _Unsound(f"{link} points to an unfinished build: {target}")
    if not resolved.is_dir():
        raise _Unsound(f"{link} points to a missing folder: {target}")
    return resolved


def _check_documents(live: Path, report: CheckReport) -> None:
    """Open the index and read every stored article."""
    try:
        ix = open_durable(live)
        reader = ix.reader()
    except Exception as error:  # anything Whoosh raises on damaged files
        raise _Unsound(f"the index in {live} does not open: {_reason(error)}") from None
    try:
        report.generation = reader.generation()
        report.segments = len(list(reader.leaf_readers()))
        report.documents = reader.doc_count()
        report.deleted = reader.doc_count_all() - report.documents
        _check_stored(reader, report)
    except _Unsound:
        raise
    except Exception as error:
        raise _Unsound(f"the index in {live} cannot be read: {_reason(error)}") from None
    finally:
        reader.close()


def _check_stored(reader, report: CheckReport) -> None:
    seen: set[str] = set()
    count = 0
    for docnum, stored in reader.iter_docs():
        count += 1
        article_id = stored.get("id")
        if not isinstance(article_id, str) or not article_id:
            report.problems.append(f"document {docnum} has no id")
            continue
        if article_id in seen:
            report.problems.append(f"id {article_id!r} is in the index more than once")
        seen.add(article_id)
        try:
            decompress_text(stored.get("text_zlib"))
        except Exception as error:
            report.problems.append(f"the text of {article_id!r} is damaged: {_reason(error)}")
    if count != report.documents:
        report.problems.append(
            f"the index counts {report.documents} documents but {count} can be read"
        )


def _note_leftovers(root: Path, report: CheckReport) -> None:
    """Notes on a writer at work and on what killed writers left behind."""
    if not root.is_dir():
        return
    holder = current_holder(root)
    if holder is not None:
        report.notes.append(f"a writer is at work: {holder.describe()}")
        return  # its .partial build and temporary files are in use
    builds = root / layout.BUILDS
    partials = sorted(p.name for p in builds.glob(f"*{layout.PARTIAL}")) if builds.is_dir() else []
    for name in partials:
        report.notes.append(
            f"unfinished build {name} left by a failed build (next build removes it)"
        )
    if (root / layout.LIVE_TEMP).is_symlink():
        report.notes.append(f"{layout.LIVE_TEMP} left by a failed build (next build removes it)")


def _reason(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
