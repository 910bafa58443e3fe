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


WEIGHTS = RankingWeights()
