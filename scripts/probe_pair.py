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

    from kcs_kit.match import crossval, fusion
    from kcs_kit.match.train import Analysed

    z = np.load(dump_path)
    s = scores(z, head_path)
    s = np.where(z["found"], s, -10.0)
    b = np.concatenate([[0], np.cumsum(z["counts"])])
    ids = z["design_ids"].tolist()
    base_items, items = [], []
    sig = 1 / (1 + np.exp(-s))
    for i, (q, t) in enumerate(zip(z["query_id"], z["truth"], strict=True)):
        lo, hi = b[i], b[i + 1]
        f = z["feats"][lo:hi]
        base_items.append(Analysed(str(q), tuple(ids[lo:hi]), f, z["qfeats"][i], str(t)))
        items.append(Analysed(str(q), tuple(ids[lo:hi]), np.hstack([f, sig[lo:hi, None]]), z["qfeats"][i], str(t)))
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
    rows = crossval.cross_validate(base_items, ratios=RATIOS, feature_sets={"base": fusion.FEATURES})
    saved = (fusion.SIGNALS, fusion.LEADS, fusion.DERIVED, fusion.FEATURES, fusion.BASE_OF)
    try:
        fusion.SIGNALS = (*fusion.SIGNALS, "pair")
        for leads in (fusion.LEADS, (*fusion.LEADS, "pair")):
            fusion.LEADS, fusion.DERIVED = leads, tuple(f"{x}_lead" for x in leads)
            fusion.FEATURES = fusion.SIGNALS + fusion.DERIVED
            fusion.BASE_OF = {**{x: x for x in fusion.SIGNALS}, **{f"{x}_lead": x for x in leads}}
            name = "pair" + (" + lead" if "pair" in leads else "")
            rows += crossval.cross_validate(items, ratios=RATIOS, feature_sets={name: fusion.FEATURES})
    finally:
        fusion.SIGNALS, fusion.LEADS, fusion.DERIVED, fusion.FEATURES, fusion.BASE_OF = saved
    for r in rows:
        m = r.metrics
        print(f"{r.features:12s} {r.reject_ratio:g}: reading {m.reading_accuracy:.1%} rejection "
              f"{m.rejection_accuracy:.1%} top-1 {m.top1:.1%} ECE {m.ece_top1:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
