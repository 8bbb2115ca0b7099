"""Settings precedence: defaults < kcs.toml < KCS_* environment < arguments; bad values are clear errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kcs_kit.cli import main
from kcs_kit.config import load_settings
from kcs_kit.errors import ConfigError


def test_precedence(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "kcs.toml").write_text("duckdb_threads = 3\nseed = 7\nlock_timeout_s = 5\n")
    s = load_settings(workspace=ws, env={})
    assert (s.duckdb_threads, s.seed, s.lock_timeout_s, s.duckdb_memory_limit) == (3, 7, 5.0, "1GB")
    s = load_settings(workspace=ws, env={"KCS_SEED": "9", "KCS_MASK_IDENTITIES": "no"})
    assert (s.duckdb_threads, s.seed, s.mask_identities) == (3, 9, False)
    s = load_settings(workspace=ws, env={"KCS_SEED": "9"}, seed=11)
    assert s.seed == 11
    assert s.db_path == ws.resolve() / "data_lake" / "kcs.duckdb"


def test_workspace_from_environment(tmp_path):
    s = load_settings(env={"KCS_WORKSPACE": str(tmp_path / "site")})
    assert s.workspace == (tmp_path / "site").resolve()
    assert s.vectorstore_dir == s.workspace / "vectorstore"


@pytest.mark.parametrize("env,match", [
    ({"KCS_DUCKDB_THREADS": "many"}, "KCS_DUCKDB_THREADS.*expects a int, found 'many'"),
    ({"KCS_MASK_IDENTITIES": "maybe"}, "expects a bool"),
    ({"KCS_INGEST_BATCH_BYTES": "10"}, "expected at least 65536, found 10"),
    ({"KCS_REJECT_RATIO": "-1"}, "KCS_REJECT_RATIO.*reject_ratio expects a value >= 0.0, found '-1'"),
    ({"KCS_MATCH_FIRST_PHOTO": "1.5"}, "match_first_photo expects a value between 0.0 and 1.0, found '1.5'"),
])
def test_bad_values_name_the_source(tmp_path, env, match):
    with pytest.raises(ConfigError, match=match):
        load_settings(workspace=tmp_path, env=env)


def test_unknown_and_broken_toml(tmp_path):
    (tmp_path / "kcs.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(workspace=tmp_path, env={})
    (tmp_path / "kcs.toml").write_text("seed = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(workspace=tmp_path, env={})


def test_cli_settings_and_error_exit(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["--workspace", str(tmp_path), "settings", "--json"], env={"KCS_SEED": "5"})
    assert r.exit_code == 0 and '"value": "5"' in r.output
    r = runner.invoke(main, ["--workspace", str(tmp_path), "lake", "ingest", str(tmp_path / "nope.csv")])
    assert r.exit_code == 1 and "no such file" in r.output and "Traceback" not in r.output
