"""Build the demo workspace from the data shipped in the repo (idempotent: a second run reuses it).

Example::

    >>> from kcs_kit.config import load_settings
    >>> from kcs_kit.demo import build_demo
    >>> build_demo(load_settings(workspace="/tmp/kcs-doc-demo", env={})).declarations
    45519
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kcs_kit.config import Settings
from kcs_kit.errors import KcsError
from kcs_kit.lake import catalog
from kcs_kit.lake.ingest import ingest_file

DEMO_FILES = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv")


@dataclass(frozen=True)
class DemoSummary:
    workspace: str
    declarations: int
    declarations_added: int
    goods_lines: int
    goods_lines_built: bool
    designs: int
    designs_added: int
    indexed: int
    seconds: float


def _goods_generator(settings: Settings) -> str | None:
    with catalog.connect(settings, read_only=True) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'goods_lines'").fetchall()[0][0]:
            return None
        row = con.execute("SELECT min(generator), count(*) FROM goods_lines").fetchall()[0]
    return row[0] if row[1] else None


def _registry(settings: Settings, limit: int | None, log: Callable[[str], None],
              progress: Callable | None) -> tuple[int, int, int]:
    """Import the demo marks (all, or the first ``limit``) and bring the index in step."""
    from kcs_kit.index.build import build_index
    from kcs_kit.registry.demo import subset_package
    from kcs_kit.registry.store import active_design_ids, import_package

    package = settings.data_dir / "simple-icons"
    if limit is not None:
        package = subset_package(settings.workspace / "demo-registry", limit, src_dir=package)
    r = import_package(package, settings, progress=progress)
    log(f"registry {package.name}: {r.added:,} added, {r.updated:,} updated, {r.unchanged:,} unchanged")
    b = build_index(settings, progress=progress, log=log)
    log(f"index: {b.indexed:,} designs indexed, {b.unchanged:,} up to date")
    return len(active_design_ids(settings)), r.added, b.indexed


def build_demo(settings: Settings, *, registry: bool = True, registry_limit: int | None = None,
               log: Callable[[str], None] = lambda _m: None, progress: Callable | None = None) -> DemoSummary:
    """Ingest the shipped declarations, generate the synthetic goods lines, import the demo marks as the
    design registry and index them — each step only if not done before.

    ``registry_limit`` imports only the first N marks (quick demos and tests); ``registry=False`` skips
    the registry and index.
    """
    from kcs_kit.lake.synth import GENERATOR, build_goods_lines

    t0 = time.perf_counter()
    folder = settings.data_dir / "customs-declarations"
    added = 0
    for name in DEMO_FILES:
        if not (folder / name).exists():
            raise KcsError(f"{folder / name}: demo data missing", hint="run from a full clone of kcs-kit")
        r = ingest_file(folder / name, settings, progress=progress)
        added += r.ingested
        log(f"declarations {name}: " + ("already in the lake" if r.skipped else f"{r.ingested:,} ingested"))
    wanted = GENERATOR.format(seed=settings.seed)
    built = False
    if _goods_generator(settings) != wanted or added:
        s = build_goods_lines(settings, seed=settings.seed)
        built = True
        log(f"goods lines: {s.lines:,} generated (SYNTHETIC, seed {settings.seed})")
    else:
        log("goods lines: already generated")
    designs, designs_added, indexed = _registry(settings, registry_limit, log, progress) if registry else (0, 0, 0)
    with catalog.connect(settings, read_only=True) as con:
        n = con.execute("SELECT count(*) FROM declarations").fetchall()[0][0]
        g = con.execute("SELECT count(*) FROM goods_lines").fetchall()[0][0]
    return DemoSummary(str(settings.workspace), n, added, g, built, designs, designs_added, indexed,
                       time.perf_counter() - t0)
