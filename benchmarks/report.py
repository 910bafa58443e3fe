"""The Markdown report (``benchmarks/RESULTS.md``) of a benchmark run, from its raw figures.

Rendering is separate from measuring so that the report can be regenerated from the JSON of a
run (``python -m benchmarks.report benchmarks/out/results.json``) after a wording change,
without measuring again.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import click

from benchmarks.evaluate import ALL
from benchmarks.peers import PG_BIN_DIR
from benchmarks.quiet import QUIET_SHARE

MB = 1_000_000
OURS = "ours"
#: The topical measures of the report, as ``search.evaluation`` names them, and their headings.
TOPICAL_MEASURES = ("ndcg@10", "p@10", "ap@100")
TOPICAL_COLUMNS = ("nDCG@10", "P@10", "AP@100")
KIND_ORDER = ("inflected", "lead", "yo", "layout", "typo", ALL)

#: The targets of the issue, for 2 cores. Build speed is ours at every scale; latency is the
#: p95 of the search function (snippets and facets included) at the given scale.
TARGET_DOCS_PER_S = 300.0
TARGET_P95_MS = {1: 30.0, 10: 150.0}
TARGET_SERVER_RPS = 100.0
TARGET_SERVER_P95_MS = 100.0
TARGET_SERVER_CONCURRENCY = 4

#: What each engine indexes and how it is queried, for the report.
ENGINE_NOTES: dict[str, str] = {
    "ours": (
        "`search.indexer.build` on all cores: title, summary and text lemmatized with pymorphy3 "
        "(every normal form of an ambiguous word, with positions), the surface forms of all "
        "three in an `exact` field, stored title, summary, zlib-compressed text, url, date, "
        "source, topic and tags (for snippets and facets). Searched through "
        "`SearchEngine.search` (the function of the CLI, API and web page): keyboard-layout and "
        "spelling correction, BM25F with coverage, headline and proximity bonuses, snippets and "
        "facets of every query included in its latency."
    ),
    "postgresql": (
        "PostgreSQL 15 in a temporary cluster: a table of id, title, summary and text with a "
        "stored generated `tsvector` (`russian` configuration; weights title A, summary B, "
        "text C) and a GIN index; `websearch_to_tsquery('russian', q)`, ranked by "
        "`ts_rank_cd`. Size = table with TOAST (the text) + GIN + primary key."
    ),
    "tantivy": (
        "tantivy (PyPI) with title, summary and text through the simple tokenizer, lower-case "
        "and the Snowball Russian stemmer; only the id is stored. tantivy's query parser "
        "(OR of the terms over the three fields, BM25)."
    ),
    "whoosh-stock": (
        'Whoosh with `LanguageAnalyzer("ru")` (stop words, Snowball stemmer) on title, '
        "summary and text, only the id stored; the default `MultifieldParser` (all terms "
        "required), BM25F, one writer process."
    ),
}


# --------------------------------------------------------------------------------------------
# The machine and the software


def cpu_model() -> str:
    """The ``model name`` of the first CPU in /proc/cpuinfo (the machine name if missing)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def total_memory_bytes() -> int:
    """``MemTotal`` from /proc/meminfo, in bytes (0 if unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _postgres_version() -> str:
    postgres = PG_BIN_DIR / "postgres"
    if not postgres.exists():
        return "not installed"
    proc = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip().removeprefix("postgres (PostgreSQL) ") or "unknown"


def machine_info() -> dict:
    """Cores, memory, CPU model and the versions of everything measured."""
    return {
        "cpus": os.cpu_count(),
        "ram_bytes": total_memory_bytes(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {
            "whoosh-reloaded": _version("whoosh-reloaded"),
            "pymorphy3": _version("pymorphy3"),
            "numpy": _version("numpy"),
            "gunicorn": _version("gunicorn"),
            "tantivy": _version("tantivy"),
            "psycopg2-binary": _version("psycopg2-binary"),
            "postgresql": _postgres_version(),
        },
    }


# --------------------------------------------------------------------------------------------
# Formatting helpers


def _ratio(ours: float, peer: float, digits: int = 2) -> str:
    """``ours / peer`` as ``1.23×``; ``∞`` when only the peer is 0, ``–`` when both are."""
    if peer == 0:
        return "∞" if ours > 0 else "–"
    return f"{ours / peer:.{digits}f}×"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """A Markdown table; ``align`` is one character (l/r) a column, default left then right."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _done(results: list[dict]) -> list[dict]:
    return [r for r in results if "skipped" not in r]


def _find(results: list[dict], engine: str) -> dict | None:
    return next((r for r in _done(results) if r["engine"] == engine), None)


def _kinds(results: list[dict]) -> list[str]:
    """The query kinds of ``results``: the known ones in README order, others, then "all"."""
    present = list(dict.fromkeys(kind for r in _done(results) for kind in r["by_kind"]))
    known = [k for k in KIND_ORDER if k in present and k != ALL]
    others = [k for k in present if k not in KIND_ORDER]
    return known + others + ([ALL] if ALL in present else [])


def _scale_run(data: dict, scale: int) -> dict | None:
    return next((run for run in data["scales"] if run["scale"] == scale), None)


# --------------------------------------------------------------------------------------------
# Sections


def _share(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _load_note(data: dict) -> list[str]:
    """How busy the machine was with other work before and while each engine ran."""
    rows = [
        (f"{r['engine']} {run['scale']}×", r.get("background_cpu"), r.get("others_cpu"))
        for run in data["scales"]
        for r in _done(run["results"])
        if "background_cpu" in r or "others_cpu" in r
    ]
    server = data.get("server") or {}
    during = [
        lv["others_cpu"] for lv in server.get("levels", []) if lv.get("others_cpu") is not None
    ]
    if server:
        rows.append(("server", server.get("background_cpu"), max(during, default=None)))
    if not rows:
        return []
    worst = max((v for _, before, during in rows for v in (before, during) if v is not None),
                default=0.0)  # fmt: skip
    verdict = (
        "the machine was quiet"
        if worst < QUIET_SHARE
        else "**other work was running: figures measured then are pessimistic**"
    )
    return [
        "- **Other load:** the share of the CPUs busy with other people's processes just "
        "before each engine started (the benchmark waits up to `--max-wait` seconds for it to "
        f"drop below {QUIET_SHARE:.0%}) / while it ran: "
        + ", ".join(f"{name} {_share(b)} / {_share(d)}" for name, b, d in rows)
        + f"; {verdict}."
    ]


def format_header(data: dict) -> list[str]:
    meta = data["meta"]
    machine = meta["machine"]
    corpus = meta["corpus"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    sample = (
        f" **Quick mode: a sample of {meta['sample']} articles (half of them judged); "
        "scores are not comparable with full runs.**"
        if meta.get("sample")
        else ""
    )
    return [
        "# Benchmark results",
        "",
        f"Generated by `{meta['command']}` on {meta['date']} "
        f"(run took {meta.get('seconds', 0) / 60:.0f} min).{sample}",
        "",
        f"- **Machine:** {machine['cpus']} cores, {machine['ram_bytes'] / 2**30:.1f} GiB RAM, "
        f"CPU `{machine['cpu_model']}`; {machine['platform']}, Python {machine['python']}.",
        f"- **Software:** {versions}.",
        f"- **Corpus:** `{corpus['path']}`: {corpus['articles']:,} articles "
        f"({corpus['chars'] / MB:.1f} M characters of title + summary + text); "
        f"judgements `{meta['judgements']['path']}`: {meta['judgements']['queries']:,} "
        "known-item queries (kinds: "
        + ", ".join(f"{kind} {n}" for kind, n in meta["judgements"]["kinds"].items())
        + ").",
        f"- **Scales:** {', '.join(f'{s}×' for s in meta['scales'])}. At N× the corpus is "
        "replicated N times with new ids (`rt-123#2`, ...) and the same text: no text is "
        "invented, so the vocabulary does not grow, only the postings (and caches of "
        "lemmatization hit more often than on new text, which flatters build speed at N×). "
        "Relevance is compared at 1×; at N× every copy of a relevant article counts as "
        "relevant and only MRR@10 is shown, as a check: an article ranked r-th at 1× comes "
        "after N copies of each article above it, so at 10× MRR@10 is about the share of "
        "queries answered first at 1×.",
        *_load_note(data),
        "- **Measuring:** engines run one after another (never two at once). Build time is the "
        "wall time from the articles in memory (ours: a JSON Lines file, as `index build` "
        "reads) to a searchable index on disk. Latency is the wall time of each of the "
        "judged queries, one at a time, for the top 10, after one untimed warm-up query "
        "(its time is reported as *first query*).",
        "",
    ]


def format_engines(data: dict) -> list[str]:
    meta = data["meta"]
    lines = ["## What each engine indexes", ""]
    for engine in meta["engines"]:
        lines.append(f"- **{engine}**: {ENGINE_NOTES.get(engine, '')}")
    notes = []
    for engine in meta["engines"]:
        skipped = [
            run["scale"]
            for run in data["scales"]
            for r in run["results"]
            if r["engine"] == engine and "skipped" in r
        ]
        ran = [(run["scale"], r) for run in data["scales"]
               for r in _done(run["results"]) if r["engine"] == engine]  # fmt: skip
        if not skipped:
            continue
        if ran:
            scale, r = ran[-1]
            largest = max(skipped)
            minutes = largest * r["docs"] / scale / r["docs_per_s"] / 60
            notes.append(f"{engine} ran at {', '.join(f'{s}×' for s, _ in ran)} only: at its "
                         f"{r['docs_per_s']:.0f} docs/s ({scale}×), {largest}× would take about "
                         f"{minutes:.0f} minutes to build.")  # fmt: skip
        else:
            reason = next(r["skipped"] for run in data["scales"] for r in run["results"]
                          if r["engine"] == engine and "skipped" in r)  # fmt: skip
            notes.append(f"{engine} did not run: {reason}")
    if notes:
        lines += ["", *[f"- *{note}*" for note in notes]]
    return [*lines, ""]


def format_targets(data: dict) -> list[str]:
    """Each target of the issue with our figure and whether it is met."""
    rows: list[list[str]] = []

    def add(target: str, measured: str, met: bool | None) -> None:
        rows.append([target, measured, "–" if met is None else ("**yes**" if met else "no")])

    for run in data["scales"]:
        ours = _find(run["results"], OURS)
        if ours is not None:
            add(
                f"index build ≥ {TARGET_DOCS_PER_S:.0f} docs/s ({run['scale']}×)",
                f"{ours['docs_per_s']:.0f} docs/s",
                ours["docs_per_s"] >= TARGET_DOCS_PER_S,
            )
    for scale, limit in TARGET_P95_MS.items():
        run = _scale_run(data, scale)
        ours = _find(run["results"], OURS) if run else None
        if ours is not None:
            p95 = ours["latency_ms"]["p95"]
            add(f"search p95 ≤ {limit:.0f} ms ({scale}×)", f"{_ms(p95)} ms", p95 <= limit)
    base = data["scales"][0] if data["scales"] else None
    if base is not None and _find(base["results"], OURS) is not None:
        ours = _find(base["results"], OURS)
        behind = []
        for peer in _done(base["results"]):
            if peer["engine"] == OURS:
                continue
            for kind, stats in ours["by_kind"].items():
                peer_mrr = peer["by_kind"].get(kind, {}).get("mrr", 0.0)
                if stats["mrr"] <= peer_mrr and stats["mrr"] < 1.0:
                    behind.append(
                        f"{kind} vs {peer['engine']} ({stats['mrr']:.3f} ≤ {peer_mrr:.3f})"
                    )
        add(
            f"MRR@10 ahead of every peer on every kind ({base['scale']}×; a perfect 1.000 "
            "counts as ahead)",
            "ahead everywhere" if not behind else "not ahead: " + "; ".join(behind),
            not behind,
        )
    server = data.get("server")
    level = None
    if server:
        level = next(
            (lv for lv in server["levels"] if lv["concurrency"] == TARGET_SERVER_CONCURRENCY), None
        )
    if level is not None:
        p95 = level["latency_ms"]["p95"]
        add(
            f"server ≥ {TARGET_SERVER_RPS:.0f} req/s with p95 < {TARGET_SERVER_P95_MS:.0f} ms "
            f"(concurrency {TARGET_SERVER_CONCURRENCY})",
            f"{level['rps']:.0f} req/s, p95 {_ms(p95)} ms",
            level["rps"] >= TARGET_SERVER_RPS
            and p95 < TARGET_SERVER_P95_MS
            and level["errors"] == 0,
        )
    cpus = data["meta"]["machine"]["cpus"]
    note = "" if cpus == 2 else f" The targets are set for 2 cores; this machine has {cpus}."
    return [
        "## Targets",
        "",
        f"Ours against the targets of the issue.{note}",
        "",
        *_table(["target", "measured", "met"], rows, "lll"),
        "",
    ]


def format_overview(run: dict) -> list[str]:
    """Speed, size, latency and overall relevance of every engine at one scale."""
    rows = []
    for r in _done(run["results"]):
        lat = r["latency_ms"]
        overall = r["by_kind"].get(ALL, {"mrr": 0.0, "recall": 0.0})
        rows.append(
            [
                f"**{r['engine']}**" if r["engine"] == OURS else r["engine"],
                f"{r['docs']:,}",
                f"{r['build_s']:.1f}",
                f"{r['docs_per_s']:,.0f}",
                f"{r['size_mb']:.1f}",
                _ms(r.get("first_query_ms", 0.0)),
                _ms(lat["p50"]),
                _ms(lat["p95"]),
                _ms(lat["p99"]),
                f"{overall['mrr']:.3f}",
                f"{overall['recall']:.3f}",
            ]
        )
    lines = _table(
        [
            "engine",
            "docs",
            "build s",
            "docs/s",
            "index MB",
            "first query ms",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "MRR@10",
            "recall@10",
        ],
        rows,
    )
    for r in run["results"]:
        if "skipped" in r:
            lines.append(f"\n*{r['engine']} skipped: {r['skipped']}*")
    return lines


def format_relevance(run: dict, key: str = "by_kind") -> list[str]:
    """MRR@10 / recall@10 of every engine on every query kind (``key``: of the judgements,
    or ``heldout_by_kind`` of the held-out queries)."""
    done = [r for r in _done(run["results"]) if key in r]
    header = [
        "kind",
        "n",
        *[f"**{r['engine']}**" if r["engine"] == OURS else r["engine"] for r in done],
    ]
    rows = []
    for kind in _kinds(done):
        n = max(r[key].get(kind, {}).get("n", 0) for r in done)
        cells = []
        for r in done:
            s = r[key].get(kind)
            cells.append(f"{s['mrr']:.3f} / {s['recall']:.3f}" if s else "–")
        rows.append([kind, str(n), *cells])
    return _table(header, rows, "lr" + "r" * len(done))


def format_topical(run: dict) -> list[str]:
    """nDCG@10 / P@10 / AP@100 of every engine on the topical judgements and the held-out tags
    (``topical`` and ``topical_heldout`` of each result), one row an engine."""
    done = [r for r in _done(run["results"]) if "topical" in r]
    sets = [key for key in ("topical", "topical_heldout") if any(key in r for r in done)]
    titles = {"topical": "judgements", "topical_heldout": "held-out tags"}
    header = ["engine", *(f"{titles[key]}: {m}" for key in sets for m in TOPICAL_COLUMNS)]
    rows = []
    for r in done:
        name = f"**{r['engine']}**" if r["engine"] == OURS else r["engine"]
        cells = []
        for key in sets:
            scores = r.get(key, {}).get(ALL)
            cells += [f"{scores[m]:.3f}" if scores else "–" for m in TOPICAL_MEASURES]
        rows.append([name, *cells])
    return _table(header, rows, "l" + "r" * (len(header) - 1))


def format_ratios(run: dict) -> list[str]:
    """Our figures divided by each peer's: above 1 is better for speed and relevance, below 1
    is better for size and latency."""
    ours = _find(run["results"], OURS)
    peers = [r for r in _done(run["results"]) if r["engine"] != OURS]
    if ours is None or not peers:
        return []
    rows = [
        [
            "build docs/s (higher is better)",
            *[_ratio(ours["docs_per_s"], p["docs_per_s"]) for p in peers],
        ],
        [
            "index size (lower is better)",
            *[_ratio(ours["size_bytes"], p["size_bytes"]) for p in peers],
        ],
        [
            "latency p50 (lower is better)",
            *[_ratio(ours["latency_ms"]["p50"], p["latency_ms"]["p50"], 1) for p in peers],
        ],
        [
            "latency p95 (lower is better)",
            *[_ratio(ours["latency_ms"]["p95"], p["latency_ms"]["p95"], 1) for p in peers],
        ],
    ]
    for kind in _kinds([ours]):
        rows.append(
            [
                f"MRR@10 {kind} (higher is better)",
                *[
                    _ratio(ours["by_kind"][kind]["mrr"], p["by_kind"].get(kind, {}).get("mrr", 0.0))
                    for p in peers
                ],
            ]
        )
    return _table(["ours ÷ peer", *[p["engine"] for p in peers]], rows)


def format_scaling(data: dict) -> list[str]:
    """Build speed, size and latency of every engine at every scale."""
    header = ["engine", "scale", "docs", "build s", "docs/s", "index MB", "p50 ms", "p95 ms",
              "MRR@10 (copies relevant)"]  # fmt: skip
    rows = []
    engines = list(dict.fromkeys(r["engine"] for run in data["scales"] for r in run["results"]))
    for engine in engines:
        for run in data["scales"]:
            r = next((x for x in run["results"] if x["engine"] == engine), None)
            if r is None:
                continue
            name = f"**{engine}**" if engine == OURS else engine
            if "skipped" in r:
                rows.append([name, f"{run['scale']}×", "skipped", *["–"] * (len(header) - 3)])
                continue
            lat = r["latency_ms"]
            rows.append([name, f"{run['scale']}×", f"{r['docs']:,}", f"{r['build_s']:.1f}",
                         f"{r['docs_per_s']:,.0f}", f"{r['size_mb']:.1f}", _ms(lat["p50"]),
                         _ms(lat["p95"]), f"{r['by_kind'][ALL]['mrr']:.3f}"])  # fmt: skip
    lines = _table(header, rows, "ll" + "r" * (len(header) - 2))
    ours = [(run["scale"], _find(run["results"], OURS)) for run in data["scales"]]
    ours = [(scale, r) for scale, r in ours if r is not None]
    if len(ours) > 1:
        (s0, r0), (s1, r1) = ours[0], ours[-1]
        lines += [
            "",
            f"Ours from {s0}× to {s1}× ({s1 / s0:.0f} times the articles): build time "
            f"×{r1['build_s'] / r0['build_s']:.1f}, index size "
            f"×{r1['size_bytes'] / r0['size_bytes']:.1f}, latency p50 "
            f"×{r1['latency_ms']['p50'] / r0['latency_ms']['p50']:.1f}, p95 "
            f"×{r1['latency_ms']['p95'] / r0['latency_ms']['p95']:.1f}.",
        ]
    return lines


def format_server_section(server: dict, heading: str = "## Server") -> str:
    """Requests/s, latency and memory of ``/api/search`` at each concurrency level."""
    rows = []
    for level in server["levels"]:
        lat = level["latency_ms"]
        memory = level.get("memory", {})
        rows.append(
            [
                str(level["concurrency"]),
                f"{level['requests']:,}",
                f"{level['errors']}",
                f"{level['seconds']:.1f}",
                f"{level['rps']:.1f}",
                _ms(lat["p50"]),
                _ms(lat["p95"]),
                _ms(lat["p99"]),
                f"{memory.get('pss_bytes', memory.get('rss_bytes', 0)) / MB:.0f}",
                f"{memory.get('rss_bytes', 0) / MB:.0f}",
                _share(level.get("others_cpu")),
            ]
        )
    ready = server.get("memory_ready", {})
    warm = server.get("memory_warm", {})
    lines = [
        heading,
        "",
        f"The real server (`python -m search serve --index DIR --port PORT --workers "
        f"{server.get('workers', 1)} --threads {server['threads']}`, Flask on gunicorn) as a "
        "subprocess on the 1× index "
        f"({server.get('docs', 0):,} articles), on loopback. At each concurrency level that "
        f"many client threads (keep-alive HTTP/1.1, one connection each) send "
        f"{server['requests_per_level']:,} `GET /api/search?q=...&per_page=10` requests, the "
        f"{server['queries']:,} judged queries in order, as fast as the server answers. "
        "Client and server share the machine's cores. Memory is summed over the server's "
        "processes after the level: *PSS* counts a page the workers share once (what the "
        "server occupies), *RSS* once per worker."
        + (
            " *Others' CPU* is the share of the CPUs that other people's processes took during "
            f"the level; a level above {QUIET_SHARE:.0%} is measured again (up to twice) after "
            "they finish."
            if any("others_cpu" in level for level in server["levels"])
            else ""
        ),
        "",
        *_table(
            [
                "concurrency",
                "requests",
                "errors",
                "seconds",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "PSS MB",
                "RSS MB",
                "others' CPU",
            ],
            rows,
        ),
        "",
        f"Server memory when ready (each worker opens the index before it answers): PSS "
        f"{ready.get('pss_bytes', 0) / MB:.0f} MB; after {server.get('warm_up', 0)} warm-up "
        f"searches: PSS {warm.get('pss_bytes', 0) / MB:.0f} MB.",
    ]
    return "\n".join(lines)


def format_profile(profile: dict, title: str) -> list[str]:
    """Markdown: the two rankings side by side as one table."""
    lines = [
        f"### {title}",
        "",
        f"{profile['queries']:,} queries, {profile['ms_per_query']:.1f} ms a query with "
        f"{profile.get('sampler', 'pyinstrument')} sampling; percentages of the "
        f"{profile.get('samples', 0):,} samples inside `SearchEngine.search`.",
        "",
        "| # | inclusive (on the stack) | % | self (own code, with C calls) | % |",
        "|---:|---|---:|---|---:|",
    ]
    rows = max(len(profile["inclusive"]), len(profile["self"]))
    for i in range(rows):
        inc = profile["inclusive"][i] if i < len(profile["inclusive"]) else ["", ""]
        own = profile["self"][i] if i < len(profile["self"]) else ["", ""]
        lines.append(f"| {i + 1} | `{inc[0]}` | {inc[1]} | `{own[0]}` | {own[1]} |")
    return [*lines, ""]


SERVER_LEVELS = (1, 4)


def _level(server: dict | None, concurrency: int) -> dict | None:
    for level in (server or {}).get("levels", []):
        if level.get("concurrency") == concurrency:
            return level
    return None


def _gb(value: float | None) -> str:
    return "-" if not value else f"{value / 1e9:.2f} GB"


def format_generated(runs: list[dict]) -> list[str]:
    """The generated-scale runs (``benchmarks.generated``): ours against the issue's
    targets, a column a file, then the peers built and queried on the same files."""
    heads = [f"{run['build']['documents']:,} generated" for run in runs]
    rows: list[list[str]] = []

    def row(label: str, target: str, cell) -> None:
        rows.append([label, target, *(cell(run) for run in runs)])

    build = lambda run: run["build"]  # noqa: E731
    row("full build", "≤ 45 min", lambda r: f"{build(r)['seconds'] / 60:.1f} min "
        f"({build(r)['docs_per_s']:.0f} docs/s)")  # fmt: skip
    row("peak RSS of the build (all its processes)", "≤ 6 GB",
        lambda r: _gb(build(r).get("peak_rss_bytes")))  # fmt: skip
    row("index size, segments", "", lambda r: f"{_gb(build(r).get('size_bytes'))}, "
        f"{build(r).get('segments', '-')}")  # fmt: skip
    for workers in (1, 2):
        row(f"server PSS, {workers} worker(s), after 1,000 queries", "≤ 4 GB" if workers == 2
            else "", lambda r, w=workers: _gb(((_level(r.get(f"server_{w}"), 1) or {})
            .get("memory") or {}).get("pss_bytes")))  # fmt: skip

    def ratio(run: dict) -> str:
        one = ((_level(run.get("server_1"), 1) or {}).get("memory") or {}).get("pss_bytes")
        two = ((_level(run.get("server_2"), 1) or {}).get("memory") or {}).get("pss_bytes")
        return f"{two / one:.2f}" if one and two else "-"

    row("PSS of 2 workers ÷ PSS of 1", "≤ 1.4", ratio)
    for concurrency in SERVER_LEVELS:
        for name, target in (("p50", "≤ 50 ms"), ("p95", "≤ 250 ms")):
            row(f"query {name}, HTTP, 2 workers, concurrency {concurrency}",
                target if concurrency == 1 else "",
                lambda r, c=concurrency, n=name: _ms(((_level(r.get("server_2"), c) or {})
                .get("latency_ms") or {}).get(n, 0)))  # fmt: skip
    row("reopen after a 10-article update, median / max", "≤ 200 ms",
        lambda r: f"{r['reopen']['reopen_median_ms']:.0f} / {r['reopen']['reopen_max_ms']:.0f} ms"
        if r.get("reopen", {}).get("rounds") else "-")  # fmt: skip
    row("open with the arrays kept / built", "", lambda r: f"{r['reopen']['open_kept_ms']:.0f} / "
        f"{r['reopen']['open_built_ms']:.0f} ms" if r.get("reopen") else "-")  # fmt: skip
    lines = _table(["measure", "target (1M)", *heads], rows, "l" * (2 + len(runs)))
    peers = [peer for run in runs for peer in run.get("peers", [])]
    if peers:
        peer_rows = []
        for peer in peers:
            lat = peer["latency_ms"]
            peer_rows.append([
                peer["engine"], f"{peer['documents']:,}", f"{peer['build_s'] / 60:.1f} min "
                f"({peer['docs_per_s']:.0f} docs/s)", _gb(peer.get("size_bytes")),
                _gb(peer.get("peak_rss_bytes")), _ms(lat["p50"]), _ms(lat["p95"]),
            ])  # fmt: skip
        for run in runs:
            lat = (_level(run.get("server_2"), 1) or {}).get("latency_ms") or {}
            build_figures = run["build"]
            peer_rows.append([
                "ours (HTTP, 2 workers)", f"{build_figures['documents']:,}",
                f"{build_figures['seconds'] / 60:.1f} min ({build_figures['docs_per_s']:.0f} "
                "docs/s)", _gb(build_figures.get("size_bytes")),
                _gb(build_figures.get("peak_rss_bytes")), _ms(lat.get("p50", 0)),
                _ms(lat.get("p95", 0)),
            ])  # fmt: skip
        lines += [
            "",
            "The peers on the same files, one query at a time in process (PostgreSQL over a "
            "local socket); ours through the HTTP server at concurrency 1, with correction, "
            "snippets and facets. Peak RSS is summed over the engine's processes (for the "
            "in-process peers, the benchmark's own).",
            "",
            *_table(
                ["engine", "articles", "build", "size", "peak RSS", "p50", "p95"],
                peer_rows,
                "lrrrrrr",
            ),
        ]
    return lines


def render_markdown(data: dict) -> str:
    """The whole report of a run: header, engines, targets, 1× comparison, scaling, server."""
    meta = data["meta"]
    lines = format_header(data) + format_engines(data) + format_targets(data)
    base = data["scales"][0] if data["scales"] else None
    if base is not None:
        scale = base["scale"]
        lines += [
            f"## All engines at {scale}× ({base['docs']:,} articles, {base['queries']:,} queries)",
            "",
            *format_overview(base),
            "",
            f"### Relevance per query kind at {scale}× (MRR@10 / recall@10)",
            "",
            *format_relevance(base),
            "",
        ]
        heldout = meta.get("heldout")
        if heldout and any("heldout_by_kind" in r for r in base["results"]):
            lines += [
                f"### Relevance on {heldout['queries']:,} held-out queries at {scale}× "
                "(MRR@10 / recall@10)",
                "",
                "Ranking may have been tuned on the judgements, so every engine also answers "
                "fresh queries made the same way (`benchmarks/heldout.py`, seed "
                f"{heldout['seed']}) on articles the judgements do not use.",
                "",
                *format_relevance(base, "heldout_by_kind"),
                "",
            ]
        topical = meta.get("topical") or {}
        if any("topical" in r for r in base["results"]):
            held = f" and {topical['heldout']:,} held-out tags" if topical.get("heldout") else ""
            lines += [
                f"### Topical relevance at {scale}× ({topical['queries']:,} judged tags{held})",
                "",
                f"`{topical['path']}`: each query an editor tag, every article with the tag "
                "relevant; the first 100 hits of each engine, on indexes without tags (ours "
                "`index build --without-tags`; the peers index title, summary and text). The "
                "held-out tags are other tags of 15-300 articles made the same way "
                "(`benchmarks/heldout.py`). AP@100 is divided by min(relevant, 100).",
                "",
                *format_topical(base),
                "",
            ]
        ratios = format_ratios(base)
        if ratios:
            lines += [f"### Ours as a ratio of each peer at {scale}×", "", *ratios, ""]
    if len(data["scales"]) > 1:
        lines += ["## Scaling", "", *format_scaling(data), ""]
    if data.get("server"):
        lines += [format_server_section(data["server"]), ""]
    if data.get("generated"):
        lines += [
            "## Generated corpora (a million articles)",
            "",
            "`benchmarks/scalegen.py` articles: sentences recombined by topic, dates over ten "
            "years, new names at the rate Heaps' law fitted to the corpus predicts. Each step "
            "as `python -m benchmarks.generated all` runs it.",
            "",
            *format_generated(data["generated"]),
            "",
        ]
    if data.get("profiles"):
        lines += [
            "## Where our query time goes",
            "",
            "The judged queries run a second time through the search function under a "
            "sampling profiler (py-spy attached to the benchmark when allowed, which does not "
            "slow the code it watches; else pyinstrument, whose per-call hook overstates "
            "call-heavy code such as Whoosh's matchers); functions by time on the stack "
            "(inclusive) and in their own code with the C calls it makes (self). "
            "`python -m benchmarks.profiling run --index DIR` profiles an existing index the "
            "same way.",
            "",
        ]
        for summary in data["profiles"]:
            lines += format_profile(summary, f"Ours at {summary['scale']}×")
    lines += [
        "## Reproduce",
        "",
        "```sh",
        meta["command"],
        "```",
        "",
        f"Raw figures: `{meta.get('json', 'benchmarks/out/results.json')}` (git-ignored).",
        "",
    ]
    return "\n".join(lines)


def write_report(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(data), encoding="utf-8")


@click.command()
@click.argument("json_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(__file__).resolve().parent / "RESULTS.md",
    show_default=True,
)
def main(json_path: Path, out_path: Path) -> None:
    """Render the Markdown report of the run whose figures are in JSON_PATH."""
    data = json.loads(json_path.read_text(encoding="utf-8"))
    write_report(data, out_path)
    click.echo(f"wrote {out_path}", err=True)


if __name__ == "__main__":
    main()
