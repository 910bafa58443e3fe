"""A term's postings as searches read them (``search.postings``): the kept bitmaps of
common terms give the same documents, weights and masks as the lists they stand for,
with deletions, and the ranker's weights of any documents are those of the whole list."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search import frequent, indexer, ranking
from search.postings import KeptBitmap, Postings
from search.searching import SearchEngine, SearchRequest
from tests.conftest import build_index
from tests.test_frequent import article, kept_on_disk, posting_lists

NONE, NONE_TF = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


@given(posting_lists(), st.data())
@settings(max_examples=150, deadline=None)
def test_a_kept_bitmap_gives_the_documents_and_weights_of_its_list(case, data):
    size, found = case
    with kept_on_disk(found, size) as (_, kept):
        for key, ids, tf in found:
            at = kept.keys.find(key.decode())
            if kept.bitmap(at) is None:
                continue
            deleted = data.draw(st.sets(st.integers(0, size - 1)))
            alive = None
            if deleted:
                alive = np.ones(size, dtype=bool)
                alive[sorted(deleted)] = False
            live = ids if alive is None else ids[alive[ids]]
            live_tf = tf if alive is None else tf[alive[ids]]
            offset = data.draw(st.integers(0, 1000))
            part = KeptBitmap(kept, at, offset, alive)
            assert part.count == live.size
            assert part.ids().tolist() == (live + offset).tolist()
            assert part.tf().tolist() == live_tf.tolist()
            assert np.flatnonzero(part.holding()).tolist() == live.tolist()
            asked = np.asarray(sorted(data.draw(st.sets(st.integers(0, size - 1)))), np.int64)
            # with documents before the segment and after it
            outside = np.asarray([offset - 1] if offset else [], np.int64)
            docs = np.concatenate([outside, asked + offset, [offset + size + 3]])
            where, weights = Postings(NONE, NONE_TF, [part]).bitmap_weights(docs)
            assert (docs[where] - offset).tolist() == np.intersect1d(asked, live).tolist()
            assert weights.tolist() == live_tf[np.searchsorted(live, docs[where] - offset)].tolist()


def test_ranks_run_on_across_words_and_segments():
    """Three segments of 200, 70 and 130 documents (bitmaps of 4, 2 and 3 words, the
    last of each padded): every document, the weight of each its global number; then
    the odd ones only. A rank off by one bit, one word or one segment gives another
    weight."""
    sizes, offsets = (200, 70, 130), (0, 200, 270)
    docs = np.arange(400, dtype=np.int64)
    for step, first in ((1, 0), (2, 1)):
        parts = []
        for size, offset in zip(sizes, offsets, strict=True):
            ids = np.arange(first, size, step, dtype=np.int64)
            kept = frequent.pack([(b"text\x1fw", ids, (ids + offset + 1).astype(np.float32))], size)
            parts.append(KeptBitmap(kept, 0, offset, None))
        where, weights = Postings(NONE, NONE_TF, parts).bitmap_weights(docs)
        held = [
            doc
            for doc in range(400)
            if (doc - max(o for o in offsets if o <= doc)) % step == first % step
        ]
        assert where.tolist() == held
        assert weights.tolist() == [doc + 1.0 for doc in held]


@pytest.fixture
def bitmap_index(tmp_path, monkeypatch):
    """An index of three segments whose common terms are kept as bitmaps, some of its
    articles replaced (deleted in their segment) by an update."""
    monkeypatch.setattr(frequent, "FREQUENT_DOCS", 3)
    root = build_index(tmp_path, [article(n) for n in range(40)])
    for batch, numbers in enumerate((range(40, 52), range(3, 9))):
        path = tmp_path / f"more-{batch}.jsonl"
        lines = (json.dumps(article(n), ensure_ascii=False) for n in numbers)
        path.write_text("\n".join(lines))
        indexer.update(root, [path])
    return root


def whooshs_postings(arrays: ranking.IndexArrays, field: str, term: str) -> tuple[list, list]:
    ids, weights = [], []
    with arrays._whoosh:
        if (field, term) not in arrays._reader:
            return ids, weights
        matcher = arrays._reader.postings(field, term)
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
    return ids, weights


TERMS = [("text", "дорога"), ("text", "строить"), ("title", "заголовок"), ("exact", "дороги")]
TERMS += [("summary", "мост"), ("text", "метка7"), ("text", "нет-такого")]


def test_postings_with_bitmaps_are_whooshs_own(bitmap_index):
    arrays = SearchEngine(bitmap_index).arrays()
    assert len(arrays.segments) == 3 and any(alive is not None for alive in arrays._segment_alive)
    rng = np.random.default_rng(3)
    bitmaps = 0
    for field, term in TERMS:
        postings = arrays.postings(field, term)
        bitmaps += len(postings.bitmaps)
        ids, weights = whooshs_postings(arrays, field, term)
        assert postings.ids.tolist() == ids and postings.tf.tolist() == weights, term
        assert postings.df == len(ids)
        mask = np.zeros(arrays.size, dtype=bool)
        postings.mark(mask)
        assert np.flatnonzero(mask).tolist() == ids
        whole = np.zeros(arrays.size, dtype=np.float32)
        if ids:
            whole[ids] = arrays.bm25_weights(field, postings)
        for count in (1, 3, 20, arrays.size):
            docs = np.sort(rng.choice(arrays.size, count, replace=False))
            assert arrays.bm25_weights(field, postings, docs=docs).tolist() == whole[docs].tolist()
    assert bitmaps >= 8  # the common terms of every segment


def test_searches_are_the_same_with_bitmaps_or_lists(bitmap_index, monkeypatch):
    queries = ["дороги", "строят быстро", '"дороги строят"', "заголовок о дорогах", "мосты -метка7"]
    engine = SearchEngine(bitmap_index)

    def outcome() -> list:
        found = []
        for q in queries:
            result = engine.search(SearchRequest(q=q, per_page=50))
            facets = [(f.value, f.count) for f in result.facets.source]
            found.append((result.total, facets, [(h.id, h.score) for h in result.hits]))
        return found

    with_bitmaps = outcome()
    monkeypatch.setattr(ranking, "_BITMAP_SHARE", 0)  # every kept term read as a list
    assert outcome() == with_bitmaps
