"""Engine settings are set once and reach every DuckDB session."""

from __future__ import annotations

import duckdb
import pytest

import riskscreen
import riskscreen.data
from riskscreen.features import build_features


def test_config_context_sets_and_restores():
    default = {"memory_limit": None, "temp_directory": None, "threads": None, "validate": True}
    assert riskscreen.get_config() == default
    with riskscreen.config_context(memory_limit="1GB", threads=1):
        assert riskscreen.get_config()["memory_limit"] == "1GB"
        with riskscreen.config_context(threads=2):
            assert riskscreen.get_config() == {**default, "memory_limit": "1GB", "threads": 2}
        assert riskscreen.get_config()["threads"] == 1
    assert riskscreen.get_config()["memory_limit"] is None


def test_validation_can_be_skipped_only_explicitly_and_it_is_logged(linked, caplog):
    broken = linked.copy()
    broken.exclusions.loc[broken.exclusions.index[:2], "kind"] = "Suspension"
    with pytest.raises(riskscreen.data.DataValidationError, match="'Suspension'"):
        build_features(broken, ["2021-02-01"])  # title case: once 0 labels, no warning
    with riskscreen.config_context(validate=False):
        build_features(linked, ["2021-02-01"])
    assert "were not validated" in caplog.text and "build_features" in caplog.text


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="'threads' setting of riskscreen.set_config"):
        riskscreen.set_config(threads=0)
    with pytest.raises(ValueError, match="'memory_limit' setting"):
        riskscreen.set_config(memory_limit=4)
    with pytest.raises(ValueError, match="'temp_directory' setting"):
        riskscreen.set_config(temp_directory=3)
    assert riskscreen.get_config()["threads"] is None


def test_settings_reach_the_engine(linked, tmp_path, monkeypatch):
    seen = []
    real = duckdb.connect

    def spy(*args, **kwargs):
        con = real(*args, **kwargs)
        seen.append(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        return con

    monkeypatch.setattr(duckdb, "connect", spy)
    with riskscreen.config_context(threads=1, temp_directory=tmp_path):
        build_features(linked, ["2021-02-01"])
    build_features(linked, ["2021-02-01"])
    with real() as con:
        default = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    assert seen == [1, default]
