"""``kcs model recalibrate``: refit the fusion/calibration model on officers' decisions (and benchmark pairs).

Each case's latest decision (since its last reopening) becomes a labelled example over the candidates its
``matched`` event stored with their raw signal values: ``confirm`` -> the confirmed design is the true one
(skipped when it was not among the candidates: no information for fusion), ``reject`` -> none of the
candidates ("no registered design"), ``unsure`` -> skipped. Benchmark pairs come from a labelled query package
(``--queries``, analysed like ``kcs model fit``). Examples are split by a hash of their photos (cases) or
query_id (benchmark) into a fitting part and a held-out part; the new model is activated only if it is
better on the held-out part (``match.train.decide``: lower log-loss, reading accuracy not lower). Signal
columns are matched by name, so cases stored before the matcher gained a signal still count (value 0).

Example::

    >>> from kcs_kit.explain.recalibrate import recalibrate
    >>> r = recalibrate(settings, queries=Path("/tmp/photos-train"))  # doctest: +SKIP
    >>> r.activated, r.before.ece, r.after.ece  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.errors import KcsError
from kcs_kit.explain import audit
from kcs_kit.explain.events import CaseEvent, read_events
from kcs_kit.match.fusion import QUERY_SIGNALS, SIGNALS, Example, fit
from kcs_kit.match.train import Scores, _held_out, collect, decide, score


@dataclass(frozen=True)
class RecalibrationReport:
    officer_examples: int  # usable decisions (confirm with the design among the candidates, or reject)
    benchmark_examples: int
    skipped: int  # unsure, confirmed design not among the candidates, or no stored signals
    fitted_on: int
    held_out: int
    held_out_officer: int
    before: Scores  # the active model on all held-out examples
    after: Scores  # the refitted model on the same
    before_officer: Scores  # on the held-out officer decisions only
    after_officer: Scores
    activated: bool
    reason: str
    model_version: str
    previous_version: str
    path: str | None


def _columns(names: list[str], rows: list[list[float]], wanted: tuple[str, ...]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    arr = np.asarray(rows, dtype=float).reshape(len(rows), len(names))
    return np.stack([arr[:, index[s]] if s in index else np.zeros(len(rows)) for s in wanted], axis=1)


def case_example(events: list[CaseEvent]) -> tuple[str, Example | None]:
    """(split key, Example or None) from one case's events: its latest decision over its stored signals."""
    matched = next((e for e in events if e.kind == "matched"), None)
    opened = next((e for e in events if e.kind == "opened"), None)
    key = "case:" + "|".join(opened.payload.get("sha256", [])) if opened else "case:" + events[0].case_id
    decision: dict[str, Any] | None = None
    for e in events:
        if e.kind == "decided":
            decision = e.payload
        elif e.kind == "reopened":
            decision = None
    if matched is None or decision is None or decision["decision"] == "unsure" or "training" not in matched.payload:
        return key, None
    t = matched.payload["training"]
    ids = list(t["candidates"])
    if decision["decision"] == "confirm":
        if decision.get("design_id") not in ids:
            return key, None
        truth = ids.index(decision["design_id"])
    else:
        truth = -1
    feats = _columns(t["signals"], [t["candidates"][d] for d in ids], SIGNALS) if ids \
        else np.zeros((0, len(SIGNALS)))
    qfeats = _columns(t["query_signal_names"], [t["query"]], QUERY_SIGNALS)[0]
    return key, Example(feats, qfeats, truth)


def officer_examples(settings: Settings) -> list[tuple[str, Example | None]]:
    by_case: dict[str, list[CaseEvent]] = {}
    for e in read_events(settings):
        by_case.setdefault(e.case_id, []).append(e)
    return [case_example(events) for events in by_case.values() if any(e.kind == "decided" for e in events)]


def recalibrate(settings: Settings, *, queries: Path | None = None, holdout: float = 0.3, limit: int | None = None,
                min_fit: int = 10, min_held_out: int = 5, officer: str | None = None,
                progress: Callable[[int], Callable[[int], None]] | None = None) -> RecalibrationReport:
    """Refit on decisions (+ benchmark pairs), compare on held-out examples, activate only if better."""
    from kcs_kit.match.context import FUSION_FILE, active_fusion

    cases = officer_examples(settings)
    bench = [(f"query:{a.query_id}", a.example()) for a in collect(settings, queries, limit=limit,
                                                                   tick=progress(limit or 0) if progress else None)] \
        if queries else []
    usable = [(k, ex, src) for src, rows in (("officer", cases), ("bench", bench)) for k, ex in rows if ex is not None]
    train = [ex for k, ex, _s in usable if not _held_out(k, holdout)]
    test = [(ex, s) for k, ex, s in usable if _held_out(k, holdout)]
    if len(train) < min_fit or len(test) < min_held_out:
        raise KcsError(f"recalibration: expected at least {min_fit} examples to fit and {min_held_out} held out, "
                       f"found {len(train)} and {len(test)} (from {sum(1 for *_x, s in usable if s == 'officer')} "
                       f"decisions and {len(bench)} benchmark queries)",
                       hint="record more decisions (kcs case decide) or add benchmark pairs with --queries DIR")
    current = active_fusion(settings)
    new = fit(train, trained_on=f"{len(train)} examples: officer decisions"
              + (f" + {queries.name}" if queries else ""))
    held = [ex for ex, _s in test]
    held_officer = [ex for ex, s in test if s == "officer"]
    before, after = score(current, held), score(new, held)
    better, reason = decide(before, after, current.version)
    path = str(new.save(settings.workspace / FUSION_FILE)) if better else None
    report = RecalibrationReport(
        sum(1 for *_x, s in usable if s == "officer"), sum(1 for *_x, s in usable if s == "bench"),
        len(cases) + len(bench) - len(usable), len(train), len(held), len(held_officer), before, after,
        score(current, held_officer), score(new, held_officer), better, reason, new.version, current.version, path)
    audit.append(settings, "recalibration", officer, {
        "activated": better, "model_version": new.version, "previous_version": current.version,
        "fitted_on": len(train), "held_out": len(held), "reason": reason,
        "before": asdict(before), "after": asdict(after), "queries": str(queries) if queries else None})
    return report
