"""The MLflow store riskscreen talks to, through one ``MlflowClient`` and no global state.

The default store is local and serverless: ``sqlite:///<store>/mlflow.db`` with
artefacts under ``<store>/artifacts``. Pass ``tracking_uri=`` to use a server.
riskscreen never sets MLflow's process-wide tracking or registry URI: every call
goes through the client made here. Telemetry is switched off before MLflow loads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path

_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def local_tracking_uri(store) -> str:
    """The serverless local store under folder ``store``: ``sqlite:///<store>/mlflow.db``."""
    path = Path(store).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'mlflow.db'}"


def client(tracking_uri: str):
    """An ``MlflowClient`` for tracking and the model registry at ``tracking_uri``."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def resolve_store(tracking_uri: str | None, store) -> tuple[str, Path | None]:
    """(tracking URI, local artefact root or None) for a server URI or a local store."""
    if tracking_uri is not None:
        return tracking_uri, None
    return local_tracking_uri(store), Path(store) / "artifacts"


@contextlib.contextmanager
def quiet():
    """Hide MLflow's chatter (table creation, pickle notice, SQLAlchemy deprecations)."""
    names = ("mlflow", "mlflow.sklearn", "mlflow.store.db.utils", "alembic")
    loggers = {name: logging.getLogger(name) for name in names}
    levels = {name: lg.level for name, lg in loggers.items()}
    for name, lg in loggers.items():
        # the cloudpickle notice: riskscreen verifies its own artefact's sha256 on load
        lg.setLevel(logging.ERROR if name == "mlflow.sklearn" else logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*noload.*")
            yield
    finally:
        for name, lg in loggers.items():
            lg.setLevel(levels[name])
