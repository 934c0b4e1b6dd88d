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
saved screeners run no code
    A screener is saved in riskscreen's code-free format (JSON and arrays; only
    riskscreen, scikit-learn and LightGBM classes are rebuilt, without running
    their constructors), never as a pickle. :func:`track` signs it with an
    HMAC-SHA256 under the authority's key (``key=`` or ``RISKSCREEN_SIGNING_KEY``).
loading
    :func:`load_screener` loads a screener back by run, logged-model or registry
    URI after checking it against the signing key or a sha256 the caller kept
    (:attr:`TrackedRun.sha256`), refusing it (:class:`ArtifactIntegrityError`)
    otherwise. A hash kept only in the store is never trusted on its own.
"""

from riskscreen.tracking._format import ArtifactIntegrityError, UnsafeObjectError
from riskscreen.tracking._load import load_screener
from riskscreen.tracking._store import local_tracking_uri
from riskscreen.tracking._track import TrackedRun, track

__all__ = [
    "ArtifactIntegrityError",
    "TrackedRun",
    "UnsafeObjectError",
    "load_screener",
    "local_tracking_uri",
    "track",
]
