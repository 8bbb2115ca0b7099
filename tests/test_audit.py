"""The audit log's hash chain: intact, then edited, deleted, reordered, cut in the middle or at the end."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kcs_kit.cli import main
from kcs_kit.errors import KcsError
from kcs_kit.explain import audit


@pytest.fixture
def logged(settings):
    for i in range(5):
        audit.append(settings, "decision", f"officer{i}", {"case_id": f"C20250101-00000{i}", "decision": "confirm"})
    return settings


def _lines(settings) -> list[str]:
    return audit.audit_path(settings).read_text(encoding="utf-8").splitlines(keepends=True)


def _write(settings, lines: list[str]) -> None:
    audit.audit_path(settings).write_text("".join(lines), encoding="utf-8")


def test_intact_chain(logged):
    r = audit.verify(logged)
    assert (r.ok, r.records, r.first_bad) == (True, 5, None)
    recs = [json.loads(line) for line in _lines(logged)]
    assert [x["seq"] for x in recs] == [1, 2, 3, 4, 5] and recs[0]["prev"] == audit.GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(recs, recs[1:], strict=False))
    assert audit.read_log(logged)["actor"].to_list() == ["officer4", "officer3", "officer2", "officer1", "officer0"]


def test_edit_is_detected(logged):
    lines = _lines(logged)
    lines[2] = lines[2].replace('"confirm"', '"reject"')
    _write(logged, lines)
    r = audit.verify(logged)
    assert (r.ok, r.first_bad, r.records) == (False, 3, 2) and "edited" in r.reason


def test_edit_with_a_recomputed_hash_is_detected(logged):
    lines = _lines(logged)
    rec = json.loads(lines[1])
    rec["actor"] = "someone else"
    rec["hash"] = audit.record_hash(rec)
    lines[1] = audit.canonical(rec).decode() + "\n"
    _write(logged, lines)
    r = audit.verify(logged)
    assert (r.ok, r.first_bad) == (False, 3) and "does not link" in r.reason  # the next record still points back


def test_deleted_record_is_detected(logged):
    lines = _lines(logged)
    del lines[1]
    _write(logged, lines)
    r = audit.verify(logged)
    assert (r.ok, r.first_bad) == (False, 2) and "expected record 2, found 3" in r.reason


def test_reordered_records_are_detected(logged):
    lines = _lines(logged)
    lines[1], lines[2] = lines[2], lines[1]
    _write(logged, lines)
    assert audit.verify(logged).first_bad == 2


def test_cut_in_the_middle_and_at_the_end(logged):
    lines = _lines(logged)
    _write(logged, [*lines[:2], lines[2][:40], *lines[3:]])
    r = audit.verify(logged)
    assert (r.ok, r.first_bad) == (False, 3) and "not valid JSON" in r.reason
    _write(logged, lines[:4])
    r = audit.verify(logged)
    assert (r.ok, r.first_bad) == (False, 5) and "HEAD says 5" in r.reason


def test_appending_continues_the_chain_and_kinds_are_checked(logged):
    audit.append(logged, "notice", None, {"case_id": "C20250101-000009"})
    assert audit.verify(logged).records == 6
    assert audit.read_log(logged, kind="notice")["actor"].to_list() == [logged.officer_id]
    with pytest.raises(KcsError, match="expected one of match"):
        audit.append(logged, "coffee", "kim", {})


def test_cli_verify_exit_codes(logged):
    ws = str(logged.workspace)
    r = CliRunner().invoke(main, ["--workspace", ws, "audit", "verify"])
    assert r.exit_code == 0 and "5 records, chain intact" in r.output
    lines = _lines(logged)
    lines[0] = lines[0].replace("officer0", "officerX")
    _write(logged, lines)
    r = CliRunner().invoke(main, ["--workspace", ws, "audit", "verify", "--json"])
    assert r.exit_code == 1 and json.loads(r.output)["first_bad"] == 1
    r = CliRunner().invoke(main, ["--workspace", ws, "audit", "log", "--json", "--limit", "2"])
    assert [x["seq"] for x in json.loads(r.output)] == [5, 4]
