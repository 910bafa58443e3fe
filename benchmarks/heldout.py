"""Fresh known-item queries, made the way ``../shared/eval/known-item.jsonl`` was made.

The shared file is a sample that ranking may be tuned on; the engine is judged on other queries
made the same way. This module makes such other queries from the corpus, on articles that the
shared file does not use, so that a change can be checked for generalizing beyond the sample::

    python -m benchmarks.heldout --seed 1 --per-kind 200 --out /tmp/heldout.jsonl \
        --topical-out /tmp/heldout-topical.jsonl
    news-search eval /tmp/heldout.jsonl --index INDEX
    news-search eval /tmp/heldout-topical.jsonl --index INDEX_WITHOUT_TAGS

Topical queries (``topical``) are made like ``../shared/eval/topical.jsonl``: an editor tag
of 15-300 articles that the shared file does not use is the query, every article with the
tag relevant.

Each query is one JSON line ``{"qid": "<kind>-<n>", "kind", "query", "relevant": [id]}``, one
article per query and no article twice. The recipe of each kind (``../shared/eval/README.md``),
with the details read off the shared file:

- ``inflected``: 2-4 title words, each put in another form of its lexeme with the same part of
  speech (pymorphy3), in random order. A word without such a form stays as it is: in the shared
  file infinitives and indeclinable nouns (``интервью``) always do.
- ``lead``: 3-5 dictionary forms (pymorphy3 normal forms) of words of the lead, none of them a
  lemma of a title word. The lead is the ``summary``, or the first sentences of the text (up to
  :data:`LEAD_CHARS` characters) when the summary is empty.
- ``yo``: one title word with ё and 1-2 other title words, as they stand, typed with е.
- ``layout``: an ``inflected`` query typed with the Latin keyboard layout on (``ghbdtn``).
- ``typo``: an ``inflected`` query with one inner letter of its longest word dropped, swapped
  with the next one, or replaced by a neighbouring key or a random letter.

Words are content words as in the shared file: Cyrillic letters only (a hyphen inside is fine),
at least :data:`MIN_LENGTH` characters, and a noun, adjective, verb or infinitive by pymorphy3's
likeliest parse. The same seed gives the same file.
"""

from __future__ import annotations

import json
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

import click

from benchmarks.evaluate import (
    CORPUS_DIR,
    JUDGEMENTS_PATH,
    TOPICAL_PATH,
    load_corpus,
    load_judgements,
)
from search.analysis import WORD
from search.correction import RUSSIAN_LETTERS, to_latin_layout
from search.morphology import morph_analyzer
from search.normalize import COMBINING, INVISIBLE, normalize_word

KINDS = ("inflected", "lead", "yo", "layout", "typo")
#: Parts of speech (pymorphy3's likeliest parse) of the words that queries are made of.
CONTENT_POS = frozenset({"NOUN", "ADJF", "VERB", "INFN"})
#: The shortest word taken from a title or a lead (the shared file has none shorter).
MIN_LENGTH = 4
#: How much of the text stands for the lead of an article without a summary.
LEAD_CHARS = 400
#: Query sizes in words, as in the shared file.
INFLECTED_WORDS = (2, 4)
LEAD_WORDS = (3, 5)
YO_OTHER_WORDS = (1, 2)  # besides the one word with ё
#: The letter rows of the Russian keyboard, for the neighbouring keys of a typo.
RUSSIAN_ROWS = ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю")
#: Articles a tag of a topical query has, as in the shared topical file.
TOPICAL_SIZES = (15, 300)
TOPICAL_COUNT = 300  # as many as the shared topical file has

_CYRILLIC_WORD = re.compile("[а-яё]+(?:-[а-яё]+)*")
_STRIP = re.compile(f"[{INVISIBLE}{COMBINING}]")
_HYPHENS = re.compile("[‐‑]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def words(text: str) -> list[str]:
    """The words of ``text`` that are Cyrillic letters only, lower case, ё kept, in order."""
    found = []
    for match in WORD.finditer(text):
        word = _STRIP.sub("", unicodedata.normalize("NFC", match.group().lower()))
        word = _HYPHENS.sub("-", word)
        if _CYRILLIC_WORD.fullmatch(word):
            found.append(word)
    return found


def is_content_word(word: str) -> bool:
    """True for a word that a query may be made of: long enough and a content part of speech."""
    return len(word) >= MIN_LENGTH and morph_analyzer().parse(word)[0].tag.POS in CONTENT_POS


def content_words(text: str) -> list[str]:
    """The distinct content words of ``text`` (see :func:`is_content_word`), in order."""
    return [w for w in dict.fromkeys(words(text)) if is_content_word(w)]


def other_forms(word: str) -> list[str]:
    """The forms of the word's lexeme (likeliest parse) with its part of speech, other than it.

    Forms that differ only in ё/е count as the same form.
    """
    parse = morph_analyzer().parse(word)[0]
    same = normalize_word(word)
    forms = (f.word for f in parse.lexeme if f.tag.POS == parse.tag.POS)
    return [f for f in dict.fromkeys(forms) if normalize_word(f) != same]


def lemmas(word: str) -> set[str]:
    """Every normal form of every parse of the word, ё as е."""
    return {normalize_word(p.normal_form) for p in morph_analyzer().parse(word)}


def lead_text(article: dict) -> str:
    """The article's lead: its summary, else the first sentences of the text.

    Whole sentences up to :data:`LEAD_CHARS` characters; a longer first sentence is cut at the
    last word boundary before that.
    """
    summary = (article.get("summary") or "").strip()
    if summary:
        return summary
    text = (article.get("text") or "").strip()
    lead = ""
    for sentence in _SENTENCE_END.split(text):
        if len(lead) + len(sentence) + 1 > LEAD_CHARS:
            break
        lead = f"{lead} {sentence}" if lead else sentence
    if not lead:
        lead = text[: LEAD_CHARS + 1]
        if len(text) > LEAD_CHARS:
            lead = lead.rsplit(None, 1)[0]
    return lead


def _pick_title_words(title: str, rng: random.Random) -> list[str] | None:
    """2-4 distinct-lemma content words of the title, in random order (None: too few)."""
    candidates: dict[str, str] = {}  # lemma -> first word with it
    for word in content_words(title):
        candidates.setdefault(morph_analyzer().parse(word)[0].normal_form, word)
    pool = list(candidates.values())
    if len(pool) < INFLECTED_WORDS[0]:
        return None
    return rng.sample(pool, min(rng.randint(*INFLECTED_WORDS), len(pool)))


def inflected_words(article: dict, rng: random.Random) -> list[str] | None:
    """The words of an ``inflected`` query for the article, or None when it cannot have one.

    Each picked title word becomes a random other form of its lexeme when it has one; at least
    one word must change.
    """
    picked = _pick_title_words(article.get("title") or "", rng)
    if picked is None:
        return None
    query = []
    for word in picked:
        forms = other_forms(word)
        query.append(rng.choice(forms) if forms else word)
    if query == picked:
        return None
    return query


def inflected_query(article: dict, rng: random.Random) -> str | None:
    """An ``inflected`` query: title words in other grammatical forms."""
    query = inflected_words(article, rng)
    return " ".join(query) if query else None


def lead_query(article: dict, rng: random.Random) -> str | None:
    """A ``lead`` query: 3-5 lemmas of lead words, none of them a lemma of the title."""
    title_lemmas: set[str] = set()
    for word in words(article.get("title") or ""):
        title_lemmas |= lemmas(word)
    candidates: dict[str, None] = {}
    for word in content_words(lead_text(article)):
        if lemmas(word) & title_lemmas:
            continue
        candidates[morph_analyzer().parse(word)[0].normal_form] = None
    pool = list(candidates)
    if len(pool) < LEAD_WORDS[0]:
        return None
    return " ".join(rng.sample(pool, min(rng.randint(*LEAD_WORDS), len(pool))))


def yo_query(article: dict, rng: random.Random) -> str | None:
    """A ``yo`` query: one title word with ё and 1-2 others, as they stand, typed with е."""
    title_words = content_words(article.get("title") or "")
    with_yo = [w for w in title_words if "ё" in w]
    others = [w for w in title_words if "ё" not in w]
    if not with_yo or not others:
        return None
    picked = [rng.choice(with_yo)]
    picked += rng.sample(others, min(rng.randint(*YO_OTHER_WORDS), len(others)))
    rng.shuffle(picked)
    return " ".join(w.replace("ё", "е") for w in picked)


def layout_query(article: dict, rng: random.Random) -> str | None:
    """A ``layout`` query: an ``inflected`` query typed with the Latin layout on."""
    query = inflected_query(article, rng)
    return to_latin_layout(query) if query else None


def keyboard_neighbours(letter: str) -> str:
    """The letters on the keys around ``letter`` on the Russian keyboard ("" for others)."""
    for row_index, row in enumerate(RUSSIAN_ROWS):
        column = row.find(letter)
        if column < 0:
            continue
        around = [(row_index, column - 1), (row_index, column + 1)]
        around += [(row_index - 1, column), (row_index - 1, column + 1)]  # the row above
        around += [(row_index + 1, column - 1), (row_index + 1, column)]  # the row below
        return "".join(
            RUSSIAN_ROWS[r][c]
            for r, c in around
            if 0 <= r < len(RUSSIAN_ROWS) and 0 <= c < len(RUSSIAN_ROWS[r])
        )
    return ""


def make_typo(word: str, rng: random.Random) -> str | None:
    """The word with one inner letter dropped, swapped with the next one, or replaced by a
    neighbouring key or a random letter; None when the word has no inner letter.

    The first letter is never touched (as in the shared file, and as people type), nor the last
    one but by a swap: a changed ending would read as another form of the word.
    """
    letters = [i for i in range(1, len(word) - 1) if word[i] != "-"]
    if not letters:
        return None
    swaps = [i for i in letters if word[i + 1] not in ("-", word[i])]
    edit = rng.choice(("drop", "swap", "replace") if swaps else ("drop", "replace"))
    if edit == "drop":
        i = rng.choice(letters)
        return word[:i] + word[i + 1 :]
    if edit == "swap":
        i = rng.choice(swaps)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    i = rng.choice(letters)
    choices = keyboard_neighbours(word[i]) if rng.random() < 0.5 else ""
    choices = "".join(c for c in choices or RUSSIAN_LETTERS if c != word[i])
    return word[:i] + rng.choice(choices) + word[i + 1 :]


def typo_query(article: dict, rng: random.Random) -> str | None:
    """A ``typo`` query: an ``inflected`` query with one typo in its (first) longest word."""
    query = inflected_words(article, rng)
    if not query:
        return None
    longest = max(range(len(query)), key=lambda i: len(query[i]))
    typo = make_typo(query[longest], rng)
    if typo is None:
        return None
    query[longest] = typo
    return " ".join(query)


MAKERS: dict[str, Callable[[dict, random.Random], str | None]] = {
    "inflected": inflected_query,
    "lead": lead_query,
    "yo": yo_query,
    "layout": layout_query,
    "typo": typo_query,
}


def generate(
    articles: list[dict],
    per_kind: int = 200,
    seed: int = 1,
    exclude: Iterable[str] = (),
    kinds: Iterable[str] = KINDS,
) -> list[dict]:
    """``per_kind`` judgements of each kind, each on an article of its own.

    Articles whose id is in ``exclude`` (those of the shared judgements) are never used. The
    articles are taken in an order shuffled by ``seed``; an article that cannot make a query of
    one kind stays available to the next kinds. A kind gets fewer than ``per_kind`` queries
    only when the corpus runs out of suitable articles.
    """
    rng = random.Random(seed)
    excluded = set(exclude)
    pool = [a for a in articles if a["id"] not in excluded]
    rng.shuffle(pool)
    used: set[str] = set()
    judgements: list[dict] = []
    for kind in kinds:
        make = MAKERS[kind]
        made = 0
        for article in pool:
            if made >= per_kind:
                break
            if article["id"] in used:
                continue
            query = make(article, rng)
            if not query:
                continue
            used.add(article["id"])
            made += 1
            judgements.append(
                {"qid": f"{kind}-{made}", "kind": kind, "query": query, "relevant": [article["id"]]}
            )
    return judgements


def tag_counts(articles: Iterable[dict]) -> dict[str, list[str]]:
    """Each editor tag (lower case, trimmed) -> the ids of the articles that have it."""
    tagged: dict[str, list[str]] = {}
    for article in articles:
        for tag in dict.fromkeys((t or "").strip().lower() for t in article.get("tags") or ()):
            if tag:
                tagged.setdefault(tag, []).append(article["id"])
    return tagged


def topical(
    articles: list[dict], count: int = TOPICAL_COUNT, seed: int = 1, exclude: Iterable[str] = ()
) -> list[dict]:
    """``count`` topical judgements made like ``../shared/eval/topical.jsonl``: an editor tag
    with :data:`TOPICAL_SIZES` articles is the query, every article with it relevant.

    Tags in ``exclude`` (those of the shared file) are never used, nor generic ones: tags
    that name a source (``rt``, ``сюжеты rt``) or have no Cyrillic letter. The tags are
    drawn in an order shuffled by ``seed``; fewer than ``count`` when the corpus runs out.
    """
    excluded = {tag.strip().lower() for tag in exclude}
    sources = {(a.get("source") or "").strip().lower() for a in articles} - {""}
    low, high = TOPICAL_SIZES
    tags = sorted(
        (tag, ids)
        for tag, ids in tag_counts(articles).items()
        if low <= len(ids) <= high
        and tag not in excluded
        and re.search("[а-яё]", tag)
        and not sources & set(tag.split())
    )
    random.Random(seed).shuffle(tags)
    return [
        {"qid": f"topical-{n}", "kind": "topical", "query": tag, "relevant": ids}
        for n, (tag, ids) in enumerate(tags[:count], 1)
    ]


def write_judgements(judgements: list[dict], path: Path) -> None:
    """One JSON object a line, UTF-8, as in the shared file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for judgement in judgements:
            fh.write(json.dumps(judgement, ensure_ascii=False) + "\n")


@click.command()
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same file.")
@click.option("--per-kind", type=click.IntRange(min=1), default=200, show_default=True)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The JSON Lines file to write.",
)
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=CORPUS_DIR,
    show_default=True,
)
@click.option(
    "--judgements",
    "judgements_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=JUDGEMENTS_PATH,
    show_default=True,
    help="Judgements whose articles are not used (skipped when the file is absent).",
)
@click.option(
    "--topical-out",
    "topical_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write topical judgements here: TOPICAL_COUNT other editor tags, made like the "
    "shared topical file (whose tags are not used, when it is there).",
)
def main(
    seed: int,
    per_kind: int,
    out_path: Path,
    corpus_dir: Path,
    judgements_path: Path,
    topical_path: Path | None,
) -> None:
    """Write fresh known-item queries, made like the shared ones, on other articles (and
    topical ones on other tags)."""
    articles = load_corpus(corpus_dir)
    if topical_path is not None:
        shared = TOPICAL_PATH.is_file()
        tags = [j["query"] for j in load_judgements(TOPICAL_PATH)] if shared else []
        made = topical(articles, TOPICAL_COUNT, seed, exclude=tags)
        write_judgements(made, topical_path)
        click.echo(f"wrote {len(made)} topical queries to {topical_path}", err=True)
    exclude: set[str] = set()
    if judgements_path.is_file():
        exclude = {rid for j in load_judgements(judgements_path) for rid in j["relevant"]}
    else:
        click.echo(f"no judgements at {judgements_path}: no article is excluded", err=True)
    judgements = generate(articles, per_kind=per_kind, seed=seed, exclude=exclude)
    write_judgements(judgements, out_path)
    counts = {kind: sum(j["kind"] == kind for j in judgements) for kind in KINDS}
    click.echo(
        f"wrote {len(judgements)} queries to {out_path}: "
        + ", ".join(f"{kind} {n}" for kind, n in counts.items()),
        err=True,
    )
    if any(n < per_kind for n in counts.values()):
        click.echo(f"too few suitable articles for {per_kind} queries of each kind", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
