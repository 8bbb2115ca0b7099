"""Evidence for every candidate of a match: visual, text, declaration, signal contributions, narratives.

``explain`` takes a case (photos, declaration and crop come with it) or a match result with its photos,
and returns one ``CandidateExplanation`` per top candidate:
- visual: the photo and the registered design side by side with the matched keypoints and the matched
  region (homography box) as PNG bytes, and the region agreement (% of keypoint matches in agreement);
- text: words read on the item and the mark's words they match (trigram fuzzy score);
- declaration: ``facts.DeclarationFacts`` (HS code, value, origin, parties, linked declarations);
- contributions: each signal's value and its share of the log-odds, and the lead over the next candidate;
- ``narrative_en`` / ``narrative_ko``: deterministic sentences from the above (``narrative.py``).

Example::

    >>> from kcs_kit.explain.evidence import explain
    >>> x = explain(settings, case, None)[0]  # doctest: +SKIP
    >>> print(x.narrative_ko)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kcs_kit.config import Settings
from kcs_kit.errors import KcsError
from kcs_kit.explain.facts import DeclarationFacts, declaration_facts
from kcs_kit.match.context import norm, trigrams
from kcs_kit.match.photo import PhotoInput
from kcs_kit.match.types import Candidate, MatchResult

MIN_OCR_SCORE = 0.5


@dataclass(frozen=True)
class OcrMatch:
    word: str  # as read on the item
    mark_word: str  # the word of the mark's name it matches
    score: float  # 1.0 exact (after normalising case and punctuation), else trigram Dice


@dataclass(frozen=True)
class Contribution:
    signal: str
    value: float  # raw signal value
    contribution: float  # to the candidate's log-odds
    detail: str


@dataclass(frozen=True)
class CandidateExplanation:
    candidate: Candidate
    visual_png: bytes
    region_agreement: float  # % of keypoint matches that agree with the matched region's homography
    keypoint_matches: int
    inliers: int
    ocr: tuple[OcrMatch, ...]
    words_read: tuple[str, ...]
    declaration: DeclarationFacts | None
    contributions: tuple[Contribution, ...]  # largest contribution first
    lead_over_next: tuple[tuple[str, float], ...]  # (signal, contribution minus the next candidate's), largest first
    next_design_id: str | None
    narrative_en: str = ""
    narrative_ko: str = ""
    mirrored: bool = False  # the keypoints agree with the design mirrored (a mirrored copy)


def ocr_matches(words: Sequence[str], mark: str) -> tuple[OcrMatch, ...]:
    """Words read on the item that match a word of the mark's name (or the whole name), best first."""
    mark_words = {w: norm(w) for w in (mark, *mark.split())}
    out = []
    for word in dict.fromkeys(words):
        n = norm(word)
        if len(n) < 2:
            continue
        best: tuple[float, str] = (0.0, "")
        for mw, mn in mark_words.items():
            if len(mn) < 2:
                continue
            tg, mg = trigrams(n), trigrams(mn)
            score = 1.0 if n == mn else 2 * len(tg & mg) / (len(tg) + len(mg))
            best = max(best, (score, mw))
        if best[0] >= MIN_OCR_SCORE:
            out.append(OcrMatch(word, best[1], round(best[0], 3)))
    return tuple(sorted(out, key=lambda m: (-m.score, m.word)))


def contributions(c: Candidate) -> tuple[Contribution, ...]:
    rows = [Contribution(e.signal, e.value, e.contribution, e.detail) for e in c.evidence]
    return tuple(sorted(rows, key=lambda r: (-r.contribution, r.signal)))


def lead_over(c: Candidate, other: Candidate | None) -> tuple[tuple[str, float], ...]:
    if other is None:
        return ()
    mine = {e.signal: e.contribution for e in c.evidence}
    theirs = {e.signal: e.contribution for e in other.evidence}
    diffs = [(s, round(mine.get(s, 0.0) - theirs.get(s, 0.0), 6)) for s in dict.fromkeys([*mine, *theirs])]
    return tuple(sorted(diffs, key=lambda d: (-d[1], d[0])))


def _inputs(case_or_result: Any, photos: Sequence[PhotoInput] | None, declaration_id: str | None,
            crop: str | None) -> tuple[MatchResult, list[PhotoInput], str | None, str | None]:
    if isinstance(case_or_result, MatchResult):
        result = case_or_result
        if not photos:
            raise KcsError("explain: a match result needs the photos it was made from; found none",
                           hint="pass the same photos as to match(), or pass the case")
        return result, list(photos), declaration_id or result.declaration_id, crop
    case = case_or_result  # a Case (duck-typed: explain sits below case in the import order)
    return (case.result, list(photos) if photos else [str(p) for p in case.photos],
            declaration_id or case.declaration_id, crop if crop is not None else case.crop)


def explain(settings: Settings, case_or_result: Any, photos: Sequence[PhotoInput] | None = None, *,
            declaration_id: str | None = None, top: int = 3, crop: str | None = None,
            mask_ids: bool | None = None) -> tuple[CandidateExplanation, ...]:
    """Explain the ``top`` candidates of a case or of a match result (see the module docstring)."""
    from kcs_kit.explain.narrative import narrate
    from kcs_kit.explain.visual import keypoint_evidence

    result, photos, declaration_id, crop = _inputs(case_or_result, photos, declaration_id, crop)
    cands = result.candidates
    out = []
    for i, c in enumerate(cands[:top]):
        where = c.photo_index or 0
        kp = keypoint_evidence(settings, photos[where], c, crop=crop if where == 0 else None)
        facts = declaration_facts(settings, declaration_id, c.design_id, mask_ids=mask_ids) if declaration_id else None
        nxt = cands[i + 1] if i + 1 < len(cands) else None
        x = CandidateExplanation(c, kp.png, round(kp.region_agreement, 1), kp.matches, kp.inliers,
                                 ocr_matches(result.ocr_text, c.title), result.ocr_text, facts, contributions(c),
                                 lead_over(c, nxt), nxt.design_id if nxt else None, mirrored=kp.mirrored)
        out.append(dataclasses.replace(x, narrative_en=narrate(x, "en"), narrative_ko=narrate(x, "ko")))
    return tuple(out)


def explanation_summary(x: CandidateExplanation) -> dict[str, Any]:
    """Plain data of one explanation (no PNG bytes): for --json, notices and systems."""
    c = x.candidate
    return {"rank": c.rank, "design_id": c.design_id, "title": c.title, "right_holder": c.right_holder,
            "registration_no": c.registration_no, "probability": c.probability,
            "region_agreement": x.region_agreement, "keypoint_matches": x.keypoint_matches, "inliers": x.inliers,
            "mirrored": x.mirrored,
            "ocr": [dataclasses.asdict(m) for m in x.ocr],
            "declaration": dataclasses.asdict(x.declaration) if x.declaration else None,
            "contributions": [dataclasses.asdict(k) for k in x.contributions],
            "lead_over_next": [list(d) for d in x.lead_over_next], "next_design_id": x.next_design_id,
            "narrative_en": x.narrative_en, "narrative_ko": x.narrative_ko}
