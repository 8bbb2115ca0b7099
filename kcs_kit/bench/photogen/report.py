"""The human side of a query package: README.md (what it is, how it was made) and a contact sheet PNG.

Example::

    >>> from kcs_kit.bench.photogen.report import readme
    >>> "SYNTHETIC" in readme("reg", __import__("pathlib").Path("out"), 1, 1, [], ())
    True
"""

from __future__ import annotations

import io
from pathlib import Path

GENERATOR = "kcs-photos/1"
THUMB = (300, 225)


def readme(registry_dir: str | Path, out_dir: Path, n: int, seed: int, rows: list[dict[str, str]],
           kinds: tuple[tuple[str, int], ...]) -> str:
    """README.md text: SYNTHETIC label, the command, the mix of kinds and the columns."""
    with_design = sum(1 for r in rows if r["design_id"])
    photos = sum(len(r["image_path"].split("|")) for r in rows)
    mix = "\n".join(f"| {k} | {c} |" for k, c in kinds)
    return f"""# SYNTHETIC query package ({GENERATOR} seed={seed})

**Every photo here is synthetic.** None is a photo of real goods; the marks come from the registry package
`{registry_dir}` (demo marks: Simple Icons, CC0, trademarks of their owners, used as demo data only).
Use these queries to measure matching (`kcs eval`), never as evidence about real goods.

Made with:

    kcs bench photos --registry {registry_dir} --out {out_dir.name} --n {n} --seed {seed}

The same registry, n and seed give byte-identical files (on a machine with the same fonts and libraries).

{n} queries, {photos} photos: {with_design} with a true registered design, {n - with_design} without (the right
answer is a rejection: goods with no mark, a mark whose registration expired or was withdrawn, an invented logo).

| kind | queries |
|---|---|
{mix}

## How the photos are made
Per photo, from its own seed: a background (wood, laminate, steel, tiles, carpet, parcel cardboard, cloth,
plastic bag) with clutter (objects, labels, barcodes, printed words, tape); a product (bag, shoe side, box,
bottle, t-shirt chest, hang tag, phone case) in a procedural material (leather, canvas, knit, denim, suede,
plastic, cardboard, glossy) seen through a pinhole camera with random tilt and rotation (sometimes upside
down); the mark (the design's `dark` render as a mask) printed in the brand colour, black, white or foil,
screen-printed, raised, embossed / debossed or woven, covering 5-60 % of the frame (log-uniform), wrapped
round bottles and rippled on fabric, sometimes with the brand word beside it; counterfeit alterations
(other colour, eroded / dilated, cut, added blob, stretched, mirrored); fingers, gloves, tape, straps and
shadows covering up to 25 % of the mark; then uneven light, cast shadows, glare, white-balance casts,
defocus or motion blur, barrel distortion, sensor noise, phone sharpening, JPEG quality 35-90, sizes
640x480 to 2000x1500 and a few photos stored turned with an EXIF Orientation tag.

## queries.csv
- `query_id`, `image_path` (relative; `|` between photos of one item), `design_id` (empty: none matches),
  `crop` (`x0,y0,x1,y1` around the mark in the upright photo, for about 10 % of single-photo queries):
  the DESIGN.md query-package columns.
- Break-down columns the harness ignores: `kind`, `mark_fraction` (share of the frame covered by the
  mark's box, largest over the item's photos), `has_text` (brand word printed beside the mark),
  `synthetic`, `generator`, `product`, `style`, `alteration`, `occluder`, `exif_orientation`, `jpeg_quality`.
"""


def contact_sheet(items: list[tuple[bytes, object]], seed: int) -> bytes:
    """A PNG grid (6 across) of the first photos with query, kind and true design under each."""
    from PIL import Image, ImageDraw, ImageOps

    from kcs_kit.bench.photogen.fonts import font

    cols = 6
    rows = max(1, (len(items) + cols - 1) // cols)
    cw, ch = THUMB[0] + 10, THUMB[1] + 44
    sheet = Image.new("RGB", (cols * cw + 10, rows * ch + 40), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    draw.text((10, 8), f"SYNTHETIC query photos - {GENERATOR} seed={seed} - not photos of real goods",
              fill=(150, 0, 0), font=font(0, 20))
    small = font(1, 13)
    for i, (data, plan) in enumerate(items):
        im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        im.thumbnail(THUMB)
        x, y = 10 + (i % cols) * cw, 40 + (i // cols) * ch
        sheet.paste(im, (x + (THUMB[0] - im.width) // 2, y + (THUMB[1] - im.height) // 2))
        design = getattr(plan, "design_id", "") or "(none: reject)"
        label = f"{getattr(plan, 'query_id', '')} {getattr(getattr(plan, 'spec', None), 'kind', '')}"
        draw.text((x, y + THUMB[1] + 4), label, fill=(0, 0, 0), font=small)
        draw.text((x, y + THUMB[1] + 21), f"design: {design}"[:44], fill=(60, 60, 60), font=small)
    buf = io.BytesIO()
    sheet.save(buf, "PNG", optimize=False)
    return buf.getvalue()
