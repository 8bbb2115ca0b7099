"""``kcs match``: photos of one item -> ranked registered designs with right holder and probability."""

from __future__ import annotations

from pathlib import Path

import click

from kcs_kit.cli import emit, json_option, main, settings_of


@main.command("match")
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--declaration", "declaration_id", help="Declaration number: adds HS-code and value evidence.")
@click.option("--crop", help="Search only this box of the first photo: x0,y0,x1,y1 in pixels.")
@click.option("--text", help="Words the officer read on the item (label, tag), used like OCR.")
@click.option("--top-k", default=10, show_default=True, help="Candidates to list.")
@json_option
@click.pass_context
def match_cmd(ctx: click.Context, photos: tuple[Path, ...], declaration_id: str | None, crop: str | None,
              text: str | None, top_k: int, as_json: bool) -> None:
    """Rank the registered designs that the item in PHOTOS (one item, one or more photos) may copy.

    Each candidate has its right holder, registration number, a calibrated probability and the evidence
    behind it; "no registered design" is an answer too (p_no_match).

    \b
    Example:
      kcs match bag_front.jpg bag_label.jpg --declaration 56839011
      kcs match parcel.jpg --crop 120,80,560,400 --json
    """
    from kcs_kit.match.engine import match

    r = match([str(p) for p in photos], settings_of(ctx), crop=crop, declaration_id=declaration_id, text=text,
              top_k=top_k)

    def render(r) -> None:
        verdict = "NO REGISTERED DESIGN MATCHES" if r.rejected else f"best match: {r.candidates[0].design_id}"
        click.echo(f"{verdict}  (p_no_match {r.p_no_match:.2f}, {r.latency_ms:.0f} ms, model {r.model_version})")
        if r.ocr_text:
            click.echo(f"words read: {' | '.join(r.ocr_text[:12])}")
        for note in r.notes:
            click.echo(f"note: {note}")
        for c in r.candidates:
            click.echo(f"{c.rank:>3}. {c.probability:6.1%}  {c.design_id:<24} {c.right_holder[:34]:<34} "
                       f"{c.registration_no}")
            for e in c.evidence:
                click.echo(f"        {e.signal:<15} {e.contribution:+6.2f}  {e.detail}")

    emit(r, as_json, render)
