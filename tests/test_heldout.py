"""The held-out query generator (``benchmarks.heldout``): a few queries of each kind made from
the shared corpus, checked against the recipe of ``../shared/eval/README.md``.

Needs the shared corpus and judgements (``../shared`` next to the project), else the module is
skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.evaluate import load_corpus, load_judgements
from benchmarks.heldout import KINDS, TOPICAL_SIZES, lead_text, main, tag_counts, topical, words
from search.correction import from_latin_layout
from search.morphology import morph_analyzer
from search.normalize import normalize_word

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
JUDGEMENTS = SHARED / "eval" / "known-item.jsonl"
TOPICAL = SHARED / "eval" / "topical.jsonl"

if not (CORPUS.is_dir() and any(CORPUS.glob("*.jsonl.gz")) and JUDGEMENTS.is_file()):
    pytest.skip(
        f"shared corpus and judgements not found under {SHARED.resolve()}; "
        "a fresh clone has no ../shared",
        allow_module_level=True,
    )

PER_KIND = 5
SEED = 7
CYRILLIC_QUERY = re.compile("[а-яё]+(?:-[а-яё]+)*(?: [а-яё]+(?:-[а-яё]+)*)*")


def run_generator(out: Path) -> list[dict]:
    args = ["--seed", str(SEED), "--per-kind", str(PER_KIND), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("heldout") / "heldout.jsonl"
    return out, run_generator(out)


@pytest.fixture(scope="module")
def articles() -> dict[str, dict]:
    return {article["id"]: article for article in load_corpus(CORPUS)}


def by_kind(judgements: list[dict], kind: str) -> list[dict]:
    return [j for j in judgements if j["kind"] == kind]


def title_forms(title: str) -> set[str]:
    """Every title word and every form of its lexeme (likeliest parse)."""
    forms = set()
    for word in words(title):
        forms.add(word)
        forms.update(f.word for f in morph_analyzer().parse(word)[0].lexeme)
    return forms


def one_edit(typo: str, word: str) -> bool:
    """True when ``typo`` is ``word`` with one letter dropped, two neighbours swapped, or one
    letter replaced."""
    if len(typo) == len(word) - 1:
        return any(word[:i] + word[i + 1 :] == typo for i in range(len(word)))
    if len(typo) != len(word):
        return False
    diff = [i for i in range(len(word)) if typo[i] != word[i]]
    if len(diff) == 1:
        return True
    i = diff[0] if len(diff) == 2 else -1
    return diff == [i, i + 1] and typo[i] == word[i + 1] and typo[i + 1] == word[i]


def assert_inflected(query: str, title: str) -> None:
    """Every word is a form of a title word, and some word is not as the title has it."""
    query_words = query.split()
    assert 2 <= len(query_words) <= 4, query
    assert CYRILLIC_QUERY.fullmatch(query), query
    forms = title_forms(title)
    assert all(w in forms for w in query_words), (query, title)
    assert not set(query_words) <= set(words(title)), (query, title)


def test_shape_and_articles(generated: tuple[Path, list[dict]]) -> None:
    _, judgements = generated
    assert [j["kind"] for j in judgements] == [k for k in KINDS for _ in range(PER_KIND)]
    for kind in KINDS:
        assert [j["qid"] for j in by_kind(judgements, kind)] == [
            f"{kind}-{n}" for n in range(1, PER_KIND + 1)
        ]
    for judgement in judgements:
        assert list(judgement) == ["qid", "kind", "query", "relevant"]
        assert len(judgement["relevant"]) == 1
        assert judgement["query"] == judgement["query"].lower().strip()
    ids = [j["relevant"][0] for j in judgements]
    assert len(set(ids)) == len(ids), "an article is used twice"
    shared_ids = {rid for j in load_judgements(JUDGEMENTS) for rid in j["relevant"]}
    assert not shared_ids.intersection(ids), "an article of the shared judgements is used"


def test_inflected(generated, articles) -> None:
    for judgement in by_kind(generated[1], "inflected"):
        assert_inflected(judgement["query"], articles[judgement["relevant"][0]]["title"])


def test_lead(generated, articles) -> None:
    for judgement in by_kind(generated[1], "lead"):
        article = articles[judgement["relevant"][0]]
        query_words = judgement["query"].split()
        assert 3 <= len(query_words) <= 5, judgement
        assert CYRILLIC_QUERY.fullmatch(judgement["query"]), judgement
        lead_lemmas = {morph_analyzer().parse(w)[0].normal_form for w in words(lead_text(article))}
        title_lemmas = {
            normalize_word(p.normal_form)
            for w in words(article["title"])
            for p in morph_analyzer().parse(w)
        }
        for word in query_words:
            assert word in lead_lemmas, (word, lead_text(article))
            assert normalize_word(word) not in title_lemmas, (word, article["title"])


def test_yo(generated, articles) -> None:
    for judgement in by_kind(generated[1], "yo"):
        query, title = judgement["query"], articles[judgement["relevant"][0]]["title"].lower()
        assert "ё" not in query and "ё" in title, judgement
        title_words = words(title)
        typed = {w.replace("ё", "е"): w for w in title_words}
        query_words = query.split()
        assert 2 <= len(query_words) <= 3, judgement
        assert all(w in typed for w in query_words), (query, title)
        assert any("ё" in typed[w] for w in query_words), (query, title)


def test_layout(generated, articles) -> None:
    for judgement in by_kind(generated[1], "layout"):
        query = judgement["query"]
        assert query.isascii() and re.search("[a-z]", query), judgement
        cyrillic = from_latin_layout(query)
        assert_inflected(cyrillic, articles[judgement["relevant"][0]]["title"])


def test_typo(generated, articles) -> None:
    for judgement in by_kind(generated[1], "typo"):
        query_words = judgement["query"].split()
        assert 2 <= len(query_words) <= 4, judgement
        forms = title_forms(articles[judgement["relevant"][0]]["title"])
        unknown = [w for w in query_words if w not in forms]
        assert len(unknown) <= 1, (judgement, unknown)
        # The typo may happen to make another form ("стали" -> "стал"): then any word may be it.
        candidates = unknown or query_words
        assert any(one_edit(w, form) for w in candidates for form in forms), judgement


def test_same_seed_same_file(generated: tuple[Path, list[dict]], tmp_path: Path) -> None:
    out, _ = generated
    again = tmp_path / "again.jsonl"
    run_generator(again)
    assert again.read_bytes() == out.read_bytes()


def test_topical_tags_are_other_tags_with_all_their_articles(articles, tmp_path) -> None:
    shared = [json.loads(line) for line in TOPICAL.read_text(encoding="utf-8").splitlines()]
    shared_tags = {j["query"] for j in shared}
    made = topical(list(articles.values()), 50, seed=SEED, exclude=shared_tags)
    assert len(made) == 50 and len({j["query"] for j in made}) == 50
    tagged = tag_counts(articles.values())
    for judgement in made:
        tag = judgement["query"]
        assert tag not in shared_tags and re.search("[а-яё]", tag) and "rt" not in tag.split()
        assert TOPICAL_SIZES[0] <= len(judgement["relevant"]) <= TOPICAL_SIZES[1]
        assert judgement["relevant"] == tagged[tag]
    assert topical(list(articles.values()), 50, seed=SEED, exclude=shared_tags) == made
    # The shared file's tags are made by the same recipe.
    assert all(TOPICAL_SIZES[0] <= len(tagged[j["query"]]) <= TOPICAL_SIZES[1] for j in shared)


def test_topical_file_from_the_command_line(tmp_path) -> None:
    out, topical_out = tmp_path / "k.jsonl", tmp_path / "t.jsonl"
    args = ["--per-kind", "1", "--out", str(out), "--topical-out", str(topical_out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    made = [json.loads(line) for line in topical_out.read_text(encoding="utf-8").splitlines()]
    assert len(made) == 300 and all(j["kind"] == "topical" for j in made)
