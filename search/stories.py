"""Stories: the articles of one event across sources, and the articles like one.

Two articles are of one story when their signatures (``search.duplicates``) agree on
``STORY`` of their minima, a looser bar than a copy's ``NEAR``: write-ups of one event
share whole phrases (quotes, names, figures), unrelated articles next to none; and when
they appeared within ``DAYS`` days of each other (an undated article, as all of RT's in
the shared corpus are, is judged by its text alone). Measured on the shared corpus:
among the first 200 results of ten queries (197,810 pairs), 0.06% of pairs agree on 0.1
to 0.5, and read one by one they are one event (Putin's interviews with Stone, the FSB's
arrest of saboteurs in Crimea, Sergeeva's doping case); below 0.06 they are merely on one
subject. Of the 18 pairs of dated articles (NG) at 0.1 to 0.5, the 14 within 7 days are
one event (the Boeing crash in Kazan, the Skripal case, the Berlinale), later ones a story
going on (27 days) or another one (127 days).

Grouping is greedy in rank order: an article joins the first story, among the better
ranked ones, whose first article it is close to (not any article of it, so that a story
does not creep from one event to the next through chains of neighbours). Only the first
``WINDOW`` results (after collapsing copies) are grouped: comparing every pair of the
window is a NumPy matrix of WINDOW² comparisons of signatures (1.5 ms at the median, 12
at the 95th percentile of the known-item queries, on a busy machine).

The articles like one (``similar``, «Похожие материалы» on the article page) are found by
its distinctive lemmas instead: a story's articles share few whole phrases, and an
article on the same subject a month later none, but they share names and terms.
"""

from __future__ import annotations

import math

import numpy as np

from search.analysis import field_postings
from search.duplicates import Groups, pairwise
from search.ranking import NO_DATE, IndexArrays

STORY = 0.1  # share of equal minima: estimated Jaccard of the two articles' shingles
DAYS = 7
WINDOW = 200


def group(dates: np.ndarray, duplicates: Groups, docs: np.ndarray) -> list[tuple[int, list[int]]]:
    """The stories among ``docs`` (in rank order): each story's first document and the
    others of it, in rank order. ``dates`` are the index's day ordinals per document."""
    window = docs[:WINDOW]
    signatures = duplicates.signatures_of(window)
    signed = signatures.any(axis=1)
    day = dates[window]
    undated = day == NO_DATE
    close = (np.abs(day[:, None] - day[None, :]) <= DAYS) | undated[:, None] | undated[None, :]
    linked = (pairwise(signatures) >= STORY) & close & signed[:, None] & signed[None, :]
    stories: list[tuple[int, list[int]]] = []
    firsts = np.zeros(window.size, dtype=np.int64)  # window positions of the stories' firsts
    for position in range(window.size):
        joined = np.flatnonzero(linked[position, firsts[: len(stories)]])
        if joined.size:
            stories[joined[0]][1].append(int(window[position]))
        else:
            firsts[len(stories)] = position
            stories.append((int(window[position]), []))
    stories.extend((int(d), []) for d in docs[WINDOW:])
    return stories


SIMILAR_TERMS = 12  # the article's most distinctive lemmas that find its similar ones
SIMILAR_FIELDS = {"title": 2.0, "text": 1.0}


def similar(arrays: IndexArrays, docnum: int, texts: list[str], limit: int) -> list[int]:
    """The documents most like ``docnum`` (whose headline and text are ``texts``), best
    first: a more-like-this query of its ``SIMILAR_TERMS`` lemmas of highest tf·idf,
    scored by BM25 over headlines and texts. Not the article itself; its copies, which
    are the most like it, come first (the caller shows them apart)."""
    counts: dict[str, int] = {}
    for text in texts:
        for term, positions in field_postings(text)[0].items():
            if term.isalpha() and len(term) > 2:
                counts[term] = counts.get(term, 0) + len(positions)
    documents = max(arrays.documents, 1)
    weight = {
        term: count * math.log(documents / (1 + arrays.term_frequency("text", term)))
        for term, count in counts.items()
    }
    terms = sorted(weight, key=lambda term: (-weight[term], term))[:SIMILAR_TERMS]
    score = np.zeros(arrays.size, dtype=np.float64)
    for term in terms:
        for field, boost in SIMILAR_FIELDS.items():
            ids, weights = arrays.bm25(field, term)
            score[ids] += boost * weights
    score[docnum] = 0.0
    score[~arrays.alive] = 0.0
    best = np.argsort(-score, kind="stable")[:limit]
    return [int(d) for d in best if score[d] > 0]
