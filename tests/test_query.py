"""The parser: repeated items count once, levels are capped, and the Yandex operators
ИЛИ / И / НЕ (and AND / NOT) are operators in capitals only. No index is needed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.query import (
    MAX_ITEMS,
    AnyOf,
    Excluded,
    Group,
    Phrase,
    Required,
    Word,
    describe,
    node_key,
    parse,
)


def items(text: str) -> list:
    return parse(text).root.items


# -- repeats and caps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("сша " * 250, [Word("сша")]),
        ("-сша " * 200, [Excluded(Word("сша"))]),
        ("сша OR " * 143, [Word("сша")]),
        ("(сша OR рф) " * 83, [Group([AnyOf([Word("сша"), Word("рф")])])]),
        ('"переговоры министров" ' * 40, [Phrase("переговоры министров")]),
    ],
)
def test_the_abusive_queries_of_issue_11_are_one_item(query, expected):
    assert items(query) == expected
    assert parse(query).dropped == []


def test_repeats_are_the_same_item_in_any_case_and_order():
    assert items("США сша Сша") == [Word("США")]
    assert items("ёлка елка") == [Word("ёлка")]
    assert items("(нефть газ) (газ нефть)") == [Group([Word("нефть"), Word("газ")])]
    assert items("путин OR трамп OR путин") == [AnyOf([Word("путин"), Word("трамп")])]
    assert items("(а б) OR (б а)") == [Group([Word("а"), Word("б")])]


def test_different_items_are_kept_apart():
    """An exact form, a prefix, a required word, a field and a phrase are not the word."""
    query = 'сша !сша сша* +сша -сша title:сша "сша" "сша"~3'
    assert len(items(query)) == 8


def test_an_or_keeps_binding_its_two_neighbours():
    """Repeats go after OR has taken its neighbours: "a a OR b" is a, and a or b."""
    assert items("нефть нефть OR газ") == [Word("нефть"), AnyOf([Word("нефть"), Word("газ")])]


def test_a_level_keeps_max_items_and_lists_the_rest_as_dropped():
    words = [f"слово{i}" for i in range(MAX_ITEMS + 8)]
    parsed = parse(" ".join(words))
    assert [w.text for w in parsed.root.items] == words[:MAX_ITEMS]
    assert parsed.dropped == words[MAX_ITEMS:]


def test_exclusions_are_counted_apart():
    words = [f"сл{i}" for i in range(MAX_ITEMS)]  # short: the query stays under 1,000 chars
    parsed = parse(" ".join(words + ["-" + w for w in words]))
    assert len(parsed.root.items) == 2 * MAX_ITEMS and parsed.dropped == []


def test_alternatives_of_an_or_are_capped():
    words = [f"слово{i}" for i in range(MAX_ITEMS + 3)]
    parsed = parse(" OR ".join(words))
    (anyof,) = parsed.root.items
    assert len(anyof.items) == MAX_ITEMS and parsed.dropped == words[MAX_ITEMS:]


def test_an_unbalanced_quote_of_repeats_is_one_word():
    assert items('"сша ' + "сша " * 200) == [Group([Word("сша")])]


def test_filters_after_the_cap_still_apply():
    parsed = parse(" ".join(f"слово{i}" for i in range(50)) + " source:RT date:2018")
    assert parsed.filters == {"source": "RT"} and parsed.date_from is not None


# -- ИЛИ, И, НЕ, AND, NOT ------------------------------------------------------------------


@pytest.mark.parametrize("operator", ["ИЛИ", "OR", "|"])
def test_or_operators(operator):
    assert items(f"путин {operator} трамп") == [AnyOf([Word("путин"), Word("трамп")])]


@pytest.mark.parametrize("operator", ["И", "AND"])
def test_and_operators_join_words_as_a_space_does(operator):
    assert items(f"путин {operator} трамп") == items("путин трамп")
    assert items(f"(нефть {operator} газ) OR уголь") == items("(нефть газ) OR уголь")


@pytest.mark.parametrize("operator", ["НЕ", "NOT"])
def test_not_operators_exclude_the_next_item(operator):
    assert items(f"нефть {operator} газ") == items("нефть -газ")
    oil = Word("нефть")
    assert items(f"нефть {operator} (газ уголь)") == [
        oil,
        Excluded(Group([Word("газ"), Word("уголь")])),
    ]
    assert items(f'нефть {operator} "сланцевый газ"') == [oil, Excluded(Phrase("сланцевый газ"))]
    assert items(f"нефть {operator} +газ") == items(f"нефть {operator} -газ") == items("нефть -газ")


def test_lowercase_and_capitalized_operator_words_are_words():
    assert items("всё или ничего") == [Word("всё"), Word("или"), Word("ничего")]
    assert items("он не пришёл и") == [Word("он"), Word("не"), Word("пришёл"), Word("и")]
    assert items("Или Не И") == [Word("Или"), Word("Не"), Word("И")]


def test_a_leading_or_trailing_и_is_a_word():
    """«Ван И» is a name: И only stands for AND between two items."""
    assert items("Ван И") == [Word("Ван"), Word("И")]
    assert items("И Ван") == [Word("И"), Word("Ван")]
    assert items("(Ван И) OR Лавров") == [AnyOf([Group([Word("Ван"), Word("И")]), Word("Лавров")])]


def test_a_not_before_a_filter_negates_nothing_after_it():
    parsed = parse("НЕ source:RT путин")
    assert parsed.root.items == [Word("путин")] and parsed.filters == {"source": "RT"}


def test_a_lone_not_is_ignored():
    assert items("НЕ") == [] and items("путин НЕ") == [Word("путин")]


def test_operators_inside_quotes_are_words_of_the_phrase():
    assert items('"быть ИЛИ НЕ быть"') == [Phrase("быть ИЛИ НЕ быть")]


# -- describe: the text of a dropped item ------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["!переговорах", "нато*", "title:путин", '"переговоры министров"~3', "+мир", "-война",
     "путин OR трамп", "(россия сша)", 'title:"совет федерации"'],
)  # fmt: skip
def test_describe_gives_back_the_query_text(query):
    (item,) = items(query)
    assert describe(item) == query
    assert items(describe(item)) == [item]


words = st.sampled_from(["сша", "США", "рф", "нефть", "газ", "ёлка", "елка", "И", "НЕ"])
operators = st.sampled_from([" ", " OR ", " ИЛИ ", " И ", " НЕ ", " -", " +", " (", ") ", '"'])


@given(st.lists(st.tuples(words, operators), max_size=200))
def test_every_level_is_bounded_and_free_of_repeats(pieces):
    parsed = parse("".join(word + operator for word, operator in pieces))

    def check(node) -> None:
        if isinstance(node, Required | Excluded):
            check(node.item)
        if isinstance(node, AnyOf):
            alternatives = [node_key(i) for i in node.items]
            assert 1 < len(alternatives) == len(set(alternatives)) <= MAX_ITEMS
        if isinstance(node, Group):
            keys = [node_key(item) for item in node.items]
            assert len(keys) == len(set(keys))
            excluded = sum(isinstance(item, Excluded) for item in node.items)
            assert excluded <= MAX_ITEMS and len(keys) - excluded <= MAX_ITEMS
        for item in getattr(node, "items", []):
            check(item)

    check(parsed.root)
