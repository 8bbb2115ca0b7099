"""ruff and mypy stay clean (house style: checked in CI, which runs this suite)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_clean():
    r = _run("ruff", "check", "kcs_kit", "widgets", "tests", "scripts", "notebooks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_clean():
    r = _run("mypy", "kcs_kit")
    assert r.returncode == 0, r.stdout + r.stderr
