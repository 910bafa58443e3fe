"""The scale generator on a sample of the shared corpus (fast tier: about 8 s of CPU).

The generator fits Heaps' law to whatever corpus it is given, so a sample of 500 real
articles is enough to see every promise: the schema, unique ids, ten years of dates, new
names declined into the case of the name they replace, a vocabulary that follows the fit,
and the same output for the same seed.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, require_corpus

from benchmarks.evaluate import load_corpus
from benchmarks.scalegen import (
    CASES,
    WORD,
    Generator,
    HeapsFit,
    Pools,
    Slot,
    article_text,
    heaps_fit,
    main,
)

PER_FILE = 250
COUNT = 300
FIELDS = {"id", "title", "summary", "text", "date", "url", "source", "topic", "tags"}


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 250 articles of each corpus file, as a corpus folder of its own."""
    require_corpus()
    folder = tmp_path_factory.mktemp("scalegen-corpus")
    for path in sorted(CORPUS.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            head = [line for _, line in zip(range(PER_FILE), lines, strict=False)]
        with gzip.open(folder / path.name, "wt", encoding="utf-8") as out:
            out.writelines(head)
    return folder


def generate(sample_dir: Path, out: Path, seed: int) -> tuple[list[dict], str]:
    outcome = CliRunner().invoke(
        main, [str(COUNT), str(out), "--seed", str(seed), "--corpus", str(sample_dir)]
    )
    assert outcome.exit_code == 0, outcome.output
    with gzip.open(out, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines], outcome.output


@pytest.fixture(scope="module")
def generated(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return generate(sample_dir, tmp_path_factory.mktemp("scalegen") / "gen.jsonl.gz", seed=1)


def test_articles_have_the_corpus_schema_and_unique_ids(generated):
    articles, _ = generated
    assert len(articles) == COUNT
    for article in articles:
        assert set(article) == FIELDS
        assert article["title"] and article["text"]
        assert all(isinstance(article[f], str) for f in ("title", "summary", "text", "url"))
        assert isinstance(article["tags"], list)
    ids = [a["id"] for a in articles]
    assert ids[:2] == ["gen-000001", "gen-000002"] and len(set(ids)) == COUNT
    assert sum(bool(a["tags"]) for a in articles) > COUNT * 0.8  # taken from the templates


def test_dates_spread_over_ten_years_in_order(generated):
    articles, _ = generated
    dates = [a["date"] for a in articles]
    assert dates == sorted(dates)
    assert {d[:4] for d in dates} == {str(year) for year in range(2016, 2026)}


def test_new_names_are_in_the_text_and_declined(generated, sample_dir: Path):
    articles, _ = generated
    known = set()
    for article in load_corpus(sample_dir):
        known.update(WORD.findall(article_text(article).lower()))
    new = {
        word
        for article in articles
        for word in re.findall(r"\b[А-ЯЁ][а-яё]+", article_text(article))
        if word.lower() not in known
    }
    assert len(new) > 100
    oblique = ("ова", "ову", "овым", "ове", "ского", "скому", "ским", "овска", "овске", "овки")
    assert len({w for w in new if w.endswith(oblique)}) > 10
    assert any(w.endswith(("ов", "ский", "овск", "ово")) for w in new)  # and the nominative


@pytest.fixture(scope="module")
def pools(sample_dir: Path) -> Pools:
    return Pools.of(load_corpus(sample_dir))


def test_a_new_name_takes_the_case_and_gender_of_its_slot(pools: Pools):
    generator = Generator(pools, HeapsFit(1.0, 0.5, 1, 1), total=1)
    endings = {
        ("person", "datv", "femn"): ("овой", "евой", "иной", "ской"),
        ("person", "ablt", "masc"): ("овым", "евым", "иным", "ским"),
        ("place", "loct", "masc"): ("овске", "ограде"),
        ("place", "gent", "femn"): ("овки",),
        ("place", "ablt", "neut"): ("овом",),
    }
    for (kind, case, gender), allowed in endings.items():
        for _ in range(20):
            name = generator._new_name(Slot(0, 1, kind, case, gender, first_name=False))
            assert name[0].isupper() and name.endswith(allowed), (kind, case, gender, name)
    with_first = generator._new_name(Slot(0, 1, "person", "gent", "femn", first_name=True))
    first, surname = with_first.split()
    assert first in {forms[CASES.index("gent")] for forms in generator.names.first_names["femn"]}
    assert surname.endswith(("овой", "евой", "иной", "ской"))


def test_vocabulary_follows_the_fit(generated):
    _, output = generated
    beta = float(re.search(r"beta = ([\d.]+)", output).group(1))
    assert 0.4 <= beta <= 0.9
    measured, predicted = re.search(
        r"([\d,]+) distinct words \(([\d,]+) predicted\)", output
    ).groups()
    measured, predicted = (int(x.replace(",", "")) for x in (measured, predicted))
    assert abs(measured - predicted) <= 0.05 * predicted
    assert "1,000,000 articles" in output and "new names" in output


def test_the_same_seed_makes_the_same_articles(generated, sample_dir: Path, tmp_path: Path):
    articles, _ = generated
    again, _ = generate(sample_dir, tmp_path / "again.jsonl.gz", seed=1)
    assert again == articles


def test_another_seed_makes_other_articles(pools: Pools):
    fit = HeapsFit(50.0, 0.5, 1, 1)
    first, second = (
        [a["text"] for a in Generator(pools, fit, total=20, seed=seed).articles()]
        for seed in (1, 2)
    )
    assert first != second


def test_heaps_fit_recovers_a_known_law():
    """Texts whose vocabulary grows exactly as 2·n^0.6: the fit gives back K and β."""
    texts, seen, tokens = [], 0, 0
    for _ in range(1000):
        tokens += 1000
        target = int(2 * tokens**0.6)
        fresh = [letters(seen + i) for i in range(target - seen)]
        seen = target
        texts.append(" ".join(fresh + ["я"] * (1000 - len(fresh))))
    fit = heaps_fit(texts)
    assert fit.beta == pytest.approx(0.6, abs=0.01)
    assert fit.k == pytest.approx(2, rel=0.1)


def letters(number: int) -> str:
    """A word of Latin letters for each number (the words counted are runs of letters)."""
    word = ""
    while True:
        number, digit = divmod(number, 26)
        word += chr(ord("a") + digit)
        if not number:
            return word
