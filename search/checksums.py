"""SHA-256 checksums of the index files, written at every commit, verified on demand.

Whoosh never verifies what it reads: 64 flipped bytes in a segment leave an index that
opens and passes a read of every stored article, and then fails a query deep inside
Whoosh (``struct.error``) or answers it wrongly. So every commit (build, update,
delete) writes a manifest, ``_MAIN_<generation>.sums`` beside the table of contents
(TOC) ``_MAIN_<generation>.toc``: the size and SHA-256 of the TOC and of every segment
file in the folder. :class:`search.durable.DurableStorage` writes it just before it
renames the new TOC into place (the commit point), syncing it to the disk first, so
every generation a reader can see has its manifest; one left by a writer killed
before the rename names a generation that never came, and is removed later.

Segment files are never changed once written (deletions are kept in the TOC), so a
file the previous manifest names keeps its checksum: a commit hashes only its new
files, and damage done to an old file since its commit is still found.

:func:`verify` checks the files of the current generation: the TOC, then the files of
every segment the TOC names. It only reads, so it may run while a writer commits; a
file that vanishes because a commit replaced the generation meanwhile sends it back to
the new generation.

A reader verifies each segment before it serves it (:func:`verify_segment`). Hashing
every file in every process made opening the 1M-article index (13.7 GB) take 11-32 s
per server worker. So a passed file is stamped, as git stamps its index entries: its
size, inode, device, modification and change times go to ``verified/<segment>.json``,
and a later process hashes it again only when that stat differs. Any write to a file
moves its change time, which no program can set back; a file changed less than
:data:`RACY_SECONDS` before its hashing is not stamped at all, so a write landing in
the same clock tick as the stamp cannot hide. ``news-search check`` still hashes every
file, which also finds what no write explains (a disk's own bit rot).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

SUFFIX = ".sums"
VERIFIED = "verified"  # the folder of the stamps of files found matching their checksums
RACY_SECONDS = 2.0  # a file changed this recently is hashed, never trusted by its stamp
VERIFY_ATTEMPTS = 5  # commits a verification may run into before it gives up
_CHUNK_BYTES = 1 << 20


def toc_name(indexname: str, generation: int) -> str:
    return f"_{indexname}_{generation}.toc"


def manifest_name(indexname: str, generation: int) -> str:
    return f"_{indexname}_{generation}{SUFFIX}"


def toc_generation(indexname: str, name: str) -> int | None:
    """The generation of the TOC called ``name``; None when it is not a TOC's name."""
    found = re.fullmatch(rf"_{re.escape(indexname)}_([0-9]+)\.toc", name)
    return int(found.group(1)) if found else None


def _segment_of(indexname: str, name: str) -> str | None:
    """The segment a file belongs to, as Whoosh names segment files (``MAIN_<id>.<ext>``)."""
    found = re.fullmatch(rf"({re.escape(indexname)}_[0-9a-z]+)\.[A-Za-z0-9_.]+", name)
    return found.group(1) if found else None


def _manifest_generation(indexname: str, name: str) -> int | None:
    found = re.fullmatch(rf"_{re.escape(indexname)}_([0-9]+){re.escape(SUFFIX)}", name)
    return int(found.group(1)) if found else None


def digest(path: Path) -> dict:
    """Size and SHA-256 of a file."""
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as data:
        while chunk := data.read(_CHUNK_BYTES):
            sha.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": sha.hexdigest()}


# -- writing --------------------------------------------------------------------------


def write_manifest(folder: Path, indexname: str, generation: int, temp_toc: str) -> Path:
    """Write the manifest of ``generation``, whose TOC is still at ``temp_toc``.

    The file is flushed to the disk; its folder entry is the caller's to sync before
    the TOC is renamed into place.
    """
    previous = _previous_files(folder, indexname, generation)
    files = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file(follow_symlinks=False) and _segment_of(indexname, entry.name):
            known = previous.get(entry.name)
            same = known and known.get("size") == entry.stat(follow_symlinks=False).st_size
            files[entry.name] = known if same else digest(Path(entry.path))
    files[toc_name(indexname, generation)] = digest(folder / temp_toc)
    path = folder / manifest_name(indexname, generation)
    body = {"generation": generation, "algorithm": "sha256", "files": files}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    return path


def _previous_files(folder: Path, indexname: str, generation: int) -> dict:
    """The files of the newest manifest before ``generation`` (empty when unreadable)."""
    older = [
        (found, entry.name)
        for entry in os.scandir(folder)
        if (found := _manifest_generation(indexname, entry.name)) is not None and found < generation
    ]
    if not older:
        return {}
    try:
        return _read_manifest(folder / max(older)[1])["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def remove_other_manifests(folder: Path, indexname: str, generation: int) -> list[str]:
    """Remove the manifests of every generation but ``generation``; their names.

    Only the writer holding the lock calls this (after its commit, or before writing).
    """
    removed = []
    for entry in os.scandir(folder):
        found = _manifest_generation(indexname, entry.name)
        if found is not None and found != generation:
            Path(entry.path).unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def _read_manifest(path: Path) -> dict:
    body = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(body.get("files"), dict):
        raise ValueError("no file list")
    return body


# -- verifying ------------------------------------------------------------------------


def latest_generation(folder: Path, indexname: str) -> int:
    """The newest TOC's generation in ``folder``, -1 when there is none."""
    found = [toc_generation(indexname, name) for name in os.listdir(folder)]
    return max((g for g in found if g is not None), default=-1)


def verify(folder: Path, indexname: str) -> list[str]:
    """What is wrong with the files of the current generation in ``folder`` (empty: none).

    Each problem is one line naming the damaged or missing file.
    """
    problems: list[str] = []
    try:
        for _ in range(VERIFY_ATTEMPTS):
            generation = latest_generation(folder, indexname)
            problems = _verify_generation(folder, indexname, generation)
            if not problems or latest_generation(folder, indexname) == generation:
                break
    except OSError as error:
        return [f"{folder} cannot be read: {error.strerror or error}"]
    return problems


def _verify_generation(folder: Path, indexname: str, generation: int) -> list[str]:
    if generation < 0:
        return [f"there is no table of contents ({toc_name(indexname, 0)}...) in {folder}"]
    name = manifest_name(indexname, generation)
    try:
        files = _read_manifest(folder / name)["files"]
    except FileNotFoundError:
        return [
            f"no checksums for generation {generation} ({name} is missing): the index was "
            "written by an older version or by another program; rebuild it"
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return [f"the checksum manifest {name} is damaged: {error}"]
    toc = toc_name(indexname, generation)
    problem = _verify_file(folder, toc, files.get(toc))
    if problem:
        return [problem]
    return _verify_segments(folder, indexname, generation, files)


class SegmentDamaged(OSError):
    """A segment's files do not match the checksums written with them."""


#: Segments of this process's indexes whose files matched their checksums when verified.
_verified: set[tuple[str, str]] = set()


def verify_segment(folder: Path, indexname: str, segment_id: str) -> None:
    """Raise SegmentDamaged unless the segment's files match their checksums.

    Each segment is verified once per process (its files never change once written),
    when a reader first opens it or ``verify`` passes it: a reader then never serves a
    segment damaged before it opened it. A file whose stamp (see the module doc) still
    matches its stat is not read again; one without is hashed, and stamped when it
    passes. An index without checksums (an older version's) is not verified, as in
    ``verify``.
    """
    key = (str(folder), segment_id)
    if key in _verified:
        return
    generation = latest_generation(folder, indexname)
    try:
        files = _read_manifest(folder / manifest_name(indexname, generation))["files"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return  # none to verify (older index), or a commit just replaced it
    stamps = _read_stamps(folder, segment_id)
    fresh = {}
    for name, expected in sorted(files.items()):
        if _segment_of(indexname, name) != segment_id:
            continue
        if _stamped(folder / name, stamps.get(name), expected):
            fresh[name] = stamps[name]
            continue
        before = _stat_of(folder / name)
        if problem := _verify_file(folder, name, expected):
            raise SegmentDamaged(problem)
        if before is not None and _stat_of(folder / name) == before and _settled(before):
            fresh[name] = {"stat": before, "sha256": expected["sha256"]}
    if fresh != stamps:
        _write_stamps(folder, segment_id, fresh)
    _verified.add(key)


def discard_stamps(folder: Path, segment_ids: Iterable[str]) -> None:
    """Remove the stamps of segments that are gone (merged away); the writer's to call."""
    keep = {f"{segment}.json" for segment in segment_ids}
    try:
        entries = list(os.scandir(folder / VERIFIED))
    except OSError:
        return
    for entry in entries:
        if entry.name not in keep:
            Path(entry.path).unlink(missing_ok=True)


def _stat_of(path: Path) -> list[int] | None:
    """What a write to the file would change: size, inode, device, mtime and ctime."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_ino, found.st_dev, found.st_mtime_ns, found.st_ctime_ns]


def _settled(stat: list[int]) -> bool:
    """Whether the file was last changed long enough ago for its stamp to be trusted."""
    return time.time_ns() - max(stat[3], stat[4]) > RACY_SECONDS * 1e9


def _stamped(path: Path, stamp: object, expected: dict) -> bool:
    """Whether the file is as it was when it was hashed and found to match ``expected``."""
    return (
        isinstance(stamp, dict)
        and isinstance(expected, dict)
        and stamp.get("sha256") == expected.get("sha256")
        and stamp.get("stat") == _stat_of(path)
    )


def _read_stamps(folder: Path, segment_id: str) -> dict:
    try:
        stamps = json.loads((folder / VERIFIED / f"{segment_id}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def _write_stamps(folder: Path, segment_id: str, stamps: dict) -> None:
    """Replace the segment's stamps in one rename; a read-only index keeps none."""
    target = folder / VERIFIED / f"{segment_id}.json"
    temp = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        target.parent.mkdir(exist_ok=True)
        temp.write_text(json.dumps(stamps, sort_keys=True), encoding="utf-8")
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def _verify_segments(folder: Path, indexname: str, generation: int, files: dict) -> list[str]:
    """Verify the files of every segment the (verified) TOC names."""
    try:
        toc = TOC.read(FileStorage(str(folder)), indexname, generation)
        segments = {segment.segment_id() for segment in toc.segments}
    except Exception as error:  # a TOC that matches its checksum but Whoosh cannot read
        return [f"{toc_name(indexname, generation)} cannot be read: {type(error).__name__}"]
    problems = []
    covered = set()
    for name, expected in sorted(files.items()):
        segment = _segment_of(indexname, name)
        if segment in segments:
            covered.add(segment)
            if problem := _verify_file(folder, name, expected):
                problems.append(problem)
    for segment in sorted(segments - covered):
        problems.append(
            f"segment {segment} has no checksums in {manifest_name(indexname, generation)}"
        )
    if not problems:
        _verified.update((str(folder), segment) for segment in segments)
    return problems


def _verify_file(folder: Path, name: str, expected: dict | None) -> str | None:
    """Why ``name`` does not match its manifest entry, or None when it does."""
    if not isinstance(expected, dict):
        return f"{name} has no checksum in the manifest"
    try:
        actual = digest(folder / name)
    except FileNotFoundError:
        return f"{name} is missing"
    except OSError as error:
        return f"{name} cannot be read: {error.strerror or error}"
    if actual["size"] != expected.get("size"):
        return f"{name} is damaged: {actual['size']} bytes, {expected.get('size')} when written"
    if actual["sha256"] != expected.get("sha256"):
        return f"{name} is damaged: its content differs from its checksum (SHA-256)"
    return None
