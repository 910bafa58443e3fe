"""Publication dates as feeds and pages write them, to UTC.

RSS wants RFC 822 (``Mon, 02 Mar 2026 23:42:00 +0500``), Atom and sitemaps ISO 8601, and
Russian sites write what they like: ``02.03.2026 23:42``, ``2 марта 2026, 23:42``, RFC 822
with Russian day and month names or with ``MSK`` for a zone. A date that names no zone is in
the feed's own (``timezone`` in the feeds file). Dates are stored in UTC; the pages show them
in local time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
#: A date further ahead than this is a feed's mistake (or a wrong zone), not news.
MAX_AHEAD = dt.timedelta(days=1)

_ZONES = {"MSK": "+0300", "MSD": "+0400", "ALMT": "+0500", "YEKT": "+0500", "SAMT": "+0400"}
_RU_MONTHS = {
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "мая": 5, "май": 5, "июн": 6,
    "июл": 7, "авг": 8, "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
}  # fmt: skip
_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_RU_DAYS = re.compile(r"^\s*(пн|вт|ср|чт|пт|сб|вс)[а-я]*\.?,?\s*", re.IGNORECASE)
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_RU_NUMERIC = re.compile(
    r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(?:в\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
_RU_WORDS = re.compile(
    r"(\d{1,2})\s+([а-я]{3,8})\.?\s+(\d{4})(?:\s*г\.?)?(?:,?\s+(?:в\s+)?(\d{1,2}):(\d{2}))?",
    re.IGNORECASE,
)
_ZONE_NAME = re.compile(r"\s([A-Z]{3,4})\s*$")


def parse_date(
    text: str | None, zone: ZoneInfo, now: dt.datetime | None = None
) -> dt.datetime | None:
    """``text`` as an aware UTC datetime, or None when it is no date we can read (or lies
    more than a day ahead). A date without a time is midnight in ``zone``."""
    if not text or not text.strip():
        return None
    text = text.strip()
    local = _iso(text) or _ru_numeric(text) or _ru_words(text) or _rfc822(text)
    if local is None:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    when = local.astimezone(UTC)
    if when > (now or dt.datetime.now(UTC)) + MAX_AHEAD:
        return None
    return when


def _iso(text: str) -> dt.datetime | None:
    if not _ISO.fullmatch(text):
        return None
    text = text.replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", text) and "T" in text:
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _ru_numeric(text: str) -> dt.datetime | None:
    match = _RU_NUMERIC.fullmatch(text)
    if not match:
        return None
    day, month, year, hour, minute, second = match.groups()
    return _build(year, month, day, hour, minute, second)


def _ru_words(text: str) -> dt.datetime | None:
    match = _RU_WORDS.fullmatch(text)
    if not match:
        return None
    day, month_name, year, hour, minute = match.groups()
    month = _RU_MONTHS.get(month_name.lower()[:3])
    return _build(year, month, day, hour, minute, None) if month else None


def _rfc822(text: str) -> dt.datetime | None:
    """RFC 822 / RFC 2822, also with Russian day and month names or a zone like MSK."""
    text = _RU_DAYS.sub("", text)
    for name, number in _RU_MONTHS.items():
        text = re.sub(rf"\b{name}[а-я]*\.?", _EN_MONTHS[number - 1], text, flags=re.IGNORECASE)
    if (zone := _ZONE_NAME.search(text)) and zone[1] in _ZONES:
        text = text[: zone.start()] + " " + _ZONES[zone[1]]
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _build(year, month, day, hour, minute, second) -> dt.datetime | None:
    try:
        return dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None


def to_record(when: dt.datetime) -> str:
    """The date field of an article record: UTC, without the zone (``YYYY-MM-DDTHH:MM:SS``)."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
