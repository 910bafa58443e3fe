"""Rubric names: every rubric slug of the shared corpus has a Russian name in rubrics.tsv."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from conftest import CORPUS

from search.rubrics import is_slug, rubric_label, rubric_names


def test_the_names_file_is_well_formed():
    names = rubric_names()
    assert len(names) >= 90
    for slug, name in names.items():
        assert is_slug(slug) and slug == slug.lower(), slug
        assert re.search("[А-Яа-яЁё]", name), (slug, name)  # a Russian name, not a slug
        assert not is_slug(name), (slug, name)


@pytest.mark.corpus
def test_every_rubric_of_the_corpus_has_a_russian_name():
    topics: set[str] = set()
    for path in sorted(CORPUS.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            topics |= {json.loads(line).get("topic") or "" for line in lines}
    topics.discard("")
    assert len(topics) > 90
    unnamed = sorted(topic for topic in topics if not rubric_label(topic))
    assert not unnamed, f"add them to search/rubrics.tsv: {unnamed}"
    assert {rubric_label(t) for t in ("world", "ussr", "ng_energiya")} == {
        "В мире", "Бывший СССР", "НГ-Энергия"
    }  # fmt: skip
