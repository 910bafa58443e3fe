"""The query language, parsed into a small syntax tree.

    word            any form of the word            "переговоры министров"   phrase, any forms
    !word           that exact form only            "фраза"~3                within 3 positions
    -word  +word    exclude / require               a OR b,  a | b           either
    ( ... )         grouping                        word*                    prefix of a lemma
    title: source: topic: tag:   one field          date:2018-01-01..2018-03-31 (or 2018-01, 2018)
    ИЛИ = OR, НЕ = NOT = -, И = AND (only in capitals; AND is what words do anyway)

Parsing never fails: what does not parse as an operator is searched as plain words
(an unbalanced quote runs to the end, a stray parenthesis or operator is ignored).

Repeating a word costs nothing: the same item twice at one level (a word, a phrase, a
group, an alternative of an OR, an exclusion) counts once, and a level keeps at most
MAX_ITEMS items (exclusions counted apart), the rest listed in ``dropped``. A query of
1,000 characters can hold some 250 words, and each one costs a scoring pass over the
index: without the cap a pasted paragraph, or ``сша`` typed 250 times, took seconds.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Hashable
from dataclasses import dataclass, field

MAX_QUERY_LENGTH = 1000
MAX_NESTING = 8  # parentheses deeper than this are ignored (deep trees overflow Whoosh)
MAX_ITEMS = 64  # items of one level (exclusions counted apart), alternatives of one OR
FIELDS = {"title": "title", "source": "source", "topic": "topic", "tag": "tag", "tags": "tag"}
# Operator words, as Yandex (ИЛИ, И, НЕ) and Elasticsearch (OR, AND, NOT) users type them;
# only in capitals, so that the words «или», «и», «не» of a quoted title stay words.
OR_WORDS = frozenset({"OR", "ИЛИ"})
AND_WORDS = frozenset({"AND", "И"})
NOT_WORDS = frozenset({"NOT", "НЕ"})


@dataclass
class Word:
    text: str
    exact: bool = False
    prefix: bool = False
    field: str | None = None  # only "title" among text fields


@dataclass
class Phrase:
    text: str
    slop: int = 1
    field: str | None = None


@dataclass
class Group:
    """Items all of which should match (plain words: as many as possible)."""

    items: list[Node] = field(default_factory=list)


@dataclass
class AnyOf:
    items: list[Node] = field(default_factory=list)


@dataclass
class Required:
    item: Node


@dataclass
class Excluded:
    item: Node


Node = Word | Phrase | Group | AnyOf | Required | Excluded


@dataclass
class ParsedQuery:
    """The tree of what to match, and the filters named inside the query."""

    root: Group
    filters: dict[str, str] = field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    dropped: list[str] = field(default_factory=list)  # items over MAX_ITEMS, as query text


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TOKEN = re.compile(
    r"""
    (?P<phrase>(?P<pfield>\w+:)?"(?P<ptext>[^"]*)(?:"(?:~(?P<slop>\d+))?|$))
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<bar>\|)
  | (?P<word>[^\s()|"]+)
    """,
    re.VERBOSE,
)
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


def parse(text: str) -> ParsedQuery:
    """Parse a query; never raises."""
    text = _CONTROL.sub(" ", text)[:MAX_QUERY_LENGTH]
    parser = _Parser(_TOKEN.finditer(text))
    root = parser.group(top=True)
    return ParsedQuery(root, parser.filters, parser.date_from, parser.date_to, parser.dropped)


class _Parser:
    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.i = 0
        self.depth = 0
        self.filters: dict[str, str] = {}
        self.date_from: dt.date | None = None
        self.date_to: dt.date | None = None
        self.dropped: list[str] = []

    def group(self, top: bool = False) -> Group:
        """Items up to the closing parenthesis; ``OR`` joins its two neighbours."""
        items: list[Node] = []
        pending_or = pending_not = False
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            kind = "phrase" if token.group("phrase") is not None else token.lastgroup
            self.i += 1
            if kind == "rparen":
                if not top:
                    break
                continue
            operator = self.operator(token, kind, bool(items))
            if operator == "or":
                pending_or = bool(items)
                continue
            if operator == "not":
                pending_not = True
                continue
            if operator == "and":
                continue
            node = self.node(token, kind)
            if pending_not and node is not None:
                node = _negated(node)
            pending_not = False  # "НЕ source:RT" negates nothing
            if node is None:
                continue
            if pending_or:
                last = items.pop()
                alternatives = last.items if isinstance(last, AnyOf) else [last]
                node = AnyOf([*alternatives, node])
                pending_or = False
            items.append(node)
        return Group(self.bounded(items))

    def operator(self, token, kind: str, after_item: bool) -> str | None:
        """What an operator token stands for ("or", "not" or "and"); None for a word.

        ``И``/``AND`` only stand for the implicit AND between two items: a leading or
        trailing one is a word (the name in «Ван И»).
        """
        if kind == "bar":
            return "or"
        if kind != "word":
            return None
        text = token.group()
        if text in OR_WORDS:
            return "or"
        if text in NOT_WORDS:
            return "not"
        following = self.tokens[self.i] if self.i < len(self.tokens) else None
        if text in AND_WORDS and after_item and following and following.lastgroup != "rparen":
            return "and"
        return None

    def bounded(self, items: list[Node]) -> list[Node]:
        """The items without repeats, at most MAX_ITEMS of them and of exclusions;
        the rest go to ``dropped``."""
        kept: list[Node] = []
        seen: set[Hashable] = set()
        counts = {False: 0, True: 0}
        for item in items:
            if isinstance(item, AnyOf):
                item = self.alternatives(item)
            key = node_key(item)
            if key in seen:
                continue
            seen.add(key)
            excluded = isinstance(item, Excluded)
            if counts[excluded] >= MAX_ITEMS:
                self.dropped.append(describe(item))
                continue
            counts[excluded] += 1
            kept.append(item)
        return kept

    def alternatives(self, node: AnyOf) -> Node:
        """An OR without repeated alternatives (a lone one stands for itself)."""
        unique: dict[Hashable, Node] = {}
        for item in node.items:
            unique.setdefault(node_key(item), item)
        items = list(unique.values())
        self.dropped.extend(describe(item) for item in items[MAX_ITEMS:])
        items = items[:MAX_ITEMS]
        return items[0] if len(items) == 1 else AnyOf(items)

    def node(self, token, kind: str) -> Node | None:
        if kind == "lparen":
            if self.depth >= MAX_NESTING:
                return None  # deeper parentheses only group what is already grouped
            self.depth += 1
            inner = self.group()
            self.depth -= 1
            return inner if inner.items else None
        if kind == "phrase":
            field_name = (token.group("pfield") or "")[:-1].lower()
            slop = int(token.group("slop")) if token.group("slop") else 1
            phrase_text = token.group("ptext").strip()
            if not phrase_text:
                return None
            if not token.group("phrase").endswith('"') and token.group("slop") is None:
                # An unbalanced quote: the words are searched as plain words.
                words = [self.word(w) for w in phrase_text.split()]
                return Group(self.bounded([w for w in words if w is not None]))
            if field_name in ("source", "topic", "tag", "tags"):
                self.filters[FIELDS[field_name]] = phrase_text
                return None
            return Phrase(phrase_text, min(slop, 100), "title" if field_name == "title" else None)
        return self.word(token.group())

    def word(self, raw: str) -> Node | None:
        modifier = raw[0] if raw[0] in "+-!" and len(raw) > 1 else ""
        body = raw[len(modifier) :]
        name, sep, value = body.partition(":")
        if sep and value and name.lower() in FIELDS | {"date": "date"}:
            name = name.lower()
            if name == "date" and self._date_range(value):
                return None
            if name in FIELDS and FIELDS[name] != "title":
                self.filters[FIELDS[name]] = value
                return None
            if name == "title":
                node: Node = Word(value.rstrip("*"), prefix=value.endswith("*"), field="title")
                return _modified(node, modifier)
        body = body.strip("+-!:")
        if not body:
            return None
        prefix = body.endswith("*") and len(body.rstrip("*")) >= 2
        node = Word(body.rstrip("*"), exact=modifier == "!", prefix=prefix)
        return _modified(node, modifier)

    def _date_range(self, value: str) -> bool:
        start, sep, end = value.partition("..")
        first = _date_bound(start, last=False) if start else None
        last = _date_bound(end if sep else start, last=True) if (end or not sep) else None
        if (start and first is None) or ((end or not sep) and last is None):
            return False
        self.date_from, self.date_to = first, last
        return True


def _negated(node: Node) -> Node:
    """``НЕ x`` is ``-x``; ``НЕ -x`` stays ``-x`` and ``НЕ +x`` is ``-x`` too."""
    if isinstance(node, Excluded):
        return node
    return Excluded(node.item if isinstance(node, Required) else node)


def _modified(node: Node, modifier: str) -> Node:
    if modifier == "-":
        return Excluded(node)
    if modifier == "+":
        return Required(node)
    return node


def _date_bound(text: str, last: bool) -> dt.date | None:
    """A date of year, month or day precision, as its first or last day."""
    match = _DATE.match(text.strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return dt.date(year, 12, 31) if last else dt.date(year, 1, 1)
        if day is None:
            end = calendar.monthrange(year, month)[1]
            return dt.date(year, month, end if last else 1)
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date_bound(text: str, last: bool) -> dt.date | None:
    """Public form of the date bound parser, for the ``from``/``to`` options."""
    return _date_bound(text, last)


def plain_words(node: Node) -> list[Word]:
    """The positive words of a tree (for correction, highlighting and proximity)."""
    if isinstance(node, Word):
        return [node]
    if isinstance(node, Phrase):
        return [Word(w) for w in node.text.split()]
    if isinstance(node, Required):
        return plain_words(node.item)
    if isinstance(node, Excluded):
        return []
    words: list[Word] = []
    for item in node.items:
        words.extend(plain_words(item))
    return words


def node_key(node: Node) -> Hashable:
    """What makes two items the same: ``США`` and ``сша``, ``(а б)`` and ``(б а)`` are."""
    if isinstance(node, Word):
        return ("word", _folded(node.text), node.exact, node.prefix, node.field)
    if isinstance(node, Phrase):
        return ("phrase", " ".join(_folded(node.text).split()), node.slop, node.field)
    if isinstance(node, Required | Excluded):
        return (type(node).__name__, node_key(node.item))
    return (type(node).__name__, frozenset(node_key(item) for item in node.items))


def _folded(text: str) -> str:
    return text.casefold().replace("ё", "е")


def describe(node: Node) -> str:
    """An item as query text, to tell the user what was left out."""
    if isinstance(node, Word):
        field_prefix = f"{node.field}:" if node.field else ""
        return f"{field_prefix}{'!' if node.exact else ''}{node.text}{'*' if node.prefix else ''}"
    if isinstance(node, Phrase):
        field_prefix = f"{node.field}:" if node.field else ""
        return f'{field_prefix}"{node.text}"' + (f"~{node.slop}" if node.slop != 1 else "")
    if isinstance(node, Required):
        return "+" + describe(node.item)
    if isinstance(node, Excluded):
        return "-" + describe(node.item)
    if isinstance(node, AnyOf):
        return " OR ".join(describe(item) for item in node.items)
    return "(" + " ".join(describe(item) for item in node.items) + ")"
