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


@lake.command("synth")
@click.option("--declarations", type=click.IntRange(min=1), default=None,
              help="Generate lines for a seeded sample of N declarations (default: all in the lake).")
@click.option("--seed", type=int, default=None, help="Seed of the generator (default: the seed setting, 42).")
@json_option
@click.pass_context
def synth_cmd(ctx: click.Context, declarations: int | None, seed: int | None, as_json: bool) -> None:
    """Generate SYNTHETIC goods lines (brand claims, IPR inspection outcomes) for the lake's declarations.

    The public declarations carry no goods description or brand, so the demo's goods lines are generated:
    seeded and reproducible, calibrated to published KCS seizure figures (docs/SYNTHETIC.md), and marked
    synthetic = true on every row. Replaces the goods_lines table in one transaction.

    \b
    Example:
      kcs lake ingest data/customs-declarations/df_syn_train_eng.csv
      kcs lake synth --seed 42
      kcs lake synth --declarations 1000 --json
    """
    from kcs_kit.lake.synth import build_goods_lines

    s = settings_of(ctx)
    summary = build_goods_lines(s, declarations=declarations, seed=s.seed if seed is None else seed)

    def render(r) -> None:
        click.echo(f"SYNTHETIC goods lines (generated, not real data): {r.lines:,} lines for "
                   f"{r.declarations:,} declarations in {r.seconds:.1f} s")
        click.echo(f"  {r.confirmed:,} confirmed counterfeit, {r.suspected:,} suspected; "
                   "every row has synthetic = true")

    emit(summary, as_json, render)


@lake.command("synth-declarations")
@click.option("--rows", type=click.IntRange(min=1, max=10_000_000), required=True,
              help="Number of declarations to generate (at most 10,000,000).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (.csv or .parquet; its parent folder is created).")
@click.option("--seed", type=int, default=None, help="Seed of the generator (default: the seed setting, 42).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None,
              help="Output format (default: from the --out extension, else csv).")
@json_option
@click.pass_context
def synth_declarations_cmd(ctx: click.Context, rows: int, out: Path, seed: int | None, fmt: str | None,
                           as_json: bool) -> None:
    """Write SYNTHETIC whole declarations in the canonical schema, e.g. to benchmark ingest and queries.

    Rows bootstrap the shipped KCS declarations (offices, HS codes, countries, transport modes, tax types)
    with new unique IDs ("SYN<seed>-..."), dates over 2020-2021 and heavy-tailed importer/seller IDs.
    Streamed in chunks: memory stays bounded up to 10,000,000 rows. Every row passes ingest validation.

    \b
    Example:
      kcs lake synth-declarations --rows 1000000 --out /tmp/bench/decl.csv
      kcs --workspace /tmp/bench lake ingest /tmp/bench/decl.csv
    """
    import time

    from kcs_kit.lake.synth import synth_declarations

    s = settings_of(ctx)
    fmt = fmt or ("parquet" if out.suffix.lower() in (".parquet", ".pq") else "csv")
    t0 = time.perf_counter()
    path = synth_declarations(out, rows=rows, seed=s.seed if seed is None else seed, fmt=fmt,
                              progress=progress_factory("rows", out.name), data_dir=s.data_dir)
    seconds = time.perf_counter() - t0
    result = {"path": str(path), "rows": rows, "format": fmt, "bytes": path.stat().st_size,
              "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds) if seconds else 0,
              "synthetic": True}

    def render(r: dict) -> None:
        click.echo(f"{r['path']}: {r['rows']:,} SYNTHETIC declarations ({r['format']}, {r['bytes'] / 1e6:,.1f} MB) "
                   f"in {r['seconds']:.1f} s ({r['rows_per_s']:,} rows/s)")

    emit(result, as_json, render)
