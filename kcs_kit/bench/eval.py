"""``kcs eval``: score photo matching on a query package against a registry package, beside the pHash anchor.

Steps: read and validate ``DIR/queries.csv`` (``bench/queries.py``: DESIGN.md, "Query package"; every
problem listed with its line, column and value), import the registry package into the workspace and build
the index (both incremental: a second run reuses them), run the matcher on every query through the same call as
``kcs match``, write predictions JSONL (DESIGN.md, "Predictions"), then compute the metrics
(``bench/metrics.py``) overall and per value of an optional ``kind`` column — for kcs and for the pHash
anchor (``bench/phash.py``), side by side.

Latency is the wall time of the matcher call, which receives the photo paths and reads the bytes itself:
from reading the image bytes to the ranked result. Each matcher first answers the first query once,
untimed, so that loading models and stores is not counted as a query's latency.

Example::

    >>> from kcs_kit.bench.eval import evaluate, render_report
    >>> report = evaluate("data/simple-icons", "queries/", settings)  # doctest: +SKIP
    >>> print(render_report(report))  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kcs_kit.bench.metrics import Metrics, Prediction, compute
from kcs_kit.bench.queries import Query, read_predictions, read_queries, write_predictions
from kcs_kit.config import Settings
from kcs_kit.errors import KcsError, SchemaError

if TYPE_CHECKING:
    from kcs_kit.match.types import MatchResult

    Matcher = Callable[..., MatchResult]

__all__ = ["EvalReport", "KindMetrics", "Query", "evaluate", "read_predictions", "read_queries", "render_report",
           "run_queries", "write_predictions"]
TOP_K = 10
MAX_LISTED = 10
Progress = Callable[[int], Callable[[int], None]]
# metric -> (direction, target, label); the figures a report checks against DESIGN.md and the issue
TARGETS: dict[str, tuple[str, float, str]] = {
    "reading_accuracy": (">=", 0.95, ">= 95% (KCS published 82.7%)"),
    "top5": (">=", 0.98, ">= 98%"),
    "rejection_accuracy": (">=", 0.95, ">= 95%"),
    "ece_top1": ("<=", 0.05, "<= 0.05"),
    "latency_p95_ms": ("<=", 500.0, "<= 500 ms"),
}


@dataclass(frozen=True)
class KindMetrics:
    """The metrics of the queries whose ``kind`` column holds ``kind``."""

    kind: str
    kcs: Metrics
    anchor: Metrics | None


@dataclass(frozen=True)
class EvalReport:
    """Everything ``kcs eval`` measured, for kcs and for the pHash anchor."""

    command: str
    machine: str
    registry: str
    queries_dir: str
    designs: int
    queries: int
    with_design: int
    without_design: int
    kcs: Metrics
    anchor: Metrics | None
    by_kind: tuple[KindMetrics, ...]
    predictions: str | None
    anchor_predictions: str | None
    notes: tuple[str, ...]
    seconds: float


def _call(matcher: Matcher, q: Query, settings: Settings) -> MatchResult:
    try:
        return matcher([str(p) for p in q.photos], settings, crop=q.crop, declaration_id=q.declaration_id,
                       top_k=TOP_K)
    except KcsError as exc:
        raise type(exc)(f"query {q.query_id!r} (queries.csv line {q.line}): {exc.message}", hint=exc.hint) from exc
    except Exception as exc:  # not ours: keep it as it is, and say which query raised it
        exc.add_note(f"while matching query {q.query_id!r} (queries.csv line {q.line})")
        raise


def _timed(matcher: Matcher, q: Query, settings: Settings) -> Prediction:
    t0 = time.perf_counter()
    r = _call(matcher, q, settings)
    ms = (time.perf_counter() - t0) * 1000
    ranked = tuple((c.design_id, float(c.probability)) for c in sorted(r.candidates, key=lambda c: c.rank))
    return Prediction(q.query_id, bool(r.rejected), float(r.p_no_match), ranked, ms,
                      early=0 < r.photos_used < len(q.photos))


_WORKER: tuple = ()


def _worker_init(matcher: Matcher, settings: Settings, first: Query) -> None:
    global _WORKER
    from kcs_kit.embed._util import one_thread_each

    one_thread_each()
    _WORKER = (matcher, settings)
    _call(matcher, first, settings)  # warm-up, untimed, in every worker


def _worker_run(q: Query) -> Prediction:
    return _timed(_WORKER[0], q, _WORKER[1])


def run_queries(matcher: Matcher, queries: Sequence[Query], settings: Settings, *,
                progress: Progress | None = None, workers: int = 1) -> list[Prediction]:
    """Match every query (after one untimed warm-up call) and time each call. With ``workers`` > 1 the
    queries are shared among that many processes: faster, but each latency then includes the contention."""
    if not queries:
        return []
    tick = progress(len(queries)) if progress else None
    out = []
    if workers > 1:
        import multiprocessing as mp

        # spawn, not fork: a forked child of a process that already ran torch/ONNX threads can hang;
        # so the matcher must be picklable (a module-level function such as kcs_kit.match.engine.match)
        with mp.get_context("spawn").Pool(workers, _worker_init, (matcher, settings, queries[0])) as pool:
            for pred in pool.imap(_worker_run, queries, chunksize=2):
                out.append(pred)
                if tick:
                    tick(1)
        return out
    _call(matcher, queries[0], settings)
    for q in queries:
        out.append(_timed(matcher, q, settings))
        if tick:
            tick(1)
    return out


def _prepare(registry_dir: Path, queries: Sequence[Query], settings: Settings, *, build: bool,
             progress: Progress | None, log: Callable[[str], None]) -> tuple[set[str], list[str]]:
    """Import the registry (and build the index for the default matcher); active design IDs and notes."""
    from kcs_kit.registry.store import active_design_ids, import_package

    r = import_package(registry_dir, settings, progress=progress)
    log(f"registry {registry_dir}: {r.added:,} added, {r.updated:,} updated, {r.unchanged:,} unchanged")
    notes = [f"{len(r.quarantined)} design(s) of the registry package were set aside by the import "
             f"(first: {r.quarantined[0].reason})"] if r.quarantined else []
    active = active_design_ids(settings)
    extra = len(active) - (r.added + r.updated + r.unchanged)
    if extra > 0:
        notes.append(f"the workspace holds {extra:,} active design(s) beyond this package's; they compete in "
                     "matching (evaluate in a dedicated --workspace to avoid it)")
    inactive = sum(1 for q in queries if q.design_id and q.design_id not in active)
    if inactive:
        notes.append(f"{inactive} query(ies) name a true design that is not active in the registry; they "
                     "cannot be read correctly")
    if build:
        from kcs_kit.index.build import build_index

        b = build_index(settings, progress=progress, log=log)
        log(f"index: {b.indexed:,} designs indexed, {b.unchanged:,} up to date")
    return active, notes


def check_declarations(queries: Sequence[Query], settings: Settings) -> None:
    """SchemaError listing the queries whose declaration_id is not in the workspace's lake (the matcher
    would refuse them one by one, after minutes of matching)."""
    from kcs_kit.lake import catalog

    wanted = sorted({q.declaration_id for q in queries if q.declaration_id})
    if not wanted:
        return
    found: set[str] = set()
    if settings.db_path.exists():
        with catalog.connect(settings, read_only=True) as con:
            if con.execute("SELECT count(*) FROM (SELECT view_name AS n FROM duckdb_views() UNION ALL SELECT "
                           "table_name FROM duckdb_tables()) WHERE n = 'declarations'").fetchall()[0][0]:
                found = {r[0] for r in con.execute("SELECT DISTINCT declaration_id FROM declarations WHERE "
                                                   "list_contains(?, declaration_id)", [wanted]).fetchall()}
    bad = [q for q in queries if q.declaration_id and q.declaration_id not in found]
    if bad:
        listed = ", ".join(f"line {q.line} {q.declaration_id!r}" for q in bad[:MAX_LISTED])
        raise SchemaError(f"queries.csv column declaration_id: expected declarations in the lake of "
                          f"{settings.workspace}, found {len(bad)} missing ({listed})",
                          hint="ingest them into this workspace (`kcs lake ingest FILE`), or empty those cells")


def _command(registry_dir: Path, queries_dir: Path, predictions_out: Path | None, anchor: bool,
             limit: int | None, workers: int = 1) -> str:
    parts = ["kcs eval", f"--registry {registry_dir}", f"--queries {queries_dir}"]
    parts += [f"--workers {workers}"] if workers > 1 else []
    parts += [f"--predictions {predictions_out}"] if predictions_out else []
    parts += [] if anchor else ["--no-anchor"]
    parts += [f"--limit {limit}"] if limit else []
    return " ".join(parts)


def _by_kind(queries: Sequence[Query], kcs: list[Prediction], anchor: list[Prediction] | None,
             truth: dict[str, str | None]) -> tuple[KindMetrics, ...]:
    kinds = sorted({q.kind for q in queries if q.kind})
    out = []
    for kind in kinds:
        keep = [i for i, q in enumerate(queries) if q.kind == kind]
        out.append(KindMetrics(kind, compute([kcs[i] for i in keep], truth),
                               compute([anchor[i] for i in keep], truth) if anchor else None))
    return tuple(out)


def _anchor_path(predictions_out: Path) -> Path:
    return predictions_out.with_name(f"{predictions_out.stem}.phash{predictions_out.suffix or '.jsonl'}")


def evaluate(registry_dir: str | Path, queries_dir: str | Path, settings: Settings, *,
             matcher: Matcher | None = None, predictions_out: str | Path | None = None, anchor: bool = True,
             limit: int | None = None, progress: Progress | None = None, workers: int = 1,
             log: Callable[[str], None] = lambda _m: None) -> EvalReport:
    """Score ``matcher`` (default: ``kcs_kit.match.engine.match``, as ``kcs match``) and the pHash anchor.

    The registry package is imported into ``settings.workspace``; the index is built only for the default
    matcher (a ``matcher`` passed in brings its own). ``limit`` keeps the first N queries. Predictions go to
    ``predictions_out`` and the anchor's to ``<stem>.phash.jsonl`` beside it.
    """
    from kcs_kit.bench.report import machine

    t0 = time.perf_counter()
    if limit is not None and limit < 1:
        raise KcsError(f"limit: expected a number of queries >= 1, found {limit}")
    registry_dir, queries_dir = Path(registry_dir), Path(queries_dir)
    out = Path(predictions_out) if predictions_out else None
    queries = read_queries(queries_dir)[:limit]
    check_declarations(queries, settings)
    active, notes = _prepare(registry_dir, queries, settings, build=matcher is None, progress=progress, log=log)
    if matcher is None:
        from kcs_kit.match.engine import match as default_matcher

        matcher = default_matcher
    log(f"matching {len(queries):,} queries")
    kcs = run_queries(matcher, queries, settings, progress=progress, workers=workers)
    if workers > 1:
        notes.append(f"matched by {workers} processes at once: latencies include their contention for the cores")
    several = sum(len(q.photos) > 1 for q in queries)
    if several:
        notes.append(f"{sum(p.early for p in kcs)} of the {several} queries of several photos were answered before "
                     f"their last photo (setting match_first_photo, {settings.match_first_photo:g})")
    anchor_preds = None
    if anchor:
        from kcs_kit.bench.phash import PHashAnchor

        log("matching with the pHash anchor")
        anchor_preds = run_queries(PHashAnchor(settings), queries, settings, progress=progress)
    if out:
        write_predictions(out, kcs)
        if anchor_preds is not None:
            write_predictions(_anchor_path(out), anchor_preds)
    truth = {q.query_id: q.design_id for q in queries}
    overall = compute(kcs, truth)
    return EvalReport(
        command=_command(registry_dir, queries_dir, out, anchor, limit, workers), machine=machine(),
        registry=str(registry_dir), queries_dir=str(queries_dir), designs=len(active), queries=overall.queries,
        with_design=overall.with_design, without_design=overall.without_design, kcs=overall,
        anchor=compute(anchor_preds, truth) if anchor_preds is not None else None,
        by_kind=_by_kind(queries, kcs, anchor_preds, truth), predictions=str(out) if out else None,
        anchor_predictions=str(_anchor_path(out)) if out and anchor else None, notes=tuple(notes),
        seconds=time.perf_counter() - t0,
    )


ROWS: tuple[tuple[str, str, str], ...] = (  # (field, label, format)
    ("reading_accuracy", "**reading accuracy**", "pct"), ("top1", "top-1 accuracy", "pct"),
    ("top5", "top-5 accuracy", "pct"), ("top10", "top-10 accuracy", "pct"),
    ("rejection_accuracy", "rejection accuracy", "pct"), ("micro_ap", "µAP", "f3"),
    ("ece_top1", "ECE, top-1 probability", "f3"), ("ece_candidates", "ECE, all candidate probabilities", "f3"),
    ("ece_no_match", "ECE, p_no_match", "f3"), ("brier_top1", "Brier score, top-1", "f3"),
    ("latency_p50_ms", "latency p50 (ms)", "ms"), ("latency_p95_ms", "latency p95 (ms)", "ms"),
)


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if kind == "pct" else f"{value:.3f}" if kind == "f3" else f"{value:,.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "—"


def _verdicts(m: Metrics) -> list[str]:
    out = []
    for name, (op, target, label) in TARGETS.items():
        value = getattr(m, name)
        if value is not None:
            met = value >= target if op == ">=" else value <= target
            text, fmt = next((t.strip("*"), f) for n, t, f in ROWS if n == name)
            out.append(f"{text} {_fmt(value, fmt)} vs {label} ({'met' if met else '**missed**'})")
    return out


def _kind_table(report: EvalReport) -> list[str]:
    lines = ["| kind | queries | reading kcs | reading anchor | top-5 kcs | top-5 anchor | rejection kcs | "
             "rejection anchor |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for k in report.by_kind:
        cells = [_fmt(getattr(m, name), "pct") if m else "—" for name in ("reading_accuracy", "top5",
                 "rejection_accuracy") for m in (k.kcs, k.anchor)]
        lines.append(f"| {k.kind} | {k.kcs.queries:,} | " + " | ".join(cells) + " |")
    return lines


def render_report(report: EvalReport) -> str:
    """Markdown: the side-by-side table (metric | kcs | pHash anchor | ratio | target), verdicts, kinds."""
    a = report.anchor
    lines = ["## Photo matching (`kcs eval`)", "", f"Command: `{report.command}`  ", f"Machine: {report.machine}  ",
             f"Registry: {report.designs:,} active designs; queries: {report.queries:,} ({report.with_design:,} "
             f"with a registered design, {report.without_design:,} without)", "",
             "| metric | kcs | pHash anchor | ratio (kcs / anchor) | target |", "|---|---:|---:|---:|---|"]
    for name, label, fmt in ROWS:
        ours, theirs = getattr(report.kcs, name), getattr(a, name) if a else None
        target = TARGETS[name][2] if name in TARGETS else ""
        lines.append(f"| {label} | {_fmt(ours, fmt)} | {_fmt(theirs, fmt)} | {_ratio(ours, theirs)} | {target} |")
    lines += ["", "Against the targets: " + "; ".join(_verdicts(report.kcs)) + "."]
    if report.by_kind:
        lines += ["", *_kind_table(report)]
    lines += ["", "Ratio = kcs / anchor: above 1 is better for accuracies and µAP, below 1 for ECE, Brier and "
              "latency. Latency: wall time per query from reading the photo bytes to the ranked list, after one "
              "untimed warm-up query. The anchor is a pHash nearest neighbour over every render of every design "
              "(rejects above 10 of 64 bits; `kcs_kit/bench/phash.py`)."]
    lines += [f"Note: {n}" for n in report.notes]
    return "\n".join(lines)
