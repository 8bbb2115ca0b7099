"""``kcs bench ...``: benchmarks whose figures go to docs/BENCHMARKS.md with the command behind them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kcs_kit.cli import emit, json_option, main, settings_of

no_write_option = click.option("--no-write", is_flag=True, help="Do not update docs/BENCHMARKS.md.")
limit_option = click.option("--limit", type=click.IntRange(min=1),
                            help="Use only the first N queries with a true design.")


def _publish(section: str, text: str, result: object, no_write: bool, as_json: bool) -> None:
    """Write ``text`` as the BENCHMARKS.md section (unless ``no_write``) and print it, or ``result`` as JSON."""
    from kcs_kit.bench.report import BENCHMARKS_MD, update_section

    if not no_write:
        update_section(section, text, BENCHMARKS_MD)
        click.echo(f"wrote {BENCHMARKS_MD}", err=True)
    emit(result, as_json, lambda _r: click.echo(text))


@main.group()
def bench() -> None:
    """Benchmarks: measure speed and accuracy targets and write them to docs/BENCHMARKS.md.

    \b
    Example:
      kcs bench lake --rows 1000000
    """


@bench.command("lake")
@click.option("--rows", default="1000000,10000000", show_default=True,
              help="Comma-separated sizes (synthetic declarations) to measure.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where generated files and bench workspaces go (default: <workspace>/bench/lake).")
@click.option("--keep", is_flag=True, help="Keep the bench workspaces after measuring.")
@no_write_option
@json_option
@click.pass_context
def bench_lake(ctx: click.Context, rows: str, folder: Path | None, keep: bool, no_write: bool,
               as_json: bool) -> None:
    """Ingest rate and peak memory at each size; monthly-trend and repeat-offender query latency.

    Targets: >= 500,000 rows/s ingest, peak RSS <= 2 GB, monthly trend <= 200 ms at 10,000,000.

    \b
    Example:
      kcs bench lake --rows 1000000,10000000
    """
    from kcs_kit.bench import lake
    from kcs_kit.bench.report import machine, update_section
    from kcs_kit.errors import KcsError

    try:
        sizes = [int(x.replace("_", "")) for x in rows.split(",") if x.strip()]
    except ValueError as exc:
        raise KcsError(f"--rows {rows!r}: expected comma-separated integers, e.g. 1000000,10000000") from exc
    log = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    results = lake.run(settings_of(ctx), sizes, folder, keep=keep, log=log)
    text = lake.render(results, "kcs bench lake --rows " + ",".join(map(str, sizes)), machine())
    if not no_write:
        from kcs_kit.bench.report import BENCHMARKS_MD

        update_section("lake", text, BENCHMARKS_MD)
        log(f"wrote {BENCHMARKS_MD}")
    emit(results, as_json, lambda _r: click.echo(text))
    sys.stdout.flush()


@bench.command("index")
@click.option("--scale", "scale_n", default=300_000, show_default=True,
              help="Vectors for the scale part (the KCS system's 300,000 designs).")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where bench workspaces go (default: <workspace>/bench/index).")
@no_write_option
@json_option
@click.pass_context
def bench_index(ctx: click.Context, scale_n: int, folder: Path | None, no_write: bool, as_json: bool) -> None:
    """Indexing speed (designs/s), disk size and cold start of the design index, at 3,453 and 300,000 designs.

    Targets: >= 30 designs/s with the default encoder; <= 3 GB for 300,000 designs; the index opens and
    answers its first query in <= 3 s.

    \b
    Example:
      kcs bench index
      kcs bench index --scale 50000 --no-write
    """
    from kcs_kit.bench import index
    from kcs_kit.bench.report import BENCHMARKS_MD, machine, update_section

    log = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    result = index.run(settings_of(ctx), scale_n=scale_n, folder=folder, log=log)
    text = index.render(result, f"kcs bench index --scale {scale_n}", machine())
    if not no_write:
        update_section("index", text, BENCHMARKS_MD)
        log(f"wrote {BENCHMARKS_MD}")
    emit(result, as_json, lambda _r: click.echo(text))


@bench.command("photos")
@click.option("--registry", "registry_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Registry package folder with designs.csv (default: <data_dir>/simple-icons).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the query package into (queries.csv, photos/, README.md).")
@click.option("--n", "n", default=2000, show_default=True, type=click.IntRange(min=1),
              help="Number of queries (items); about 10 % have 2-3 photos.")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed: the same seed gives the same files.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Processes drawing photos (the output does not depend on it).")
@json_option
@click.pass_context
def bench_photos(ctx: click.Context, registry_dir: Path | None, out_dir: Path, n: int, seed: int, workers: int,
                 as_json: bool) -> None:
    """Generate a SYNTHETIC query package of phone-like photos of goods for `kcs eval`.

    True designs are drawn uniformly from the registered designs; about 20 % of queries have none (no mark,
    an expired or withdrawn mark, an invented logo): the right answer there is a rejection. Writes
    OUT/queries.csv, OUT/photos/*.jpg, OUT/README.md and OUT/contact_sheet.png.

    \b
    Example:
      kcs bench photos --out /tmp/photos --n 2000 --seed 1
      kcs bench photos --registry data/simple-icons --out /tmp/photos-demo --n 40
    """
    from kcs_kit.bench.photogen import write_query_package
    from kcs_kit.cli import progress_factory

    registry_dir = registry_dir or settings_of(ctx).data_dir / "simple-icons"
    summary = write_query_package(registry_dir, out_dir, n=n, seed=seed, workers=workers,
                                  progress=progress_factory(unit="queries", desc="photos"))
    emit(summary, as_json, lambda s: click.echo(
        f"wrote {s.n} queries ({s.with_design} with a true design, {s.without_design} without), {s.photos} "
        f"photos to {s.out_dir} in {s.seconds:.1f} s ({s.photos_per_second:.1f} photos/s); SYNTHETIC"))


@bench.command("notify")
@click.option("--n", "n", default=10, show_default=True, type=click.IntRange(min=1),
              help="Photos (items) taken through open -> confirm -> notice.")
@click.option("--designs", default=100, show_default=True, type=click.IntRange(min=2),
              help="Demo marks in the bench registry.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Bench workspace and photos (default: <workspace>/bench/notify); reused by later runs.")
@no_write_option
@json_option
@click.pass_context
def bench_notify(ctx: click.Context, n: int, designs: int, folder: Path | None, no_write: bool,
                 as_json: bool) -> None:
    """Machine part of upload -> notice ready: open case, confirm, notice pack, over N SYNTHETIC photos.

    Target: < 60 s from upload to notice including the officer's clicks. The first run builds a bench
    workspace (demo lake, goods lines, the first DESIGNS marks indexed) and the photos.

    \b
    Example:
      kcs bench notify --n 10
      kcs bench notify --n 50 --designs 300 --no-write --json
    """
    from kcs_kit.bench import notify
    from kcs_kit.bench.report import BENCHMARKS_MD, machine, update_section

    log = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    result = notify.run(settings_of(ctx), n, designs=designs, folder=folder, log=log)
    text = notify.render(result, f"kcs bench notify --n {n} --designs {designs}", machine())
    if not no_write:
        update_section("notify", text, BENCHMARKS_MD)
        log(f"wrote {BENCHMARKS_MD}")
    emit(result, as_json, lambda _r: click.echo(text))


@bench.command("shortlists")
@click.option("--queries", "folder", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A labelled query package (queries.csv + photos), e.g. from kcs bench photos.")
@limit_option
@no_write_option
@json_option
@click.pass_context
def bench_shortlists(ctx: click.Context, folder: Path, limit: int | None, no_write: bool, as_json: bool) -> None:
    """Recall of each image shortlist (VLAD, visual words, marknet, silhouettes, marknet on
    the regions) and of their union.

    A true design that no shortlist proposes can never be shown, so this is the ceiling of top-k accuracy.
    Runs on the current workspace (index it first: kcs index build).

    \b
    Example:
      kcs bench photos --out /tmp/photos-train --n 600 --seed 7
      kcs bench shortlists --queries /tmp/photos-train --limit 200
    """
    from kcs_kit.bench import shortlists
    from kcs_kit.bench.report import machine
    from kcs_kit.cli import progress_factory

    settings = settings_of(ctx)
    result = shortlists.run(settings, folder, limit=limit, tick=progress_factory("queries", "shortlists")(limit or 0))
    command = f"kcs bench shortlists --queries {folder}" + (f" --limit {limit}" if limit else "")
    text = shortlists.render(result, command, machine())
    _publish("shortlists", text, result, no_write, as_json)


@bench.command("marknet")
@click.option("--weights", "weights", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A marknet weight file (.pt with its .json); repeat to compare several side by side on the same "
                   "photos (default: the installed kcs_kit/data/marknet.pt).")
@click.option("--queries", "folder", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A labelled query package (queries.csv + photos): a fitting set, not the held-out one.")
@limit_option
@no_write_option
@json_option
@click.pass_context
def bench_marknet(ctx: click.Context, weights: tuple[Path, ...], folder: Path, limit: int | None, no_write: bool,
                  as_json: bool) -> None:
    """marknet alone, for one or more weight files: how often it ranks the true design first / in the first 5
    / in the first 30, without installing the weights or rebuilding the index.

    Use it after `kcs model train-marknet --out FILE` to decide whether to install the new weights (each file
    costs about a minute to embed the registry's drawings, then ~0.25 s per photo).

    \b
    Example:
      kcs model train-marknet --steps 2400 --hard 0.5 --init kcs_kit/data/marknet.pt --lr 1e-3 --out models/next.pt
      kcs bench marknet --weights kcs_kit/data/marknet.pt --weights models/next.pt --queries /tmp/photos-train2 \\
          --limit 300
    """
    from kcs_kit.bench import marknet
    from kcs_kit.bench.report import machine
    from kcs_kit.cli import progress_factory
    from kcs_kit.embed.cnn import WEIGHTS

    files = list(weights) or [WEIGHTS]
    rows = marknet.run(settings_of(ctx), files, folder, limit=limit,
                       tick=progress_factory("queries", "marknet")(limit or 0))
    command = "kcs bench marknet " + " ".join(f"--weights {w}" for w in weights) + f" --queries {folder}" \
        + (f" --limit {limit}" if limit else "")
    text = marknet.render(rows, command, machine())
    _publish("marknet", text, rows, no_write, as_json)


@bench.command("latency")
@click.option("--queries", "folder", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A query package (queries.csv + photos), e.g. the held-out set of kcs bench photos.")
@limit_option
@click.option("--threads", type=click.IntRange(min=1),
              help="Match threads (default: the match_threads setting, 2); 1 runs the stages one after another, "
                   "so that their times add up to the latency.")
@no_write_option
@json_option
@click.pass_context
def bench_latency(ctx: click.Context, folder: Path, limit: int | None, threads: int | None, no_write: bool,
                  as_json: bool) -> None:
    """Query latency, end to end (p50/p95, by photos per item) and stage by stage, in one process.

    Run it on an otherwise idle machine: other jobs on the 2 cores inflate every figure. The first item is the
    cold start and is reported apart. Accuracy is `kcs eval`'s job.

    \b
    Example:
      kcs bench latency --queries /tmp/photos-eval --limit 200
      kcs bench latency --queries /tmp/photos-eval --limit 100 --threads 1 --no-write
    """
    from kcs_kit.bench import latency
    from kcs_kit.bench.report import machine
    from kcs_kit.cli import progress_factory

    n = (limit + 1) if limit else 0
    result = latency.run(settings_of(ctx), folder, limit=limit, threads=threads,
                         tick=progress_factory("items", "latency")(n))
    command = f"kcs bench latency --queries {folder}" + (f" --limit {limit}" if limit else "") \
        + (f" --threads {threads}" if threads else "")
    text = latency.render(result, command, machine())
    _publish("latency", text, result, no_write, as_json)


@bench.command("scale")
@click.option("--queries", "folder", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Query package (kcs bench photos) whose items are matched.")
@click.option("--designs", default=300_000, show_default=True, type=click.IntRange(min=1),
              help="Registry size to grow the workspace's registry to.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1),
              help="Items matched for the latency (after a first, cold one).")
@click.option("--recall", default=20, show_default=True, type=click.IntRange(min=0),
              help="Photos on which the searches through the lists are compared with exhaustive ones.")
@click.option("--work", "work", type=click.Path(file_okay=False, path_type=Path),
              help="Where the grown VLAD collection is kept between runs (default: <workspace>/bench/scale).")
@no_write_option
@json_option
@click.pass_context
def bench_scale(ctx: click.Context, folder: Path, designs: int, limit: int, recall: int, work: Path | None,
                no_write: bool, as_json: bool) -> None:
    """Matching latency at a registry of 300,000 designs (grown in memory from the workspace's own).

    The real designs stay and noisy copies of them fill the registry up to --designs; marknet and the
    silhouettes are then searched through inverted lists, as a real registry of that size would be. Run it on
    an otherwise idle machine; the first run also fills a Chroma collection of that many VLAD vectors (~3 min
    at 300,000), kept in --work for the next.

    \b
    Example:
      kcs bench scale --queries /tmp/photos-eval --limit 100
      kcs bench scale --queries /tmp/photos-eval --designs 50000 --limit 20 --recall 5 --no-write
    """
    from kcs_kit.bench import scale
    from kcs_kit.bench.report import machine
    from kcs_kit.cli import progress_factory

    result = scale.run(settings_of(ctx), folder, designs=designs, limit=limit, recall=recall, folder=work,
                       log=lambda m: click.echo(m, err=True), tick=progress_factory("items", "latency")(limit + 1))
    command = f"kcs bench scale --queries {folder}" + (f" --designs {designs}" if designs != 300_000 else "") \
        + f" --limit {limit}" + (f" --recall {recall}" if recall != 20 else "")
    text = scale.render(result, command, machine())
    _publish("scale", text, result, no_write, as_json)
