"""Short narratives of a candidate's evidence in English and Korean: deterministic templates, no model.

One sentence per kind of evidence (identity and probability, keypoints, OCR and whether its word is short
enough to turn up in ordinary text, HS code, value, origin,
parties, linked declarations, the strongest signal and the lead over the next candidate), in that order.

Example::

    >>> from kcs_kit.explain.narrative import narrate
    >>> narrate(explanation, "ko").split(". ")[0]  # doctest: +SKIP
    '후보 1: Nike (nike), 등록번호 40-2001-1234567, 권리자 Nike Inc; 일치 확률 97%'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kcs_kit.errors import KcsError

if TYPE_CHECKING:
    from kcs_kit.explain.evidence import CandidateExplanation
    from kcs_kit.explain.facts import DeclarationFacts

LANGS = ("en", "ko")
SIGNAL_NAMES = {  # signals the matcher may add later fall back to their own name
    "shortlist": ("global shape similarity", "전체 형태 유사도"),
    "bow": ("shared visual words", "시각 단어 일치"),
    "inliers": ("keypoints in agreement", "특징점 일치"),
    "inlier_ratio": ("share of the design's keypoints found", "디자인 특징점 검출 비율"),
    "ocr": ("words read on the item (OCR)", "물품 문자 인식(OCR)"),
    "text": ("text similarity", "텍스트 유사도"),
    "hs_match": ("declared HS code", "신고 HS 부호"),
    "undervaluation": ("declared value below the genuine price", "정품 대비 저가 신고"),
    "marknet": ("learned mark similarity", "학습된 상표 유사도"),
    "shape": ("silhouette similarity", "윤곽 형상 유사도"),
    "in_text": ("the mark found inside ordinary text", "일반 문자열 안에서 찾은 상표"),
    "agree": ("the stages agreeing on where the mark is", "상표 위치에 대한 단계 간 일치"),
    "ocr_short": ("a short name read (common in ordinary text)", "짧은 명칭 인식 (일반 문자열에 흔함)"),
    "colour": ("the registered colour where the mark is, not around it", "주변이 아닌 상표 위치의 등록 색상"),
    "marknet_peak": ("the learned similarity standing out in one place of the photo",
                     "사진의 한 곳에서 두드러지는 학습된 상표 유사도"),
}
IN_TEXT_SAID = 0.5  # the narrative says so when at least this share of the matched region lies inside text
COLOUR_SAID = 1.0  # ... and when the colour signal is full (the registered colour covers a quarter more of the
# place than of the ring around it)
ROLE_NAMES = {"importer": ("importer", "수입자"), "seller": ("seller", "해외거래처"),
              "declarant": ("declarant", "신고인")}
T = {
    "head": ("Candidate {rank}: {title} ({design_id}), registration {reg}, right holder {holder}; probability {pct}.",
             "후보 {rank}: {title} ({design_id}), 등록번호 {reg}, 권리자 {holder}; 일치 확률 {pct}."),
    "kp": ("{inliers} of {matches} keypoint matches agree under one perspective transform "
           "({agree:.0f}% region agreement).",
           "특징점 매칭 {matches}개 중 {inliers}개가 하나의 원근 변환으로 일치합니다 (영역 일치율 {agree:.0f}%)."),
    "kp0": ("No keypoints agree under one perspective transform.", "하나의 원근 변환으로 일치하는 특징점이 없습니다."),
    "kp_mirror": ("They agree with the design mirrored: the mark on the item is left-right reversed.",
                  "특징점은 좌우 반전된 디자인과 일치합니다: 물품의 상표가 좌우 반전되어 있습니다."),
    "ocr": ('OCR read "{word}", which matches the mark word "{mark}" (score {score:.2f}).',
            'OCR로 읽은 "{word}"이(가) 상표 단어 "{mark}"와(과) 일치합니다 (점수 {score:.2f}).'),
    "ocr_short": ("The name has 3 characters or fewer: such a word often turns up in ordinary text by chance, so "
                  "this reading counts for less.",
                  "명칭이 3자 이하입니다: 이런 단어는 일반 문자열에 우연히 자주 나타나므로 "
                  "이 인식 결과의 비중은 낮습니다."),
    "ocr0": ("None of the words read on the item matches the mark.",
             "물품에서 읽은 단어 중 상표와 일치하는 단어가 없습니다."),
    "ocr_none": ("No words were read on the item.", "물품에서 읽은 단어가 없습니다."),
    "in_text": ("{pct} of the matched region lies inside text read on the item that is not the design's name: "
                "the match may be a letter of ordinary text.",
                "일치 영역의 {pct}가 디자인 명칭이 아닌 물품의 문자열 안에 있습니다: "
                "일반 문자의 한 글자일 수 있습니다."),
    "colour": ("The design's registered colour covers much of the place where the mark was found, and much less "
               "of what is around it.",
               "상표를 찾은 위치의 상당 부분이 디자인의 등록 색상이며, 그 주변에는 훨씬 적습니다."),
    "hs_exact": ("Declared HS {hs6} is one of the design's goods codes ({codes}).",
                 "신고 HS 부호 {hs6}은(는) 디자인의 지정 상품 부호({codes})에 포함됩니다."),
    "hs_chapter": ("Declared HS {hs6} is in the same chapter as the design's goods codes ({codes}).",
                   "신고 HS 부호 {hs6}은(는) 디자인의 지정 상품 부호({codes})와 같은 류입니다."),
    "hs_none": ("Declared HS {hs6} differs from the design's goods codes ({codes}).",
                "신고 HS 부호 {hs6}은(는) 디자인의 지정 상품 부호({codes})와 다릅니다."),
    "value": ("Declared unit value {unit:,.0f} KRW is {ratio:.1%} of the genuine price {genuine:,.0f} KRW.",
              "신고 단가 {unit:,.0f}원은 정품 가격 {genuine:,.0f}원의 {ratio:.1%}입니다."),
    "places": ("Confirmed counterfeit lines in other declarations: {n_o} from origin {origin}, {n_d} departing "
               "{departure}.",
               "다른 신고의 위조품 확정 건수: 원산지 {origin} {n_o}건, 적출국 {departure} {n_d}건."),
    "party": ("The {role} {entity} has {flagged} prior suspected or confirmed case(s) ({confirmed} confirmed; "
              "brands: {brands}).",
              "{role} {entity}은(는) 이전 의심 또는 확정 사례가 {flagged}건 있습니다 "
              "(확정 {confirmed}건; 상표: {brands})."),
    "party0": ("No prior cases for the importer, seller or declarant.",
               "수입자, 해외거래처, 신고인의 이전 사례가 없습니다."),
    "linked": ("{n} other declaration(s) by the same importer or seller claim this brand ({ids}).",
               "같은 수입자 또는 해외거래처의 다른 신고 {n}건이 이 상표를 신고했습니다 ({ids})."),
    "top": ("The strongest signal is {signal} ({value:+.2f} to the log-odds).",
            "가장 큰 근거는 {signal}입니다 (로그 오즈 {value:+.2f})."),
    "lead": ("It leads candidate {rank} ({design_id}) mainly on {signal} ({value:+.2f}).",
             "후보 {rank}({design_id})보다 주로 {signal}에서 앞섭니다 ({value:+.2f})."),
}


def _t(key: str, lang: str, **kw: object) -> str:
    return T[key][LANGS.index(lang)].format(**kw)


def signal_name(signal: str, lang: str) -> str:
    return SIGNAL_NAMES.get(signal, (signal, signal))[LANGS.index(lang)]


def _declaration(f: DeclarationFacts, lang: str) -> list[str]:
    out = []
    codes = ", ".join(f.design_hs6)
    if f.hs_agreement != "unknown":
        out.append(_t(f"hs_{f.hs_agreement}", lang, hs6=f.hs6, codes=codes))
    if f.undervaluation_ratio is not None:
        out.append(_t("value", lang, unit=f.unit_value_krw, ratio=f.undervaluation_ratio, genuine=f.genuine_price_krw))
    out.append(_t("places", lang, origin=f.origin.country or "?", n_o=f.origin.confirmed,
                  departure=f.departure.country or "?", n_d=f.departure.confirmed))
    flagged = [p for p in f.parties if p.flagged]
    out += [_t("party", lang, role=ROLE_NAMES[p.role][LANGS.index(lang)], entity=p.entity_id, flagged=p.flagged,
               confirmed=p.confirmed, brands=", ".join(p.brands) or "-") for p in flagged] or [_t("party0", lang)]
    if f.linked:
        out.append(_t("linked", lang, n=len(f.linked), ids=", ".join(x.declaration_id for x in f.linked[:5])))
    return out


def _value(x: CandidateExplanation, signal: str) -> float:
    """The value of one of the candidate's evidence signals (0 when it has none)."""
    return next((e.value for e in x.candidate.evidence if e.signal == signal), 0.0)


def narrate(x: CandidateExplanation, lang: str) -> str:
    """The narrative of one explained candidate in ``lang`` ('en' or 'ko')."""
    if lang not in LANGS:
        raise KcsError(f"narrative language {lang!r}: expected one of {', '.join(LANGS)}")
    c = x.candidate
    out = [_t("head", lang, rank=c.rank, title=c.title, design_id=c.design_id, reg=c.registration_no or "-",
              holder=c.right_holder, pct=f"{c.probability:.0%}")]
    out.append(_t("kp", lang, inliers=x.inliers, matches=x.keypoint_matches, agree=x.region_agreement)
               if x.inliers else _t("kp0", lang))
    if x.inliers and x.mirrored:
        out.append(_t("kp_mirror", lang))
    if x.ocr:
        out.append(_t("ocr", lang, word=x.ocr[0].word, mark=x.ocr[0].mark_word, score=x.ocr[0].score))
        if _value(x, "ocr_short"):
            out.append(_t("ocr_short", lang))
    else:
        out.append(_t("ocr0" if x.words_read else "ocr_none", lang))
    in_text = _value(x, "in_text")
    if in_text >= IN_TEXT_SAID:
        out.append(_t("in_text", lang, pct=f"{in_text:.0%}"))
    if _value(x, "colour") >= COLOUR_SAID:
        out.append(_t("colour", lang))
    if x.declaration is not None:
        out += _declaration(x.declaration, lang)
    if x.contributions and x.contributions[0].contribution > 0:
        top = x.contributions[0]
        out.append(_t("top", lang, signal=signal_name(top.signal, lang), value=top.contribution))
    if x.lead_over_next and x.next_design_id and x.lead_over_next[0][1] > 0:
        signal, diff = x.lead_over_next[0]
        out.append(_t("lead", lang, rank=c.rank + 1, design_id=x.next_design_id, signal=signal_name(signal, lang),
                      value=diff))
    return " ".join(out)
