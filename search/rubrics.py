"""Russian names for the rubric slugs that sources put in ``topic`` (``world``, ``ng_energiya``).

The sources name their rubrics by the slug in the article's URL; readers of a Russian page
should see «В мире», not ``world``. The names live in ``rubrics.tsv`` beside this module
(one ``slug<TAB>name`` a line), so adding a source's rubrics needs no code. Only what is
shown changes: filtering still matches the stored value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

#: What a rubric slug looks like: Latin letters and digits, ``_`` or ``-`` between.
_SLUG = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*", re.IGNORECASE)


@lru_cache(maxsize=1)
def rubric_names() -> dict[str, str]:
    """slug -> Russian name, read once from ``rubrics.tsv`` (``#`` starts a comment line)."""
    text = resources.files("search").joinpath("rubrics.tsv").read_text(encoding="utf-8")
    names: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            slug, name = line.split("\t")
            names[slug.strip()] = name.strip()
    return names


def is_slug(value: str) -> bool:
    return bool(_SLUG.fullmatch(value))


def rubric_label(value: str) -> str:
    """The name to show for a ``topic`` value.

    A known slug gets its Russian name; a value that is not a slug ("Политика") is a
    name already and is shown as it is; an unknown slug gives "" -- callers hide it,
    since a URL fragment like ``ng_new_section`` means nothing to a reader.
    """
    value = value.strip()
    if not is_slug(value):
        return value
    return rubric_names().get(value.lower(), "")
