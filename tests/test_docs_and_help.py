"""Docs and help are checked: every setting and command has help, the schema doc lists every column."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from kcs_kit.cli import main
from kcs_kit.config import Settings
from kcs_kit.lake.schema import COLUMNS, LINEAGE

REPO = Path(__file__).resolve().parents[1]


def _commands(group: click.Group, prefix: str = "kcs") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((f"{prefix} {name}", cmd))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, f"{prefix} {name}"))
    return out


def test_every_setting_has_help():
    for name, _type, help_text in Settings.describe():
        assert len(help_text) > 15, f"setting {name} lacks help text"


def test_every_command_has_help_and_an_example():
    commands = _commands(main)
    assert len(commands) >= 5
    for name, cmd in commands:
        assert cmd.help and len(cmd.help) > 20, f"{name} lacks help"
        assert "Example:" in cmd.help, f"{name} lacks an Example: block"
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} option {param.opts} lacks help"


def test_help_runs_for_every_command():
    runner = CliRunner()
    for name, _cmd in _commands(main):
        result = runner.invoke(main, [*name.split()[1:], "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_lake_doc_lists_every_canonical_column():
    doc = (REPO / "docs" / "LAKE.md").read_text()
    for c in (*COLUMNS, *LINEAGE):
        assert f"`{c.name}`" in doc, c.name


def test_readme_first_screen_gives_the_two_commands():
    head = "\n".join((REPO / "README.md").read_text().splitlines()[:40])
    assert "make lab" in head and "make test" in head
    assert "make test" in (REPO / ".ci" / "run").read_text()
