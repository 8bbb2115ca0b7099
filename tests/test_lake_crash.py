"""A writer killed with SIGKILL at any moment leaves the lake exactly as before; two writers serialise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from kcs_kit.errors import LakeBusyError
from kcs_kit.lake import catalog
from kcs_kit.lake.ingest import ingest_file

INGEST = ("import sys; from kcs_kit.config import load_settings; from kcs_kit.lake.ingest import ingest_file; "
          "s = load_settings(workspace=sys.argv[1], env={}, ingest_batch_bytes=1 << 18); "
          "ingest_file(sys.argv[2], s)")


def snapshot(settings) -> tuple:
    """Everything a reader can see: rows (hashed), ingests, files, quarantine."""
    with catalog.connect(settings, read_only=True) as con:
        rows = con.execute("SELECT count(*), coalesce(sum(hash(declaration_id, item_price_krw)), 0) "
                           "FROM declarations").fetchone()
        ingests = con.execute("SELECT count(*) FROM lake_ingests").fetchone()
        files = con.execute("SELECT count(*) FROM lake_files").fetchone()
        quarantine = con.execute("SELECT count(*) FROM quarantine").fetchone()
    return rows, ingests, files, quarantine


@pytest.fixture
def big_csv(tmp_path, valid_csv) -> Path:
    """~65,000 rows (8 shifted copies of the 2021-Q1 file) with 8 invalid rows: takes ~1 s to ingest."""
    base = pl.read_csv(valid_csv, infer_schema_length=0)
    parts = [base.with_columns((pl.col("Declaration ID").cast(pl.Int64) + 10**8 * (k + 1)).cast(pl.String))
             for k in range(8)]
    df = pl.concat(parts)
    df = df.with_columns(pl.when(pl.int_range(pl.len()) % 8134 == 7).then(pl.lit("12AB56"))
                         .otherwise(pl.col("HS6 Code")).alias("HS6 Code"))
    out = tmp_path / "big.csv"
    df.write_csv(out)
    return out


def run_and_kill(settings, path: Path, delay: float) -> bool:
    """Start an ingest in a subprocess, SIGKILL it after ``delay`` s. True if it finished first."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", INGEST, str(settings.workspace), str(path)], env=env)
    time.sleep(delay)
    finished = proc.poll() is not None
    if not finished:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return finished


def test_sigkill_at_any_point_is_all_or_nothing(settings, valid_csv, big_csv):
    ingest_file(valid_csv, settings)
    before = snapshot(settings)
    expected_after = None
    delays = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.6, 2.0, 3.0, 5.0, 10.0]
    outcomes = []
    for delay in delays:
        finished = run_and_kill(settings, big_csv, delay)
        now = snapshot(settings)
        if now == before:
            outcomes.append("before")
            continue
        # once committed, the lake must hold exactly the new file's valid rows, once
        assert now[0][0] == before[0][0] + 8 * 8134 - 8
        assert now[1][0] == before[1][0] + 1 and now[3][0] == before[3][0] + 8
        expected_after = now
        outcomes.append("after" + ("" if finished else " (killed after commit)"))
        break
    assert "before" in outcomes, "no kill landed mid-ingest; the test proved nothing"
    # the next writer cleans what the killed one left, and a re-run completes without gaps or duplicates
    r = ingest_file(big_csv, settings)
    final = snapshot(settings)
    if expected_after is None:
        assert (r.ingested, r.quarantined, r.duplicates) == (8 * 8134 - 8, 8, 0)
    else:
        assert r.skipped and final == expected_after
    assert final[0][0] == 8134 + 8 * 8134 - 8
    assert not (settings.lake_dir / catalog.STAGING).exists() or not any(
        (settings.lake_dir / catalog.STAGING).iterdir())
    with catalog.connect(settings, read_only=True) as con:
        listed = {p for (p,) in con.execute("SELECT path FROM lake_files").fetchall()}
    on_disk = {p.relative_to(settings.lake_dir).as_posix()
               for p in (settings.lake_dir / "declarations").rglob("*.parquet")}
    assert on_disk == listed  # no orphan files left behind


def _staged(staging: Path) -> list[Path]:
    """Parquet files being staged; the ingest creates and removes folders under us, so a folder that vanishes
    mid-walk means "none there now", not an error of the code under test."""
    try:
        return list(staging.rglob("*.parquet"))
    except FileNotFoundError:
        return []


def test_sigkill_while_staging_leaves_nothing_visible(settings, valid_csv, big_csv):
    ingest_file(valid_csv, settings)
    before = snapshot(settings)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", INGEST, str(settings.workspace), str(big_csv)], env=env)
    staging = settings.lake_dir / catalog.STAGING
    deadline = time.monotonic() + 30
    while not _staged(staging) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _staged(staging), "the kill did not land while staging"
    assert snapshot(settings) == before
    with catalog.connect(settings):  # the next writer recovers
        pass
    assert not staging.exists()
    assert ingest_file(big_csv, settings).ingested == 8 * 8134 - 8


def test_second_writer_waits_then_gives_a_clear_error(settings, valid_csv):
    from kcs_kit.config import load_settings

    impatient = load_settings(workspace=settings.workspace, env={}, lock_timeout_s=0.2)
    with catalog.writer_lock(settings):
        with pytest.raises(LakeBusyError, match="another writer"):
            ingest_file(valid_csv, impatient)
    assert ingest_file(valid_csv, impatient).ingested == 8134
