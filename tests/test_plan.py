"""The planner: plans stay small whatever the query (issue #11), and what is marked.

No index: ``expand_prefix`` is a plain function listing made-up lemmas, and the
synonyms are those of ``search/synonyms.txt``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.plan import MAX_TERMS, Plan, Planner, leaf_count
from search.query import MAX_ITEMS, parse
from search.snippets import MarkedPhrase
from search.synonyms import MAX_SYNONYMS, synonyms_of


def expand(field_name: str, prefix: str) -> list[str]:
    """A thousand lemmas for every prefix, as a big index has for a short one."""
    return [f"{prefix}{i:03d}" for i in range(1000)]


def plan(query: str) -> Plan:
    return Planner(expand).build(parse(query))


def leaves(built: Plan) -> int:
    """The Term leaves of every Whoosh query of the plan."""
    queries = [built.excluded, *(q for c in built.clauses for q in (c.match, c.also))]
    return sum(leaf_count(q) for q in queries if q is not None)


def pairs(built: Plan) -> int:
    """The (term, field) postings the plan scores."""
    return sum(len(w.terms) * len(w.fields) for c in built.clauses for w in c.words)


ABUSIVE = {
    "-сша ×200": ("-сша " * 200, "-сша"),
    "сша OR ×143": ("сша OR " * 143, "сша"),
    "(сша OR рф) ×83": ("(сша OR рф) " * 83, "(сша OR рф)"),
    "сша ×250": ("сша " * 250, "сша"),
    "-сша ×20": ("-сша " * 20, "-сша"),
}


@pytest.mark.parametrize("name", ABUSIVE)
def test_the_abusive_queries_of_issue_11_plan_as_the_query_said_once(name):
    """These took 2 to 45 seconds on the shared corpus: 250 clauses, or an OR of 200
    copies of a query with three synonym phrases."""
    abusive, once = ABUSIVE[name]
    built, single = plan(abusive), plan(once)
    assert leaves(built) == leaves(single) <= 40 and pairs(built) == pairs(single) <= 40
    assert built.clauses == single.clauses and built.excluded == single.excluded
    assert built.dropped == []


def test_normal_queries_keep_every_word_and_synonym():
    built = plan("сша россия переговоры министров")
    assert len(built.clauses) == 4 and built.dropped == []
    usa = built.clauses[0]
    assert len(usa.words) == 1 + 2 + 3 + 1  # сша, соединённые штаты (америки), америка


def test_clauses_beyond_the_cap_are_dropped_and_listed():
    words = [f"слово{i}" for i in range(MAX_ITEMS + 5)]
    built = plan(" ".join(words))
    assert len(built.clauses) == MAX_ITEMS
    assert built.dropped == words[MAX_ITEMS:]


def test_prefixes_share_the_term_budget():
    built = plan("нато* росс* мин* аб*")
    assert leaves(built) <= MAX_TERMS and pairs(built) <= MAX_TERMS
    kept = [c.words[0].terms[0] for c in built.clauses]
    assert kept == ["нато000", "росс000"]  # the second with fewer expansions
    assert len(built.clauses[1].words[0].terms) < len(built.clauses[0].words[0].terms)
    assert built.dropped == ["мин*", "аб*"]
    assert not any(t.startswith(("мин", "аб")) for t in built.highlight_terms)


def test_synonyms_give_way_before_words():
    """A word with synonyms near the end of a long query is searched without them."""
    words = "сша рф мид оон ес нато цб кнр фрг мвд фсб рпц вто оэср мок вада ввп днр лнр"
    built = plan(f"аа* {words}")  # the prefix takes 300 terms
    assert leaves(built) <= MAX_TERMS and pairs(built) <= MAX_TERMS
    assert built.dropped == []
    assert len(built.clauses) == 1 + len(words.split())
    assert any(len(c.words) == 1 for c in built.clauses[1:])  # some left without synonyms


def test_an_exclusion_over_the_budget_is_dropped_and_listed():
    built = plan("аа* бб* -вв*")
    assert built.dropped == ["-вв*"]  # бб* has the room left for 70 lemmas
    assert leaves(built) <= MAX_TERMS and built.excluded is None


def test_a_token_of_many_words_counts_each_once():
    built = plan("/".join(["сша"] * 200))
    assert pairs(built) == pairs(plan("сша"))
    many = plan("/".join(f"слово{i}" for i in range(MAX_ITEMS + 2)))
    assert len(many.clauses[0].words) == MAX_ITEMS and len(many.dropped) == 2


def test_a_long_phrase_is_cut_to_max_items_words():
    words = [f"слово{i}" for i in range(MAX_ITEMS + 4)]
    built = plan('"' + " ".join(words) + '"')
    assert len(built.clauses[0].words) == MAX_ITEMS
    assert built.dropped == [" ".join(words[MAX_ITEMS:])]


def test_synonyms_per_word_are_capped(tmp_path):
    groups = tmp_path / "synonyms.txt"
    groups.write_text("ес = " + " = ".join(f"союз номер {i}" for i in range(20)) + "\n")
    found = synonyms_of("ес", groups)
    assert len(found) == MAX_SYNONYMS and found[0] == "союз номер 0"


# -- highlighting ----------------------------------------------------------------------


def test_a_synonym_phrase_is_marked_as_a_phrase_only():
    """Marking the words of «Российская Федерация» alone marked «Совета Федерации»."""
    built = plan("россия")
    assert built.highlight_terms == {"россия", "рф"}
    assert built.highlight_phrases == [
        MarkedPhrase((frozenset({"российский"}), frozenset({"федерация"})))
    ]


def test_a_quoted_phrase_is_marked_as_a_phrase_with_its_slop():
    built = plan('"переговоры министров"~3')
    assert built.highlight_terms == set()
    assert built.highlight_phrases == [
        MarkedPhrase((frozenset({"переговоры"}), frozenset({"министр"})), 3)
    ]
    assert plan('"переговоры"').highlight_terms == {"переговоры"}


def test_excluded_and_dropped_items_are_not_marked():
    built = plan("нефть -газ")
    assert built.highlight_terms == {"нефть"}


# -- any query ---------------------------------------------------------------------------

WORDS = ["сша", "США", "рф", "россия", "мид", "оон", "нато*", "!сша", "title:сша", "нефть",
         "газ", "россия/сша", "ёлка", "рос*", "е", "соединенные штаты"]  # fmt: skip
OPERATORS = [" ", " ", " OR ", " | ", " ИЛИ ", " И ", " НЕ ", " AND ", " NOT ", " -", " +",
             " (", ") ", ' "', '" ', '"~3 ']  # fmt: skip
pieces = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(OPERATORS)), max_size=60)
queries = st.builds(
    lambda stretch, times: "".join(w + o for w, o in stretch * times)[:1000],
    pieces,
    st.integers(min_value=1, max_value=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_every_plan_is_bounded(query):
    built = plan(query)
    assert leaves(built) <= MAX_TERMS
    assert pairs(built) <= MAX_TERMS
    assert len(built.clauses) <= MAX_ITEMS
    assert len(built.plain_units) <= MAX_ITEMS
