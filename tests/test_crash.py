"""Crash tests: ``kill -9`` of builds and updates at random moments.

A killed build must leave the live index as it was, and a build that printed its
summary must be live. A killed update must leave the index sound, hold every update
that printed its summary (the acknowledgement, given once the commit is on the
disk), and hold each update whole or not at all. After each kill, ``index check``
must pass and queries must answer; the next writer must not be blocked by a lock.

The kill moments are random, from a seed (``CRASH_SEED``) shown in every assertion
message, and spread over the measured run time of the command, with extra weight
near its end where the commit and the switch happen. Half of the build kills hit
the whole process group (as a power cut would), half only the main process (as the
OOM killer might): its worker processes must then die with it, not linger orphaned,
each holding its share of the index in memory.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.newsgen import generate_articles, marker, write_jsonl
from search import indexer
from search.check import check_index
from search.searching import SearchEngine, SearchRequest

pytestmark = pytest.mark.slow  # every test here runs and kills the command line

ROOT = Path(__file__).resolve().parents[1]
TRIALS = 12
SEED = int(os.environ.get("CRASH_SEED", "20261127"))
BASE_ARTICLES = 300
EXTRA_ARTICLES = 40  # the second build source has these more
BATCH_NEW = 20  # an update adds these...
BATCH_REPLACED = 10  # ...and replaces these indexed ones


class Run:
    """The command line in a process group of its own (so that it can be killed whole).

    Its output goes to files, not pipes: worker processes that outlived a killed main
    process, even for a moment, would keep a pipe open, and reading it would not end.
    """

    def __init__(self, folder: Path, *args: str | Path):
        self.out, self.err = folder / "stdout.txt", folder / "stderr.txt"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "search", *map(str, args)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def kill_after(self, delay: float, whole_group: bool) -> bool:
        """SIGKILL after ``delay`` s unless it ends first; whether it was killed."""
        try:
            self.process.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            if whole_group:
                self.kill_group()
            else:
                self.process.kill()
            self.process.wait(timeout=60)
            return True

    def finish(self, timeout: float = 300) -> str:
        """Wait for the end; its stdout (asserting success)."""
        self.process.wait(timeout=timeout)
        assert self.process.returncode == 0, self.err.read_text()
        return self.stdout()

    def stdout(self) -> str:
        return self.out.read_text()

    def kill_group(self) -> None:
        """Kill the process and whatever it left running."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def timed(folder: Path, *args: str | Path) -> float:
    started = time.monotonic()
    Run(folder, *args).finish()
    return time.monotonic() - started


def moment(rng: random.Random, duration: float) -> float:
    """A kill moment: anywhere in the run, or (half the time) near its end."""
    return duration * (rng.uniform(0.0, 1.0) if rng.random() < 0.5 else rng.uniform(0.7, 1.05))


def assert_sound(root: Path, context: str) -> None:
    report = check_index(root)
    assert report.sound, f"{context}: {report.problems}"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("crash-sources")
    base = generate_articles(BASE_ARTICLES, prefix="base")
    extra = generate_articles(EXTRA_ARTICLES, prefix="extra")
    return {
        "small": write_jsonl(folder / "small.jsonl", base),
        "large": write_jsonl(folder / "large.jsonl", [*base, *extra]),
    }


def test_killed_builds_never_cost_the_live_index(tmp_path: Path, sources: dict[str, Path]):
    rng = random.Random(SEED)
    root = tmp_path / "index"
    duration = timed(tmp_path, "index", "build", sources["small"], "--index", root)
    live_documents = BASE_ARTICLES
    kills = 0
    runs: list[Run] = []  # orphans of a killed main process live on until the end
    try:
        for trial in range(TRIALS):
            source = "large" if trial % 2 == 0 else "small"
            expected = BASE_ARTICLES + (EXTRA_ARTICLES if source == "large" else 0)
            delay = moment(rng, duration)
            context = f"seed {SEED}, build trial {trial}, kill after {delay:.2f} s"
            runs.append(run := Run(tmp_path, "index", "build", sources[source], "--index", root))
            kills += run.kill_after(delay, whole_group=trial % 4 < 2)
            assert_sound(root, context)
            documents = check_index(root).documents
            if "Indexed" in run.stdout():  # acknowledged: the new build is live
                assert documents == expected, context
            else:
                assert documents in (live_documents, expected), context
            live_documents = documents
            assert SearchEngine(root).search(SearchRequest(q=marker("base-7"))).total == 1
        assert kills >= TRIALS // 3, f"seed {SEED}: only {kills} of {TRIALS} builds were killed"
        print(f"seed {SEED}: {kills} of {TRIALS} builds killed, each {duration:.2f} s whole")
        Run(tmp_path, "index", "build", sources["small"], "--index", root).finish()
    finally:
        for run in runs:
            run.kill_group()
    assert not list((root / indexer.BUILDS).glob(f"*{indexer.PARTIAL}"))
    assert len(list((root / indexer.BUILDS).iterdir())) <= 2
    assert not check_index(root).notes


def update_batches(folder: Path, count: int) -> list[tuple[Path, list[str]]]:
    """Update files, each adding new articles and replacing indexed ones; with the new ids."""
    batches = []
    for number in range(count):
        fresh = generate_articles(BATCH_NEW, prefix=f"b{number}")
        replaced = generate_articles(BASE_ARTICLES, prefix="base", seed=number + 1)
        start_at = number * BATCH_REPLACED % BASE_ARTICLES
        again = replaced[start_at : start_at + BATCH_REPLACED]
        path = write_jsonl(folder / f"batch-{number}.jsonl", [*fresh, *again])
        batches.append((path, [a["id"] for a in fresh]))
    return batches


def test_killed_updates_keep_every_acknowledged_one(tmp_path: Path, sources: dict[str, Path]):
    rng = random.Random(SEED + 1)
    root = tmp_path / "index"
    indexer.build(root, [sources["small"]])
    warmup, *batches = update_batches(tmp_path, TRIALS + 1)
    duration = timed(tmp_path, "index", "update", warmup[0], "--index", root)
    acknowledged = [warmup[1]]
    kills = 0
    for trial, (batch, new_ids) in enumerate(batches):
        delay = moment(rng, duration)
        context = f"seed {SEED + 1}, update trial {trial}, kill after {delay:.2f} s"
        run = Run(tmp_path, "index", "update", batch, "--index", root)
        kills += run.kill_after(delay, whole_group=True)
        if "Added or replaced" in run.stdout():
            acknowledged.append(new_ids)
        assert_sound(root, context)
        engine = SearchEngine(root)
        present = [engine.document(i) is not None for i in new_ids]
        assert all(present) or not any(present), f"{context}: half an update is in the index"
        for ids in acknowledged:
            missing = [i for i in ids if engine.document(i) is None]
            assert not missing, f"{context}: acknowledged articles lost: {missing}"
        assert check_index(root).documents >= BASE_ARTICLES, context
        assert engine.search(SearchRequest(q=marker("base-250"))).total == 1, context
    assert kills >= TRIALS // 3, f"seed {SEED + 1}: only {kills} of {TRIALS} updates were killed"
    print(
        f"seed {SEED + 1}: {kills} of {TRIALS} updates killed, each {duration:.2f} s whole; "
        f"{len(acknowledged) - 1} acknowledged, all kept"
    )
    Run(tmp_path, "index", "update", batches[0][0], "--index", root).finish()  # no lock left
    Run(tmp_path, "index", "check", "--index", root).finish()


# --- worker processes die with a killed build -----------------------------------------------


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_die_with_a_killed_build(tmp_path: Path):
    """``kill -9`` of the main process of a two-process build: no worker outlives it by
    more than a few seconds (they would wait for its messages forever)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc to find the worker processes in")
    many = write_jsonl(tmp_path / "many.jsonl", generate_articles(4000, prefix="many"))
    run = Run(tmp_path, "index", "build", many, "--procs", "2", "--index", tmp_path / "index")
    try:
        deadline = time.monotonic() + 60
        while len(workers := children(run.process.pid)) < 2 and time.monotonic() < deadline:
            assert run.process.poll() is None, run.err.read_text()
            time.sleep(0.05)
        assert len(workers) >= 2, "the build started no worker processes"
        run.process.kill()
        run.process.wait()
        deadline = time.monotonic() + 5
        while any(map(running, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if running(pid)], "workers outlived the build"
    finally:
        run.kill_group()
