"""HTML for the workbench: the result banner, design thumbnails, declaration facts, the evidence tabs."""

from __future__ import annotations

import base64
import html
from functools import lru_cache
from typing import Any

from kcs_kit.config import Settings
from kcs_kit.match.types import Candidate, MatchResult
from widgets._common import frame_html, message, png


@lru_cache(maxsize=512)
def _thumb(path: str, mtime: float) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        return png(im.convert("RGB"), 160)


def design_thumb(settings: Settings, design_id: str) -> bytes:
    """PNG thumbnail of the design's first colour render."""
    from kcs_kit.registry.store import get_design

    d = get_design(settings, design_id)
    path = d.render()
    return _thumb(str(path), path.stat().st_mtime)


def banner_html(r: MatchResult, case_id: str) -> str:
    """One line above the cards: the case, the answer and how long it took."""
    head = f"case <b class='kcs-case-id'>{html.escape(case_id)}</b> - " if case_id else ""
    took = f"{r.latency_ms / 1000:.1f} s"
    if not r.candidates:
        return message(f"No candidate found ({took}).", "info")
    if r.rejected:
        text = (f"No registered design is the most probable answer: P(no match) = {r.p_no_match:.0%}. "
                f"The closest designs are listed for review ({took}).")
        return f"<div class='kcs-msg kcs-info'>{head}{html.escape(text)}</div>"
    top = r.candidates[0]
    text = f"Most probable: {top.title} ({top.probability:.0%}); P(no match) = {r.p_no_match:.0%} ({took})."
    notes = "".join(f"<br>note: {html.escape(n)}" for n in r.notes)
    return f"<div class='kcs-msg kcs-ok'>{head}{html.escape(text)}{notes}</div>"


def _kv(facts: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in facts.items())
    return f"<table>{rows}</table>"


def declaration_html(settings: Settings, declaration_id: str) -> str:
    """Facts, goods lines and the parties' flagged history of one declaration (NotFoundError if unknown)."""
    from kcs_kit.analytics.declarations import declaration_record

    rec = declaration_record(settings, declaration_id)
    history = (f"<h4>Flagged history of the importer and seller ({rec.history.height})</h4>"
               + (frame_html(rec.history) if rec.history.height else "<p>none before this declaration</p>"))
    return (f"<h4>Declaration {html.escape(declaration_id)}</h4>{_kv(rec.facts)}"
            f"<h4>Goods lines (SYNTHETIC in the demo)</h4>{frame_html(rec.lines)}{history}")


def _img(data: bytes) -> str:
    return f"<img src='data:image/png;base64,{base64.b64encode(data).decode()}' style='max-width:100%'>"


def _rows(items: Any) -> str:
    """A table of a sequence of small dataclasses (one row each)."""
    import dataclasses

    dicts = [dataclasses.asdict(i) for i in items]
    if not dicts:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in dicts[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_plain(v))}</td>" for v in d.values()) + "</tr>"
                   for d in dicts)
    return f"<table><tr>{head}</tr>{body}</table>"


def _plain(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(str(i) for i in v)
    if isinstance(v, float):
        return f"{v:,.2f}"
    return "-" if v is None else str(v)


def _facts_html(f: Any) -> str:
    """kcs_kit.explain.facts.DeclarationFacts as HTML: facts, places, parties, linked declarations."""
    if f is None:
        return "<p>no declaration given: enter the declaration number and match again</p>"
    top = {k: _plain(getattr(f, k)) for k in ("declaration_id", "declared_on", "hs6", "design_hs6", "hs_agreement",
                                               "unit_value_krw", "genuine_price_krw", "undervaluation_ratio",
                                               "transport_mode")}
    masked = "<p><i>party IDs are masked</i></p>" if f.masked else ""
    return (f"{_kv(top)}<h4>Origin and departure</h4>{_rows([f.origin, f.departure])}"
            f"<h4>Parties: earlier flagged goods lines</h4>{_rows(f.parties)}{masked}"
            f"<h4>Linked declarations</h4>{_rows(f.linked)}")


def _from_explanation(x: Any) -> tuple[str, str, str, str]:
    """The four tabs from a kcs_kit.explain.evidence.CandidateExplanation."""
    visual = (_img(x.visual_png) if x.visual_png else "<p>no visual evidence</p>") + (
        f"<p>{x.inliers} of {x.keypoint_matches} keypoint matches agree with the matched region "
        f"({x.region_agreement:.0f}%)</p>")
    words = ", ".join(html.escape(w) for w in x.words_read) or "none"
    ocr = f"<p>words read on the item: {words}</p>" + (
        "<h4>Words that match the mark's name</h4>" + _rows(x.ocr) if x.ocr else
        "<p>no word read on the item matches this mark's name</p>")
    lead = "".join(f"<li>{html.escape(s)}: {d:+.2f}</li>" for s, d in x.lead_over_next)
    lead_html = (f"<h4>Ahead of {html.escape(x.next_design_id)} by</h4><ul>{lead}</ul>"
                 if x.next_design_id and lead else "")
    narrative = (f"<p class='kcs-narrative'>{html.escape(x.narrative_en)}</p>"
                 + (f"<p lang='ko'>{html.escape(x.narrative_ko)}</p>" if x.narrative_ko else "")
                 + "<h4>Signals (contribution to the log-odds)</h4>" + _rows(x.contributions) + lead_html)
    return visual, ocr, _facts_html(x.declaration), narrative


def evidence_tabs(settings: Settings, result: MatchResult, c: Candidate, photos: list[bytes], crop: str | None,
                  declaration_id: str | None) -> tuple[str, str, str, str]:
    """HTML of the Visual, OCR words, Declaration and Narrative tabs for candidate ``c``
    (``kcs_kit.explain.evidence.explain``)."""
    from kcs_kit.explain.evidence import explain

    found = explain(settings, result, photos, declaration_id=declaration_id, top=c.rank, crop=crop)
    x = next(e for e in found if e.candidate.design_id == c.design_id)
    return _from_explanation(x)


def notice_text(pack: Any) -> str:
    """What the officer reads after a notice was written: where its files are, how long it took."""
    to = f" to {pack.recipient}" if pack.recipient else ""
    return (f"notice for the right holder{to} ready {pack.seconds_upload_to_notice:.0f} s after the photos arrived\n"
            + "\n".join(f"{k}: {getattr(pack, k)}" for k in ("html", "pdf", "eml", "json")))
