"""Probe (2026-12-07, not part of matching): OCR lines scored against the registry's names by their CTC likelihood.

RapidOCR's recogniser gives, for each text line, a probability per time step over its ~6,600 characters, and
matching keeps only the greedy reading of it ('Hondlcbart.is.' for Handlebars.js, '-oneybacger' for Honeybadger),
which then has to look like a name letter for letter. A name can instead be scored by how likely the recogniser
makes it: the best CTC alignment of the name (case folded; punctuation and spaces free) against the line, compared
per letter with the best unconstrained reading of the same steps. A misread letter costs only as much as the
recogniser hesitated there; a word the recogniser read confidently as something else scores low.

``dump`` reads every photo of each query as matching does (the photo at 640 px for the
detector, its relief too; lines cut from the full photo) and keeps each line's greedy text and its probabilities
folded to 37 symbols (blank with every other character, A-Z, 0-9); ``score`` finds, per query, the best name
score and its design, and tells the queries whose true name matching's word lookup misses and this finds, those
it finds wrongly, and what it finds on the queries without a registered design, per threshold. Usage:

    python scripts/probe_ocr_lexicon.py dump OUT.pkl QUERIES_DIR [QUERIES_DIR ...]
    python scripts/probe_ocr_lexicon.py score OUT.pkl
"""

import csv
import pickle
import sys
from pathlib import Path

import numpy as np

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # symbols 1..36; 0 is blank, space and every other character
MIN_LETTERS = 4  # names of fewer letters and digits are left out (matching takes them only exactly)


def _fold(character: list[str]) -> np.ndarray:
    """(C,) index of each recogniser character in the folded alphabet (0 for blank, space and the rest)."""
    out = np.zeros(len(character), np.int64)
    for i, ch in enumerate(character):
        up = ch.upper() if isinstance(ch, str) and len(ch) == 1 else ""
        out[i] = ALPHABET.index(up) + 1 if up and up in ALPHABET else 0
    return out


def _lines(engine, rgb: np.ndarray, fold: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
    """(greedy text, confidence, (T, 37) folded probabilities) of each line RapidOCR finds in ``rgb`` (found and
    cut as matching's ``RapidOcrEngine.read`` does)."""
    _quads, crops = engine.lines(rgb)
    rec = engine._ocr().text_rec
    out = []
    for crop in crops:
        img = rec.resize_norm_img(crop, max(crop.shape[1] / crop.shape[0], 320 / 48))[np.newaxis].astype(np.float32)
        preds = rec.session(img)[0][0]  # (T, C) probabilities
        text, conf = rec.postprocess_op(preds[np.newaxis])[0]
        folded = np.zeros((preds.shape[0], len(ALPHABET) + 1), np.float32)
        np.add.at(folded.T, fold, preds.T)
        out.append((str(text), float(conf), folded.astype(np.float16)))
    return out


def dump(out_path: Path, folders: list[Path]) -> None:
    from multiprocessing import get_context

    from kcs_kit.embed._util import one_thread_each

    rows = {(str(f), r["query_id"]): r for f in folders for r in csv.DictReader(open(f / "queries.csv"))}
    jobs = [(f, r) for (f, _q), r in rows.items()]
    got = {}
    with get_context("spawn").Pool(2, one_thread_each) as pool:
        for i, (key, lines) in enumerate(pool.imap_unordered(_dump_job, jobs, chunksize=4)):
            got[key] = lines
            if i % 200 == 0:
                print(i, "of", len(jobs), flush=True)
    pickle.dump({"rows": rows, "lines": got}, open(out_path, "wb"))


_CTX: dict = {}


def _dump_job(args: tuple[str, dict]) -> tuple[tuple[str, str], list]:
    from kcs_kit.config import load_settings
    from kcs_kit.embed.ocr_rapid import RapidOcrEngine
    from kcs_kit.embed.relief import relief_image
    from kcs_kit.match import engine

    folder, row = args
    if not _CTX:
        _CTX["s"] = load_settings()
        _CTX["eng"] = RapidOcrEngine(det_limit_side_len=_CTX["s"].ocr_max_side, threads=1)
        _CTX["fold"] = _fold(list(_CTX["eng"]._ocr().text_rec.postprocess_op.character))
    s = _CTX["s"]
    try:
        _photos, views = engine._load([str(Path(folder) / p) for p in row["image_path"].split("|")],
                                      row.get("crop") or None, s)
    except Exception:  # noqa: BLE001 - an unreadable photo: no lines
        return (folder, row["query_id"]), []
    lines = []
    for v in views:
        for img in (v.rgb, relief_image(v.rgb, side=s.ocr_max_side)):
            lines += _lines(_CTX["eng"], img, _CTX["fold"])
    return (folder, row["query_id"]), lines


class Lexicon:
    """The names as CTC label sequences (blank, letter, blank, letter, ..., blank), padded to one length."""

    def __init__(self, names: list[np.ndarray]) -> None:
        self.lengths = np.array([len(n) for n in names])
        width = 2 * self.lengths.max() + 1
        self.labels = np.zeros((len(names), width), np.int64)
        for k, nm in enumerate(names):
            self.labels[k, 1:2 * len(nm):2] = nm
        self.valid = np.arange(width)[None, :] <= 2 * self.lengths[:, None]
        # a skip from s-2 to s is allowed onto a letter that differs from the letter before it
        self.skip = np.zeros_like(self.valid)
        self.skip[:, 2:] = (self.labels[:, 2:] != 0) & (self.labels[:, 2:] != self.labels[:, :-2])
        self.rows = np.arange(len(names))

    def scores(self, probs: np.ndarray) -> np.ndarray:
        """Per name: exp of (its best CTC alignment's log-probability over the steps it spans minus the best
        unconstrained reading of those steps) per letter; the steps before and after it are free."""
        logp = np.log(np.maximum(probs.astype(np.float32), 1e-8))
        rel = logp - logp.max(axis=1, keepdims=True)  # (T, 37): each step's cost against its best symbol
        alpha = np.full(self.labels.shape, -np.inf, np.float32)
        best = np.full(len(self.labels), -np.inf, np.float32)
        end1, end2 = 2 * self.lengths, 2 * self.lengths - 1
        for t in range(len(rel)):
            prev = alpha
            new = prev.copy()
            np.maximum(new[:, 1:], prev[:, :-1], out=new[:, 1:])
            two = np.full_like(prev, -np.inf)
            two[:, 2:] = np.where(self.skip[:, 2:], prev[:, :-2], -np.inf)
            np.maximum(new, two, out=new)
            new[:, 0] = np.maximum(new[:, 0], 0.0)  # start here: the steps before are free
            new[:, 1] = np.maximum(new[:, 1], 0.0)
            alpha = np.where(self.valid, new + rel[t][self.labels], -np.inf)
            best = np.maximum(best, np.maximum(alpha[self.rows, end1], alpha[self.rows, end2]))
        return np.exp(best / self.lengths)


def score(path: Path) -> None:
    from kcs_kit.config import load_settings
    from kcs_kit.embed.base import OcrWord
    from kcs_kit.match.context import TitleIndex, _designs, norm

    data = pickle.load(open(path, "rb"))
    designs = _designs(load_settings())
    titles = TitleIndex({d: i.title for d, i in designs.items()})
    ids = [d for d, i in designs.items() if len(norm(i.title)) >= MIN_LETTERS and norm(i.title).isascii()]
    index = {d: k for k, d in enumerate(ids)}
    lexicon = Lexicon([np.array([ALPHABET.index(c) + 1 for c in norm(designs[d].title) if c in ALPHABET])
                       for d in ids])
    results = []
    for key, lines in data["lines"].items():
        row = data["rows"][key]
        truth = row["design_id"].strip()
        words = [OcrWord(t, (0, 0, 1, 1), c, "rapidocr") for t, c, _p in lines if c >= 0.5]
        looked = titles.lookup(words)[0]
        best = np.zeros(len(ids))
        for _t, _c, p in lines:
            if len(p) >= 4:
                best = np.maximum(best, lexicon.scores(p))
        top = int(best.argmax()) if len(ids) else 0
        results.append((key, truth, row.get("has_text", ""), bool(looked.get(truth)) if truth else bool(looked),
                        ids[top], float(best[top]), float(best[index[truth]]) if truth in index else 0.0))
    pickle.dump(results, open(str(path) + ".scores", "wb"))
    pos = [r for r in results if r[1]]
    neg = [r for r in results if not r[1]]
    print(f"{len(pos)} queries with a design ({sum(r[3] for r in pos)} whose name the word lookup finds), "
          f"{len(neg)} without ({sum(r[3] for r in neg)} with some name found by the lookup)")
    for tau in (0.5, 0.6, 0.7, 0.8, 0.9):
        new_true = sum(1 for r in pos if not r[3] and r[4] == r[1] and r[5] >= tau)
        wrong = sum(1 for r in pos if r[4] != r[1] and r[5] >= tau and not r[3])
        lost = sum(1 for r in pos if r[3] and not (r[4] == r[1] and r[5] >= tau))
        neg_new = sum(1 for r in neg if r[5] >= tau and not r[3])
        print(f"tau {tau}: true name found where the lookup misses it {new_true}; a wrong name first there {wrong}; "
              f"lookup's true names not first by score {lost}; without a design, a name at or above tau where the "
              f"lookup finds none {neg_new} of {len(neg)}")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "dump":
        dump(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
    elif len(sys.argv) == 3 and sys.argv[1] == "score":
        score(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
