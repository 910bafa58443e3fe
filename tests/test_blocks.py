"""Posting lists read whole (``search.blocks``) hold what Whoosh's matcher steps through."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher

from search import indexer
from search.blocks import read_list
from search.ingest import read_articles
from search.layout import segment_readers
from search.schema import build_schema
from search.termtable import TermLookup

WORDS = [f"слово{n}" for n in range(40)]


def articles(count: int) -> list[dict]:
    rng = random.Random(3)
    return [
        {
            "id": f"b-{n}",
            "title": " ".join(rng.choice(WORDS[:5]) for _ in range(3)),
            # Repeats give weights above 1; a word in every article fills many blocks.
            "text": "общее "
            + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 60)))
            + f" метка{n}",  # a word of one article: its list is inlined in the term table
        }
        for n in range(count)
    ]


def stepped(matcher) -> tuple[list[int], list[float]]:
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def leaf_lists(reader):
    """Every (field, term) of the lemma fields with a list of blocks (not inlined)."""
    for field in ("title", "text", "exact"):
        for term in reader.lexicon(field):
            matcher = reader.postings(field, term)
            if isinstance(matcher, W3LeafMatcher):
                yield field, term


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blocks") / "articles.jsonl"
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles(700)))
    return path


def test_our_codec_lists_are_read_whole_as_whoosh_steps_them(source: Path, tmp_path: Path):
    indexer.build(tmp_path / "index", [source])
    reader = indexer.open_live(tmp_path / "index").reader()
    lists = list(leaf_lists(reader))
    assert len(lists) > 50
    assert max(reader.doc_frequency(f, t) for f, t in lists) == 700  # 6 blocks
    for field, term in lists:
        ids, weights = read_list(reader.postings(field, term))
        expected_ids, expected_weights = stepped(reader.postings(field, term))
        assert ids.tolist() == expected_ids, (field, term)
        assert np.array_equal(weights, np.asarray(expected_weights, dtype=np.float32))
    assert any(w > 1 for f, t in lists for w in read_list(reader.postings(f, t))[1])


def test_stock_whoosh_lists_are_read_too(source: Path, tmp_path: Path):
    """Whoosh's own writer (protocol 2 pickles, weights as arrays) writes the same format."""
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = ix.writer(codec=W3Codec())
    for document in indexer._documents(read_articles([source], lambda problem: None)):
        writer.add_document(**document)
    writer.commit()
    reader = ix.reader()
    lists = list(leaf_lists(reader))
    assert lists
    for field, term in lists:
        ids, weights = read_list(reader.postings(field, term))
        expected_ids, expected_weights = stepped(reader.postings(field, term))
        assert ids.tolist() == expected_ids
        assert weights.tolist() == pytest.approx(expected_weights)


def test_values_of_chosen_documents_are_those_whoosh_steps_to(source: Path, tmp_path: Path):
    indexer.build(tmp_path / "index", [source])
    reader = indexer.open_live(tmp_path / "index").reader()
    (leaf,) = segment_readers(reader)
    lookup = TermLookup(leaf)
    rng = random.Random(5)
    blocked = list(leaf_lists(leaf))
    inlined = [
        (field, term)
        for field in ("title", "text", "exact")
        for term in leaf.lexicon(field)
        if not isinstance(leaf.postings(field, term), W3LeafMatcher)
    ]
    assert blocked and inlined
    for field, term in blocked[:40] + inlined[:40]:
        everything = {}
        matcher = leaf.postings(field, term)
        while matcher.is_active():
            everything[matcher.id()] = matcher.value()
            matcher.next()
        chosen = sorted(rng.sample(range(700), 60) + rng.sample(sorted(everything), 1))
        chosen = np.asarray(sorted(set(chosen)), dtype=np.int64)
        found = lookup.values_at(field, term.decode("utf-8"), chosen)
        assert found == {d: v for d, v in everything.items() if d in set(chosen.tolist())}
        assert found  # one of its own documents was chosen
    assert lookup.values_at("text", "нет-такого-слова", np.arange(5)) == {}
