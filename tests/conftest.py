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


ICONS = REPO / "data" / "simple-icons"


def make_registry(folder: Path, n: int, *, start: int = 0) -> Path:
    """A registry package of ``n`` demo marks (rows start..start+n of data/simple-icons/designs.csv)."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "icons").mkdir(exist_ok=True)
    with open(ICONS / "designs.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["status"] == "registered"][start:start + n]
        fields = reader.fieldnames or []
    for r in rows:
        (folder / r["image_path"]).write_bytes((ICONS / r["image_path"]).read_bytes())
    with open(folder / "designs.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return folder
