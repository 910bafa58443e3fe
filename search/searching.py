"""The one search function that the CLI, the JSON API and the web page share.

A query is parsed (``query``), corrected (``correction``), compiled into a Whoosh
query over the lemma fields, and ranked in two steps: Whoosh's BM25F with field
weights, an exact-form bonus and an in-order proximity bonus picks the candidates;
then the candidates that hold more of the query's words come first, so that a
document lacking one word still appears, below those that have them all.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import query as wq
from whoosh import scoring, sorting
from whoosh.searching import Searcher

from search import correction, indexer
from search.analysis import Word as Unit
from search.analysis import analyze
from search.morphology import is_known, word_terms
from search.normalize import normalize_word
from search.query import (
    AnyOf,
    Excluded,
    Group,
    Node,
    ParsedQuery,
    Phrase,
    Required,
    Word,
    parse,
    parse_date_bound,
    plain_words,
)
from search.schema import decompress_text
from search.snippets import Highlighter
from search.synonyms import synonyms_of

FIELD_BOOSTS = {"title": 4.0, "summary": 2.0, "text": 1.0}
EXACT_BOOST = 0.6
PROXIMITY_BOOST = 2.0
SYNONYM_BOOST = 0.8
CANDIDATES = 200
MAX_PER_PAGE = 100
MAX_PAGE = 1000
SORTS = ("relevance", "date", "date_asc")
REFRESH_SECONDS = 1.0


class SearchError(ValueError):
    """A request that cannot be searched (bad page, sort, date...): the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SearchRequest:
    q: str
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    source: str | None = None
    topic: str | None = None
    tag: str | None = None
    facets: bool = True
    correct: bool = True

    def validate(self) -> None:
        if not isinstance(self.page, int) or not 1 <= self.page <= MAX_PAGE:
            raise SearchError("bad_page", f"page must be a whole number from 1 to {MAX_PAGE}")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise SearchError(
                "bad_per_page", f"per_page must be a whole number from 1 to {MAX_PER_PAGE}"
            )
        if self.sort not in SORTS:
            raise SearchError("bad_sort", f"sort must be one of: {', '.join(SORTS)}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise SearchError("bad_date", "the start date is after the end date")


def parse_date_option(value: str | None, last: bool) -> dt.date | None:
    """A ``from``/``to`` option (YYYY, YYYY-MM or YYYY-MM-DD); SearchError when malformed."""
    if value is None or not value.strip():
        return None
    bound = parse_date_bound(value, last)
    if bound is None:
        raise SearchError("bad_date", f"bad date {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    return bound


@dataclass
class _Compiled:
    """A Whoosh query and what the ranking and highlighting need to know about it."""

    query: wq.Query | None
    coverage: list[set[tuple[str, bytes]]] = field(default_factory=list)
    highlight_terms: set[str] = field(default_factory=set)
    highlight_surfaces: set[str] = field(default_factory=set)


class SearchEngine:
    """An index folder opened for searching; the searcher is reused and reopened on change."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._live: Path | None = None
        self._checked = 0.0

    # -- opening -------------------------------------------------------------------

    def searcher(self) -> Searcher:
        """The current searcher: reopened when the live index was rebuilt or updated."""
        with self._lock:
            now = time.monotonic()
            if self._searcher is not None and now - self._checked < REFRESH_SECONDS:
                return self._searcher
            self._checked = now
            live = indexer.live_dir(self.root)
            if self._searcher is None or live != self._live:
                ix = indexer.open_live(self.root)
                self._searcher = ix.searcher(weighting=scoring.BM25F())
                self._live = live
            elif not self._searcher.up_to_date():
                self._searcher = self._searcher.refresh()
            return self._searcher

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    # -- search --------------------------------------------------------------------

    def search(self, request: SearchRequest) -> dict:
        """Run a search; the result is the JSON object of the API."""
        started = time.perf_counter()
        request.validate()
        searcher = self.searcher()
        parsed = parse(request.q)
        corrected_text, did_you_mean = None, None
        if request.correct:
            parsed, corrected_text, did_you_mean = self._correct(searcher, request.q, parsed)
        compiled = self._compile(searcher, parsed)
        filter_query = self._filter(searcher, request, parsed)
        hits, total, facets = self._run(searcher, compiled, filter_query, request)
        highlighter = Highlighter(
            frozenset(compiled.highlight_terms), frozenset(compiled.highlight_surfaces)
        )
        return {
            "query": request.q,
            "corrected_query": corrected_text,
            "did_you_mean": did_you_mean,
            "total": total,
            "page": request.page,
            "per_page": request.per_page,
            "took_ms": 0.0,
            "hits": [self._hit(searcher, docnum, score, highlighter) for docnum, score in hits],
            "facets": facets,
        } | {"took_ms": round((time.perf_counter() - started) * 1000, 2)}

    def _run(
        self,
        searcher: Searcher,
        compiled: _Compiled,
        filter_query: wq.Query | None,
        request: SearchRequest,
    ) -> tuple[list[tuple[int, float]], int, dict]:
        if compiled.query is None:
            return [], 0, _empty_facets() if request.facets else {}
        first = (request.page - 1) * request.per_page
        needed = first + request.per_page
        groupedby = _facet_spec() if request.facets else None
        if request.sort == "relevance":
            results = searcher.search(
                compiled.query,
                limit=max(CANDIDATES, needed),
                filter=filter_query,
                terms=len(compiled.coverage) > 1,
                groupedby=groupedby,
            )
            ranked = _rank_by_coverage(results, compiled.coverage)
        else:
            results = searcher.search(
                compiled.query, limit=None, filter=filter_query, groupedby=groupedby
            )
            ranked = _rank_by_date(searcher, results, newest_first=request.sort == "date")
        facets = _facets(searcher, results) if request.facets else {}
        return ranked[first:needed], len(results), facets

    def _hit(self, searcher: Searcher, docnum: int, score: float, hl: Highlighter) -> dict:
        stored = searcher.stored_fields(docnum)
        text = decompress_text(stored.get("text_zlib"))
        title = stored.get("title", "")
        return {
            "id": stored["id"],
            "title": title,
            "title_html": hl.mark(title),
            "snippet_html": hl.snippet(text, fallback=stored.get("summary", "")),
            "url": stored.get("url", ""),
            "date": _date_text(stored.get("date")),
            "source": stored.get("source", ""),
            "topic": stored.get("topic", ""),
            "tags": _tags(stored.get("tags")),
            "score": round(score, 4),
        }

    # -- correction ----------------------------------------------------------------

    def _correct(
        self, searcher: Searcher, text: str, parsed: ParsedQuery
    ) -> tuple[ParsedQuery, str | None, str | None]:
        """Fix the keyboard layout and unknown words; returns the query to run.

        The corrected query text replaces only the words that changed, so operators
        and the rest of the query stay as typed.
        """
        reader = searcher.reader()

        def frequency(form: str) -> int:
            return reader.doc_frequency("exact", form)

        def lemma_frequency(form: str) -> int:
            return max((reader.doc_frequency("text", t) for t in word_terms(form)), default=0)

        def within_two(form: str) -> list[str]:
            return list(reader.terms_within("exact", form, 2, prefix=2))

        replacements: dict[str, str] = {}
        suggestions: dict[str, str] = {}
        for word in plain_words(parsed.root):
            raw = word.text
            if raw in replacements or word.prefix:
                continue
            if correction.could_be_layout(raw):
                cyrillic = correction.from_latin_layout(raw)
                if correction.prefer_layout(raw, cyrillic, frequency):
                    replacements[raw] = cyrillic
                    continue
                fixed = self._fix_typo(cyrillic, frequency, lemma_frequency, within_two)
                if fixed and frequency(normalize_word(raw)) == 0:
                    replacements[raw] = fixed
                    continue
            if word.exact:
                continue
            fixed = self._fix_typo(raw, frequency, lemma_frequency, within_two)
            if fixed:
                replacements[raw] = fixed
            else:
                suggestion = self._rare_word_suggestion(raw, frequency)
                if suggestion:
                    suggestions[raw] = suggestion
        did_you_mean = _replace_words(text, suggestions) if suggestions else None
        if not replacements:
            return parsed, None, did_you_mean
        corrected = _replace_words(text, replacements)
        return parse(corrected), corrected, did_you_mean

    def _fix_typo(self, raw, frequency, lemma_frequency, within_two) -> str | None:
        """A correction for a word that neither the index nor the dictionary knows."""
        units = _query_units(raw)
        if len(units) != 1:
            return None
        surface = units[0].surface
        if not surface.isalpha() or frequency(surface) > 0:
            return None
        if lemma_frequency(surface) > 0 or is_known(surface):
            return None
        return correction.best_correction(surface, frequency, lemma_frequency, within_two)

    def _rare_word_suggestion(self, raw: str, frequency) -> str | None:
        """A far more common form one edit away from a rare word: offered, not applied."""
        surface = normalize_word(raw)
        if len(surface) < 4 or not surface.isalpha() or is_known(surface):
            return None
        own = frequency(surface)
        if own == 0 or own > 3:
            return None
        alphabet = (
            correction.RUSSIAN_LETTERS
            if any("а" <= c <= "я" for c in surface)
            else "abcdefghijklmnopqrstuvwxyz"
        )
        best, best_freq = None, own * 50
        for candidate in sorted(correction.edits1(surface, alphabet)):
            freq = frequency(candidate)
            if freq > best_freq:
                best, best_freq = candidate, freq
        return best

    # -- compiling -----------------------------------------------------------------

    def _compile(self, searcher: Searcher, parsed: ParsedQuery) -> _Compiled:
        compiled = _Compiled(None)
        should: list[wq.Query] = []
        must: list[wq.Query] = []
        must_not: list[wq.Query] = []
        for item in parsed.root.items:
            if isinstance(item, Excluded):
                sub = self._node(item.item, None)
                if sub is not None:
                    must_not.append(sub)
                continue
            sub = self._node(item.item if isinstance(item, Required) else item, compiled)
            if sub is None:
                continue
            (must if isinstance(item, Required) else should).append(sub)
            compiled.coverage.append(_query_terms(sub))
        bonus = self._bonus(parsed.root)
        if must:
            base: wq.Query = wq.And(must) if len(must) > 1 else must[0]
            optional = should + bonus
            query: wq.Query | None = wq.AndMaybe(base, wq.Or(optional)) if optional else base
        elif should:
            query = wq.Or(should + bonus)
        elif must_not or parsed.filters or parsed.date_from or parsed.date_to:
            query = wq.Every()
        else:
            query = None
        if query is not None and must_not:
            query = wq.AndNot(query, wq.Or(must_not))
        compiled.query = query
        return compiled

    def _node(self, node: Node, compiled: _Compiled | None) -> wq.Query | None:
        """One query item; ``compiled`` collects highlight terms (None under a minus)."""
        if isinstance(node, Word):
            return self._word(node, compiled)
        if isinstance(node, Phrase):
            return self._phrase(node.text, node.slop, node.field, compiled)
        if isinstance(node, Required):
            return self._node(node.item, compiled)
        if isinstance(node, Excluded):
            sub = self._node(node.item, None)
            return wq.Not(sub) if sub is not None else None
        subs = [self._node(item, compiled) for item in node.items]
        subs = [s for s in subs if s is not None]
        if not subs:
            return None
        if isinstance(node, AnyOf):
            return wq.Or(subs) if len(subs) > 1 else subs[0]
        if isinstance(node, Group):
            # Parentheses: all of the words inside (minus the excluded ones).
            return wq.And(subs) if len(subs) > 1 else subs[0]
        return None

    def _word(self, word: Word, compiled: _Compiled | None) -> wq.Query | None:
        units = _query_units(word.text)
        if not units:
            return None
        if len(units) > 1:
            # "россия/сша": several words in one token, all wanted.
            subs = [
                self._word(Word(u.surface, word.exact, False, word.field), compiled)
                for u in units
            ]
            subs = [s for s in subs if s is not None]
            return wq.And(subs) if subs else None
        unit = units[0]
        fields = [word.field] if word.field else list(FIELD_BOOSTS)
        if word.exact:
            if compiled:
                compiled.highlight_surfaces.add(unit.surface)
            return wq.Term("exact", unit.surface)
        if word.prefix:
            if compiled:
                compiled.highlight_terms.update(unit.terms)
            return wq.Or([wq.Prefix(f, unit.surface, boost=FIELD_BOOSTS[f]) for f in fields])
        if compiled:
            compiled.highlight_terms.update(unit.terms)
        query = _lemma_query(unit.terms, fields)
        if word.field is None:
            synonyms = [self._phrase(s, 1, None, compiled) for s in synonyms_of(word.text)]
            synonyms = [s for s in synonyms if s is not None]
            if synonyms:
                query = wq.Or([query] + [wq.Or(synonyms, boost=SYNONYM_BOOST)])
        return query

    def _phrase(
        self, text: str, slop: int, field_name: str | None, compiled: _Compiled | None
    ) -> wq.Query | None:
        units = [u for u in analyze(text) if not _is_whole_of_hyphenated(u, text)]
        if not units:
            return None
        if compiled:
            for unit in units:
                compiled.highlight_terms.update(unit.terms)
        if len(units) == 1:
            return _lemma_query(units[0].terms, [field_name] if field_name else list(FIELD_BOOSTS))
        fields = [field_name] if field_name else list(FIELD_BOOSTS)
        per_field = [
            wq.Sequence(
                [_alternatives(f, u.terms) for u in units], slop=slop, boost=FIELD_BOOSTS[f]
            )
            for f in fields
        ]
        return wq.Or(per_field) if len(per_field) > 1 else per_field[0]

    def _bonus(self, root: Group) -> list[wq.Query]:
        """Optional clauses that lift, never select: exact forms, and the words in order."""
        words = [w for w in root.items if isinstance(w, Word) and not w.exact and not w.prefix]
        units = [u for w in words for u in _query_units(w.text)[:1]]
        bonus: list[wq.Query] = [
            wq.Term("exact", u.surface, boost=EXACT_BOOST) for u in units
        ]
        if len(units) > 1:
            for f in ("title", "text"):
                bonus.append(
                    wq.Sequence(
                        [_alternatives(f, u.terms) for u in units],
                        slop=len(units) + 1,
                        boost=PROXIMITY_BOOST * FIELD_BOOSTS[f] / FIELD_BOOSTS["title"],
                    )
                )
        return bonus

    # -- filters -------------------------------------------------------------------

    def _filter(
        self, searcher: Searcher, request: SearchRequest, parsed: ParsedQuery
    ) -> wq.Query | None:
        clauses: list[wq.Query] = []
        for name, value in (
            ("source", request.source or parsed.filters.get("source")),
            ("topic", request.topic or parsed.filters.get("topic")),
        ):
            if value:
                clauses.append(wq.Term(name, _lexicon_match(searcher, name, value)))
        tag = request.tag or parsed.filters.get("tag")
        if tag:
            clauses.append(wq.Term("tags", tag.strip().lower()))
        start = request.date_from or parsed.date_from
        end = request.date_to or parsed.date_to
        if start or end:
            clauses.append(
                wq.DateRange(
                    "date",
                    dt.datetime.combine(start, dt.time.min) if start else None,
                    dt.datetime.combine(end, dt.time.max) if end else None,
                )
            )
        if not clauses:
            return None
        return wq.And(clauses) if len(clauses) > 1 else clauses[0]

    # -- other endpoints -----------------------------------------------------------

    def suggest(self, text: str, limit: int = 10) -> list[str]:
        """Completions of the last word of ``text`` from the index vocabulary, most frequent first."""
        words = text.split()
        if not words or text[-1:].isspace():
            return []
        last = normalize_word(words[-1])
        if len(last) < 2 or not last.isalpha():
            return []
        head = text[: len(text) - len(words[-1])]
        reader = self.searcher().reader()
        found: list[tuple[int, str]] = []
        for count, term in enumerate(reader.expand_prefix("exact", last)):
            if count >= 2000:
                break
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if word != last:
                found.append((reader.doc_frequency("exact", word), word))
        found.sort(key=lambda item: (-item[0], item[1]))
        return [head + word for _, word in found[:limit]]

    def document(self, article_id: str, q: str = "") -> dict | None:
        """The stored article with the given id (its text marked for ``q``), or None."""
        searcher = self.searcher()
        docnum = searcher.document_number(id=article_id)
        if docnum is None:
            return None
        stored = searcher.stored_fields(docnum)
        text = decompress_text(stored.get("text_zlib"))
        doc = {
            "id": stored["id"],
            "title": stored.get("title", ""),
            "summary": stored.get("summary", ""),
            "text": text,
            "url": stored.get("url", ""),
            "date": _date_text(stored.get("date")),
            "source": stored.get("source", ""),
            "topic": stored.get("topic", ""),
            "tags": _tags(stored.get("tags")),
        }
        if q:
            compiled = self._compile(searcher, parse(q))
            hl = Highlighter(
                frozenset(compiled.highlight_terms), frozenset(compiled.highlight_surfaces)
            )
            doc["title_html"] = hl.mark(doc["title"])
            doc["summary_html"] = hl.mark(doc["summary"])
            doc["text_html"] = hl.mark(text)
        return doc

    def health(self) -> dict:
        searcher = self.searcher()
        return {
            "status": "ok",
            "documents": searcher.doc_count(),
            "index_built_at": indexer.read_meta(self.root).get("built_at"),
        }


# -- helpers -------------------------------------------------------------------------


def _query_units(text: str) -> list[Unit]:
    """The words of a query token, a hyphenated word whole (not also its parts)."""
    units: list[Unit] = []
    for unit in analyze(text):
        if units and unit.start >= units[-1].start and unit.end <= units[-1].end:
            continue
        units.append(unit)
    return units


def _is_whole_of_hyphenated(unit: Unit, text: str) -> bool:
    """In a phrase, a hyphenated word is matched by its parts, which hold the positions."""
    return "-" in unit.surface and len(unit.surface.split("-")) > 1


def _alternatives(field_name: str, terms: tuple[str, ...]) -> wq.Query:
    if len(terms) == 1:
        return wq.Term(field_name, terms[0])
    return wq.Or([wq.Term(field_name, t) for t in terms])


def _lemma_query(terms: tuple[str, ...], fields: list[str]) -> wq.Query:
    """Any lemma of the word, in any of the fields; one reading counts once per field."""
    per_field = []
    for f in fields:
        if len(terms) == 1:
            per_field.append(wq.Term(f, terms[0], boost=FIELD_BOOSTS[f]))
        else:
            per_field.append(
                wq.DisjunctionMax([wq.Term(f, t) for t in terms], boost=FIELD_BOOSTS[f])
            )
    return wq.Or(per_field) if len(per_field) > 1 else per_field[0]


def _query_terms(query: wq.Query) -> set[tuple[str, bytes]]:
    terms = set()
    for fieldname, text in query.iter_all_terms():
        terms.add((fieldname, text.encode("utf-8") if isinstance(text, str) else text))
    return terms


def _rank_by_coverage(results, coverage: list[set]) -> list[tuple[int, float]]:
    """Candidates with more of the query's items first, by score within each count."""
    if len(coverage) <= 1:
        return [(hit.docnum, hit.score) for hit in results]
    ranked = []
    for hit in results:
        matched = set(hit.matched_terms()) if hit.matched_terms() else set()
        covered = sum(1 for terms in coverage if terms & matched)
        ranked.append((covered, hit.score, hit.docnum))
    ranked.sort(key=lambda item: (-item[0], -item[1], item[2]))
    return [(docnum, score) for _, score, docnum in ranked]


def _rank_by_date(searcher: Searcher, results, newest_first: bool) -> list[tuple[int, float]]:
    """All matches by date; articles without a date last either way."""
    dates = searcher.reader().column_reader("date")
    dated, undated = [], []
    for hit in results:
        value = dates[hit.docnum]
        (dated if value else undated).append((value, hit.score, hit.docnum))
    dated.sort(key=lambda item: (item[0], -item[2]), reverse=newest_first)
    undated.sort(key=lambda item: -item[1])
    return [(docnum, score) for _, score, docnum in dated + undated]


def _facet_spec() -> dict:
    return {
        "source": sorting.FieldFacet("source", allow_overlap=False, maptype=sorting.Count),
        "topic": sorting.FieldFacet("topic", allow_overlap=False, maptype=sorting.Count),
        "year": sorting.FieldFacet("year", allow_overlap=False, maptype=sorting.Count),
    }


def _empty_facets() -> dict:
    return {"source": [], "topic": [], "year": []}


def _facets(searcher: Searcher, results) -> dict:
    facets = {}
    for name in ("source", "topic", "year"):
        counts = results.groups(name)
        values = [
            {"value": _facet_value(value), "count": count}
            for value, count in counts.items()
            if value not in (None, "", b"")
        ]
        if name == "year":
            values.sort(key=lambda item: item["value"], reverse=True)
        else:
            values.sort(key=lambda item: (-item["count"], item["value"]))
        facets[name] = values
    return facets


def _facet_value(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _lexicon_match(searcher: Searcher, fieldname: str, value: str) -> str:
    """The indexed spelling of a source or topic, matched without regard to case."""
    wanted = value.strip().casefold()
    for term in searcher.reader().lexicon(fieldname):
        text = term.decode("utf-8") if isinstance(term, bytes) else term
        if text.casefold() == wanted:
            return text
    return value.strip()


def _replace_words(text: str, replacements: dict[str, str]) -> str:
    import re

    pattern = re.compile("|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True)))
    return pattern.sub(lambda m: replacements[m.group()], text)


def _date_text(value) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return None


def _tags(value) -> list[str]:
    if not value:
        return []
    return [t for t in value.split(",") if t]


def open_engine(root: Path) -> SearchEngine:
    """The engine of an index folder (raises indexer.IndexMissing when there is no index)."""
    engine = SearchEngine(root)
    engine.searcher()
    return engine
