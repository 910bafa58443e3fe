"""URL parameters -> SearchRequest, shared by the page, the results fragment and the API.

Every malformed value becomes a ``SearchError`` (a 400 with a code and a message), so
no input reaches the engine in a shape that could fail there.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from search.query import MAX_QUERY_LENGTH
from search.searching import (
    MAX_PAGE,
    MAX_PER_PAGE,
    SearchError,
    SearchRequest,
    parse_date_option,
)

DEFAULT_PER_PAGE = 10
MAX_FILTER_LENGTH = 200
MAX_SUGGESTIONS = 10
#: The longest value of the other parameters (sort, page, dates, flags) worth reading.
MAX_OPTION_LENGTH = 20
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
_FALSE = {"0", "false", "no", "off"}
_TRUE = {"1", "true"}


def query_text(args: Mapping[str, str], required: bool = True) -> str:
    """The ``q`` parameter, checked for length (and, when ``required``, for emptiness)."""
    q = args.get("q", "")
    if len(q) > MAX_QUERY_LENGTH:
        raise SearchError(
            "query_too_long", f"q is {len(q)} characters long; at most {MAX_QUERY_LENGTH} allowed"
        )
    if required and not q.strip():
        raise SearchError("empty_query", "q must not be empty")
    return q


def whole_number(
    args: Mapping[str, str], name: str, default: int, low: int, high: int, code: str
) -> int:
    """An integer parameter; only plain ASCII digits in ``low..high`` are accepted."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not _WHOLE_NUMBER.fullmatch(raw.strip()) or not low <= int(raw) <= high:
        raise SearchError(code, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _filter_value(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name, "").strip()
    if len(value) > MAX_FILTER_LENGTH:
        raise SearchError(f"bad_{name}", f"{name} is longer than {MAX_FILTER_LENGTH} characters")
    return value or None


def _date(args: Mapping[str, str], name: str, last: bool) -> dt.date | None:
    value = args.get(name)
    if value is not None and len(value) > 20:
        raise SearchError("bad_date", f"bad date in {name}: use YYYY, YYYY-MM or YYYY-MM-DD")
    return parse_date_option(value, last=last)


def _digits(args: Mapping[str, str], name: str, default: int, wanted: str) -> int:
    """A count parameter as digits (its range is ``SearchRequest.validate``'s to check;
    ``wanted`` says it for a value that is no number at all)."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not _WHOLE_NUMBER.fullmatch(raw.strip()):
        raise SearchError(f"bad_{name}", f"{name} must be {wanted}")
    return int(raw)


def typing_flag(args: Mapping[str, str]) -> bool:
    """``typing=1`` (or ``true``): the last word is still being typed (search as you type)."""
    return args.get("typing", "").strip().lower() in _TRUE


def max_length(name: str) -> int:
    """The longest value of parameter ``name`` that a request may carry."""
    if name == "q":
        return MAX_QUERY_LENGTH
    if name in ("source", "topic", "tag"):
        return MAX_FILTER_LENGTH
    return MAX_OPTION_LENGTH


def search_request(args: Mapping[str, str]) -> SearchRequest:
    """The SearchRequest of the URL parameters (``q`` must be present).

    Values are parsed here (digits, dates); their ranges and the sort are checked once,
    by ``SearchRequest.validate``, for the page, the API and the command line alike.
    """
    request = SearchRequest(
        q=query_text(args),
        page=_digits(args, "page", 1, f"a whole number from 1 to {MAX_PAGE}"),
        per_page=_digits(
            args, "per_page", DEFAULT_PER_PAGE, f"a whole number from 1 to {MAX_PER_PAGE}"
        ),
        sort=args.get("sort") or "relevance",
        date_from=_date(args, "from", last=False),
        date_to=_date(args, "to", last=True),
        source=_filter_value(args, "source"),
        topic=_filter_value(args, "topic"),
        tag=_filter_value(args, "tag"),
        correct=args.get("correct", "1").strip().lower() not in _FALSE,
        typing=typing_flag(args),
        group=args.get("group") or "duplicates",
    )
    request.validate()
    return request
