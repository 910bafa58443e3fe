"""Per-segment arrays: read fast, equal to Whoosh's own per-document reads, kept on disk
by segment id, rebuilt when damaged, and reused (with their cached postings, and the arrays
of unchanged segments themselves) across the reopen after an update."""

from __future__ import annotations

import json
import mmap
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from whoosh.codec.whoosh3 import STORED_COLUMN, W3PerDocReader, W3TermsReader
from whoosh.columns import FixedBytesColumn, NumericColumn, PickleColumn, VarBytesColumn
from whoosh.filedb import compound
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.filedb.structfile import StructFile
from whoosh.matching import FilterMatcher
from whoosh.reading import SegmentReader

from search import caches, frequent, indexer, layout, ranking, segments, stored, termtable
from search.searching import REFRESH_SECONDS, SearchEngine, SearchRequest
from tests.conftest import build_index, write_jsonl

OWNERS = {
    "SegmentReader": SegmentReader,
    "W3PerDocReader": W3PerDocReader,
    "W3TermsReader": W3TermsReader,
    "OrderedHashReader": OrderedHashReader,
    "NumericColumn.Reader": NumericColumn.Reader,
    "FixedBytesColumn.Reader": FixedBytesColumn.Reader,
    "VarBytesColumn.Reader": VarBytesColumn.Reader,
    "SubFile": compound.SubFile,
    "StructFile": StructFile,
    "PickleColumn.Reader": PickleColumn.Reader,
}


def article(number: int, **fields) -> dict:
    return {
        "id": f"a-{number}",
        "title": f"Заголовок номер {number} о дорогах",
        "summary": "Короткий лид" if number % 3 else "",
        "text": " ".join(["Дороги строят быстро"] * (1 + number % 5)) + f" метка{number}",
        "date": f"20{10 + number % 12:02d}-0{1 + number % 9}-1{number % 10}" if number % 4 else "",
        "source": ("РИА", "ТАСС", "")[number % 3],
        "topic": ("Экономика", "Общество")[number % 2],
        **fields,
    }


@pytest.fixture
def updated_index(tmp_path: Path) -> Path:
    """Three segments: a build, an update that replaces two articles, an update adding more."""
    root = build_index(tmp_path, [article(n) for n in range(40)])
    more = tmp_path / "more.jsonl"
    more.write_text(
        "\n".join(json.dumps(article(n, title=f"Новый {n}"), ensure_ascii=False) for n in (3, 7))
    )
    indexer.update(root, [more])
    added = tmp_path / "added.jsonl"
    added.write_text("\n".join(json.dumps(article(n), ensure_ascii=False) for n in range(40, 45)))
    indexer.update(root, [added])
    return root


def leaves(root: Path) -> list:
    reader = layout.open_live(root).reader()
    return [reader] if reader.is_atomic() else [leaf for leaf, _ in reader.leaf_readers()]


INTERNALS: dict[str, tuple[str, ...]] = {}
for used in (segments.COLUMN_INTERNALS, termtable.TABLE_INTERNALS, stored.STORED_INTERNALS):
    for owner, names in used.items():
        INTERNALS[owner] = tuple(sorted({*INTERNALS.get(owner, ()), *names}))


@pytest.mark.parametrize("owner", sorted(INTERNALS))
def test_whoosh_internals_read_here_exist(owner, updated_index):
    leaf = leaves(updated_index)[0]
    instances = {
        "SegmentReader": leaf,
        "W3PerDocReader": leaf._perdoc,
        "W3TermsReader": leaf._terms,
        "OrderedHashReader": leaf._terms._tindex,
        "NumericColumn.Reader": leaf.column_reader("date", translate=False),
        "VarBytesColumn.Reader": leaf.column_reader("source", translate=False),
        "FixedBytesColumn.Reader": leaf.column_reader("fingerprint", translate=False),
        "SubFile": leaf._terms._tindex.dbfile.file,
        "StructFile": leaf._terms._postfile,
        "PickleColumn.Reader": leaf._perdoc._cached_reader("_stored", STORED_COLUMN),
    }
    assert isinstance(instances[owner], OWNERS[owner])
    for name in INTERNALS[owner]:
        assert hasattr(instances[owner], name), f"{owner}.{name}"


def test_stored_fields_are_read_as_whoosh_reads_them(updated_index):
    """Every document's stored fields, read by ``pread`` (``search.stored``), in every
    segment of an index with deletions, are Whoosh's; so are the engine's."""
    found = leaves(updated_index)
    assert len(found) > 1
    for leaf in found:
        lookup = stored.stored_lookup(leaf)
        assert lookup is not None
        for local in range(leaf.doc_count_all()):
            assert lookup.stored_fields(local) == leaf.stored_fields(local)
    arrays = SearchEngine(updated_index).arrays()
    for docnum in range(arrays.size):
        assert arrays.stored_fields(docnum) == arrays._searcher.stored_fields(docnum)
    assert all(isinstance(lookup, stored.StoredLookup) for lookup in arrays._stored)


@pytest.mark.parametrize("guess", [0, termtable._VALUE_GUESS], ids=["value apart", "guessed"])
def test_term_lookup_finds_what_whoosh_finds_and_nothing_else(updated_index, monkeypatch, guess):
    """Every term's info, read with the record's head or after it, is Whoosh's."""
    monkeypatch.setattr(termtable, "_VALUE_GUESS", guess)
    for leaf in leaves(updated_index):
        lookup = termtable.TermLookup(leaf)
        table = leaf._terms._tindex
        present = 0
        for (field, term), _ in leaf._terms.items():
            assert lookup.info(field, term) == table[leaf._terms._keycoder(field, term)]
            assert lookup.doc_frequency(field, term) == leaf.doc_frequency(field, term)
            present += 1
            for missing in (term + b"x", b"x" + term, term[:-1]):
                if (field, missing) not in leaf:
                    assert lookup.info(field, missing) is None
                    assert lookup.doc_frequency(field, missing) == 0
        assert present > 50
        assert lookup.info("no such field", b"x") is None
    arrays = SearchEngine(updated_index).arrays()  # summed over segments, as Whoosh sums
    terms = leaves(updated_index)[0]._terms.items()
    asked = [(f, t.decode()) for (f, t), _ in terms if f in ("title", "text", "exact")][::7]
    counts = [arrays.term_frequency(field, term) for field, term in asked]
    assert counts == [arrays._reader.doc_frequency(field, term) for field, term in asked]
    assert max(counts) > 2 and arrays.term_frequency("text", "нет-такого") == 0


def test_term_lookup_reads_the_postings_whoosh_reads(updated_index):
    """Read with ``os.pread`` from the term info, each posting list (inlined or in
    blocks) is what Whoosh's matcher gives, with no lock held."""
    kinds = set()
    for leaf in leaves(updated_index):
        lookup = termtable.TermLookup(leaf)
        for (field, term), info in leaf._terms.items():
            ids, weights = lookup.postings(field, term)
            matcher = leaf.postings(field, term)
            if isinstance(matcher, FilterMatcher):  # deletions skipped: callers drop them
                matcher = matcher.child
                matcher.reset()  # (the filter stepped it past a deleted first document)
            expected_ids, expected_weights = [], []
            while matcher.is_active():
                expected_ids.append(matcher.id())
                expected_weights.append(matcher.weight())
                matcher.next()
            assert ids.tolist() == expected_ids, (field, term)
            assert weights.tolist() == expected_weights, (field, term)
            kinds.add(info.is_inlined())
            assert lookup.postings(field, term + b"x") is None or (field, term + b"x") in leaf
    assert kinds == {True, False}  # (lists of many blocks: test_blocks)


def test_arrays_equal_whooshs_own_reads(updated_index):
    found = leaves(updated_index)
    assert len(found) >= 2
    for leaf in found:
        arrays = segments.load(leaf, None)
        size = leaf.doc_count_all()
        for name in ("title", "summary", "text", "exact"):
            slow = [leaf.doc_field_length(d, name, 0) or 0 for d in range(size)]
            assert arrays.lengths[name].tolist() == slow, name
        for name in segments.CATEGORY_FIELDS:
            column = leaf.column_reader(name)
            slow = [column[d] for d in range(size)]
            codes, values = arrays.codes[name], arrays.values[name]
            assert [values[c] if c >= 0 else "" for c in codes.tolist()] == slow
        stored = [leaf.stored_fields(d).get("date") for d in range(size)]
        assert [None if o == segments.NO_DATE else o for o in arrays.dates.tolist()] == [
            d.toordinal() if d else None for d in stored
        ]
        assert arrays.years.tolist() == [d.year if d else 0 for d in stored]
        vocabulary = [
            (t.decode("utf-8"), info.doc_frequency()) for t, info in leaf.iter_field("exact")
        ]
        assert (
            list(zip(arrays.terms[0 : len(arrays.terms)], arrays.counts.tolist(), strict=True))
            == vocabulary
        )
        column = leaf.column_reader("fingerprint")
        assert [arrays.fingerprints[d].tobytes() for d in range(size)] == [
            column[d] for d in range(size)
        ]
        assert arrays.fingerprints.any(axis=1).all()


def test_the_writer_keeps_arrays_of_live_segments_only(updated_index):
    folder = layout.arrays_dir(layout.open_live(updated_index))
    live = {leaf._segment.segment_id() for leaf in leaves(updated_index)}
    assert {path.name for path in folder.iterdir()} == live


def test_an_update_builds_the_new_segment_only(updated_index, tmp_path):
    folder = layout.arrays_dir(layout.open_live(updated_index))
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(article(99), ensure_ascii=False))
    time.sleep(0.01)
    indexer.update(updated_index, [one])
    after = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    kept = set(before) & set(after)
    # Whoosh may merge small segments into the new one; those that stay are not rebuilt.
    assert kept and all(before[name] == after[name] for name in kept)
    assert len(set(after) - set(before)) == 1


def test_damaged_arrays_are_rebuilt_and_answers_stay_right(updated_index):
    engine = SearchEngine(updated_index)
    expected = engine.search(SearchRequest(q="дороги", per_page=50))
    folder = layout.arrays_dir(layout.open_live(updated_index))
    for kept in folder.iterdir():
        lengths = kept / "length.text.npy"
        lengths.write_bytes(lengths.read_bytes()[:-3])  # torn
        (kept / "dates.npy").unlink()
    again = SearchEngine(updated_index).search(SearchRequest(q="дороги", per_page=50))
    assert [h.id for h in again.hits] == [h.id for h in expected.hits]
    assert again.facets == expected.facets
    assert all((kept / "dates.npy").exists() for kept in folder.iterdir())


def test_a_read_only_index_is_searched_with_arrays_in_memory(updated_index):
    folder = layout.arrays_dir(layout.open_live(updated_index))
    for kept in folder.iterdir():
        shutil.rmtree(kept)
    os.chmod(folder, 0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        result = SearchEngine(updated_index).search(SearchRequest(q="метка41"))
        assert [h.id for h in result.hits] == ["a-41"]
        assert not any(folder.iterdir())
    finally:
        os.chmod(folder, 0o755)


def test_cached_postings_of_unchanged_segments_survive_a_reopen(updated_index, tmp_path):
    engine = SearchEngine(updated_index)
    assert engine.search(SearchRequest(q="дороги")).total == 45
    cache, _ = ranking._caches()
    old = {leaf._segment.segment_id() for leaf in leaves(updated_index)}
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(article(77), ensure_ascii=False))
    indexer.update(updated_index, [one])
    time.sleep(REFRESH_SECONDS + 0.1)
    new = {leaf._segment.segment_id() for leaf in leaves(updated_index)}
    unchanged = old & new
    assert unchanged
    for segment_id in unchanged:
        assert cache.get((segment_id, "text", "дорога")) is not None
    assert engine.search(SearchRequest(q="дороги")).total == 46


def test_a_reopen_takes_over_the_arrays_of_unchanged_segments(updated_index, tmp_path):
    folder = layout.arrays_dir(layout.open_live(updated_index))
    for segment in folder.iterdir():  # kept later, as a merge keeps them after its commit
        shutil.rmtree(segment / frequent.FOLDER)
    engine = SearchEngine(updated_index)
    before = {segment.segment_id: segment for segment in engine.arrays().segments}
    assert all(segment.frequent is None for segment in before.values())
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(article(78), ensure_ascii=False))
    indexer.update(updated_index, [one])  # its writer keeps the missing ones again
    time.sleep(REFRESH_SECONDS + 0.1)
    after = engine.arrays().segments
    unchanged = [segment for segment in after if segment.segment_id in before]
    assert len(unchanged) == len(before) and len(after) == len(before) + 1
    for segment in unchanged:  # the same mapped arrays, the frequent postings found again
        assert segment.lengths is before[segment.segment_id].lengths
        assert segment.frequent is not None
    fresh = SearchEngine(updated_index)
    for q in ("дороги", "метка78", "новый", "заголовок о дорогах"):
        ours, theirs = (e.search(SearchRequest(q=q, per_page=50)) for e in (engine, fresh))
        assert ours.total == theirs.total
        assert [(h.id, h.score) for h in ours.hits] == [(h.id, h.score) for h in theirs.hits]


def test_a_rebuilt_index_takes_over_no_arrays(updated_index, tmp_path):
    engine = SearchEngine(updated_index)
    before = [segment.lengths for segment in engine.arrays().segments]
    indexer.build(updated_index, [write_jsonl(tmp_path / "b.jsonl", [article(90)])])
    time.sleep(REFRESH_SECONDS + 0.1)
    after = engine.arrays().segments
    assert [s.size for s in after] == [1]
    assert not any(s.lengths is old for s in after for old in before)


def test_replaced_articles_are_not_found_twice(updated_index):
    engine = SearchEngine(updated_index)
    assert engine.search(SearchRequest(q="новый")).total == 2
    arrays = engine.arrays()
    assert arrays.has_deletions and arrays.documents == 45
    ids = [h.id for h in engine.search(SearchRequest(q="метка3 OR метка7")).hits]
    assert sorted(ids) == ["a-3", "a-7"]


def test_completions_and_frequencies_sum_over_segments(updated_index):
    arrays = SearchEngine(updated_index).arrays()
    assert len(arrays.segments) >= 2
    whole = layout.open_live(updated_index).reader()
    for form in ("дороги", "метка41", "строят", "нет-такой"):
        assert arrays.surface_frequency(form) == whole.doc_frequency("exact", form)
    offered = arrays.completions("мет", 3)
    assert len(offered) == 3 and all(form.startswith("мет") for form in offered)


def test_every_form_is_found_by_its_hash_and_no_other(updated_index):
    arrays = SearchEngine(updated_index).arrays()
    for segment in arrays.segments:
        terms = segment.terms
        assert all(terms.find(terms[i]) == i for i in range(len(terms)))
        assert terms.find("несуществующее") is None and terms.find("") is None
        forms = [*terms[0 : len(terms)], "несуществующее", ""][::-1]
        found = terms.find_all(forms, termtable.term_hashes(forms))
        assert found.tolist() == [-1, -1, *range(len(terms) - 1, -1, -1)]
    forms = ["дороги", "метка41", "нет-такой", "строят", "дороги"]
    expected = [arrays.surface_frequency(form) for form in forms]
    assert arrays.surface_frequencies(forms) == expected and expected[0] > 1 and expected[2] == 0


def test_byte_lru_holds_its_limit():
    cache = caches.ByteLRU(1000, len)
    for number in range(100):
        cache.put(number, "x" * 90)
        assert cache.bytes <= 1000
    assert len(cache) == 11 and cache.get(99) and cache.get(0) is None
    cache.put("huge", "x" * 5000)
    assert cache.get("huge") is None


def test_cache_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NEWS_SEARCH_POSTINGS_CACHE_MB", "1.5")
    assert caches.limit_bytes("NEWS_SEARCH_POSTINGS_CACHE_MB") == int(1.5 * (1 << 20))
    monkeypatch.setenv("NEWS_SEARCH_POSTINGS_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="megabytes"):
        caches.limit_bytes("NEWS_SEARCH_POSTINGS_CACHE_MB")
    assert np.int64(caches.limit_bytes("NEWS_SEARCH_TITLES_CACHE_MB")) > 0


def test_builds_and_updates_map_no_segment_file(tmp_path, monkeypatch):
    """Writers read segments as readers do, never through memory maps: a build reads every
    segment it wrote to keep its arrays, and through maps that pass held 3.9 GB of a
    200,000-article build (see ``search.durable.create_durable``)."""
    mapped = []
    real_mmap = mmap.mmap

    def recording_mmap(fileno, *args, **kwargs):
        path = os.readlink(f"/proc/self/fd/{fileno}")
        if not path.endswith(".npy"):  # the kept arrays are mapped, by design
            mapped.append(path)
        return real_mmap(fileno, *args, **kwargs)

    monkeypatch.setattr(compound.mmap, "mmap", recording_mmap)
    root = build_index(tmp_path, [article(n) for n in range(20)])
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps(article(30), ensure_ascii=False))
    indexer.update(root, [more])
    with layout.open_live(root).searcher() as searcher:
        assert searcher.doc_count() == 21
    assert mapped == []


def test_fingerprint_rows_are_read_as_the_map_holds_them_even_once_removed(updated_index):
    read = []
    for segment in SearchEngine(updated_index).arrays().segments:
        assert isinstance(segment.fingerprints, np.memmap)  # kept on disk
        local = np.asarray([segment.size - 1, 0, *range(0, segment.size, 3)], dtype=np.int64)
        expected = np.asarray(segment.fingerprints[local])
        assert expected.any() and np.array_equal(segment.fingerprint_rows(local), expected)
        assert segment.fingerprint_rows(local[:0]).shape == (0, expected.shape[1])
        read.append((segment, local, expected))
    # a merge removes the arrays of the segments it replaced while an older generation
    # may still be searching them
    segments.discard_unused(layout.arrays_dir(layout.open_live(updated_index)), [])
    for segment, local, expected in read:
        assert not Path(segment.fingerprints.filename).exists()
        assert np.array_equal(segment.fingerprint_rows(local), expected)


def test_terms_are_listed_from_every_segment_whatever_order_its_fields_are_in(
    tmp_path, monkeypatch
):
    """Bulk-written segments hold their fields out of name order; Whoosh's MultiReader
    listing lost the other segments' terms where one segment's titles ended."""
    from whoosh.support.levenshtein import distance

    monkeypatch.setattr(indexer, "SEGMENT_TEXT_BYTES", 10)  # a segment an article
    titles = ["Ящик на складе", "Ястреб и ящерица", "Ящерка и яблоко", "Ярмарка ремесел"]
    texts = ["Склад ящиков", "Ястребы летают", "Ящерицы бегают", "Ярмарки шумят"]
    articles = [
        article(n, title=title, text=text)
        for n, (title, text) in enumerate(zip(titles, texts, strict=True))
    ]
    root = build_index(tmp_path, articles)
    assert len(leaves(root)) == 4
    arrays = SearchEngine(root).arrays()
    for field in ("title", "text", "exact"):
        every = sorted({t.decode() for leaf in leaves(root) for t in leaf.lexicon(field)})
        for prefix in ("я", "ящ", "яст", "с"):
            expected = [t for t in every if t.startswith(prefix)]
            assert sorted(arrays.expand_prefix(field, prefix, 100)) == expected, (field, prefix)
        if field == "exact":  # the vocabulary of the segments' arrays
            for word in ("ящики", "ястребы", "ярмарки", "склады"):
                near = [t for t in every if t[:2] == word[:2] and distance(t, word, limit=2) <= 2]
                assert near and arrays.forms_within(word, 2, prefix=2) == near, word
    assert {"ящик", "ястреб", "ящерица", "ящерка"} <= set(arrays.expand_prefix("title", "я", 100))
