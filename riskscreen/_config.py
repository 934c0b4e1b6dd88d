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
_local = threading.local()


def _settings() -> dict[str, object]:
    if not hasattr(_local, "config"):
        _local.config = dict(_DEFAULTS)
    return _local.config


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


_UNSET = object()


def set_config(
    *, memory_limit=_UNSET, temp_directory=_UNSET, threads=_UNSET, validate=_UNSET
) -> None:
    """Change settings for this thread; arguments not given are left as they are."""
    given = {
        "memory_limit": memory_limit,
        "temp_directory": temp_directory,
        "threads": threads,
        "validate": validate,
    }
    checked = {k: _check(k, v) for k, v in given.items() if v is not _UNSET}
    _settings().update(checked)


@contextlib.contextmanager
def config_context(
    *, memory_limit=_UNSET, temp_directory=_UNSET, threads=_UNSET, validate=_UNSET
) -> Iterator:
    """Change settings within a ``with`` block only (see :func:`set_config`)."""
    before = get_config()
    set_config(
        memory_limit=memory_limit, temp_directory=temp_directory, threads=threads, validate=validate
    )
    try:
        yield
    finally:
        _settings().clear()
        _settings().update(before)


def duckdb_config() -> dict[str, object]:
    """The settings as a ``duckdb.connect(config=...)`` dictionary."""
    config = get_config()
    return {key: config[key] for key in _DUCKDB if config[key] is not None}


__all__ = ["config_context", "duckdb_config", "get_config", "set_config"]
