"""``kcs audit ...``: the hash-chained audit log of matches, decisions, notices and recalibrations."""

from __future__ import annotations

import click

from kcs_kit.cli import emit, json_option, main, settings_of


@main.group()
def audit() -> None:
    """The audit log: who matched, decided, notified or recalibrated what, and when; hash-chained.

    \b
    Example:
      kcs audit verify
      kcs audit log --kind decision --limit 20
    """


@audit.command("verify")
@json_option
@click.pass_context
def verify_cmd(ctx: click.Context, as_json: bool) -> None:
    """Check the hash chain of the audit log; exit status 1 if any record was edited, deleted or moved.

    \b
    Example:
      kcs audit verify
      kcs --workspace /srv/kcs audit verify --json
    """
    from kcs_kit.explain.audit import verify

    r = verify(settings_of(ctx))
    emit(r, as_json, lambda r: click.secho(("OK: " if r.ok else "BROKEN: ") + r.reason,
                                           fg="green" if r.ok else "red"))
    if not r.ok:
        ctx.exit(1)


@audit.command("log")
@click.option("--kind", type=click.Choice(["match", "decision", "reopened", "notice", "recalibration"]),
              help="Only records of this kind.")
@click.option("--limit", default=50, show_default=True, help="Newest N records.")
@json_option
@click.pass_context
def log_cmd(ctx: click.Context, kind: str | None, limit: int, as_json: bool) -> None:
    """Show the newest audit records: sequence, time, kind, who, what.

    \b
    Example:
      kcs audit log --kind notice
      kcs audit log --json --limit 5
    """
    from kcs_kit.explain.audit import read_log

    df = read_log(settings_of(ctx), kind=kind, limit=limit)

    def render(df) -> None:
        for r in df.iter_rows(named=True):
            click.echo(f"{r['seq']:>6} {r['at'][:19]} {r['kind']:<13} {r['actor']:<10} {r['summary']}")

    emit(df, as_json, render)
