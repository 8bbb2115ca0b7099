"""CaseQueue: open cases, decisions and notices (``kcs_kit.explain.case.list_cases``), with a link back to
the workbench for each case.

State: ``frame`` (the listed cases), ``chosen`` (the case ID picked), ``error``.

Example (in a notebook)::

    from widgets import CaseQueue, MatchWorkbench
    wb = MatchWorkbench(settings)
    CaseQueue(settings, workbench=wb)  # "Open in workbench" shows the case in wb
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from kcs_kit.config import Settings, load_settings
from widgets._common import CSS, Frame, frame_html, message, shows_errors

STATUSES = (("all", None), ("open", "open"), ("confirmed", "confirmed"), ("rejected", "rejected"),
            ("unsure", "unsure"), ("notified", "notified"))


class CaseQueue(w.VBox):
    """The case list with a status filter; pick a case to see its events and open it in the workbench."""

    frame = Frame(None, help="polars DataFrame of the listed cases")
    chosen = t.Unicode("", help="the case ID picked")
    error = t.Unicode("")

    def __init__(self, settings: Settings | None = None, *, workbench: Any = None, status: str | None = None,
                 **kwargs: Any) -> None:
        self.settings = settings or load_settings()
        self.workbench = workbench
        self.status_filter = w.Dropdown(options=STATUSES, value=status, description="Status")
        self.reload = w.Button(description="Refresh", icon="refresh")
        self.pick = w.Dropdown(options=[], description="Case", layout=w.Layout(width="520px"))
        self.open_button = w.Button(description="Open in workbench", icon="external-link",
                                    disabled=workbench is None,
                                    tooltip="" if workbench else "create the queue with workbench=MatchWorkbench(...)")
        self.status = w.HTML("")
        self.table = w.HTML("")
        self.detail = w.HTML("")
        self.status_filter.observe(lambda _c: self.refresh(), names=["value"])
        self.reload.on_click(lambda _b: self.refresh())
        self.pick.observe(lambda c: setattr(self, "chosen", c["new"] or ""), names=["value"])
        self.observe(lambda _c: self.show_case(), names=["chosen"])
        self.observe(lambda _c: setattr(self.status, "value", message(self.error, "error") if self.error else ""),
                     names=["error"])
        self.open_button.on_click(lambda _b: self.open_in_workbench())
        super().__init__([w.HTML(CSS + "<h3>Case queue</h3>"), w.HBox([self.status_filter, self.reload]),
                          self.status, self.table, w.HBox([self.pick, self.open_button]), self.detail], **kwargs)
        self.add_class("kcs-cases")
        self.refresh()

    @shows_errors
    def refresh(self) -> None:
        """List the cases with the chosen status, newest first."""
        from kcs_kit.explain.case import list_cases

        self.error = ""
        df = list_cases(self.settings, status=self.status_filter.value)
        self.frame = df
        self.table.value = frame_html(df, 50) if df.height else message("no cases", "info")
        self.pick.options = [("(choose a case)", None), *(
            (f"{r['case_id']} | {r['status']} | {r['top_design'] or 'no match'} | {r['declaration_id'] or '-'}",
             r["case_id"]) for r in df.iter_rows(named=True))]
        self.pick.value = None

    @shows_errors
    def show_case(self) -> None:
        """The chosen case's events (opened, matched, decided, notified) and its notice."""
        from kcs_kit.explain.case import get_case

        self.error = ""
        if not self.chosen:
            self.detail.value = ""
            return
        case = get_case(self.settings, self.chosen)
        rows = "".join(
            f"<tr><td>{e.seq}</td><td>{e.at:%Y-%m-%d %H:%M:%S}</td><td>{html.escape(e.kind)}</td>"
            f"<td>{html.escape(e.officer)}</td><td>{html.escape(_summary(e.kind, e.payload))}</td></tr>"
            for e in case.events)
        notice = f"<p>notice: <code>{html.escape(str(case.notice_dir))}</code></p>" if case.notice_dir else ""
        self.detail.value = (f"<h4>{case.case_id}: {case.status}</h4><table><tr><th>#</th><th>at (UTC)</th>"
                             f"<th>event</th><th>officer</th><th>what</th></tr>{rows}</table>{notice}")

    @shows_errors
    def open_in_workbench(self) -> None:
        """Show the chosen case in the attached MatchWorkbench."""
        if self.workbench is None or not self.chosen:
            self.error = "choose a case (and create the queue with workbench=...)"
            return
        self.workbench.load_case(self.chosen)


def _summary(kind: str, payload: dict) -> str:
    if kind == "opened":
        return f"{len(payload.get('photos', []))} photo(s), declaration {payload.get('declaration_id') or '-'}"
    if kind == "matched":
        cands = payload.get("result", {}).get("candidates", [])
        top = cands[0] if cands else {}
        return f"top {top.get('design_id', '-')} ({top.get('probability', 0):.0%})" if top else "no candidate"
    if kind == "decided":
        return f"{payload.get('decision')} {payload.get('design_id') or ''} {payload.get('reason') or ''}".strip()
    if kind == "notified":
        return str(payload.get("notice_dir", ""))
    return str(payload.get("reason", ""))
