"""Generated Russian news articles, for lifecycle tests and the load benchmark.

Real text is better (``../shared/corpus``), but tests must never skip for want of it,
and the crash tests want many short builds: these articles are short, their words
few and common, so they index fast once the morphology cache is warm. Each article
carries a marker word of its own (``mark<id>``) that finds exactly it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path

SUBJECTS = [
    "Правительство", "Министерство финансов", "Центральный банк", "Мэрия Москвы",
    "Госдума", "Совет Федерации", "Губернатор области", "Компания Газпром",
    "Сборная России", "Российские учёные", "Роскосмос", "Минздрав",
]  # fmt: skip
VERBS = [
    "объявило о", "обсудило", "утвердило", "сообщило о", "предложило",
    "одобрило", "начало", "завершило", "отложило", "поддержало",
]  # fmt: skip
OBJECTS = [
    "программу модернизации дорог", "повышение пенсий", "строительство метро",
    "снижение ключевой ставки", "запуск спутника", "реформу образования",
    "поставки газа в Китай", "переговоры о торговле", "вакцинацию от гриппа",
    "ремонт школ", "чемпионат по хоккею", "выпуск облигаций",
]  # fmt: skip
PLACES = [
    "в Москве", "в Санкт-Петербурге", "в Казани", "в Новосибирске", "в Сочи",
    "в Екатеринбурге", "во Владивостоке", "в Калининграде",
]  # fmt: skip
DETAILS = [
    "Эксперты считают, что решение поможет экономике.",
    "По словам источника, работы начнутся уже весной.",
    "Финансирование выделят из федерального бюджета.",
    "Жители города встретили новость с интересом.",
    "Аналитики ожидают роста спроса в следующем году.",
    "Подробности будут объявлены на пресс-конференции.",
    "Ранее власти обещали завершить проект до конца года.",
    "Специалисты продолжают следить за ситуацией.",
]  # fmt: skip
SOURCES = ["ТАСС", "РИА Новости", "Интерфакс", "Коммерсантъ", "RT"]
TOPICS = ["Политика", "Экономика", "Общество", "Наука", "Спорт"]
QUERY_WORDS = [
    "правительство", "метро", "пенсии", "ставки", "спутник", "газ", "переговоры",
    "хоккей", "облигаций", "бюджета", "москве", "реформу", "школ", "вакцинацию",
    "строительство метро", "ключевой ставки", "газа китай", "роскосмос спутник",
]  # fmt: skip


def marker(article_id: str) -> str:
    """The word only the article ``article_id`` holds."""
    return "mark" + "".join(ch for ch in article_id.lower() if ch.isalnum())


def generate_articles(count: int, prefix: str = "gen", seed: int = 0) -> list[dict]:
    """``count`` articles with ids ``<prefix>-<n>``, the same for the same arguments."""
    rng = random.Random(f"{prefix}/{seed}")
    return [_article(f"{prefix}-{number}", number, rng) for number in range(count)]


def _article(article_id: str, number: int, rng: random.Random) -> dict:
    subject, verb, thing, place = (
        rng.choice(SUBJECTS),
        rng.choice(VERBS),
        rng.choice(OBJECTS),
        rng.choice(PLACES),
    )
    body = [f"{subject} {verb} {thing} {place}."]
    body += rng.sample(DETAILS, k=rng.randint(3, 6))
    body.append(f"Служебная отметка {marker(article_id)}.")
    return {
        "id": article_id,
        "title": f"{subject} {verb} {thing}",
        "summary": f"{subject} {verb} {thing} {place}.",
        "text": " ".join(body),
        "date": f"{2015 + number % 10}-{1 + number % 12:02d}-{1 + number % 28:02d}",
        "url": f"https://news.example.ru/{article_id}",
        "source": SOURCES[number % len(SOURCES)],
        "topic": TOPICS[number % len(TOPICS)],
        "tags": [thing.split()[0]],
    }


def write_jsonl(path: Path, articles: Iterable[dict]) -> Path:
    """Write ``articles`` as JSON Lines to ``path``; returns ``path``."""
    path.write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8"
    )
    return path
