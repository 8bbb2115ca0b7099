"""``kcs eval``: photo-matching accuracy on a query package, side by side with the pHash anchor."""

from __future__ import annotations

from pathlib import Path

import click

from kcs_kit.cli import emit, json_option, main, progress_factory, settings_of


@main.command("eval")
@click.option("--registry", "registry_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Registry package folder (designs.csv and images); imported into the workspace.")
@click.option("--queries", "queries_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Query package folder (queries.csv and photos; see DESIGN.md, Query package).")
@click.option("--predictions", type=click.Path(dir_okay=False, path_type=Path),
              help="Write kcs predictions to this JSONL file (the anchor's go to <stem>.phash.jsonl).")
@click.option("--no-anchor", is_flag=True, help="Skip the pHash nearest-neighbour anchor.")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate only the first N queries.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes matching at once: faster, but latencies then include their contention.")
@click.option("--write-benchmarks", is_flag=True, help="Write the table into docs/BENCHMARKS.md (section 'eval').")
@json_option
@click.pass_context
def eval_cmd(ctx: click.Context, registry_dir: Path, queries_dir: Path, predictions: Path | None, no_anchor: bool,
             limit: int | None, workers: int, write_benchmarks: bool, as_json: bool) -> None:
    """Score photo matching: reading, top-k and rejection accuracy, µAP, calibration, latency.

    Imports the registry into the workspace, builds the index (both reused when done before), matches every
    query the way `kcs match` does, and prints each figure beside the pHash anchor with their ratio and
    the target (reading accuracy >= 95%, top-5 >= 98%, rejection >= 95%, ECE <= 0.05, p95 <= 500 ms).

    \b
    Example:
      kcs --workspace /tmp/eval eval --registry data/simple-icons --queries bench/queries
      kcs eval --registry pkg --queries q --predictions out.jsonl --limit 100 --json
    """
    from kcs_kit.bench.eval import evaluate, render_report

    log = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    report = evaluate(registry_dir, queries_dir, settings_of(ctx), predictions_out=predictions,
                      anchor=not no_anchor, limit=limit, progress=progress_factory("items", "eval"), workers=workers,
                      log=log)
    text = render_report(report)
    if write_benchmarks:
        from kcs_kit.bench.report import update_section

        log(f"wrote {update_section('eval', text)}")
    emit(report, as_json, lambda _r: click.echo(text))
