"""One demo workspace (registry of 30 marks) built once per test session and shared by the notebook,
widget and browser tests: building it takes ~20 s, so it is built once, not per test file."""

from __future__ import annotations

from pathlib import Path

_BUILT: dict[str, Path] = {}
REGISTRY_LIMIT = 30
SAMPLE_DESIGN = "7zip"  # in the first 30 marks; its sample photo ranks it first
SAMPLE_TITLE = "7Zip"


def demo_workspace(tmp_path_factory) -> Path:
    """The shared demo workspace folder (built on first use in this session)."""
    if "ws" not in _BUILT:
        from kcs_kit.config import load_settings
        from kcs_kit.demo import build_demo

        root = tmp_path_factory.mktemp("demo") / "ws"
        build_demo(load_settings(workspace=root, env={}), registry_limit=REGISTRY_LIMIT)
        _BUILT["ws"] = root
    return _BUILT["ws"]
