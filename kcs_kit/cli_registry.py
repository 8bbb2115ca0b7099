"""``kcs registry``: import registry packages, list, show, withdraw and expire designs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from kcs_kit.cli import emit, json_option, main, progress_factory, settings_of


@main.group("registry")
def registry() -> None:
    """The design/mark registry: import packages, browse designs, withdraw and expire them.

    \b
    Example:
      kcs registry import data/simple-icons
      kcs registry list --query nike
    """


@registry.command("import")
@click.argument("package_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--errors", type=click.Choice(["quarantine", "raise"]), default="quarantine", show_default=True,
              help="quarantine: set bad designs aside with reasons and import the rest; raise: import nothing "
                   "if any design is bad.")
@json_option
@click.pass_context
def import_cmd(ctx: click.Context, package_dir: Path, errors: str, as_json: bool) -> None:
    """Import a registry package: DIR/designs.csv and the images it names.

    Incremental: unchanged designs are skipped, changed ones get a new version. Each design is imported
    whole (all its views rendered) or not at all.

    \b
    Example:
      kcs registry import data/simple-icons
      kcs --workspace /tmp/site registry import /data/kipo-2024 --errors raise --json
    """
    from kcs_kit.registry.store import import_package

    result = import_package(package_dir, settings_of(ctx), errors=errors,
                            progress=progress_factory("designs", "registry"))

    def render(r) -> None:
        click.echo(f"{r.package}: {r.added} added, {r.updated} updated, {r.unchanged} unchanged, "
                   f"{len(r.quarantined)} quarantined in {r.seconds:.1f} s")
        for q in r.quarantined:
            click.echo(f"  quarantined: {q.reason}")

    emit(result, as_json, render)


@registry.command("list")
@click.option("--status", type=click.Choice(["registered", "expired", "withdrawn"]), help="Only this status.")
@click.option("--holder", help="Right holder contains this text (case-insensitive).")
@click.option("--query", help="design_id, title, right holder or registration number contains this text.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="At most this many rows.")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, status: str | None, holder: str | None, query: str | None, limit: int,
             as_json: bool) -> None:
    """List designs in the registry, most recently changed first.

    \b
    Example:
      kcs registry list --query nike
      kcs registry list --status withdrawn --json
    """
    from kcs_kit.registry.store import list_designs

    df = list_designs(settings_of(ctx), status=status, right_holder=holder, query=query, limit=limit)

    def render(frame) -> None:
        for r in frame.iter_rows(named=True):
            click.echo(f"{r['design_id']:<24} v{r['version']:<3} {r['status']:<10} {r['title'][:30]:<30} "
                       f"{r['right_holder'][:40]}")
        click.echo(f"{frame.height} design(s)")

    emit(df, as_json, render)


@registry.command("show")
@click.argument("design_id", metavar="ID")
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, design_id: str, as_json: bool) -> None:
    """Show one design: its fields, renders and version history.

    \b
    Example:
      kcs registry show nike
      kcs registry show nike --json
    """
    from kcs_kit.registry.store import get_design

    design = get_design(settings_of(ctx), design_id)

    def render(d) -> None:
        click.echo(f"{d.design_id}  {d.title}  (v{d.version}, {d.status}"
                   f"{': ' + d.status_reason if d.status_reason else ''})")
        click.echo(f"  right holder: {d.right_holder}  {d.right_holder_contact or ''}")
        click.echo(f"  {d.right_type or 'right'} {d.registration_no or '-'}  territory {d.territory or '-'}  "
                   f"valid {d.valid_from or '?'} .. {d.valid_to or '?'}")
        click.echo(f"  classes {'|'.join(d.classes) or '-'}  hs6 {'|'.join(d.hs6) or '-'}")
        for im in d.images:
            click.echo(f"  view {im.view} {im.variant:<7} {im.path}")
        for v in d.versions:
            click.echo(f"  v{v.version} {v.change:<11} {v.at:%Y-%m-%d %H:%M} {v.reason or ''}")

    emit(design, as_json, render)


@registry.command("withdraw")
@click.argument("design_id", metavar="ID")
@click.option("--reason", required=True, help="Why the design is withdrawn (kept in its history).")
@click.pass_context
def withdraw_cmd(ctx: click.Context, design_id: str, reason: str) -> None:
    """Withdraw a design: matching no longer returns it; recorded as a new version.

    \b
    Example:
      kcs registry withdraw nike --reason "registration cancelled"
    """
    from kcs_kit.registry.store import withdraw

    d = withdraw(settings_of(ctx), design_id, reason=reason)
    click.echo(f"{d.design_id}: withdrawn (v{d.version})")


@registry.command("expire")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Reference date YYYY-MM-DD (default: today); designs valid until before it expire.")
@click.pass_context
def expire_cmd(ctx: click.Context, today) -> None:
    """Expire registered designs whose validity ended before today; each gets a new version.

    \b
    Example:
      kcs registry expire
      kcs registry expire --today 2030-01-01
    """
    from kcs_kit.registry.store import expire_due

    day: date | None = today.date() if today else None
    ids = expire_due(settings_of(ctx), day)
    click.echo(f"{len(ids)} design(s) expired" + (f": {', '.join(ids[:20])}" if ids else ""))
    if len(ids) > 20:
        click.echo(f"  ... and {len(ids) - 20} more")
