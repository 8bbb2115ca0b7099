"""Probe (not part of matching): a pair verifier on marknet's frozen cell maps.

"Is this registered drawing in this crop?" A small head reads marknet's cell maps (12 x 12 x 128 at stride 8) of
a photo crop and of a clean drawing side by side, with their product and difference, and answers with a logit.
Trained on the marknet recipe's synthetic crops (``cnn_recipe.make_batch``; never the benchmark's photos), the
10% of designs marknet holds out kept out here too. Each crop is paired with its own drawing (a positive) and
with the drawing marknet finds most like it among the others (a negative: the look-alike a photo is confused
with) and with any other drawing; crops with no mark at all (background and clutter only) are paired with their
most alike drawing.
Usage:

    python scripts/train_pairnet.py OUT.pt STEPS [SEED [INIT.pt [PEAK_LR [tune]]]]

``tune``: marknet's layers for the crops (a copy; the drawings keep the shipped ones) are trained too, at a tenth
of the head's rate.
"""

import math
import sys
import time
from pathlib import Path

import numpy as np


def build_head(c: int = 128, h: int = 64):
    import torch

    nn = torch.nn

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mix = nn.Sequential(nn.Conv2d(4 * c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(inplace=True),
                                     nn.Conv2d(h, h, 3, 2, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(inplace=True),
                                     nn.Conv2d(h, h, 3, 1, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(inplace=True))
            self.out = nn.Linear(2 * h, 1)

        def forward(self, a, b):  # cell maps (B, C, 12, 12) of crops and drawings
            a = nn.functional.normalize(a, dim=1)
            b = nn.functional.normalize(b, dim=1)
            x = self.mix(torch.cat([a, b, a * b, (a - b).abs()], 1))
            return self.out(torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1))[:, 0]

    return Head()


def main(out: Path, steps: int, seed: int = 5, init: Path | None = None, lr: float = 2e-3, tune: bool = False) -> None:
    import copy

    import torch

    from kcs_kit.config import load_settings
    from kcs_kit.embed.cnn import CELLS, MarkNetEncoder
    from kcs_kit.embed.cnn_recipe import make_batch
    from kcs_kit.embed.cnn_train import load_masks

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    ids, masks_np = load_masks(load_settings())
    n = len(ids)
    masks = torch.from_numpy(np.concatenate([masks_np, np.zeros((1, *masks_np.shape[1:]), np.float32)]))
    net = MarkNetEncoder.load().net
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.inference_mode():
        draw_cells = torch.cat([net.cells(1 - masks[i:i + 256, None]) for i in range(0, n, 256)])
        draw_vecs = torch.cat([net(1 - masks[i:i + 256, None]) for i in range(0, n, 256)])
    print(f"{n} drawings, cells {tuple(draw_cells.shape)}", flush=True)
    head = build_head()
    crop_net = copy.deepcopy(net)  # the crops' own copy of marknet's layers, trained with ``tune`` (BN kept as is)
    if init is not None:
        state = torch.load(init, weights_only=True)
        head.load_state_dict(state["head"] if "head" in state else state)
        if "crop_net" in state:
            crop_net.load_state_dict(state["crop_net"])
    groups = [{"params": list(head.parameters()), "scale": 1.0}]
    if tune:
        for p in crop_net.parameters():
            p.requires_grad_(True)
        groups.append({"params": list(crop_net.parameters()), "scale": 0.1})
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    B, NONE = 64, 24
    t0, losses, accs = time.time(), [], []
    for step in range(steps):
        rate = lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in opt.param_groups:
            group["lr"] = group["scale"] * rate
        labels = torch.cat([torch.randint(0, n, (B,), generator=g), torch.full((NONE,), n)])
        crops = make_batch(masks, labels, g, clean_share=0.05)
        with torch.no_grad():
            cc = net.cells(crops)
            m = (cc.shape[-1] - CELLS) // 2  # the middle window's vector, as marknet's forward gives it
            v = net.pool(cc[:, :, m:m + CELLS, m:m + CELLS])[:, 0, 0]
            sims = v @ draw_vecs.T
            sims[torch.arange(B), labels[:B]] = -2  # not its own drawing
            top = sims.topk(5, dim=1).indices
            neg = top[torch.arange(B + NONE), torch.randint(0, 5, (B + NONE,), generator=g)]
        rand = (labels[:B] + torch.randint(1, n, (B,), generator=g)) % n  # any other drawing
        if tune:
            cc = crop_net.cells(crops)
        a = torch.cat([cc[:B], cc, cc[:B]])
        b = torch.cat([draw_cells[labels[:B]], draw_cells[neg], draw_cells[rand]])
        y = torch.cat([torch.ones(B), torch.zeros(2 * B + NONE)])
        logit = head(a, b)
        w = torch.cat([torch.full((B,), (2 * B + NONE) / B), torch.ones(2 * B + NONE)])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, y, weight=w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        # pairwise: own drawing scored above the look-alike
        accs.append(float((logit[:B] > logit[B:2 * B]).float().mean()))
        if (step + 1) % 50 == 0:
            print(f"step {step + 1} {time.time() - t0:.0f}s loss {np.mean(losses[-50:]):.3f} "
                  f"own>alike {np.mean(accs[-50:]):.3f}", flush=True)
        if (step + 1) % 200 == 0 or step + 1 == steps:
            torch.save({"head": head.state_dict(), **({"crop_net": crop_net.state_dict()} if tune else {})}, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 5,
         Path(sys.argv[4]) if len(sys.argv) > 4 else None, float(sys.argv[5]) if len(sys.argv) > 5 else 2e-3,
         len(sys.argv) > 6 and sys.argv[6] == "tune")
