"""MatchWorkbench: the officer's view. Photos in, ranked registered designs out, evidence, decision, notice.

State lives in traits: ``photos`` (uploaded, checked), ``result`` (the MatchResult), ``case_id``,
``selected`` (the rank shown in the evidence tabs), ``busy``, ``error`` and ``info`` (what the officer reads).
Uploading photos opens a case (``kcs_kit.explain.case.open_case``: photos kept, match run, events recorded);
the decision buttons call ``decide`` and "notify right holder" calls ``kcs_kit.explain.notice.notify``.

Example (in a notebook)::

    from widgets import MatchWorkbench
    wb = MatchWorkbench(settings)
    wb  # upload photos; in code: wb.set_photos([("item.jpg", data)])
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

import ipywidgets as w
import traitlets as t

from kcs_kit.config import Settings, load_settings
from kcs_kit.match.photo import load_photo, parse_crop
from kcs_kit.match.types import Candidate, MatchResult
from widgets import _evidence
from widgets._common import CSS, message, png, probability_bar, shows_errors

MAX_UPLOAD_BYTES = 20_000_000
STEPS = ("checking photos", "matching", "explaining", "done")


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


class MatchWorkbench(w.VBox):
    """Upload photos of an item -> ranked designs with right holder and probability, evidence tabs,
    confirm / reject / unsure, notify the right holder."""

    photos = t.List(help="[(label, bytes)] of the checked photos of the item").tag(sync=False)
    result = t.Instance(MatchResult, allow_none=True, help="the ranked match of the photos")
    case_id = t.Unicode("", help="the case opened for these photos")
    selected = t.Int(1, help="rank of the candidate shown in the evidence tabs")
    busy = t.Bool(False, help="True while matching")
    error = t.Unicode("", help="the last error, as the officer reads it")
    info = t.Unicode("", help="the last confirmation shown to the officer")

    def __init__(self, settings: Settings | None = None, *, officer: str | None = None, top: int = 5,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES, **kwargs: Any) -> None:
        self.settings = settings or load_settings()
        self.officer = officer or self.settings.officer_id
        self.top = top
        self.max_upload_bytes = max_upload_bytes
        self.upload = w.FileUpload(accept="image/*", multiple=True, description="Photos")
        self.upload.add_class("kcs-upload")
        self.crop = w.Text(description="Crop", placeholder="x0,y0,x1,y1 in pixels of photo 1 (optional)",
                           layout=w.Layout(width="420px"))
        self.declaration = w.Text(description="Declaration", placeholder="declaration number (optional)")
        self.lookup = w.Button(description="Look up", icon="search", tooltip="show the declaration's facts")
        self.rematch = w.Button(description="Match again", icon="refresh", disabled=True,
                                tooltip="match the same photos again with the crop and declaration above")
        self.every_photo = w.Checkbox(
            value=not self.settings.match_first_photo, description="Every photo", indent=False,
            layout=w.Layout(width="120px"),
            tooltip="match every photo of the item, even when the first ones already give a certain answer "
                    "(otherwise they stop there: the setting match_first_photo)")
        self.progress = w.IntProgress(min=0, max=len(STEPS) - 1, description="", layout=w.Layout(width="300px"))
        self.progress_label = w.Label("")
        self.progress_box = w.HBox([self.progress, self.progress_label], layout=w.Layout(display="none"))
        self.status = w.HTML("")
        self.declaration_html = w.HTML("")
        self.thumbs = w.HBox([])
        self.banner = w.HTML("")
        self.cards = w.VBox([])
        self.cards.add_class("kcs-results")
        self.evidence = w.Tab(children=[w.HTML(), w.HTML(), w.HTML(), w.HTML()])
        for i, title in enumerate(("Visual", "OCR words", "Declaration", "Narrative")):
            self.evidence.set_title(i, title)
        self.evidence.layout.display = "none"
        self.reason = w.Text(description="Reason", placeholder="why (optional)")
        self.buttons = {d: w.Button(description=d.capitalize(), button_style=s, disabled=True, icon=i)
                        for d, s, i in (("confirm", "danger", "check"), ("reject", "success", "times"),
                                        ("unsure", "warning", "question"))}
        self.notify_button = w.Button(description="Notify right holder", icon="envelope", disabled=True,
                                      button_style="primary", layout=w.Layout(width="190px"),
                                      tooltip="write the notice (HTML, PDF, e-mail, JSON) once the case is confirmed")
        self._evidence_cache: dict[int, tuple[str, ...]] = {}
        self._crop_used: str | None = None
        self._wire()
        super().__init__([
            w.HTML(CSS + "<h3>Match a photographed item</h3><span class='kcs-synthetic'>Demo workspace: right "
                   "holders, registration numbers and goods lines are SYNTHETIC.</span>"),
            w.HBox([self.upload, self.crop]), w.HBox([self.declaration, self.lookup, self.rematch, self.every_photo]),
            self.declaration_html, self.progress_box, self.status, self.thumbs, self.banner, self.cards,
            self.evidence, w.HBox([self.reason, *self.buttons.values(), self.notify_button]),
        ], **kwargs)
        self.add_class("kcs-workbench")

    def _wire(self) -> None:
        self.upload.observe(self._on_upload, names=["value"])
        self.lookup.on_click(lambda _b: self.show_declaration())
        self.rematch.on_click(lambda _b: self.run())
        for decision, button in self.buttons.items():
            button.on_click(lambda _b, d=decision: self.decide(d))
        self.notify_button.on_click(lambda _b: self.notify())
        self.observe(self._render_result, names=["result"])
        self.observe(self._render_evidence, names=["selected"])
        self.observe(self._render_messages, names=["error", "info"])
        self.observe(self._render_busy, names=["busy"])

    # ---- input -------------------------------------------------------------------------------------------
    def _on_upload(self, change: dict) -> None:
        files = change["new"] or ()
        if files:
            self.set_photos([(f.get("name") or f"photo {i + 1}", f["content"]) for i, f in enumerate(files)])

    @shows_errors
    def set_photos(self, files: list[tuple[str, Any]]) -> None:
        """Check the photos (type, size, decoding) and match them; a bad one is named in the message."""
        self.error = self.info = ""
        checked, thumbs = [], []
        for name, content in files:
            data = bytes(content)
            label = html.escape(str(name))[:80]
            if len(data) > self.max_upload_bytes:
                self.error = (f"{label}: the file is {_mb(len(data))}, larger than the upload limit of "
                              f"{_mb(self.max_upload_bytes)}\n  fix: send a smaller photo (a phone photo is "
                              "2-6 MB)")
                return
            photo = load_photo(data, name=label, max_pixels=self.settings.max_image_pixels)
            checked.append((label, data))
            thumbs.append(w.Image(value=png(photo.rgb, 160), format="png", layout=w.Layout(max_width="160px")))
        self.thumbs.children = thumbs
        self.photos = checked
        self.run()

    @shows_errors
    def show_declaration(self) -> None:
        """The declaration's facts, goods lines and its parties' flagged history."""
        self.error = ""
        number = self.declaration.value.strip()
        if not number:
            self.declaration_html.value = ""
            return
        self.declaration_html.value = _evidence.declaration_html(self.settings, number)

    # ---- matching ----------------------------------------------------------------------------------------
    def _step(self, i: int) -> None:
        self.progress.value = i
        self.progress_label.value = STEPS[i] + ("..." if i < len(STEPS) - 1 else "")

    @shows_errors
    def run(self) -> None:
        """Open a case for the current photos (matching them) and show the ranked designs."""
        from kcs_kit.explain.case import open_case

        if not self.photos:
            self.error = "no photos yet: upload one or more photos of the item"
            return
        self.error = self.info = ""
        crop = self.crop.value.strip() or None
        parse_crop(crop)  # a bad box is named before any work
        decl = self.declaration.value.strip() or None
        self._crop_used = crop
        settings = replace(self.settings, match_first_photo=0.0) if self.every_photo.value else self.settings
        self.busy = True
        try:
            self._step(1)
            case = open_case(settings, [d for _n, d in self.photos], declaration_id=decl, crop=crop,
                             officer=self.officer)
            self._step(2)
            self._evidence_cache = {}
            self.case_id = case.case_id
            self.result = case.result
            if decl:
                self.show_declaration()
            self._step(3)
        finally:
            self.busy = False
        self.rematch.disabled = False

    @shows_errors
    def load_case(self, case_id: str) -> None:
        """Show an existing case (from the CaseQueue): its photos, result and decision."""
        from kcs_kit.explain.case import get_case

        case = get_case(self.settings, case_id)
        self.error = ""
        self.photos = [(p.name, p.read_bytes()) for p in case.photos]
        self.thumbs.children = [w.Image(value=png(load_photo(d).rgb, 160), format="png") for _n, d in self.photos]
        self.declaration.value = case.declaration_id or ""
        self.crop.value = case.crop or ""
        self._crop_used = case.crop
        self._evidence_cache = {}
        self.case_id = case.case_id
        self.result = case.result
        self.info = f"case {case.case_id}: {case.status}" + (f" ({case.design_id})" if case.design_id else "")
        self.notify_button.disabled = case.status != "confirmed"
        self.rematch.disabled = False

    # ---- rendering ---------------------------------------------------------------------------------------
    def _render_busy(self, change: dict) -> None:
        self.progress_box.layout.display = "flex" if change["new"] else "none"
        for b in (self.upload, self.rematch, self.lookup):
            b.disabled = bool(change["new"])

    def _render_messages(self, _change: dict) -> None:
        parts = [message(self.error, "error")] if self.error else []
        if self.info:
            parts.append(message(self.info, "ok"))
        self.status.value = "".join(parts)

    def _render_result(self, _change: dict) -> None:
        r = self.result
        has = r is not None and bool(r.candidates)
        for b in self.buttons.values():
            b.disabled = r is None
        self.notify_button.disabled = True
        if r is None:
            self.banner.value, self.cards.children = "", ()
            self.evidence.layout.display = "none"
            return
        self.banner.value = _evidence.banner_html(r, self.case_id)
        used = r.photos_used or len(self.thumbs.children)  # 0: a result saved before photos_used was recorded
        for i, thumb in enumerate(self.thumbs.children):  # the photos after a certain answer: loaded, not matched
            (thumb.add_class if i >= used else thumb.remove_class)("kcs-unmatched")
            thumb.tooltip = "not matched: the photos before it gave a certain answer" if i >= used else None
        self.cards.children = [self._card(c) for c in r.candidates[: self.top]]
        self.evidence.layout.display = "flex" if has else "none"
        self.selected = 0  # force a change so that the evidence of rank 1 is drawn
        self.selected = 1

    def _card(self, c: Candidate) -> w.Widget:
        image = w.Image(value=_evidence.design_thumb(self.settings, c.design_id), format="png",
                        layout=w.Layout(width="96px", height="96px", object_fit="contain"))
        text = w.HTML(
            f"<div class='kcs-card-text'><b>#{c.rank}</b> <b class='kcs-title'>{html.escape(c.title)}</b> "
            f"<code>{html.escape(c.design_id)}</code><br>right holder: <b class='kcs-holder'>"
            f"{html.escape(c.right_holder)}</b><br>registration no. {html.escape(c.registration_no or '-')}"
            f"<br>{probability_bar(c.probability)}</div>")
        show = w.Button(description="Evidence", icon="eye", layout=w.Layout(width="110px"))
        show.on_click(lambda _b, rank=c.rank: setattr(self, "selected", rank))
        card = w.HBox([image, text, show], layout=w.Layout(align_items="center"))
        card.add_class("kcs-card")
        card.add_class(f"kcs-rank-{c.rank}")
        return card

    def selected_candidate(self) -> Candidate | None:
        r = self.result
        return next((c for c in r.candidates if c.rank == self.selected), None) if r else None

    @shows_errors
    def _render_evidence(self, _change: dict) -> None:
        c = self.selected_candidate()
        for card in self.cards.children:
            (card.add_class if f"kcs-rank-{self.selected}" in card._dom_classes else card.remove_class)(
                "kcs-card-selected")
        if c is None or self.result is None:
            return
        if c.rank not in self._evidence_cache:
            self._evidence_cache[c.rank] = _evidence.evidence_tabs(
                self.settings, self.result, c, [d for _n, d in self.photos], self._crop_used,
                self.result.declaration_id)
        for tab, value in zip(self.evidence.children, self._evidence_cache[c.rank], strict=True):
            tab.value = value

    # ---- decisions ---------------------------------------------------------------------------------------
    @shows_errors
    def decide(self, decision: str) -> None:
        """Record confirm / reject / unsure for the case; confirm names the selected candidate."""
        from kcs_kit.explain.case import decide

        if not self.case_id:
            self.error = "no case yet: upload photos of the item first"
            return
        self.error = ""
        design = None
        if decision == "confirm":
            c = self.selected_candidate()
            design = c.design_id if c else None
        case = decide(self.settings, self.case_id, decision, design_id=design, reason=self.reason.value.strip(),
                      officer=self.officer)
        self.info = f"case {case.case_id}: {case.status}" + (f" as {case.design_id}" if case.design_id else "")
        self.notify_button.disabled = case.status != "confirmed"

    @shows_errors
    def notify(self) -> None:
        """Write the notice for the right holder (HTML, PDF, e-mail, JSON) into the workspace outbox."""
        from kcs_kit.explain.notice import notify

        if not self.case_id:
            self.error = "no case yet: upload photos of the item first"
            return
        self.error = ""
        pack = notify(self.settings, self.case_id, officer=self.officer)
        self.info = _evidence.notice_text(pack)
        self.notify_button.disabled = True
