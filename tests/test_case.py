"""The case file: open (photos kept under content-hash names, match, events, audit), decide, reopen, list, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from explain_ws import build, ids, photo_of

from kcs_kit.cli import main
from kcs_kit.errors import ImageError, KcsError, NotFoundError
from kcs_kit.explain import audit
from kcs_kit.explain.case import decide, get_case, list_cases, open_case, reopen
from kcs_kit.match.fusion import QUERY_SIGNALS, SIGNALS


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build(tmp_path_factory.mktemp("case"))


def test_open_case_keeps_photos_under_hash_names_and_records_the_match(ws, tmp_path):
    a = ids(ws)[0]
    upload = tmp_path / "../../etc passwd; rm.jpg"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(photo_of(ws, a, seed=1))
    case = open_case(ws, [upload], declaration_id="Q1", officer="kim")
    assert case.status == "open" and case.officer == "kim" and case.declaration_id == "Q1"
    assert [e.kind for e in case.events] == ["opened", "matched"]
    assert case.result.candidates[0].design_id == a
    (p,) = case.photos
    assert p.parent == ws.workspace / "cases" / case.case_id
    assert p.name == audit.sha256_bytes(upload.read_bytes())[:16] + ".jpg"
    assert p.read_bytes() == upload.read_bytes()
    training = case.events[1].payload["training"]
    assert training["signals"] == list(SIGNALS) and len(training["query"]) == len(QUERY_SIGNALS)
    assert set(training["candidates"]) == {c.design_id for c in case.result.candidates}
    # the audit record of the match says how many of the photos were matched (match_first_photo)
    last = json.loads(audit.audit_path(ws).read_text(encoding="utf-8").splitlines()[-1])
    assert last["kind"] == "match" and last["payload"]["case_id"] == case.case_id
    assert last["payload"]["photos_used"] == case.result.photos_used == 1


def test_stored_signals_reproduce_the_probabilities(ws):
    """The matched event holds every candidate's raw signals: refusing them gives the same probabilities."""
    from kcs_kit.match.context import get_context

    case = open_case(ws, [photo_of(ws, ids(ws)[1], seed=2)])
    t = case.events[1].payload["training"]
    feats = np.array([t["candidates"][c.design_id] for c in case.result.candidates])
    probs, p0 = get_context(ws).fusion.probabilities(feats, np.array(t["query"]))
    assert np.allclose(probs, [c.probability for c in case.result.candidates], atol=1e-6)
    assert p0 == pytest.approx(case.result.p_no_match, abs=1e-6)


def test_decide_confirm_defaults_to_the_top_candidate_and_is_audited(ws):
    a = ids(ws)[0]
    case = open_case(ws, [photo_of(ws, a, seed=3)], officer="kim")
    done = decide(ws, case.case_id, "confirm", reason="logo matches", officer="lee")
    assert (done.status, done.decision, done.design_id, done.reason) == ("confirmed", "confirm", a, "logo matches")
    assert [e.kind for e in done.events] == ["opened", "matched", "decided"]
    assert done.events[-1].officer == "lee" and done.events[-1].payload["rank"] == 1
    log = audit.read_log(ws, kind="decision")
    assert log["summary"][0].startswith(f"case_id={case.case_id}, decision=confirm, design_id={a}")
    assert audit.verify(ws).ok


def test_reject_unsure_reopen_and_errors(ws):
    case = open_case(ws, [photo_of(ws, ids(ws)[2], seed=4)])
    assert decide(ws, case.case_id, "reject", reason="genuine").status == "rejected"
    assert decide(ws, case.case_id, "unsure").status == "unsure"
    with pytest.raises(KcsError, match="expected one of confirm, reject, unsure"):
        decide(ws, case.case_id, "maybe")  # type: ignore[arg-type]
    with pytest.raises(KcsError, match="a rejection says no registered design matches"):
        decide(ws, case.case_id, "reject", design_id=ids(ws)[0])
    with pytest.raises(NotFoundError, match="nosuchdesign"):
        decide(ws, case.case_id, "confirm", design_id="nosuchdesign")
    other = ids(ws)[5]
    assert decide(ws, case.case_id, "confirm", design_id=other).design_id == other
    back = reopen(ws, case.case_id, reason="second look")
    assert (back.status, back.decision, back.design_id) == ("open", None, None)
    with pytest.raises(KcsError, match="found it open"):
        reopen(ws, case.case_id)
    with pytest.raises(NotFoundError, match="C20990101-abcdef"):
        get_case(ws, "C20990101-abcdef")
    with pytest.raises(NotFoundError, match="expected an ID like"):
        get_case(ws, "../../etc")


def test_bad_photo_opens_no_case(ws):
    before = list_cases(ws).height
    with pytest.raises(ImageError, match="expected a JPEG"):
        open_case(ws, [b"not a photo"])
    assert list_cases(ws).height == before


def test_list_cases(ws):
    a = ids(ws)[0]
    case = open_case(ws, [photo_of(ws, a, seed=5)], declaration_id="Q1")
    decide(ws, case.case_id, "confirm")
    df = list_cases(ws)
    assert df.columns == ["case_id", "opened_at", "officer", "declaration_id", "top_design", "probability",
                          "status", "design_id", "notice_path"]
    row = df.filter(df["case_id"] == case.case_id).to_dicts()[0]
    assert (row["status"], row["top_design"], row["design_id"], row["declaration_id"]) == ("confirmed", a, a, "Q1")
    assert case.case_id in list_cases(ws, status="confirmed")["case_id"].to_list()
    assert case.case_id not in list_cases(ws, status="open")["case_id"].to_list()
    with pytest.raises(KcsError, match="expected one of open, confirmed"):
        list_cases(ws, status="closed")


def _cli(ws, *args):
    return CliRunner().invoke(main, ["--workspace", str(ws.workspace), *args], env={"KCS_MATCH_OCR": "0"})


def test_cli_open_decide_show_list(ws, tmp_path):
    a = ids(ws)[0]
    p = tmp_path / "item.jpg"
    p.write_bytes(photo_of(ws, a, seed=6))
    r = _cli(ws, "case", "open", str(p), "--declaration", "Q1", "--officer", "park", "--json")
    assert r.exit_code == 0, r.output
    opened = json.loads(r.output)
    case_id = opened["case_id"]
    assert opened["status"] == "open" and opened["candidates"][0]["design_id"] == a
    r = _cli(ws, "case", "decide", case_id, "--confirm", "--reason", "same logo", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["status"] == "confirmed"
    r = _cli(ws, "case", "show", case_id)
    assert r.exit_code == 0 and case_id in r.output and "confirmed" in r.output
    r = _cli(ws, "case", "list", "--status", "confirmed", "--json")
    assert case_id in [row["case_id"] for row in json.loads(r.output)]
    r = _cli(ws, "case", "decide", case_id)
    assert r.exit_code != 0 and "one of --confirm, --reject or --unsure" in r.output
    r = _cli(ws, "case", "show", "C20990101-abcdef")
    assert r.exit_code == 1 and "not in the case file" in r.output
