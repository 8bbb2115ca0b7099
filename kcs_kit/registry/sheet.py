"""A contact sheet of registered designs: their colour renders in a grid, captioned with ID and holder."""

from __future__ import annotations

import io
from collections.abc import Sequence

from kcs_kit.config import Settings
from kcs_kit.registry.store import get_design


def contact_sheet(settings: Settings, design_ids: Sequence[str], *, cols: int = 6, size: int = 140,
                  variant: str = "colour") -> bytes:
    """PNG bytes of the designs' first-view renders in a grid (NotFoundError for an unknown id).

    Example: ``IPython.display.Image(contact_sheet(settings, ["nike", "adidas"]))``
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=12)
    rows = max(1, -(-len(design_ids) // cols))
    cell_h = size + 34
    sheet = Image.new("RGB", (cols * size, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, design_id in enumerate(design_ids):
        d = get_design(settings, design_id)
        thumb = Image.open(d.render(variant)).convert("RGB").resize((size - 12, size - 12))
        x, y = (i % cols) * size, (i // cols) * cell_h
        sheet.paste(thumb, (x + 6, y + 6))
        draw.text((x + 6, y + size - 4), d.design_id[:22], fill="black", font=font)
        draw.text((x + 6, y + size + 10), (d.right_holder or "")[:22], fill="gray", font=font)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()
