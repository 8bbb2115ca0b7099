"""``kcs lake ...``: ingest clearance records, inspect the lake and its quarantine."""

from __future__ import annotations

from pathlib import Path

import click

from kcs_kit.cli import emit, json_option, main, progress_factory, settings_of


@main.group()
def lake() -> None:
    """The clearance-records lake: DuckDB over Parquet partitioned by year/month in data_lake/.

    \b
    Example:
      kcs lake ingest declarations.csv
      kcs lake status
    """


@lake.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--map", "mapping", multiple=True, metavar="CANONICAL=SOURCE",
              help="Name the source column of a canonical column, e.g. --map hs6='HS Code'. Repeatable.")
@click.option("--encoding", type=click.Choice(["auto", "utf-8", "cp949"]), default="auto", show_default=True,
              help="Text encoding of CSV input; auto tries UTF-8, then CP949.")
@click.option("--errors", type=click.Choice(["quarantine", "raise"]), default="quarantine", show_default=True,
              help="quarantine: set bad rows aside with reasons and ingest the rest; raise: ingest nothing "
                   "from a file with any bad row.")
@json_option
@click.pass_context
def ingest_cmd(ctx: click.Context, paths: tuple[Path, ...], mapping: tuple[str, ...], encoding: str,
               errors: str, as_json: bool) -> None:
    """Ingest CSV or Parquet files of declarations into the lake (each file one atomic commit).

    Rows are validated (types, HS6, ISO-2 countries, non-negative mass and price, dates, duplicate IDs);
    bad rows go to the quarantine table with file, line and reason. Re-ingesting a file adds nothing.

    \b
    Example:
      kcs lake ingest data/customs-declarations/df_syn_train_eng.csv
      kcs lake ingest export_cp949.csv --encoding cp949 --map declaration_id=신고번호
    """
    from kcs_kit.lake.ingest import ingest_file
    from kcs_kit.lake.schema import parse_mapping

    s = settings_of(ctx)
    parsed = parse_mapping(list(mapping))
    results = []
    for p in paths:
        r = ingest_file(p, s, mapping=parsed, encoding=encoding, errors=errors,
                        progress=progress_factory("rows", p.name))
        results.append(r)
        if not as_json:
            if r.skipped:
                click.echo(f"{p}: already ingested as {r.ingest_id}; nothing added")
            else:
                click.echo(f"{p}: {r.ingested:,} ingested, {r.quarantined:,} quarantined, "
                           f"{r.duplicates:,} duplicate of {r.rows_read:,} rows "
                           f"in {r.seconds:.1f} s ({r.rows_per_s:,.0f} rows/s)")
    if as_json:
        emit([{**r.__dict__, "rows_per_s": round(r.rows_per_s)} for r in results], True)


@lake.command("status")
@json_option
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show what the lake holds: declarations, period, partitions, ingests, quarantine.

    \b
    Example:
      kcs --workspace /tmp/bench lake status --json
    """
    from kcs_kit.lake.status import lake_status

    st = lake_status(settings_of(ctx))

    def render(st) -> None:
        click.echo(f"workspace     {st.workspace}")
        click.echo(f"declarations  {st.declarations:,}  ({st.first_day} .. {st.last_day})")
        click.echo(f"partitions    {st.partitions} months in {st.files} files, {st.bytes / 1e6:,.1f} MB")
        click.echo(f"ingests       {st.ingests}")
        click.echo(f"quarantine    {st.quarantined:,} invalid, {st.duplicates:,} duplicate")
        click.echo(f"goods lines   {st.goods_lines:,} (synthetic)")

    emit(st, as_json, render)


@lake.command("quarantine")
@click.option("--limit", default=20, show_default=True, help="Rows to show.")
@click.option("--ingest", "ingest_id", help="Only this ingest (see kcs lake ingests).")
@json_option
@click.pass_context
def quarantine_cmd(ctx: click.Context, limit: int, ingest_id: str | None, as_json: bool) -> None:
    """List rows set aside by ingests, with source file, line and reason.

    \b
    Example:
      kcs lake quarantine --limit 5
    """
    from kcs_kit.lake.status import quarantine_rows

    df = quarantine_rows(settings_of(ctx), limit=limit, ingest_id=ingest_id)

    def render(df) -> None:
        if df.is_empty():
            click.echo("quarantine is empty")
        for r in df.iter_rows(named=True):
            click.echo(f"{Path(r['source_path']).name}:{r['line']}  [{r['kind']}] {r['reason']}")

    emit(df, as_json, render)


@lake.command("ingests")
@json_option
@click.pass_context
def ingests_cmd(ctx: click.Context, as_json: bool) -> None:
    """List committed ingests with their row counts.

    \b
    Example:
      kcs lake ingests --json
    """
    from kcs_kit.lake.status import ingests

    df = ingests(settings_of(ctx))
    emit(df, as_json, lambda d: click.echo(d))
