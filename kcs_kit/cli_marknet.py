"""``kcs model train-marknet``: train the learned mark encoder on this machine (CPU, no downloads)."""

from __future__ import annotations

from pathlib import Path

import click

from kcs_kit.cli import emit, json_option, settings_of
from kcs_kit.cli_model import model


@model.command("train-marknet")
@click.option("--steps", default=1200, show_default=True, type=click.IntRange(1),
              help="Training batches (about 0.55 s each on 2 idle cores).")
@click.option("--batch", default=64, show_default=True, type=click.IntRange(2),
              help="Designs per batch (each crop's negatives are the other drawings).")
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic crops and the initial weights.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the weights (.pt) and their description (.json, with the SHA-256); default: "
                   "the shipped kcs_kit/data/marknet.pt, which matching then uses.")
@click.option("--init", "init", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Start from these weights (e.g. the shipped kcs_kit/data/marknet.pt) and train them further; "
                   "their .json must match their SHA-256.")
@click.option("--lr", default=2e-3, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Peak learning rate (100 warm-up steps, then cosine decay to 0); use a lower one with --init.")
@click.option("--hard", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of each batch made of groups of look-alike designs (nearest drawings under the network, "
                   "renewed every 400 steps) instead of random ones: harder negatives, e.g. 0.5 with --init.")
@json_option
@click.pass_context
def train_marknet_cmd(ctx: click.Context, steps: int, batch: int, seed: int, out: Path | None,
                      init: Path | None, lr: float, hard: float, as_json: bool) -> None:
    """Train marknet, the small CNN that embeds marks, on synthetic crops of the registry's drawings.

    Uses the active designs of the workspace registry (a tenth held out by a hash of their id, to measure
    designs registered after training). Run `kcs index build` afterwards to embed the designs with the new
    weights, then `kcs model fit` and `kcs eval` to see whether it helps.

    \b
    Example:
      kcs model train-marknet --steps 1200 --seed 7
      kcs model train-marknet --steps 1400 --seed 8 --init kcs_kit/data/marknet.pt --lr 1e-3 \\
          --out models/marknet-next.pt
      kcs index build
    """
    from kcs_kit.embed.cnn import WEIGHTS
    from kcs_kit.embed.cnn_train import train

    out = out or WEIGHTS
    log = (lambda _m: None) if as_json else click.echo
    meta = train(settings_of(ctx), out, steps=steps, batch=batch, seed=seed, lr=lr, init=init, hard=hard, log=log)

    def render(m: dict) -> None:
        click.echo(f"wrote {out} ({m['sha256'][:12]}): {m['steps']} steps in {m['minutes']} min, "
                   f"{m['designs_trained']} designs, final loss {m['final_loss']}")

    emit(meta, as_json, render)


@model.command("export-marknet")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Weights to export (default: the shipped kcs_kit/data/marknet.pt); their .json must match.")
@json_option
@click.pass_context
def export_marknet_cmd(ctx: click.Context, weights: Path | None, as_json: bool) -> None:
    """Export marknet's window model to ONNX beside its weights (.onnx) and record its hash in their .json.

    Matching then runs marknet in ONNX Runtime instead of torch: faster windows and no torch import at
    query time. Training does this itself; use it for weights trained by an older kcs-kit.

    \b
    Example:
      kcs model export-marknet
      kcs model export-marknet --weights models/marknet-next.pt
    """
    from kcs_kit.embed.cnn import WEIGHTS, install_onnx

    w = weights or WEIGHTS
    info = {"weights": str(w), **install_onnx(w)}
    emit(info, as_json, lambda m: click.echo(f"wrote {w.with_suffix('.onnx')} ({m['sha256'][:12]}), "
                                             f"recorded in {w.with_suffix('.json').name}"))
