"""The private internals of whoosh-reloaded and DAWG2-Python the code relies on exist.

``search/codec.py`` and ``search/bulk/`` subclass Whoosh's W3 writers and set
or call their private attributes, ``search/ranking.py`` reads posting blocks through
the W3 leaf matcher's private methods, and ``search/morphology.py`` walks the DAWG
units of pymorphy3's dictionary. The versions are pinned in ``pyproject.toml``; this
test makes an upgrade that renames any of them fail here, loudly, instead of
corrupting a build or slowing search.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from io import BytesIO
from pathlib import Path

import pytest
from whoosh.codec.whoosh3 import (
    W3Codec,
    W3FieldWriter,
    W3LeafMatcher,
    W3PerDocWriter,
    W3PostingsWriter,
    W3TermInfo,
)
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.filedb.structfile import StructFile
from whoosh.matching import FilterMatcher
from whoosh.writing import SegmentWriter

from search import indexer
from search.blocks import MATCHER_INTERNALS
from search.morphology import morph_analyzer

CLASS_INTERNALS = [
    (W3TermInfo, "_struct"),
    (W3PostingsWriter, "_write_block"),
    (W3FieldWriter, "_create_file"),
    (W3PerDocWriter, "_create_column"),
    (OrderedHashWriter, "_write_extras"),
    (SegmentWriter, "_finish"),
]
POSTINGS_WRITER_INTERNALS = ("_postfile", "_inlinelimit", "_blocklimit", "_format", "_terminfo")
CODEC_INTERNALS = ("_blocklimit", "_inlinelimit")


def test_pinned_versions_are_installed():
    pins = {
        line.split("==")[0].strip().strip('"').lower(): line.split("==")[1].strip().strip('",')
        for line in Path(__file__).parents[1].joinpath("pyproject.toml").read_text().splitlines()
        if "==" in line and line.strip().startswith('"')
    }
    for package in ("whoosh-reloaded", "pymorphy3", "pymorphy3-dicts-ru", "dawg2-python"):
        assert package in pins, f"{package} is not pinned in pyproject.toml"
        assert version(package) == pins[package], package


@pytest.mark.parametrize(
    ("owner", "name"), CLASS_INTERNALS, ids=lambda x: getattr(x, "__name__", x)
)
def test_whoosh_class_internals(owner, name):
    assert hasattr(owner, name), f"{owner.__name__}.{name} is gone: see search/codec.py"


def test_whoosh_instance_internals():
    writer = W3PostingsWriter(StructFile(BytesIO()), 128, False, inlinelimit=1)
    for name in POSTINGS_WRITER_INTERNALS:
        assert hasattr(writer, name), f"W3PostingsWriter().{name} is gone"
    codec = W3Codec()
    for name in CODEC_INTERNALS:
        assert hasattr(codec, name), f"W3Codec().{name} is gone"


def test_leaf_matcher_block_internals(tmp_path: Path):
    """A posting list of several blocks is read through the matcher's block methods."""
    source = tmp_path / "articles.jsonl"
    articles = [{"id": f"a{i}", "title": "Новости", "text": f"Переговоры {i}"} for i in range(300)]
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles))
    indexer.build(tmp_path / "index", [source])
    with indexer.open_live(tmp_path / "index").searcher() as searcher:
        reader = searcher.reader().leaf_readers()[0][0]
        matcher = reader.postings("title", "новость")
        assert isinstance(matcher, W3LeafMatcher)
        for name in MATCHER_INTERNALS:
            assert hasattr(matcher, name), f"W3LeafMatcher.{name} is gone: see search/blocks.py"
    # With a deletion, the segment wraps its postings; ranking.py unwraps them.
    indexer.delete(tmp_path / "index", ["a1"])
    with indexer.open_live(tmp_path / "index").searcher() as searcher:
        reader = searcher.reader().leaf_readers()[0][0]
        matcher = reader.postings("title", "новость")
        assert isinstance(matcher, FilterMatcher)
        assert isinstance(matcher.child, W3LeafMatcher)


def test_dawg_internals():
    words = morph_analyzer().dictionary.words
    for owner, name in ((words.dct, "_units"), (words.guide, "_units"), (words, "_struct")):
        assert hasattr(owner, name), f"{type(owner).__name__}.{name} is gone: see morphology.py"
