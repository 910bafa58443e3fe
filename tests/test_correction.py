"""Correction decisions on a small vocabulary held in a dict (fast tier).

The vocabulary stands for an index: how many articles hold each surface form, and
which forms stand together. Correction only ever asks it these questions
(``correction.Vocabulary``), so the decisions can be checked without an index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search.correction import (
    best_correction,
    correct_words,
    could_be_layout,
    from_latin_layout,
    prefer_layout,
    to_latin_layout,
)
from search.morphology import word_terms
from search.query import parse, plain_words


@dataclass
class DictVocabulary:
    """Surface form -> articles holding it; ``articles`` lists the forms of each article."""

    forms: dict[str, int]
    articles: list[set[str]] = field(default_factory=list)

    def frequency(self, form: str) -> int:
        return self.forms.get(form, 0)

    def frequencies(self, forms: list[str]) -> list[int]:
        return [self.forms.get(form, 0) for form in forms]

    def lemma_frequency(self, form: str) -> int:
        lemmas = set(word_terms(form))
        return sum(n for f, n in self.forms.items() if lemmas & set(word_terms(f)))

    def within_two(self, form: str) -> list[str]:
        return [f for f in self.forms if _distance(f, form) <= 2]

    def together(self, form: str, others: list[str]) -> int:
        wanted = [set(word_terms(w)) for w in [form, *others]]
        return sum(
            all(any(lemmas & set(word_terms(f)) for f in article) for lemmas in wanted)
            for article in self.articles
        )


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def correct(text: str, vocabulary: DictVocabulary):
    return correct_words(text, plain_words(parse(text).root), vocabulary)


NEWS = DictVocabulary(
    {"привет": 40, "мир": 300, "переговоры": 120, "министров": 80, "trump": 25, "nato": 12}
)


def test_layout_is_fixed_when_the_cyrillic_reading_is_a_word():
    assert could_be_layout("ghbdtn") and from_latin_layout("ghbdtn") == "привет"
    assert to_latin_layout("привет") == "ghbdtn"
    assert correct("ghbdtn vbh", NEWS).text == "привет мир"


def test_latin_words_the_index_holds_stay():
    assert not prefer_layout("trump", from_latin_layout("trump"), NEWS)
    assert correct("trump nato", NEWS).text is None


def test_a_typo_becomes_the_indexed_form_one_edit_away():
    assert correct("перговоры министров", NEWS).text == "переговоры министров"


def test_known_words_and_exact_or_prefix_words_are_left_alone():
    assert correct("переговоры", NEWS).text is None
    assert correct("!перговоры", NEWS).text is None
    assert correct("перговор*", NEWS).text is None


def test_the_other_query_words_choose_between_equally_near_corrections():
    vocabulary = DictVocabulary(
        {"хакера": 30, "хавьера": 60, "трампа": 200, "соланы": 20},
        [{"хакера", "трампа"}] * 5 + [{"хавьера", "соланы"}] * 8,
    )
    assert correct("хавера трампа", vocabulary).text == "хакера трампа"
    assert correct("хавера соланы", vocabulary).text == "хавьера соланы"


def test_short_words_are_never_corrected():
    assert best_correction("мн", NEWS.frequencies, NEWS.lemma_frequency, NEWS.within_two) is None


def test_a_rare_form_with_a_far_commoner_neighbour_is_only_offered():
    vocabulary = DictVocabulary({"переговоры": 500, "перегаворы": 1})
    fix = correct("перегаворы", vocabulary)
    assert fix.text is None
    assert fix.did_you_mean == "переговоры"
    # a neighbour not COMMON_RATIO times as common is not offered
    rarer = DictVocabulary({"переговоры": 50, "перегаворы": 1})
    assert correct("перегаворы", rarer).did_you_mean is None
