"""Render the README figure from the demo workspace: python scripts/readme_figure.py (after `make demo`)."""

from __future__ import annotations

from pathlib import Path

import vl_convert as vlc

from kcs_kit.analytics import trends
from kcs_kit.analytics.charts import trend_chart
from kcs_kit.config import load_settings

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "quickstart.png"

settings = load_settings()
df = trends(settings, by="origin", freq="quarter", period="2020Q1:2021Q1",
            filters={"origin": ["CN", "HK", "VN", "US"]})
chart = trend_chart(df, measure="confirmed", mark="bar",
                    title="Confirmed counterfeit goods lines per quarter by origin")
OUT.write_bytes(vlc.vegalite_to_png(chart.to_json(), scale=1.5))
print(OUT)

# The matching picture: one query of the photo benchmark (kcs bench photos --out /tmp/photos-train --n 600
# --seed 7) whose mark was found, with the design's outline where it was found.
PHOTO = Path("/tmp/photos-train/photos/q00012.jpg")
if PHOTO.exists():
    from kcs_kit.explain.visual import side_by_side
    from kcs_kit.match.engine import match

    result = match([PHOTO], settings)
    out = OUT.with_name("match.png")
    out.write_bytes(side_by_side(settings, PHOTO, result.candidates[0]))
    print(out)
