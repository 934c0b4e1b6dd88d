"""Explicit MLflow tracking of a fitted :class:`~riskscreen.Screener` (never inside ``fit``).

Only pseudonymous, aggregate information is logged: parameters, the feature
spec, metrics, per-table row counts and content hashes of the input data, the
model and summary tables -- never identifiers or rows of the input.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskscreen.tracking._format import dumps, sha256, sign
from riskscreen.tracking._store import client, quiet, resolve_store

SCREENER_FILE = "screener.rss"
SCREENER_ARTIFACT = f"screener/{SCREENER_FILE}"
SHA_TAG = "riskscreen.screener_sha256"
SIGNATURE_TAG = "riskscreen.screener_hmac_sha256"
#: Environment variable holding the authority's signing key (see :func:`track`).
KEY_ENV = "RISKSCREEN_SIGNING_KEY"
#: MLflow's limits per log_batch call.
_MAX_PARAMS, _MAX_METRICS = 100, 1000


@dataclass(frozen=True)
class TrackedRun:
    """Where a tracked screener went: run id, URIs to load it back."""

    run_id: str
    experiment_id: str
    tracking_uri: str
    screener_uri: str
    model_uri: str
    sha256: str = ""
    signed: bool = False
    registered_version: str | None = None

    def __str__(self) -> str:
        return f"MLflow run {self.run_id} at {self.tracking_uri} (load: {self.screener_uri})"


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
        text = str(value) if hasattr(value, "text") else type(value).__name__
    if len(text) > 6000:  # MLflow's limit on a parameter value
        text = text[:5900] + " ... sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return text


def _metric_key(*parts: str) -> str:
    return ".".join(p.replace(" ", "_").replace("@", "_at_") for p in parts)


def _comparison_metrics(prefix: str, comparison) -> dict[str, float]:
    out = {}
    for scorer, row in comparison.table.iterrows():
        for col, value in row.items():
            out[_metric_key(prefix, str(scorer), str(col))] = float(value)
    out[f"{prefix}.k"] = float(comparison.k)
    out[f"{prefix}.n"] = float(comparison.n)
    return out


def _experiment_id(mlflow_client, name: str, artifact_root: Path | None) -> str:
    exp = mlflow_client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None if artifact_root is None else artifact_root.resolve().as_uri()
    return mlflow_client.create_experiment(name, artifact_location=location)


def _params(screener) -> dict[str, str]:
    params = {f"screener.{k}": _param_value(v) for k, v in screener.get_params(deep=False).items()}
    params.update(
        {f"model.{k}": _param_value(v) for k, v in screener.model_.get_params(deep=False).items()}
    )
    params["n_features"] = str(len(screener.feature_names_))
    params["train_dates"] = ",".join(screener.train_dates_)
    params["calibration_dates"] = ",".join(screener.calibration_dates_)
    return params


def _metrics(screener, evaluation, screening) -> dict[str, float]:
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
    return {k: v for k, v in metrics.items() if np.isfinite(v)}


def _write_tables(out: Path, screener, fingerprint, evaluation, screening) -> None:
    spec_table = screener.spec_.describe()
    spec_table.to_csv(out / "feature_spec.csv", index=False)
    (out / "feature_spec.json").write_text(
        spec_table.to_json(orient="records", indent=1, default_handler=str)
    )
    (out / "data_fingerprint.json").write_text(json.dumps(fingerprint, indent=1))
    (out / "model_info.json").write_text(json.dumps(screener.model_info_, indent=1, default=str))
    screener.validation_.to_frame().to_csv(out / "validation.csv")
    if evaluation is not None:
        evaluation.to_frame().to_csv(out / "evaluation.csv")
        (out / "evaluation.md").write_text(evaluation.to_markdown())
        if evaluation.bands is not None:
            evaluation.bands.to_csv(out / "evaluation_bands.csv")
    if screening is not None:
        screening.summary().to_csv(out / "screening_summary.csv")


def _log_batches(mlflow_client, run_id: str, params: dict, metrics: dict, tags: dict) -> None:
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    param_list = [Param(k, v) for k, v in params.items()]
    metric_list = [Metric(k, v, now, 0) for k, v in metrics.items()]
    mlflow_client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    for i in range(0, len(param_list), _MAX_PARAMS):
        mlflow_client.log_batch(run_id, params=param_list[i : i + _MAX_PARAMS])
    for i in range(0, len(metric_list), _MAX_METRICS):
        mlflow_client.log_batch(run_id, metrics=metric_list[i : i + _MAX_METRICS])


def _log_model(mlflow_client, exp_id: str, run_id: str, screener, payload, sha, folder: Path):
    """Log the saved screener (code-free format) as the run's MLflow logged model."""
    folder.mkdir()
    (folder / SCREENER_FILE).write_bytes(payload)
    (folder / "signature.json").write_text(
        json.dumps({"inputs": list(screener.feature_names_), "sha256": sha}, indent=1)
    )
    (folder / "README.txt").write_text(
        "A riskscreen Screener in riskscreen's code-free format. Load it with "
        "riskscreen.tracking.load_screener(<models:/ URI>, key=... or sha256=...).\n"
    )
    logged = mlflow_client.create_logged_model(exp_id, name="model", source_run_id=run_id)
    mlflow_client.log_model_artifacts(logged.model_id, str(folder))
    mlflow_client.finalize_logged_model(logged.model_id, "READY")
    return mlflow_client.get_logged_model(logged.model_id)


def _register(mlflow_client, name: str, logged, run_id: str) -> str:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(name)
    except MlflowException:
        mlflow_client.create_registered_model(name)
    version = mlflow_client.create_model_version(
        name, source=logged.artifact_location, run_id=run_id, model_id=logged.model_id
    )
    return str(version.version)


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
    key: str | bytes | None = None,
    card=None,
) -> TrackedRun:
    """Log a fitted :class:`~riskscreen.Screener` as one MLflow run.

    The screener is saved in riskscreen's code-free format (loading it runs no
    code from the store) and, with a signing ``key``, signed with an
    HMAC-SHA256 that only holders of the key can produce; :func:`load_screener`
    then refuses any changed file. Without a key, keep ``TrackedRun.sha256``
    where the store's users cannot change it, and pass it to ``load_screener``.

    Parameters
    ----------
    screener : fitted Screener
    histories : LinkedHistories or path-like, optional
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
    key : str or bytes, optional
        The authority's signing key (default: the ``RISKSCREEN_SIGNING_KEY``
        environment variable, if set). Never logged.
    card : ModelCard, optional
        The run's :class:`~riskscreen.model_cards.ModelCard`: its files (Markdown
        with figures, HTML, JSON and the ATRS record) are logged under ``model_card/``.

    Returns
    -------
    TrackedRun
        ``screener_uri`` loads it back with :func:`load_screener`.
    """
    from sklearn.utils.validation import check_is_fitted

    from riskscreen.data import as_histories

    check_is_fitted(screener, "model_")
    if card is not None and not card.describes(screener):
        raise ValueError("The 'card' parameter of track must be the ModelCard of this screener.")
    uri, artifact_root = resolve_store(tracking_uri, store)
    fingerprint = (
        as_histories(histories, owner="track").fingerprint()
        if histories is not None
        else screener.data_fingerprint_
    )
    payload = dumps(screener)
    sha = sha256(payload)
    key = key if key is not None else os.environ.get(KEY_ENV) or None
    info = screener.model_info_
    tags = {
        "riskscreen.version": info["riskscreen_version"],
        "riskscreen.model_class": info["model_class"],
        "riskscreen.params_hash": info["params_hash"],
        "riskscreen.data_fingerprint": fingerprint["combined"],
        "riskscreen.fit_timestamp": info["fit_timestamp"],
        "riskscreen.outcome": str(screener.outcome),
        SHA_TAG: sha,
    }
    if key is not None:
        tags[SIGNATURE_TAG] = sign(payload, key)
    with quiet(), tempfile.TemporaryDirectory() as tmp:
        mlflow_client = client(uri)
        exp_id = _experiment_id(mlflow_client, experiment, artifact_root)
        run_id = mlflow_client.create_run(exp_id, run_name=run_name).info.run_id
        try:
            _log_batches(
                mlflow_client,
                run_id,
                _params(screener),
                _metrics(screener, evaluation, screening),
                tags,
            )
            tables = Path(tmp) / "tables"
            tables.mkdir()
            _write_tables(tables, screener, fingerprint, evaluation, screening)
            mlflow_client.log_artifacts(run_id, str(tables), "tables")
            if card is not None:
                card.write(Path(tmp) / "model_card")
                mlflow_client.log_artifacts(run_id, str(Path(tmp) / "model_card"), "model_card")
            saved = Path(tmp) / SCREENER_FILE
            saved.write_bytes(payload)
            mlflow_client.log_artifact(run_id, str(saved), "screener")
            logged = _log_model(
                mlflow_client, exp_id, run_id, screener, payload, sha, Path(tmp) / "model"
            )
            version = None
            if register_as is not None:
                version = _register(mlflow_client, register_as, logged, run_id)
        except BaseException:
            mlflow_client.set_terminated(run_id, "FAILED")
            raise
        mlflow_client.set_terminated(run_id, "FINISHED")
    return TrackedRun(
        run_id=run_id,
        experiment_id=exp_id,
        tracking_uri=uri,
        screener_uri=f"runs:/{run_id}/screener",
        model_uri=f"models:/{logged.model_id}",
        sha256=sha,
        signed=key is not None,
        registered_version=version,
    )


__all__ = ["KEY_ENV", "SHA_TAG", "SIGNATURE_TAG", "TrackedRun", "track"]
