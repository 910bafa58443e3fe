"""Duplicates and near-duplicates: each article's fingerprint, and the groups they form.

A fingerprint (``FINGERPRINT_BYTES``, a Whoosh column of fixed-width bytes, see
``search.schema.Fingerprint``) is two things, both worked out from the lemmas of the
headline, lead and text as the index analyzes them (so inflection, case, ё and
punctuation do not count):

* an exact key: 8 bytes of BLAKE2b over the lemma sequence. Articles with the same key
  are copies of one text (the shared corpus has 133 pairs of articles with the same
  headline and text under two ids, e.g. ``ng-nauka-…`` / ``ng-science-…``).
* a MinHash signature, ``PERMUTATIONS`` 32-bit minima over the set of lemma 3-shingles
  (three lemmas in a row), by rensa (``RMinHash``, Rust; its token hash too): the share
  of equal minima of two signatures estimates the Jaccard similarity of their shingle
  sets. rensa rather than datasketch: datasketch hashes each token with SHA-1 in Python,
  2.4 ms for an article of 500 shingles, rensa takes them as one NumPy buffer, 7 µs.
  The whole fingerprint adds a tenth to a quarter to a worker's analysis (0.3-0.9 ms
  against 1.6-4 ms an article, measured on a busy machine), three quarters of it making
  the lemma sequence out of the postings.

Shuffled sentences, an edited headline, a paragraph added or removed keep most
shingles (estimated Jaccard over 0.62 for 99% of 150 copies of each kind, over 0.85
for most, ``python -m benchmarks.duplicates``); unrelated articles share next to none (0.10
at most among 300 random pairs of the corpus, 0.01 at the 99th percentile). ``NEAR``
lies between.

Groups are found among a search's leaders (:func:`among`): candidates are articles that
agree on all ``BAND_ROWS`` minima of one of ``BANDS`` bands (LSH; a pair at Jaccard 0.5
shares a band with probability 0.996, at 0.1 with 0.04), kept when their signatures
agree on ``NEAR`` of the minima, or with the same exact key; a document joins the
best ranked group whose first it is a copy of.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
from rensa import RMinHash

from search.analysis import field_postings

if TYPE_CHECKING:
    from search.ranking import IndexArrays

PERMUTATIONS = 128
SEED = 14  # rensa's permutations: fixed, as every fingerprint of an index must agree
SHINGLE = 3  # lemmas per shingle
EXACT_BYTES = 8
FINGERPRINT_BYTES = EXACT_BYTES + 4 * PERMUTATIONS
BAND_ROWS = 3
BANDS = PERMUTATIONS // BAND_ROWS
NEAR = 0.5  # estimated Jaccard of near-duplicates
LINK_WINDOW = 50  # ranks a copy may stand below the first of its group
#: The fields a fingerprint is made of, in this order.
SOURCES = ("title", "summary", "text")
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
#: Words an article needs for a signature: in a shorter text a few words make another
#: story (in the web tests' corpus «Делегации России и Китая провели раунд переговоров о
#: поставках газа» and «... о торговых пошлинах», 46 words each, agree on 0.77). 2.3% of
#: the shared corpus is shorter; they still have their exact copies.
MIN_WORDS = 100
_NO_FINGERPRINT = bytes(FINGERPRINT_BYTES)
_NO_SIGNATURE = bytes(FINGERPRINT_BYTES - EXACT_BYTES)


def fingerprint(analyses: Sequence[dict[str, list[int]]]) -> bytes:
    """The fingerprint of an article from the lemma postings (term -> positions, as
    ``analysis.field_postings`` gives them) of its ``SOURCES`` fields, in that order.
    All zeros for an article without words (it has no duplicates), a signature of
    zeros for one under ``MIN_WORDS`` words (it has exact copies only)."""
    tokens = np.concatenate([_lemma_sequence(postings) for postings in analyses])
    if tokens.size == 0:
        return _NO_FINGERPRINT
    exact = hashlib.blake2b(tokens.tobytes(), digest_size=EXACT_BYTES).digest()
    if tokens.size < MIN_WORDS:
        return exact + _NO_SIGNATURE
    width = tokens.size - SHINGLE + 1
    shingles = tokens[:width] * _MIX[0]
    for offset in range(1, SHINGLE):
        shingles ^= tokens[offset : offset + width] * _MIX[offset]
    offsets = np.array([0, shingles.size], dtype=np.uint64)
    digest = RMinHash.digest_matrix_from_flat_token_hashes(
        shingles, offsets, PERMUTATIONS, SEED
    ).to_rows()[0]
    return exact + np.asarray(digest, dtype="<u4").tobytes()


def text_fingerprint(texts: Sequence[str]) -> bytes:
    """The fingerprint of the ``SOURCES`` fields' texts (what the bulk writer works out
    from the analysis it does anyway)."""
    return fingerprint([field_postings(text)[0] for text in texts])


def _lemma_sequence(postings: dict[str, list[int]]) -> np.ndarray:
    """One hash per word position: its lemma's (rensa's stable 64-bit token hash). Where
    a word has several readings one of them stands, the same one for the same text."""
    if not postings:
        return np.zeros(0, dtype=np.uint64)
    counts = np.fromiter(map(len, postings.values()), dtype=np.int64, count=len(postings))
    positions = np.array(list(chain.from_iterable(postings.values())), dtype=np.int64)
    hashes = np.array(RMinHash.hash_token_sets([list(postings)])[0], dtype=np.uint64)
    sequence = np.zeros(int(positions.max()) + 1, dtype=np.uint64)
    sequence[positions] = np.repeat(hashes, counts)
    return sequence


# -- comparing fingerprints ---------------------------------------------------------


def split(fingerprints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of fingerprints (``uint8``, ``FINGERPRINT_BYTES`` wide) as exact keys
    (``uint64``; 0: unknown, as in an index written before fingerprints) and
    signatures (``uint32``, ``PERMUTATIONS`` wide; zeros: none)."""
    rows = np.ascontiguousarray(fingerprints, dtype=np.uint8)
    exact = rows[:, :EXACT_BYTES].copy().view("<u8").ravel()
    signatures = rows[:, EXACT_BYTES:].copy().view("<u4")
    return exact, signatures


def same_article(
    exact_a: np.ndarray, signatures_a: np.ndarray, exact_b: np.ndarray, signatures_b: np.ndarray
) -> np.ndarray:
    """Whether each pair of rows ``a[i]``, ``b[i]`` is one article: the same exact key,
    or signatures that share a band (LSH, what makes them candidates) and agree on
    ``NEAR`` of their minima. Unknown fingerprints (zeros) are copies of nothing."""
    width = BANDS * BAND_ROWS
    equal = signatures_a == signatures_b
    bands = equal[:, :width].reshape(-1, BANDS, BAND_ROWS).all(axis=2).any(axis=1)
    signed = signatures_a.any(axis=1) & signatures_b.any(axis=1)
    near = signed & bands & (equal.mean(axis=1) >= NEAR)
    return ((exact_a == exact_b) & (exact_a != 0)) | near


def similarity(signature: np.ndarray, signatures: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of one signature with each row of ``signatures``."""
    return (signatures == signature).mean(axis=1)


def pairwise(signatures: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of every pair of rows: a square matrix."""
    count = signatures.shape[0]
    matrix = np.zeros((count, count), dtype=np.float32)
    for i in range(count):
        matrix[i] = similarity(signatures[i], signatures)
    return matrix


def candidate_pairs(signatures: np.ndarray) -> np.ndarray:
    """Pairs ``(i, j)`` of rows that agree on a whole band (LSH), each row with the
    first row of every band bucket it falls in; deduplicated."""
    if signatures.shape[0] < 2:
        return np.zeros((0, 2), dtype=np.int64)
    found = []
    for band in range(BANDS):
        rows = signatures[:, band * BAND_ROWS : (band + 1) * BAND_ROWS].astype(np.uint64)
        keys = rows[:, 0] * _MIX[0]
        for column in range(1, BAND_ROWS):
            keys ^= rows[:, column] * _MIX[column]
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.r_[True, ordered[1:] != ordered[:-1]]
        first = order[np.flatnonzero(starts)[np.cumsum(starts) - 1]]
        linked = first != order
        found.append(np.stack([first[linked], order[linked]], axis=1))
    pairs = np.concatenate(found)
    return np.unique(pairs, axis=0) if pairs.size else np.zeros((0, 2), dtype=np.int64)


# -- the groups among a search's leaders ------------------------------------------------


@dataclass(frozen=True)
class Groups:
    """The duplicate groups among some documents (a search's ranked leaders).

    ``docs`` are in rank order; ``first[i]`` is the position in ``docs`` of the best
    ranked member of ``docs[i]``'s group (``i`` itself for a document without copies
    among them). ``signatures`` are their rows, for the story grouping.
    """

    docs: np.ndarray
    first: np.ndarray
    signatures: np.ndarray

    @property
    def collapsed(self) -> int:
        """How many of ``docs`` are shown under a better ranked copy."""
        return int((self.first != np.arange(self.docs.size)).sum())

    def firsts(self) -> np.ndarray:
        """The documents that come before every other of their group, in rank order."""
        return self.docs[self.first == np.arange(self.docs.size)]

    def copies(self, docnum: int) -> np.ndarray:
        """The other documents of ``docnum``'s group, in rank order."""
        (position,) = np.flatnonzero(self.docs == docnum)[:1]
        members = np.flatnonzero(self.first == self.first[position])
        return self.docs[members[members != position]]

    def signatures_of(self, docs: np.ndarray) -> np.ndarray:
        """The signature rows of some of ``docs``."""
        index = {int(d): i for i, d in enumerate(self.docs.tolist())}
        return self.signatures[[index[int(d)] for d in docs.tolist()]]


def among(arrays: IndexArrays, docs: np.ndarray) -> Groups:
    """The duplicate groups among ``docs`` (in rank order).

    Only the leaders of a search are grouped, never the whole index: copies of one text
    score alike, so a hit's copies rank beside it. Grouping the whole index once per
    generation (the first design) held 512 bytes of signature per article in every
    worker and redid the LSH over every article after each update: 0.2 s at the shared
    corpus, minutes and gigabytes at a million articles. Here the cost follows the
    leaders: 300 fingerprints read and compared in about 2 ms.
    """
    docs = np.asarray(docs, dtype=np.int64)
    exact, signatures = split(arrays.fingerprints(docs))
    known = np.flatnonzero(exact != 0)
    signed = known[signatures[known].any(axis=1)]
    pairs = signed[candidate_pairs(signatures[signed])]
    if pairs.size:
        left, right = pairs[:, 0], pairs[:, 1]
        pairs = pairs[same_article(exact[left], signatures[left], exact[right], signatures[right])]
    order = known[np.argsort(exact[known], kind="stable")]
    same = np.flatnonzero(exact[order][1:] == exact[order][:-1])
    pairs = np.concatenate([pairs.reshape(-1, 2), np.stack([order[same], order[same + 1]], 1)])
    return Groups(docs, _greedy_firsts(docs.size, pairs), signatures)


def _greedy_firsts(count: int, pairs: np.ndarray) -> np.ndarray:
    """In rank order, each document joins the best ranked earlier group whose first it is
    a copy of, else starts its own: a document's group then depends only on those ranked
    before it, so a longer list of leaders (a later page) never regroups an earlier one.
    (Joining transitively, A ~ B ~ C, made C a copy of A on page 2 only: lost from both.)
    A copy more than ``LINK_WINDOW`` places below its first stays a hit of its own: the
    page showing the first then surely holds it among its copies."""
    earlier: list[list[int]] = [[] for _ in range(count)]
    for a, b in pairs.tolist():
        if a != b and abs(a - b) <= LINK_WINDOW:
            earlier[max(a, b)].append(min(a, b))
    first = np.arange(count)
    for position in range(count):
        leaders = [other for other in earlier[position] if first[other] == other]
        if leaders:
            first[position] = min(leaders)
    return first
