"""A reader hashes a segment once, then trusts its stamp until a write touches the file.

Each test builds a real index on disk and verifies its segments as a reader does, with
``checksums._verified`` (this process's memory of passed segments) emptied to stand for
a new process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.newsgen import generate_articles, write_jsonl
from search import checksums, indexer, merging
from search.durable import INDEX_NAME


@pytest.fixture
def live(tmp_path: Path) -> Path:
    root = tmp_path / "index"
    indexer.build(root, [write_jsonl(tmp_path / "a.jsonl", generate_articles(30, "a"))])
    indexer.update(root, [write_jsonl(tmp_path / "b.jsonl", generate_articles(5, "b"))])
    return indexer.live_dir(root)


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files just written count as settled (in use, every file hashed was written
    seconds or years before)."""
    monkeypatch.setattr(checksums, "RACY_SECONDS", 0.0)


def segment_ids(live: Path) -> list[str]:
    return sorted({checksums._segment_of(INDEX_NAME, p.name) for p in live.glob("*.seg")})


def hashed_in_new_process(live: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files hashed while every segment is verified, as by a process just started."""
    monkeypatch.setattr(checksums, "_verified", set())
    hashed = []
    digest = checksums.digest

    def recording(path: Path) -> dict:
        hashed.append(Path(path).name)
        return digest(path)

    monkeypatch.setattr(checksums, "digest", recording)
    for segment in segment_ids(live):
        checksums.verify_segment(live, INDEX_NAME, segment)
    monkeypatch.setattr(checksums, "digest", digest)
    return sorted(hashed)


def test_a_stamped_segment_is_not_hashed_again(live, settled, monkeypatch):
    files = sorted(p.name for p in live.glob("*.seg"))
    assert len(files) == 2
    assert hashed_in_new_process(live, monkeypatch) == files
    stamps = sorted(p.name for p in (live / checksums.VERIFIED).iterdir())
    assert stamps == [f"{segment}.json" for segment in segment_ids(live)]
    assert hashed_in_new_process(live, monkeypatch) == []


def test_a_file_written_after_its_stamp_is_hashed_and_its_damage_found(live, settled, monkeypatch):
    hashed_in_new_process(live, monkeypatch)
    damaged = sorted(live.glob("*.seg"))[0]
    size = damaged.stat().st_size
    with damaged.open("r+b") as segment:
        segment.seek(size // 2)
        flipped = bytes(b ^ 0xFF for b in segment.read(64))
        segment.seek(size // 2)
        segment.write(flipped)
    with pytest.raises(checksums.SegmentDamaged, match=f"{damaged.name} is damaged"):
        hashed_in_new_process(live, monkeypatch)


def test_a_stamp_for_another_checksum_is_not_trusted(live, settled, monkeypatch):
    """A stamp says which checksum the file matched: one for a different manifest entry
    (a rebuilt segment of the same name) sends the file to be hashed."""
    hashed_in_new_process(live, monkeypatch)
    segment = segment_ids(live)[0]
    path = live / checksums.VERIFIED / f"{segment}.json"
    stamps = json.loads(path.read_text())
    for stamp in stamps.values():
        stamp["sha256"] = "0" * 64
    path.write_text(json.dumps(stamps))
    assert hashed_in_new_process(live, monkeypatch) == [f"{segment}.seg"]


def test_a_file_changed_just_before_it_was_hashed_is_not_stamped(live, monkeypatch):
    """The racy case: a write in the same clock tick as the stamp would leave the
    stat unchanged, so a file younger than RACY_SECONDS is hashed every time."""
    files = sorted(p.name for p in live.glob("*.seg"))
    assert hashed_in_new_process(live, monkeypatch) == files
    assert hashed_in_new_process(live, monkeypatch) == files


def test_the_writer_discards_the_stamps_of_merged_segments(live, settled, monkeypatch):
    """Deleting 2 of the update's 5 articles makes the merge policy rewrite its segment:
    the old segment's stamp goes with it."""
    hashed_in_new_process(live, monkeypatch)
    before = segment_ids(live)
    root = live.parent.parent
    indexer.delete(root, ["b-1", "b-2"])
    [report] = merging.merge_while_needed(root)
    assert report.merged[0] in before and report.into not in before
    stamps = sorted(p.name for p in (live / checksums.VERIFIED).iterdir())
    assert stamps == [f"{s}.json" for s in before if s not in report.merged]
