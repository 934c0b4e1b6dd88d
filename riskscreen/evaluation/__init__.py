"""How good a ranked list is, for whom, and how sure we are.

Concepts
--------
capacity k
    How many pupils a panel can review (a count, or a fraction of the cohort):
    :func:`resolve_k`, :func:`rank_at_capacity`. Metrics are read at k.
metrics
    :func:`precision_at_k` ("of the k flagged, how many went on to the outcome"),
    :func:`recall_at_k` ("of those with the outcome, how many were flagged"),
    both tie-aware; :func:`average_precision` and :func:`roc_auc`
    (scikit-learn's); :func:`expected_calibration_error` of probabilities.
uncertainty
    :func:`bootstrap_interval` resamples pupils (all their rows together) for a
    percentile interval; every headline number carries one.
bands
    :func:`deciles`, :func:`assign_bands` (low/medium/high) and
    :func:`band_table` / :func:`band_tables` (observed outcome rate per band
    and decile).
small numbers
    :func:`suppress_small_counts`: counts under :data:`SMALL_COUNT` (5, DfE
    practice) are never shown, with secondary suppression where a total would
    reveal them. Every table a person reads goes through it.
comparison
    :func:`compare_scores` evaluates a model and the rule baselines on the same
    pupils and the same bootstrap replicates: a :class:`Comparison`, rendered
    as text, Markdown, HTML or a rich table, with the accuracy stated in words.

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

from riskscreen.evaluation._bands import (
    BAND_LABELS,
    assign_bands,
    band_table,
    band_tables,
    deciles,
)
from riskscreen.evaluation._bootstrap import bootstrap_interval
from riskscreen.evaluation._comparison import METRICS, Comparison, compare_scores
from riskscreen.evaluation._disclosure import SMALL_COUNT, suppress_small_counts
from riskscreen.evaluation._metrics import (
    average_precision,
    expected_calibration_error,
    precision_at_k,
    recall_at_k,
    resolve_k,
    roc_auc,
)
from riskscreen.evaluation._ranking import rank_at_capacity

__all__ = [
    "BAND_LABELS",
    "METRICS",
    "SMALL_COUNT",
    "Comparison",
    "assign_bands",
    "average_precision",
    "band_table",
    "band_tables",
    "bootstrap_interval",
    "compare_scores",
    "deciles",
    "expected_calibration_error",
    "precision_at_k",
    "rank_at_capacity",
    "recall_at_k",
    "resolve_k",
    "roc_auc",
    "suppress_small_counts",
]
