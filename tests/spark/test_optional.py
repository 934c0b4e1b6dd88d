"""The Spark engine is optional: chosen explicitly, refused clearly, never needed (no JVM)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _edge_histories import AS_OF, edge_histories

import riskscreen
from riskscreen.features import build_features, make_labels


def test_an_unknown_engine_is_named_in_the_error():
    histories = edge_histories()
    with pytest.raises(ValueError, match="'engine' parameter of build_features must be 'duckdb'"):
        build_features(histories, AS_OF[:1], engine="polars")
    with pytest.raises(ValueError, match="'engine' parameter of make_labels.*Got 3"):
        make_labels(histories, AS_OF[:1], engine=3)


def test_engine_settings_are_checked_and_restored():
    with pytest.raises(ValueError, match="'engine' setting of riskscreen.set_config"):
        riskscreen.set_config(engine="polars")
    with pytest.raises(ValueError, match="'spark_session' setting.*Got str"):
        riskscreen.set_config(spark_session="local[2]")
    from riskscreen._config import engine_choice, engine_settings

    assert engine_choice(None, owner="x") == ("duckdb", None)
    with riskscreen.config_context(engine="spark", threads=1):
        assert engine_settings() == {"engine": "spark", "spark_session": None}
        assert engine_choice(None, owner="x") == ("spark", None)
        assert engine_choice("duckdb", owner="x") == ("duckdb", None)  # a parameter wins
    assert engine_settings()["engine"] == "duckdb"
    assert "engine" not in riskscreen.get_config()  # DuckDB's own settings are unchanged


def test_without_pyspark_spark_is_refused_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    from riskscreen.spark import INSTALL_HINT, local_spark_session

    assert "pip install 'riskscreen[spark]'" in INSTALL_HINT
    with pytest.raises(ImportError, match=r"pip install 'riskscreen\[spark\]'"):
        build_features(edge_histories(), AS_OF[:1], engine="spark")
    with pytest.raises(ImportError, match="Java runtime"):
        local_spark_session()


def test_without_java_a_local_session_says_how_to_install_it(monkeypatch):
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    from pyspark.sql import SparkSession

    import riskscreen.spark._local as local

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(local, "java_available", lambda: False)
    with pytest.raises(RuntimeError, match="no Java runtime.*default-jre-headless"):
        local.local_spark_session()


def test_riskscreen_installs_and_runs_without_pyspark():
    """A fresh interpreter that cannot import pyspark builds features and translates SQL."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pyspark"] = None  # as if the spark extra were not installed
        sys.path[:0] = [{here!r}, {tests!r}]
        from _edge_histories import AS_OF, edge_histories
        from riskscreen.features import build_features
        X = build_features(edge_histories(), AS_OF[:1])
        import riskscreen.spark
        print(len(X), riskscreen.spark.to_spark_sql("SELECT 1 AS x"))
        """
    ).format(here=str(Path(__file__).parent), tests=str(Path(__file__).parent.parent))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["7", "SELECT", "1", "AS", "x"]
