"""Duplicates and stories on a tiny real index: exact copies, near-copies, one story, unrelated.

The articles are word salads of one seeded vocabulary, long enough for a signature
(``duplicates.MIN_WORDS``); each carries a marker word, so that one query finds a
group and the copies made of it.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from conftest import build_index

from benchmarks.duplicates import PERTURBATIONS, measure
from search import duplicates, indexer
from search.searching import SearchEngine, SearchRequest
from web import create_app

WORDS = [
    "правительство",
    "министерство",
    "бюджет",
    "реформа",
    "экономика",
    "налог",
    "пенсия",
    "школа",
    "больница",
    "дорога",
    "мост",
    "завод",
    "нефть",
    "газ",
    "уголь",
    "рубль",
    "доллар",
    "биржа",
    "банк",
    "кредит",
    "ставка",
    "инфляция",
    "зарплата",
    "депутат",
    "губернатор",
    "мэр",
    "город",
    "область",
    "район",
    "село",
    "река",
    "лес",
    "поле",
    "урожай",
    "погода",
    "дождь",
    "снег",
    "мороз",
    "жара",
    "выборы",
    "партия",
    "закон",
    "суд",
    "прокурор",
    "полиция",
    "авария",
    "пожар",
    "спасатель",
    "врач",
    "учёный",
    "открытие",
    "спутник",
    "ракета",
    "космос",
    "футбол",
    "хоккей",
    "матч",
    "тренер",
    "команда",
    "болельщик",
    "театр",
    "музей",
    "выставка",
    "концерт",
    "фильм",
    "книга",
    "писатель",
    "художник",
    "праздник",
    "традиция",
]


def salad(rng: random.Random, sentences: int) -> list[str]:
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))).capitalize() + "."
        for _ in range(sentences)
    ]


def article(article_id: str, marker: str, sentences: list[str], **more) -> dict:
    paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    return {
        "id": article_id,
        "title": f"Новость {marker} {sentences[0][:40]}",
        "text": "\n".join(paragraphs) + f" {marker}.",
        "date": "2024-03-10",
        "source": "ТАСС",
        **more,
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    rng = random.Random(14)
    event = ["Кошербаев провёл переговоры в Астане с делегацией Бишкека."] * 2
    shared = event + salad(rng, 2)  # a story's articles share some sentences, and names
    base = article("base", "маркерсюжет", shared + salad(rng, 11))
    articles = [
        base,
        {**base, "id": "exact-copy", "source": "РИА Новости"},
        {**PERTURBATIONS["shuffled"](base, rng, []), "id": "near-copy", "source": "RT"},
        article(
            "story", "маркерсюжет", shared + salad(rng, 11), source="Интерфакс", date="2024-03-12"
        ),
        article(
            "late", "маркерсюжет", shared + salad(rng, 11), source="Коммерсантъ", date="2024-05-01"
        ),
        *(article(f"other-{n}", f"маркер{n}", salad(rng, 15)) for n in range(6)),
    ]
    root = build_index(tmp_path_factory.mktemp("duplicates"), articles)
    return root, articles


def test_copies_collapse_into_the_best_hit_and_take_no_slot(corpus):
    engine = SearchEngine(corpus[0])
    result = engine.search(SearchRequest(q="маркерсюжет"))
    ids = [hit.id for hit in result.hits]
    assert result.total == 5 and result.collapsed == 2
    assert len(ids) == 3 and "story" in ids and "late" in ids
    best = next(hit for hit in result.hits if hit.id in ("base", "exact-copy", "near-copy"))
    copies = {copy.id: copy.source for copy in best.duplicates}
    assert set(copies) | {best.id} == {"base", "exact-copy", "near-copy"}
    everything = engine.search(SearchRequest(q="маркерсюжет", group="none"))
    assert len(everything.hits) == 5 and everything.collapsed == 0


def test_a_story_groups_articles_within_days_but_not_months(corpus):
    result = SearchEngine(corpus[0]).search(SearchRequest(q="маркерсюжет", group="story"))
    by_id = {hit.id: hit for hit in result.hits}
    story = [hit for hit in result.hits if any(other.id == "story" for other in hit.story)]
    assert story or "story" in by_id and by_id["story"].story
    assert "late" in by_id  # two months later: a story of its own


def test_similar_articles_leave_out_the_copies_and_list_them_apart(corpus):
    doc = SearchEngine(corpus[0]).document("base")
    assert {copy.id for copy in doc.duplicates} == {"exact-copy", "near-copy"}
    similar = [other.id for other in doc.similar]
    assert similar[:2] and set(similar[:2]) == {"story", "late"}
    assert not {"base", "exact-copy", "near-copy"} & set(similar)


def test_an_update_writes_the_fingerprint_a_build_writes(corpus, tmp_path):
    root, articles = corpus
    source = tmp_path / "again.jsonl"
    source.write_text(
        json.dumps({**articles[0], "id": "updated"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    indexer.update(root, [source])
    arrays = SearchEngine(root).arrays()
    rows = arrays.fingerprints(
        np.array([arrays.document_number("base"), arrays.document_number("updated")])
    )
    assert rows[0].any() and bytes(rows[0]) == bytes(rows[1])
    everything = np.flatnonzero(arrays.alive)
    base = arrays.document_number("base")
    assert duplicates.among(arrays, everything).copies(base).size == 3
    indexer.delete(root, ["updated"])


def test_the_api_and_the_page_show_the_copies(corpus):
    client = create_app(corpus[0]).test_client()
    body = client.get("/api/search", query_string={"q": "маркерсюжет"}).get_json()
    assert body["collapsed"] == 2
    listed = [copy for hit in body["hits"] for copy in hit["duplicates"]]
    assert len(listed) == 2 and {"id", "title", "source", "date", "url"} <= set(listed[0])
    page = client.get("/", query_string={"q": "маркерсюжет"}).get_data(as_text=True)
    assert "Ещё 2:" in page and "копий скрыто: 2" in page
    story = client.get("/", query_string={"q": "маркерсюжет", "group": "story"})
    assert "По этой теме ещё 1" in story.get_data(as_text=True)
    doc = client.get("/doc/base").get_data(as_text=True)
    assert "Похожие материалы" in doc and "Копии этой статьи" in doc
    assert client.get("/api/search", query_string={"q": "x", "group": "bad"}).status_code == 400


def test_near_copies_are_told_from_random_pairs():
    rng = random.Random(3)
    articles = [article(f"a{n}", f"метка{n}", salad(rng, 15)) for n in range(12)]
    articles.append({**articles[0], "id": "twin"})
    report = measure(articles, samples=8, seed=1)
    for kind, row in report.items():
        assert row["recall"] == 1.0 and row["precision"] == 1.0, (kind, row)
