"""Probe (not part of matching), step 2 of 2: the pair verifier's score as one more fusion signal, out of fold.

Reads ``scripts/probe_pair_dump.py``'s analyses and crops, scores each candidate's crop against its drawing with
the head of ``scripts/train_pairnet.py`` (on marknet's cell maps), and prints: how well the score tells the true
design from the other candidates and from its look-alike, marknet's best other candidate (AUC; beside marknet's,
the silhouettes' and the inliers'), then the fusion refitted out of fold (5 folds as ``kcs model cv``) without
and with the score (and its lead) at three reject ratios. Usage:

    python scripts/probe_pair.py DUMP.npz HEAD.pt
"""

import sys
from pathlib import Path

import numpy as np

RATIOS = (0.2, 0.35, 0.5)


def scores(dump, head_path: Path) -> np.ndarray:
    import torch
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).parent))
    from train_pairnet import build_head

    from kcs_kit.config import load_settings
    from kcs_kit.embed.cnn import MarkNetEncoder, design_canvas
    from kcs_kit.index.build import active_designs

    cache = head_path.with_suffix(".scores.npy")
    if cache.exists():
        return np.load(cache)
    torch.set_num_threads(2)
    net = MarkNetEncoder.load().net
    head, crop_net = build_head(), net
    state = torch.load(head_path, weights_only=True)
    head.load_state_dict(state["head"] if "head" in state else state)
    head.eval()
    if "crop_net" in state:  # trained with ``tune``: the crops' own copy of marknet's layers
        crop_net = MarkNetEncoder.load().net
        crop_net.load_state_dict(state["crop_net"])
        crop_net.eval()
    df = active_designs(load_settings())
    ids = dump["design_ids"]
    need = sorted(set(ids.tolist()))
    paths = dict(zip(df["design_id"], df["paths"], strict=True))
    canv = np.stack([design_canvas(np.asarray(Image.open(paths[d][0]).convert("RGB"))) for d in need])
    with torch.inference_mode():
        dc = torch.cat([net.cells(torch.from_numpy(canv[i:i + 256])[:, None]) for i in range(0, len(canv), 256)])
        where = {d: i for i, d in enumerate(need)}
        idx = torch.tensor([where[d] for d in ids.tolist()])
        crops = dump["crops"]
        out = np.zeros(len(ids), np.float32)
        step = 512
        for i in range(0, len(ids), step):
            x = torch.from_numpy(crops[i:i + step].astype(np.float32) / 255.0)[:, None]
            out[i:i + step] = head(crop_net.cells(x), dc[idx[i:i + step]]).numpy()
            if i % (step * 40) == 0:
                print(f"scored {i}/{len(ids)}", flush=True)
    np.save(cache, out)
    return out


def main(dump_path: Path, head_path: Path) -> None:
    from probe_region_crispness import auc  # scripts/ is on the path when run as a script

    from kcs_kit.match import fusion

    z = np.load(dump_path)
    s = scores(z, head_path)
    s = np.where(z["found"], s, -10.0)
    b = np.concatenate([[0], np.cumsum(z["counts"])])
    ids = z["design_ids"].tolist()
    marknet = z["feats"][:, fusion.SIGNALS.index("marknet")]
    for name, v in {"pair": s, **{x: z["feats"][:, fusion.SIGNALS.index(x)] for x in
                                  ("marknet", "shape", "inliers")}}.items():
        pos, neg, alike = [], [], []
        for i, t in enumerate(z["truth"]):
            lo, hi = b[i], b[i + 1]
            if t and t in ids[lo:hi]:
                k = lo + ids[lo:hi].index(t)
                others = np.r_[lo:k, k + 1:hi]
                pos.append(v[k])
                neg.extend(v[others])
                if len(others):
                    alike.append(v[others[marknet[others].argmax()]])  # the look-alike: marknet's best other
        every, lookalike = auc(np.array(pos), np.array(neg)), auc(np.array(pos), np.array(alike))
        print(f"{name:8s} AUC of the true design against every other candidate {every:.3f}, "
              f"against marknet's best other candidate {lookalike:.3f}")
    refit_with(z, 1 / (1 + np.exp(-s)), "pair")


def refit_with(dump, extra: np.ndarray, signal: str) -> None:
    """The fusion refitted out of fold (5 folds as ``kcs model cv``) on a dump's analyses without and with
    ``extra`` (one value per candidate) as one more signal named ``signal``, and with its lead too; prints
    reading, rejection, top-1 and ECE at RATIOS. Also used by ``probe_relief.py``."""
    from probe_leads import _use  # scripts/ is on the path when run as a script

    from kcs_kit.match import crossval, fusion
    from kcs_kit.match.train import Analysed

    b = np.concatenate([[0], np.cumsum(dump["counts"])])
    ids = dump["design_ids"].tolist()
    base_items, items = [], []
    for i, (q, t) in enumerate(zip(dump["query_id"], dump["truth"], strict=True)):
        lo, hi = b[i], b[i + 1]
        f, qf, cands = dump["feats"][lo:hi], dump["qfeats"][i], tuple(ids[lo:hi])
        base_items.append(Analysed(str(q), cands, f, qf, str(t)))
        items.append(Analysed(str(q), cands, np.hstack([f, extra[lo:hi, None]]), qf, str(t)))
    signals, leads = fusion.SIGNALS, fusion.LEADS
    try:  # the dump's own signals (the first ones of today's: signals are only ever added at the end)
        fusion.SIGNALS = signals[:dump["feats"].shape[1]]
        _use(fusion, leads)
        rows = crossval.cross_validate(base_items, ratios=RATIOS, feature_sets={"base": fusion.FEATURES})
        fusion.SIGNALS = (*fusion.SIGNALS, signal)
        for with_lead in (leads, (*leads, signal)):
            _use(fusion, with_lead)
            name = signal + (" + lead" if signal in with_lead else "")
            rows += crossval.cross_validate(items, ratios=RATIOS, feature_sets={name: fusion.FEATURES})
    finally:
        fusion.SIGNALS = signals
        _use(fusion, leads)
    for r in rows:
        m = r.metrics
        print(f"{r.features:14s} {r.reject_ratio:g}: reading {m.reading_accuracy:.1%} rejection "
              f"{m.rejection_accuracy:.1%} top-1 {m.top1:.1%} ECE {m.ece_top1:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
