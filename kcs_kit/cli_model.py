"""``kcs model ...``: the fusion/calibration model behind the probabilities."""

from __future__ import annotations

from pathlib import Path

import click

from kcs_kit.cli import emit, json_option, main, progress_factory, settings_of


@main.group()
def model() -> None:
    """The fusion model that turns matching signals into calibrated probabilities.

    \b
    Example:
      kcs model fit --queries /tmp/photos-train
      kcs model show
    """


@model.command("fit")
@click.option("--queries", "folders", required=True, multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="A labelled query package (queries.csv + photos), e.g. from kcs bench photos; repeat it to fit "
                   "on several.")
@click.option("--holdout", default=0.3, show_default=True, help="Share of queries held out to compare models.")
@click.option("--limit", type=int, help="Use only the first N queries.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes analysing the queries at once.")
@click.option("--no-cache", is_flag=True, help="Match every photo again instead of reading the analyses kept in "
              "<workspace>/models/cache from an earlier fit on the same queries and index.")
@click.option("--force", is_flag=True, help="Activate the new model even if it does not beat the active one on the "
              "held-out share: for when the active model was fitted on some of these queries or on signals that have "
              "changed since (then that comparison favours it; compare with kcs model cv).")
@click.option("--without", multiple=True, metavar="SIGNAL",
              help="Leave this signal (and its lead) out of the fit: weight 0, still shown as evidence; for one "
                   "that kcs model cv --ablate shows adds nothing. Repeat for several.")
@json_option
@click.pass_context
def fit_cmd(ctx: click.Context, folders: tuple[Path, ...], holdout: float, limit: int | None, workers: int,
            no_cache: bool, force: bool, without: tuple[str, ...], as_json: bool) -> None:
    """Fit the fusion model on labelled queries; activate it only if it beats the active one on held-out queries.

    Use a query package generated with a different seed from the one you evaluate on. The analysed queries
    (every candidate's signals) are kept, so a second fit on the same queries and index takes seconds.

    \b
    Example:
      kcs bench photos --out /tmp/photos-train --n 600 --seed 7
      kcs model fit --queries /tmp/photos-train
      kcs model fit --queries /tmp/photos-train --queries /tmp/photos-train2
    """
    from kcs_kit.match.fusion import features_without
    from kcs_kit.match.train import fit_fusion

    try:
        features_without(without)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--without") from exc
    r = fit_fusion(settings_of(ctx), list(folders), holdout=holdout, limit=limit, workers=workers,
                   cache=not no_cache, progress=progress_factory("queries", "analysing"), force=force,
                   without=without)

    def render(r) -> None:
        click.echo(f"fitted on {r.fitted_on} queries, compared on {r.held_out} held out "
                   f"({r.missed} left out: their true design never reached the candidates)")
        for name, s in (("active", r.before), ("new", r.after)):
            click.echo(f"  {name:<7} log-loss {s.log_loss:.3f}  reading accuracy {s.reading_accuracy:.1%}  "
                       f"ECE {s.ece:.3f}")
        click.echo(r.reason)

    emit(r, as_json, render)


@model.command("cv")
@click.option("--queries", "folders", required=True, multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="A labelled query package to cross-validate on (the fitting set, never the held-out one); "
                   "repeat it for several.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(min=2), help="Number of folds.")
@click.option("--ratios", default="0.5,1", show_default=True,
              help="Rejection ratios to score (comma-separated; see the setting reject_ratio).")
@click.option("--limit", type=int, help="Use only the first N queries.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes analysing the queries at once (when they are not cached yet).")
@click.option("--ablate", "ablate", multiple=True, metavar="SIGNAL",
              help="Also score the fit without this signal (and its lead), to see what it adds; repeat for "
                   "several, 'a+b' for one fit without both.")
@click.option("--write-benchmarks", is_flag=True, help="Write the table into docs/BENCHMARKS.md (section 'cv').")
@json_option
@click.pass_context
def cv_cmd(ctx: click.Context, folders: tuple[Path, ...], folds: int, ratios: str, limit: int | None, workers: int,
           ablate: tuple[str, ...], write_benchmarks: bool, as_json: bool) -> None:
    """Cross-validate the fusion fit: out-of-fold reading, rejection (with its one-sided 90% lower bound),
    top-1 accuracy and ECE per feature set and rejection ratio, and the largest reject_ratio whose bound
    reaches 95%, so choices are made on fitting queries and the held-out benchmark stays unseen.

    \b
    Example:
      kcs model cv --queries /tmp/photos-train --folds 5 --ratios 0.25,0.5,1
      kcs model cv --queries /tmp/photos-train --queries /tmp/photos-train2
      kcs model cv --queries /tmp/photos-train --ablate in_text --ablate in_text+agree
    """
    from kcs_kit.match.crossval import ablations, cross_validate, recommended_ratio, rejection_lower_bound
    from kcs_kit.match.train import collect_many

    try:
        values = [float(v) for v in ratios.split(",") if v.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"expected numbers separated by commas, found {ratios!r}",
                                 param_hint="--ratios") from exc
    try:
        sets = ablations(ablate)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ablate") from exc
    s = settings_of(ctx)
    items = collect_many(s, list(folders), limit=limit, workers=workers,
                         progress=progress_factory("queries", "analysing"))
    rows = cross_validate(items, folds=folds, ratios=values, feature_sets=sets)
    missed = sum(a.missed for a in items)
    if write_benchmarks:
        from kcs_kit.bench.report import machine, update_section
        from kcs_kit.match.crossval import render_markdown

        command = "kcs model cv " + " ".join(f"--queries {f}" for f in folders) + \
            f" --folds {folds} --ratios {ratios}" + "".join(f" --ablate {a}" for a in ablate) + \
            (f" --limit {limit}" if limit else "")
        update_section("cv", render_markdown(rows, command=command, machine=machine(), queries=len(items),
                                             missed=missed))

    def render(rows) -> None:
        click.echo(f"{len(items)} queries, {folds} folds ({missed} with the true design "
                   "never among the candidates: wrong in every row)")
        width = max((len(r.features) for r in rows), default=0)
        for r in rows:
            m = r.metrics
            lb = rejection_lower_bound(m)
            rejection = (f"rejection {m.rejection_accuracy:.1%} (90% lower bound {lb:.1%})" if lb is not None
                         else "no query without a design")
            ece0 = f"{m.ece_no_match:.3f}" if m.ece_no_match is not None else "—"
            click.echo(f"  {r.features:<{width}} ratio {r.reject_ratio:<5g} reading {m.reading_accuracy:.1%}  "
                       f"top-1 {m.top1:.1%}  {rejection}  ECE top-1 {m.ece_top1:.3f}  ECE p_no_match {ece0}")
        best = recommended_ratio(rows)
        click.echo("recommended reject_ratio (largest whose rejection lower bound reaches 95%): "
                   + (f"{best:g}" if best is not None else "none of these ratios; score lower ones"))

    emit(rows, as_json, render)


@model.command("show")
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show the active fusion model: version, what it was fitted on, and its weights.

    \b
    Example:
      kcs model show --json
    """
    from kcs_kit.match.context import active_fusion

    m = active_fusion(settings_of(ctx))

    def render(m) -> None:
        click.echo(f"{m.version}  {m.trained_on or '(prior weights, not fitted)'}")
        for k, v in m.weights.items():
            click.echo(f"  {k:<16} {v:+.3f}")
        click.echo(f"  {'no-match bias':<16} {m.none_bias:+.3f}  " +
                   " ".join(f"{k} {v:+.2f}" for k, v in m.none_weights.items()))

    emit(m, as_json, render)


@model.command("recalibrate")
@click.option("--queries", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Also fit on this labelled query package (benchmark pairs), e.g. from kcs bench photos.")
@click.option("--holdout", default=0.3, show_default=True, help="Share of examples held out to compare models.")
@click.option("--limit", type=int, help="Use only the first N benchmark queries.")
@click.option("--officer", help="Officer ID recorded in the audit log (default: setting officer_id).")
@json_option
@click.pass_context
def recalibrate_cmd(ctx: click.Context, folder: Path | None, holdout: float, limit: int | None, officer: str | None,
                    as_json: bool) -> None:
    """Refit the fusion model on officers' decisions (plus benchmark pairs); activate only if better.

    Confirmed cases say which candidate was the true design, rejected cases that none was; unsure cases
    are skipped. Calibration (ECE), log-loss and reading accuracy are compared on held-out examples.

    \b
    Example:
      kcs model recalibrate
      kcs model recalibrate --queries /tmp/photos-train --json
    """
    from kcs_kit.explain.recalibrate import recalibrate

    r = recalibrate(settings_of(ctx), queries=folder, holdout=holdout, limit=limit, officer=officer,
                    progress=progress_factory("queries", "analysing"))

    def render(r) -> None:
        click.echo(f"fitted on {r.fitted_on} examples ({r.officer_examples} decisions, {r.benchmark_examples} "
                   f"benchmark pairs; {r.skipped} skipped), compared on {r.held_out} held out "
                   f"({r.held_out_officer} decisions)")
        for name, s in (("active", r.before), ("new", r.after), ("active, decisions", r.before_officer),
                        ("new, decisions", r.after_officer)):
            click.echo(f"  {name:<18} log-loss {s.log_loss:.3f}  reading accuracy {s.reading_accuracy:.1%}  "
                       f"ECE {s.ece:.3f}")
        click.echo(r.reason)

    emit(r, as_json, render)
