"""Explicit MLflow tracking of a fitted :class:`Screener` (never inside ``fit``).

The default store is local and serverless: ``sqlite:///<store>/mlflow.db`` with
artefacts under ``<store>/artifacts`` (MLflow 3 refuses the plain-folder file
store). Pass ``tracking_uri=`` to log to a server instead. Only pseudonymous,
aggregate information is logged: parameters, the feature spec, metrics, per-table
row counts and hashes of the input data, the model and summary tables - never
identifiers or rows of the input. Telemetry is switched off before MLflow loads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SCREENER_ARTIFACT = "screener/screener.pkl"
SHA_TAG = "riskscreen.screener_sha256"
_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


class ArtifactIntegrityError(ValueError):
    """A logged screener's bytes do not match the sha256 recorded with its run."""


def _mlflow():
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    import mlflow

    return mlflow


def data_fingerprint(histories) -> dict:
    """Row counts and content hashes of every table, without identifiers or raw rows.

    Each canonical table is hashed over its *declared* canonical columns only (extra
    columns such as names or UPNs are never read), sorted, with
    :func:`pandas.util.hash_pandas_object`, then sha256. Custom sources are hashed
    over their declared id, date and value columns.
    """
    from riskscreen.data._tables import TABLES

    out: dict = {"tables": {}}
    for name, spec in TABLES.items():
        frame = getattr(histories, name, None)
        if frame is None:
            continue
        cols = [c for c in spec.columns if c in frame.columns and c != "name"]
        out["tables"][name] = {"rows": int(len(frame)), "sha256": _frame_hash(frame[cols])}
    for name, (frame, src) in sorted(getattr(histories, "custom", {}).items()):
        cols = [
            src.id_column,
            src.date_column,
            *([src.end_date_column] if src.end_date_column else []),
            *src.value_columns,
        ]
        cols = [c for c in dict.fromkeys(cols) if c in frame.columns]
        out["tables"][f"custom:{name}"] = {
            "rows": int(len(frame)),
            "sha256": _frame_hash(frame[cols]),
        }
    out["combined"] = hashlib.sha256(
        json.dumps(out["tables"], sort_keys=True).encode()
    ).hexdigest()[:16]
    return out


def _frame_hash(frame: pd.DataFrame) -> str:
    """sha256 of a table's content, independent of row and column order.

    Each row is hashed with :func:`pandas.util.hash_pandas_object` (columns in sorted
    order); the row hashes are sorted (the same as hashing the sorted rows, and much
    faster than sorting millions of rows by every column) and digested with sha256.
    """
    cols = sorted(map(str, frame.columns))
    digest = hashlib.sha256(json.dumps(cols).encode())
    if cols:
        rows = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
        digest.update(np.sort(rows).tobytes())
    digest.update(str(len(frame)).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class TrackedRun:
    """Where a tracked screener went: run id, URIs to load it back."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    screener_uri: str
    model_uri: str
    registered_version: str | None = None

    def __str__(self) -> str:
        return f"MLflow run {self.run_id} at {self.tracking_uri} (load: {self.screener_uri})"


def local_tracking_uri(store) -> str:
    """The serverless local store under folder ``store``: ``sqlite:///<store>/mlflow.db``."""
    path = Path(store).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'mlflow.db'}"


@contextlib.contextmanager
def _quiet():
    """Hide MLflow's chatter (table creation, pickle notice, SQLAlchemy deprecations)."""
    loggers = {name: logging.getLogger(name) for name in ("mlflow", "mlflow.sklearn", "alembic")}
    levels = {name: lg.level for name, lg in loggers.items()}
    loggers["mlflow"].setLevel(logging.WARNING)
    loggers["alembic"].setLevel(logging.WARNING)
    # the cloudpickle notice: we verify our own artefact's sha256 on load instead
    loggers["mlflow.sklearn"].setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*noload.*")
            yield
    finally:
        for name, lg in loggers.items():
            lg.setLevel(levels[name])


@contextlib.contextmanager
def _using(tracking_uri: str):
    """Point MLflow's fluent API - tracking *and* model registry - at ``tracking_uri``
    for the block only (a registry URI set elsewhere, e.g. ``MLFLOW_REGISTRY_URI``,
    would otherwise receive registered models)."""
    from mlflow.tracking._model_registry import utils as registry_utils

    mlflow = _mlflow()
    previous = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    had_uri = mlflow.tracking._tracking_service.utils._tracking_uri  # noqa: SLF001
    had_registry = registry_utils._registry_uri  # noqa: SLF001
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        with _quiet():
            yield mlflow
    finally:
        mlflow.tracking._tracking_service.utils._tracking_uri = had_uri  # noqa: SLF001
        registry_utils._registry_uri = had_registry  # noqa: SLF001
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _experiment_id(client, name: str, artifact_root: Path | None) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None if artifact_root is None else artifact_root.resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def _param_value(value) -> str:
    """A parameter as MLflow text: simple values as is, containers as JSON, objects by type."""
    if value is None or isinstance(value, (bool, int, float, str)):
        text = str(value)
    elif isinstance(value, (tuple, list)) and all(isinstance(v, (int, float, str)) for v in value):
        text = json.dumps(list(value))
    elif isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, (int, float, str, type(None)))
        for k, v in value.items()
    ):
        text = json.dumps({k: v for k, v in sorted(value.items()) if v})
    else:
        text = type(value).__name__
    if len(text) > 6000:  # MLflow's limit on a parameter value
        text = text[:5900] + " ... sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return text


def _metric_key(*parts: str) -> str:
    return ".".join(p.replace(" ", "_").replace("@", "_at_") for p in parts)


def track(
    screener,
    histories=None,
    *,
    run_name: str | None = None,
    tracking_uri: str | None = None,
    store="mlruns",
    experiment: str = "riskscreen",
    evaluation=None,
    screening=None,
    register_as: str | None = None,
) -> TrackedRun:
    """Log a fitted :class:`Screener` as one MLflow run.

    Parameters
    ----------
    screener : fitted Screener
    histories : LinkedHistories, optional
        Only used for the data fingerprint (row counts and hashes); defaults to the
        fingerprint recorded at fit.
    run_name : str, optional
    tracking_uri : str, optional
        E.g. ``"http://mlflow.internal:5000"``. Default: the local store in ``store``.
    store : path, default="mlruns"
        Folder of the local store (``mlflow.db`` and ``artifacts/``).
    experiment : str, default="riskscreen"
    evaluation : Comparison, optional
        From :meth:`Screener.evaluate`; logged as ``test.*`` metrics and CSV tables.
    screening : Screening, optional
        Only its band summary and counts are logged (no per-pupil rows).
    register_as : str, optional
        Register the model under this name in the model registry.

    Returns
    -------
    TrackedRun
        ``screener_uri`` loads it back with :func:`load_screener`.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(screener, "model_")
    artifact_root = None
    if tracking_uri is None:
        tracking_uri = local_tracking_uri(store)
        artifact_root = Path(store) / "artifacts"
    fingerprint = (
        data_fingerprint(histories) if histories is not None else screener.data_fingerprint_
    )
    payload = pickle.dumps(screener, protocol=pickle.HIGHEST_PROTOCOL)
    sha = hashlib.sha256(payload).hexdigest()
    with _using(tracking_uri) as mlflow, tempfile.TemporaryDirectory() as tmp:
        from mlflow.models import ModelSignature
        from mlflow.tracking import MlflowClient
        from mlflow.types import ColSpec, Schema

        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        exp_id = _experiment_id(client, experiment, artifact_root)
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            run_id = run.info.run_id
            params = {
                f"screener.{k}": _param_value(v) for k, v in screener.get_params(deep=False).items()
            }
            params.update(
                {
                    f"model.{k}": _param_value(v)
                    for k, v in screener.model_.get_params(deep=False).items()
                }
            )
            params["n_features"] = str(len(screener.feature_names_))
            params["train_dates"] = ",".join(screener.train_dates_)
            params["calibration_dates"] = ",".join(screener.calibration_dates_)
            mlflow.log_params(params)
            info = screener.model_info_
            mlflow.set_tags(
                {
                    "riskscreen.version": info["riskscreen_version"],
                    "riskscreen.model_class": info["model_class"],
                    "riskscreen.params_hash": info["params_hash"],
                    "riskscreen.data_fingerprint": fingerprint["combined"],
                    "riskscreen.fit_timestamp": info["fit_timestamp"],
                    "riskscreen.outcome": screener.outcome,
                    SHA_TAG: sha,
                }
            )
            metrics = {
                "n_train_rows": float(screener.n_train_rows_),
                "n_calibration_rows": float(screener.n_calibration_rows_),
            }
            metrics.update(_comparison_metrics("validation", screener.validation_))
            if evaluation is not None:
                metrics.update(_comparison_metrics("test", evaluation))
            if screening is not None:
                metrics["screening.n_pupils"] = float(len(screening.frame))
                metrics["screening.n_flagged"] = float(screening.k)
            mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})

            out = Path(tmp)
            spec_table = (
                screener.spec_.describe()
                if hasattr(screener.spec_, "describe")
                else (pd.DataFrame({"name": screener.feature_names_}))
            )
            spec_table.to_csv(out / "feature_spec.csv", index=False)
            (out / "feature_spec.json").write_text(
                spec_table.to_json(orient="records", indent=1, default_handler=str)
            )
            (out / "data_fingerprint.json").write_text(json.dumps(fingerprint, indent=1))
            (out / "model_info.json").write_text(json.dumps(info, indent=1, default=str))
            screener.validation_.to_frame().to_csv(out / "validation.csv")
            if evaluation is not None:
                evaluation.to_frame().to_csv(out / "evaluation.csv")
                (out / "evaluation.md").write_text(evaluation.to_markdown())
                if evaluation.bands is not None:
                    evaluation.bands.to_csv(out / "evaluation_bands.csv")
            if screening is not None:
                screening.summary().to_csv(out / "screening_summary.csv")
            for f in sorted(out.iterdir()):
                mlflow.log_artifact(str(f), artifact_path="tables")
            screener_dir = out / "screener"
            screener_dir.mkdir()
            (screener_dir / "screener.pkl").write_bytes(payload)
            mlflow.log_artifact(str(screener_dir / "screener.pkl"), artifact_path="screener")

            signature = ModelSignature(
                inputs=Schema([ColSpec("double", n) for n in screener.feature_names_])
            )
            model_info = mlflow.sklearn.log_model(
                screener.calibrated_,
                name="model",
                signature=signature,
                pyfunc_predict_fn="predict_proba",
                serialization_format="cloudpickle",
                pip_requirements=_requirements(),
                registered_model_name=register_as,
            )
    version = getattr(model_info, "registered_model_version", None)
    return TrackedRun(
        run_id=run_id,
        experiment_id=exp_id,
        tracking_uri=tracking_uri,
        screener_uri=f"runs:/{run_id}/screener",
        model_uri=model_info.model_uri,
        registered_version=None if version is None else str(version),
    )


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for pkg in ("riskscreen", "scikit-learn", "lightgbm", "numpy", "pandas", "scipy"):
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:  # pragma: no cover
            reqs.append(pkg)
    return reqs


def _comparison_metrics(prefix: str, comparison) -> dict[str, float]:
    out = {}
    for scorer, row in comparison.table.iterrows():
        for col, value in row.items():
            out[_metric_key(prefix, str(scorer), str(col))] = float(value)
    out[f"{prefix}.k"] = float(comparison.k)
    out[f"{prefix}.n"] = float(comparison.n)
    return out


def _resolve_run(uri: str, client) -> str:
    if uri.startswith("runs:/"):
        return uri[len("runs:/") :].split("/")[0]
    if uri.startswith("models:/"):
        parts = uri[len("models:/") :].split("/")
        if len(parts) == 1 and parts[0].startswith("m-"):
            # an MLflow 3 logged-model URI (TrackedRun.model_uri): back to its run
            return client.get_logged_model(parts[0]).source_run_id
        if len(parts) != 2:
            raise ValueError(
                "A registry URI must look like 'models:/<name>/<version>' or "
                f"'models:/m-<model id>'. Got {uri!r} instead."
            )
        name, version = parts
        if not version.isdigit():
            version = client.get_model_version_by_alias(name, version).version
        return client.get_model_version(name, version).run_id
    if len(uri) == 32 and all(c in "0123456789abcdef" for c in uri):
        return uri
    raise ValueError(
        "The 'uri' parameter of load_screener must be 'runs:/<run_id>/screener', "
        f"'models:/<name>/<version>' or a run id. Got {uri!r} instead."
    )


def load_screener(uri: str, *, tracking_uri: str | None = None, store="mlruns"):
    """Load a tracked :class:`Screener` back, verifying its sha256.

    Parameters
    ----------
    uri : str
        ``runs:/<run_id>/screener`` (as in :attr:`TrackedRun.screener_uri`),
        ``models:/<name>/<version>``, the logged model's ``models:/m-<id>`` (as in
        :attr:`TrackedRun.model_uri`) or a run id.
    tracking_uri, store : as in :func:`track`.

    Raises
    ------
    ArtifactIntegrityError
        If the artefact's sha256 differs from the one recorded at logging time.
    """
    if tracking_uri is None:
        tracking_uri = local_tracking_uri(store)
    with _using(tracking_uri):
        return _load(uri, tracking_uri)


def _load(uri: str, tracking_uri: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    run_id = _resolve_run(uri, client)
    expected = client.get_run(run_id).data.tags.get(SHA_TAG)
    if not expected:
        raise ArtifactIntegrityError(
            f"Run {run_id} has no {SHA_TAG!r} tag; it was not logged by riskscreen.track."
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run_id, SCREENER_ARTIFACT, tmp)
        payload = Path(local).read_bytes()
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise ArtifactIntegrityError(
            f"The screener artefact of run {run_id} has sha256 {actual}, but {expected} was "
            "recorded when it was logged: the file has changed. Refusing to load it."
        )
    return pickle.loads(payload)  # noqa: S301 - integrity checked above
