"""Fusion of the signals into calibrated probabilities: a conditional-logit model with a "no match" option.

For one query with candidates i = 1..n and signal vectors f_i, the score of candidate i is z_i = w . f_i and
the score of "no registered design matches" is z_0 = b (+ w0 . g, signals of the query as a whole). Then

    P(candidate i) = exp(z_i) / (exp(z_0) + sum_j exp(z_j)),   p_no_match = exp(z_0) / (same sum)

so the probabilities of one query sum to 1 and ``p_no_match`` is part of the same calibrated model. The
weights are fitted by maximum likelihood (L2-regularised, plain numpy) on labelled queries: the photo
benchmark now, officers' decisions later. Each signal's contribution to a candidate is w_k * f_ik, which the
explanations show. Until a model is fitted, documented prior weights are used (version ``prior-1``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SIGNALS = ("shortlist", "bow", "inliers", "inlier_ratio", "ocr", "text", "hs_match", "undervaluation", "marknet",
           "shape", "in_text", "agree", "ocr_short", "colour", "marknet_peak")
QUERY_SIGNALS = ("best_shortlist", "best_bow", "best_inliers", "ocr_words", "best_marknet", "best_shape",
                 "best_peak")
# Features derived from all candidates of one query, inside the model (so stored signals reproduce them):
# ``<s>_lead`` = how far the candidate is ahead of the best other candidate on s (0 unless it leads): a
# clear winner is more often right. (Rank features, 1 / (1 + rank), were tried: no better on the fitting
# set, and they give the leader of pure noise the same credit as a clear winner.)
LEADS = ("shape", "marknet", "inliers", "ocr", "marknet_peak")
# The candidates' signal each query signal is the best of (a fit without that signal leaves it out too)
QUERY_BASE = {"best_shortlist": "shortlist", "best_bow": "bow", "best_inliers": "inliers", "best_marknet": "marknet",
              "best_shape": "shape", "best_peak": "marknet_peak"}
DERIVED = tuple(f"{s}_lead" for s in LEADS)
FEATURES = SIGNALS + DERIVED
BASE_OF = {**{s: s for s in SIGNALS}, **{f"{s}_lead": s for s in LEADS}}
# Prior weights: hand-set from what each signal means, before any fitting (documented, not tuned); in_text
# counts against a candidate: its mark found inside a line of ordinary text is likely a letter of that text;
# ocr_short (the OCR score again, for a name of at most 3 characters) takes back part of OCR's credit: 'EA',
# '4D' or 'RED' read on an item are as often a chance piece of ordinary text as the brand; colour (the registered
# colour covering more of the place where the mark was found than of the ring around it) supports a candidate a
# little: counterfeits copy it often, and products of that colour are common too; marknet_peak (the best window
# above the design's mean over the photo's windows) supports it: a mark is like its drawing in one place.
PRIOR = {"shortlist": 5.0, "bow": 4.0, "inliers": 3.0, "inlier_ratio": 3.0, "ocr": 8.0, "text": 2.0, "hs_match": 0.5,
         "undervaluation": 0.3, "marknet": 6.0, "shape": 8.0, "in_text": -2.0, "agree": 1.0,
         "ocr_short": -4.0, "colour": 1.0, "marknet_peak": 3.0}
PRIOR_NONE = 7.5


def rejects(probs: np.ndarray, p_none: float, ratio: float) -> bool:
    """The decision: "no registered design" when ``p_none`` is at least ``ratio`` times the best candidate's
    probability (1 = the most probable answer; lower = fewer false alarms on unregistered goods)."""
    return bool(p_none >= ratio * (float(probs.max()) if len(probs) else 0.0))


def expand(feats: np.ndarray) -> np.ndarray:
    """(n, len(SIGNALS)) signals of one query's candidates -> (n, len(FEATURES)) with the derived features."""
    feats = np.asarray(feats, dtype=np.float64).reshape(-1, len(SIGNALS))
    n = len(feats)
    cols = [feats]
    for s in LEADS:
        v = feats[:, SIGNALS.index(s)]
        if n < 2:
            cols.append(np.clip(v, 0, None)[:, None])
            continue
        top2 = np.sort(v)[-2:]
        others = np.where(v >= top2[1], top2[0], top2[1])  # best of the other candidates
        cols.append(np.clip(v - others, 0, None)[:, None])
    return np.hstack(cols)


@dataclass(frozen=True)
class FusionModel:
    weights: dict[str, float]
    none_bias: float
    none_weights: dict[str, float] = field(default_factory=dict)
    version: str = "prior-1"
    trained_on: str = ""  # what it was fitted on (query package, n queries)

    def _w(self) -> np.ndarray:
        return np.array([self.weights.get(s, 0.0) for s in FEATURES])

    def score(self, feats: np.ndarray) -> np.ndarray:
        return expand(feats) @ self._w()

    def none_score(self, qfeats: np.ndarray) -> float:
        w0 = np.array([self.none_weights.get(s, 0.0) for s in QUERY_SIGNALS])
        return float(self.none_bias + qfeats @ w0)

    def probabilities(self, feats: np.ndarray, qfeats: np.ndarray) -> tuple[np.ndarray, float]:
        """(P per candidate, p_no_match) for one query; ``feats`` is (n, len(SIGNALS))."""
        z = np.concatenate([[self.none_score(qfeats)], self.score(feats)]) if len(feats) else \
            np.array([self.none_score(qfeats)])
        z = z - z.max()
        e = np.exp(z)
        p = e / e.sum()
        return p[1:], float(p[0])

    def contributions(self, feats: np.ndarray) -> list[dict[str, float]]:
        """Per candidate of one query: each signal's share of its score (weight x value), a lead counted
        with the signal it comes from."""
        out = []
        for row in expand(feats) * self._w():
            c = dict.fromkeys(SIGNALS, 0.0)
            for name, v in zip(FEATURES, row, strict=True):
                c[BASE_OF[name]] += float(v)
            out.append(c)
        return out

    def to_json(self) -> str:
        return json.dumps({"weights": self.weights, "none_bias": self.none_bias, "none_weights": self.none_weights,
                           "version": self.version, "trained_on": self.trained_on}, indent=2, sort_keys=True)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: Path) -> FusionModel:
        d = json.loads(path.read_text(encoding="utf-8"))
        return cls(d["weights"], d["none_bias"], d.get("none_weights", {}), d["version"], d.get("trained_on", ""))


PRIOR_MODEL = FusionModel(dict(PRIOR), PRIOR_NONE)


def features_without(drop: Sequence[str]) -> tuple[str, ...]:
    """FEATURES without the signals ``drop`` and the features derived from them (their leads).

    >>> "shape_lead" in features_without(["shape"]) or "shape" in features_without(["shape"])
    False
    """
    unknown = [n for n in drop if n not in SIGNALS]
    if unknown:
        raise ValueError(f"expected signal names from {', '.join(SIGNALS)}, found {', '.join(map(repr, unknown))}")
    return tuple(f for f in FEATURES if BASE_OF[f] not in drop)


@dataclass(frozen=True)
class Example:
    """One labelled query: candidate signals, query signals, index of the true candidate (-1 = none)."""

    feats: np.ndarray
    qfeats: np.ndarray
    truth: int


def _nll_grad(theta: np.ndarray, data: Sequence[tuple[np.ndarray, np.ndarray, int]], l2: float,
              mask: np.ndarray) -> tuple[float, np.ndarray]:
    k = len(FEATURES)  # mask: 1 for each weight fitted (features, the bias, query signals), 0 for one left out
    theta = theta * mask
    w, b, w0 = theta[:k], theta[k], theta[k + 1:]
    loss, grad = 0.0, np.zeros_like(theta)
    for x, q, truth in data:
        z = np.concatenate([[b + q @ w0], x @ w]) if len(x) else np.array([b + q @ w0])
        z = z - z.max()
        p = np.exp(z) / np.exp(z).sum()
        t = truth + 1
        loss -= np.log(p[t] + 1e-12)
        d = p.copy()
        d[t] -= 1.0
        if len(x):
            grad[:k] += x.T @ d[1:]
        grad[k] += d[0]
        grad[k + 1:] += d[0] * q
    n = max(len(data), 1)
    shrunk = theta.copy()
    shrunk[k] = 0.0  # the "no match" bias is not shrunk: it sets the base rate, not a signal's strength
    loss = loss / n + l2 * float(shrunk @ shrunk)
    return loss, (grad / n + 2 * l2 * shrunk) * mask


def fit(data: Sequence[Example], *, l2: float = 1e-5, iters: int = 400, trained_on: str = "",
        features: Sequence[str] = FEATURES) -> FusionModel:
    """Maximum-likelihood weights of ``features`` (the others stay 0) by L-BFGS (scipy).

    ``l2`` is added to the *mean* log-loss, i.e. a Gaussian prior of standard deviation 1/sqrt(2 l2 n) on
    each weight for n queries: 1e-5 and 300 queries give ~13, wide enough for a strong signal's weight
    (a penalty of 1e-3, used before, gave ~1.3 and shrank every weight, so the probabilities came out
    under-confident: top-1 probability 0.3-0.4 was right 96% of the time on the held-out benchmark)."""
    from scipy.optimize import minimize

    rows = [(expand(ex.feats) if len(ex.feats) else np.zeros((0, len(FEATURES))), np.asarray(ex.qfeats, float),
             ex.truth) for ex in data]
    # a feature that is 0 in every example carries no information: it keeps its prior weight (e.g. the
    # declaration signals when the labelled queries come without declarations)
    seen = np.any(np.vstack([np.zeros((0, len(FEATURES))), *(x for x, _q, _t in rows)]) != 0, axis=0)
    # a query signal is left out (weight 0) with the candidates' signal it is the best of
    qmask = np.array([QUERY_BASE.get(q, "") in ("", *features) for q in QUERY_SIGNALS], dtype=np.float64)
    mask = np.array([f in features for f in FEATURES], dtype=np.float64) * seen
    full_mask = np.concatenate([mask, [1.0], qmask])
    start = np.concatenate([[PRIOR.get(s, 0.0) for s in FEATURES], [PRIOR_NONE], np.zeros(len(QUERY_SIGNALS))])
    res = minimize(_nll_grad, start * full_mask, args=(rows, l2, full_mask), jac=True, method="L-BFGS-B",
                   options={"maxiter": iters})
    theta = res.x
    k = len(FEATURES)
    theta[:k] = np.where(mask > 0, theta[:k], [PRIOR.get(f, 0.0) for f in FEATURES])
    theta[k + 1:] *= qmask
    digest = hashlib.sha256(theta.tobytes()).hexdigest()[:12]
    return FusionModel({s: float(v) for s, v in zip(FEATURES, theta[:k], strict=True) if s in features},
                       float(theta[k]), {s: float(v) for s, v in zip(QUERY_SIGNALS, theta[k + 1:], strict=True)},
                       f"clogit-{digest}", trained_on)
