"""The article record: what every input format is turned into before analysis."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Article:
    """One news article, as read from any source format.

    ``origin`` says where the record came from (``FILE:LINE``) so that later
    stages can still report a problem against the input.
    """

    id: str
    title: str = ""
    text: str = ""
    summary: str = ""
    date: dt.datetime | None = None  # a bare date is midnight
    url: str = ""
    source: str = ""
    topic: str = ""
    tags: list[str] = field(default_factory=list)
    origin: str = ""


@dataclass
class IngestProblem:
    """A record that was skipped (or read only in part), reported as ``FILE:LINE: reason``."""

    path: str
    line: int
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"
