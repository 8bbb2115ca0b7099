"""Evidence on a known pair: keypoints and region, declaration facts from DuckDB, contributions, narratives."""

from __future__ import annotations

import dataclasses
import io
import math
from datetime import date

import pytest
from explain_ws import build, ids, photo_of
from PIL import Image

from kcs_kit.errors import KcsError, NotFoundError
from kcs_kit.explain.case import open_case
from kcs_kit.explain.evidence import OcrMatch, explain, ocr_matches
from kcs_kit.explain.facts import LinkedDeclaration, PartyHistory, PlaceHistory, declaration_facts, mask
from kcs_kit.match.engine import match
from kcs_kit.registry.store import get_design


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build(tmp_path_factory.mktemp("explain"))


@pytest.fixture(scope="module")
def explained(ws):
    case = open_case(ws, [photo_of(ws, ids(ws)[0], seed=1)], declaration_id="Q1")
    return case, explain(ws, case, top=3)


def test_visual_evidence_of_a_known_pair(ws, explained):
    case, xs = explained
    first = xs[0]
    assert [x.candidate.rank for x in xs] == [1, 2, 3]
    assert first.candidate.design_id == ids(ws)[0]
    assert first.inliers >= 20 and first.region_agreement >= 50.0
    assert first.region_agreement == round(100 * first.inliers / first.keypoint_matches, 1)
    im = Image.open(io.BytesIO(first.visual_png))
    assert im.format == "PNG" and im.width > im.height > 400


def test_declaration_facts_from_the_lake(ws, explained):
    a, b = (get_design(ws, d) for d in ids(ws)[:2])
    f = explained[1][0].declaration
    assert f is not None
    assert (f.declaration_id, f.declared_on, f.hs6, f.hs_agreement) == ("Q1", date(2021, 3, 10), a.hs6[0], "exact")
    assert (f.unit_value_krw, f.genuine_price_krw) == (30000.0, a.genuine_price_krw)
    assert f.undervaluation_ratio == pytest.approx(30000.0 / a.genuine_price_krw)
    assert f.origin == PlaceHistory("origin", "CN", 3, 3, 2)  # H1, H2, H3 (Q1 itself left out); H4 is US
    assert f.departure == PlaceHistory("departure", "HK", 1, 1, 1)  # H3
    assert f.parties == (
        PartyHistory("importer", "IM****2", 2, 1, tuple(sorted([a.title, b.title]))),
        PartyHistory("seller", "SE****7", 2, 2, (a.title,)),
        PartyHistory("declarant", "DC****3", 2, 1, tuple(sorted([a.title, b.title]))))
    assert f.linked == (LinkedDeclaration("H3", date(2021, 1, 7), "seller", a.title, "confirmed_counterfeit"),
                        LinkedDeclaration("H1", date(2020, 11, 2), "importer+seller", a.title, "confirmed_counterfeit"))
    assert f.masked


def test_masking_follows_the_setting(ws):
    f = declaration_facts(ws, "Q1", ids(ws)[0], mask_ids=False)
    assert [p.entity_id for p in f.parties] == ["IMP0042", "SEL0007", "DCL0003"] and not f.masked
    assert (mask("IMP0042"), mask("AB"), mask(None)) == ("IM****2", "**", None)
    with pytest.raises(NotFoundError, match="declaration 'NOPE'"):
        declaration_facts(ws, "NOPE", ids(ws)[0])


def test_contributions_explain_why_one_beat_two(explained):
    x1, x2 = explained[1][0], explained[1][1]
    c1, c2 = x1.candidate, x2.candidate
    assert [k.contribution for k in x1.contributions] == sorted((k.contribution for k in x1.contributions),
                                                                reverse=True)
    # the log-odds of candidate 1 over candidate 2 is exactly the sum of the contribution differences
    gap = sum(k.contribution for k in x1.contributions) - sum(k.contribution for k in x2.contributions)
    assert gap == pytest.approx(math.log(c1.probability / c2.probability), abs=1e-4)
    assert sum(d for _s, d in x1.lead_over_next) == pytest.approx(gap, abs=1e-4)
    assert x1.next_design_id == c2.design_id and x1.lead_over_next[0][1] > 0


def test_korean_narrative_of_a_known_pair(ws, explained):
    x = explained[1][0]
    c, a = x.candidate, get_design(ws, ids(ws)[0])
    ko = x.narrative_ko
    assert ko.startswith(f"후보 1: {a.title} ({a.design_id}), 등록번호 {a.registration_no}, 권리자 {a.right_holder}; "
                         f"일치 확률 {c.probability:.0%}. 특징점 매칭 {x.keypoint_matches}개 중 {x.inliers}개가 "
                         f"하나의 원근 변환으로 일치합니다 (영역 일치율 {x.region_agreement:.0f}%). "
                         "물품에서 읽은 단어가 없습니다. ")
    price = f"{a.genuine_price_krw:,.0f}"
    ratio = f"{30000 / a.genuine_price_krw:.1%}"
    for sentence in (f"신고 HS 부호 {a.hs6[0]}은(는) 디자인의 지정 상품 부호({', '.join(a.hs6)})에 포함됩니다.",
                     f"신고 단가 30,000원은 정품 가격 {price}원의 {ratio}입니다.",
                     "다른 신고의 위조품 확정 건수: 원산지 CN 2건, 적출국 HK 1건.",
                     f"해외거래처 SE****7은(는) 이전 의심 또는 확정 사례가 2건 있습니다 (확정 2건; 상표: {a.title}).",
                     "같은 수입자 또는 해외거래처의 다른 신고 2건이 이 상표를 신고했습니다 (H3, H1).",
                     "가장 큰 근거는 특징점 일치입니다"):
        assert sentence in ko, sentence
    assert x.narrative_en.startswith(f"Candidate 1: {a.title} ({a.design_id}), registration {a.registration_no}")
    assert "Declared unit value 30,000 KRW is" in x.narrative_en
    assert explain(ws, explained[0], top=1)[0].narrative_ko == ko  # deterministic
    assert not x.mirrored and "좌우 반전" not in ko and "mirrored" not in x.narrative_en


def test_narrative_says_when_the_mark_is_mirrored(explained):
    from kcs_kit.explain.narrative import narrate

    x = dataclasses.replace(explained[1][0], mirrored=True)
    assert "the mark on the item is left-right reversed" in narrate(x, "en")
    assert "물품의 상표가 좌우 반전되어 있습니다" in narrate(x, "ko")
    assert "left-right reversed" not in narrate(dataclasses.replace(x, inliers=0), "en")  # no keypoints, no claim


def test_narrative_says_when_the_match_lies_inside_ordinary_text(explained):
    from kcs_kit.explain.narrative import narrate
    from kcs_kit.match.types import Evidence

    x = explained[1][0]
    assert "letter of ordinary text" not in x.narrative_en  # the pair's mark stands alone
    c = dataclasses.replace(x.candidate, evidence=(*x.candidate.evidence, Evidence("in_text", 0.9, -1.8, "")))
    y = dataclasses.replace(x, candidate=c)
    assert "90% of the matched region lies inside text read on the item" in narrate(y, "en")
    assert "일반 문자의 한 글자일 수 있습니다" in narrate(y, "ko")


def test_narrative_says_when_the_name_read_is_short(explained):
    """An OCR read of a name of 3 characters or fewer (the ocr_short signal) is said to count for less."""
    from kcs_kit.explain.narrative import narrate
    from kcs_kit.match.types import Evidence

    x = dataclasses.replace(explained[1][0], ocr=(OcrMatch("EA", "EA", 1.0),))
    assert "counts for less" not in narrate(x, "en")  # no ocr_short evidence: a name like any other
    c = dataclasses.replace(x.candidate, evidence=(*x.candidate.evidence, Evidence("ocr_short", 0.9, -4.3, "")))
    y = dataclasses.replace(x, candidate=c)
    assert 'OCR read "EA"' in narrate(y, "en") and "3 characters or fewer" in narrate(y, "en")
    assert "명칭이 3자 이하입니다" in narrate(y, "ko")


def test_narrative_says_when_the_registered_colour_is_where_the_mark_is(explained):
    """A full colour signal (the registered colour over a quarter more of the mark's place than of the ring around
    it) is said; a partial one is not."""
    from kcs_kit.explain.narrative import narrate
    from kcs_kit.match.types import Evidence

    x = explained[1][0]
    rest = tuple(e for e in x.candidate.evidence if e.signal != "colour")
    for value, said in ((0.0, False), (0.6, False), (1.0, True)):
        c = dataclasses.replace(x.candidate, evidence=(*rest, Evidence("colour", value, 1.2, "")))
        y = dataclasses.replace(x, candidate=c)
        assert ("registered colour covers much of the place" in narrate(y, "en")) is said
        assert ("그 주변에는 훨씬 적습니다" in narrate(y, "ko")) is said


def test_ocr_words_matched_to_the_mark():
    assert ocr_matches(["NIKE", "nikee", "Air", "NlKE", "x"], "Nike") == (
        OcrMatch("NIKE", "Nike", 1.0), OcrMatch("nikee", "Nike", 0.667))
    assert ocr_matches(["SECONDS", "code!"], "30 seconds of code") == (
        OcrMatch("SECONDS", "seconds", 1.0), OcrMatch("code!", "code", 1.0))


def test_explain_a_match_result_needs_its_photos(ws):
    photo = photo_of(ws, ids(ws)[3], seed=7)
    r = match([photo], ws)
    with pytest.raises(KcsError, match="needs the photos"):
        explain(ws, r)
    (x,) = explain(ws, r, [photo], top=1)
    assert x.candidate.design_id == ids(ws)[3] and x.declaration is None
    assert "Declared" not in x.narrative_en
