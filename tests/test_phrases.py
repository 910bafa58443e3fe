"""Phrases matched by positions (``search.phrases``) match what Whoosh's ``Sequence`` does,
also when what earlier searches read of their positions answers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as wq

from search import indexer, ranking
from search.analysis import analyze
from search.phrases import phrase_holders, phrase_terms
from search.schema import PackedPositions
from search.searching import SearchEngine, SearchRequest
from tests.conftest import build_index

WORDS = [
    "мир",
    "война",
    "россия",
    "сша",
    "переговоры",
    "газ",
    "нефть",
    "санкции",
    "москва",
    "киев",
    "министр",
    "глава",
]


def article(number: int, rng: random.Random) -> dict:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 30))]
    return {
        "id": f"p-{number}",
        "title": " ".join(rng.choice(WORDS) for _ in range(4)),
        "text": " ".join(words) + ".",
        "date": "2020-01-01",
    }


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    """Three segments of random word salads, two articles of the first replaced."""
    rng = random.Random(7)
    folder = tmp_path_factory.mktemp("phrases")
    root = build_index(folder, [article(n, rng) for n in range(120)])
    for batch, numbers in enumerate((range(120, 160), (3, 50))):
        more = folder / f"more-{batch}.jsonl"
        lines = [json.dumps(article(n, rng), ensure_ascii=False) for n in numbers]
        more.write_text("\n".join(lines), encoding="utf-8")
        indexer.update(root, [more])
    return SearchEngine(root)


def lemmas(word: str) -> tuple[str, ...]:
    return next(iter(analyze(word))).terms


def test_the_index_has_segments_and_deletions(engine: SearchEngine):
    arrays = engine.arrays()
    assert len(arrays.leaves) == 3 and arrays.has_deletions


@pytest.mark.parametrize("seed", range(40))
def test_positions_match_what_whoosh_matches(engine: SearchEngine, seed: int):
    rng = random.Random(seed)
    arrays = engine.arrays()
    field = rng.choice(["title", "text"])
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 4))]
    alternatives = [
        wq.Or([wq.Term(field, t) for t in (*lemmas(w), lemmas(rng.choice(WORDS))[0])])
        if rng.random() < 0.3
        else wq.Term(field, lemmas(w)[0])
        for w in words
    ]
    query = wq.Sequence(alternatives, slop=rng.choice([1, 1, 2, 3]))
    assert phrase_terms(query) is not None
    with arrays._whoosh:
        expected = arrays.docs_mask(arrays._searcher.docs_for_query(query))
    assert np.array_equal(arrays.matching(query), expected & arrays.alive)
    among = np.asarray([rng.random() < 0.5 for _ in range(arrays.size)])
    assert np.array_equal(arrays.matching(query, among=among), expected & arrays.alive & among)


def test_only_ordered_sequences_of_terms_of_one_field_are_matched_here():
    title, text = wq.Term("title", "мир"), wq.Term("text", "война")
    assert phrase_terms(wq.Sequence([title, wq.Term("title", "война")], slop=2)) == (
        "title",
        (("мир",), ("война",)),
        2,
    )
    assert phrase_terms(wq.Sequence([title, text])) is None  # two fields
    assert phrase_terms(wq.Sequence([title, wq.Term("title", "a")], ordered=False)) is None
    assert phrase_terms(wq.Sequence([title, wq.Prefix("title", "во")])) is None
    assert phrase_terms(title) is None


def holds(positions: list[list[int]], slop: int, doc: int = 3) -> bool:
    """Whether one document with these positions of each word holds the phrase."""
    words = [(np.full(len(p), doc), np.asarray(p, dtype=np.int64)) for p in positions]
    held = phrase_holders(words, slop)
    assert held.tolist() in ([], [doc])
    return bool(held.size)


def test_a_phrase_holds_when_each_word_steps_one_to_slop_past_the_last():
    assert holds([[4], [5]], 1)
    assert not holds([[5], [4]], 1)  # out of order
    assert not holds([[4], [4]], 1)  # the same position
    assert not holds([[4], [6]], 1) and holds([[4], [6]], 2)
    assert holds([[1, 9], [2, 10], [11]], 1)  # only the second start reaches the end
    assert not holds([[1], [2], []], 1)
    assert holds([[0], [1]], 1, doc=0)


def test_positions_of_one_document_never_lead_to_another():
    first = (np.asarray([0, 1]), np.asarray([4, 4]))
    second = (np.asarray([1, 2]), np.asarray([5, 0]))
    assert phrase_holders([first, second], 1).tolist() == [1]
    # the first position of a document does not follow the last one of the one before
    last = (np.asarray([0]), np.asarray([(1 << 32) - 1]))
    assert phrase_holders([last, (np.asarray([1]), np.asarray([0]))], 1).size == 0


def test_positions_decoded_together_are_those_decoded_one_by_one():
    rng = random.Random(7)
    packed = PackedPositions()
    lists = [
        sorted(rng.sample(range(rng.choice([100, 20_000, 3_000_000])), rng.randint(1, 30)))
        for _ in range(300)
    ]
    values = [packed.encode(p) for p in lists]
    owner, positions = packed.decode_all(values)
    expected = [(n, p) for n, value in enumerate(values) for p in packed.decode_positions(value)]
    assert list(zip(owner.tolist(), positions.tolist(), strict=True)) == expected
    assert [p for _, p in expected] == [p for one in lists for p in one]
    assert packed.decode_all([])[0].size == 0


def test_a_synonym_phrase_still_finds_articles_without_the_word(tmp_path: Path):
    articles = [
        {"id": "usa", "title": "Заявление", "text": "Соединённые Штаты ввели пошлины."},
        {"id": "apart", "title": "Штаты", "text": "Соединённые линии и штаты."},
    ]
    engine = SearchEngine(build_index(tmp_path, articles))
    assert [h.id for h in engine.search(SearchRequest(q="сша")).hits] == ["usa"]


@pytest.mark.parametrize("seed", range(20))
def test_positions_read_once_serve_later_searches_among_other_documents(
    engine: SearchEngine, seed: int
):
    rng = random.Random(1000 + seed)
    arrays = engine.arrays()
    words = rng.sample(WORDS, rng.randint(2, 3))
    # a slop no other test uses, so that no positions of the phrase were read before
    query = wq.Sequence([wq.Term("text", lemmas(w)[0]) for w in words], slop=4 + seed)
    with arrays._whoosh:
        expected = arrays.docs_mask(arrays._searcher.docs_for_query(query)) & arrays.alive
    cache, _ = ranking._caches()
    phrase = phrase_terms(query)
    assert all(cache.get((segment.segment_id, phrase)) is None for segment in arrays.segments)
    masks = [np.asarray([rng.random() < 0.4 for _ in range(arrays.size)]) for _ in range(3)]
    for among in (*masks, None):
        wanted = expected if among is None else expected & among
        assert np.array_equal(arrays.matching(query, among=among), wanted)
    kept = [cache.get((segment.segment_id, phrase)) for segment in arrays.segments]
    assert np.array_equal(arrays.matching(query, among=masks[0]), expected & masks[0])
    again = [cache.get((segment.segment_id, phrase)) for segment in arrays.segments]
    assert all(a is b for a, b in zip(kept, again, strict=True))  # nothing read again


def test_postings_are_the_live_postings_whoosh_steps_through(engine: SearchEngine):
    """A term's postings over all segments, deletions dropped where a segment has them,
    are Whoosh's own (global numbers, weights)."""
    arrays = engine.arrays()
    for field in ("title", "text"):
        for word in WORDS:
            term = lemmas(word)[0]
            expected_ids, expected_weights = [], []
            with arrays._whoosh:
                matcher = arrays._reader.postings(field, term)
                while matcher.is_active():
                    expected_ids.append(matcher.id())
                    expected_weights.append(matcher.weight())
                    matcher.next()
            postings = arrays.postings(field, term)
            assert postings.ids.tolist() == expected_ids, (field, term)
            assert postings.tf.tolist() == expected_weights, (field, term)
