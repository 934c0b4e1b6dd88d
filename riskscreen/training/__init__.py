"""Temporal validation, models, rule baselines and probability calibration.

Concepts
--------
temporal split
    :class:`TemporalSplit` trains on earlier as-of dates whose label windows have
    closed before the test as-of date (``train as_of + horizon <= test as_of``) and
    tests on later dates; random splits are not offered. It is the one place
    that rule is written (:meth:`TemporalSplit.holdout`,
    :meth:`TemporalSplit.check_test_dates`); :class:`TemporalSplitDisplay` draws
    its folds.
models
    :class:`LogisticScorecard` (binned features + regularised logistic regression,
    read as points) and :class:`LGBMRiskModel` (LightGBM's ``LGBMClassifier``
    with monotone constraints, early stopping on a given later date,
    deterministic). Both are scikit-learn classifiers.
rule baselines
    :class:`PriorSuspensionsRanker`, :class:`AttendanceRanker` and a RONI-style
    :class:`Checklist` (:func:`default_baselines`): every headline number is
    compared with them. An organisation's own rules: a :class:`Checklist` of
    :class:`Criterion` items over any features (``">= 2"``, ``"< 0.9"``,
    ``"== 0"``, ranges ``"[0.8, 0.9)"``) or a :class:`FeatureRanker` on one
    feature; any scikit-learn classifier can be a baseline too.
probability calibration
    :class:`CalibratedScorer` maps a fitted model's scores to probabilities on a
    later fold.

Metrics, bands and comparisons are in :mod:`riskscreen.evaluation`; the
:class:`~riskscreen.Screener` puts everything together.

Example
-------
>>> from riskscreen.training import TemporalSplit
>>> train, test = TemporalSplit(horizon="1Y").holdout(
...     ["2020-09-01", "2021-01-04", "2021-09-01", "2022-09-01"])
>>> [str(d.date()) for d in train], [str(d.date()) for d in test]
(['2020-09-01', '2021-01-04', '2021-09-01'], ['2022-09-01'])
"""

from riskscreen.training._baselines import (
    RONI_CRITERIA,
    AttendanceRanker,
    BaselineUnavailable,
    Checklist,
    Criterion,
    FeatureRanker,
    PriorSuspensionsRanker,
    default_baselines,
)
from riskscreen.training._calibrated import CalibratedScorer
from riskscreen.training._lgbm import LGBMRiskModel
from riskscreen.training._scorecard import LogisticScorecard
from riskscreen.training._split import TemporalSplit, TemporalSplitDisplay

__all__ = [
    "RONI_CRITERIA",
    "AttendanceRanker",
    "BaselineUnavailable",
    "CalibratedScorer",
    "Checklist",
    "Criterion",
    "FeatureRanker",
    "LGBMRiskModel",
    "LogisticScorecard",
    "PriorSuspensionsRanker",
    "TemporalSplit",
    "TemporalSplitDisplay",
    "default_baselines",
]
