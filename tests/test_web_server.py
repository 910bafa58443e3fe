"""The server process: gunicorn's own errors in JSON, its limits, its workers' lives.

Against real ``news-search serve`` processes: requests gunicorn refuses before the
application sees them (raw UTF-8, a request line or header over the limit) are answered
with the API's JSON error; a damaged index answers 503 and never takes the service down,
and it comes back after a rebuild; no worker outlives a ``kill -9`` of the arbiter.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from conftest import build_index
from test_web_app import ARTICLES

from web.server import MAX_HEADER_FIELD, MAX_REQUEST_LINE, background_server

pytestmark = pytest.mark.slow

TIMEOUT = 30


# --- raw HTTP ---------------------------------------------------------------------------------


def raw_request(base_url: str, data: bytes, timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send ``data`` as it is (no client fixes it up); the status, headers and body."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def assert_json_error(answer: tuple[int, dict, bytes], status: int, code: str) -> dict:
    got, headers, body = answer
    assert got == status, body[:300]
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    error = json.loads(body.decode("utf-8"))["error"]
    assert error["code"] == code and set(error) == {"code", "message"}
    return error


def test_unencoded_utf8_in_the_url_is_a_json_400_that_says_how(live_server):
    line = "GET /api/search?q=переговоры HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    error = assert_json_error(raw_request(live_server, line), 400, "bad_request_line")
    assert "curl -G --data-urlencode 'q=переговоры'" in error["message"]
    encoded = requests.get(live_server + "/api/search", params={"q": "переговоры"}, timeout=30)
    assert encoded.status_code == 200  # what curl -G --data-urlencode sends


def test_a_request_line_over_the_limit_is_a_json_414_at_once(live_server):
    line = f"GET /api/search?q={'a' * (MAX_REQUEST_LINE + 10)} HTTP/1.1\r\nHost: x\r\n\r\n"
    error = assert_json_error(raw_request(live_server, line.encode()), 414, "request_line_too_long")
    assert "--data-urlencode" in error["message"]
    # No end of line yet: the server answers once the limit is passed, not at the end.
    started = time.monotonic()
    endless = b"GET /api/search?q=" + b"a" * (2 * MAX_REQUEST_LINE)
    assert_json_error(raw_request(live_server, endless, timeout=5), 414, "request_line_too_long")
    assert time.monotonic() - started < 3


def test_a_query_of_1000_cyrillic_letters_and_filters_fits_the_limit(live_server):
    params = {"q": "ж" * 1000, "source": "Независимая газета", "topic": "Политика", "sort": "date"}
    response = requests.get(live_server + "/api/search", params=params, timeout=TIMEOUT)
    assert response.status_code == 200
    assert len(response.request.path_url) > 6000


def test_a_header_over_the_limit_is_a_json_431(live_server):
    request = f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * (MAX_HEADER_FIELD + 10)}\r\n\r\n"
    assert_json_error(raw_request(live_server, request.encode()), 431, "headers_too_large")


# --- server processes of their own --------------------------------------------------------


@contextmanager
def serving(index_dir: Path, log: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``news-search serve`` until the block ends, once it answers HTTP at all (a server
    over a damaged index never gets healthy); its URL and process (the arbiter)."""
    with background_server(index_dir, log, *options, healthy=False, timeout=90) as server:
        yield server.url, server.process


def answer_status(url: str) -> int | None:
    """The status of a GET, or None while no worker answers (booting, or just killed)."""
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return None


def wait_for(condition, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; server log:\n{log.read_text()}"
        time.sleep(0.2)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_die_with_the_arbiter(web_corpus, tmp_path):
    """Even a worker that cannot run (stopped here; hung in C code, in real life) goes:
    gunicorn's own check that its parent is alive runs in the worker's loop."""
    with serving(web_corpus.root, tmp_path / "server.log", "--workers", "2") as (_, arbiter):
        # Healthy means one worker answers; the other may still be forking.
        deadline = time.monotonic() + 30
        while len(workers := children(arbiter.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2
        try:
            os.kill(workers[0], signal.SIGSTOP)
            arbiter.kill()
            arbiter.wait()
            deadline = time.monotonic() + 5
            while any(running(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not [pid for pid in workers if running(pid)]
        finally:
            for pid in workers:
                if running(pid):
                    os.kill(pid, signal.SIGKILL)


def assert_unavailable(base_url: str) -> None:
    response = requests.get(base_url + "/api/search", params={"q": "переговоры"}, timeout=30)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "index_unavailable"
    page = requests.get(base_url + "/", params={"q": "переговоры"}, timeout=30)
    assert page.status_code == 503 and "Индекс повреждён" in page.text


def test_a_segment_truncated_while_serving_is_503_and_the_service_recovers(tmp_path):
    root = build_index(tmp_path / "data", ARTICLES)
    log = tmp_path / "server.log"
    with serving(root, log, "--workers", "1") as (base, arbiter):
        assert answer_status(base + "/api/search?q=переговоры") == 200
        for segment in root.joinpath("live").glob("*.seg"):
            os.truncate(segment, 100)
        # What is in memory may still answer; reading the articles reads the segment.
        # Whoosh maps segments into memory: a worker reading past the new end is killed
        # (SIGBUS), and its replacement starts over the damaged index.
        articles = iter([f"/api/doc/{a['id']}" for a in ARTICLES] * 20)
        wait_for(lambda: answer_status(base + next(articles)) == 503, 60, log)
        assert_unavailable(base)
        assert answer_status(base + "/healthz") == 503
        assert arbiter.poll() is None, "the service went down"
        build_index(tmp_path / "data", ARTICLES)
        wait_for(lambda: answer_status(base + "/api/search?q=переговоры") == 200, 30, log)
        assert answer_status(base + "/healthz") == 200


def test_a_server_starts_over_a_damaged_index_and_serves_once_it_is_rebuilt(tmp_path):
    root = build_index(tmp_path / "data", ARTICLES)
    for segment in root.joinpath("live").glob("*.seg"):
        os.truncate(segment, 100)
    log = tmp_path / "server.log"
    with serving(root, log) as (base, arbiter):
        assert_unavailable(base)
        time.sleep(2)  # past a few worker restarts, if they failed
        assert arbiter.poll() is None
        assert_unavailable(base)
        build_index(tmp_path / "data", ARTICLES)
        wait_for(lambda: answer_status(base + "/api/search?q=переговоры") == 200, 30, log)
