"""The officer flow in a real browser: JupyterLab (127.0.0.1, token) + headless Debian Chromium (Selenium):
run the officer notebook, upload a photo through the FileUpload widget, see the ranked result cards."""

from __future__ import annotations

import pytest
from demo_ws import SAMPLE_DESIGN, SAMPLE_TITLE, demo_workspace
from lab_browser import chromium, jupyterlab, missing_browser, officer_flow, prepare_notebook

pytestmark = pytest.mark.slow


def test_officer_uploads_a_photo_and_sees_ranked_designs(tmp_path_factory, tmp_path):
    why = missing_browser()
    if why:
        pytest.skip(why)
    from kcs_kit.config import load_settings
    from kcs_kit.demo_photo import sample_photo

    workspace = demo_workspace(tmp_path_factory)
    photo = tmp_path / "item.jpg"
    photo.write_bytes(sample_photo(load_settings(workspace=workspace, env={}), SAMPLE_DESIGN, seed=0))
    prepare_notebook(tmp_path / "lab", registry_limit=30)
    shot = tmp_path / "workbench.png"
    with jupyterlab(tmp_path / "lab", workspace, tmp_path) as server, chromium() as driver:
        seen = officer_flow(driver, server, photo, expect_title=SAMPLE_TITLE, screenshot=shot)
    assert seen["cards"] >= 2 and not seen["errors"]
    assert seen["titles"][0] == SAMPLE_TITLE
    assert "right holder" in seen["first"] and "%" in seen["first"]
    assert shot.stat().st_size > 10_000
