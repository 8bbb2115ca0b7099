"""Training of ``marknet`` on this machine's CPU: ``kcs model train-marknet`` (~0.6 s per step on 2 idle cores).

Contrastive metric learning (symmetric InfoNCE, temperature 0.07): each batch holds 64 distinct registered
designs; a synthetic photo crop of each (``cnn_recipe.make_batch``) must pick out its own clean drawing
among the 64 drawings, and each drawing its own crop. Drawings and crops go through the same network, so a
design registered after training gets its vector from its drawing like any other. (A first try with one
learned proxy per design, CosFace, had not left chance level after 900 steps: with 3,000 classes each proxy
is seen too rarely on 2 cores.) A tenth of the designs (by a hash of their id) is held out of training, so
the benchmark can report how the encoder does on designs it never saw.

Hard batches (``--hard 0.5``): half of each batch is made of groups of look-alike designs, a design and 7 of
its 16 most similar drawings under the network (renewed every 400 steps), the other half drawn at random. A
random batch of 64 of 3,000 designs rarely holds the few drawings a photo is confused with. Measured once
(docs/MATCHING.md, "marknet"): 2,400 hard steps from the shipped weights raised marknet's own first place from
34.0% to 37.7% of 300 fitting photos, but out of fold the whole pipeline read 68.9% instead of 68.7% and
rejected 92.2% instead of 94.2%, so those weights were not shipped.

The shipped weights (``kcs_kit/data/marknet.pt``, 9,600 steps) come from a chain of runs, each starting from
the last; the .json's ``history`` lists them (steps, seed, peak learning rate) and docs/MATCHING.md gives the
commands (about 100 minutes in all on an idle 2-core machine).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.embed.cnn import MarkNetEncoder, build_net, install_onnx, sha256


def held_out(design_id: str, share: int = 10) -> bool:
    """Designs kept out of training (about 1 in ``share``), stable across runs and machines."""
    return int(hashlib.sha256(design_id.encode()).hexdigest()[:8], 16) % share == 0


def load_masks(settings: Settings, log: Callable[[str], None] = print) -> tuple[list[str], np.ndarray]:
    from PIL import Image

    from kcs_kit.embed.cnn_recipe import mark_masks
    from kcs_kit.index.build import active_designs

    df = active_designs(settings)
    ids, images = [], []
    for design_id, paths in zip(df["design_id"], df["paths"], strict=True):
        if held_out(design_id):
            continue
        ids.append(design_id)
        images.append(np.asarray(Image.open(paths[0]).convert("RGB")))
    log(f"{len(ids)} designs for training ({len(df) - len(ids)} held out)")
    return ids, mark_masks(images)


HARD_GROUP = 8  # a hard group: a design and 7 of its HARD_POOL most similar drawings
HARD_POOL = 16
HARD_REFRESH = 400  # steps between two new neighbour lists (the network moves)


def neighbours(net, masks, k: int = HARD_POOL, chunk: int = 256):
    """Each training drawing's ``k`` most similar other drawings under the network as it is now (torch (n, k))."""
    import torch

    was_training = net.training
    net.eval()
    with torch.inference_mode():
        v = torch.cat([net(masks[i:i + chunk][:, None]) for i in range(0, len(masks), chunk)])
    net.train(was_training)
    sims = v @ v.T
    sims.fill_diagonal_(-2.0)
    return sims.topk(min(k, len(masks) - 1), dim=1).indices


def batch_labels(n: int, batch: int, g, near=None, hard: float = 0.0):
    """``batch`` distinct designs of ``n``: a ``hard`` share in groups of a design and some of its ``near``
    neighbours (look-alikes, the negatives a photo must be told apart from), the rest drawn at random."""
    import torch

    if near is None or hard <= 0:
        return torch.randperm(n, generator=g)[:batch]
    chosen: dict[int, None] = {}
    want = round(batch * hard)
    for seed_design in torch.randperm(n, generator=g).tolist():
        if len(chosen) >= want:
            break
        if seed_design in chosen:
            continue
        pick = near[seed_design][torch.randperm(near.shape[1], generator=g)[:HARD_GROUP - 1]].tolist()
        for d in [seed_design, *pick]:
            if len(chosen) < want:
                chosen.setdefault(int(d))
    for d in torch.randperm(n, generator=g).tolist():
        if len(chosen) >= batch:
            break
        chosen.setdefault(d)
    return torch.tensor(list(chosen))


def _history(before: dict, steps: int, seed: int, lr: float, hard: float = 0.0) -> list[dict]:
    """The training runs that led to these weights, oldest first (to reproduce them run for run). Weights
    described without a history were trained from scratch in one run at the original peak rate, 2e-3."""
    runs = before.get("history") or ([{"steps": before["steps"], "seed": before.get("seed"), "peak_lr": 2e-3,
                                       "init": None}] if before else [])
    run = {"steps": steps, "seed": seed, "peak_lr": lr, "init": before.get("sha256")}
    return [*runs, {**run, "hard": hard} if hard else run]


def train(settings: Settings, out: Path, *, steps: int = 1200, batch: int = 64, seed: int = 7,
          width: int = 16, dim: int = 128, lr: float = 2e-3, init: Path | None = None, hard: float = 0.0,
          log: Callable[[str], None] = print) -> dict:
    """Train for ``steps`` batches; write the weights and a .json with hash, recipe and figures.

    ``init``: start from these weights (checked against their .json like the shipped ones) instead of a
    random network, to train a shipped encoder further; the .json written records the chain of steps.
    ``hard``: the share of each batch made of groups of look-alike designs (their drawings' nearest
    neighbours under the network, renewed every ``HARD_REFRESH`` steps) instead of designs drawn at random:
    a random batch of 64 of 3,000 designs rarely holds the few that a photo is confused with.
    """
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    ids, masks_np = load_masks(settings, log)
    masks = torch.from_numpy(masks_np)
    n = len(ids)
    batch = min(batch, n)
    net = build_net(width, dim)
    before: dict = {}
    if init is not None:
        start = MarkNetEncoder.load(Path(init))
        net.load_state_dict(start.net.state_dict())  # type: ignore[attr-defined]
        before = json.loads(Path(init).with_suffix(".json").read_text())
        log(f"starting from {init} ({before.get('sha256', '')[:12]}, {before.get('steps', '?')} steps)")
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    from kcs_kit.embed.cnn_recipe import make_batch

    t0, step, losses, accs = time.time(), 0, [], []
    target = torch.arange(batch)
    near = None
    while step < steps:
        if hard > 0 and step % HARD_REFRESH == 0:
            near = neighbours(net, masks)
        for group in opt.param_groups:  # warm-up then cosine decay
            group["lr"] = lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + np.cos(np.pi * step / steps))
        labels = batch_labels(n, batch, g, near, hard)  # distinct designs: the others are the negatives
        photos = net(make_batch(masks, labels, g, clean_share=0.0))
        inv = (torch.rand(batch, generator=g) < 0.3).view(-1, 1, 1, 1)
        clean = masks[labels][:, None]
        drawings = net(torch.where(inv, clean, 1 - clean))
        logits = photos @ drawings.T / 0.07
        loss = 0.5 * (torch.nn.functional.cross_entropy(logits, target)
                      + torch.nn.functional.cross_entropy(logits.T, target))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        accs.append(float((logits.argmax(1) == target).float().mean()))
        step += 1
        if step % 50 == 0:
            log(f"step {step}  {time.time() - t0:.0f} s  loss {np.mean(losses[-50:]):.3f}  "
                f"batch top-1 {np.mean(accs[-50:]):.3f}")
        if step % 200 == 0:  # a checkpoint to look at while training goes on
            torch.save(net.state_dict(), out.with_suffix(".ckpt"))
    net.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save(net.state_dict(), tmp)
    os.replace(tmp, out)
    meta = {"name": "marknet", "width": width, "dim": dim, "sha256": sha256(out), "seed": seed,
            "steps": step + int(before.get("steps", 0)), "init": before.get("sha256"),
            "history": _history(before, step, seed, lr, hard), "batch": batch,
            "minutes": round((time.time() - t0) / 60, 1), "threads": torch.get_num_threads(),
            "designs_trained": n, "held_out_rule": "sha256(design_id)[:8] % 10 == 0",
            "final_loss": round(float(np.mean(losses[-50:])), 4),
            "final_batch_top1": round(float(np.mean(accs[-50:])), 4),
            "recipe": "kcs_kit/embed/cnn_recipe.py (synthetic crops of the registry's drawings)",
            "trained_on": "the active designs of the workspace registry (demo: data/simple-icons)"}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    meta["onnx"] = install_onnx(out)  # the window model matching runs in ONNX Runtime
    return meta
