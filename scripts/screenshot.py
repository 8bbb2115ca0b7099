"""The README picture of the officer workbench with results: the browser test's flow (tests/lab_browser.py)
on a demo workspace. Run: python scripts/screenshot.py [WORKSPACE] (default: a fresh one in /tmp, 30 marks)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from demo_ws import REGISTRY_LIMIT, SAMPLE_DESIGN, SAMPLE_TITLE  # noqa: E402
from lab_browser import chromium, jupyterlab, officer_flow, prepare_notebook  # noqa: E402

from kcs_kit.config import load_settings  # noqa: E402
from kcs_kit.demo import build_demo  # noqa: E402
from kcs_kit.demo_photo import sample_photo  # noqa: E402

OUT = REPO / "docs" / "img" / "workbench.png"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kcs-shot-"))
    workspace = Path(sys.argv[1]) if len(sys.argv) > 1 else tmp / "ws"
    settings = load_settings(workspace=workspace, env={})
    build_demo(settings, registry_limit=REGISTRY_LIMIT)
    photo = tmp / "item.jpg"
    photo.write_bytes(sample_photo(settings, SAMPLE_DESIGN, seed=0))
    prepare_notebook(tmp / "lab", registry_limit=REGISTRY_LIMIT)
    with jupyterlab(tmp / "lab", workspace, tmp) as server, chromium() as driver:
        seen = officer_flow(driver, server, photo, expect_title=SAMPLE_TITLE, screenshot=OUT)
    print(OUT, f"{OUT.stat().st_size / 1000:.0f} KB", seen["titles"])


if __name__ == "__main__":
    main()
