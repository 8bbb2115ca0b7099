"""Shared fixtures: a fresh workspace per test, the shipped demo data."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcs_kit.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DECLARATIONS = REPO / "data" / "customs-declarations"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an empty workspace in tmp_path (no kcs.toml, no KCS_* environment)."""
    return load_settings(workspace=tmp_path / "ws", env={})


@pytest.fixture
def valid_csv() -> Path:
    """The shipped 2021-Q1 declarations: 8,134 rows, all valid."""
    return DECLARATIONS / "df_syn_valid_eng.csv"



def make_registry(folder: Path, n: int, *, start: int = 0) -> Path:
    """A registry package of ``n`` registered demo marks."""
    from kcs_kit.registry.demo import subset_package

    return subset_package(folder, n, start=start, src_dir=REPO / "data" / "simple-icons")


def indexed_workspace(root: Path, n: int) -> Settings:
    """A workspace with ``n`` demo marks imported and indexed (no OCR, no text collection): matching tests."""
    from kcs_kit.index.build import build_index
    from kcs_kit.registry import store

    settings = load_settings(workspace=root / "ws", env={}, match_ocr=False)
    store.import_package(make_registry(root / "pkg", n), settings)
    build_index(settings, text=False, workers=1)
    return settings
