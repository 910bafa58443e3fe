"""A worker's job: analyze documents' text fields, keep their postings, share, encode.

:class:`TextFields` says which fields the workers analyze and what a worker gets of
a document; :class:`Analyzer` is what runs in a worker (or in the writer's own
process when there is one process).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

from whoosh.fields import Schema
from whoosh.util.numeric import length_to_byte
from whoosh.writing import IndexingError

from search.analysis import field_postings
from search.bulk.postings import FieldPostings, add_counts, encode_terms
from search.duplicates import fingerprint
from search.schema import Fingerprint, LemmaText, SurfaceText

# Stands for a SurfaceText value that is the lemma fields' values joined by newlines
# (the worker counts its surface forms from their analysis); None stands for no value.
JOINED = True

# What a worker gets of a document: the values of the lemma fields, then of the
# surface fields (None: no value; JOINED: the lemma fields' values joined).
TextValues = tuple[list[str | None], list[Any]]

# A document's field lengths as a worker reports them: lemma fields, then surface fields;
# then, when the schema has a Fingerprint field, the document's fingerprint (bytes).
FieldLengths = tuple[int | bytes, ...]

# field -> [(term bytes, terminfo)], the terms a worker encoded, in term order.
TermRecords = dict[str, list[tuple[bytes, bytes]]]


class TextFields:
    """The fields the workers analyze: the schema's LemmaText and SurfaceText fields, and
    the Fingerprint field (at most one), which they work out from the lemma fields."""

    def __init__(self, schema: Schema):
        names = schema.names()
        self.lemma = [name for name in names if isinstance(schema[name], LemmaText)]
        self.surface = [name for name in names if isinstance(schema[name], SurfaceText)]
        self.names = self.lemma + self.surface
        # field -> its place in a worker's FieldLengths
        self.slots = {name: slot for slot, name in enumerate(self.names)}
        self._lemma_slots = {name: slot for slot, name in enumerate(self.lemma)}
        self.fingerprint = next((n for n in names if isinstance(schema[n], Fingerprint)), None)
        # the fingerprint's fields, and their lemma slots
        self.sourced: tuple[str, ...] = schema[self.fingerprint].sources if self.fingerprint else ()
        self.sources = [self._lemma_slots[name] for name in self.sourced]

    def values(self, fields: Mapping[str, Any]) -> TextValues:
        """What a worker gets of the document ``fields``."""
        lemma_values: list[str | None] = [None] * len(self.lemma)
        joined = []
        for fieldname, value in fields.items():  # in the document's order, as joined
            slot = self._lemma_slots.get(fieldname)
            if slot is not None and value is not None:
                lemma_values[slot] = value
                joined.append(value)
        surface_values: list[Any] = []
        for fieldname in self.surface:
            value = fields.get(fieldname)
            if value is not None and joined and value == "\n".join(joined):
                value = JOINED
            surface_values.append(value)
        if self.fingerprint:
            value = fields.get(self.fingerprint)
            if value is not None and tuple(value) != tuple(fields.get(n) for n in self.sourced):
                raise IndexingError(f"{self.fingerprint} must be the texts of {self.sourced}")
        return lemma_values, surface_values


class Analyzer:
    """What a worker does: analyze chunks of documents, keep and at last encode their
    postings. Lemma fields keep encoded positions; surface fields counts (their
    Frequency-format values are made from the counts when encoding).

    Documents are numbered locally, from 0 in the order the worker gets them;
    :meth:`share` moves them to their final numbers.
    """

    def __init__(self, schema: Schema, fields: TextFields, limits: tuple[int, int]):
        self.schema = schema
        self.sources = fields.sources if fields.fingerprint else None
        self.limits = limits  # the codec's postings per block and inlining limit
        self.names = fields.names
        self.encoders = [schema[name].format.encode for name in fields.lemma]
        self.lemma = [FieldPostings(True) for _ in fields.lemma]
        self.surface = [FieldPostings(False) for _ in fields.surface]
        self.lengths = [bytearray() for _ in self.names]  # length byte per local doc
        self.count = 0
        self.mine: tuple[list[bytes], dict[str, dict[bytes, list]]] | None = None

    def analyze(self, docs: list[TextValues]) -> list[FieldLengths]:
        """Add a chunk of documents; return each one's field lengths (lemma fields,
        then surface fields) and fingerprint, if the schema has one."""
        reported = []
        tables = self.lengths
        for lemma_values, surface_values in docs:
            docnum = self.count
            self.count += 1
            lengths: list[int | bytes] = []
            counted: list[dict[str, int]] = []
            analyses: list[dict[str, list[int]]] = []
            for postings, encode, value in zip(
                self.lemma, self.encoders, lemma_values, strict=True
            ):
                if value is None:
                    lengths.append(0)
                    analyses.append({})
                    continue
                found, surfaces = field_postings(value)
                analyses.append(found)
                counted.append(surfaces)
                lengths.append(postings.add_positions(docnum, found, encode))
            for postings, value in zip(self.surface, surface_values, strict=True):
                if value is None:
                    lengths.append(0)
                    continue
                counts = add_counts(counted) if value is JOINED else field_postings(value)[1]
                lengths.append(postings.add_counts(docnum, counts))
            for table, length in zip(tables, lengths, strict=True):
                table.append(length_to_byte(length))
            if self.sources is not None:
                lengths.append(fingerprint([analyses[slot] for slot in self.sources]))
            reported.append(tuple(lengths))
        return reported

    def share(self, number: int, bases: Sequence[int], folder: str) -> None:
        """Divide the postings among the workers by term: keep this worker's part,
        leave each other worker's (with this worker's field lengths) in ``folder``.
        ``bases``: each worker's first final document number."""
        fields = self.lemma + self.surface
        self.lemma = self.surface = []
        shares: list[dict[str, dict]] = [{} for _ in bases]
        for name, postings in zip(self.names, fields, strict=True):
            for share, part in zip(shares, postings.split(bases[number], len(bases)), strict=True):
                share[name] = part
        lengths = [bytes(table) for table in self.lengths]
        for other, share in enumerate(shares):
            if other == number:
                self.mine = (lengths, share)
            else:
                with open(_share_path(folder, number, other), "wb") as out:
                    pickle.dump((lengths, share), out, protocol=pickle.HIGHEST_PROTOCOL)

    def encode(self, number: int, workers: int, folder: str, path: str) -> TermRecords:
        """Encode this worker's part of the postings (all workers' documents) into
        ``path``: field -> [(term bytes, terminfo)] with offsets in that file."""
        sources = []
        for other in range(workers):
            if other == number:
                sources.append(self.mine)
                self.mine = None
            else:
                share_path = _share_path(folder, other, number)
                with open(share_path, "rb") as data:
                    sources.append(pickle.load(data))
                os.remove(share_path)
        records = {}
        offset = 0
        with open(path, "wb") as out:
            for index, name in enumerate(self.names):
                postings = sources[0][1].pop(name)
                for _, share in sources[1:]:  # in worker order, which is document order
                    for btext, interleaved in share.pop(name).items():
                        known = postings.get(btext)
                        if known is None:
                            postings[btext] = interleaved
                        else:
                            known += interleaved
                lengths = b"".join(source[0][index] for source in sources)
                fixedsize = self.schema[name].format.fixed_value_size()
                positional = index < len(self.encoders)
                records[name], offset = encode_terms(
                    postings, positional, out.write, offset, lengths, fixedsize, self.limits
                )
        return records


def _share_path(folder: str, source: int, target: int) -> str:
    """The file in which worker ``source`` leaves worker ``target`` its postings."""
    return os.path.join(folder, f"share-{source}-{target}")
