"""The Whoosh schema: analyzed fields built on the Russian analyzer, stored display fields.

Lemma fields (title, summary, text) keep positions for phrase search; the ``exact``
field holds the surface forms of all three, for exact-form search (``!word``) and the
exact-form ranking bonus. The article text is stored zlib-compressed: uncompressed, it
would be most of the index's size.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from operator import sub

import numpy as np
from whoosh import columns, fields, formats
from whoosh.fields import Schema
from whoosh.system import pack_uint

from search import duplicates
from search.analysis import RussianAnalyzer, field_postings


def _varint(number: int) -> bytes:
    out = bytearray()
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


# The codes of all one- and two-byte varints: encoding a position list is then a join
# of table entries, done in C, where the loop over bits cost some 40% of an index build.
_VARINTS = {number: _varint(number) for number in range(1 << 14)}


class PackedPositions(formats.Positions):
    """Positions as varint-coded deltas.

    Whoosh's own Positions format pickles a list per posting, which made the index
    about three times larger than the text it holds.
    """

    def encode(self, poslist: list[int]) -> bytes:
        """Positions, in increasing order, as bytes."""
        if len(poslist) == 1:
            code = _VARINTS.get(poslist[0])
            if code is not None:
                return code
        else:
            try:
                return b"".join(map(_VARINTS.__getitem__, map(sub, poslist, [0, *poslist])))
            except KeyError:  # a gap of 2**14 or more (or a negative one: an error)
                pass
        return b"".join(map(_varint, map(sub, poslist, [0, *poslist])))

    def decode_positions(self, valuestring: bytes) -> list[int]:
        positions = []
        pos = delta = shift = 0
        for byte in valuestring:
            delta |= (byte & 0x7F) << shift
            if byte & 0x80:
                shift += 7
            else:
                pos += delta
                positions.append(pos)
                delta = shift = 0
        return positions

    def decode_all(self, values: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """The positions of many posting values at once, in NumPy: the number of the
        value each position is of, and the position (ascending within a value).

        A phrase that many articles may hold reads thousands of values: decoded one
        byte at a time in Python, they were a third of the 0.4 s that «европейский
        союз» (the synonym of «евросоюз») took at a million articles.
        """
        if not values:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        data = np.frombuffer(b"".join(values), dtype=np.uint8)
        payload = (data & 0x7F).astype(np.int64)
        last = np.flatnonzero(data < 0x80)  # the last byte of each varint
        first = np.empty_like(last)
        first[0] = 0
        first[1:] = last[:-1] + 1
        deltas = payload[first]
        for extra in range(1, int((last - first).max()) + 1):
            more = first + extra <= last
            deltas[more] |= payload[first[more] + extra] << (7 * extra)
        value_ends = np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))
        owner = np.searchsorted(value_ends, last, side="right")
        running = np.concatenate(([0], np.cumsum(deltas)))
        counts = np.bincount(owner, minlength=len(values))
        begins = np.cumsum(counts) - counts  # each value's first varint
        return owner, running[1:] - running[begins][owner]

    def decode_frequency(self, valuestring: bytes) -> int:
        return sum(1 for byte in valuestring if not byte & 0x80)

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost


class LemmaText(fields.TEXT):
    """A TEXT field whose indexing takes the analyzer's fast path."""

    def __init__(self, **kwargs):
        super().__init__(analyzer=RussianAnalyzer(), **kwargs)
        self.format = PackedPositions()

    def index(self, value, **kwargs):
        postings, _ = field_postings(value)
        encode = self.format.encode
        for term, positions in postings.items():
            yield term.encode("utf-8"), len(positions), float(len(positions)), encode(positions)


class SurfaceText(fields.TEXT):
    """Surface forms only, with frequencies (no positions)."""

    def __init__(self):
        super().__init__(analyzer=RussianAnalyzer(surface=True), phrase=False)
        self.format = formats.Frequency()

    def index(self, value, **kwargs):
        _, surfaces = field_postings(value)
        for surface, count in surfaces.items():
            yield surface.encode("utf-8"), count, float(count), pack_uint(count)


class Fingerprint(fields.COLUMN):
    """An article's fingerprint (``search.duplicates``), a column of fixed-width bytes.

    Its value is the tuple of the texts of ``duplicates.SOURCES``; the bulk writer works
    the fingerprint out from the analysis of those fields instead of analyzing them again.
    Indexes built before it have no such column: their articles have no duplicates.
    """

    sources = duplicates.SOURCES

    def __init__(self):
        super().__init__(columns.FixedBytesColumn(duplicates.FINGERPRINT_BYTES))

    def to_column_value(self, value: tuple[str, ...]) -> bytes:
        return duplicates.text_fingerprint(value)


def build_schema() -> Schema:
    """The schema of a new index."""
    return Schema(
        id=fields.ID(unique=True, stored=True),
        title=LemmaText(stored=True),
        summary=LemmaText(stored=True),
        text=LemmaText(stored=False),
        exact=SurfaceText(),
        text_zlib=fields.STORED(),
        url=fields.STORED(),
        date=fields.DATETIME(stored=True, sortable=True),
        source=fields.ID(stored=True, sortable=True),
        topic=fields.ID(stored=True, sortable=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        year=fields.NUMERIC(stored=False, sortable=True),
        fingerprint=Fingerprint(),
    )


def compress_text(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 4)


def decompress_text(blob: bytes | None) -> str:
    return zlib.decompress(blob).decode("utf-8") if blob else ""
