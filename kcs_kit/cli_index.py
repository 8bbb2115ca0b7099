"""``kcs index ...``: build, inspect and verify the design index (vector store + feature store)."""

from __future__ import annotations

import click

from kcs_kit.cli import emit, json_option, main, progress_factory, settings_of


@main.group()
def index() -> None:
    """The design index: Chroma collections (image, text) and the per-design local-feature store.

    \b
    Example:
      kcs registry import data/simple-icons && kcs index build
    """


@index.command("build")
@click.option("--no-text", is_flag=True, help="Skip the text (title/description) collection.")
@click.option("--workers", default=2, show_default=True, help="Processes extracting local features.")
@json_option
@click.pass_context
def build_cmd(ctx: click.Context, no_text: bool, workers: int, as_json: bool) -> None:
    """Index every active design that is new or changed; remove withdrawn and expired ones.

    Resumable: a build that was interrupted is finished by the next one, without duplicates.

    \b
    Example:
      kcs index build
      kcs --workspace /tmp/site index build --no-text --json
    """
    from kcs_kit.index.build import build_index

    log = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    r = build_index(settings_of(ctx), text=not no_text, workers=workers,
                    progress=progress_factory("designs", "indexing"), log=log)

    def render(r) -> None:
        click.echo(f"indexed {r.indexed:,} designs ({r.designs_per_s:,.1f}/s), {r.unchanged:,} unchanged, "
                   f"{r.removed:,} removed; {r.active:,} active\n  image: {r.image_collection}\n"
                   f"  text:  {r.text_collection or '-'}")

    emit(r, as_json, render)


def _render_report(rep) -> None:
    click.echo(f"active designs  {rep.active:,}")
    for c in rep.collections:
        click.echo(f"{c.family:<6} {c.name}: {c.vectors:,} vectors for {c.designs:,} designs; missing "
                   f"{len(c.missing):,}, stale {len(c.stale):,}, orphans {len(c.orphans):,}")
    click.echo(f"features        {rep.feature_bytes / 1e6:,.1f} MB; missing {len(rep.features_missing):,}, "
               f"stale {len(rep.features_stale):,}")
    click.echo(f"vector store    {rep.vectorstore_bytes / 1e6:,.1f} MB")
    click.echo("OK" if rep.ok else "NOT IN STEP: run `kcs index build`")


@index.command("status")
@json_option
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Counts per collection against the active registry (fast; no feature-file checks).

    \b
    Example:
      kcs index status
    """
    from kcs_kit.index.verify import verify_index

    rep = verify_index(settings_of(ctx), deep=False)
    emit(rep, as_json, _render_report)


@index.command("verify")
@json_option
@click.pass_context
def verify_cmd(ctx: click.Context, as_json: bool) -> None:
    """Report designs missing from or stale in the index, orphans, and missing feature files.

    Exits with status 1 when the index is not in step with the registry.

    \b
    Example:
      kcs index verify --json
    """
    from kcs_kit.index.verify import verify_index

    rep = verify_index(settings_of(ctx), deep=True)
    emit(rep, as_json, _render_report)
    if not rep.ok:
        ctx.exit(1)
