"""Render a notice (plain data from ``notice.build_notice``) as HTML, PDF (fpdf2, Unicode TTF) and .eml.

The PDF uses NanumGothic when the Debian package fonts-nanum is installed (Korean text), else DejaVuSans.
"""

from __future__ import annotations

import base64
import html
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

FONTS = (Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
         Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif", "bmp": "image/bmp",
        "tif": "image/tiff"}


def _pct(p: float | None) -> str:
    return "-" if p is None else f"{p:.1%}"


def _krw(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f} KRW"


def summary_lines(n: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows shared by the HTML, the PDF and the e-mail text."""
    d, dec, t = n["design"], n.get("declaration") or {}, n["timestamps"]
    rows = [("Case", n["case_id"]), ("Right holder", f"{n['right_holder']['name']} <{n['right_holder']['contact']}>"),
            ("Design / mark", f"{d['title']} ({d['design_id']})"), ("Registration no.", d["registration_no"] or "-"),
            ("Probability", _pct(d["probability"])), ("Decided by", f"{n['decision']['officer']}: "
                                                                    f"{n['decision']['reason'] or '-'}")]
    if dec:
        rows += [("Declaration", f"{dec['declaration_id']} of {dec['declared_on']}"), ("HS6", dec["hs6"] or "-"),
                 ("Origin > departure", f"{dec['origin']} > {dec['departure']}"),
                 ("Declared unit value", f"{_krw(dec['unit_value_krw'])} ({_pct(dec['undervaluation_ratio'])} of the "
                                         f"genuine price {_krw(dec['genuine_price_krw'])})"),
                 ("Importer", dec["importer_id"] or "-"), ("Seller", dec["seller_id"] or "-"),
                 ("Declarant", dec["declarant_id"] or "-")]
    rows += [("Photo received", t["received_at"]), ("Decided", t["decided_at"]), ("Notice ready", t["notice_ready_at"]),
             ("Upload to notice", f"{n['seconds_upload_to_notice']:.1f} s"), ("Model", n["model_version"])]
    return rows


def _mime(name: str) -> str:
    return MIME.get(name.rsplit(".", 1)[-1], "image/png")


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def render_html(n: dict[str, Any], evidence_png: dict[str, bytes], photos: list[tuple[str, bytes]]) -> str:
    e, d = html.escape, n["design"]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in summary_lines(n))
    matches = "".join(
        f"<tr><td>{m['rank']}</td><td>{e(m['title'])} ({e(m['design_id'])})</td><td>{e(m['right_holder'])}</td>"
        f"<td>{e(m['registration_no'] or '-')}</td><td>{_pct(m['probability'])}</td></tr>" for m in n["matches"])
    figs = "".join(f'<figure><img alt="evidence {e(k)}" src="{_data_uri(v, "image/png")}">'
                   f"<figcaption>{e(k)}</figcaption></figure>" for k, v in evidence_png.items())
    pics = "".join(f'<img class="photo" alt="{e(name)}" src="{_data_uri(data, _mime(name))}">'
                   for name, data in photos)
    narr = "".join(f"<p lang=\"{lang}\">{e(n['narrative'][lang])}</p>" for lang in ("en", "ko"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IPR notice {e(n['case_id'])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:1em auto}}th{{text-align:left;padding-right:1em}}
td,th{{border-bottom:1px solid #ddd;padding:2px 6px}}img{{max-width:100%}}img.photo{{max-width:30%;margin:4px}}
.note{{color:#666;font-size:90%}}</style></head><body>
<h1>Notice of suspected infringement &mdash; case {e(n['case_id'])}</h1>
<p>To {e(n['right_holder']['name'])}: customs officers detained an item that appears to copy your registered
{e(d['right_type'] or 'design')} <b>{e(d['title'])}</b> (registration {e(d['registration_no'] or '-')}).
Please confirm whether the item is genuine.</p>
<table>{rows}</table>
<h2>Evidence</h2>{narr}{figs}
<h2>Top matches</h2><table><tr><th>#</th><th>Design</th><th>Right holder</th><th>Registration</th>
<th>Probability</th></tr>{matches}</table>
<h2>Photos</h2>{pics}
<p class="note">{e(n['note'])}</p></body></html>
"""


def _font(pdf: Any) -> None:
    font = next((f for f in FONTS if f.exists()), None)
    if font is None:
        from kcs_kit.errors import MissingDependencyError

        raise MissingDependencyError(f"PDF notice: no Unicode font at {', '.join(map(str, FONTS))}",
                                     hint="install the Debian package fonts-nanum (or fonts-dejavu-core)")
    pdf.add_font("notice", "", str(font))
    pdf.set_font("notice", size=10)


def render_pdf(n: dict[str, Any], evidence_png: dict[str, bytes]) -> bytes:
    import io
    import logging

    from fpdf import FPDF

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "TSI1 NOT subset" noise from NanumGothic
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(f"IPR notice {n['case_id']}")
    pdf.add_page()
    _font(pdf)
    pdf.set_font_size(15)
    pdf.multi_cell(0, 8, f"Notice of suspected infringement - case {n['case_id']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    for k, v in summary_lines(n):
        pdf.multi_cell(0, 5.5, f"{k}: {v}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for lang in ("en", "ko"):
        pdf.multi_cell(0, 5.5, n["narrative"][lang], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.multi_cell(0, 5.5, "Top matches:", new_x="LMARGIN", new_y="NEXT")
    for m in n["matches"]:
        pdf.multi_cell(0, 5.5, f"  {m['rank']}. {m['title']} ({m['design_id']}), {m['right_holder']}, "
                               f"reg. {m['registration_no'] or '-'}: {_pct(m['probability'])}",
                       new_x="LMARGIN", new_y="NEXT")
    for k, png in evidence_png.items():
        pdf.ln(2)
        pdf.image(io.BytesIO(png), w=pdf.epw, title=k)
    pdf.ln(2)
    pdf.set_font_size(8)
    pdf.multi_cell(0, 4, n["note"], new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def build_eml(n: dict[str, Any], sender: str, html_text: str, pdf: bytes, json_text: str,
              photos: list[tuple[str, bytes]]) -> bytes:
    """A draft e-mail to the right holder's contact: text and HTML bodies, the PDF, JSON and photos attached."""
    msg = EmailMessage()
    msg["Subject"] = (f"[Customs IPR] Suspected copy of {n['design']['title']} "
                      f"(reg. {n['design']['registration_no'] or '-'}) - case {n['case_id']}")
    msg["From"] = sender
    msg["To"] = n["right_holder"]["contact"] or "undisclosed-recipients:;"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="customs.invalid")
    msg["X-KCS-Case"] = n["case_id"]
    msg["X-Unsent"] = "1"  # a draft: mail clients open it for editing; kcs-kit never sends it
    text = "\n".join(f"{k}: {v}" for k, v in summary_lines(n))
    msg.set_content(f"{text}\n\n{n['narrative']['en']}\n\n{n['narrative']['ko']}\n\n{n['note']}\n")
    msg.add_alternative(html_text, subtype="html")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"notice-{n['case_id']}.pdf")
    msg.add_attachment(json_text.encode("utf-8"), maintype="application", subtype="json",
                       filename=f"notice-{n['case_id']}.json")
    for name, data in photos:
        maintype, subtype = MIME.get(name.rsplit(".", 1)[-1], "application/octet-stream").split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()
