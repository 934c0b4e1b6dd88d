"""How good a ranked list is, for whom, and how sure we are.

Concepts
--------
capacity k
    How many pupils a panel can review (a count, or a fraction of the cohort):
    :func:`resolve_k`, :func:`rank_at_capacity`, :func:`flag_weights`. Metrics
    are read at k; pupils tied at the cut-off share the last places (tie-aware).
metrics
    :func:`precision_at_k` ("of the k flagged, how many went on to the outcome"),
    :func:`recall_at_k` ("of those with the outcome, how many were flagged"),
    :func:`lift_at_k`; :func:`average_precision` and :func:`roc_auc`
    (scikit-learn's); :func:`brier_score`, :func:`calibration_curve` and
    :func:`expected_calibration_error` of probabilities.
    :func:`evaluate_at_capacity` gives them all per as-of date and pooled, with
    the number flagged overall and per school (a :class:`CapacityReport`).
uncertainty
    :func:`bootstrap_interval` resamples pupils (all their rows together) for a
    percentile interval; every headline number carries one.
bands
    :func:`deciles`, :func:`assign_bands` (low/medium/high; the "high" band at
    the capacity's share is the list) and :func:`band_table` /
    :func:`band_tables` (observed outcome rate per band and decile).
small numbers
    :func:`suppress_small_counts`: counts under :data:`SMALL_COUNT` (5, DfE
    practice) are never shown, with secondary suppression where a total would
    reveal them; :func:`suppress_table` applies it to a whole table and
    withholds rates that would give a small count away; :func:`suppress_parts`
    protects counts that add up across a row to a total (e.g. the labels
    report). Every table a person reads goes through them. :func:`protect_cells`
    suppresses across all the figures of one output at once (a hidden count is
    never a sum or difference of shown ones): a :class:`Comparison` built with
    ``band_of_rows`` applies it to its header, every scorer's precision and
    recall and both band tables, and withholds ("c", interval kept) what would
    give a small count away.
comparison
    :func:`compare_scores` evaluates a model and the rule baselines on the same
    pupils and the same bootstrap replicates: a :class:`Comparison`. "Better
    than a baseline" is the verdict of the *paired* difference on those
    replicates; with too few cases the report says the scorers cannot be told
    apart. Accuracy is stated in words with its interval.
fairness audit
    :class:`FairnessAudit` (``from_screening`` / ``from_predictions``) audits
    the list at capacity by ethnicity, SEND, sex, FSM, social-care status,
    their intersections and any column the analyst names: rates by group with
    intervals, disparities against a reference group with multiple-comparison
    control and a tolerance band, small groups protected and marked
    unreliable, per-school capacity split into between- and within-school
    parts, and the worst-off subgroups. Sensitive features are passed
    explicitly (``sensitive_features=``), never as model inputs.
mitigation
    :class:`CapacityThresholds` moves places on a fixed list of k between
    groups to equalise recall (or FPR, or selection rate);
    :func:`compare_mitigation` shows the precision cost (a :class:`MitigationReport`).
plots
    :class:`PrecisionRecallAtKDisplay`, :class:`GroupCalibrationDisplay` and
    :class:`DisparityDisplay` follow scikit-learn's Display pattern
    (matplotlib is imported only when drawing).

Example
-------
>>> import numpy as np
>>> from riskscreen.evaluation import compare_scores
>>> y = np.r_[np.ones(20), np.zeros(380)]
>>> model = y + np.linspace(0, 2, 400)
>>> rule = np.linspace(0, 1, 400)
>>> c = compare_scores(y, {"model": model, "rule": rule}, k=20, n_bootstrap=50)
>>> c.table.loc["model", "precision_at_k"] > c.table.loc["rule", "precision_at_k"]
True
"""

from riskscreen.evaluation._audit import FairnessAudit
from riskscreen.evaluation._bands import (
    BAND_LABELS,
    assign_bands,
    band_table,
    band_tables,
    deciles,
)
from riskscreen.evaluation._bootstrap import bootstrap_interval
from riskscreen.evaluation._capacity import CapacityReport, evaluate_at_capacity
from riskscreen.evaluation._comparison import METRICS, Comparison, compare_scores
from riskscreen.evaluation._disclosure import (
    SMALL_COUNT,
    protect_cells,
    suppress_parts,
    suppress_small_counts,
    suppress_table,
)
from riskscreen.evaluation._display import (
    DisparityDisplay,
    GroupCalibrationDisplay,
    PrecisionRecallAtKDisplay,
)
from riskscreen.evaluation._metrics import (
    average_precision,
    brier_score,
    calibration_curve,
    expected_calibration_error,
    lift_at_k,
    precision_at_k,
    recall_at_k,
    resolve_k,
    roc_auc,
)
from riskscreen.evaluation._mitigation import (
    CapacityThresholds,
    MitigationReport,
    compare_mitigation,
)
from riskscreen.evaluation._ranking import flag_weights, rank_at_capacity

__all__ = [
    "BAND_LABELS",
    "METRICS",
    "SMALL_COUNT",
    "CapacityReport",
    "CapacityThresholds",
    "Comparison",
    "DisparityDisplay",
    "FairnessAudit",
    "GroupCalibrationDisplay",
    "MitigationReport",
    "PrecisionRecallAtKDisplay",
    "assign_bands",
    "average_precision",
    "band_table",
    "band_tables",
    "bootstrap_interval",
    "brier_score",
    "calibration_curve",
    "compare_mitigation",
    "compare_scores",
    "deciles",
    "evaluate_at_capacity",
    "expected_calibration_error",
    "flag_weights",
    "lift_at_k",
    "precision_at_k",
    "rank_at_capacity",
    "recall_at_k",
    "resolve_k",
    "roc_auc",
    "protect_cells",
    "suppress_parts",
    "suppress_small_counts",
    "suppress_table",
]
