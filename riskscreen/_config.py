"""Engine settings, set once for everything riskscreen runs (scikit-learn's config style).

The DuckDB sessions that read histories and build features, labels and cohorts
take their memory limit, spill folder and thread count from here, so a
:class:`~riskscreen.Screener`, :func:`~riskscreen.features.build_features` and
every other entry point obey the same settings without passing them around::

    import riskscreen
    with riskscreen.config_context(memory_limit="4GB", temp_directory="/scratch"):
        screener.fit(histories, dates)

Settings
--------
memory_limit : str or None
    DuckDB's memory limit, e.g. ``"4GB"``; past it DuckDB spills to disk
    (default: DuckDB's own, 80% of RAM).
temp_directory : str or path or None
    Where DuckDB spills (default: DuckDB's own).
threads : int or None
    DuckDB worker threads (default: one per core).
validate : bool, default True
    Validate histories on every entry path (features, labels, cohorts, the
    Screener) before any work, once per content. ``False`` skips it, with a
    logged warning at each use: only for data validated elsewhere.
engine : {"duckdb", "spark"}, default "duckdb"
    Where :func:`~riskscreen.features.build_features`,
    :func:`~riskscreen.features.write_features`,
    :func:`~riskscreen.features.build_cohort` and
    :func:`~riskscreen.features.make_labels` run when their ``engine`` parameter
    is not given (see :mod:`riskscreen.spark`; ``build_dataset`` and the
    Screener run on DuckDB). Kept apart from :func:`get_config`; read it with
    :func:`engine_settings`.
spark_session : pyspark.sql.SparkSession or None
    The SparkSession of the Spark engine (default: the active one, else a local one).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

_DEFAULTS: dict[str, object] = {
    "memory_limit": None,
    "temp_directory": None,
    "threads": None,
    "validate": True,
}
#: Settings that are DuckDB's own (passed to ``duckdb.connect``).
_DUCKDB = ("memory_limit", "temp_directory", "threads")
#: Where the feature engine runs (see :func:`engine_settings`).
_ENGINE_DEFAULTS: dict[str, object] = {"engine": "duckdb", "spark_session": None}
_ENGINES = ("duckdb", "spark")
_local = threading.local()


def _settings() -> dict[str, object]:
    if not hasattr(_local, "config"):
        _local.config = dict(_DEFAULTS)
    return _local.config


def _engine() -> dict[str, object]:
    if not hasattr(_local, "engine"):
        _local.engine = dict(_ENGINE_DEFAULTS)
    return _local.engine


def engine_settings() -> dict[str, object]:
    """The engine settings (a copy): ``engine`` and ``spark_session``."""
    return dict(_engine())


def _is_spark_session(value: object) -> bool:
    """A pyspark SparkSession (classic or Spark Connect), told without importing pyspark."""
    kind = type(value)
    return kind.__name__ == "SparkSession" and kind.__module__.startswith("pyspark.sql")


def engine_choice(engine, *, owner: str) -> tuple[str, object]:
    """``("duckdb", None)`` or ``("spark", session or None)`` for an ``engine`` parameter.

    ``engine`` is None (the configured engine), ``"duckdb"``, ``"spark"`` or a
    pyspark SparkSession (Spark, on that session).
    """
    if engine is None:
        settings = _engine()
        return str(settings["engine"]), settings["spark_session"]
    if _is_spark_session(engine):
        return "spark", engine
    if engine in _ENGINES:
        return str(engine), (_engine()["spark_session"] if engine == "spark" else None)
    raise ValueError(
        f"The 'engine' parameter of {owner} must be 'duckdb', 'spark' or a pyspark "
        f"SparkSession. Got {engine!r} instead."
    )


def get_config() -> dict[str, object]:
    """The current settings (a copy): ``memory_limit``, ``temp_directory``, ``threads``,
    ``validate``."""
    return dict(_settings())


def _check(key: str, value: object) -> object:
    if value is None and key != "validate":
        return None
    if key == "memory_limit" and not (isinstance(value, str) and value.strip()):
        raise ValueError(
            "The 'memory_limit' setting of riskscreen.set_config must be text such as '4GB' "
            f"or None. Got {value!r} instead."
        )
    if key == "temp_directory" and not isinstance(value, (str, os.PathLike)):
        raise ValueError(
            "The 'temp_directory' setting of riskscreen.set_config must be a folder path "
            f"or None. Got {value!r} instead."
        )
    if key == "threads" and (
        isinstance(value, bool) or not isinstance(value, int) or int(value) < 1
    ):
        raise ValueError(
            "The 'threads' setting of riskscreen.set_config must be a positive whole number "
            f"or None. Got {value!r} instead."
        )
    if key == "validate" and not isinstance(value, bool):
        raise ValueError(
            "The 'validate' setting of riskscreen.set_config must be True or False. "
            f"Got {value!r} instead."
        )
    return str(value) if key == "temp_directory" else value


def _check_engine(key: str, value: object) -> object:
    if key == "engine" and value not in _ENGINES:
        raise ValueError(
            "The 'engine' setting of riskscreen.set_config must be 'duckdb' or 'spark'. "
            f"Got {value!r} instead."
        )
    if key == "spark_session" and not (value is None or _is_spark_session(value)):
        raise ValueError(
            "The 'spark_session' setting of riskscreen.set_config must be a pyspark "
            f"SparkSession or None. Got {type(value).__name__} instead."
        )
    return value


_UNSET = object()


def set_config(
    *,
    memory_limit=_UNSET,
    temp_directory=_UNSET,
    threads=_UNSET,
    validate=_UNSET,
    engine=_UNSET,
    spark_session=_UNSET,
) -> None:
    """Change settings for this thread; arguments not given are left as they are."""
    given = {
        "memory_limit": memory_limit,
        "temp_directory": temp_directory,
        "threads": threads,
        "validate": validate,
    }
    checked = {k: _check(k, v) for k, v in given.items() if v is not _UNSET}
    engines = {"engine": engine, "spark_session": spark_session}
    checked_engine = {k: _check_engine(k, v) for k, v in engines.items() if v is not _UNSET}
    _settings().update(checked)
    _engine().update(checked_engine)


@contextlib.contextmanager
def config_context(
    *,
    memory_limit=_UNSET,
    temp_directory=_UNSET,
    threads=_UNSET,
    validate=_UNSET,
    engine=_UNSET,
    spark_session=_UNSET,
) -> Iterator:
    """Change settings within a ``with`` block only (see :func:`set_config`)."""
    before = get_config()
    before_engine = engine_settings()
    set_config(
        memory_limit=memory_limit,
        temp_directory=temp_directory,
        threads=threads,
        validate=validate,
        engine=engine,
        spark_session=spark_session,
    )
    try:
        yield
    finally:
        _settings().clear()
        _settings().update(before)
        _engine().clear()
        _engine().update(before_engine)


def duckdb_config() -> dict[str, object]:
    """The settings as a ``duckdb.connect(config=...)`` dictionary."""
    config = get_config()
    return {key: config[key] for key in _DUCKDB if config[key] is not None}


__all__ = [
    "config_context",
    "duckdb_config",
    "engine_choice",
    "engine_settings",
    "get_config",
    "set_config",
]
