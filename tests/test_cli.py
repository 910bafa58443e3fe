"""The command line, run in this process with click's CliRunner on real indexes on disk.

What people meet first: a first run in a folder of their own, a mistyped source, an
empty source, a damaged index, the help of ``query``, bad options, and the progress
of a build. The tests that need processes of their own are in ``test_lifecycle.py``,
``test_crash.py`` and, for the installed package, at the end of this file.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from search import indexer, progress
from search.cli import main
from search.progress import Progress, estimate_records

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_ID = "000_5389a332ed69a0f4"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def builds_of(root: Path) -> list[str]:
    return sorted(p.name for p in (root / indexer.BUILDS).iterdir())


@pytest.fixture
def seed_index(tmp_path: Path) -> Path:
    root = tmp_path / "index"
    done = run("index", "build", SEEDS, "--index", root)
    assert done.exit_code == 0, done.output
    return root


# --- a first run, in a folder of its own ------------------------------------------------------


def test_first_query_in_another_folder_builds_the_seeds_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWS_SEARCH_INDEX", raising=False)
    done = run("query", "переговоры")
    assert done.exit_code == 0, done.output
    assert f"No index in {tmp_path / 'index'} yet: building it from " in done.stderr
    assert "1 found" in done.stdout and SEED_ID in done.stdout


def test_missing_index_names_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = run("index", "stats", "--index", "nothing")
    assert done.exit_code == 1
    assert f"no index in {tmp_path / 'nothing'}" in done.stderr


def test_the_default_relative_index_keeps_the_previous_build(tmp_path, monkeypatch):
    """``index/`` is relative; ``live`` resolves to an absolute path: compared as they were,
    the previous build never matched and was deleted at once."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWS_SEARCH_INDEX", raising=False)
    for _ in range(3):
        assert run("index", "build", SEEDS).exit_code == 0
    builds = builds_of(tmp_path / "index")
    assert len(builds) == 2
    assert os.readlink(tmp_path / "index" / indexer.LIVE) == f"{indexer.BUILDS}/{builds[-1]}"


# --- a build that would replace the index with nothing --------------------------------------


@pytest.mark.parametrize("strict", [False, True])
def test_mistyped_source_leaves_the_live_index(seed_index: Path, tmp_path: Path, strict: bool):
    live = os.readlink(seed_index / indexer.LIVE)
    missing = tmp_path / "nonexistent"
    done = run("index", "build", missing, "--index", seed_index, *(["--strict"] if strict else []))
    assert done.exit_code == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{missing} (no such file or directory)" in lines[0]
    assert "not switched live" in lines[0] and "--allow-empty" in lines[0]
    assert os.readlink(seed_index / indexer.LIVE) == live
    assert builds_of(seed_index) == [Path(live).name]
    assert "1 found" in run("query", "переговоры", "--index", seed_index).stdout


def test_mistyped_source_creates_no_index_folder(tmp_path: Path):
    done = run("index", "build", tmp_path / "typo", "--index", tmp_path / "index")
    assert done.exit_code == 1
    assert not (tmp_path / "index").exists()


def test_a_mistyped_source_among_good_ones_is_refused(seed_index: Path, tmp_path: Path):
    done = run("index", "build", SEEDS, tmp_path / "typo.jsonl", "--index", seed_index)
    assert done.exit_code == 1 and "typo.jsonl (no such file or directory)" in done.stderr


def test_empty_folder_is_refused_and_built_with_allow_empty(seed_index: Path, tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    live = os.readlink(seed_index / indexer.LIVE)
    refused = run("index", "build", empty, "--index", seed_index)
    assert refused.exit_code == 1 and "not switched live" in refused.stderr
    assert os.readlink(seed_index / indexer.LIVE) == live
    done = run("index", "build", empty, "--index", seed_index, "--allow-empty")
    assert done.exit_code == 0, done.output
    assert "Indexed 0 articles" in done.stdout
    assert os.readlink(seed_index / indexer.LIVE) != live
    found = run("query", "переговоры", "--index", seed_index)
    assert found.exit_code == 0, found.output
    assert found.stdout.startswith("0 found")
    assert run("index", "check", "--index", seed_index).exit_code == 0


# --- a damaged index ----------------------------------------------------------------------


def _damage_the_end_of_the_segment(root: Path) -> str:
    """Flip the last 64 bytes of the segment (its table of parts): reading it fails."""
    segment = next(indexer.live_dir(root).glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[-64:] = bytes(b ^ 0xFF for b in data[-64:])
    segment.write_bytes(bytes(data))
    return segment.name


@pytest.mark.parametrize("command", [("query", "переговоры"), ("index", "stats")])
def test_damaged_index_is_one_clear_line(seed_index: Path, command: tuple[str, ...]):
    name = _damage_the_end_of_the_segment(seed_index)
    done = run(*command, "--index", seed_index)
    assert done.exit_code == 1, done.output
    assert isinstance(done.exception, SystemExit), done.exception  # not a traceback
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Aborted" not in done.output, done.output
    assert f"is damaged: {name} is damaged" in lines[0] and "index check" in lines[0]


# --- options and help ------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["-n", "--limit"])
def test_limit_zero_is_an_error_about_limit(seed_index: Path, option: str):
    done = run("query", "переговоры", option, "0", "--index", seed_index)
    assert done.exit_code == 2
    assert "--limit" in done.stderr and "per_page" not in done.stderr


def test_page_zero_is_an_error_about_page(seed_index: Path):
    done = run("query", "переговоры", "--page", "0", "--index", seed_index)
    assert done.exit_code == 2 and "--page" in done.stderr


def test_query_help_shows_the_syntax_and_every_option():
    done = run("query", "--help")
    assert done.exit_code == 0
    text = done.stdout
    for syntax in ('"переговоры министров"', "!переговорах", "OR", "нато*", "title:", "date:"):
        assert syntax in text, syntax
    for option_help in ("Hits per page", "Which page", "Only articles of this source",
                        "Only articles of this topic", "Only articles with this tag"):  # fmt: skip
        assert option_help in text, option_help


def test_build_help_tells_of_allow_empty():
    assert "--allow-empty" in run("index", "build", "--help").stdout


# --- progress --------------------------------------------------------------------------------


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr in a console does."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_shows_rate_and_time_left():
    stream = Terminal()
    shown = Progress("indexing", total=50, stream=stream)
    for _ in range(50):
        shown.update()
    shown.close()
    text = stream.getvalue()
    assert "indexing" in text and "50/50" in text and "docs/s" in text and "<" in text


def test_progress_elsewhere_is_a_plain_line_every_few_seconds():
    stream = io.StringIO()
    shown = Progress("indexing", total=4, stream=stream, every=0)
    shown.update()
    shown.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()
    assert lines[-1].startswith("indexing: 2 of about 4 articles (50%),")
    assert "docs/s" in lines[-1] and "left" in lines[-1]
    quiet = io.StringIO()
    shown = Progress("indexing", stream=quiet, every=3600)
    shown.update()
    assert quiet.getvalue() == ""


def test_build_prints_plain_progress_lines_off_a_terminal(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(progress, "PLAIN_EVERY_SECONDS", 0)
    done = run("index", "build", SEEDS, "--index", tmp_path / "index")
    assert done.exit_code == 0, done.output
    assert "indexing: 1 of about 1 articles (100%)" in done.stderr


def test_records_are_counted_for_the_total(tmp_path: Path):
    (tmp_path / "a.jsonl").write_text('{"id": 1}\n{"id": 2}\n{"id": 3}', encoding="utf-8")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"id": 4}\n{"id": 5}\n'))
    (tmp_path / "c.csv").write_text("id,title\n6,x\n7,y\n", encoding="utf-8")
    shutil.copy(SEEDS / f"{SEED_ID}.txt", tmp_path / "d.txt")
    assert estimate_records([tmp_path]) == 3 + 2 + 2 + 1
    assert estimate_records([tmp_path / "missing"]) is None


# --- the installed package --------------------------------------------------------------------


@pytest.mark.slow
def test_installed_package_builds_its_seeds_in_any_folder(tmp_path: Path):
    """A wheel built from a copy of the project (as a fresh clone has it), installed with
    pip, run from a folder of its own: the seed article is in the package."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("search", "web", "seeds"):
        shutil.copytree(ROOT / name, project / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", tmp_path / "wheel", project],
                   check=True, capture_output=True)  # fmt: skip
    wheel = next((tmp_path / "wheel").glob("*.whl"))
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True,
                   capture_output=True)  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("NEWS_SEARCH_INDEX", None)
    done = subprocess.run([sys.executable, "-m", "search", "query", "переговоры"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"No index in {elsewhere / 'index'} yet: building it from {site}" in done.stderr
    assert "1 found" in done.stdout
