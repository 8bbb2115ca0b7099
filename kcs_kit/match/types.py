"""Results of matching, as frozen dataclasses (the explanations and the widgets render them).

Every candidate carries per-signal ``Evidence`` with that signal's contribution to the log-odds of the
probability, so an officer can see why candidate 1 beat candidate 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Evidence:
    signal: str  # e.g. "shortlist", "inliers", "inlier_ratio", "ocr", "text", "hs_match", "undervaluation"
    value: float  # the raw signal value
    contribution: float  # its additive contribution to the candidate's log-odds in the fusion model
    detail: str = ""  # human-readable: "41 keypoints agree (RANSAC homography)", "OCR read 'NIKE' (0.93)"


@dataclass(frozen=True)
class Candidate:
    design_id: str
    rank: int  # 1-based
    probability: float  # calibrated P(this design is the one on the item)
    title: str = ""
    right_holder: str = ""
    registration_no: str = ""
    evidence: tuple[Evidence, ...] = ()
    photo_index: int | None = None  # which photo gave the best evidence
    region: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 of the matched region, in pixels
    corners: tuple[tuple[float, float], ...] | None = None  # the design's outline mapped into the photo
    verified: bool = True  # its keypoints were verified (False: below engine.VERIFY on every image shortlist)


@dataclass(frozen=True)
class MatchResult:
    candidates: tuple[Candidate, ...]
    p_no_match: float  # calibrated P(no registered design matches the item)
    rejected: bool  # True when "no registered design" is the most probable answer (p_no_match >= every candidate)
    latency_ms: float
    photo_sizes: tuple[tuple[int, int], ...] = ()  # (width, height) of each photo after EXIF rotation
    ocr_text: tuple[str, ...] = ()  # words read on the item
    model_version: str = ""
    declaration_id: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)  # warnings for the officer (e.g. "photo 2 is blurred")
    query_signals: tuple[tuple[str, float], ...] = ()  # the item's own signals the fusion saw (for "no match")
    stage_ms: tuple[tuple[str, float], ...] = ()  # each pipeline stage's own milliseconds (some run side by side)
    photos_used: int = 0  # how many of the photos (the first ones) gave the answer: fewer than photo_sizes when the
    # first photo alone was certain (settings.match_first_photo); 0 in results saved before it was recorded

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates and not self.rejected else None
