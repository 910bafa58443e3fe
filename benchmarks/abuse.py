"""The slowest queries of at most 1,000 characters: fixed abusive ones, then a search.

Cheap-to-type queries once took seconds: ``-сша `` × 200 took 30-38 s and ``сша OR ``
× 143 20 s, since repeated words and synonym expansion were neither deduplicated nor
capped. This command times those, then lets hypothesis look for slower ones among
repeated words, operators, parentheses and synonyms (``hypothesis.target`` steers it
toward the slowest), and prints the slowest it found with its time.

    python -m benchmarks.abuse --index /tmp/corpus-index --examples 300

The target: every query answers in at most 1 s on the shared corpus (1×).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import click
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from search.query import MAX_QUERY_LENGTH
from search.searching import SearchEngine, SearchRequest

FIXED = {
    "-сша × 200": "-сша " * 200,
    "сша OR × 143": "сша OR " * 143,
    "(сша OR рф) × 83": "(сша OR рф) " * 83,
    "сша × 250": "сша " * 250,
    "-сша × 20": "-сша " * 20,
    '"сша рф" × 90': '"сша рф" ' * 90,
    "мид* × 200": "мид* " * 200,
}
#: Words with many lemma readings or synonyms, and operators, that queries are made of.
PIECES = [
    "сша", "рф", "ес", "мид", "россия", "оон", "нато", "путин", "выборы", "президент",
    "OR", "|", "ИЛИ", "НЕ", "-", "+", "!", "(", ")", '"', "*", "~3", "title:", "при",
    "стали", "мира", "всех", "нефть", "санкции",
]  # fmt: skip


def timed(engine: SearchEngine, q: str) -> float:
    started = time.perf_counter()
    engine.search(SearchRequest(q=q))
    return time.perf_counter() - started


def query_text(pieces: list[str], repeat: int, joiner: str) -> str:
    return (joiner.join(pieces) + " ") * repeat


@click.command()
@click.option("--index", "index_dir", type=click.Path(path_type=Path), required=True)
@click.option("--examples", type=int, default=200, show_default=True)
def main(index_dir: Path, examples: int) -> None:
    engine = SearchEngine(index_dir)
    timed(engine, "прогрев")
    click.echo("| query | chars | seconds |\n|---|---|---|")
    for name, q in FIXED.items():
        q = q[:MAX_QUERY_LENGTH]
        click.echo(
            f"| `{name}` | {len(q)} | {statistics.median(timed(engine, q) for _ in range(3)):.3f} |"
        )
    slowest: list[tuple[float, str]] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.lists(st.sampled_from(PIECES), min_size=1, max_size=12),
        st.integers(min_value=1, max_value=250),
        st.sampled_from([" ", "", " OR ", " -"]),
    )
    def search(pieces: list[str], repeat: int, joiner: str) -> None:
        q = query_text(pieces, repeat, joiner)[:MAX_QUERY_LENGTH]
        seconds = timed(engine, q)
        target(seconds)
        slowest.append((seconds, q))

    search()
    slowest.sort(reverse=True)
    click.echo(f"\nhypothesis: {len(slowest)} queries; the slowest:")
    for seconds, q in slowest[:5]:
        click.echo(f"  {seconds:.3f} s  {len(q)} chars  {q[:80]!r}…")


if __name__ == "__main__":
    main()
