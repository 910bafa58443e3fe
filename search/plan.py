"""From a parsed query to a search plan: what to score, and what Whoosh must match.

Each top-level item of the query becomes a clause. A clause scores by the lemma
terms of its words (any reading, in the title, lead or text); plain words match by
their postings alone, while phrases, alternatives, groups and multi-word synonyms
carry a Whoosh query that decides which documents match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from whoosh import query as wq

from search.analysis import Word as Unit
from search.analysis import analyze
from search.morphology import query_terms
from search.query import AnyOf, Excluded, Node, ParsedQuery, Phrase, Required, Word
from search.synonyms import synonyms_of

FIELD_BOOSTS = {"title": 3.0, "summary": 1.5, "text": 1.0}
SYNONYM_WEIGHT = 0.8
PREFIX_EXPANSION = 100


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


@dataclass
class Plan:
    clauses: list[Clause] = field(default_factory=list)
    excluded: wq.Query | None = None
    plain_units: list[Unit] = field(default_factory=list)  # for exact-form and proximity bonuses
    highlight_terms: set[str] = field(default_factory=set)
    highlight_surfaces: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not self.clauses


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


class Planner:
    """Compiles a parsed query; ``expand_prefix(field, prefix)`` lists indexed terms."""

    def __init__(self, expand_prefix):
        self.expand_prefix = expand_prefix
        self.plan = Plan()

    def build(self, parsed: ParsedQuery) -> Plan:
        excluded: list[wq.Query] = []
        for item in parsed.root.items:
            if isinstance(item, Excluded):
                query, _ = self.node(item.item, highlight=False)
                if query is not None:
                    excluded.append(query)
                continue
            required = isinstance(item, Required)
            node = item.item if required else item
            query, words = self.node(node)
            if query is None:
                continue
            if isinstance(node, Word):
                also = _synonym_phrases(query)
                self.plan.clauses.append(Clause(words, None, required, also))
            else:
                self.plan.clauses.append(Clause(words, query, required))
            if isinstance(node, Word) and not node.exact and not node.prefix:
                self.plan.plain_units.extend(query_units(node.text)[:1])
        if excluded:
            self.plan.excluded = wq.Or(excluded) if len(excluded) > 1 else excluded[0]
        return self.plan

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
            # "россия/сша": several words in one token, all of them wanted.
            parts = [
                self.word(Word(u.surface, word.exact, False, word.field), highlight) for u in units
            ]
            queries = [q for q, _ in parts if q is not None]
            return wq.And(queries), [w for _, ws in parts for w in ws]
        unit = units[0]
        fields = (word.field,) if word.field else tuple(FIELD_BOOSTS)
        if word.exact:
            if highlight:
                self.plan.highlight_surfaces.add(unit.surface)
            return wq.Term("exact", unit.surface), [WordTerms((unit.surface,), ("exact",))]
        if word.prefix:
            terms = tuple(self.expand_prefix(fields[0], unit.surface)[:PREFIX_EXPANSION])
            if not terms:
                return None, []
            if highlight:
                self.plan.highlight_terms.update(terms)
            return _lemma_query(terms, fields), [WordTerms(terms, fields)]
        if highlight:
            self.plan.highlight_terms.update(unit.terms)
        query = _lemma_query(unit.terms, fields)
        words = [WordTerms(unit.terms, fields)]
        if word.field is None:
            alternatives = []
            for synonym in synonyms_of(word.text):
                syn_query, syn_words = self.phrase(synonym, 1, None, highlight)
                if syn_query is None:
                    continue
                alternatives.append(syn_query)
                # A one-word synonym matches by its postings; the words of a longer
                # one only count where the phrase matches.
                single = len(syn_words) == 1
                words.extend(
                    WordTerms(w.terms, w.fields, SYNONYM_WEIGHT, matches=single) for w in syn_words
                )
            if alternatives:
                query = wq.Or([query, *alternatives])
        return query, words

    def phrase(
        self, text: str, slop: int, field_name: str | None, highlight: bool
    ) -> tuple[wq.Query | None, list[WordTerms]]:
        units = phrase_units(text)
        if not units:
            return None, []
        fields = (field_name,) if field_name else tuple(FIELD_BOOSTS)
        if highlight:
            for unit in units:
                self.plan.highlight_terms.update(unit.terms)
        words = [WordTerms(u.terms, fields) for u in units]
        if len(units) == 1:
            return _lemma_query(units[0].terms, fields), words
        per_field = [
            wq.Sequence([_alternatives(f, u.terms) for u in units], slop=slop) for f in fields
        ]
        return (wq.Or(per_field) if len(per_field) > 1 else per_field[0]), words


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
