"""The attention-over-time chart: an SVG drawn on the server, one link per bar.

It works without JavaScript: each bar is an SVG ``<a>`` (a Tab stop, with an
``aria-label``) around a ``<rect>`` with a ``<title>`` (the browser's tooltip), and
leads to the results of its period (``from``/``to``). The SVG stretches to the width
of the page (``preserveAspectRatio="none"``: bars may widen, there is no text in it
to distort) at a fixed height, so 40 months stay readable on a 390 px phone; the
labels (the first and last period, the highest count) are HTML around it. Compared
queries stand side by side in each period, one colour each (``series-N``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from search.timeline import Bucket, Timeline
from web.links import MONTHS, number, plural

WIDTH_PER_PERIOD = 10  # viewBox units; the height is 100
BAR_SHARE = 0.8  # of a period's width, split among the series
#: Month names in the nominative, for the labels of a month ("март 2018").
MONTH_NAMES = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip

#: The link of a bar: (query, first day, last day) -> URL.
BarLink = Callable[[str, dt.date, dt.date], str]


@dataclass(frozen=True)
class Chart:
    svg: Markup
    first: str  # the label of the first period
    last: str  # ... and of the last
    highest: int  # the highest count, the top of the scale
    interval: str


def period_end(start: dt.date, interval: str) -> dt.date:
    """The last day of the period starting on ``start``."""
    if interval == "day":
        return start
    if interval == "week":
        return start + dt.timedelta(days=6)
    if interval == "year":
        return dt.date(start.year, 12, 31)
    following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def period_label(start: dt.date, interval: str) -> str:
    """``2018``, ``март 2018``, ``неделя с 5 марта 2018``, ``5 марта 2018``."""
    if interval == "year":
        return str(start.year)
    if interval == "month":
        return f"{MONTH_NAMES[start.month - 1]} {start.year}"
    day = f"{start.day} {MONTHS[start.month - 1]} {start.year}"
    return f"неделя с {day}" if interval == "week" else day


def chart(timeline: Timeline, link: BarLink) -> Chart | None:
    """The chart of a timeline and its compared series; None when nothing is dated."""
    series = [(timeline.query, timeline.buckets), *((s.query, s.buckets) for s in timeline.series)]
    highest = max((b.count for _, buckets in series for b in buckets), default=0)
    if not highest:
        return None
    periods = len(timeline.buckets)
    width = periods * WIDTH_PER_PERIOD
    bar = WIDTH_PER_PERIOD * BAR_SHARE / len(series)
    left = WIDTH_PER_PERIOD * (1 - BAR_SHARE) / 2
    parts = [
        f'<svg class="timeline-chart" viewBox="0 0 {width} 100" preserveAspectRatio="none" '
        f'role="group" aria-label="Статьи по периодам">'
    ]
    for index, (query, buckets) in enumerate(series):
        parts.append(f'<g class="series series-{index}" data-query="{escape(query)}">')
        for period, bucket in enumerate(buckets):
            if bucket.count:
                x = period * WIDTH_PER_PERIOD + left + index * bar
                parts.append(_bar(query, bucket, timeline.interval, x, bar, highest, link))
        parts.append("</g>")
    parts.append("</svg>")
    first, last = timeline.buckets[0].start, timeline.buckets[-1].start
    return Chart(
        Markup("".join(parts)),
        period_label(first, timeline.interval),
        period_label(last, timeline.interval),
        highest,
        timeline.interval,
    )


def _bar(
    query: str, bucket: Bucket, interval: str, x: float, width: float, highest: int, link: BarLink
) -> str:
    height = max(100 * bucket.count / highest, 1.5)  # a single article still shows
    end = period_end(bucket.start, interval)
    count = f"{number(bucket.count)} {plural(bucket.count, 'статья', 'статьи', 'статей')}"
    label = escape(f"{period_label(bucket.start, interval)}, «{query}»: {count}")
    href = escape(link(query, bucket.start, end))
    return (
        f'<a class="bar" href="{href}" aria-label="{label}" data-count="{bucket.count}">'
        f"<title>{label}</title>"
        f'<rect x="{x:.2f}" y="{100 - height:.2f}" width="{width:.2f}" height="{height:.2f}"/>'
        "</a>"
    )
