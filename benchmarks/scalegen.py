"""A corpus of any size that grows like news: recombined real sentences and new proper names.

Replicating the shared corpus (``benchmarks.evaluate.replicate``) keeps its vocabulary at
278,508 words however many copies are made, while a real news stream keeps meeting new
people, places and organisations. This generator makes ``N`` articles whose distinct-word
count follows Heaps' law fitted to the shared corpus instead:

- each article takes a real article as template (topic, source, tags, number of sentences,
  whether it has a lead) and fills it with sentences drawn from all the articles of that
  topic; the title joins the head and tail of two titles of the topic, the lead is made of
  leads of the topic;
- dates run over ten years (2016-2025), in article order, as a stream would;
- whenever the distinct words so far fall below the fitted curve ``K·n^β`` (``n`` tokens so
  far), names the corpus never had replace names of the recombined sentences, declined into
  the case of the slot: a surname that pymorphy3 knows (``Гарик Сукачёв``: nominative,
  masculine, after a first name) becomes a new one in that case and gender (``Константин
  Мирбувский``; stems with -ов/-ев/-ин/-ский), a place (``в Риме``) a new town in the
  locative (``в Липхепедовске``; -овск, -оград, -ово, -овка by the gender of the slot), a
  quoted or known organisation a new one (``«Колуэнерго»``, indeclinable in quotes).

It streams: the corpus's sentences and the set of distinct words are all it keeps (0.56 GB
at 30,000 articles; a million more distinct words take 0.14 GB), and articles are written as
they are made. Distinct words are counted exactly (lower-cased runs of letters, as the fit
counts them); a sentence met again unchanged is not tokenized again, and pymorphy3 parses each
capitalised word once. Measured at 100,000 articles (seed 1): 957 articles a second of CPU
time (104.5 s; 361/s of wall time on the shared 2-core machine at load 7), 97.2 million
tokens, 960,032 distinct words against 960,037 predicted, 751,353 names put in; at 1,000,000
articles the fit predicts 3.06 million words, and at that rate it takes 17 minutes of CPU.

    python -m benchmarks.scalegen 100000 /tmp/scale-100k.jsonl.gz --seed 1
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import random
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from benchmarks.evaluate import load_corpus
from benchmarks.options import corpus_option

WORD = re.compile(r"[^\W\d_]+")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"(—A-ZА-ЯЁ0-9])")
CAPITALISED = re.compile(r"\b[А-ЯЁ][а-яё]{2,}\b")
QUOTED_NAME = re.compile(r"«([А-ЯЁ][а-яё]{2,})»")
TITLE_SEPARATOR = ": "
CHECKPOINTS = (10_000, 100_000, 1_000_000)
FIRST_DAY = dt.date(2016, 1, 1)
DAYS = (dt.date(2026, 1, 1) - FIRST_DAY).days
GZIP_LEVEL = 1  # 78 MB/s of JSON on one core, 38% of the size; level 6 12 MB/s
CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
CASE_OF = {**{c: c for c in CASES}, "gen2": "gent", "acc2": "accs", "loc2": "loct"}

# -- new names: parts and declension -------------------------------------------------------

ROOTS = (
    "Бел", "Бор", "Вас", "Вер", "Вол", "Гор", "Гриб", "Дуб", "Жар", "Зор", "Кар", "Кол", "Кос",
    "Крас", "Куз", "Лав", "Лес", "Лип", "Мал", "Мор", "Нов", "Оз", "Пав", "Пес", "Пол", "Рад",
    "Руд", "Сав", "Сем", "Сок", "Тар", "Тих", "Хол", "Чер", "Шар", "Яр", "Бар", "Вен", "Дор",
    "Зел", "Кам", "Лом", "Мех", "Ряб", "Сол", "Степ", "Топ", "Хмел", "Цвет", "Юр", "Ост", "Ор",
    "Бур", "Гал", "Дем", "Ель", "Жук", "Ив", "Клен", "Лаз", "Мир", "Нар", "Пих", "Рог", "Сит"
)  # fmt: skip
ONSETS = "бвгджзклмнпрстфхцчш"  # a letter each
VOWELS = "аоуеи"
CODAS = "нрлктдмсвшч"
SOFT_CODAS = frozenset("жшчщц")
ORG_ENDINGS = (
    "пром", "тех", "банк", "строй", "нефть", "инвест", "транс", "агро", "энерго", "сервис"
)  # fmt: skip
MALE_NAMES = (
    "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Виктор", "Владимир", "Глеб",
    "Григорий", "Денис", "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья", "Кирилл",
    "Константин", "Леонид", "Максим", "Михаил", "Никита", "Николай", "Олег", "Павел", "Роман",
    "Сергей", "Станислав", "Степан", "Тимур", "Фёдор", "Юрий", "Ярослав"
)  # fmt: skip
FEMALE_NAMES = (
    "Алина", "Алла", "Анастасия", "Анна", "Валентина", "Валерия", "Вера", "Галина", "Дарья",
    "Екатерина", "Елена", "Ирина", "Карина", "Ксения", "Лариса", "Любовь", "Людмила", "Марина",
    "Мария", "Наталья", "Нина", "Ольга", "Полина", "Светлана", "Софья", "Таисия", "Татьяна",
    "Ульяна", "Юлия", "Яна"
)  # fmt: skip

#: Endings by case (nomn, gent, datv, accs, ablt, loct) after the stem and its suffix.
SURNAME_ENDINGS = {
    ("ов", "masc"): ("ов", "ова", "ову", "ова", "овым", "ове"),
    ("ов", "femn"): ("ова", "овой", "овой", "ову", "овой", "овой"),
    ("ев", "masc"): ("ев", "ева", "еву", "ева", "евым", "еве"),
    ("ев", "femn"): ("ева", "евой", "евой", "еву", "евой", "евой"),
    ("ин", "masc"): ("ин", "ина", "ину", "ина", "иным", "ине"),
    ("ин", "femn"): ("ина", "иной", "иной", "ину", "иной", "иной"),
    ("ский", "masc"): ("ский", "ского", "скому", "ского", "ским", "ском"),
    ("ский", "femn"): ("ская", "ской", "ской", "скую", "ской", "ской"),
}
PLACE_ENDINGS = {
    "masc": (("овск", "овска", "овску", "овск", "овском", "овске"),
             ("оград", "ограда", "ограду", "оград", "оградом", "ограде")),
    "neut": (("ово", "ова", "ову", "ово", "овом", "ове"),),
    "femn": (("овка", "овки", "овке", "овку", "овкой", "овке"),),
}  # fmt: skip


class NameMaker:
    """New surnames, places and organisations from Russian name parts, declined by case.

    A stem is a root, one or two syllables and a closing consonant (``Бел`` + ``ка`` + ``н``):
    65 roots, 95 syllables and 11 consonants make 68 thousand stems of one syllable and 6.5
    million of two, so that names seldom repeat even at a million articles (a repeat adds no
    word, and the next article makes up for it).
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.first_names = {"masc": _declined(MALE_NAMES), "femn": _declined(FEMALE_NAMES)}

    def stem(self) -> str:
        rng = self.rng
        syllables = "".join(
            rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(1 + (rng.random() < 0.5))
        )
        return rng.choice(ROOTS) + syllables + rng.choice(CODAS)

    def person(self) -> tuple[str, str]:
        """(stem, suffix) of a new surname: -ев after a hushing consonant, else -ов, -ин, -ский."""
        stem = self.stem()
        if stem[-1] in SOFT_CODAS:
            return stem, "ев"
        return stem, self.rng.choices(("ов", "ин", "ский"), (2, 1, 1))[0]

    def place(self, gender: str) -> tuple[str, tuple[str, ...]]:
        return self.stem(), self.rng.choice(PLACE_ENDINGS.get(gender, PLACE_ENDINGS["masc"]))

    def organisation(self) -> str:
        return self.stem() + self.rng.choice(ORG_ENDINGS)

    def first_name(self, gender: str, case: str) -> str:
        forms = self.rng.choice(self.first_names[gender])
        return forms[CASES.index(case)]


def _declined(names: Iterable[str]) -> list[tuple[str, ...]]:
    """Each first name in the six cases, by pymorphy3 (which knows them all)."""
    morph = _morph()
    result = []
    for name in names:
        parse = next(p for p in morph.parse(name) if "Name" in p.tag)
        result.append(tuple(parse.inflect({case}).word.capitalize() for case in CASES))
    return result


def _morph():
    from search.morphology import morph_analyzer

    return morph_analyzer()


# -- the Heaps fit ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeapsFit:
    """``V(n) = k·n^beta``: distinct lower-cased words after ``n`` tokens."""

    k: float
    beta: float
    tokens: int  # of the corpus it was fitted on
    vocabulary: int

    def predict(self, tokens: float) -> float:
        return self.k * tokens**self.beta


def heaps_fit(texts: Iterable[str], points_per_decade: int = 40) -> HeapsFit:
    """Fit Heaps' law to the vocabulary growth of ``texts`` (one string per article).

    The growth curve is read at article boundaries and fitted (least squares on logarithms)
    over its last decade of tokens, at geometrically spaced points: the curve bends, and its
    end is what predicts a larger corpus. On the shared corpus in a fixed shuffled order (seed
    0, as generated articles mix its sources): 8,665,565 tokens, 278,508 words, K = 91.8,
    β = 0.503, which predicts 284,402 words at the end (2% over). The local log-log slope is
    0.77 at 10^4 tokens, 0.64 at 10^5, 0.53 at 10^6 and 0.47 at the end; a fit over the whole
    curve from 10^4 tokens (K = 22.5, β = 0.600) overshoots the last point by 19%. In file
    order (the 1,721 NG articles first) the fit is K = 274, β = 0.435.
    """
    seen: set[str] = set()
    curve: list[tuple[int, int]] = []
    tokens = 0
    for text in texts:
        words = WORD.findall(text.lower())
        tokens += len(words)
        seen.update(words)
        curve.append((tokens, len(seen)))
    if tokens < 10:
        raise ValueError("too little text to fit Heaps' law")
    step = 10 ** (1 / points_per_decade)
    points, next_at = [], tokens / 10
    for n, v in curve:
        if n >= next_at:
            points.append((math.log(n), math.log(v)))
            next_at = n * step
    if len(points) < 2:
        points = [(math.log(n), math.log(v)) for n, v in curve[-2:]]
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points) or 1.0
    beta = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return HeapsFit(math.exp(mean_y - beta * mean_x), beta, tokens, len(seen))


def article_text(article: dict) -> str:
    """The fields whose words count: title, lead and body."""
    return "\n".join(article.get(name) or "" for name in ("title", "summary", "text"))


# -- the corpus as pools of sentences -------------------------------------------------------


@dataclass(frozen=True)
class Template:
    topic: str | None
    source: str
    tags: tuple[str, ...]
    sentences: int
    lead_sentences: int


@dataclass
class Pools:
    """Every sentence of the corpus in one list, those of a topic's bodies, leads and titles
    in a contiguous range each, and the articles as templates."""

    sentences: list[str] = field(default_factory=list)
    body: dict[str | None, range] = field(default_factory=dict)
    leads: dict[str | None, range] = field(default_factory=dict)
    titles: dict[str | None, list[str]] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)

    @classmethod
    def of(cls, articles: list[dict]) -> Pools:
        pools = cls()
        by_topic: dict[str | None, list[dict]] = {}
        for article in articles:
            by_topic.setdefault(article.get("topic"), []).append(article)
        for topic, group in by_topic.items():
            pools.body[topic], counts = pools._add(a.get("text") for a in group)
            pools.leads[topic], lead_counts = pools._add(a.get("summary") for a in group)
            pools.titles[topic] = [a["title"] for a in group if a.get("title")]
            pools.templates.extend(
                Template(topic, a.get("source") or "", tuple(a.get("tags") or ()), n, lead)
                for a, n, lead in zip(group, counts, lead_counts, strict=True)
                if n
            )
        if not pools.templates:
            raise ValueError("no article with text to take as a template")
        return pools

    def _add(self, texts: Iterable[str | None]) -> tuple[range, list[int]]:
        """The sentences of ``texts`` added; their range and the number in each text."""
        start, counts = len(self.sentences), []
        for text in texts:
            parts = split_sentences(text or "")
            self.sentences.extend(parts)
            counts.append(len(parts))
        return range(start, len(self.sentences)), counts


def split_sentences(text: str) -> list[str]:
    return [part for part in SENTENCE_END.split(text.strip()) if part]


# -- name slots -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A name in a sentence that a new one may replace: ``text[start:end]``."""

    start: int
    end: int
    kind: str  # person, place, organisation
    case: str
    gender: str
    first_name: bool  # a person's first name stands before the surname (and is replaced)


class SlotFinder:
    """The replaceable names of a sentence, by pymorphy3's tags of the words it knows
    (``Surn``, ``Geox``, ``Orgn``; a ``Name`` just before a surname goes with it), and single
    capitalised words in «quotes» as organisations. Each word is parsed once."""

    def __init__(self) -> None:
        self.morph = _morph()
        self.words: dict[str, tuple[str, str, str] | None] = {}

    def reading(self, word: str) -> tuple[str, str, str] | None:
        """(kind, case, gender) of a known name in the singular, else None."""
        if word in self.words:
            return self.words[word]
        found = None
        for parse in self.morph.parse(word)[:1]:
            tag = parse.tag
            case = CASE_OF.get(tag.case or "")
            if not parse.is_known or case is None or tag.number != "sing":
                continue
            if "Surn" in tag and tag.gender in ("masc", "femn"):
                found = ("person", case, tag.gender)
            elif "Name" in tag and tag.gender in ("masc", "femn"):
                found = ("first", case, tag.gender)
            elif "Geox" in tag:
                found = ("place", case, tag.gender or "masc")
            elif "Orgn" in tag:
                found = ("organisation", case, "")
        self.words[word] = found
        return found

    def slots(self, text: str) -> tuple[Slot, ...]:
        found: list[Slot] = []
        previous: tuple[int, tuple[str, str, str] | None] = (-10, None)
        for match in CAPITALISED.finditer(text):
            if match.start() == 0:
                continue
            reading = self.reading(match.group())
            if reading is None or reading[0] == "first":
                previous = (match.end(), reading)
                continue
            kind, case, gender = reading
            end_before, before = previous
            with_first = (
                kind == "person" and before is not None and before[0] == "first"
                and before[1] == case and before[2] == gender and end_before + 1 == match.start()
            )  # fmt: skip
            start = text.rfind(" ", 0, match.start() - 1) + 1 if with_first else match.start()
            found.append(Slot(start, match.end(), kind, case, gender, with_first))
            previous = (match.end(), reading)
        for match in QUOTED_NAME.finditer(text):
            found.append(Slot(match.start(1), match.end(1), "organisation", "nomn", "", False))
        found.sort(key=lambda slot: slot.start)
        return tuple(found)


# -- the generator --------------------------------------------------------------------------


@dataclass
class Vocabulary:
    """Distinct lower-cased words and tokens of what was generated."""

    words: set[str] = field(default_factory=set)
    tokens: int = 0

    def add(self, text: str) -> int:
        """Count the words of ``text``; its number of tokens."""
        found = WORD.findall(text.lower())
        self.words.update(found)
        self.tokens += len(found)
        return len(found)


class Generator:
    """Articles ``gen-000001``, ... made from ``pools``, the same for the same seed."""

    def __init__(self, pools: Pools, fit: HeapsFit, total: int, seed: int = 0):
        self.pools, self.fit, self.total = pools, fit, total
        self.rng = random.Random(seed)
        self.names = NameMaker(random.Random(f"names/{seed}"))
        self.finder = SlotFinder()
        self.vocabulary = Vocabulary()
        size = len(pools.sentences)
        self.slots: list[tuple[Slot, ...] | None] = [None] * size
        self.counted = bytearray(size)  # the sentence's words are in the vocabulary
        self.lengths = [0] * size  # its tokens, once counted
        self.new_names = 0
        self._spent = 0  # names the last _inject or _sentences put in

    def articles(self) -> Iterator[dict]:
        for number in range(self.total):
            yield self.article(number)

    def article(self, number: int) -> dict:
        rng, pools = self.rng, self.pools
        template = pools.templates[int(rng.random() * len(pools.templates))]
        body = pools.body[template.topic]
        leads = pools.leads[template.topic] or body
        lead_ids = rng.choices(leads, k=template.lead_sentences)
        ids = rng.choices(body, k=template.sentences)
        budget = self._budget()
        title = self._title(template.topic)
        if budget > 0:
            title = self._inject(title, self.finder.slots(title), budget)
            budget -= self._spent
        self.vocabulary.add(title)
        summary = " ".join(self._sentences(lead_ids, budget))
        budget -= self._spent
        text = " ".join(self._sentences(ids, budget))
        day = FIRST_DAY + dt.timedelta(days=int((number + rng.random()) * DAYS / self.total))
        article_id = f"gen-{number + 1:06d}"
        return {
            "id": article_id,
            "title": title,
            "summary": summary,
            "text": text,
            "date": day.isoformat(),
            "url": f"https://news.example.ru/{day:%Y/%m/%d}/{article_id}",
            "source": template.source,
            "topic": template.topic,
            "tags": list(template.tags),
        }

    def _budget(self) -> int:
        """New names wanted now: how far the vocabulary is below the fitted curve."""
        vocabulary = self.vocabulary
        return max(0, int(self.fit.predict(vocabulary.tokens) - len(vocabulary.words)))

    def _title(self, topic: str | None) -> str:
        titles = self.pools.titles.get(topic) or ["Новости"]
        first, second = self.rng.choice(titles), self.rng.choice(titles)
        if TITLE_SEPARATOR in first and TITLE_SEPARATOR in second:
            head = first.split(TITLE_SEPARATOR, 1)[0]
            return head + TITLE_SEPARATOR + second.split(TITLE_SEPARATOR, 1)[1]
        return first

    def _sentences(self, ids: list[int], budget: int) -> list[str]:
        """Sentences ``ids``, new names put in while ``budget`` lasts (``_spent`` in all);
        each counted, once while it is unchanged."""
        sentences, counted, lengths = self.pools.sentences, self.counted, self.lengths
        vocabulary = self.vocabulary
        spent, parts = 0, []
        for index in ids:
            text = sentences[index]
            if budget > spent:
                slots = self.slots[index]
                if slots is None:
                    slots = self.slots[index] = self.finder.slots(text)
                if slots:
                    changed = self._inject(text, slots, budget - spent)
                    if self._spent:
                        spent += self._spent
                        vocabulary.add(changed)
                        parts.append(changed)
                        continue
            if counted[index]:
                vocabulary.tokens += lengths[index]
            else:
                lengths[index] = vocabulary.add(text)
                counted[index] = 1
            parts.append(text)
        self._spent = spent
        return parts

    def _inject(self, text: str, slots: tuple[Slot, ...], budget: int) -> str:
        """``text`` with up to ``budget`` of its ``slots`` given new names (``_spent``)."""
        self._spent = 0
        if budget <= 0 or not slots:
            return text
        pieces, last = [], 0
        for slot in slots:
            if self._spent >= budget or slot.start < last:
                continue
            pieces.append(text[last : slot.start])
            pieces.append(self._new_name(slot))
            last = slot.end
            self._spent += 1
        self.new_names += self._spent
        pieces.append(text[last:])
        return "".join(pieces)

    def _new_name(self, slot: Slot) -> str:
        names, case = self.names, CASES.index(slot.case)
        if slot.kind == "person":
            stem, suffix = names.person()
            surname = stem + SURNAME_ENDINGS[suffix, slot.gender][case]
            if slot.first_name:
                return f"{names.first_name(slot.gender, slot.case)} {surname}"
            return surname
        if slot.kind == "place":
            stem, endings = names.place(slot.gender)
            return stem + endings[case]
        return names.organisation()


def generate(corpus_dir: Path, total: int, seed: int = 0) -> tuple[Generator, Iterator[dict]]:
    """The generator (for its figures) and its ``total`` articles, made from ``corpus_dir``."""
    corpus = load_corpus(corpus_dir)
    order = list(corpus)
    random.Random(0).shuffle(order)
    fit = heaps_fit(article_text(a) for a in order)
    generator = Generator(Pools.of(corpus), fit, total, seed)
    return generator, generator.articles()


def checkpoint_line(generator: Generator, articles: int, done: int) -> str:
    """Measured and predicted vocabulary at ``articles``, or the prediction alone when fewer
    were made (tokens extrapolated at the mean article length so far)."""
    vocabulary = generator.vocabulary
    if articles <= done:
        return (
            f"{articles:>9,} articles: {len(vocabulary.words):>10,} distinct words measured, "
            f"{generator.fit.predict(vocabulary.tokens):>10,.0f} predicted "
            f"({vocabulary.tokens:,} tokens)"
        )
    tokens = vocabulary.tokens / max(done, 1) * articles
    return (
        f"{articles:>9,} articles: {'':>10} (not generated)       "
        f"{generator.fit.predict(tokens):>10,.0f} predicted (about {tokens:,.0f} tokens)"
    )


@click.command()
@click.argument("count", type=click.IntRange(1))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True)
@corpus_option
def main(count: int, out: Path, seed: int, corpus_dir: Path) -> None:
    """Write COUNT generated articles to OUT (gzip JSON Lines, the corpus schema)."""
    started = time.perf_counter()
    generator, articles = generate(corpus_dir, count, seed)
    fit = generator.fit
    click.echo(
        f"Heaps fit on the corpus ({fit.tokens:,} tokens, {fit.vocabulary:,} words): "
        f"K = {fit.k:.1f}, beta = {fit.beta:.3f} ({time.perf_counter() - started:.1f} s)"
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=GZIP_LEVEL) as fh:
        for done, article in enumerate(articles, 1):
            fh.write(json.dumps(article, ensure_ascii=False) + "\n")
            if done in CHECKPOINTS:
                click.echo(checkpoint_line(generator, done, done))
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    for checkpoint in CHECKPOINTS:
        if checkpoint > count:
            click.echo(checkpoint_line(generator, checkpoint, count))
    vocabulary = generator.vocabulary
    click.echo(
        f"{count:,} articles in {seconds:.1f} s ({count / seconds:,.0f} articles/s; "
        f"CPU {cpu_seconds:.1f} s, {count / cpu_seconds:,.0f} articles/s), "
        f"{vocabulary.tokens:,} tokens, {len(vocabulary.words):,} distinct words "
        f"({fit.predict(vocabulary.tokens):,.0f} predicted), {generator.new_names:,} new names"
    )


if __name__ == "__main__":
    main()
