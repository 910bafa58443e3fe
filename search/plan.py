"""From a parsed query to a search plan: what to score, and what Whoosh must match.

Each top-level item of the query becomes a clause. A clause scores by the lemma
terms of its words (any reading, in the title, lead or text); plain words match by
their postings alone, while phrases, alternatives, groups and multi-word synonyms
carry a Whoosh query that decides which documents match.

A plan is kept small: every Whoosh term (a word's reading, in one field, for the word
or one of its synonyms) costs a pass over its postings, and a 1,000-character query
could otherwise ask for thousands of them. The plan holds at most MAX_TERMS of them;
a word's synonyms are left out first when room runs short, then whole items, which
``Plan.dropped`` lists so that the user can be told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from whoosh import query as wq

from search.analysis import Word as Unit
from search.analysis import analyze
from search.morphology import query_terms
from search.query import (
    MAX_ITEMS,
    AnyOf,
    Excluded,
    Node,
    ParsedQuery,
    Phrase,
    Required,
    Word,
    describe,
)
from search.snippets import MarkedPhrase
from search.synonyms import synonyms_of

FIELD_BOOSTS = {"title": 3.0, "summary": 1.5, "text": 1.0}
SYNONYM_WEIGHT = 0.8
PREFIX_EXPANSION = 100
MAX_TERMS = 512  # Whoosh Term leaves of a whole plan (a plain word takes 3, "сша" 21)


@dataclass(frozen=True)
class WordTerms:
    """One word to score: its terms (alternative readings) and the fields they count in."""

    terms: tuple[str, ...]
    fields: tuple[str, ...]
    weight: float = 1.0
    matches: bool = True  # False: scored when present, but not a match on its own


@dataclass
class Clause:
    words: list[WordTerms]
    match: wq.Query | None  # None: the postings of the matching words decide
    required: bool = False
    also: wq.Query | None = None  # further matches, when ``match`` is None (synonym phrases)
    text: str = ""  # the item as query text, to tell which words an article lacks


@dataclass
class Highlights:
    """What to mark: lemma terms and exact forms anywhere, phrases where they stand whole."""

    terms: set[str] = field(default_factory=set)
    surfaces: set[str] = field(default_factory=set)
    phrases: list[MarkedPhrase] = field(default_factory=list)

    def update(self, other: Highlights) -> None:
        self.terms |= other.terms
        self.surfaces |= other.surfaces
        self.phrases.extend(p for p in other.phrases if p not in self.phrases)


@dataclass
class Plan:
    clauses: list[Clause] = field(default_factory=list)
    excluded: wq.Query | None = None
    plain_units: list[Unit] = field(default_factory=list)  # for exact-form and proximity bonuses
    highlight_terms: set[str] = field(default_factory=set)
    highlight_surfaces: set[str] = field(default_factory=set)
    # Multi-word synonyms and quoted phrases: their words are marked only together.
    highlight_phrases: list[MarkedPhrase] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # items not searched (over the caps)

    @property
    def empty(self) -> bool:
        return not self.clauses


def leaf_count(query: wq.Query) -> int:
    """The terms a Whoosh query reads."""
    return sum(1 for _ in query.leaves())


def query_units(text: str) -> list[Unit]:
    """The words of a query token, a hyphenated word whole (not also its parts)."""
    units: list[Unit] = []
    for unit in analyze(text):
        if units and unit.start >= units[-1].start and unit.end <= units[-1].end:
            continue
        units.append(_searched(unit))
    return units


def phrase_units(text: str) -> list[Unit]:
    """The words of a phrase; a hyphenated word by its parts, which hold the positions."""
    units = list(analyze(text))
    if not units:  # a phrase of punctuation alone ('"="')
        return []
    return [
        _searched(unit)
        for unit, following in zip(units, [*units[1:], None], strict=True)
        if not (following and following.start == unit.start and following.end < unit.end)
    ]


def _searched(unit: Unit) -> Unit:
    """A query word with the terms it is searched by (more than it is indexed by, for
    words the dictionary lacks)."""
    return unit._replace(terms=query_terms(unit.surface))


class _OverBudget(Exception):
    """The item being planned would take the plan over MAX_TERMS."""


class Planner:
    """Compiles a parsed query; ``expand_prefix(field, prefix)`` lists indexed terms."""

    def __init__(self, expand_prefix: Callable[[str, str], list[str]]):
        self.expand_prefix = expand_prefix
        self.plan = Plan()
        self.spent = 0  # Term leaves of the plan so far
        self.marks = Highlights()  # of the item being planned, kept if the item is

    def build(self, parsed: ParsedQuery) -> Plan:
        """The plan of a query: a clause per item, the exclusions in one query."""
        self.plan.dropped.extend(parsed.dropped)
        excluded: list[wq.Query] = []
        kept = Highlights()
        for item in parsed.root.items:
            planned = self.item(item)
            if planned is None:
                continue
            query, words = planned
            kept.update(self.marks)
            if isinstance(item, Excluded):
                excluded.append(query)
                continue
            required = isinstance(item, Required)
            node = item.item if required else item
            text = describe(node)
            if isinstance(node, Word):
                also = _synonym_phrases(query)
                self.plan.clauses.append(Clause(words, None, required, also, text))
            else:
                self.plan.clauses.append(Clause(words, query, required, text=text))
            if isinstance(node, Word) and not node.exact and not node.prefix:
                self.plan.plain_units.extend(query_units(node.text)[:1])
        if excluded:
            self.plan.excluded = wq.Or(excluded) if len(excluded) > 1 else excluded[0]
        self.plan.highlight_terms = kept.terms
        self.plan.highlight_surfaces = kept.surfaces
        self.plan.highlight_phrases = kept.phrases
        return self.plan

    def item(self, item: Node) -> tuple[wq.Query, list[WordTerms]] | None:
        """One top-level item planned, or None: nothing to search, or no room left
        (then the item is listed as dropped)."""
        spent, dropped, self.marks = self.spent, len(self.plan.dropped), Highlights()
        try:
            if isinstance(item, Excluded):
                query, words = self.node(item.item, highlight=False)
            else:
                query, words = self.node(item.item if isinstance(item, Required) else item)
        except _OverBudget:
            self.spent = spent
            del self.plan.dropped[dropped:]  # the parts of it dropped so far
            self.plan.dropped.append(describe(item))
            return None
        return None if query is None else (query, words)

    def spend(self, query: wq.Query) -> wq.Query:
        """Count a query's terms against the budget; _OverBudget when they do not fit."""
        leaves = leaf_count(query)
        if self.spent + leaves > MAX_TERMS:
            raise _OverBudget
        self.spent += leaves
        return query

    # -- nodes ---------------------------------------------------------------------

    def node(self, node: Node, highlight: bool = True) -> tuple[wq.Query | None, list[WordTerms]]:
        if isinstance(node, Word):
            return self.word(node, highlight)
        if isinstance(node, Phrase):
            return self.phrase(node.text, node.slop, node.field, highlight)
        if isinstance(node, Required):
            return self.node(node.item, highlight)
        if isinstance(node, Excluded):
            query, _ = self.node(node.item, highlight=False)
            return (wq.Not(query) if query is not None else None), []
        parts = [self.node(item, highlight) for item in node.items]
        queries = [q for q, _ in parts if q is not None]
        words = [w for _, ws in parts for w in ws]
        if not queries:
            return None, []
        if len(queries) == 1:
            return queries[0], words
        if isinstance(node, AnyOf):
            return wq.Or(queries), words
        return wq.And(queries), words  # parentheses: all of the words inside

    def word(self, word: Word, highlight: bool) -> tuple[wq.Query | None, list[WordTerms]]:
        units = query_units(word.text)
        if not units:
            return None, []
        if len(units) > 1:
            return self.compound(word, units, highlight)
        unit = units[0]
        fields = (word.field,) if word.field else tuple(FIELD_BOOSTS)
        if word.exact:
            if highlight:
                self.marks.surfaces.add(unit.surface)
            query = self.spend(wq.Term("exact", unit.surface))
            return query, [WordTerms((unit.surface,), ("exact",))]
        if word.prefix:
            return self.prefix(unit, fields, highlight)
        if highlight:
            self.marks.terms.update(unit.terms)
        query = self.spend(_lemma_query(unit.terms, fields))
        words = [WordTerms(unit.terms, fields)]
        if word.field is None:
            alternatives = self.synonyms(word.text, words, highlight)
            if alternatives:
                query = wq.Or([query, *alternatives])
        return query, words

    def compound(
        self, word: Word, units: list[Unit], highlight: bool
    ) -> tuple[wq.Query | None, list[WordTerms]]:
        """Several words in one token ("россия/сша"), all of them wanted, each once."""
        unique = list({unit.surface: unit for unit in units}.values())
        self.plan.dropped.extend(unit.surface for unit in unique[MAX_ITEMS:])
        parts = [
            self.word(Word(u.surface, word.exact, False, word.field), highlight)
            for u in unique[:MAX_ITEMS]
        ]
        queries = [q for q, _ in parts if q is not None]
        query = queries[0] if len(queries) == 1 else wq.And(queries)
        return query, [w for _, ws in parts for w in ws]

    def prefix(
        self, unit: Unit, fields: tuple[str, ...], highlight: bool
    ) -> tuple[wq.Query | None, list[WordTerms]]:
        """The commonest lemmas starting so, as many as the budget leaves room for."""
        room = (MAX_TERMS - self.spent) // len(fields)
        if room < 1:
            raise _OverBudget
        terms = tuple(self.expand_prefix(fields[0], unit.surface)[: min(PREFIX_EXPANSION, room)])
        if not terms:
            return None, []
        if highlight:
            self.marks.terms.update(terms)
        return self.spend(_lemma_query(terms, fields)), [WordTerms(terms, fields)]

    def synonyms(self, text: str, words: list[WordTerms], highlight: bool) -> list[wq.Query]:
        """The queries of a word's synonyms, each one that fits in the budget; their words
        are added to ``words``."""
        fields = tuple(FIELD_BOOSTS)
        alternatives = []
        for synonym in synonyms_of(text):
            units = phrase_units(synonym)
            if not units:
                continue
            query = _phrase_query(units, 1, fields)
            if self.spent + leaf_count(query) > MAX_TERMS:
                continue  # the word itself is searched; its synonyms as room allows
            alternatives.append(self.spend(query))
            # A one-word synonym matches by its postings; the words of a longer
            # one only count where the phrase matches.
            single = len(units) == 1
            words.extend(WordTerms(u.terms, fields, SYNONYM_WEIGHT, matches=single) for u in units)
            if highlight:
                self.mark_phrase(units, 1)
        return alternatives

    def phrase(
        self, text: str, slop: int, field_name: str | None, highlight: bool
    ) -> tuple[wq.Query | None, list[WordTerms]]:
        units = phrase_units(text)
        if not units:
            return None, []
        if len(units) > MAX_ITEMS:
            self.plan.dropped.append(" ".join(unit.surface for unit in units[MAX_ITEMS:]))
            units = units[:MAX_ITEMS]
        fields = (field_name,) if field_name else tuple(FIELD_BOOSTS)
        query = self.spend(_phrase_query(units, slop, fields))
        if highlight:
            self.mark_phrase(units, slop)
        return query, [WordTerms(u.terms, fields) for u in units]

    def mark_phrase(self, units: list[Unit], slop: int) -> None:
        """A word alone is marked in any form; the words of a phrase only together."""
        if len(units) == 1:
            self.marks.terms.update(units[0].terms)
            return
        phrase = MarkedPhrase(tuple(frozenset(u.terms) for u in units), slop)
        if phrase not in self.marks.phrases:
            self.marks.phrases.append(phrase)


def _phrase_query(units: list[Unit], slop: int, fields: tuple[str, ...]) -> wq.Query:
    if len(units) == 1:
        return _lemma_query(units[0].terms, fields)
    per_field = [wq.Sequence([_alternatives(f, u.terms) for u in units], slop=slop) for f in fields]
    return wq.Or(per_field) if len(per_field) > 1 else per_field[0]


def _synonym_phrases(query: wq.Query) -> wq.Query | None:
    """The multi-word synonym phrases of a word's query, which postings alone cannot match."""
    if not isinstance(query, wq.Or):
        return None
    phrases = [q for q in query.subqueries if _is_phrase(q)]
    if not phrases:
        return None
    return wq.Or(phrases) if len(phrases) > 1 else phrases[0]


def _is_phrase(query: wq.Query) -> bool:
    if isinstance(query, wq.Sequence):
        return True
    return isinstance(query, wq.Or) and any(isinstance(q, wq.Sequence) for q in query.subqueries)


def _alternatives(field_name: str, terms: tuple[str, ...]) -> wq.Query:
    if len(terms) == 1:
        return wq.Term(field_name, terms[0])
    return wq.Or([wq.Term(field_name, t) for t in terms])


def _lemma_query(terms: tuple[str, ...], fields: tuple[str, ...]) -> wq.Query:
    queries = [_alternatives(f, terms) for f in fields]
    return wq.Or(queries) if len(queries) > 1 else queries[0]
