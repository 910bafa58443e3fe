"""Every ranking weight in one frozen config, so that a change is one reviewed edit.

The figures were tuned on halves of the known-item judgements and checked on
held-out queries (``benchmarks/heldout.py``); ``benchmarks/README.md`` records what
each change gave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def _field_boosts() -> Mapping[str, float]:
    return MappingProxyType({"title": 3.0, "summary": 1.5, "text": 1.0})


@dataclass(frozen=True)
class TopicWeights:
    """A query of one item (``нато``, ``импичмент``) names a topic rather than an article:
    every article about it is an answer, and what sets those apart from the articles that
    mention it is that they go on about it in the body. Measured on the topical judgements
    (``../shared/eval/topical.jsonl``, index without tags; ``benchmarks/README.md``): text
    k1 10 and b 0.5 (repeats keep counting, long articles are not held down as much), the
    text counting 3 times as much and a headline word 10 instead of 40 lift nDCG@10 from
    0.619 to 0.637 and AP@100 from 0.406 to 0.421, and on 300 held-out tags from 0.633 to
    0.661 and 0.424 to 0.441; known-item queries have two words or more and keep their
    figures.
    """

    #: (k1, b) of BM25 per field, where they differ from RankingWeights'.
    bm25: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: MappingProxyType({"text": (10.0, 0.5)})
    )
    #: Field boosts, where they differ from RankingWeights'.
    field_boosts: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"text": 3.0})
    )
    #: Instead of RankingWeights.headline_word.
    headline_word: float = 10.0


@dataclass(frozen=True)
class RankingWeights:
    #: BM25 term-frequency saturation and length normalization.
    k1: float = 1.2
    b: float = 0.75
    #: BM25 of a word in each field is multiplied by its field's boost and summed (BM25F).
    field_boosts: Mapping[str, float] = field(default_factory=_field_boosts)
    #: A synonym (США for Соединённые Штаты) counts a little less than the word typed.
    synonym: float = 0.8
    #: BM25 of the form as typed, added to the lemma score.
    exact_form: float = 0.3
    #: Each query word the headline (or the lead) holds.
    headline_word: float = 40.0
    #: A word in the lead counts a little less than one in the headline.
    lead_share: float = 0.9
    #: The query words standing close and in order in the headline (leaders only).
    proximity: float = 1.5
    #: Each query word standing in the headline in the form typed (leaders only).
    title_exact: float = 3.5
    #: How many leaders the headline bonuses reorder.
    proximity_candidates: int = 20
    #: What changes when the query is one item (a word, a name in quotes): see TopicWeights.
    topic: TopicWeights = field(default_factory=TopicWeights)


WEIGHTS = RankingWeights()
