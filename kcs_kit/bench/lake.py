"""``kcs bench lake``: ingest rate and peak memory at 1M and 10M synthetic declarations; query latency.

Each size gets its own workspace under the bench folder (never the demo's). The ingest runs in a child
process so that its peak RSS is its own. Queries are timed as an analyst calls them (the library
function, connection included): one warm-up, then ``repeats`` runs; median and max are reported.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kcs_kit.config import Settings, load_settings

TARGET_ROWS_PER_S = 500_000
TARGET_TREND_MS = 200
TARGET_RSS_MB = 2048
_CHILD = """
import json, resource, sys
from kcs_kit.config import load_settings
from kcs_kit.lake.ingest import ingest_file
s = load_settings(workspace=sys.argv[1], env={})
r = ingest_file(sys.argv[2], s)
print(json.dumps({"rows": r.rows_read, "ingested": r.ingested, "quarantined": r.quarantined,
                  "duplicates": r.duplicates, "seconds": r.seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@dataclass(frozen=True)
class LakeBench:
    rows: int
    ingest_rows_per_s: float
    ingest_seconds: float
    peak_rss_mb: float
    quarantined: int
    lake_mb: float
    goods_lines: int
    monthly_trend_ms: float
    monthly_trend_max_ms: float
    ipr_trend_ms: float
    repeat_offenders_ms: float
    repeat_offenders_max_ms: float


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up: file metadata and OS cache
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def _ingest_child(ws: Path, csv: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(ws), str(csv)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(rows: int, folder: Path, *, seed: int = 42, goods_sample: int = 1_000_000, repeats: int = 5,
               log: Callable[[str], None] = print) -> LakeBench:
    """Generate (or reuse) ``rows`` declarations, ingest them into a fresh workspace, time the queries."""
    from kcs_kit.analytics.offenders import repeat_offenders
    from kcs_kit.analytics.trends import declaration_trends, trends
    from kcs_kit.lake.synth import build_goods_lines
    from kcs_kit.lake.synth_declarations import synth_declarations

    csv = folder / f"declarations-{rows}-seed{seed}.csv"
    if not csv.exists():
        log(f"generating {rows:,} synthetic declarations -> {csv}")
        synth_declarations(csv, rows=rows, seed=seed)
    ws = folder / f"ws-{rows}"
    shutil.rmtree(ws, ignore_errors=True)
    log(f"ingesting {csv.name} into {ws} (child process)")
    r = _ingest_child(ws, csv)
    s = load_settings(workspace=ws, env={})
    n_goods = min(goods_sample, rows)
    log(f"generating goods lines for {n_goods:,} declarations")
    goods = build_goods_lines(s, declarations=n_goods, seed=seed)
    log("timing queries")
    trend_ms, trend_max = _timed(lambda: declaration_trends(s, freq="month"), repeats)
    ipr_ms, _ = _timed(lambda: trends(s, freq="month"), repeats)
    off_ms, off_max = _timed(lambda: repeat_offenders(s, role="importer", min_cases=2), repeats)
    lake_mb = sum(p.stat().st_size for p in (s.lake_dir / "declarations").rglob("*.parquet")) / 1e6
    return LakeBench(rows, r["rows"] / r["seconds"], r["seconds"], r["peak_rss_mb"], r["quarantined"], lake_mb,
                     goods.lines, trend_ms, trend_max, ipr_ms, off_ms, off_max)


def _ok(value: float, target: float, higher_is_better: bool) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "**missed**"


def render(results: list[LakeBench], command: str, machine: str) -> str:
    lines = [
        "## Lake (`kcs bench lake`)", "",
        f"Command: `{command}`  ", f"Machine: {machine}", "",
        "| declarations | ingest rows/s | ingest s | peak RSS MB | lake MB | goods lines | monthly trend ms "
        "(median / max) | IPR monthly trend ms | repeat offenders ms (median / max) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in results:
        lines.append(f"| {b.rows:,} | {b.ingest_rows_per_s:,.0f} | {b.ingest_seconds:.1f} | {b.peak_rss_mb:,.0f} | "
                     f"{b.lake_mb:,.0f} | {b.goods_lines:,} | "
                     f"{b.monthly_trend_ms:.0f} / {b.monthly_trend_max_ms:.0f} | {b.ipr_trend_ms:.0f} | "
                     f"{b.repeat_offenders_ms:.0f} / {b.repeat_offenders_max_ms:.0f} |")
    lines += ["", "Against the targets:"]
    for b in results:
        lines.append(
            f"- {b.rows:,}: ingest {b.ingest_rows_per_s:,.0f} rows/s vs >= {TARGET_ROWS_PER_S:,} "
            f"({_ok(b.ingest_rows_per_s, TARGET_ROWS_PER_S, True)}); peak RSS {b.peak_rss_mb:,.0f} MB vs <= "
            f"{TARGET_RSS_MB:,} ({_ok(b.peak_rss_mb, TARGET_RSS_MB, False)}); "
            f"monthly trend {b.monthly_trend_ms:.0f} ms "
            f"vs <= {TARGET_TREND_MS} ({_ok(b.monthly_trend_ms, TARGET_TREND_MS, False)})")
    lines += ["", "Ingest time covers hashing, parsing, validation, partitioned Parquet writing, exact duplicate "
              "detection and the commit. The monthly trend is `declaration_trends(freq='month')` over all "
              "declarations; the IPR trend and repeat offenders run over `ipr_lines` (goods lines for a seeded "
              "sample of declarations joined to all declarations). Queries include opening the catalog."]
    return "\n".join(lines)


def run(settings: Settings, sizes: list[int], folder: Path | None = None, *, keep: bool = False,
        log: Callable[[str], None] = print) -> list[LakeBench]:
    folder = folder or settings.workspace / "bench" / "lake"
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for rows in sizes:
        results.append(bench_size(rows, folder, seed=settings.seed, log=log))
        if not keep:
            shutil.rmtree(folder / f"ws-{rows}", ignore_errors=True)
    return results
