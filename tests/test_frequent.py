"""Frequent-term postings kept decoded per segment: exactly the terms at or over the
threshold, equal to the decoded lists (as bitmaps or lists, weights over 255 included),
searched the same as without them, ignored when torn, replaced when of an older format,
kept for a merged segment, and never built by a reader."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search import blocks, frequent, indexer, layout, merging, ranking
from search.searching import SearchEngine, SearchRequest
from tests.conftest import build_index

THRESHOLD = 3
QUERIES = ("дороги", "строят быстро", '"дороги строят"', "заголовок о дорогах", "метка7")


def article(number: int) -> dict:
    return {
        "id": f"f-{number}",
        "title": f"Заголовок номер {number} о дорогах",
        "summary": "Короткий лид о мостах" if number % 3 else "",
        "text": " ".join(["Дороги строят быстро"] * (1 + number % 5)) + f" метка{number}",
        "date": f"20{10 + number % 12:02d}-0{1 + number % 9}-1{number % 10}",
        "source": ("РИА", "ТАСС")[number % 2],
        "topic": "Общество",
    }


def kept_list(postings: frequent.FrequentPostings, key: str) -> tuple | None:
    """The documents and weights of a kept term, None when it is not kept."""
    at = postings.keys.find(key)
    return None if at is None else (postings.documents(at), postings.weights(at))


@pytest.fixture
def low_threshold(monkeypatch):
    monkeypatch.setattr(frequent, "FREQUENT_DOCS", THRESHOLD)


def add(root: Path, folder: Path, numbers: range) -> None:
    path = folder / f"more-{numbers.start}.jsonl"
    lines = (json.dumps(article(n), ensure_ascii=False) for n in numbers)
    path.write_text("\n".join(lines))
    indexer.update(root, [path])


def leaves(root: Path) -> list:
    reader = layout.open_live(root).reader()
    return layout.segment_readers(reader)


def kept(root: Path, leaf) -> frequent.FrequentPostings | None:
    folder = layout.arrays_dir(layout.open_live(root)) / leaf._segment.segment_id()
    return frequent.read(folder, leaf.doc_count_all())


def outcome(root: Path) -> list:
    engine = SearchEngine(root)
    found = []
    for q in QUERIES:
        result = engine.search(SearchRequest(q=q, per_page=50))
        found.append((result.total, [(h.id, round(h.score, 9)) for h in result.hits]))
    return found


def test_the_kept_terms_are_those_of_threshold_documents_with_their_lists(tmp_path, low_threshold):
    root = build_index(tmp_path, [article(n) for n in range(12)])
    add(root, tmp_path, range(12, 14))  # a second segment of 2: no term reaches 3
    found = leaves(root)
    assert len(found) == 2
    for leaf in found:
        postings = kept(root, leaf)
        assert postings is not None
        fields = [name for name, field in leaf.schema.items() if field.scorable]
        expected = {
            (field, term.decode("utf-8"))
            for field in fields
            for term, info in leaf.iter_field(field)
            if info.doc_frequency() >= THRESHOLD
        }
        keys = {tuple(key.split("\x1f")) for key in postings.keys[0 : len(postings.keys)]}
        assert keys == expected
        for field, term in expected:
            ids, tf = kept_list(postings, frequent.key(field, term))
            decoded_ids, decoded_tf = blocks.read_list(leaf.postings(field, term))
            assert ids.tolist() == decoded_ids.tolist()
            assert tf.tolist() == decoded_tf.astype(np.float32).tolist()
        assert kept_list(postings, frequent.key("text", "метка1")) is None
    assert len(kept(root, found[0]).keys) > 0 and len(kept(root, found[1]).keys) == 0


def test_searches_are_the_same_with_and_without_them(tmp_path, low_threshold):
    root = build_index(tmp_path, [article(n) for n in range(30)])
    engine = SearchEngine(root)
    arrays = engine.arrays()
    assert all(segment.frequent is not None for segment in arrays.segments)
    with_them = outcome(root)
    cache, _ = ranking._caches()
    segment_id = arrays.segments[0].segment_id
    assert cache.get((segment_id, "text", "дорога")) is None  # read from the kept arrays
    folder = layout.arrays_dir(layout.open_live(root))
    for segment in folder.iterdir():
        shutil.rmtree(segment / frequent.FOLDER)
    assert all(s.frequent is None for s in SearchEngine(root).arrays().segments)
    assert outcome(root) == with_them
    assert cache.get((segment_id, "text", "дорога")) is not None  # decoded instead


@pytest.mark.parametrize("damage", ["torn bits", "torn tf", "no meta", "other size"])
def test_torn_ones_are_ignored_and_answers_stay_right(tmp_path, low_threshold, damage):
    root = build_index(tmp_path, [article(n) for n in range(20)])
    expected = outcome(root)
    folder = layout.arrays_dir(layout.open_live(root))
    for segment in folder.iterdir():
        sidecar = segment / frequent.FOLDER
        if damage.startswith("torn"):
            torn = sidecar / f"{damage.split()[1]}.npy"
            torn.write_bytes(torn.read_bytes()[:-8])
        elif damage == "no meta":
            (sidecar / "meta.json").unlink()
        else:
            meta = json.loads((sidecar / "meta.json").read_text())
            (sidecar / "meta.json").write_text(json.dumps({**meta, "size": meta["size"] + 1}))
    assert all(s.frequent is None for s in SearchEngine(root).arrays().segments)
    assert outcome(root) == expected


def test_a_reader_never_builds_them_and_a_writer_does(tmp_path, low_threshold):
    root = build_index(tmp_path, [article(n) for n in range(20)])
    folder = layout.arrays_dir(layout.open_live(root))
    for segment in folder.iterdir():
        shutil.rmtree(segment / frequent.FOLDER)
    SearchEngine(root).search(SearchRequest(q="дороги"))
    assert not any((segment / frequent.FOLDER).exists() for segment in folder.iterdir())
    add(root, tmp_path, range(20, 24))  # the update's writer keeps what is missing
    assert all(kept(root, leaf) is not None for leaf in leaves(root))


def test_a_merge_keeps_them_for_the_merged_segment(tmp_path, low_threshold):
    root = build_index(tmp_path, [article(n) for n in range(4)])
    for batch in range(merging.MERGE_FACTOR):
        add(root, tmp_path, range(100 + 2 * batch, 102 + 2 * batch))
    before = outcome(root)
    report = merging.merge_once(root)
    assert report is not None and report.into is not None
    merged = [leaf for leaf in leaves(root) if leaf._segment.segment_id() == report.into]
    assert merged
    postings = kept(root, merged[0])
    assert postings is not None and kept_list(postings, frequent.key("text", "дорога")) is not None
    assert outcome(root) == before


def test_kept_folders_are_as_readable_as_the_arrays_folder(tmp_path, low_threshold):
    root = build_index(tmp_path, [article(n) for n in range(20)])
    folder = layout.arrays_dir(layout.open_live(root))
    mode = folder.stat().st_mode & 0o777
    if not mode & 0o055:
        pytest.skip("the umask lets no one else read what this user makes")
    for segment in folder.iterdir():
        assert segment.stat().st_mode & 0o777 == mode
        assert (segment / frequent.FOLDER).stat().st_mode & 0o777 == mode


@st.composite
def posting_lists(draw) -> tuple[int, list[tuple[bytes, np.ndarray, np.ndarray]]]:
    """A segment size and posting lists of it, sparse and dense, whole weights up to
    1,000 (over the uint8 range) or, now and then, fractional ones (a list at a time:
    the packer turns the whole ones packed before into floats)."""
    size = draw(st.integers(1, 300))
    found = []
    for number in range(draw(st.integers(0, 6))):
        fractional = draw(st.booleans()) and draw(st.booleans())
        ids = sorted(draw(st.sets(st.integers(0, size - 1), min_size=1, max_size=size)))
        weight = st.floats(0.25, 9.75) if fractional else st.integers(1, 1000)
        tf = [draw(weight) for _ in ids]
        key = f"text\x1fслово{number}".encode()
        found.append((key, np.asarray(ids, np.int64), np.asarray(tf, np.float32)))
    return size, found


@contextmanager
def kept_on_disk(found: list, size: int) -> Iterator[tuple[Path, frequent.FrequentPostings]]:
    """Posting lists packed, written to a folder and read back from it (mapped)."""
    with tempfile.TemporaryDirectory() as folder:
        frequent.write(Path(folder), frequent.pack(found, size))
        postings = frequent.read(Path(folder), size)
        assert postings is not None
        yield Path(folder), postings


@given(posting_lists())
@settings(max_examples=150, deadline=None)
def test_kept_lists_read_back_as_they_were(case):
    size, found = case
    with kept_on_disk(found, size) as (folder, postings):
        for key, ids, tf in found:
            field, term = key.decode().split("\x1f")
            got_ids, got_tf = kept_list(postings, frequent.key(field, term))
            assert got_ids.tolist() == ids.tolist()
            assert got_tf.dtype == np.float32 and got_tf.tolist() == tf.tolist()
        assert kept_list(postings, frequent.key("text", "другое")) is None
        assert frequent.read(folder, size + 1) is None


def test_dense_lists_are_bitmaps_and_sparse_ones_lists():
    size = 320  # a bitmap of 40 bytes: smaller than 11 or more int32 numbers
    dense = np.arange(0, size, 29, dtype=np.int64)  # 12 documents
    sparse = np.arange(0, size, 32, dtype=np.int64)  # 10
    tf = [np.full(ids.size, 300.0, np.float32) for ids in (dense, sparse)]
    postings = frequent.pack([(b"a", dense, tf[0]), (b"b", sparse, tf[1])], size)
    assert postings.bitmaps.tolist() == [0, -1]
    assert postings.bits.size == 40 and postings.ids.tolist() == sparse.tolist()
    assert postings.tf.dtype == np.uint8 and postings.over_at.size == dense.size + sparse.size


def test_kept_postings_of_an_older_format_are_replaced_by_the_next_writer(tmp_path, low_threshold):
    root = build_index(tmp_path, [article(n) for n in range(20)])
    expected = outcome(root)
    folder = layout.arrays_dir(layout.open_live(root))
    for segment in folder.iterdir():
        meta = json.loads((segment / frequent.FOLDER / "meta.json").read_text())
        (segment / frequent.FOLDER / "meta.json").write_text(json.dumps({**meta, "format": 1}))
    assert all(s.frequent is None for s in SearchEngine(root).arrays().segments)
    add(root, tmp_path, range(20, 24))
    assert all(kept(root, leaf) is not None for leaf in leaves(root))
    assert not [p for p in folder.rglob("*") if p.name.startswith(f".{frequent.FOLDER}")]
    assert [hit for hit, _ in outcome(root)[-1][1]] == [hit for hit, _ in expected[-1][1]]
