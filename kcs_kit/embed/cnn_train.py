"""Training of ``marknet`` on this machine's CPU: ``kcs model train-marknet`` (2,000 steps: ~36 min, 2 cores).

Metric learning with a normalised-softmax (CosFace) loss: every active registered design is a class with a
learned proxy vector; synthetic photo crops of a design (``cnn_recipe.make_batch``) and its clean drawing
are pulled to its proxy and pushed from all others. A tenth of the designs (by a hash of their id) is held
out of training, so the benchmark can report how the encoder does on designs it never saw — what happens
when a design is registered after the weights were trained.

Example::

    kcs model train-marknet --steps 2000 --seed 7 --out kcs_kit/data/marknet-v1.pt
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
from kcs_kit.embed.cnn import build_net, sha256


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


def train(settings: Settings, out: Path, *, steps: int = 2000, batch: int = 96, seed: int = 7,
          width: int = 16, dim: int = 128, log: Callable[[str], None] = print) -> dict:
    """Train for ``steps`` batches; write the weights and a .json with hash, recipe and figures."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    ids, masks_np = load_masks(settings, log)
    masks = torch.from_numpy(masks_np)
    n = len(ids)
    net = build_net(width, dim)
    proxies = torch.nn.Parameter(torch.nn.functional.normalize(torch.randn(n, dim), dim=1))
    opt = torch.optim.AdamW([*net.parameters(), proxies], lr=2e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    from kcs_kit.embed.cnn_recipe import make_batch

    t0, step, losses, accs = time.time(), 0, [], []
    while step < steps:
        frac = step / steps
        for group in opt.param_groups:  # warm-up then cosine decay
            group["lr"] = 2e-3 * min(1.0, (step + 1) / 200) * 0.5 * (1 + np.cos(np.pi * frac))
        labels = torch.randint(0, n, (batch,), generator=g)
        x = make_batch(masks, labels, g)
        emb = net(x)
        cos = emb @ torch.nn.functional.normalize(proxies, dim=1).T
        margin = torch.zeros_like(cos).scatter_(1, labels[:, None], 0.15)
        loss = torch.nn.functional.cross_entropy(20.0 * (cos - margin), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        accs.append(float((cos.argmax(1) == labels).float().mean()))
        step += 1
        if step % 100 == 0:
            log(f"step {step}  {time.time() - t0:.0f} s  loss {np.mean(losses[-100:]):.3f}  "
                f"batch top-1 {np.mean(accs[-100:]):.3f}")
        if step % 400 == 0:  # a checkpoint to look at while training goes on
            torch.save(net.state_dict(), out.with_suffix(".ckpt"))
    net.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save(net.state_dict(), tmp)
    os.replace(tmp, out)
    meta = {"name": "marknet", "width": width, "dim": dim, "sha256": sha256(out), "seed": seed,
            "steps": step, "batch": batch, "minutes": round((time.time() - t0) / 60, 1),
            "threads": torch.get_num_threads(),
            "designs_trained": n, "held_out_rule": "sha256(design_id)[:8] % 10 == 0",
            "final_loss": round(float(np.mean(losses[-100:])), 4),
            "final_batch_top1": round(float(np.mean(accs[-100:])), 4),
            "recipe": "kcs_kit/embed/cnn_recipe.py (synthetic crops of the registry's drawings)",
            "trained_on": "the active designs of the workspace registry (demo: data/simple-icons)"}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
