"""The ``kcs`` command line: thin — parse, call one library function, format.

Every command has help text and an ``Example:`` block; ``--json`` prints machine-readable output;
errors print as ``error: ...`` with a fix and exit with status 1.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kcs_kit.config import Settings, load_settings
from kcs_kit.errors import KcsError


class KcsGroup(click.Group):
    """Turns KcsError into a clean message and exit status 1 (tracebacks only with KCS_DEBUG=1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KcsError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(1)


def settings_of(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    if "settings" not in obj:
        obj["settings"] = load_settings(workspace=obj.get("workspace"), config=obj.get("config"))
    return obj["settings"]




def emit(data: Any, as_json: bool, render: Callable[[Any], None] | None = None) -> None:
    """Print ``data`` as JSON, or with ``render`` for people."""
    if as_json:
        click.echo(json.dumps(_plain(data), ensure_ascii=False, indent=2, default=str))
    elif render:
        render(data)
    else:
        click.echo(data)


def _plain(data: Any) -> Any:
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(data).items()}
    if isinstance(data, list | tuple):
        return [_plain(x) for x in data]
    if hasattr(data, "to_dicts"):  # polars DataFrame
        return data.to_dicts()
    return data


def progress_factory(unit: str = "rows", desc: str = "") -> Callable[[int], Callable[[int], None]]:
    """A tqdm bar (rate and ETA) on stderr for library functions that report progress."""
    from tqdm import tqdm

    def make(total: int) -> Callable[[int], None]:
        bar = tqdm(total=total or None, unit=unit, unit_scale=True, desc=desc, file=sys.stderr, leave=False,
                   disable=not sys.stderr.isatty())
        return bar.update

    return make


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


@click.group(cls=KcsGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path), envvar="KCS_WORKSPACE",
              help="Folder holding data_lake/, vectorstore/ and other state (default: the repo root). "
                   "Env: KCS_WORKSPACE.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="A kcs.toml settings file (default: <workspace>/kcs.toml when present).")
@click.version_option(package_name="kcs-kit")
@click.pass_context
def main(ctx: click.Context, workspace: Path | None, config: Path | None) -> None:
    """kcs-kit: match photos of suspect goods to registered designs, explore clearance records, report.

    \b
    Example:
      kcs demo                      # build the demo workspace
      kcs lake status
      kcs analytics trends --by origin --period 2020Q1:2021Q1
    """
    ctx.obj = {"workspace": workspace, "config": config}


@main.command("settings")
@json_option
@click.pass_context
def settings_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show every setting with its value and help text.

    Precedence: defaults < kcs.toml < KCS_* environment < command-line flags.

    \b
    Example:
      KCS_DUCKDB_THREADS=1 kcs settings
    """
    s = settings_of(ctx)
    rows = [{"name": n, "value": str(getattr(s, n)), "env": f"KCS_{n.upper()}", "help": h}
            for n, _t, h in Settings.describe()]

    def render(rows: list[dict]) -> None:
        for r in rows:
            click.echo(f"{r['name']:<22} {r['value']}\n{'':<22} {r['env']}: {r['help']}")

    emit(rows, as_json, render)


@main.command("demo")
@click.option("--registry-limit", type=int, help="Import only the first N demo marks (a quick demo).")
@click.option("--no-registry", is_flag=True, help="Skip the design registry and its index.")
@json_option
@click.pass_context
def demo_cmd(ctx: click.Context, registry_limit: int | None, no_registry: bool, as_json: bool) -> None:
    """Build the demo workspace from the shipped data; a second run reuses what is built.

    Ingests the KCS synthetic declarations into the lake, generates the synthetic goods lines (brands,
    IPR inspection outcomes), imports the 3,453 demo marks as the design registry and indexes them.
    The first run takes a few minutes; later runs reuse what is built.

    \b
    Example:
      kcs demo
      kcs --workspace /tmp/demo demo --json
    """
    from kcs_kit.demo import build_demo

    s = settings_of(ctx)
    log = (lambda _m: None) if as_json else click.echo
    summary = build_demo(s, registry=not no_registry, registry_limit=registry_limit, log=log,
                         progress=progress_factory("items", "demo"))

    def render(d) -> None:
        click.echo(f"demo workspace ready: {d.workspace}\n  {d.declarations:,} declarations, "
                   f"{d.goods_lines:,} goods lines (synthetic), {d.designs:,} active designs indexed; "
                   f"{d.seconds:.1f} s")

    emit(summary, as_json, render)


def _register() -> None:
    # Command groups live next to the code they call; importing them registers them here.
    from kcs_kit import (
        cli_analytics,  # noqa: F401
        cli_audit,  # noqa: F401
        cli_bench,  # noqa: F401
        cli_case,  # noqa: F401
        cli_eval,  # noqa: F401
        cli_index,  # noqa: F401
        cli_lake,  # noqa: F401
        cli_marknet,  # noqa: F401
        cli_match,  # noqa: F401
        cli_model,  # noqa: F401
        cli_registry,  # noqa: F401
    )


_register()


if __name__ == "__main__":  # pragma: no cover
    main()
