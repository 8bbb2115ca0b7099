"""HTML for the workbench: the result banner, design thumbnails, declaration facts, the evidence tabs."""

from __future__ import annotations

import base64
import html
import importlib.util
from functools import lru_cache
from typing import Any

from kcs_kit.config import Settings
from kcs_kit.match.types import Candidate, MatchResult
from widgets._common import frame_html, message, png


def notice_available() -> bool:
    """Whether this kcs-kit has right-holder notices (kcs_kit.explain.notice)."""
    return importlib.util.find_spec("kcs_kit.explain.notice") is not None


def explain_available() -> bool:
    """Whether this kcs-kit has evidence narratives (kcs_kit.explain.evidence)."""
    return importlib.util.find_spec("kcs_kit.explain.evidence") is not None


@lru_cache(maxsize=512)
def _thumb(path: str, mtime: float) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        return png(im.convert("RGB"), 160)


def design_thumb(settings: Settings, design_id: str) -> bytes:
    """PNG thumbnail of the design's first colour render."""
    from kcs_kit.registry.store import get_design

    d = get_design(settings, design_id)
    path = next((i.path for i in d.images if i.view == 0 and i.variant == "colour"), d.images[0].path)
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


def _from_explanation(x: Any) -> tuple[str, str, str, str]:
    """The four tabs from a kcs_kit.explain.evidence.CandidateExplanation."""
    visual = _img(x.visual_png) if getattr(x, "visual_png", None) else "<p>no visual evidence</p>"
    ocr = getattr(x, "ocr_matches", None) or getattr(x, "ocr_words", None) or ()
    ocr_html = "<ul>" + "".join(f"<li>{html.escape(str(o))}</li>" for o in ocr) + "</ul>" if ocr else \
        "<p>no words read on the item match this design</p>"
    facts = getattr(x, "declaration", None) or getattr(x, "declaration_facts", None)
    decl = _kv(facts) if isinstance(facts, dict) and facts else "<p>no declaration given</p>"
    history = getattr(x, "history", None)
    if history is not None and hasattr(history, "height") and history.height:
        decl += "<h4>History</h4>" + frame_html(history)
    en, ko = getattr(x, "narrative_en", ""), getattr(x, "narrative_ko", "")
    narrative = f"<p>{html.escape(en)}</p>" + (f"<p lang='ko'>{html.escape(ko)}</p>" if ko else "")
    return visual, ocr_html, decl, narrative


def _contributions(c: Candidate) -> str:
    rows = "".join(f"<tr><td>{html.escape(e.signal)}</td><td>{e.contribution:+.2f}</td>"
                   f"<td>{html.escape(e.detail)}</td></tr>"
                   for e in sorted(c.evidence, key=lambda e: -abs(e.contribution)))
    return ("<table><tr><th>signal</th><th>log-odds</th><th>what it saw</th></tr>" + rows + "</table>") if rows \
        else ""


def evidence_tabs(settings: Settings, result: MatchResult, c: Candidate, photos: list[bytes], case_id: str,
                  declaration_id: str | None) -> tuple[str, str, str, str]:
    """HTML of the Visual, OCR words, Declaration and Narrative tabs for candidate ``c``."""
    if explain_available():
        from kcs_kit.explain.evidence import explain

        source: Any = case_id or result
        found = explain(settings, source, photos, declaration_id=declaration_id, top=max(3, c.rank))
        x = next((e for e in found if getattr(e, "design_id", None) == c.design_id), None)
        if x is not None:
            tabs = _from_explanation(x)
            return tabs[0], tabs[1], tabs[2], tabs[3] + _contributions(c)
    return _basic_tabs(settings, result, c, photos, declaration_id)


def _basic_tabs(settings: Settings, result: MatchResult, c: Candidate, photos: list[bytes],
                declaration_id: str | None) -> tuple[str, str, str, str]:
    """The tabs from the match result alone (kcs-kit without kcs_kit.explain.evidence)."""
    from kcs_kit.explain.visual import side_by_side

    i = c.photo_index or 0
    visual = _img(side_by_side(settings, photos[i], c, photo_index=i)) if photos else ""
    words = ", ".join(html.escape(t) for t in result.ocr_text) or "none"
    ocr_ev = next((e.detail for e in c.evidence if e.signal == "ocr"), "no matching word read")
    ocr = f"<p>words read on the item: {words}</p><p>{html.escape(ocr_ev)}</p>"
    decl = declaration_html(settings, declaration_id) if declaration_id else "<p>no declaration given</p>"
    lead = (f"<p>Rank {c.rank}: {html.escape(c.title)} ({html.escape(c.right_holder)}, registration "
            f"{html.escape(c.registration_no or '-')}) with probability {c.probability:.0%}.</p>")
    return visual, ocr, decl, lead + _contributions(c)


def notice_text(pack: Any) -> str:
    """What the officer reads after a notice was written: where its files are."""
    paths = [f"{k}: {getattr(pack, k)}" for k in ("html", "pdf", "eml", "json") if getattr(pack, k, None)]
    return "notice ready for the right holder\n" + "\n".join(paths)
