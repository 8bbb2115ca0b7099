"""kcs eval: query-package validation, the harness plumbing (predictions JSONL, metrics, kinds) with a
test-double matcher, the pHash anchor on photos whose answer is known, and the CLI's errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import DECLARATIONS, make_registry
from PIL import Image

from kcs_kit.bench.eval import evaluate, read_predictions, read_queries, render_report
from kcs_kit.bench.metrics import compute
from kcs_kit.bench.report import update_section
from kcs_kit.cli import main
from kcs_kit.errors import SchemaError
from kcs_kit.lake.ingest import ingest_file
from kcs_kit.match.types import Candidate, MatchResult
from kcs_kit.registry.images import render_view
from kcs_kit.registry.store import import_package

HEADER = ["query_id", "image_path", "design_id", "crop", "declaration_id", "kind"]
DECLARATION = "56839011"  # the first row of the shipped 2021-Q1 declarations
PASTE = (200, 100)  # where the crop query's render sits on its cluttered canvas


def _noise(w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _write_csv(folder: Path, rows: list[list[str]], header=HEADER, encoding="utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "queries.csv", "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return folder


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """A 6-design registry package and a query package made from its renders (answers known)."""
    root = tmp_path_factory.mktemp("eval")
    pkg = make_registry(root / "registry", 6)
    with open(pkg / "designs.csv", encoding="utf-8") as fh:
        designs = list(csv.DictReader(fh))
    ids = [d["design_id"] for d in designs]
    renders = [render_view(pkg / d["image_path"], hex=d["hex"]) for d in designs]
    q = root / "queries"
    (q / "photos").mkdir(parents=True)
    renders[0]["colour"].save(q / "photos/q1.png")  # exact copy
    renders[1]["dark"].convert("RGB").save(q / "photos/q2.jpg", quality=95)  # JPEG copy
    renders[2]["colour"].rotate(90, expand=True).save(q / "photos/q3.png")  # rotated
    _noise(400, 300, 1).save(q / "photos/q4.png")  # nothing registered
    canvas = _noise(900, 700, 2)
    canvas.paste(renders[3]["light"].convert("RGB"), PASTE)
    canvas.save(q / "photos/q5.png")  # cluttered, with a crop around the mark
    _noise(500, 500, 3).save(q / "photos/q6a.png")  # two photos of one item, the second shows the mark
    renders[4]["dark"].save(q / "photos/q6b.png")
    crop = f"{PASTE[0]},{PASTE[1]},{PASTE[0] + 512},{PASTE[1] + 512}"
    _write_csv(q, [
        ["q1", "photos/q1.png", ids[0], "", "", "copy"],
        ["q2", "photos/q2.jpg", ids[1], "", "", "copy"],
        ["q3", "photos/q3.png", ids[2], "", "", "rotated"],
        ["q4", "photos/q4.png", "", "", "", "noise"],
        ["q5", "photos/q5.png", ids[3], crop, DECLARATION, "crop"],
        ["q6", "photos/q6a.png|photos/q6b.png", ids[4], "", "", "multi"],
    ])
    return pkg, q, ids


def test_read_queries_parses_every_column(packages):
    _pkg, q, ids = packages
    queries = read_queries(q)
    assert [x.query_id for x in queries] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert queries[3].design_id is None and queries[0].design_id == ids[0]
    assert queries[4].crop == (200, 100, 712, 612) and queries[4].declaration_id == DECLARATION
    assert [p.name for p in queries[5].photos] == ["q6a.png", "q6b.png"] and queries[5].line == 7
    assert queries[2].kind == "rotated" and all(p.is_absolute() for x in queries for p in x.photos)


def _ingest_declaration(settings, tmp_path) -> None:
    """Put the declaration that query q5 names into the workspace's lake (header + 3 shipped rows)."""
    src = DECLARATIONS / "df_syn_valid_eng.csv"
    head = src.read_text(encoding="utf-8").splitlines()[:4]
    (tmp_path / "decl.csv").write_text("\n".join(head) + "\n", encoding="utf-8")
    ingest_file(tmp_path / "decl.csv", settings)


def _double(answers: dict[str, tuple[list[tuple[str, float]], bool, float]], calls: list):
    """A matcher with the engine's signature that answers from a table keyed by the first photo's name."""

    def match(photos, settings, *, crop=None, declaration_id=None, text=None, top_k=10, filters=None):
        calls.append((tuple(Path(p).name for p in photos), crop, declaration_id, top_k))
        ranked, rejected, p_no_match = answers[Path(photos[0]).name]
        cands = tuple(Candidate(d, i + 1, p) for i, (d, p) in enumerate(ranked))
        # a matcher that stops at a certain first photo says so (engine: settings.match_first_photo)
        return MatchResult(cands, p_no_match, rejected, latency_ms=0.0, photos_used=1 if not rejected else len(photos))

    return match


class _Table:
    """The same test double as a picklable object, for matching in worker processes (spawned)."""

    def __init__(self, answers: dict[str, tuple[list[tuple[str, float]], bool, float]]) -> None:
        self.answers = answers

    def __call__(self, photos, settings, *, crop=None, declaration_id=None, text=None, top_k=10, filters=None):
        return _double(self.answers, [])(photos, settings, crop=crop, declaration_id=declaration_id, top_k=top_k)


def test_harness_with_a_test_double_matcher(packages, settings, tmp_path):
    pkg, q, d = packages
    answers = {
        "q1.png": ([(d[0], 0.9), (d[1], 0.05)], False, 0.05),  # right
        "q2.jpg": ([(d[1], 0.8)], False, 0.1),  # right
        "q3.png": ([(d[5], 0.5), (d[2], 0.3)], False, 0.4),  # true design second
        "q4.png": ([(d[0], 0.1)], True, 0.9),  # rightly rejected
        "q5.png": ([(d[3], 0.7)], False, 0.2),  # right
        "q6a.png": ([], True, 0.95),  # wrongly rejected
    }
    calls: list = []
    out = tmp_path / "out" / "pred.jsonl"
    _ingest_declaration(settings, tmp_path)
    report = evaluate(pkg, q, settings, matcher=_double(answers, calls), predictions_out=out, anchor=False)
    assert len(calls) == 7 and calls[0] == calls[1]  # one untimed warm-up call, then every query once
    assert calls[5] == (("q5.png",), (200, 100, 712, 612), DECLARATION, 10)
    assert calls[6][0] == ("q6a.png", "q6b.png")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    rec = json.loads(lines[2])
    assert list(rec) == ["query_id", "rejected", "p_no_match", "candidates", "latency_ms"]
    assert rec["query_id"] == "q3" and rec["rejected"] is False and rec["p_no_match"] == 0.4
    assert rec["candidates"] == [{"design_id": d[5], "probability": 0.5}, {"design_id": d[2], "probability": 0.3}]
    assert isinstance(rec["latency_ms"], float) and rec["latency_ms"] >= 0
    k = report.kcs
    assert (report.queries, report.with_design, report.without_design, report.designs) == (6, 5, 1, 6)
    assert k.reading_accuracy == pytest.approx(4 / 6) and k.top1 == pytest.approx(3 / 5)
    assert k.top5 == pytest.approx(4 / 5) and k.rejection_accuracy == 1.0
    # pooled: .9T .8T .7T .5F .3T .1F .05F -> (1 + 1 + 1 + 4/5) / 5 positives
    assert k.micro_ap == pytest.approx(3.8 / 5)
    truth = {x.query_id: x.design_id for x in read_queries(q)}
    assert compute(read_predictions(out), truth) == k
    kinds = {x.kind: x.kcs for x in report.by_kind}
    assert sorted(kinds) == ["copy", "crop", "multi", "noise", "rotated"]
    assert kinds["copy"].reading_accuracy == 1.0 and kinds["rotated"].top5 == 1.0
    assert kinds["noise"].rejection_accuracy == 1.0 and kinds["multi"].reading_accuracy == 0.0
    assert report.anchor is None and report.command.endswith("--no-anchor")
    # q6 (two photos) was rejected after matching both: none answered early
    assert "0 of the 1 queries of several photos were answered before their last photo" in " ".join(report.notes)


def test_phash_anchor_finds_copies_and_rejects_noise(packages, settings, tmp_path):
    pkg, q, d = packages
    answers = {n: ([], True, 1.0) for n in ("q1.png", "q2.jpg", "q3.png", "q4.png", "q5.png", "q6a.png")}
    out = tmp_path / "pred.jsonl"
    _ingest_declaration(settings, tmp_path)
    report = evaluate(pkg, q, settings, matcher=_double(answers, []), predictions_out=out)
    preds = {p.query_id: p for p in read_predictions(tmp_path / "pred.phash.jsonl")}
    for qid, design in (("q1", d[0]), ("q2", d[1]), ("q5", d[3]), ("q6", d[4])):
        assert preds[qid].candidates[0][0] == design and not preds[qid].rejected, qid
    assert preds["q1"].candidates[0][1] == 1.0 and preds["q5"].candidates[0][1] == 1.0  # identical pixels
    assert preds["q4"].rejected and len(preds["q1"].candidates) == 6
    assert report.anchor.rejection_accuracy == 1.0 and report.anchor.top1 >= 0.8
    assert report.kcs.reading_accuracy == pytest.approx(1 / 6)  # the double rejects everything
    text = render_report(report)
    assert "| metric | kcs | pHash anchor | ratio (kcs / anchor) | target |" in text
    assert "| **reading accuracy** | 16.7% |" in text and ">= 95% (KCS published 82.7%)" in text
    assert "| noise | 1 |" in text and "(**missed**)" in text
    doc = update_section("eval", text, tmp_path / "BENCHMARKS.md")
    assert "<!-- bench:eval -->" in doc.read_text(encoding="utf-8")
    again = evaluate(pkg, q, settings, matcher=_double(answers, []), limit=2)  # reuses the import and hashes
    assert again.queries == 2 and again.anchor.top1 == 1.0
    assert (settings.registry_dir / "anchor-phash.json").exists()


def test_queries_csv_in_cp949(packages, tmp_path):
    _pkg, q, ids = packages
    folder = _write_csv(tmp_path / "q", [["q1", "p.png", ids[0], "", "", "정품 복제"]], encoding="cp949")
    _noise(20, 20, 4).save(folder / "p.png")
    assert read_queries(folder)[0].kind == "정품 복제"


def test_a_missing_column_is_named(tmp_path):
    folder = _write_csv(tmp_path / "q", [["q1", "p.png"]], header=["query_id", "image_path"])
    with pytest.raises(SchemaError, match=r"queries.csv line 1: expected columns .* missing design_id"):
        read_queries(folder)


def test_bad_rows_are_listed_with_line_column_and_value(tmp_path):
    folder = tmp_path / "q"
    folder.mkdir()
    _noise(100, 80, 5).save(folder / "p.png")
    _write_csv(folder, [
        ["q1", "p.png", "x", "", "", ""],
        ["q2", "photos/nope.png", "x", "", "", ""],
        ["q3", "p.png", "x", "10,10,5,5", "", ""],
        ["q4", "p.png", "x", "0,0,101,80", "", ""],
        ["q5", "p.png", "x", "a,b,c", "", ""],
        ["q1", "p.png", "", "", "", ""],
        ["q7", "../p.png", "", "", "", ""],
        ["", "p.png", "", "", "", ""],
    ])
    with pytest.raises(SchemaError) as info:
        read_queries(folder)
    text = str(info.value)
    assert "7 bad row(s)" in text
    assert "line 3, column image_path: photo 'photos/nope.png' not found" in text
    assert "line 4, column crop: crop '10,10,5,5': expected 0 <= x0 < x1 <= 100" in text
    assert "line 5, column crop: crop '0,0,101,80'" in text and "100 x 80" in text
    assert "line 6, column crop: crop 'a,b,c': expected four integers" in text
    assert "line 7, column query_id: 'q1' repeats line 2" in text
    assert "line 8, column image_path: photo '../p.png'" in text and "line 9, column query_id" in text


def test_a_package_without_queries_csv(tmp_path):
    with pytest.raises(SchemaError, match="expected a query package folder with queries.csv"):
        read_queries(tmp_path)


def test_cli_reports_a_bad_package_and_exits_1(packages, tmp_path):
    pkg, _q, _ids = packages
    folder = _write_csv(tmp_path / "q", [["q1", "missing.png", "x", "", "", ""]])
    result = CliRunner().invoke(main, ["--workspace", str(tmp_path / "ws"), "eval", "--registry", str(pkg),
                                       "--queries", str(folder), "--json"])
    assert result.exit_code == 1
    assert "queries.csv line 2, column image_path: photo 'missing.png' not found" in result.output
    assert not (tmp_path / "ws" / "data_lake").exists()  # validated before anything was imported


def test_a_declaration_missing_from_the_lake_stops_the_run_before_matching(packages, settings):
    pkg, q, _ids = packages
    with pytest.raises(SchemaError, match=r"declaration_id: .* found 1 missing \(line 6 '56839011'\)"):
        evaluate(pkg, q, settings, matcher=_double({}, []), anchor=False)


def test_notes_say_when_the_workspace_or_the_truth_does_not_fit_the_package(packages, settings, tmp_path):
    pkg, _q, _ids = packages
    import_package(make_registry(tmp_path / "other", 2, start=6), settings)
    folder = _write_csv(tmp_path / "q", [["q1", "p.png", "no-such-design", "", "", ""]])
    _noise(40, 40, 6).save(folder / "p.png")
    report = evaluate(pkg, folder, settings, matcher=_double({"p.png": ([], True, 1.0)}, []), anchor=False)
    assert report.designs == 8
    assert any("2 active design(s) beyond this package's" in n for n in report.notes)
    assert any("1 query(ies) name a true design that is not active" in n for n in report.notes)
    assert "Note: 1 query(ies)" in render_report(report)


def test_two_worker_processes_give_the_same_predictions(packages, settings, tmp_path):
    pkg, q, d = packages
    answers = {"q1.png": ([(d[0], 0.9)], False, 0.05), "q2.jpg": ([(d[1], 0.8)], False, 0.1),
               "q3.png": ([(d[2], 0.5)], False, 0.4), "q4.png": ([], True, 0.9), "q5.png": ([(d[4], 0.7)], False, 0.2),
               "q6a.png": ([(d[5], 0.6)], False, 0.3)}
    _ingest_declaration(settings, tmp_path)
    one = evaluate(pkg, q, settings, matcher=_Table(answers), predictions_out=tmp_path / "a.jsonl", anchor=False)
    two = evaluate(pkg, q, settings, matcher=_Table(answers), predictions_out=tmp_path / "b.jsonl", anchor=False,
                   workers=2)
    strip = [(p.query_id, p.rejected, p.p_no_match, p.candidates) for p in read_predictions(tmp_path / "a.jsonl")]
    assert strip == [(p.query_id, p.rejected, p.p_no_match, p.candidates)
                     for p in read_predictions(tmp_path / "b.jsonl")]
    assert two.kcs.reading_accuracy == one.kcs.reading_accuracy and two.kcs.top5 == one.kcs.top5
    assert "--workers 2" in two.command and any("2 processes" in n for n in two.notes)
    # q6 (two photos) was answered from its first: counted in both runs, not written to the predictions
    for report in (one, two):
        assert "1 of the 1 queries of several photos were answered before their last photo" in " ".join(report.notes)
