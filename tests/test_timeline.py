"""Attention over time (``search.timeline``) on the web test corpus and a small index of
far-apart dates: counts add up to the search's total, buckets, compared series, limits."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import build_index

from search.searching import SearchEngine, SearchError, SearchRequest
from search.timeline import (
    MAX_BUCKETS,
    axis,
    bucket_starts,
    choose_interval,
    compared_matches,
    timeline,
)


@pytest.fixture(scope="module")
def engine(web_corpus) -> SearchEngine:
    return SearchEngine(web_corpus.root)


def of(engine: SearchEngine, q: str, *compare: str, interval="month", by_source=False, **filters):
    request = SearchRequest(q=q, **filters)
    return timeline(compared_matches(engine, request, compare), [q, *compare], interval, by_source)


@pytest.mark.parametrize("q", ["переговоры", "волонтёры", "нефть OR газ", "-переговоры"])
def test_the_counts_and_the_undated_add_up_to_the_total_of_the_search(engine, q):
    found = of(engine, q, interval="year")
    assert found.total == engine.search(SearchRequest(q=q)).total > 0
    assert found.undated + sum(b.count for b in found.buckets) == found.total


def test_an_undated_article_is_counted_apart(engine):
    found = of(engine, "волонтёры")
    assert (found.total, found.undated, found.buckets) == (1, 1, [])


def test_filters_apply_as_in_the_search(engine):
    filters = {"source": "ТАСС", "date_from": dt.date(2020, 1, 1)}
    found = of(engine, "переговоры", interval="year", **filters)
    assert found.total == engine.search(SearchRequest(q="переговоры", **filters)).total
    assert found.buckets[0].start >= dt.date(2020, 1, 1)


def test_buckets_run_from_the_first_to_the_last_period_with_the_empty_ones(engine):
    found = of(engine, "переговоры", interval="month")
    starts = [b.start for b in found.buckets]
    assert all(s.day == 1 for s in starts)
    assert (
        len(starts)
        == (starts[-1].year - starts[0].year) * 12 + starts[-1].month - starts[0].month + 1
    )
    assert any(b.count == 0 for b in found.buckets) and found.buckets[0].count > 0


def test_by_source_splits_each_bucket(engine):
    found = of(engine, "переговоры", interval="year", by_source=True)
    assert all(sum(b.by_source.values()) == b.count for b in found.buckets)
    assert {"ТАСС", "RT"} <= {s for b in found.buckets for s in b.by_source}
    assert of(engine, "переговоры", interval="year").buckets[0].by_source is None


def test_compared_queries_share_the_buckets(engine):
    found = of(engine, "переговоры", "нефть", "футбол", interval="year")
    assert [s.query for s in found.series] == ["нефть", "футбол"]
    for series in found.series:
        assert [b.start for b in series.buckets] == [b.start for b in found.buckets]
        assert series.total == engine.search(SearchRequest(q=series.query)).total
        assert series.undated + sum(b.count for b in series.buckets) == series.total
    assert found.buckets[0].start == dt.date(2018, 1, 1)  # футбол-2018 and the talks


def test_bad_interval_and_too_many_queries(engine):
    with pytest.raises(SearchError) as bad:
        of(engine, "переговоры", interval="hour")
    assert bad.value.code == "bad_interval"
    with pytest.raises(SearchError) as many:
        of(engine, "переговоры", "нефть", "газ", "футбол")
    assert many.value.code == "too_many_queries"


def test_bucket_starts_agree_with_the_calendar():
    days = [dt.date(2015, 12, 27) + dt.timedelta(days=n) for n in range(800)] + [dt.date(1, 1, 1)]
    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
    expected = {
        "day": days,
        "week": [d - dt.timedelta(days=d.weekday()) for d in days],
        "month": [d.replace(day=1) for d in days],
        "year": [d.replace(month=1, day=1) for d in days],
    }
    for interval, starts in expected.items():
        got = bucket_starts(ordinals, interval)
        assert [dt.date.fromordinal(o) for o in got.tolist()] == starts, interval


def test_axis_and_the_interval_chosen_for_a_chart():
    first, last = dt.date(2018, 3, 5).toordinal(), dt.date(2020, 2, 1).toordinal()
    months = axis(dt.date(2018, 3, 1).toordinal(), dt.date(2020, 2, 1).toordinal(), "month")
    assert [dt.date.fromordinal(o) for o in months[[0, 1, -1]].tolist()] == [
        dt.date(2018, 3, 1), dt.date(2018, 4, 1), dt.date(2020, 2, 1)
    ]  # fmt: skip
    assert months.size == 24
    assert choose_interval(first, first + 20) == "day"
    assert choose_interval(first, first + 200) == "week"
    assert choose_interval(first, last) == "month"
    assert choose_interval(first, dt.date(2030, 1, 1).toordinal()) == "year"


def test_an_axis_too_long_asks_for_a_longer_interval(tmp_path):
    articles = [
        {"id": "old", "title": "Старая заметка о реформе", "date": "1900-01-01"},
        {"id": "new", "title": "Новая заметка о реформе", "date": "2024-01-01"},
    ]
    engine = SearchEngine(build_index(tmp_path, articles))
    with pytest.raises(SearchError) as error:
        of(engine, "заметка", interval="day")
    assert error.value.code == "too_many_buckets" and str(MAX_BUCKETS) in error.value.message
    assert len(of(engine, "заметка", interval="year").buckets) == 125
