"""Probe (not part of matching): does the drawing's relief show where matching found the candidate?

An embossed or debossed mark has the colour of its surface; under a directional light a shallow relief h shades
the surface by about 1 + k * (L . grad h) (Lambertian, first order), so the photo's log-luminance, high-passed,
is close to the directional derivative of the blurred drawing along the unknown light L. The best L has a closed
form: the score of a placement is sqrt(<H, dx D>^2 + <H, dy D>^2), normalised by the crop's energy under the
drawing. Each candidate's crop from ``scripts/probe_pair_dump.py`` (cut where matching found it) is compared with
its drawing turned (12 angles), mirrored or not, at two sizes and shifted (FFT correlation, +-12 px of 64). The
same sum also answers for a printed mark (its edges, shifted by a pixel along L), so it is a signed-edge template
test of the whole outline, not only of reliefs.

Prints how well the score tells the true design from the other candidates (AUC, by kind), then the fusion refitted
out of fold with it as one more signal (``probe_pair``'s cross-validation). Usage:

    python scripts/probe_relief.py DUMP.npz QUERIES_DIR [QUERIES_DIR ...]
"""

import sys
import time
from pathlib import Path

import numpy as np

SIZE = 64  # working resolution (the dump's 96-px crops scaled by 2/3: the mark's longer side ~38 px)
ANGLES = 12
SIZES = (1.0, 0.72)
SHIFT = 12


def _prep_crop(crop: np.ndarray) -> np.ndarray:
    import cv2

    g = cv2.resize(crop.astype(np.float32) / 255.0, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    lg = np.log(g + 0.03)
    h = cv2.GaussianBlur(lg, (0, 0), 0.7) - cv2.GaussianBlur(lg, (0, 0), 5.0)
    h /= np.sqrt(cv2.GaussianBlur(h * h, (0, 0), 8.0)) + 0.02  # local contrast: a product's edge weighs no more
    return np.clip(h, -2.5, 2.5).astype(np.float32)  # than the faint relief of a mark beside it


def _templates(canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(V, S, S) dx and dy templates, support masks and Gram matrices (xx, xy, yy, det) of every variant of
    one drawing's canvas."""
    import cv2

    ink = cv2.resize(1.0 - canvas, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    tx, ty, sup, nrm = [], [], [], []
    c = (SIZE / 2 - 0.5, SIZE / 2 - 0.5)
    for mirror in (False, True):
        base = ink[:, ::-1] if mirror else ink
        for s in SIZES:
            for k in range(ANGLES):
                m = cv2.getRotationMatrix2D(c, 360.0 * k / ANGLES, s)
                d = cv2.warpAffine(base, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR)
                dg = cv2.GaussianBlur(d, (0, 0), 1.0)
                gx = cv2.Sobel(dg, cv2.CV_32F, 1, 0, ksize=3)
                gy = cv2.Sobel(dg, cv2.CV_32F, 0, 1, ksize=3)
                support = cv2.dilate((d > 0.1).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(np.float32)
                gx, gy = gx * support, gy * support  # the template inside its support: Cauchy-Schwarz holds
                tx.append(gx)
                ty.append(gy)
                sup.append(support)
                xx, xy, yy = float(np.sum(gx * gx)), float(np.sum(gx * gy)), float(np.sum(gy * gy))
                nrm.append((xx, xy, yy, max(xx * yy - xy * xy, 1e-9)))
    return np.stack(tx), np.stack(ty), np.stack(sup), np.array(nrm, np.float64)


def _valid_shifts() -> np.ndarray:
    y = np.arange(SIZE)
    y = np.minimum(y, SIZE - y)
    return (y[:, None] <= SHIFT) & (y[None, :] <= SHIFT)


def design_scores(canvas: np.ndarray, crops: np.ndarray) -> np.ndarray:
    """The relief score of each prepared crop (n, S, S) against one drawing: best over variants and shifts."""
    tx, ty, sup, nrm = _templates(canvas)
    fx, fy, fs = (np.conj(np.fft.rfft2(t)) for t in (tx, ty, sup))
    fh, fe = np.fft.rfft2(crops), np.fft.rfft2(crops * crops)
    ok = _valid_shifts()
    out = np.zeros(len(crops), np.float32)
    for v in range(len(tx)):
        a = np.fft.irfft2(fh * fx[v], s=(SIZE, SIZE))
        b = np.fft.irfft2(fh * fy[v], s=(SIZE, SIZE))
        e = np.fft.irfft2(fe * fs[v], s=(SIZE, SIZE))
        xx, xy, yy, det = nrm[v]  # the best light direction: max over u of <H, u.T> / |u.T| (Rayleigh quotient)
        r = np.sqrt(np.maximum(yy * a * a - 2 * xy * a * b + xx * b * b, 0) / det / np.maximum(e, 1e-6))
        out = np.maximum(out, np.where(ok, r, 0).reshape(len(crops), -1).max(1))
    return out


def _job(args):
    canvas, crops = args
    return design_scores(canvas, np.stack([_prep_crop(c) for c in crops]))


def scores(dump, rows: np.ndarray | None = None) -> np.ndarray:
    import multiprocessing as mp

    from PIL import Image

    from kcs_kit.config import load_settings
    from kcs_kit.embed.cnn import design_canvas
    from kcs_kit.index.build import active_designs

    ids = dump["design_ids"]
    rows = np.arange(len(ids)) if rows is None else rows
    found = dump["found"]
    rows = rows[found[rows]]
    df = active_designs(load_settings())
    paths = dict(zip(df["design_id"], df["paths"], strict=True))
    by: dict[str, list[int]] = {}
    for i in rows.tolist():
        by.setdefault(str(ids[i]), []).append(i)
    crops = dump["crops"]
    jobs = [(design_canvas(np.asarray(Image.open(paths[d][0]).convert("RGB"))), crops[ix]) for d, ix in by.items()]
    out = np.zeros(len(ids), np.float32)
    t0 = time.time()
    with mp.get_context("fork").Pool(2) as pool:
        for n, (ix, s) in enumerate(zip(by.values(), pool.imap(_job, jobs, chunksize=4), strict=True)):
            out[ix] = s
            if n % 500 == 0:
                print(f"designs {n}/{len(jobs)} {time.time() - t0:.0f}s", flush=True)
    return out


def standardised(s: np.ndarray, ids: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Each score against its drawing's usual score on the crops where the drawing was a candidate (nearly all
    of them wrong): (s - mean) / std per design, as marknet's hubness correction does for its windows."""
    uniq, inv = np.unique(ids, return_inverse=True)
    w = found.astype(np.float64)
    n = np.bincount(inv, w, len(uniq))
    mean = np.bincount(inv, s * w, len(uniq)) / np.maximum(n, 1)
    var = np.bincount(inv, (s - mean[inv]) ** 2 * w, len(uniq)) / np.maximum(n, 1)
    sd = np.sqrt(var + 0.05 ** 2)  # a drawing seen only a few times: no larger than its spread allows
    return np.where(found, (s - mean[inv]) / sd[inv], -3.0).astype(np.float32)


def kinds(folders: list[Path]) -> dict[str, str]:
    import csv

    out = {}
    for f in folders:
        with open(f / "queries.csv", newline="") as fh:
            for r in csv.DictReader(fh):
                out[f"{f.name}:{r['query_id']}"] = r["kind"]
    return out


def main(dump_path: Path, folders: list[Path], limit_kind: str | None = None) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from probe_region_crispness import auc

    from kcs_kit.match import fusion

    z = np.load(dump_path)
    kind = kinds(folders)
    qk = np.array([kind.get(str(q), "?") for q in z["query_id"]])
    b = np.concatenate([[0], np.cumsum(z["counts"])])
    qsel = np.arange(len(qk)) if limit_kind is None else np.nonzero(qk == limit_kind)[0]
    rows = np.concatenate([np.arange(b[i], b[i + 1]) for i in qsel])
    cache = dump_path.with_suffix(f".relief-{limit_kind or 'all'}.npy")
    if cache.exists():
        s = np.load(cache)
    else:
        s = scores(z, rows)
        np.save(cache, s)
    ids = z["design_ids"].tolist()
    feats = z["feats"]
    rz = standardised(s, z["design_ids"], z["found"])
    names = {"relief": s, "relief_z": rz,
             **{x: feats[:, fusion.SIGNALS.index(x)] for x in ("marknet", "shape", "inliers")}}
    for group in sorted(set(qk[qsel].tolist())) + ["all"]:
        line = []
        for name, v in names.items():
            pos, neg = [], []
            for i in qsel:
                t = str(z["truth"][i])
                if group != "all" and qk[i] != group:
                    continue
                lo, hi = b[i], b[i + 1]
                if t and t in ids[lo:hi]:
                    k = lo + ids[lo:hi].index(t)
                    pos.append(v[k])
                    neg.extend(v[np.r_[lo:k, k + 1:hi]])
                elif not t:
                    pass
            if pos:
                line.append(f"{name} {auc(np.array(pos), np.array(neg)):.3f}")
        first = []
        for i in qsel:  # how often the true design has the best relief score among the query's candidates
            t = str(z["truth"][i])
            if (group == "all" or qk[i] == group) and t and t in ids[b[i]:b[i + 1]]:
                first.append(ids[b[i]:b[i + 1]][int(np.argmax(s[b[i]:b[i + 1]]))] == t)
        print(f"{group:18s} n={len(first):4d} relief first {np.mean(first) if first else 0:.1%}  AUC: "
              + ", ".join(line))
    if limit_kind is None:
        from probe_pair import refit_with

        refit_with(z, rz, "relief")


if __name__ == "__main__":
    args = sys.argv[1:]
    only = None
    if args and args[0].startswith("--kind="):
        only = args.pop(0).split("=", 1)[1]
    main(Path(args[0]), [Path(a) for a in args[1:]], only)
