"""The index lifecycle: builds beside the live index, builds that would replace it with
nothing, the writer lock, ``index check`` and the checksums, a full or read-only disk,
bad input, and changes picked up by a running server.

Everything runs for real: the command line in processes of its own, a server process,
and (as root) small loop-mounted or tmpfs file systems for a full and a read-only disk,
which are skipped with the reason when mounting is not possible.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from whoosh import index as whoosh_index

from benchmarks.load_during_update import UpdateLoop, prepare, run_load
from benchmarks.newsgen import generate_articles, marker, write_jsonl
from search import checksums, indexer
from search.check import check_index, verify_checksums
from search.durable import INDEX_NAME
from search.locking import HOLDER_FILE, WriterLock
from search.schema import compress_text
from search.searching import REFRESH_SECONDS, SearchEngine, SearchRequest
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
ARTICLES = 120


def found(root: Path, q: str) -> int:
    return SearchEngine(root).search(SearchRequest(q=q)).total


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("articles")
    return write_jsonl(folder / "base.jsonl", generate_articles(ARTICLES, prefix="base"))


@pytest.fixture
def built(tmp_path: Path, articles: Path) -> Path:
    """A fresh index folder holding ``articles``."""
    root = tmp_path / "index"
    indexer.build(root, [articles])
    return root


def builds_of(root: Path) -> list[str]:
    return sorted(p.name for p in (root / indexer.BUILDS).iterdir())


def live_name(root: Path) -> str:
    return os.readlink(root / indexer.LIVE)


# --- builds -------------------------------------------------------------------------------


def test_build_switches_live_and_keeps_only_the_previous_build(built: Path, articles: Path):
    first = live_name(built)
    indexer.build(built, [articles])
    second = live_name(built)
    assert second != first
    assert builds_of(built) == sorted(Path(n).name for n in (first, second))
    indexer.build(built, [SEEDS])
    assert builds_of(built) == sorted(Path(n).name for n in (second, live_name(built)))
    assert found(built, marker("base-3")) == 0  # the seeds build is live
    assert check_index(built).sound


def test_next_build_removes_what_a_failed_build_left(built: Path, articles: Path, cli):
    leftover = built / indexer.BUILDS / "20200101T000000000000.partial"
    leftover.mkdir()
    (leftover / "MAIN_junk.seg").write_bytes(b"half a segment")
    (built / indexer.LIVE_TEMP).symlink_to("builds/20200101T000000000000.partial")
    report = check_index(built)
    assert report.sound, report.problems
    assert any("unfinished build" in note for note in report.notes)
    assert any(indexer.LIVE_TEMP in note for note in report.notes)
    done = cli("index", "build", articles, "--index", built)
    assert done.returncode == 0, done.stderr
    assert not leftover.exists()
    assert not (built / indexer.LIVE_TEMP).is_symlink()
    assert not check_index(built).notes


@pytest.mark.slow
def test_build_durably_syncs_before_the_switch(tmp_path: Path, articles: Path):
    """The order of the syscalls that make a build durable, as ``strace`` sees them."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    log = tmp_path / "strace.log"
    command = [sys.executable, "-m", "search", "index", "build", str(articles), "--procs", "1"]
    subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=fsync,rename,renameat,renameat2", "-o", str(log),
         *command, "--index", str(tmp_path / "index")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True,
    )  # fmt: skip
    calls = [line.split(None, 1)[1] for line in log.read_text().splitlines() if " " in line]
    partial_rename = next(i for i, c in enumerate(calls) if '.partial", ' in c)
    live_rename = next(i for i, c in enumerate(calls) if ".live.tmp" in c)
    assert any(c.startswith("fsync") for c in calls[:partial_rename])
    assert calls[partial_rename + 1].startswith("fsync")  # builds/ after the rename
    assert any(c.startswith("fsync") for c in calls[live_rename + 1 :])  # the root after


# --- index check ----------------------------------------------------------------------------


def test_check_of_a_sound_index(built: Path, cli):
    done = cli("index", "check", "--index", built, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sound"] is True
    assert report["documents"] == ARTICLES
    assert report["live"] == live_name(built)
    assert report["problems"] == []


def _live_to_missing(root: Path) -> str:
    (root / indexer.LIVE).unlink()
    (root / indexer.LIVE).symlink_to("builds/nothing-here")
    return "missing folder"


def _live_to_partial(root: Path) -> str:
    partial = root / indexer.BUILDS / "20200101T000000000000.partial"
    shutil.copytree(indexer.live_dir(root), partial)
    (root / indexer.LIVE).unlink()
    (root / indexer.LIVE).symlink_to(f"builds/{partial.name}")
    return "unfinished build"


def _no_live(root: Path) -> str:
    (root / indexer.LIVE).unlink()
    return "missing"


def _truncated_segment(root: Path) -> str:
    segment = next(indexer.live_dir(root).glob("*.seg"))
    segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 3])
    return "index"


def _damaged_text(root: Path) -> str:
    writer = whoosh_index.open_dir(str(indexer.live_dir(root))).writer()
    writer.add_document(id="damaged-1", title="Повреждённая статья", text_zlib=b"not zlib")
    writer.commit()
    return "'damaged-1' is damaged"


def _duplicate_id(root: Path) -> str:
    writer = whoosh_index.open_dir(str(indexer.live_dir(root))).writer()
    writer.add_document(id="base-5", title="Вторая копия", text_zlib=compress_text("текст"))
    writer.commit()
    return "'base-5' is in the index more than once"


def _flipped_bytes(root: Path) -> str:
    """64 bytes flipped in the middle of the segment: the index opens and every article
    reads, so only the checksums tell."""
    segment = next(indexer.live_dir(root).glob("*.seg"))
    data = bytearray(segment.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    segment.write_bytes(bytes(data))
    return f"{segment.name} is damaged"


@pytest.mark.parametrize(
    "damage",
    [_live_to_missing, _live_to_partial, _no_live, _truncated_segment, _damaged_text,
     _duplicate_id, _flipped_bytes],
)  # fmt: skip
def test_check_of_an_unsound_index_fails_with_the_reason(built: Path, cli, damage):
    reason = damage(built)
    done = cli("index", "check", "--index", built)
    assert done.returncode == 1
    assert "NOT sound" in done.stderr and reason in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    as_json = json.loads(cli("index", "check", "--index", built, "--json").stdout)
    assert as_json["sound"] is False and any(reason in p for p in as_json["problems"])


def test_check_of_a_folder_without_index(tmp_path: Path, cli):
    done = cli("index", "check", "--index", tmp_path / "nothing")
    assert done.returncode == 1
    assert "is not a folder" in done.stderr


def manifests(root: Path) -> list[str]:
    return sorted(p.name for p in indexer.live_dir(root).glob(f"*{checksums.SUFFIX}"))


def test_every_commit_writes_the_checksums_of_its_generation(built: Path, articles: Path):
    """Build, update and delete each leave one manifest, of the live generation, that
    verifies; a segment damaged after later commits is still found (its checksum is
    carried over, not taken again from the damaged file)."""
    first_segment = next(indexer.live_dir(built).glob("*.seg"))
    assert manifests(built) == [checksums.manifest_name(INDEX_NAME, 1)]
    indexer.update(built, [write_jsonl(built.parent / "new.jsonl", generate_articles(3, "new"))])
    indexer.delete(built, ["base-1"])
    generation = check_index(built).generation
    assert generation == 3 and manifests(built) == [checksums.manifest_name(INDEX_NAME, 3)]
    assert verify_checksums(built) == [] and check_index(built).sound
    with first_segment.open("r+b") as segment:
        # Flipped, not zeroed: the middle may be zeros already (the fingerprint column).
        segment.seek(first_segment.stat().st_size // 2)
        flipped = bytes(b ^ 0xFF for b in segment.read(64))
        segment.seek(first_segment.stat().st_size // 2)
        segment.write(flipped)
    assert verify_checksums(built) == [
        f"{first_segment.name} is damaged: its content differs from its checksum (SHA-256)"
    ]
    report = check_index(built)
    assert not report.sound and report.problems[0].startswith(first_segment.name)


def test_checksums_of_an_index_without_manifest_say_so(built: Path):
    (indexer.live_dir(built) / checksums.manifest_name(INDEX_NAME, 1)).unlink()
    [problem] = verify_checksums(built)
    assert "no checksums for generation 1" in problem and "rebuild" in problem
    assert verify_checksums(built.parent / "nothing")[0].endswith("is not a folder")


# --- builds that would replace the live index with nothing -----------------------------------


def _unreadable(path: Path) -> Path:
    """A file that opens but cannot be read (EIO), even for root, whom chmod does not stop."""
    path.symlink_to("/proc/self/mem")
    return path


@pytest.mark.parametrize("lost", ["missing", "unreadable", "binary", "nothing"])
def test_build_that_lost_a_source_is_not_switched_live(built: Path, tmp_path: Path, lost: str):
    source = tmp_path / "in"
    source.mkdir()
    write_jsonl(source / "good.jsonl", generate_articles(2, prefix="new"))
    sources = [source]
    if lost == "missing":
        sources.append(tmp_path / "typo.jsonl")
    elif lost == "unreadable":
        _unreadable(source / "unreadable.jsonl")
    elif lost == "binary":
        sources.append(tmp_path / "binary.jsonl")
        sources[-1].write_bytes(bytes(range(256)))
    else:
        (source / "good.jsonl").write_bytes(b"")
    live = live_name(built)
    with pytest.raises(indexer.BuildRefused, match="not switched live") as refused:
        indexer.build(built, sources)
    assert str(built.absolute()) in str(refused.value)
    assert live_name(built) == live and builds_of(built) == [Path(live).name]
    assert found(built, marker("base-7")) == 1 and found(built, marker("new-1")) == 0
    indexer.build(built, sources, allow_empty=True)
    assert live_name(built) != live


def test_a_bad_file_inside_a_folder_costs_only_itself(built: Path, tmp_path: Path):
    source = tmp_path / "in"
    source.mkdir()
    write_jsonl(source / "good.jsonl", generate_articles(2, prefix="new"))
    (source / "binary.jsonl").write_bytes(bytes(range(256)))
    report = indexer.build(built, [source])
    assert report.indexed == 2 and report.skipped == 1
    assert found(built, marker("new-1")) == 1


# --- the writer lock -------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from search.locking import WriterLock
with WriterLock(sys.argv[1], command="test holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@contextmanager
def holding(script: str, *args: object) -> Iterator[subprocess.Popen]:
    """A separate process running ``script``, once it has printed "held"; killed afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait()


def lock_holder(root: Path, seconds: float):
    """A separate process holding the writer lock of ``root`` for ``seconds``."""
    return holding(HOLD_LOCK, root, seconds)


WRITES = {
    "build": lambda articles: ("index", "build", articles),
    "update": lambda articles: ("index", "update", articles),
    "delete": lambda articles: ("index", "delete", "base-1"),
}


@pytest.mark.parametrize("command", WRITES)
def test_second_writer_fails_at_once_naming_the_holder(built: Path, articles: Path, cli, command):
    with lock_holder(built, 60) as holder:
        started = time.monotonic()
        done = cli(*WRITES[command](articles), "--index", built)
        assert time.monotonic() - started < 20
    assert done.returncode == 1
    message = done.stderr
    assert "locked by another writer" in message, message
    assert f"pid {holder.pid}" in message and os.uname().nodename in message
    assert "`test holder`" in message and "since " in message and "--wait" in message
    assert "Traceback" not in message
    assert found(built, marker("base-1")) == 1  # nothing was written


@pytest.mark.parametrize("command", WRITES)
def test_second_writer_waits_with_wait(built: Path, articles: Path, cli, command):
    with lock_holder(built, 1.5):
        started = time.monotonic()
        done = cli(*WRITES[command](articles), "--index", built, "--wait", "60")
        waited = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert waited >= 0.5


def test_wait_gives_up_after_the_time(built: Path, articles: Path, cli):
    with lock_holder(built, 60):
        done = cli("index", "update", articles, "--index", built, "--wait", "1")
    assert done.returncode == 1
    assert "after waiting 1 s" in done.stderr


def test_lock_of_a_killed_writer_is_cleared(built: Path, articles: Path, cli):
    with lock_holder(built, 60) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (built / HOLDER_FILE).exists()  # the record outlives its writer
    done = cli("index", "update", articles, "--index", built)
    assert done.returncode == 0, done.stderr
    assert f"killed writer: pid {holder.pid}" in done.stderr
    assert "no longer running" in done.stderr
    assert not (built / HOLDER_FILE).exists()


def test_threads_of_one_process_exclude_each_other(built: Path):
    with WriterLock(built), pytest.raises(indexer.IndexBusy):
        indexer.delete(built, ["base-1"])
    assert indexer.delete(built, ["base-1"]) == []


HOLD_WHOOSH_LOCK = """
import sys, time
from whoosh import index
writer = index.open_dir(sys.argv[1]).writer()
print("held", flush=True)
time.sleep(60)
"""


def whoosh_writer_process(root: Path):
    """A process holding Whoosh's own writer lock in the live index (not ours)."""
    return holding(HOLD_WHOOSH_LOCK, indexer.live_dir(root))


def test_whoosh_lock_of_a_killed_writer_does_not_block(built: Path, articles: Path, cli):
    with whoosh_writer_process(built) as process:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (indexer.live_dir(built) / "MAIN_WRITELOCK").exists()
    done = cli("index", "update", articles, "--index", built)
    assert done.returncode == 0, done.stderr


def test_whoosh_lock_of_a_foreign_writer_is_named(built: Path, articles: Path, cli):
    with whoosh_writer_process(built):
        done = cli("index", "update", articles, "--index", built)
    assert done.returncode == 1
    assert "Whoosh write lock" in done.stderr and "Traceback" not in done.stderr


def test_update_waits_for_a_running_build_and_is_kept(tmp_path: Path, articles: Path, cli):
    """An update started during a build lands in the new build, after the switch."""
    root = tmp_path / "index"
    big = write_jsonl(tmp_path / "big.jsonl", generate_articles(3000, prefix="big"))
    late = write_jsonl(tmp_path / "late.jsonl", generate_articles(3, prefix="late"))
    indexer.build(root, [articles])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    build = subprocess.Popen(
        [sys.executable, "-m", "search", "index", "build", str(big), "--index", str(root)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (root / HOLDER_FILE).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert build.poll() is None, "the build ended before the update could start"
        update = cli("index", "update", late, "--index", root, "--wait", "120")
    finally:
        out, err = build.communicate(timeout=120)
    assert build.returncode == 0, err
    assert update.returncode == 0, update.stderr
    assert found(root, marker("late-1")) == 1
    assert found(root, marker("big-7")) == 1
    assert found(root, marker("base-7")) == 0


@pytest.mark.corpus
def test_ctrl_c_stops_a_build_at_once_and_keeps_the_live_index(built: Path):
    """Ctrl+C (SIGINT to the whole process group, workers included) mid-build: the command
    exits within seconds, not hanging on chunks queued for the workers, and nothing changes.

    On the shared corpus: its real articles keep the workers behind the reader, so chunks
    wait in the queues (generated ones are analyzed too fast for that)."""
    big = CORPUS
    before = live_name(built)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "search", "index", "build", str(big), "--index", str(built)]
    build = subprocess.Popen(
        [*command, "--procs", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (built / HOLDER_FILE).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(4)  # the workers are busy with chunks by now
        assert build.poll() is None, "the build ended before it could be interrupted"
        os.killpg(build.pid, signal.SIGINT)
        build.communicate(timeout=20)
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
    assert build.returncode != 0
    assert live_name(built) == before and builds_of(built) == [Path(before).name]
    assert found(built, marker("base-7")) == 1 and found(built, marker("big-7")) == 0
    assert check_index(built).sound


# --- a full disk, a read-only one, a path that is not a folder ---------------------------------


@contextmanager
def loop_filesystem(folder: Path, megabytes: int) -> Iterator[Path]:
    """A fresh ext4 file system of ``megabytes`` mounted on ``folder/mnt``; skips without root."""
    image, mount_point = folder / "disk.img", folder / "mnt"
    mount_point.mkdir()
    with image.open("wb") as out:
        out.truncate(megabytes << 20)
    commands = (["mkfs.ext4", "-q", "-F", "-m", "0", str(image)],
                ["mount", "-o", "loop", str(image), str(mount_point)])  # fmt: skip
    for command in commands:
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip(f"{command[0]} is not installed")
        if done.returncode != 0:
            pytest.skip(f"cannot make a test file system ({' '.join(command[:2])}): "
                        f"{done.stderr.strip()}")  # fmt: skip
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(mount_point: Path, leave_kb: int) -> None:
    """Fill the file system but for about ``leave_kb`` KiB."""
    stats = os.statvfs(mount_point)
    free = stats.f_bavail * stats.f_frsize
    with (mount_point / "filler").open("wb") as out:
        os.posix_fallocate(out.fileno(), 0, max(0, free - (leave_kb << 10)))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with loop_filesystem(tmp_path, 8) as mount_point:
        yield mount_point


@pytest.mark.parametrize("command", ["build", "update"])
def test_full_disk_is_a_clear_error_and_costs_nothing(small_disk: Path, tmp_path: Path, cli,
                                                      command):  # fmt: skip
    root = small_disk / "index"
    indexer.build(root, [SEEDS])
    live, before = live_name(root), check_index(root)
    fill(small_disk, leave_kb=300)
    big = write_jsonl(tmp_path / "big.jsonl", generate_articles(1500, prefix="big"))
    done = cli("index", command, big, "--index", root)
    assert done.returncode == 1
    assert f"cannot write to index folder {root}: no space left on device" in done.stderr
    assert "Traceback" not in done.stderr
    after = check_index(root)
    assert after.sound and after.documents == before.documents and live_name(root) == live
    assert not list((root / indexer.BUILDS).glob("*.partial"))
    free = os.statvfs(small_disk)
    assert free.f_bavail * free.f_frsize >= 200 << 10  # what the failed writer wrote is gone
    assert found(root, "Казахстан") == 1


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder/tmpfs``; skips when mounting is not permitted."""
    mount_point = folder / "tmpfs"
    mount_point.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("mount is not installed")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_full_disk_in_the_index_workers_is_a_clear_error(tmp_path: Path, cli):
    """The workers of a multi-process build write their postings beside the index: on a
    full disk their OSError (sent to the parent as text) must still read as one."""
    big = write_jsonl(tmp_path / "big.jsonl", generate_articles(3000, prefix="big"))
    with tmpfs(tmp_path, "1m") as disk:
        root = disk / "index"
        done = cli("index", "build", big, "--procs", "2", "--index", root)
        assert done.returncode == 1
        assert f"cannot write to index folder {root}: no space left on device" in done.stderr
        assert "Traceback" not in done.stderr and "IndexingError" not in done.stderr
        assert not (root / indexer.LIVE).exists() and not list(root.glob("builds/*"))


def test_read_only_folder_is_a_clear_error(small_disk: Path, articles: Path, cli):
    root = small_disk / "index"
    indexer.build(root, [SEEDS])
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    for command in WRITES.values():
        done = cli(*command(articles), "--index", root)
        assert done.returncode == 1
        assert f"cannot write to index folder {root}: read-only file system" in done.stderr
        assert "Traceback" not in done.stderr
    assert check_index(root).sound
    assert found(root, "Казахстан") == 1


def test_index_path_under_a_file_is_a_clear_error(tmp_path: Path, cli):
    (tmp_path / "file").write_text("not a folder")
    done = cli("index", "build", SEEDS, "--index", tmp_path / "file" / "index")
    assert done.returncode == 1
    assert "not a directory" in done.stderr and "Traceback" not in done.stderr


# --- bad input costs only itself ------------------------------------------------------------


def _good(article_id: str, **fields) -> dict:
    return {"id": article_id, "title": f"Новость {article_id}",
            "text": f"Обычный текст новости {marker(article_id)}.", **fields}  # fmt: skip


def _jsonl(*records) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()) + b"\n"
        for r in records
    )


def mixed_input(folder: Path) -> dict[str, int]:
    """A folder of good and bad files; the good article ids, with the line each is on."""
    folder.mkdir()
    (folder / "good.jsonl").write_bytes(_jsonl(_good("good-1"), _good("good-2")))
    (folder / "broken.jsonl").write_bytes(_jsonl(
        _good("broken-ok-1"), b'{"id": "x", "title": ', b"[1, 2]", {"title": "no id"},
        {"id": "bad-date", "title": "t", "date": "32.13.2020"}, b"\xff\xfe junk",
        {"id": "bad-tags", "title": "t", "tags": "not a list"}, _good("broken-ok-2"),
    ))  # fmt: skip
    noise = os.urandom(20_000).hex()  # so that the cut falls inside the last record
    gz = gzip.compress(_jsonl(_good("gz-1"), _good("gz-2"), _good("gz-lost", summary=noise)))
    (folder / "truncated.jsonl.gz").write_bytes(gz[: len(gz) * 3 // 4])
    (folder / "binary.jsonl").write_bytes(bytes(range(256)) * 40)
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "empty.csv").write_bytes(b"")
    # Just under the 1,000,000-character cap of a text (search.records.FIELD_LIMITS).
    huge = "Большой материал о строительстве дорог. " * 24_000 + marker("huge-1")
    (folder / "huge.jsonl").write_bytes(_jsonl({"id": "huge-1", "title": "Огромная", "text": huge}))
    (folder / "columns.csv").write_text(
        "id,title,text\ncsv-1,Заголовок,Текст " + marker("csv-1") + "\n"
        "csv-bad,только два поля\ncsv-2,Заголовок,\"Текст, " + marker("csv-2") + "\"\n"
        "csv-bad2,a,b,c,d\n", encoding="utf-8")  # fmt: skip
    (folder / "no-id.csv").write_text("title,text\nЗаголовок,Текст\n", encoding="utf-8")
    (folder / "cp1251.csv").write_bytes(
        "id;title;text\ncp-1;Выборы в Государственную думу;Избиратели проголосовали "
        "за кандидатов в округах\n".encode("cp1251"))  # fmt: skip
    (folder / "koi8.txt").write_bytes(
        "date 2024-05-06 #Погода\nОбщество\n\nСнегопад в мае удивил жителей столицы\n\n"
        "Синоптики объясняют аномалию холодным циклоном.\n".encode("koi8-r"))  # fmt: skip
    return {"good-1": 1, "good-2": 1, "broken-ok-1": 1, "broken-ok-2": 1, "gz-1": 1, "gz-2": 1,
            "huge-1": 1, "csv-1": 1, "csv-2": 1}  # fmt: skip


REPORTED = [
    "broken.jsonl:2: bad JSON", "broken.jsonl:3: not a JSON object", "broken.jsonl:4: missing id",
    "broken.jsonl:5: bad date", "broken.jsonl:6: invalid UTF-8", "broken.jsonl:7: field 'tags'",
    "truncated.jsonl.gz:", "binary.jsonl:0: binary", "empty.jsonl:0: empty file",
    "columns.csv:3: expected 3 fields, got 2", "columns.csv:5: expected 3 fields, got 5",
    "no-id.csv:1: CSV header lacks",
]  # fmt: skip


def test_bad_input_costs_only_itself(tmp_path: Path, cli):
    expected = mixed_input(tmp_path / "in")
    root = tmp_path / "index"
    done = cli("index", "build", tmp_path / "in", "--index", root)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    report = done.stderr
    for where in REPORTED:
        assert where in report, (where, report)
    engine = SearchEngine(root)
    for article_id in expected:
        hits = engine.search(SearchRequest(q=marker(article_id))).hits
        assert [h.id for h in hits] == [article_id], article_id
    assert engine.search(SearchRequest(q="государственную думу")).hits[0].id == "cp-1"
    assert engine.search(SearchRequest(q="снегопад")).hits[0].id == "koi8"
    assert engine.document("huge-1").text.endswith(marker("huge-1"))
    assert check_index(root).sound


# --- a running server sees changes, and no request fails meanwhile -----------------------------


def server_total(base_url: str, q: str) -> int:
    response = requests.get(f"{base_url}/api/search", params={"q": q}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def eventually(check, timeout: float = REFRESH_SECONDS + 2) -> bool:
    """``check`` holds within ``timeout``, and still holds once every server worker (each
    refreshes on its own, within ``REFRESH_SECONDS``) has had the time to see the change."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        time.sleep(0.1)
    time.sleep(REFRESH_SECONDS + 0.2)
    return all(check() for _ in range(6))


def test_server_picks_up_updates_deletes_and_builds(built: Path, tmp_path: Path, cli,
                                                    server_process):  # fmt: skip
    fresh = write_jsonl(tmp_path / "fresh.jsonl", generate_articles(2, prefix="fresh"))
    again = write_jsonl(tmp_path / "again.jsonl", generate_articles(3, prefix="base", seed=9))
    with server_process(built, tmp_path / "server.log") as base_url:
        assert server_total(base_url, marker("fresh-1")) == 0
        assert cli("index", "update", fresh, again, "--index", built).returncode == 0
        assert eventually(lambda: server_total(base_url, marker("fresh-1")) == 1)
        assert server_total(base_url, marker("base-1")) == 1  # replaced, not doubled
        assert cli("index", "delete", "base-2", "--index", built).returncode == 0
        assert eventually(lambda: server_total(base_url, marker("base-2")) == 0)
        assert cli("index", "build", SEEDS, "--index", built).returncode == 0
        assert eventually(lambda: server_total(base_url, marker("base-3")) == 0)
        assert server_total(base_url, "Казахстан") == 1


def test_no_request_fails_while_updates_run(tmp_path: Path, server_process):
    """A small version of ``benchmarks/load_during_update.py``: 1,000+ requests, 32 clients."""
    index_dir, batches, replaced = prepare(tmp_path, articles=400, batches=3, batch_size=60)
    with server_process(index_dir, tmp_path / "server.log") as base_url:
        updates = UpdateLoop(index_dir, batches)
        updates.start()
        result = run_load(base_url, 1000, 32, replaced, time_limit=120,
                          keep_going=lambda: updates.acked < 2)  # fmt: skip
        updates.stop()
        assert result.errors == [], result.errors[:5]
        assert result.server_errors == 0, result.summary()
        assert result.missing_docs == [], result.missing_docs[:5]
        assert updates.failures == [] and updates.acked >= 2
        time.sleep(REFRESH_SECONDS + 0.2)
        for article_id in replaced[:3]:
            assert server_total(base_url, marker(article_id)) == 1
    assert check_index(index_dir).sound
