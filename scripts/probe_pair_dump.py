"""Probe (not part of matching), step 1 of 2: every candidate's crop where matching found it.

For each labelled query of the packages, runs the engine's analysis (``engine.analyse``) as ``kcs model cv``
does and keeps, besides each candidate's signals, a 96 x 96 grey crop of the photo around the place where the
candidate was found (``engine._locate``: the keypoints' region, else a standing-out silhouette, else marknet's
best window), cut like marknet's training crops (the region's longer side at 0.9 of the 64-px window, in the
middle of the 96-px canvas). ``scripts/probe_pair.py`` then scores those crops against the drawings with a pair
verifier and refits the fusion out of fold with that score as one more signal. Usage:

    python scripts/probe_pair_dump.py OUT.npz QUERIES_DIR [QUERIES_DIR ...]
"""

import sys
import time
from pathlib import Path

import numpy as np


def _job(args):
    folder, row = args
    from kcs_kit.config import load_settings
    from kcs_kit.embed.cnn import CANVAS, region_crops, to_gray01
    from kcs_kit.errors import ImageError
    from kcs_kit.match.engine import _locate, analyse
    from kcs_kit.match.fusion import SIGNALS

    settings = load_settings()
    photos = [str(Path(folder) / p) for p in row["image_path"].split("|")]
    try:
        a = analyse(photos, settings, crop=row.get("crop") or None)
    except ImageError:
        return None
    grays: dict[int, np.ndarray] = {}
    crops = np.zeros((len(a.rows), CANVAS, CANVAS), np.uint8)
    found = np.zeros(len(a.rows), bool)
    for i, (d, f, ver, where, scale) in enumerate(a.rows):
        photo, box = _locate(d, ver, where, scale, float(f[SIGNALS.index("shape")]), a.windows, a.shape_regions)
        if photo is None or box is None:
            continue
        if photo not in grays:
            grays[photo] = to_gray01(a.photos[photo].rgb)
        px = a.photos[photo].scale
        crops[i] = np.clip(region_crops(grays[photo], [[v * px for v in box]])[0] * 255 + 0.5, 0, 255)
        found[i] = True
    return (f"{Path(folder).name}:{row['query_id']}", row["design_id"].strip(), [r[0] for r in a.rows],
            a.feats.astype(np.float32), np.asarray(a.query_signals, np.float32), crops, found)


def main(out: Path, folders: list[Path]) -> None:
    import multiprocessing as mp

    from kcs_kit.embed._util import one_thread_each
    from kcs_kit.match.train import read_queries

    jobs = [(str(f), row) for f in folders for row in read_queries(f)]
    res = []
    t0 = time.time()
    with mp.get_context("spawn").Pool(2, one_thread_each) as pool:
        for i, r in enumerate(pool.imap(_job, jobs, chunksize=2)):
            if r is not None:
                res.append(r)
            if i % 100 == 0:
                print(f"{i}/{len(jobs)} {time.time() - t0:.0f}s", flush=True)
    np.savez(out, query_id=np.array([r[0] for r in res]), truth=np.array([r[1] for r in res]),
             counts=np.array([len(r[2]) for r in res]), design_ids=np.array([d for r in res for d in r[2]]),
             feats=np.concatenate([r[3] for r in res]), qfeats=np.stack([r[4] for r in res]),
             crops=np.concatenate([r[5] for r in res]), found=np.concatenate([r[6] for r in res]))
    print(f"{len(res)} queries, {sum(len(r[2]) for r in res)} candidates -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(a) for a in sys.argv[2:]])
