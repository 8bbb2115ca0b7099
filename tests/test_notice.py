"""Notice pack: refused unless confirmed; PDF text read back; HTML, .eml and JSON contents; masking; CLI."""

from __future__ import annotations

import io
import json
from email import policy
from email.parser import BytesParser

import pytest
from click.testing import CliRunner
from explain_ws import build, ids, photo_of
from pypdf import PdfReader

from kcs_kit.cli import main
from kcs_kit.config import load_settings
from kcs_kit.errors import KcsError
from kcs_kit.explain import audit
from kcs_kit.explain.case import decide, get_case, list_cases, open_case
from kcs_kit.explain.notice import notify
from kcs_kit.registry.store import get_design


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build(tmp_path_factory.mktemp("notice"))


@pytest.fixture(scope="module")
def pack(ws):
    case = open_case(ws, [photo_of(ws, ids(ws)[0], seed=1)], declaration_id="Q1", officer="kim")
    decide(ws, case.case_id, "confirm", reason="logo, label and price", officer="kim")
    return notify(ws, case.case_id, officer="kim")


def test_notice_refused_unless_confirmed(ws):
    case = open_case(ws, [photo_of(ws, ids(ws)[1], seed=2)])
    with pytest.raises(KcsError, match="expected a confirmed case .* found it open"):
        notify(ws, case.case_id)
    decide(ws, case.case_id, "reject")
    with pytest.raises(KcsError, match="found it rejected"):
        notify(ws, case.case_id)


def test_pdf_text_names_case_registration_and_masked_importer(ws, pack):
    a = get_design(ws, ids(ws)[0])
    text = "".join(page.extract_text() for page in PdfReader(pack.pdf).pages)
    flat = " ".join(text.split())
    for expected in (pack.case_id, a.registration_no, a.right_holder, "Importer: IM****2", "Seller: SE****7",
                     "Declaration: Q1", "HS6: " + a.hs6[0], "Origin > departure: CN > HK", "후보 1",
                     "신고 단가 30,000원"):
        assert expected in flat, expected
    assert "IMP0042" not in text and "SEL0007" not in text
    assert pack.pdf.parent == ws.outbox_dir / pack.case_id


def test_json_html_and_eml(ws, pack):
    a = get_design(ws, ids(ws)[0])
    n = json.loads(pack.json.read_text(encoding="utf-8"))
    assert n["case_id"] == pack.case_id and n["design"]["registration_no"] == a.registration_no
    assert n["right_holder"] == {"name": a.right_holder, "contact": a.right_holder_contact}
    assert n["matches"][0]["design_id"] == a.design_id and len(n["matches"]) == 3
    assert n["declaration"]["importer_id"] == "IM****2" and n["declaration"]["masked"] is True
    assert n["decision"] == {"officer": "kim", "decided_at": n["timestamps"]["decided_at"],
                             "reason": "logo, label and price"}
    assert set(n["timestamps"]) == {"received_at", "matched_at", "decided_at", "notice_ready_at"}
    assert 0 < n["seconds_upload_to_notice"] <= pack.seconds_upload_to_notice < 600
    assert [p["sha256"][:16] for p in n["photos"]] == [p.name.split(".")[0] for p in get_case(ws, pack.case_id).photos]
    page = pack.html.read_text(encoding="utf-8")
    assert pack.case_id in page and a.registration_no in page and "IM****2" in page and "IMP0042" not in page
    assert page.count('src="data:image/') == 2  # the evidence PNG and the photo, embedded
    msg = BytesParser(policy=policy.default).parse(io.BytesIO(pack.eml.read_bytes()))
    assert msg["To"] == a.right_holder_contact and pack.case_id in msg["Subject"]
    names = [p.get_filename() for p in msg.iter_attachments()]
    assert names[:2] == [f"notice-{pack.case_id}.pdf", f"notice-{pack.case_id}.json"] and names[2].endswith(".jpg")
    assert "IM****2" in msg.get_body(("plain",)).get_content()


def test_case_is_notified_with_its_timing_and_audit(ws, pack):
    case = get_case(ws, pack.case_id)
    assert case.status == "notified" and case.notice_dir == pack.folder
    ev = case.events[-1]
    assert ev.kind == "notified" and ev.payload["seconds_upload_to_notice"] == pytest.approx(
        pack.seconds_upload_to_notice)
    row = list_cases(ws, status="notified").to_dicts()[0]
    assert row["notice_path"] == str(pack.folder)
    rec = audit.read_log(ws, kind="notice")
    assert rec.height == 1 and pack.case_id in rec["summary"][0]
    with pytest.raises(KcsError, match="found it notified"):
        notify(ws, pack.case_id)
    with pytest.raises(KcsError, match="reopen it first"):
        decide(ws, pack.case_id, "reject")


def test_unmasked_when_the_setting_is_off(ws):
    open_ws = load_settings(workspace=ws.workspace, env={}, match_ocr=False, mask_identities=False)
    case = open_case(open_ws, [photo_of(ws, ids(ws)[0], seed=3)], declaration_id="Q1")
    decide(open_ws, case.case_id, "confirm")
    p = notify(open_ws, case.case_id)
    text = "".join(page.extract_text() for page in PdfReader(p.pdf).pages)
    assert "IMP0042" in " ".join(text.split())
    assert json.loads(p.json.read_text())["declaration"]["importer_id"] == "IMP0042"


def test_cli_notify(ws):
    case = open_case(ws, [photo_of(ws, ids(ws)[2], seed=4)])
    decide(ws, case.case_id, "confirm")
    r = CliRunner().invoke(main, ["--workspace", str(ws.workspace), "case", "notify", case.case_id, "--json"],
                           env={"KCS_MATCH_OCR": "0"})
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["case_id"] == case.case_id and out["pdf"].endswith("notice.pdf")
