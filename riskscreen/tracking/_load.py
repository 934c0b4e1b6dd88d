"""Loading a tracked :class:`~riskscreen.Screener` back, its bytes checked first."""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from pathlib import Path

from riskscreen.tracking._store import client, quiet, resolve_store
from riskscreen.tracking._track import SCREENER_ARTIFACT, SHA_TAG


class ArtifactIntegrityError(ValueError):
    """A logged screener's bytes do not match the sha256 recorded with its run."""


def _resolve_run(uri: str, mlflow_client) -> str:
    if uri.startswith("runs:/"):
        return uri[len("runs:/") :].split("/")[0]
    if uri.startswith("models:/"):
        parts = uri[len("models:/") :].split("/")
        if len(parts) == 1 and parts[0].startswith("m-"):
            # an MLflow 3 logged-model URI (TrackedRun.model_uri): back to its run
            return mlflow_client.get_logged_model(parts[0]).source_run_id
        if len(parts) != 2:
            raise ValueError(
                "A registry URI must look like 'models:/<name>/<version>' or "
                f"'models:/m-<model id>'. Got {uri!r} instead."
            )
        name, version = parts
        if not version.isdigit():
            version = mlflow_client.get_model_version_by_alias(name, version).version
        return mlflow_client.get_model_version(name, version).run_id
    if len(uri) == 32 and all(c in "0123456789abcdef" for c in uri):
        return uri
    raise ValueError(
        "The 'uri' parameter of load_screener must be 'runs:/<run_id>/screener', "
        f"'models:/<name>/<version>' or a run id. Got {uri!r} instead."
    )


def load_screener(uri: str, *, tracking_uri: str | None = None, store="mlruns"):
    """Load a tracked :class:`~riskscreen.Screener` back, verifying its sha256.

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
    uri_, _ = resolve_store(tracking_uri, store)
    with quiet():
        mlflow_client = client(uri_)
        run_id = _resolve_run(uri, mlflow_client)
        expected = mlflow_client.get_run(run_id).data.tags.get(SHA_TAG)
        if not expected:
            raise ArtifactIntegrityError(
                f"Run {run_id} has no {SHA_TAG!r} tag; it was not logged by riskscreen.track."
            )
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow_client.download_artifacts(run_id, SCREENER_ARTIFACT, tmp)
            payload = Path(local).read_bytes()
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise ArtifactIntegrityError(
            f"The screener artefact of run {run_id} has sha256 {actual}, but {expected} was "
            "recorded when it was logged: the file has changed. Refusing to load it."
        )
    return pickle.loads(payload)  # noqa: S301 - integrity checked above


__all__ = ["ArtifactIntegrityError", "load_screener"]
