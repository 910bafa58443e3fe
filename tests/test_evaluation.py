"""Relevance evaluation (``search.evaluation``): the library's measures against figures worked
out by hand on a tiny run, ``news-search eval`` on topical judgements (and its warning on an
index with tags), and the topic weights of one-item queries on a tiny index."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from search import ranker
from search.cli import main
from search.evaluation import format_table, measure
from search.searching import SearchEngine, SearchRequest
from search.weights import WEIGHTS, TopicWeights
from tests.conftest import build_index, write_jsonl


def test_measures_against_hand_computed_figures() -> None:
    wide = [f"r{i}" for i in range(150)]
    judgements = [
        {"qid": "t1", "kind": "topical", "query": "a", "relevant": ["a", "b", "c"]},
        {"qid": "t2", "kind": "topical", "query": "b", "relevant": wide},
        {"qid": "k1", "kind": "inflected", "query": "c", "relevant": ["k"]},
        {"qid": "k2", "kind": "inflected", "query": "d", "relevant": ["m"]},
    ]
    rankings = {"t1": ["x", "a", "y", "b"], "t2": wide[:100], "k1": ["u", "v", "k"], "k2": []}
    report = measure(judgements, rankings)
    # t1: relevant at ranks 2 and 4 of 3 relevant.
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    t1 = {"ndcg@10": dcg / ideal, "p@10": 0.2, "ap@100": (1 / 2 + 2 / 4) / 3, "mrr@10": 0.5}
    t1["recall@10"] = 2 / 3
    # t2: the first 100 of 150 relevant: AP@100 is divided by min(150, 100), so 1.0.
    t2 = {"ndcg@10": 1.0, "p@10": 1.0, "ap@100": 1.0, "mrr@10": 1.0, "recall@10": 10 / 150}
    topical = report["topical"]
    assert topical["n"] == 2
    for name in t1:
        assert topical[name] == pytest.approx((t1[name] + t2[name]) / 2, abs=1e-4), name
    assert report["inflected"] == {"n": 2, "mrr@10": pytest.approx(1 / 6, abs=1e-4), "hit@10": 0.5}
    # Over both sorts only the measure they share.
    assert report["all"] == {"n": 4, "mrr@10": pytest.approx((0.5 + 1 + 1 / 3) / 4, abs=1e-4)}


def test_table_names_each_sort_of_measure() -> None:
    kinds = {"inflected": {"n": 1, "mrr@10": 1.0, "hit@10": 1.0}, "all": {"n": 1, "mrr@10": 1.0}}
    table = format_table({"kinds": kinds, "latency_ms": {"p50": 1.0, "p95": 2.0}})
    assert table.splitlines()[0] == "| kind | n | MRR@10 | hit@10 |"
    assert "| all | 1 | 1.000 | - |" in table


def _topic_articles() -> list[dict]:
    """One article with «НАТО» in the headline only, one about NATO in its lead and body."""
    filler = "Погода в Польше стояла тёплая, и учения шли по плану. "
    return [
        {
            "id": "headline",
            "title": "НАТО провело учения в Польше",
            "summary": "Учения прошли спокойно.",
            "text": filler * 4,
            "tags": ["нато"],
        },
        {
            "id": "about",
            "title": "Учения в Польше завершились",
            "summary": "Альянс НАТО подвёл итоги.",
            "text": "Командование НАТО довольно. " * 6 + filler * 2,
            "tags": ["нато"],
        },
        {"id": "other", "title": "Выборы в Польше", "text": filler, "tags": ["выборы"]},
    ]


@pytest.fixture(scope="module")
def topic_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(tmp_path_factory.mktemp("topic"), _topic_articles())


def _ids(index: Path, query: str) -> list[str]:
    return [hit.id for hit in SearchEngine(index).search(SearchRequest(q=query)).hits]


def test_one_word_query_ranks_the_article_about_it_first(topic_index, monkeypatch) -> None:
    assert _ids(topic_index, "нато") == ["about", "headline"]
    # Without the topic weights the headline alone wins, as it does for longer queries.
    plain = TopicWeights(bm25={}, field_boosts={}, headline_word=WEIGHTS.headline_word)
    monkeypatch.setattr(ranker, "WEIGHTS", dataclasses.replace(WEIGHTS, topic=plain))
    assert _ids(topic_index, "нато") == ["headline", "about"]


def test_longer_query_keeps_the_headline_weights(topic_index) -> None:
    assert _ids(topic_index, "нато учения")[0] == "headline"


def _judgements(path: Path) -> Path:
    lines = [
        {"query": "нато", "kind": "topical", "relevant": ["headline", "about"]},
        {"qid": "k1", "query": "выборы польше", "kind": "inflected", "relevant": ["other"]},
    ]
    path.write_text("".join(json.dumps(j, ensure_ascii=False) + "\n" for j in lines), "utf-8")
    return path


def test_eval_warns_on_an_index_with_tags(topic_index, tmp_path) -> None:
    judgements = _judgements(tmp_path / "j.jsonl")
    result = CliRunner().invoke(main, ["eval", str(judgements), "--index", str(topic_index)])
    assert result.exit_code == 0, result.output
    assert "--without-tags" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "| kind | n | nDCG@10 | P@10 | AP@100 | MRR@10 | recall@10 | hit@10 |"
    assert lines[2] == "| inflected | 1 | - | - | - | 1.000 | - | 1.000 |"
    assert lines[3] == "| topical | 1 | 1.000 | 0.200 | 1.000 | 1.000 | 1.000 | - |"


def test_eval_on_an_index_built_without_tags(tmp_path) -> None:
    source = write_jsonl(tmp_path / "articles.jsonl", _topic_articles())
    index = tmp_path / "index"
    built = CliRunner().invoke(
        main, ["index", "build", str(source), "--index", str(index), "--without-tags"]
    )
    assert built.exit_code == 0, built.output
    engine = SearchEngine(index)
    assert engine.document("about").tags == []
    assert SearchEngine(index).search(SearchRequest(q="", tag="нато")).total == 0
    judgements = _judgements(tmp_path / "j.jsonl")
    result = CliRunner().invoke(main, ["eval", str(judgements), "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert report["kinds"]["topical"]["ndcg@10"] == 1.0
    assert report["kinds"]["all"] == {"n": 2, "mrr@10": 1.0}
