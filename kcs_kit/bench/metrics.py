"""Accuracy, ranking, calibration and latency figures over predictions and truth (DESIGN.md, "Metrics").

Pure functions: a list of :class:`Prediction` (one per query, candidates ranked) and ``truth``, a mapping
query_id -> true design_id, or None when no registered design matches (the right answer is a rejection).
A figure over an empty set of queries is None (never NaN, so that reports stay valid JSON).

Example::

    >>> from kcs_kit.bench.metrics import Prediction, compute
    >>> p = Prediction("q1", False, 0.1, (("nike", 0.9), ("puma", 0.05)), 120.0)
    >>> m = compute([p], {"q1": "nike"})
    >>> (m.reading_accuracy, m.top1, m.micro_ap)
    (1.0, 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kcs_kit.errors import SchemaError

ECE_BINS = 15
Truth = Mapping[str, "str | None"]


@dataclass(frozen=True)
class Prediction:
    """What a matcher answered for one query: ``candidates`` are (design_id, probability), best first."""

    query_id: str
    rejected: bool
    p_no_match: float
    candidates: tuple[tuple[str, float], ...]
    latency_ms: float
    early: bool = False  # an item of several photos answered before its last photo (not in the JSONL record)

    @property
    def top1(self) -> tuple[str, float] | None:
        return self.candidates[0] if self.candidates else None

    def to_json(self) -> dict:
        """The DESIGN.md predictions record (one JSONL line)."""
        return {"query_id": self.query_id, "rejected": bool(self.rejected), "p_no_match": float(self.p_no_match),
                "candidates": [{"design_id": d, "probability": float(p)} for d, p in self.candidates],
                "latency_ms": float(self.latency_ms)}

    @classmethod
    def from_json(cls, record: dict) -> Prediction:
        return cls(str(record["query_id"]), bool(record["rejected"]), float(record["p_no_match"]),
                   tuple((str(c["design_id"]), float(c["probability"])) for c in record["candidates"]),
                   float(record["latency_ms"]))


@dataclass(frozen=True)
class Metrics:
    """Every figure of one matcher over one set of queries (None where the set it averages over is empty)."""

    queries: int
    with_design: int
    without_design: int
    reading_accuracy: float | None
    top1: float | None
    top5: float | None
    top10: float | None
    rejection_accuracy: float | None
    micro_ap: float | None
    ece_top1: float | None
    ece_candidates: float | None
    ece_no_match: float | None
    brier_top1: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None


def _truth_of(predictions: Sequence[Prediction], truth: Truth) -> list[str | None]:
    missing = [p.query_id for p in predictions if p.query_id not in truth]
    if missing:
        raise SchemaError(f"predictions: expected a true answer for every query_id, found none for "
                          f"{', '.join(map(repr, missing[:5]))}" + (" ..." if len(missing) > 5 else ""),
                          hint="score predictions against the queries.csv they were made for")
    return [truth[p.query_id] or None for p in predictions]


def _share(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return sum(values) / len(values) if values else None


def top_k_accuracy(predictions: Sequence[Prediction], truth: Truth, k: int) -> float | None:
    """Over queries with a true design: the share whose true design is among the first ``k`` candidates
    and that were not rejected."""
    pairs = zip(predictions, _truth_of(predictions, truth), strict=True)
    return _share(not p.rejected and t in [d for d, _ in p.candidates[:k]] for p, t in pairs if t is not None)


def rejection_accuracy(predictions: Sequence[Prediction], truth: Truth) -> float | None:
    """Over queries without a true design: the share that were rejected."""
    pairs = zip(predictions, _truth_of(predictions, truth), strict=True)
    return _share(p.rejected for p, t in pairs if t is None)


def _read_correctly(p: Prediction, t: str | None) -> bool:
    if t is None:
        return p.rejected
    return not p.rejected and p.top1 is not None and p.top1[0] == t


def reading_accuracy(predictions: Sequence[Prediction], truth: Truth) -> float | None:
    """Over all queries: the share handled correctly at rank 1 — the true design first and not rejected, or
    rejected when there is no true design. The figure compared with KCS's published 82.7%."""
    pairs = zip(predictions, _truth_of(predictions, truth), strict=True)
    return _share(_read_correctly(p, t) for p, t in pairs)


def micro_ap(predictions: Sequence[Prediction], truth: Truth) -> float | None:
    """Micro-average precision over all (query, candidate) pairs pooled and ranked by probability, as in
    DISC21 (Facebook's image-similarity challenge): ``sum over positives of (precision at that point) /
    total positives``. A pair is positive when the candidate is the query's true design; queries without a
    true design contribute only negatives; total positives = queries with a true design, so a true design
    missing from the list counts as recall never reached. Rejection is ignored (the probabilities are
    scored as given). Ties: pairs with equal probability form one block and every positive in it gets the
    precision at the block's end (order-independent, as scikit-learn's average_precision_score). A design
    listed twice for one query counts once (its first, higher-ranked entry)."""
    truths = _truth_of(predictions, truth)
    total = sum(t is not None for t in truths)
    if not total:
        return None
    pairs: list[tuple[float, bool]] = []
    for p, t in zip(predictions, truths, strict=True):
        seen: set[str] = set()
        for d, prob in p.candidates:
            if d not in seen:
                seen.add(d)
                pairs.append((prob, d == t))
    pairs.sort(key=lambda x: -x[0])
    ap, tp, i = 0.0, 0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        block_tp = sum(pos for _, pos in pairs[i:j])
        tp += block_tp
        ap += block_tp * tp / j
        i = j
    return ap / total


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool],
                               bins: int = ECE_BINS) -> float | None:
    """ECE: split [0, 1] into ``bins`` equal-width bins ([i/b, (i+1)/b), the last one closed) by confidence;
    ``sum over bins of (n_bin / n) * |share correct in bin - mean confidence in bin|``. Confidences are
    clipped to [0, 1]."""
    if not confidences:
        return None
    sums = [[0, 0.0, 0.0] for _ in range(bins)]  # count, sum of confidence, number correct
    for c, ok in zip(confidences, correct, strict=True):
        c = min(max(float(c), 0.0), 1.0)
        b = sums[min(int(c * bins), bins - 1)]
        b[0] += 1
        b[1] += c
        b[2] += bool(ok)
    n = len(confidences)
    return sum(abs(k - c) / n for count, c, k in sums if count)


def _top1_pairs(predictions: Sequence[Prediction], truths: list[str | None]) -> tuple[list[float], list[bool]]:
    """(top-1 probability, top-1 is the true design) per query; no candidate = probability 0, wrong."""
    conf = [p.top1[1] if p.top1 else 0.0 for p in predictions]
    ok = [p.top1 is not None and p.top1[0] == t for p, t in zip(predictions, truths, strict=True)]
    return conf, ok


def ece_top1(predictions: Sequence[Prediction], truth: Truth) -> float | None:
    """ECE of the top-1 probability against "the top-1 candidate is the true design", over all queries (a
    query without candidates counts as confidence 0, wrong; rejection is ignored)."""
    return expected_calibration_error(*_top1_pairs(predictions, _truth_of(predictions, truth)))


def ece_candidates(predictions: Sequence[Prediction], truth: Truth) -> float | None:
    """ECE of every candidate's probability against "this candidate is the query's true design"."""
    conf: list[float] = []
    ok: list[bool] = []
    for p, t in zip(predictions, _truth_of(predictions, truth), strict=True):
        conf.extend(prob for _, prob in p.candidates)
        ok.extend(d == t for d, _ in p.candidates)
    return expected_calibration_error(conf, ok)


def ece_no_match(predictions: Sequence[Prediction], truth: Truth) -> float | None:
    """ECE of p_no_match against "the query has no true design", over all queries."""
    truths = _truth_of(predictions, truth)
    return expected_calibration_error([p.p_no_match for p in predictions], [t is None for t in truths])


def brier_top1(predictions: Sequence[Prediction], truth: Truth) -> float | None:
    """Mean over all queries of (top-1 probability - [top-1 is the true design])²; a query without
    candidates counts as probability 0, wrong (so it adds 0)."""
    conf, ok = _top1_pairs(predictions, _truth_of(predictions, truth))
    return sum((c - o) ** 2 for c, o in zip(conf, ok, strict=True)) / len(conf) if conf else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    xs = sorted(float(v) for v in values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def compute(predictions: Sequence[Prediction], truth: Truth) -> Metrics:
    """Every figure at once; latency is wall time per query (p50/p95 over all queries)."""
    truths = _truth_of(predictions, truth)
    lat = [p.latency_ms for p in predictions]
    return Metrics(
        queries=len(predictions), with_design=sum(t is not None for t in truths),
        without_design=sum(t is None for t in truths),
        reading_accuracy=reading_accuracy(predictions, truth),
        top1=top_k_accuracy(predictions, truth, 1), top5=top_k_accuracy(predictions, truth, 5),
        top10=top_k_accuracy(predictions, truth, 10), rejection_accuracy=rejection_accuracy(predictions, truth),
        micro_ap=micro_ap(predictions, truth), ece_top1=ece_top1(predictions, truth),
        ece_candidates=ece_candidates(predictions, truth), ece_no_match=ece_no_match(predictions, truth),
        brier_top1=brier_top1(predictions, truth), latency_p50_ms=percentile(lat, 50),
        latency_p95_ms=percentile(lat, 95),
    )
