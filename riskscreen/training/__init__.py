"""Temporal validation, models, rule baselines, calibration and tracking.

Concepts
--------
temporal split
    :class:`TemporalSplit` trains on earlier as-of dates whose label windows have
    closed before the test as-of date (``train as_of + horizon <= test as_of``) and
    tests on later dates; random splits are not offered.
models
    :class:`LogisticScorecard` (binned features + regularised logistic regression,
    read as points) and :class:`LGBMRiskModel` (LightGBM with monotone constraints,
    temporal early stopping, deterministic). Both are scikit-learn classifiers.
rule baselines
    :class:`PriorSuspensionsRanker`, :class:`AttendanceRanker` and
    :class:`RONIChecklist`: every headline number is compared with them.
calibration and bands
    :class:`CalibratedScorer` maps a fitted model's scores to probabilities on a
    later fold; :func:`assign_bands`, :func:`deciles` and :func:`band_table` give
    low/medium/high bands, deciles and the observed outcome rate per band.
metrics at capacity k
    :func:`precision_at_k`, :func:`recall_at_k`, :func:`average_precision`,
    :func:`roc_auc`, :func:`expected_calibration_error`, :func:`bootstrap_interval`
    and :func:`compare_scores` (a :class:`Comparison`).
screener
    :class:`Screener` is the analyst's one object: ``fit(histories, as_of_dates)``,
    ``score(histories, as_of_date)`` -> :class:`Screening`, ``evaluate(...)`` ->
    :class:`Comparison` against the baselines.
tracking
    :func:`track` logs a fitted screener to MLflow (local serverless store by
    default) and :func:`load_screener` loads it back, verifying its sha256.

Example
-------
>>> from riskscreen.training import Screener  # doctest: +SKIP
>>> screener = Screener(model="lightgbm", capacity=0.05).fit(
...     histories, ["2020-09-01", "2021-01-01", "2021-05-01", "2022-05-01"])  # doctest: +SKIP
>>> print(screener.evaluate(histories, "2023-06-01"))  # doctest: +SKIP
"""

from riskscreen.training._baselines import (
    RONI_CRITERIA,
    AttendanceRanker,
    Criterion,
    PriorSuspensionsRanker,
    RONIChecklist,
    default_baselines,
)
from riskscreen.training._calibration import (
    CalibratedScorer,
    assign_bands,
    band_table,
    deciles,
)
from riskscreen.training._lgbm import LGBMRiskModel
from riskscreen.training._metrics import (
    Comparison,
    average_precision,
    bootstrap_interval,
    compare_scores,
    expected_calibration_error,
    precision_at_k,
    recall_at_k,
    roc_auc,
)
from riskscreen.training._scorecard import LogisticScorecard
from riskscreen.training._screener import Screener, Screening, compare_with_baselines
from riskscreen.training._split import TemporalSplit, TemporalSplitDisplay
from riskscreen.training._tracking import (
    ArtifactIntegrityError,
    TrackedRun,
    data_fingerprint,
    load_screener,
    local_tracking_uri,
    track,
)

__all__ = [
    "RONI_CRITERIA",
    "ArtifactIntegrityError",
    "AttendanceRanker",
    "CalibratedScorer",
    "Comparison",
    "Criterion",
    "LGBMRiskModel",
    "LogisticScorecard",
    "PriorSuspensionsRanker",
    "RONIChecklist",
    "Screener",
    "Screening",
    "TemporalSplit",
    "TemporalSplitDisplay",
    "TrackedRun",
    "assign_bands",
    "average_precision",
    "band_table",
    "bootstrap_interval",
    "compare_scores",
    "compare_with_baselines",
    "data_fingerprint",
    "deciles",
    "default_baselines",
    "expected_calibration_error",
    "load_screener",
    "local_tracking_uri",
    "precision_at_k",
    "recall_at_k",
    "roc_auc",
    "track",
]
