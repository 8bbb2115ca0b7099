"""Shared pieces of the widgets: error reporting, messages, image thumbnails, probability bars."""

from __future__ import annotations

import functools
import html
import io
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import traitlets as t

from kcs_kit.errors import KcsError

log = logging.getLogger("kcs.widgets")
F = TypeVar("F", bound=Callable[..., Any])

CSS = """<style>
.kcs-card { border: 1px solid #d0d7de; border-radius: 6px; padding: 6px; margin: 3px 0; background: #fff; }
.kcs-card-selected { border: 2px solid #0969da; }
.kcs-msg { padding: 6px 10px; border-radius: 4px; margin: 4px 0; }
.kcs-error { background: #ffebe9; color: #82071e; border: 1px solid #ff8182; }
.kcs-info { background: #ddf4ff; color: #0a3069; border: 1px solid #54aeff; }
.kcs-ok { background: #dafbe1; color: #116329; border: 1px solid #4ac26b; }
.kcs-bar { background: #eaeef2; border-radius: 3px; width: 220px; height: 12px; display: inline-block;
           vertical-align: middle; }
.kcs-bar > div { background: #1f883d; height: 12px; border-radius: 3px; }
.kcs-synthetic { color: #b00020; font-size: 90%; }
.kcs-unmatched { opacity: 0.4; outline: 2px dashed #8c959f; }
</style>"""


class Frame(t.Any):
    """A trait holding a DataFrame (or chart): changes are noticed by identity, never by ``==``."""

    def set(self, obj: t.HasTraits, value: Any) -> None:
        new = self._validate(obj, value)
        old = obj._trait_values.get(self.name, self.default_value)
        obj._trait_values[self.name] = new
        if old is not new:
            obj._notify_trait(self.name, old, new)


def message(text: str, kind: str = "info") -> str:
    """HTML of a message box; ``kind`` is error, info or ok. The text is escaped; newlines are kept."""
    body = html.escape(text).replace("\n", "<br>")
    return f'<div class="kcs-msg kcs-{kind}">{body}</div>'


def error_text(exc: BaseException) -> str:
    """What the user reads for an error: our own errors as written (with their fix), others named."""
    if isinstance(exc, KcsError):
        return str(exc)
    return f"unexpected error ({type(exc).__name__}): {exc}\nThe details are in the Jupyter server log."


def shows_errors(method: F) -> F:
    """Wrap a widget callback: an exception is shown in the widget (``self.error``), never swallowed or
    printed as a traceback; unexpected ones are also logged with their traceback."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user, and logged when unexpected
            if not isinstance(exc, KcsError):
                log.exception("widget callback %s failed", method.__name__)
            self.error = error_text(exc)
            return None

    return wrapper  # type: ignore[return-value]


def png(image: Any, max_side: int | None = None) -> bytes:
    """PNG bytes of a PIL image or RGB array, reduced to ``max_side`` when given."""
    from PIL import Image

    im = image if isinstance(image, Image.Image) else Image.fromarray(image)
    if max_side:
        im = im.copy()
        im.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def probability_bar(p: float) -> str:
    """HTML: a bar filled to ``p`` with the percentage beside it."""
    pct = max(0.0, min(1.0, float(p))) * 100
    return (f'<span class="kcs-bar" title="{pct:.1f}%"><div style="width:{pct:.1f}%"></div></span> '
            f'<b class="kcs-prob">{pct:.1f}%</b>')


def frame_html(df: Any, rows: int = 20) -> str:
    """A polars DataFrame as an HTML table (first ``rows`` rows)."""
    if df is None:
        return ""
    return df.head(rows)._repr_html_()
