"""Loading a tracked :class:`~riskscreen.Screener` back, its bytes checked first."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from riskscreen.tracking._format import ArtifactIntegrityError, loads, verify
from riskscreen.tracking._store import client, quiet, resolve_store
from riskscreen.tracking._track import KEY_ENV, SCREENER_ARTIFACT, SHA_TAG, SIGNATURE_TAG


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


def load_screener(
    uri: str,
    *,
    tracking_uri: str | None = None,
    store="mlruns",
    key: str | bytes | None = None,
    sha256: str | None = None,
):
    """Load a tracked :class:`~riskscreen.Screener` back, checking it first.

    Nothing in the store is executed: the screener is in riskscreen's code-free
    format. Its bytes must match either ``sha256`` (kept by the caller from
    :attr:`TrackedRun.sha256`) or the HMAC-SHA256 signature recorded by
    :func:`track` under ``key`` (the authority's signing key, default the
    ``RISKSCREEN_SIGNING_KEY`` environment variable). A hash or signature that
    lives only in the store is never trusted on its own, since whoever can
    change the file can change it too.

    Parameters
    ----------
    uri : str
        ``runs:/<run_id>/screener`` (as in :attr:`TrackedRun.screener_uri`),
        ``models:/<name>/<version>``, the logged model's ``models:/m-<id>`` (as in
        :attr:`TrackedRun.model_uri`) or a run id.
    tracking_uri, store : as in :func:`track`.
    key : str or bytes, optional
        The signing key given to :func:`track`.
    sha256 : str, optional
        The screener's sha256, kept by the caller.

    Raises
    ------
    ArtifactIntegrityError
        If the file changed, is signed with another key, cannot be checked (no
        key and no sha256) or is not a saved screener.
    """
    from riskscreen import Screener

    key = key if key is not None else os.environ.get(KEY_ENV) or None
    uri_, _ = resolve_store(tracking_uri, store)
    with quiet():
        mlflow_client = client(uri_)
        run_id = _resolve_run(uri, mlflow_client)
        tags = mlflow_client.get_run(run_id).data.tags
        if SHA_TAG not in tags:
            raise ArtifactIntegrityError(
                f"Run {run_id} holds no screener logged by riskscreen.tracking.track."
            )
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow_client.download_artifacts(run_id, SCREENER_ARTIFACT, tmp)
            payload = Path(local).read_bytes()
    verify(payload, key=key, signature=tags.get(SIGNATURE_TAG), expected_sha256=sha256)
    screener = loads(payload)
    if not isinstance(screener, Screener):
        raise ArtifactIntegrityError(
            f"Run {run_id} holds a {type(screener).__name__}, not a Screener."
        )
    return screener


__all__ = ["ArtifactIntegrityError", "load_screener"]
