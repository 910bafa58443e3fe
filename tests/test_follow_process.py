"""The follower as people run it: ``python -m search.follow`` in a process of its own.

Its extracting and indexing processes, SIGTERM (the batch in flight is finished), a second
follower on the same index (refused), and crash safety: ``kill -9`` in the middle of a batch,
again and again, then a restart, and every item is in the index exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from benchmarks.server import process_tree
from search.follow.state import state_dir, status
from tests.feedserver import (
    FeedServer,
    FixtureArticle,
    feeds_toml,
    found,
    make_articles,
    marker,
    rss,
    stored,
    yandex_rss,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def start(toml: Path, index: Path, log: Path, *options: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "search.follow", str(toml), "--index", str(index), *options]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out)


def wait_until(condition, timeout: float = 60.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)


def batch_in_flight(index: Path) -> bool:
    folder = state_dir(index)
    return folder.is_dir() and any(folder.glob("batch-*.jsonl"))


def gone(pids: list[int]) -> bool:
    """Whether none of ``pids`` runs any more (a zombie waiting for its parent counts as
    gone: it runs nothing and holds nothing)."""
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
                return False
        except OSError:
            continue
    return True


def all_indexed(index: Path, count: int) -> bool:
    feeds = status(index)["feeds"]
    return sum(feed["items"]["indexed"] for feed in feeds) == count


@pytest.fixture
def news(tmp_path: Path) -> Iterator[tuple[Path, list[FixtureArticle]]]:
    """A server with two feeds of 40 new items each, pages a little slow to come; the
    feeds file, and every article served."""
    with FeedServer() as server:
        teasers, full = make_articles(40, "proc"), make_articles(40, "full")
        server.put_feed("/rss.xml", rss(server.put_pages(teasers, delay=0.02)))
        entries = [(a, server.url(f"/full/{a.slug}")) for a in full]
        server.put("/yandex.xml", yandex_rss(entries), "application/rss+xml")
        feeds = [
            {"url": server.url("/rss.xml"), "source": "S", "interval": 0.5},
            {"url": server.url("/yandex.xml"), "source": "Я", "interval": 0.5},
        ]
        settings = {"host_rate": 1000.0, "batch_size": 10, "commit_interval": 0.1}
        yield feeds_toml(tmp_path / "feeds.toml", feeds, **settings), teasers + full


def assert_each_once(index: Path, articles: list) -> None:
    assert len(stored(index)) == len(articles)
    for article in articles:
        assert len(found(index, marker(article.slug))) == 1, article.slug


def follow_once(toml: Path, index: Path, timeout: float) -> subprocess.CompletedProcess:
    """``python -m search.follow FEEDS --index DIR --once`` as a process of its own."""
    command = [sys.executable, "-m", "search.follow", str(toml), "--index", str(index), "--once"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_sigterm_finishes_the_batch_and_a_second_follower_is_refused(news, tmp_path: Path) -> None:
    toml, articles = news
    index, log = tmp_path / "index", tmp_path / "follow.log"
    follower = start(toml, index, log)
    try:
        wait_until(lambda: status(index)["follower"]["running"] and batch_in_flight(index))
        second = follow_once(toml, index, timeout=60)
        assert second.returncode == 1 and "another follower" in second.stderr
        workers = process_tree(follower.pid)[1:]
        assert len(workers) >= 2  # the extracting and the indexing process (and a tracker)
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=30) == 0
    finally:
        follower.kill()
    output = log.read_text()
    assert "Stopping after the batch" in output and "Followed 2 feeds" in output
    assert not list(state_dir(index).glob("batch-*.jsonl"))
    wait_until(lambda: gone(workers), timeout=10)
    assert not status(index)["follower"]["running"]
    rest = follow_once(toml, index, timeout=120)
    assert rest.returncode == 0, rest.stderr
    assert_each_once(index, articles)


def test_kill_9_in_the_middle_of_batches_loses_and_repeats_nothing(news, tmp_path: Path) -> None:
    toml, articles = news
    index, log = tmp_path / "index", tmp_path / "follow.log"
    kills = 0
    # Killed as a commit starts, while its process is still loading, as it commits, after.
    while kills < 5 and not all_indexed(index, len(articles)):
        follower = start(toml, index, log)
        try:
            wait_until(lambda: batch_in_flight(index) or all_indexed(index, len(articles)))
            time.sleep((0.0, 0.5, 1.5, 2.0, 2.5)[kills])
            workers = process_tree(follower.pid)[1:]
            follower.send_signal(signal.SIGKILL)
            follower.wait(timeout=10)
        finally:
            follower.kill()
        wait_until(partial(gone, workers), timeout=10)  # the workers die with the follower
        kills += 1
    assert kills >= 2
    last = start(toml, index, log, "--once")
    assert last.wait(timeout=180) == 0, log.read_text()[-3000:]
    assert_each_once(index, articles)
    counts = {feed["url"]: feed["items"] for feed in status(index)["feeds"]}
    assert sum(items["indexed"] for items in counts.values()) == len(articles)
    assert not any(items["pending"] or items["todo"] for items in counts.values())
