"""match(): exact ranks on known pairs, multi-photo, crop, EXIF rotation, bad photos, no-match, CLI."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import indexed_workspace
from PIL import Image

from kcs_kit.cli import main
from kcs_kit.errors import ImageError
from kcs_kit.match.engine import match
from kcs_kit.registry import store


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return indexed_workspace(tmp_path_factory.mktemp("match"), 30)


def render(settings, design_id: str, variant: str = "colour") -> np.ndarray:
    d = store.get_design(settings, design_id)
    path = next(i.path for i in d.images if i.view == 0 and i.variant == variant)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def scene(mark: np.ndarray, seed: int, *, size=(900, 700), frac=0.45, at=None) -> np.ndarray:
    """The mark warped by a perspective transform onto a textured background."""
    rng = np.random.default_rng(seed)
    w, h = size
    bg = rng.normal(150, 25, (h, w, 3)).clip(0, 255).astype(np.uint8)
    bg = cv2.GaussianBlur(bg, (0, 0), 3)
    s = int(min(w, h) * frac)
    cx, cy = at or (w // 2, h // 2)
    jit = rng.uniform(-0.08, 0.08, (4, 2)) * s
    dst = np.float32([[cx - s / 2, cy - s / 2], [cx + s / 2, cy - s / 2], [cx + s / 2, cy + s / 2],
                      [cx - s / 2, cy + s / 2]]) + jit.astype(np.float32)
    m = mark.shape[0]
    H = cv2.getPerspectiveTransform(np.float32([[0, 0], [m, 0], [m, m], [0, m]]), dst)
    warped = cv2.warpPerspective(mark, H, (w, h))
    mask = cv2.warpPerspective(np.full((m, m), 255, np.uint8), H, (w, h)) > 0
    bg[mask] = warped[mask]
    return bg



def photo_queries(settings, designs, folder, *, seed: int, extra: tuple[str, ...] = ()):
    """A query package in ``folder``: one printed-kind photo of each design (a scene with its colour render),
    plus ``extra`` rows of queries.csv."""
    from PIL import Image

    (folder / "photos").mkdir(parents=True)
    lines = ["query_id,image_path,design_id,kind"]
    for k, d in enumerate(designs):
        photo = scene(render(settings, d, "colour"), seed=seed + k, frac=0.45)
        Image.fromarray(photo).save(folder / "photos" / f"{k}.jpg")
        lines.append(f"q{k},photos/{k}.jpg,{d},printed")
    (folder / "queries.csv").write_text("\n".join([*lines, *extra]) + "\n")
    return folder


def jpeg(rgb: np.ndarray, exif_orientation: int | None = None) -> bytes:
    im = Image.fromarray(rgb)
    buf = io.BytesIO()
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(buf, format="JPEG", quality=85, exif=exif)
    else:
        im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def ids(settings):
    return sorted(store.active_design_ids(settings))


def test_exact_render_ranks_its_design_first(ws):
    for design_id in ids(ws)[:6]:
        r = match([render(ws, design_id)], ws)
        first, second = r.candidates[0], r.candidates[1]
        assert first.design_id == design_id and first.rank == 1
        assert first.probability > 2 * second.probability  # clearly ahead (absolute values need a fitted model)
        assert first.right_holder and first.evidence


def test_warped_photo_on_background_and_the_matched_region(ws):
    hits = 0
    for k, design_id in enumerate(ids(ws)[:10]):
        photo = scene(render(ws, design_id), seed=k)
        r = match([jpeg(photo)], ws)
        if r.candidates and r.candidates[0].design_id == design_id:
            hits += 1
            if r.candidates[0].region is None:  # ranked first on the shortlist alone, not verified
                continue
            x0, y0, x1, y1 = r.candidates[0].region
            assert x0 < 450 < x1 and y0 < 350 < y1  # the region covers the mark in the middle
    assert hits >= 8


def test_multi_photo_item_uses_the_photo_that_shows_the_mark(ws):
    design_id = ids(ws)[3]
    noise = np.random.default_rng(1).integers(0, 255, (600, 800, 3), dtype=np.uint8)
    r = match([noise, scene(render(ws, design_id), seed=9)], ws)
    assert r.candidates[0].design_id == design_id and r.candidates[0].photo_index == 1
    assert r.photo_sizes == ((800, 600), (900, 700))


def test_a_certain_first_photo_answers_alone_and_an_uncertain_one_adds_the_others(ws):
    """Of several photos, the first is matched alone first (settings.match_first_photo): certain, it is the
    answer and the others are loaded but not matched; uncertain, every photo is matched, the first one's stage
    results reused, with the answer of matching every photo at once."""
    design_id = ids(ws)[3]
    mark, noise = scene(render(ws, design_id), seed=9), np.random.default_rng(1).integers(0, 255, (600, 800, 3),
                                                                                            dtype=np.uint8)
    alone, every = match([mark], ws), dataclasses.replace(ws, match_first_photo=0.0)
    assert alone.candidates[0].probability >= ws.match_first_photo and not alone.rejected
    first = match([mark, noise], ws)
    assert first.photos_used == 1 and first.photo_sizes == ((900, 700), (800, 600))
    assert [(c.design_id, c.probability) for c in first.candidates] == \
        [(c.design_id, c.probability) for c in alone.candidates]
    assert len(first.notes) == 1 and "photo 1 alone" in first.notes[0] and "match_first_photo = 0" in first.notes[0]
    both = match([mark, noise], every)
    assert both.photos_used == 2 and not both.notes and both.candidates[0].design_id == design_id
    # the mark on the second photo: the first (noise) is not certain, so both are matched, as at once
    later, at_once = match([noise, mark], ws), match([noise, mark], every)
    assert later.photos_used == at_once.photos_used == 2 and not later.notes
    assert [(c.design_id, c.region, c.photo_index) for c in later.candidates] == \
        [(c.design_id, c.region, c.photo_index) for c in at_once.candidates]
    assert np.allclose([c.probability for c in later.candidates], [c.probability for c in at_once.candidates],
                       atol=1e-6) and later.candidates[0].design_id == design_id
    # three photos, the mark on the second: photos 1-2 are certain, the third is not matched
    third = match([noise, mark, noise[::-1].copy()], ws)
    assert third.photos_used == 2 and len(third.photo_sizes) == 3 and third.candidates[0].design_id == design_id
    assert "photos 1-2" in third.notes[0] and "photo 3 was loaded but not matched" in third.notes[0]
    # a corrupt later photo is still a clear error, though a certain first photo would not need it
    with pytest.raises(ImageError, match="photo 2"):
        match([mark, b"not an image"], ws)


def test_stages_in_parallel_give_the_same_answer_as_one_after_another(ws):
    """match_threads=2 runs OCR, marknet and the silhouettes beside the keypoints (each library on one thread);
    the answer must not change (sums in another order: probabilities equal to 1e-9)."""
    design_id = ids(ws)[3]
    photos = [np.random.default_rng(1).integers(0, 255, (600, 800, 3), dtype=np.uint8),
              scene(render(ws, design_id), seed=9)]
    one, two = (match(photos, dataclasses.replace(ws, match_threads=n)) for n in (1, 2))
    assert [(c.design_id, c.region) for c in one.candidates] == [(c.design_id, c.region) for c in two.candidates]
    assert np.allclose([c.probability for c in one.candidates], [c.probability for c in two.candidates], atol=1e-9)
    assert abs(one.p_no_match - two.p_no_match) < 1e-9 and one.candidates[0].design_id == design_id
    # every stage reports its own time; one after another, they add up to (nearly all of) the latency
    from kcs_kit.match.engine import STAGES

    for r in (one, two):
        assert [k for k, _v in r.stage_ms] == list(STAGES) and all(v >= 0 for _k, v in r.stage_ms)
        assert dict(r.stage_ms)["keypoints"] > 0 and dict(r.stage_ms)["marknet"] > 0
    assert 0.8 * one.latency_ms <= sum(v for _k, v in one.stage_ms) <= one.latency_ms + 1
    # side by side, each library runs on one thread (its own pool would contend with the other stages)
    from kcs_kit.match.context import get_context

    for n, want in ((1, 0), (2, 1)):
        match([photos[1]], dataclasses.replace(ws, match_threads=n))
        ctx = get_context(ws)
        assert ctx.library_threads == want
        assert ctx.marknet.encoder.session().get_session_options().intra_op_num_threads == want


def test_verification_side_by_side_is_the_same_as_in_one_thread(ws):
    """Each reading's candidate views are cut into runs verified on the match threads: every verification (its
    inliers, outline and photo) must be exactly what one thread finds, and the runs must cover every view
    once, in order, with about as many descriptors each."""
    from kcs_kit.match.context import get_context
    from kcs_kit.match.engine import _parts, _read_photos, _verify_all
    from kcs_kit.match.photo import load_photo

    design_id = ids(ws)[5]
    photos = [load_photo(scene(render(ws, design_id), seed=s)) for s in (3, 4)]
    ctx = get_context(ws)
    reads = _read_photos(photos)
    designs = ids(ws)[:40]
    one = _verify_all(ctx, reads, designs)
    for n in (2, 3):
        assert _verify_all(ctx, reads, designs, threads=n) == one
    assert one[design_id][0].inliers >= 8 and sum(v.inliers > 0 for v, _p, _s in one.values()) > 1
    # a flat photo's grid keypoints are placed, not found: its readings are not verified (a lattice of grid
    # points fits a drawing's keypoints by chance)
    flat = _read_photos([load_photo(np.full((700, 900, 3), 128, np.uint8))])
    assert flat[0].feats.dense and len(flat[0].feats) >= 4
    marked = [dataclasses.replace(r, feats=dataclasses.replace(r.feats, dense=True)) for r in reads]
    assert all(v.matches == 0 and v.inliers == 0 for v, _p, _s in _verify_all(ctx, marked, designs).values())
    bounds = np.cumsum([0, 5, 40, 3, 30, 2, 20])
    for n in (1, 2, 4, 6, 9):
        runs = _parts(bounds, n)
        assert runs[0][0] == 0 and runs[-1][1] == 6 and all(a[1] == b[0] for a, b in itertools.pairwise(runs))
        assert len(runs) <= n and all(b > a for a, b in runs)
    assert _parts(bounds, 2) == [(0, 3), (3, 6)]  # 48 and 52 of the 100 descriptors


def test_only_the_first_designs_of_each_shortlist_are_verified(ws):
    """Each image shortlist puts its best PER_LIST designs among the candidates and has its best VERIFY of them
    verified; name and text matches are always verified. A candidate left unverified keeps its other signals,
    has no inliers, and its evidence says it was not verified rather than that no keypoints agree."""
    from kcs_kit.match.engine import PER_LIST, VERIFY, _candidates

    names = [f"d{i:02d}" for i in range(40)]
    shape = {d: 1.0 - i / 100 for i, d in enumerate(names)}
    marknet = {d: 1.0 - i / 100 for i, d in enumerate(reversed(names))}
    cands, check = _candidates({}, {}, {"d20": 0.9}, {}, marknet, shape, set(names) - {"d01"})
    allowed = [d for d in names if d != "d01"]
    assert cands[:PER_LIST] == allowed[:PER_LIST] and set(cands) == set(allowed[:PER_LIST] + allowed[-PER_LIST:])
    assert check == allowed[:VERIFY] + allowed[::-1][:VERIFY] + ["d20"]  # d20: read by OCR, not in either first 10

    design_id = ids(ws)[5]
    r = match([scene(render(ws, design_id), seed=8)], ws, top_k=PER_LIST * 4)
    assert r.candidates[0].design_id == design_id and r.candidates[0].verified
    unverified = [c for c in r.candidates if not c.verified]
    assert unverified and len(unverified) < len(r.candidates)  # 30 designs: each list holds all, verifies 10
    for c in unverified:
        ev = {e.signal: e for e in c.evidence}
        assert ev["inliers"].value == 0 and "not verified" in ev["inliers"].detail and c.corners is None


def test_bench_latency_reports_the_cold_item_apart_and_each_stage(ws, tmp_path):
    from click.testing import CliRunner

    from kcs_kit.cli import main

    photo_queries(ws, ids(ws)[:4], tmp_path / "q", seed=30)
    res = CliRunner().invoke(main, ["--workspace", str(ws.workspace), "bench", "latency", "--queries",
                                    str(tmp_path / "q"), "--threads", "1", "--no-write", "--json"])
    assert res.exit_code == 0, res.output
    b = json.loads(res.stdout)
    assert b["items"] == 3 and b["threads"] == 1 and b["cold_ms"] > 0 and 0 < b["p50_ms"] <= b["p95_ms"]
    assert b["by_photos"] == {"1": [3, b["by_photos"]["1"][1], b["by_photos"]["1"][2]]}
    assert b["stages"]["keypoints"][0] > 0 and b["stages"]["open"][0] < b["cold_ms"]
    photo_queries(ws, ids(ws)[:1], tmp_path / "one", seed=30)
    few = CliRunner().invoke(main, ["--workspace", str(ws.workspace), "bench", "latency", "--queries",
                                    str(tmp_path / "one")])
    assert few.exit_code != 0 and "expected at least 2 items" in few.output and "found 1" in few.output


def test_bench_scale_grows_the_registry_and_matches_through_the_lists(ws, tmp_path, monkeypatch):
    from kcs_kit.cli import main
    from kcs_kit.index import coarse

    monkeypatch.setattr(coarse, "EXACT_MAX", 100)  # so that 30 designs grown to 240 are searched through lists
    photo_queries(ws, ids(ws)[:3], tmp_path / "q", seed=40)
    args = ["--workspace", str(ws.workspace), "bench", "scale", "--queries", str(tmp_path / "q"), "--designs",
            "240", "--limit", "2", "--recall", "2", "--work", str(tmp_path / "work"), "--no-write", "--json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    b = json.loads(res.stdout)
    assert b["designs"] == 240 and b["latency"]["items"] == 2 and b["recall_items"] == 2
    assert set(b["lists"]) == {"marknet", "silhouettes"} and b["lists"]["marknet"] == coarse.list_count(240)
    assert set(b["recall"]) == {"marknet", "silhouettes", "VLAD"}
    assert b["recall"]["VLAD"][0] == 1.0  # 240 vectors: the HNSW search is exact, as the numpy one
    for search in ("marknet", "silhouettes", "VLAD"):
        overlap, in_exact, in_lists, ms_lists, ms_all = b["recall"][search]
        assert 0 < overlap <= 1 and 0 <= in_lists <= 2 and 0 <= in_exact <= 2 and ms_lists > 0 and ms_all > 0
    assert b["latency"]["stages"]["marknet"][0] > 0 and set(b["grow_s"]) >= {"names", "marknet", "VLAD"}
    assert "VLAD: 240 / 240 designs" in res.stderr
    again = CliRunner().invoke(main, args)  # the VLAD collection of 240 is kept and used again
    assert again.exit_code == 0, again.output
    assert "VLAD: 240 / 240" not in again.stderr and "is used again" in again.stderr
    assert json.loads(again.stdout)["vlad_kept"] and not b["vlad_kept"]
    small = CliRunner().invoke(main, [*args[:6], "--designs", "10", "--no-write"])
    assert small.exit_code != 0 and "below the registry's 30 designs" in small.output


def test_filter_by_right_holder_and_filters_that_cannot_be_applied(ws):
    from kcs_kit.errors import SchemaError
    from kcs_kit.match.context import get_context

    ctx = get_context(ws)
    d = ids(ws)[2]
    holder = ctx.designs[d].right_holder
    photo = scene(render(ws, d, "colour"), seed=5, frac=0.45)
    got = match([photo], ws, filters={"right_holder": holder})
    assert got.candidates and got.candidates[0].design_id == d
    assert {c.right_holder for c in got.candidates} == {holder}
    other = next(i.right_holder for k, i in ctx.designs.items() if i.right_holder != holder and i.active)
    assert all(c.right_holder == other for c in match([photo], ws, filters={"right_holder": other}).candidates)
    for bad, says in (({"holder": holder}, "expected keys among right_holder, found holder"),
                      ({"right_holder": ""}, "right_holder should be a non-empty string"),
                      ({"right_holder": 3}, "found 3"), ("nike", "expected a dict")):
        with pytest.raises(SchemaError, match=says):
            match([photo], ws, filters=bad)


def test_crop_searches_only_the_box(ws):
    design_id = ids(ws)[5]
    photo = scene(render(ws, design_id), seed=3, size=(1400, 1000), frac=0.25, at=(1150, 800))
    r = match([photo], ws, crop="900,550,1400,1000")
    assert r.candidates[0].design_id == design_id
    with pytest.raises(ImageError, match="outside"):
        match([photo], ws, crop="1500,1100,1600,1200")


def test_ocr_reads_the_name_printed_beside_a_tight_crop(ws):
    """The officer's box around a mark leaves out the brand name printed under it: OCR reads the box widened
    by half its size on each side (engine.OCR_MARGIN), so the name still counts; text further away does not.
    Word boxes come back in the cropped photo's pixels (below it here)."""
    from kcs_kit.match.context import norm
    from kcs_kit.match.engine import OCR_MARGIN, analyse

    assert OCR_MARGIN == 0.5
    design_id, title = next((d, t) for d in ids(ws)
                            if (t := store.get_design(ws, d).title).isascii() and len(norm(t)) >= 5)
    img = np.full((800, 1500, 3), 235, np.uint8)
    img[150:550, 100:500] = cv2.resize(render(ws, design_id), (400, 400))
    cv2.putText(img, title, (110, 640), cv2.FONT_HERSHEY_DUPLEX, 1.6, (20, 20, 20), 3, cv2.LINE_AA)
    cv2.putText(img, "FARAWAY", (1050, 400), cv2.FONT_HERSHEY_DUPLEX, 2.0, (20, 20, 20), 4, cv2.LINE_AA)
    settings = dataclasses.replace(ws, match_ocr=True)
    whole = analyse([img], settings)
    assert any("FARAWAY" in w.text.upper() for w in whole.words), whole.words  # readable where it is
    a = analyse([img], settings, crop="100,150,500,550")
    assert a.photos[0].size == (400, 400)
    read = [w for w in a.words if norm(w.text) == norm(title)]
    assert read and read[0].box[1] > 400, a.words  # under the box, in the cropped photo's pixels
    assert not any("FARAWAY" in w.text.upper() for w in a.words)
    assert a.ocr_word.get(design_id) and design_id in [r[0] for r in a.rows]


def test_ocr_also_reads_the_relief_of_each_photo_in_its_pixels(ws):
    """settings.ocr_relief: each photo (or the officer's widened box) is read again as the height recovered from
    its shading; a word stamped into the surface is read there, its box in the photo's own pixels."""
    from test_relief import debossed_word, embossed

    from kcs_kit.match.engine import analyse

    more = embossed(np.zeros((1, 1), np.uint8), 200.0, size=(900, 300), seed=5)  # the same surface, nothing on it
    photo = np.vstack([more, debossed_word(200.0, True)])  # the word 300 px lower
    on, off = (dataclasses.replace(ws, match_ocr=True, ocr_relief=v) for v in (True, False))
    assert not [w for w in analyse([photo], off).words if "KOREA" in w.text]
    read = [w for w in analyse([photo], on).words if w.text == "KOREA"]
    assert len(read) == 1, read
    x0, y0, x1, y1 = read[0].box
    assert 100 < x0 < 200 < 500 < x1 < 600 and 580 < y0 < 640 < 700 < y1 < 760, read[0].box
    a = analyse([photo], on, crop="150,600,560,730")  # the officer's box around the word: read in its pixels
    x0, y0, x1, y1 = next(w for w in a.words if w.text == "KOREA").box
    assert 0 < x0 < 80 and 0 < y0 < 60 and 350 < x1 < 480 and 80 < y1 < 160, (x0, y0, x1, y1)  # word at 196, 630


def test_exif_rotated_photo_is_read_upright(ws):
    design_id = ids(ws)[7]
    upright = scene(render(ws, design_id), seed=4)
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # as a phone stores it; EXIF 6 turns it back
    r = match([jpeg(stored, exif_orientation=6)], ws)
    assert r.photo_sizes == ((900, 700),)
    assert r.candidates[0].design_id == design_id


@pytest.mark.parametrize("data,why", [
    (b"", "empty file"),
    (b"hello, this is not a photo", "expected a JPEG"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "corrupt or truncated"),
])
def test_bad_photos_are_clear_errors(ws, data, why):
    with pytest.raises(ImageError, match=why):
        match([data], ws)


def test_tiny_and_bomb_photos(ws):
    with pytest.raises(ImageError, match="at least 32x32"):
        match([np.zeros((20, 20, 3), np.uint8)], ws)
    big = Image.new("1", (9000, 9000))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    from kcs_kit.config import load_settings

    small_limit = load_settings(workspace=ws.workspace, env={}, match_ocr=False, max_image_pixels=10_000_000)
    with pytest.raises(ImageError, match="limit"):
        match([buf.getvalue()], small_limit)


def test_a_match_inside_a_line_of_text_that_is_not_the_name():
    """in_text: the share of a candidate's region inside OCR lines that do not read as its name."""
    from kcs_kit.embed.base import OcrWord
    from kcs_kit.match.engine import _in_text, _reads_as

    line = OcrWord("MADE IN CHINA", (100, 100, 500, 140), 0.9, "rapidocr")
    assert _in_text((120, 105, 160, 135), [line], "Etsy") == (1.0, "MADE IN CHINA")  # a letter of the line
    share, _ = _in_text((80, 80, 180, 160), [line], "Etsy")
    assert share == pytest.approx((80 * 40) / (100 * 80))  # partly inside
    assert _in_text((600, 100, 700, 140), [line], "Etsy") == (0.0, "")  # beside the text
    assert _in_text((120, 105, 160, 135), [OcrWord("EZ", line.box, 0.9, "rapidocr")], "Etsy")[0] == 0.0  # too short
    assert _reads_as("WPath", "UiPath") and _reads_as("Samsung Pay", "Samsung") and not _reads_as("IZEM", "Etsy")
    assert _in_text((120, 105, 160, 135), [OcrWord("WPath", line.box, 0.9, "rapidocr")], "UiPath")[0] == 0.0
    # a box as wide as its line is the line itself (a wordmark OCR misread), a sliver is no letter
    assert _in_text((100, 100, 500, 140), [line], "Etsy")[0] == 0.0
    assert _in_text((120, 118, 160, 122), [line], "Etsy")[0] == 0.0


def test_a_letter_of_a_slanted_line_of_text():
    """A line at 40 degrees: its axis-aligned box is far taller than its letters, so a letter is measured
    against the line's own height and length (OcrWord.height / length, from RapidOCR's quadrilateral)."""
    import math

    from kcs_kit.embed.base import OcrWord
    from kcs_kit.embed.ocr_rapid import _sides
    from kcs_kit.match.engine import _in_text

    # "FRAGILE" 420 px long and 60 px high, turned by 40 degrees about (300, 300)
    c, s = math.cos(math.radians(40)), math.sin(math.radians(40))
    quad = [(300 + x * c - y * s, 300 + x * s + y * c) for x, y in ((-210, -30), (210, -30), (210, 30), (-210, 30))]
    height, length = _sides(quad)
    assert height == pytest.approx(60) and length == pytest.approx(420)
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    box = (min(xs), min(ys), max(xs), max(ys))  # ~367 x ~335 px around a 60-px-high line
    slanted = OcrWord("FRAGILE", box, 0.9, "rapidocr", height, length)
    letter = (280, 280, 340, 345)  # an L of it, about the line's height: a letter of ordinary text
    assert _in_text(letter, [slanted], "Lerna") == (1.0, "FRAGILE")
    # without the line's own size its tall box makes the letter look too small to be one of its letters
    assert _in_text(letter, [OcrWord("FRAGILE", box, 0.9, "rapidocr")], "Lerna")[0] == 0.0
    # a mark as big as the line's length is no letter of it, however slanted
    assert _in_text((150, 150, 450, 450), [slanted], "Lerna")[0] == 0.0
    # an upright line's own size changes nothing: the box's height and width are the line's
    upright = OcrWord("MADE IN CHINA", (100, 100, 500, 140), 0.9, "rapidocr", 40.0, 400.0)
    assert _in_text((120, 105, 160, 135), [upright], "Etsy") == (1.0, "MADE IN CHINA")
    assert _in_text((100, 100, 500, 140), [upright], "Etsy")[0] == 0.0


def test_in_text_looks_at_every_stage_place():
    """A loose keypoint region over the whole line is no letter of it, the silhouette's tight box on one
    letter is: in_text is the largest share over the places; boxes are scaled to the pixels OCR read."""
    from types import SimpleNamespace

    from kcs_kit.embed.base import OcrWord
    from kcs_kit.match.engine import _in_text_anywhere

    line = OcrWord("THIS SIDE UP", (100, 100, 500, 140), 0.9, "rapidocr")
    photos = [SimpleNamespace(scale=0.5)]  # photo read at half its size: places are in original pixels
    loose, letter = (0, (180, 180, 1020, 300)), (0, (240, 210, 300, 270))
    assert _in_text_anywhere([loose], photos, [[line]], "Etsy") == (0.0, "")
    assert _in_text_anywhere([loose, letter], photos, [[line]], "Etsy") == (1.0, "THIS SIDE UP")
    assert _in_text_anywhere([(None, None)], photos, [[line]], "Etsy") is None


def test_colour_signal_finds_the_registered_colour_at_the_marks_place():
    """colour: the share of a place's pixels in the registered colour (its hue, so a shaded part counts),
    full at COLOUR_FULL; black, white and grey registrations and bad codes give no colour to look for.
    The signal (since v18) is the local value: how much more of the place has it than the ring around it (0 on a
    product of that colour)."""
    from types import SimpleNamespace

    from kcs_kit.match.context import colour_ab
    from kcs_kit.match.engine import COLOUR_FULL, _colour_share

    assert colour_ab("000000") is None and colour_ab("FFFFFF") is None and colour_ab("808080") is None
    assert colour_ab(None) is None and colour_ab("E400") is None and colour_ab("GG0000") is None
    red = colour_ab("E4002B")
    assert red is not None and red[0] > 50
    rgb = np.full((600, 800, 3), 200, np.uint8)  # a grey product, 800 x 600 as read (original 1600 x 1200)
    rgb[100:300, 100:300] = (228, 0, 43)  # the mark in the registered red
    rgb[200:300, 100:300] = (114, 0, 22)  # its lower half in shadow: darker, the same hue
    rgb[400:500, 500:700] = (0, 120, 200)  # something blue
    photos = [SimpleNamespace(rgb=rgb, scale=0.5)]
    images: dict = {}
    on_mark, loose, elsewhere = (0, (200, 200, 600, 600)), (0, (0, 0, 1600, 1200)), (0, (1000, 800, 1400, 1000))
    assert _colour_share([on_mark], photos, images, red) == (1.0, 1.0)  # all red, nothing red around it
    assert 0 in images and max(images[0].hue.shape) <= 256 and list(images[0].counts) == [red]  # once per photo
    for box in ((0, 0, 1600, 1200), (210, 330, 777, 901), (1001, 3, 1599, 1197)):  # counts = the pixels' share
        view, px = images[0], 0.5 * images[0].k
        x0, y0, x1, y1 = int(box[0] * px), int(box[1] * px), int(np.ceil(box[2] * px)), int(np.ceil(box[3] * px))
        turn = np.abs((view.hue / 2 - np.degrees(np.arctan2(red[1], red[0])) + 180) % 360 - 180)[y0:y1, x0:x1]
        near = (turn < 20) & (view.chroma[y0:y1, x0:x1] >= 0.3 * np.hypot(*red))
        assert _colour_share([(0, box)], photos, images, red)[0] == min(1.0, near.mean() / COLOUR_FULL)
    share = 40_000 / (800 * 600)  # the mark's pixels in the whole photo
    colour, local = _colour_share([loose], photos, images, red)
    assert abs(colour - share / COLOUR_FULL) < 0.03 and local == 0.0  # the whole photo: as red as itself
    assert _colour_share([elsewhere], photos, images, red) == (0.0, 0.0)
    assert _colour_share([elsewhere, on_mark], photos, images, red) == (1.0, 1.0)  # the best of the places
    assert _colour_share([elsewhere], photos, images, colour_ab("0078C8"))[0] == 1.0
    assert _colour_share([(0, (300, 300, 300, 900)), (None, None)], photos, images, red) == (0.0, 0.0)
    # the same place on a red product: the registered colour everywhere, so at the mark and not around it: no
    product = rgb.copy()
    product[:, :] = (228, 0, 43)
    product[150:250, 150:250] = (250, 250, 250)  # a white mark on it
    colour, local = _colour_share([on_mark], [SimpleNamespace(rgb=product, scale=0.5)], {}, red)
    assert colour == 1.0 and local == 0.0
    mostly = np.full_like(rgb, (228, 0, 43))
    mostly[:60] = 200  # a red product with a grey band along its top edge: the place's ring ~4/5 red
    colour, local = _colour_share([on_mark], [SimpleNamespace(rgb=mostly, scale=0.5)], {}, red)
    assert colour == 1.0 and 0.5 < local < 1.0  # the place is redder than its ring, by a fifth of its pixels


def test_stages_agree_on_where_a_true_mark_is(ws):
    """agree: keypoints, silhouette and marknet's window land on the mark itself; other candidates' places
    scatter (or come from one stage only)."""
    from kcs_kit.match.engine import _contained

    assert _contained((0, 0, 10, 10), (2, 2, 4, 4)) == 1.0 and _contained((0, 0, 10, 10), (20, 0, 30, 10)) == 0.0
    assert _contained((0, 0, 10, 10), (5, 0, 15, 10)) == 0.5 and _contained((0, 0, 0, 0), (0, 0, 1, 1)) == 0.0
    true, other = [], []
    for k, design_id in enumerate(ids(ws)[:6]):
        r = match([scene(render(ws, design_id), seed=20 + k)], ws, top_k=30)
        for c in r.candidates:
            (true if c.design_id == design_id else other).append(
                next((e.value for e in c.evidence if e.signal == "agree"), 0.0))
    assert sum(v >= 0.5 for v in true) >= 4, true
    assert np.mean(other) < np.mean(true) - 0.3, (np.mean(other), true)


def test_matches_on_a_printed_line_of_text_say_so(ws):
    """A photo of nothing but the words 'MADE IN KOREA': what matches does so inside that text, and the
    evidence says it (the signal the fusion uses against letters of ordinary text)."""
    img = np.full((500, 900, 3), 235, np.uint8)
    cv2.putText(img, "MADE IN KOREA", (60, 280), cv2.FONT_HERSHEY_DUPLEX, 2.6, (20, 20, 20), 5, cv2.LINE_AA)
    # every candidate (the fitted fusion ranks those found inside the text low); the shared workspace skips OCR
    r = match([img], dataclasses.replace(ws, match_ocr=True), top_k=1000)
    assert any("KOREA" in w.upper() for w in r.ocr_text), r.ocr_text
    inside = [e for c in r.candidates for e in c.evidence if e.signal == "in_text"]
    assert inside and max(e.value for e in inside) >= 0.5
    # each names the OCR line its region lies in (which line depends on the candidate: the words are also read
    # on the photo's relief, where 'KOREA' may come out as 'KORSA'), and one of them is the line read as KOREA
    assert all("inside the text" in e.detail for e in inside)
    assert any("KOREA" in e.detail.upper() for e in inside), [e.detail for e in inside]


def test_a_short_name_read_by_ocr_is_its_own_signal(ws):
    """ocr_short repeats the OCR score of a design whose name has at most 3 letters and digits ('ABB'), so
    the fusion can trust such a read less than a long name's ('Abbott'); long names get 0."""
    from kcs_kit.match.context import TitleIndex
    from kcs_kit.match.fusion import PRIOR

    names = TitleIndex({"abb": "ABB", "ea": "E.A.", "e": "/e/", "abbott": "Abbott"})
    assert names.short == {"abb", "ea", "e"}  # 'Abbott' is no short name
    assert PRIOR["ocr_short"] < 0  # before any fit it takes back part of OCR's credit
    img = np.full((600, 900, 3), 240, np.uint8)
    cv2.putText(img, "ABB", (80, 220), cv2.FONT_HERSHEY_DUPLEX, 3.0, (20, 20, 20), 6, cv2.LINE_AA)
    cv2.putText(img, "Abbott", (80, 440), cv2.FONT_HERSHEY_DUPLEX, 3.0, (20, 20, 20), 6, cv2.LINE_AA)
    r = match([img], dataclasses.replace(ws, match_ocr=True), top_k=1000)
    ev = {c.design_id: {e.signal: e for e in c.evidence} for c in r.candidates}
    assert "abb" in ev and "abbott" in ev, (r.ocr_text, list(ev)[:10])
    assert ev["abb"]["ocr"].value > 0.5 and ev["abb"]["ocr_short"].value == ev["abb"]["ocr"].value
    assert "3 characters or fewer" in ev["abb"]["ocr_short"].detail
    assert ev["abbott"]["ocr"].value > 0.5 and "ocr_short" not in ev["abbott"]


def test_photo_without_a_mark_is_rejected(ws):
    rng = np.random.default_rng(5)
    plain = cv2.GaussianBlur(rng.normal(120, 30, (700, 900, 3)).clip(0, 255).astype(np.uint8), (0, 0), 4)
    r = match([plain], ws)
    # "no registered design" is the answer and by far the most probable one (this blurred noise is unlike any
    # fitting photo, so its p_no_match depends on the fit: 0.58 with v11's fusion, 0.43 with v13's, 0.51 with
    # v19's, whose best candidate then has 0.12: marknet's peak finds some window of the noise standing out)
    assert r.rejected and r.top is None
    assert r.p_no_match >= 0.3 and r.p_no_match >= 3 * max(c.probability for c in r.candidates)


def test_cli_json(ws, tmp_path):
    design_id = ids(ws)[0]
    p = tmp_path / "item.jpg"
    p.write_bytes(jpeg(render(ws, design_id)))
    r = CliRunner().invoke(main, ["--workspace", str(ws.workspace), "match", str(p), "--json", "--top-k", "3"],
                           env={"KCS_MATCH_OCR": "0"})
    assert r.exit_code == 0, r.output
    assert f'"design_id": "{design_id}"' in r.output and '"p_no_match"' in r.output


def test_visual_evidence_png(ws):
    from kcs_kit.explain.visual import keypoint_evidence, side_by_side

    design_id = ids(ws)[2]
    photo = jpeg(scene(render(ws, design_id), seed=11))
    r = match([photo], ws)
    png = side_by_side(ws, photo, r.candidates[0])
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.width > im.height > 400
    # a design matching did not verify gets no keypoint matches drawn: they would be evidence it never used
    assert keypoint_evidence(ws, photo, r.candidates[0]).inliers >= 8
    unverified = keypoint_evidence(ws, photo, dataclasses.replace(r.candidates[0], verified=False))
    assert unverified.inliers == unverified.matches == 0 and unverified.box is None
    assert Image.open(io.BytesIO(unverified.png)).format == "PNG"


def test_context_is_reused_until_the_registry_changes(tmp_path):
    """The matching context is cached per workspace; registering designs (a write to the catalog) must be seen
    by the next match, without reopening the catalog on every match."""
    from conftest import make_registry

    from kcs_kit.index.build import build_index
    from kcs_kit.match import context

    settings = indexed_workspace(tmp_path, 10)
    first = context.get_context(settings)
    assert context.get_context(settings) is first
    assert len(first.designs) == 10
    store.import_package(make_registry(tmp_path / "more", 2, start=10), settings)
    build_index(settings, text=False, workers=1)
    second = context.get_context(settings)
    assert second is not first
    assert len(second.designs) == 12
    assert context.get_context(settings) is second
