"""Tracking runs in MLflow: every fitted screener, its data fingerprint and its numbers.

Concepts
--------
store
    MLflow with a local, serverless store by default (``sqlite:///<store>/mlflow.db``,
    artefacts beside it; :func:`local_tracking_uri`), or any tracking server by
    ``tracking_uri=``. riskscreen talks to it through one ``MlflowClient`` and
    never changes MLflow's process-wide settings.
run
    :func:`track` logs a fitted :class:`~riskscreen.Screener` (parameters,
    metrics of its validation and of an evaluation, the feature spec, the data
    fingerprint -- row counts and hashes, never identifiers or rows -- and the
    calibrated model as an MLflow logged model, optionally registered). Tracking
    is always an explicit call, never a side effect of ``fit``.
loading
    :func:`load_screener` loads a screener back by run, logged-model or registry
    URI, refusing it (:class:`ArtifactIntegrityError`) when its bytes differ
    from the sha256 recorded when it was logged.
"""

from riskscreen.tracking._load import ArtifactIntegrityError, load_screener
from riskscreen.tracking._store import local_tracking_uri
from riskscreen.tracking._track import TrackedRun, track

__all__ = ["ArtifactIntegrityError", "TrackedRun", "load_screener", "local_tracking_uri", "track"]
