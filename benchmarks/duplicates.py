"""Near-duplicate detection measured: generated near-copies against random pairs.

Each sampled article of the corpus gets a near-copy of each kind, and the pair is
judged as the index judges it (``search.duplicates.same_article`` on their fingerprints):

- ``shuffled``: the sentences of the text in a random order;
- ``headline``: the headline edited (a word dropped, two words added);
- ``paragraph_added``: a paragraph of another article inserted at a random place;
- ``paragraph_removed``: one paragraph left out (articles of 4 paragraphs or more);
- ``exact``: the corpus's own duplicates, articles with the same headline and text
  under two ids (``ng-nauka-…`` / ``ng-science-…``).

Precision of a kind counts its pairs found against as many random pairs of corpus
articles (articles that are not copies of each other), recall its pairs found::

    python -m benchmarks.duplicates [--samples 500] [--seed 1]
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import click
import numpy as np

from benchmarks.evaluate import load_corpus
from benchmarks.options import corpus_option
from search.duplicates import SOURCES, same_article, split, text_fingerprint

KINDS = ("shuffled", "headline", "paragraph_added", "paragraph_removed")
MIN_PARAGRAPHS = 4  # for a paragraph left out: fewer, and one is much of the text
ADDED_WORDS = ("срочно", "обновлено", "подробности", "фото", "видео", "эксклюзив")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")

Article = dict
Perturb = Callable[[Article, random.Random, Sequence[Article]], Article]


def _shuffled(article: Article, rng: random.Random, _: Sequence[Article]) -> Article:
    sentences = _SENTENCE.split(article["text"])
    rng.shuffle(sentences)
    return {**article, "text": " ".join(sentences)}


def _headline(article: Article, rng: random.Random, _: Sequence[Article]) -> Article:
    words = article["title"].split()
    if len(words) > 1:
        del words[rng.randrange(len(words))]
    for added in rng.sample(ADDED_WORDS, 2):
        words.insert(rng.randrange(len(words) + 1), added)
    return {**article, "title": " ".join(words)}


def _paragraph_added(article: Article, rng: random.Random, others: Sequence[Article]) -> Article:
    paragraphs = article["text"].split("\n")
    other = rng.choice(others)["text"].split("\n")
    paragraphs.insert(rng.randrange(len(paragraphs) + 1), rng.choice(other))
    return {**article, "text": "\n".join(paragraphs)}


def _paragraph_removed(article: Article, rng: random.Random, _: Sequence[Article]) -> Article:
    paragraphs = article["text"].split("\n")
    del paragraphs[rng.randrange(len(paragraphs))]
    return {**article, "text": "\n".join(paragraphs)}


PERTURBATIONS: dict[str, Perturb] = {
    "shuffled": _shuffled,
    "headline": _headline,
    "paragraph_added": _paragraph_added,
    "paragraph_removed": _paragraph_removed,
}


def fingerprints(articles: Sequence[Article]) -> np.ndarray:
    """The index's fingerprints of ``articles``, one row each."""
    rows = [text_fingerprint([a.get(name) or "" for name in SOURCES]) for a in articles]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(articles), -1)


def detected(left: Sequence[Article], right: Sequence[Article]) -> np.ndarray:
    """Whether the index takes each pair ``(left[i], right[i])`` for copies."""
    exact_a, signatures_a = split(fingerprints(left))
    exact_b, signatures_b = split(fingerprints(right))
    return same_article(exact_a, signatures_a, exact_b, signatures_b)


def exact_copies(articles: Sequence[Article]) -> list[tuple[Article, Article]]:
    """Pairs of articles with the same headline and text under two ids."""
    first: dict[tuple[str, str], Article] = {}
    pairs = []
    for article in articles:
        key = (article.get("title") or "", article.get("text") or "")
        if key in first:
            pairs.append((first[key], article))
        else:
            first[key] = article
    return pairs


def measure(articles: Sequence[Article], samples: int, seed: int) -> dict[str, dict]:
    """Precision and recall of each kind of near-copy, and of the exact copies among
    ``articles``: ``{kind: {"pairs", "found", "false", "precision", "recall"}}``."""
    rng = random.Random(seed)
    texts = [a for a in articles if a.get("text")]
    chosen = rng.sample(texts, min(samples, len(texts)))
    long = [a for a in texts if len(a["text"].split("\n")) >= MIN_PARAGRAPHS]
    removed_from = rng.sample(long, min(samples, len(long)))
    copies = exact_copies(articles)
    copied = {id(a) for pair in copies for a in pair}
    unrelated = [a for a in texts if id(a) not in copied]
    negatives = [tuple(rng.sample(unrelated, 2)) for _ in range(samples)]
    false = int(detected([a for a, _ in negatives], [b for _, b in negatives]).sum())
    report = {}
    for kind in (*KINDS, "exact"):
        if kind == "exact":
            pairs = copies
        else:
            base = removed_from if kind == "paragraph_removed" else chosen
            pairs = [(a, PERTURBATIONS[kind](a, rng, texts)) for a in base]
        found = int(detected([a for a, _ in pairs], [b for _, b in pairs]).sum()) if pairs else 0
        # as many random pairs as pairs of the kind: ``false`` of ``samples``, scaled
        wrong = false * len(pairs) / max(samples, 1)
        report[kind] = {
            "pairs": len(pairs),
            "found": found,
            "false": round(wrong, 2),
            "precision": found / (found + wrong) if found else 0.0,
            "recall": found / len(pairs) if pairs else 0.0,
        }
    return report


def format_report(report: dict[str, dict], negatives: int) -> str:
    lines = [
        f"random pairs: {negatives}",
        "| kind | pairs | found | false (scaled) | precision | recall |",
        "|---|---|---|---|---|---|",
    ]
    for kind, row in report.items():
        lines.append(
            f"| {kind} | {row['pairs']} | {row['found']} | {row['false']:g} | "
            f"{row['precision']:.3f} | {row['recall']:.3f} |"
        )
    return "\n".join(lines)


@click.command()
@corpus_option
@click.option("--samples", default=500, show_default=True, help="Articles (and random pairs).")
@click.option("--seed", default=1, show_default=True)
def main(corpus_dir: Path, samples: int, seed: int) -> None:
    """Print precision and recall of near-duplicate detection per kind of near-copy."""
    report = measure(load_corpus(corpus_dir), samples, seed)
    click.echo(format_report(report, samples))


if __name__ == "__main__":
    main()
