"""``kcs case ...``: the officer's case file: open from photos, decide, show, list, reopen, notify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kcs_kit.cli import emit, json_option, main, settings_of

officer_option = click.option("--officer", help="Officer ID recorded with the event (default: setting officer_id).")


def case_summary(case: Any, top: int = 5) -> dict[str, Any]:
    """A case as plain data for --json and for people."""
    r = case.result
    return {
        "case_id": case.case_id, "status": case.status, "decision": case.decision, "design_id": case.design_id,
        "reason": case.reason, "declaration_id": case.declaration_id, "officer": case.officer,
        "opened_at": case.opened_at, "photos": [str(p) for p in case.photos],
        "rejected": r.rejected, "p_no_match": r.p_no_match, "model_version": r.model_version,
        "candidates": [{"rank": c.rank, "design_id": c.design_id, "probability": c.probability, "title": c.title,
                        "right_holder": c.right_holder, "registration_no": c.registration_no}
                       for c in r.candidates[:top]],
        "notice_dir": str(case.notice_dir) if case.notice_dir else None,
        "events": [{"seq": e.seq, "kind": e.kind, "at": e.at, "officer": e.officer} for e in case.events],
    }


def _render(d: dict[str, Any]) -> None:
    click.echo(f"case {d['case_id']}  status {d['status']}" + (f" ({d['design_id']})" if d["design_id"] else "")
               + f"  opened by {d['officer']} at {d['opened_at']:%Y-%m-%d %H:%M:%S} UTC")
    if d["declaration_id"]:
        click.echo(f"declaration {d['declaration_id']}")
    verdict = "no registered design matches" if d["rejected"] else "ranked designs"
    click.echo(f"{verdict} (p_no_match {d['p_no_match']:.2f}, model {d['model_version']})")
    for c in d["candidates"]:
        click.echo(f"  {c['rank']:>2}. {c['probability']:6.1%}  {c['design_id']:<24} {c['right_holder'][:34]:<34} "
                   f"{c['registration_no']}")
    for e in d["events"]:
        click.echo(f"  event {e['seq']}: {e['kind']:<9} {e['at']:%Y-%m-%d %H:%M:%S} {e['officer']}")
    if d["notice_dir"]:
        click.echo(f"notice: {d['notice_dir']}")


@main.group()
def case() -> None:
    """The case file: open a case from photos, record the decision, notify the right holder.

    \b
    Example:
      kcs case open bag.jpg --declaration Q1
      kcs case decide C20250514-3f9a2b --confirm --reason "logo and label match"
      kcs case notify C20250514-3f9a2b
    """


@case.command("open")
@click.argument("photos", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--declaration", "declaration_id", help="Declaration number: adds declaration evidence.")
@click.option("--crop", help="Search only this box of the first photo: x0,y0,x1,y1 in pixels.")
@click.option("--text", help="Words the officer read on the item (label, tag), used like OCR.")
@officer_option
@json_option
@click.pass_context
def open_cmd(ctx: click.Context, photos: tuple[Path, ...], declaration_id: str | None, crop: str | None,
             text: str | None, officer: str | None, as_json: bool) -> None:
    """Open a case from PHOTOS of one item: keep the photos, match them, record the result.

    \b
    Example:
      kcs case open bag_front.jpg bag_label.jpg --declaration 56839011 --officer kim
      kcs case open parcel.jpg --crop 120,80,560,400 --json
    """
    from kcs_kit.explain.case import open_case

    c = open_case(settings_of(ctx), [str(p) for p in photos], declaration_id=declaration_id, crop=crop, text=text,
                  officer=officer)
    emit(case_summary(c), as_json, _render)


@case.command("decide")
@click.argument("case_id")
@click.option("--confirm", "decision", flag_value="confirm", help="The item copies the design (default: the top one).")
@click.option("--reject", "decision", flag_value="reject", help="No registered design matches the item.")
@click.option("--unsure", "decision", flag_value="unsure", help="Cannot tell (kept, not used for training).")
@click.option("--design", "design_id", help="The design the item copies, when it is not the top candidate.")
@click.option("--reason", default="", help="Why, in the officer's words (kept in the case and the audit log).")
@officer_option
@json_option
@click.pass_context
def decide_cmd(ctx: click.Context, case_id: str, decision: str | None, design_id: str | None, reason: str,
               officer: str | None, as_json: bool) -> None:
    """Record the officer's decision on CASE_ID: --confirm, --reject or --unsure.

    \b
    Example:
      kcs case decide C20250514-3f9a2b --confirm --reason "logo and label match"
      kcs case decide C20250514-3f9a2b --confirm --design nike
      kcs case decide C20250514-3f9a2b --reject --reason "genuine, invoice checked"
    """
    from kcs_kit.errors import KcsError
    from kcs_kit.explain.case import decide

    if decision is None:
        raise KcsError(f"case {case_id}: expected one of --confirm, --reject or --unsure, found none")
    c = decide(settings_of(ctx), case_id, decision, design_id=design_id, reason=reason,  # type: ignore[arg-type]
               officer=officer)
    emit(case_summary(c), as_json, _render)


@case.command("show")
@click.argument("case_id")
@click.option("--evidence", "evidence_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also explain the top candidates and write their evidence PNGs into this folder.")
@click.option("--top", default=3, show_default=True, help="Candidates to explain with --evidence.")
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, case_id: str, evidence_dir: Path | None, top: int, as_json: bool) -> None:
    """Show a case: status, ranked designs, events; with --evidence, the explanation of each candidate.

    \b
    Example:
      kcs case show C20250514-3f9a2b
      kcs case show C20250514-3f9a2b --evidence /tmp/evidence --json
    """
    from kcs_kit.explain.case import get_case

    s = settings_of(ctx)
    c = get_case(s, case_id)
    data = case_summary(c)
    if evidence_dir is not None:
        from kcs_kit.explain.evidence import explain, explanation_summary

        evidence_dir.mkdir(parents=True, exist_ok=True)
        data["evidence"] = []
        for x in explain(s, c, None, top=top):
            png = evidence_dir / f"{c.case_id}-{x.candidate.rank}.png"
            png.write_bytes(x.visual_png)
            data["evidence"].append({**explanation_summary(x), "png": str(png)})

    def render(d: dict[str, Any]) -> None:
        _render(d)
        for x in d.get("evidence", ()):
            click.echo(f"\n#{x['rank']} {x['design_id']}  ({x['png']})\n  {x['narrative_en']}\n  {x['narrative_ko']}")

    emit(data, as_json, render)


@case.command("list")
@click.option("--status", type=click.Choice(["open", "confirmed", "rejected", "unsure", "notified"]),
              help="Only cases in this state.")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """List the cases, newest first: status, top design, probability, notice.

    \b
    Example:
      kcs case list --status confirmed
      kcs case list --json
    """
    from kcs_kit.explain.case import list_cases

    df = list_cases(settings_of(ctx), status=status)

    def render(df) -> None:
        for r in df.iter_rows(named=True):
            p = f"{r['probability']:.0%}" if r["probability"] is not None else "-"
            click.echo(f"{r['case_id']}  {r['opened_at']:%Y-%m-%d %H:%M}  {r['status']:<9} {r['officer']:<10} "
                       f"{r['top_design'] or '(no match)':<24} {p:>5}  {r['declaration_id'] or ''}")
        click.echo(f"{df.height} case(s)")

    emit(df, as_json, render)


@case.command("reopen")
@click.argument("case_id")
@click.option("--reason", default="", help="Why the case is reopened.")
@officer_option
@json_option
@click.pass_context
def reopen_cmd(ctx: click.Context, case_id: str, reason: str, officer: str | None, as_json: bool) -> None:
    """Reopen a decided or notified case so that a new decision can be recorded (history is kept).

    \b
    Example:
      kcs case reopen C20250514-3f9a2b --reason "right holder says genuine"
    """
    from kcs_kit.explain.case import reopen

    c = reopen(settings_of(ctx), case_id, reason=reason, officer=officer)
    emit(case_summary(c), as_json, _render)


@case.command("notify")
@click.argument("case_id")
@officer_option
@json_option
@click.pass_context
def notify_cmd(ctx: click.Context, case_id: str, officer: str | None, as_json: bool) -> None:
    """Write the notice pack of a confirmed case for its right holder: HTML, PDF, .eml draft and JSON.

    The files go to <workspace>/outbox/CASE_ID/; nothing is sent over a network. Importer, seller and
    declarant IDs are masked unless the setting mask_identities is off.

    \b
    Example:
      kcs case notify C20250514-3f9a2b
      KCS_MASK_IDENTITIES=0 kcs case notify C20250514-3f9a2b --json
    """
    from kcs_kit.explain.notice import notify

    p = notify(settings_of(ctx), case_id, officer=officer)
    emit(p, as_json, lambda p: click.echo(
        f"notice for case {p.case_id} ready in {p.folder} (to {p.recipient or 'no contact on record'}):\n"
        f"  {p.pdf.name}, {p.html.name}, {p.eml.name}, {p.json.name}\n"
        f"  upload to notice {p.seconds_upload_to_notice:.1f} s (machine part {p.machine_seconds:.1f} s)"))
