"""``kcs model cv``: k-fold cross-validation of the fusion model on labelled queries, in the eval's metrics.

Used to choose what the fit sees (the signals alone, or with their leads) and the rejection ratio on the
*fitting* queries, so the held-out benchmark is never looked at while choosing. Each fold's model is fitted
on the other folds exactly as ``kcs model fit`` does (queries whose true design never reached the candidates
left out); every query of the fold is then scored with the DESIGN.md metrics (a missed query counts as wrong).

Example::

    >>> from kcs_kit.match.crossval import cross_validate
    >>> rows = cross_validate(analysed, folds=5)  # doctest: +SKIP
    >>> rows[0].features, rows[0].reject_ratio, round(rows[0].metrics.reading_accuracy, 3)  # doctest: +SKIP
    ('signals + leads', 0.5, 0.625)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kcs_kit.bench.metrics import Metrics, Prediction, compute
from kcs_kit.match.fusion import FEATURES, SIGNALS, FusionModel, features_without, fit, rejects
from kcs_kit.match.train import Analysed, query_hash

FEATURE_SETS = {"signals": tuple(SIGNALS), "signals + leads": tuple(FEATURES)}


def ablations(names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The default feature sets plus, per entry ('in_text' or 'in_text+agree'), signals + leads without
    those signals and their leads: what each signal adds, measured out-of-fold.

    >>> list(ablations(["in_text+agree"]))
    ['signals', 'signals + leads', 'signals + leads - in_text - agree']
    """
    sets = dict(FEATURE_SETS)
    for entry in names:
        drop = [n.strip() for n in entry.split("+") if n.strip()]
        if not drop:
            raise ValueError(f"expected signal names joined by '+', found {entry!r}")
        sets["signals + leads" + "".join(f" - {n}" for n in drop)] = features_without(drop)
    return sets


@dataclass(frozen=True)
class CvRow:
    features: str
    reject_ratio: float
    metrics: Metrics


Z_90 = 1.2816  # one-sided 90% normal quantile


def rejection_lower_bound(m: Metrics, z: float = Z_90) -> float | None:
    """The one-sided lower confidence bound (Wilson score; 90% by default) of the rejection accuracy.

    A ratio chosen where the measured rejection only just reaches the target misses it on new queries about
    half the time; a ratio whose lower bound reaches the target keeps it with about 90% confidence.

    >>> from kcs_kit.bench.metrics import Metrics
    >>> m = Metrics(240, 0, 240, None, None, None, None, 0.95, None, None, None, None, None, None, None)
    >>> round(rejection_lower_bound(m), 3)
    0.929
    """
    n, p = m.without_design, m.rejection_accuracy
    if not n or p is None:
        return None
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def recommended_ratio(rows: Sequence[CvRow], *, features: str = "signals + leads", target: float = 0.95,
                      z: float = Z_90) -> float | None:
    """The largest rejection ratio whose out-of-fold rejection has its lower bound at ``target`` or above.

    The rule behind the setting ``reject_ratio``: the largest ratio answers the most probable option most
    often (most reading accuracy) and the bound keeps the rejection target on queries not yet seen. None when
    no scored ratio reaches it (score lower ratios).
    """
    ok = [r.reject_ratio for r in rows if r.features == features
          and (lb := rejection_lower_bound(r.metrics, z)) is not None and lb >= target]
    return max(ok) if ok else None


def fold_of(query_id: str, folds: int) -> int:
    """The fold of a query: a hash of its id, so a query stays in its fold whatever else is analysed."""
    return query_hash(query_id) % folds


def fold_models(items: Sequence[Analysed], *, folds: int = 5, features: Sequence[str] = FEATURES,
                l2: float = 1e-5) -> dict[int, FusionModel]:
    """One fusion per fold, fitted on the other folds as ``kcs model fit`` fits (queries whose true design never
    reached the candidates left out): a query is scored out of fold by ``models[fold_of(query_id, folds)]``."""
    return {f: fit([ex for a in items if fold_of(a.query_id, folds) != f and (ex := a.example()) is not None],
                   features=features, l2=l2) for f in range(folds)}


def _predict(model, a: Analysed, ratio: float, top_k: int = 10) -> Prediction:
    p, p0 = model.probabilities(a.feats, a.qfeats)
    order = np.argsort(-p)[:top_k]
    return Prediction(a.query_id, rejects(p, p0, ratio), p0,
                      tuple((a.design_ids[i], float(p[i])) for i in order), 0.0)


def cross_validate(items: Sequence[Analysed], *, folds: int = 5, ratios: Sequence[float] = (0.5, 1.0),
                   feature_sets: dict[str, tuple[str, ...]] | None = None, l2: float = 1e-5) -> list[CvRow]:
    """Out-of-fold metrics of each feature set at each rejection ratio (folds by a hash of the query id)."""
    sets = feature_sets or FEATURE_SETS
    truth = {a.query_id: a.truth or None for a in items}
    rows = []
    for name, feats in sets.items():
        models = fold_models(items, folds=folds, features=feats, l2=l2)
        for ratio in ratios:
            preds = [_predict(models[fold_of(a.query_id, folds)], a, ratio) for a in items]
            rows.append(CvRow(name, ratio, compute(preds, truth)))
    return rows


def render_markdown(rows: Sequence[CvRow], *, command: str, machine: str, queries: int, missed: int) -> str:
    """The docs/BENCHMARKS.md section of one cross-validation."""
    lines = ["## Fusion fit, cross-validated on the fitting set (`kcs model cv`)", "",
             f"Command: `{command}`  ", f"Machine: {machine}  ",
             f"Queries: {queries} ({missed} whose true design never reached the candidates count as wrong)", "",
             "| fit sees | reject ratio | reading | top-1 | rejection | rejection, 90% lower bound | ECE top-1 "
             "| ECE p_no_match |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        m = r.metrics
        cells = [m.reading_accuracy, m.top1, m.rejection_accuracy, rejection_lower_bound(m)]
        pct = [f"{v:.1%}" if v is not None else "—" for v in cells]
        ece = [f"{v:.3f}" if v is not None else "—" for v in (m.ece_top1, m.ece_no_match)]
        lines.append(f"| {r.features} | {r.reject_ratio:g} | " + " | ".join(pct + ece) + " |")
    lines += ["", "Out-of-fold: each fold is scored by a model fitted on the other folds, as `kcs model fit` fits. "
              "The lower bound is Wilson's, one-sided, over the queries without a registered design."]
    best = recommended_ratio(rows)
    lines += ["", "Recommended `reject_ratio` (the largest whose lower bound reaches 95%, signals + leads): "
              + (f"**{best:g}**" if best is not None else "none of these; score lower ratios")]
    return "\n".join(lines)
