"""What matching needs loaded, built once per workspace and registry state and reused across queries:
the encoder, the collections, design facts, the name index for OCR, cached features, the fusion model."""

from __future__ import annotations

import contextlib
import math
import re
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from kcs_kit.config import Settings
from kcs_kit.embed.base import OcrWord
from kcs_kit.embed.local import LocalEncoder, LocalFeatures
from kcs_kit.errors import IndexNotBuiltError, NotFoundError
from kcs_kit.index.bow import MATRIX, load_bow
from kcs_kit.index.build import CODEBOOK, load_encoder
from kcs_kit.index.features import FeatureStore
from kcs_kit.index.marknet import load_vectors
from kcs_kit.index.shape import load_shapes
from kcs_kit.lake import catalog
from kcs_kit.match.fusion import PRIOR_MODEL, FusionModel
from kcs_kit.match.verify import descriptors

FUSION_FILE = Path("models") / "fusion.json"
SHIPPED_FUSION = Path(__file__).resolve().parents[1] / "data" / "fusion-demo.json"
_CACHE: dict[tuple, MatchContext] = {}


@dataclass(frozen=True)
class DesignInfo:
    title: str
    right_holder: str
    registration_no: str
    hs6: tuple[str, ...]
    genuine_price_krw: float | None
    active: bool
    hex: str | None = None  # the registered colour (the registry's optional ``hex``), for the colour signal


def norm(text: str) -> str:
    return re.sub(r"[^0-9A-Z가-힣]", "", text.upper())


def trigrams(s: str) -> set[str]:
    s = f"^{s}$"
    return {s[i:i + 3] for i in range(len(s) - 2)}


COLOUR_CHROMA = 25.0  # a registered colour with less chroma (CIELAB a*b*) is black, white or grey: says nothing


def colour_ab(hex_code: str | None) -> tuple[float, float] | None:
    """The CIELAB (a*, b*) of a registered colour ('E4002B'), None for no colour or one without chroma (black,
    white and greys are on every product, so finding them where a mark is tells nothing)."""
    import cv2

    if not hex_code or len(hex_code) != 6:
        return None
    try:
        rgb = np.array([[[int(hex_code[i:i + 2], 16) for i in (0, 2, 4)]]], np.uint8)
    except ValueError:
        return None
    _, a, b = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[0, 0]
    return (float(a), float(b)) if math.hypot(a, b) >= COLOUR_CHROMA else None


EXACT_ONLY = 3  # a word or name of at most this many letters and digits matches only exactly, never fuzzily


class TitleIndex:
    """Design names for OCR: exact normalised names and a trigram index for fuzzy matches. ``short`` holds the
    designs whose name has EXACT_ONLY letters and digits or fewer ('EA', '4D', 'RED'): such words turn up in
    ordinary label text by chance, so reading one is weak evidence (the ocr_short signal)."""

    def __init__(self, titles: dict[str, str]) -> None:
        self.by_name: dict[str, list[str]] = {}
        self.grams: dict[str, set[str]] = {}
        self.n_grams: dict[str, int] = {}  # name -> its distinct trigrams
        self.short: set[str] = set()
        for design_id, title in titles.items():
            n = norm(title)
            if len(n) <= EXACT_ONLY:
                self.short.add(design_id)
            if len(n) >= 2:
                self.by_name.setdefault(n, []).append(design_id)
                grams = trigrams(n)
                self.n_grams[n] = len(grams)
                for g in grams:
                    self.grams.setdefault(g, set()).add(n)

    def lookup(self, words: list[OcrWord]) -> tuple[dict[str, float], dict[str, str]]:
        scores: dict[str, float] = {}
        which: dict[str, str] = {}
        tokens = [(norm(part), w) for w in words for part in {w.text, *w.text.split()}]
        tokens += [(norm(a.text + b.text), a) for a, b in zip(words, words[1:], strict=False)]  # "COCA" "COLA"
        for tok, w in tokens:
            tg = trigrams(tok)
            if tok in self.by_name:
                shared = {tok: len(tg)}
            elif len(tok) > EXACT_ONLY:
                shared = Counter(n for g in tg for n in self.grams.get(g, ()))  # name -> trigrams in common
            else:
                continue
            for name, common in shared.items():
                dice = 1.0 if tok == name else 2 * common / (len(tg) + self.n_grams[name])
                score = dice * w.confidence if dice >= 0.6 else 0.0
                for d in self.by_name.get(name, ()):
                    if score > scores.get(d, 0.0):
                        scores[d], which[d] = score, w.text
        return scores, which


class MatchContext:
    def __init__(self, settings: Settings) -> None:
        from kcs_kit.index.chroma import open_index

        self.settings = settings
        self.encoder: LocalEncoder = load_encoder(settings)
        self.image_index = open_index(settings, family="image", encoder_name=self.encoder.name,
                                      encoder_version=self.encoder.version, dim=self.encoder.dim, create=False)
        self.designs = _designs(settings)
        self.titles = TitleIndex({d: i.title for d, i in self.designs.items()})
        self.colours = {d: ab for d, i in self.designs.items() if (ab := colour_ab(i.hex)) is not None}
        self.store = FeatureStore(settings)
        self.bow = load_bow(settings)
        self.marknet = load_vectors(settings)
        self.library_threads = 0  # set per match by use_threads
        self.shapes = load_shapes(settings)
        self._features: OrderedDict[str, list[tuple[LocalFeatures, np.ndarray]]] = OrderedDict()
        self.fusion = active_fusion(settings)
        self.version = f"{self.encoder.name}/{self.encoder.version}|fusion/{self.fusion.version}"
        self._ocr: list | None = None
        self._text: tuple | None = None
        self._active: dict[str | None, set[str]] = {}  # right-holder filter -> active designs

    def use_threads(self, match_threads: int) -> int:
        """Threads for each library's own pool (ONNX Runtime, BLAS) in a match run with ``match_threads``: 1
        when the stages run side by side (three stages on 2 cores: pools of their own would only contend;
        measured 28% slower on average), else 0 (the library's default, all cores). Returns it."""
        n = 1 if match_threads > 1 else 0
        for user in [*([self.marknet.encoder] if self.marknet is not None else []), *(self._ocr or ())]:
            user.threads = n  # their sessions are made once per thread count (embed/_util.onnx_session)
        self.library_threads = n
        return n

    def design_features(self, design_id: str) -> list[tuple[LocalFeatures, np.ndarray]]:
        if design_id not in self._features:
            views = self.store.load(design_id).views
            self._features[design_id] = [(v, descriptors(v)) for v in views]
            if len(self._features) > 5000:
                self._features.popitem(last=False)
        return self._features[design_id]

    def read_words(self, images: list[np.ndarray]) -> list[list[OcrWord]]:
        """The OCR words of each image (one list per image, boxes in that image's pixels)."""
        if self._ocr is None:
            from kcs_kit.embed.ocr_rapid import RapidOcrEngine

            self._ocr = [RapidOcrEngine(det_limit_side_len=self.settings.ocr_max_side,
                                        threads=self.library_threads)] if self.settings.match_ocr else []
        return [[w for engine in self._ocr for w in engine.read(img)] for img in images]

    def title_matches(self, words: list[OcrWord]) -> tuple[dict[str, float], dict[str, str]]:
        return self.titles.lookup(words) if words else ({}, {})

    def text_matches(self, text: str) -> dict[str, float]:
        if not text.strip():
            return {}
        if self._text is None:
            from kcs_kit.embed.base import get
            from kcs_kit.index.chroma import open_index

            enc = get("text", "minilm", self.settings)
            try:
                ix = open_index(self.settings, family="text", encoder_name=enc.name, encoder_version=enc.version,
                                dim=enc.dim, create=False)
            except IndexNotBuiltError:
                ix = None
            self._text = (enc, ix)
        enc, ix = self._text
        if ix is None:
            return {}
        return {h.id: h.score for h in ix.query(enc.encode_texts([text]), 5)[0]}

    def active_ids(self, filters: dict | None) -> set[str]:
        """The designs a match may return under the officer's ``filters`` (kept: at 300,000 designs making
        the set costs ~30 ms)."""
        holder = (filters or {}).get("right_holder")
        if holder not in self._active:
            ids = {d for d, i in self.designs.items() if i.active}
            if holder is not None:
                ids = {d for d in ids if self.designs[d].right_holder == holder}
            if len(self._active) > 64:
                self._active.clear()
            self._active[holder] = ids
        return self._active[holder]

    def declaration(self, declaration_id: str | None) -> dict | None:
        if not declaration_id:
            return None
        with catalog.connect(self.settings, read_only=True) as con:
            rows = con.execute("SELECT hs6, item_price_krw, origin_country FROM declarations "
                               "WHERE declaration_id = ?", [declaration_id]).fetchall()
            goods = con.execute("SELECT min(unit_value_krw) FROM goods_lines WHERE declaration_id = ?",
                                [declaration_id]).fetchall() if _has(con, "goods_lines") else [(None,)]
        if not rows:
            raise NotFoundError(f"declaration {declaration_id!r}: not in the lake of {self.settings.workspace}",
                                hint="check the number, or ingest the declarations first (kcs lake ingest)")
        hs6, price, origin = rows[0]
        return {"hs6": hs6, "unit_value": goods[0][0] or price, "origin": origin}

    def declaration_signals(self, decl: dict | None, design_id: str) -> tuple[float, float]:
        info = self.designs.get(design_id)
        if not decl or not info:
            return 0.0, 0.0
        hs = 1.0 if decl["hs6"] in info.hs6 else 0.5 if any(h[:2] == decl["hs6"][:2] for h in info.hs6) else 0.0
        under = 0.0
        if info.genuine_price_krw and decl["unit_value"]:
            under = min(max(math.log10(info.genuine_price_krw / max(decl["unit_value"], 1.0)), 0.0), 2.0) / 2
        return hs, under


def _has(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0])


def _designs(settings: Settings) -> dict[str, DesignInfo]:
    today = date.today()
    with catalog.connect(settings, read_only=True) as con:
        if not _has(con, "designs"):
            raise IndexNotBuiltError(f"{settings.workspace}: no design registry",
                                     hint="run `kcs registry import DIR` and `kcs index build` (or `make demo`)")
        rows = con.execute(
            "SELECT design_id, title, right_holder, coalesce(registration_no, ''), coalesce(hs6, []), "
            "genuine_price_krw, status = 'registered' AND (valid_from IS NULL OR valid_from <= ?) "
            "AND (valid_to IS NULL OR valid_to >= ?), hex FROM designs", [today, today]).fetchall()
    return {r[0]: DesignInfo(r[1] or "", r[2] or "", r[3], tuple(r[4]), r[5], bool(r[6]), r[7] or None)
            for r in rows}


def active_fusion(settings: Settings) -> FusionModel:
    """The workspace's fitted model (``kcs model fit``), else the model shipped with kcs-kit (fitted on the
    demo photo benchmark, seed 7), else the documented prior weights."""
    for path in (settings.workspace / FUSION_FILE, SHIPPED_FUSION):
        if path.exists():
            return FusionModel.load(path)
    return PRIOR_MODEL


_REGISTRY_STATE: dict[tuple, tuple] = {}  # catalog file state -> (designs, last update): one entry


def _file_state(path: Path) -> tuple:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (str(path), None)
    return (str(path), st.st_mtime_ns, st.st_size)


def _registry_state(settings: Settings) -> tuple:
    """Number of designs and their last update, read from the catalog only when its file (or its write-ahead
    log) changed since the last look: opening DuckDB costs ~0.05 s, and every match checks this."""
    db = settings.db_path
    key = (_file_state(db), _file_state(db.with_name(db.name + ".wal")))
    if key not in _REGISTRY_STATE:
        with catalog.connect(settings, read_only=True) as con:
            reg = con.execute("SELECT count(*), max(updated_at) FROM designs").fetchall()[0] \
                if _has(con, "designs") else (0, None)
        _REGISTRY_STATE.clear()
        _REGISTRY_STATE[key] = tuple(reg)
    return _REGISTRY_STATE[key]


def analysis_stamp(settings: Settings) -> tuple:
    """What the signals of a photo depend on, the fusion model aside: registry, codebook, visual words, the
    per-design arrays, the OCR and silhouette settings (a cache of analysed queries is valid while this is
    unchanged)."""
    codebook = settings.registry_dir / CODEBOOK
    reg = _registry_state(settings)
    mtime = [p.stat().st_mtime if p.exists() else 0 for p in (codebook, settings.registry_dir / MATRIX)]
    # per-design arrays (marknet vectors, silhouettes): rewritten in place by kcs index build
    arrays = [f"{p}:{p.stat().st_mtime}" for kind in ("marknet", "shape")
              for p in sorted(settings.registry_dir.glob(f"{kind}-*.npz"))]
    return (str(settings.workspace), *reg, *mtime, *arrays, settings.match_ocr, settings.ocr_max_side,
            settings.ocr_relief, settings.occluders)


def _stamp(settings: Settings) -> tuple:
    fusion = settings.workspace / FUSION_FILE
    return (*analysis_stamp(settings), fusion.stat().st_mtime if fusion.exists() else 0)


@contextlib.contextmanager
def installed(settings: Settings, ctx: MatchContext) -> Iterator[MatchContext]:
    """Inside the block, matching in this workspace uses ``ctx`` (``kcs bench scale``'s grown registry)."""
    saved = dict(_CACHE)
    _CACHE.clear()
    _CACHE[_stamp(settings)] = ctx
    try:
        yield ctx
    finally:
        _CACHE.clear()
        _CACHE.update(saved)


def get_context(settings: Settings) -> MatchContext:
    """The cached context of this workspace, rebuilt when the registry, codebook or fusion model changed."""
    key = _stamp(settings)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = MatchContext(settings)
    return _CACHE[key]
