"""The analyzer: tokens, offsets, normalization and lemmas."""

import re
from pathlib import Path

import pytest

from search import morphology
from search.analysis import RussianAnalyzer, analyze
from search.correction import edits1
from search.morphology import word_terms
from search.normalize import normalize_word

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def words(text: str) -> list[tuple[int, str]]:
    return [(w.pos, w.surface) for w in analyze(text)]


def test_offsets_point_at_the_words_as_written():
    text = "В Санкт-Петербурге прошли Переговоры."
    for word in analyze(text):
        assert normalize_word(text[word.start : word.end]) == word.surface


def test_hyphenated_words_are_whole_and_in_parts_at_positions_of_their_parts():
    assert words("северо-западный ветер") == [
        (0, "северо-западный"),
        (0, "северо"),
        (1, "западный"),
        (2, "ветер"),
    ]
    surfaces = [s for _, s in words("Ростов-на-Дону")]
    assert surfaces == ["ростов-на-дону", "ростов", "на", "дону"]


@pytest.mark.parametrize("token", ["с-400", "covid-19", "5g", "2026"])
def test_tokens_with_digits_survive(token):
    assert token in [s for _, s in words(f"Про {token.upper()} и прочее")]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Cостоялся", "состоялся"),  # Latin C among Cyrillic letters
        ("Microsоft", "microsoft"),  # Cyrillic о among Latin letters
        ("Ёлка", "елка"),
        ("приве\u0301т", "привет"),  # stress mark
        ("ко\u00adшка", "кошка"),  # soft hyphen
        ("ко\u200bшка", "кошка"),  # zero-width space
        ("е\u0308ж", "еж"),  # decomposed ё
    ],
)
def test_normalization(raw, normal):
    assert normalize_word(raw) == normal


@pytest.mark.parametrize(
    ("forms", "lemma"),
    [
        (["людей", "человек", "людям", "люди"], "человек"),
        (["переговоры", "переговорах", "переговоров"], "переговоры"),
        (["пошел", "пойти", "пошла"], "пойти"),
        (["россия", "россии", "россией"], "россия"),
    ],
)
def test_every_form_shares_a_lemma(forms, lemma):
    for form in forms:
        assert lemma in word_terms(form), form


def test_unknown_surnames_join_across_forms():
    forms = ["кошербаев", "кошербаева", "кошербаеву", "кошербаевым", "кошербаевой"]
    shared = set(word_terms(forms[0]))
    for form in forms[1:]:
        shared &= set(word_terms(form))
    assert shared


def test_ambiguous_words_index_every_reading():
    assert {"сталь", "стать"} <= set(word_terms("стали"))


def test_latin_words_get_their_english_stem():
    assert "iphon" in word_terms("iphones")


def test_whoosh_analyzer_yields_all_readings_at_one_position():
    tokens = [(t.text, t.pos) for t in RussianAnalyzer()("стали людьми", positions=True)]
    assert ("сталь", 0) in tokens and ("стать", 0) in tokens and ("человек", 1) in tokens


def test_compounds_unknown_to_the_dictionary_join_across_forms():
    assert word_terms("женщиной-арбитром") == word_terms("женщина-арбитр")


def test_fast_dictionary_walk_agrees_with_pymorphy():
    """Our DAWG walk gives the normal forms that pymorphy3's own parse gives, for every known
    word of the seed article and for words needing its ё substitution."""
    text = " ".join(path.read_text(encoding="utf-8") for path in SEEDS.glob("*.txt"))
    words = {w.lower().replace("ё", "е") for w in re.findall(r"[а-яё]+", text, re.I)}
    words |= {"людей", "елки", "ежи", "все", "шел", "еще", "берез"}
    morph = morphology.morph_analyzer()
    known = sorted(w for w in words if morph.word_is_known(w))
    assert len(known) > 150
    for word in known:
        expected = {p.normal_form.replace("ё", "е") for p in morph.parse(word) if p.is_known}
        assert set(morphology._dictionary_lemmas(word)) == expected, word
    # is_known, asked of every spelling candidate, on words and non-words one edit away
    candidates = {c for word in known[:30] for c in edits1(word)}
    assert {c for c in candidates if morphology.is_known(c)} == {
        c for c in candidates if morph.word_is_known(c)
    }


@pytest.mark.parametrize(
    "forms", [("байден", "байдене"), ("брексит", "брекситами"), ("пхенчхан", "пхенчхане")]
)
def test_forms_of_unknown_words_meet_at_query_time(forms):
    """Snowball stems these pairs apart (байд / байден); a query word is also searched by the
    stems of its guessed paradigm, so each form finds what the other is indexed under."""
    first, second = forms
    assert not set(word_terms(first)) & set(word_terms(second))  # why query_terms exists
    assert set(morphology.query_terms(first)) & set(word_terms(second))
    assert set(morphology.query_terms(second)) & set(word_terms(first))


def test_query_terms_of_dictionary_words_are_their_lemmas():
    assert morphology.query_terms("людей") == word_terms("людей") == ("человек",)


def test_threads_stem_words_at_once_without_corrupting_each_other():
    """Snowball stemmers keep their word in themselves: shared by threads (an update and a
    background merge, a server's request threads) they stemmed wrong or raised IndexError."""
    import sys
    import threading

    from search import morphology

    stems = ("жетыбаев", "брексит", "пхенчхан", "квятковск")
    endings = ("", "а", "ом", "ыми", "ского")
    words = [stem + ending for stem in stems for ending in endings] + ["running", "stations"]
    expected = {word: morphology._compute_terms(word) for word in words}
    failures: list[str] = []

    def stem_all() -> None:
        try:
            for _ in range(300):
                for word in words:
                    if morphology._compute_terms(word) != expected[word]:
                        failures.append(word)
        except Exception as error:  # noqa: BLE001 - what the other thread broke
            failures.append(repr(error))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=stem_all) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
