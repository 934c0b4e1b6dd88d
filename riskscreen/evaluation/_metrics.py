"""Metrics of a ranking: precision and recall at capacity k, AP, ROC AUC, calibration error.

Ranking metrics at k are *tie-aware*: when pupils tied on the score straddle the
capacity cut-off, the expected value under random tie-breaking is reported. This
is fair to coarse rule baselines (many pupils share "no prior suspensions") and
does not depend on row order. Average precision and ROC AUC are scikit-learn's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score


def check_labels(y_true) -> np.ndarray:
    """Outcomes as a float array of 0/1; missing (censored) labels are refused."""
    y = np.asarray(pd.array(y_true, dtype="float64").to_numpy(na_value=np.nan), dtype=float)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-d. Got shape {y.shape}.")
    if np.isnan(y).any():
        raise ValueError(
            "y_true contains missing (censored) labels; drop them before evaluating "
            f"({int(np.isnan(y).sum())} rows)."
        )
    return y


def check_scores(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    """(y, score) as float arrays of equal length, without missing values."""
    y = check_labels(y_true)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape:
        raise ValueError(
            "y_true and the scores must be 1-d and of equal length. "
            f"Got shapes {y.shape} and {s.shape}."
        )
    if np.isnan(s).any():
        raise ValueError(f"The scores contain {int(np.isnan(s).sum())} missing values.")
    return y, s


def resolve_k(k: float | int, n: int) -> int:
    """Capacity as a number of pupils: an int is a count, a float in (0, 1] a fraction."""
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(
            f"The capacity must be a fraction in (0, 1] or a positive count. Got {k!r} instead."
        )
    if isinstance(k, (int, np.integer)):
        if k < 1:
            raise ValueError(f"The capacity must be a positive count. Got {k!r} instead.")
        return int(min(k, n))
    if isinstance(k, (float, np.floating)) and 0 < k <= 1:
        return int(max(1, min(n, round(float(k) * n))))
    raise ValueError(
        f"The capacity must be a fraction in (0, 1] or a positive count. Got {k!r} instead."
    )


def expected_hits_at_k(y: np.ndarray, s: np.ndarray, k: int) -> float:
    """Expected number of positives among the top k, ties broken at random."""
    if k <= 0:
        return 0.0
    threshold = np.partition(s, len(s) - k)[len(s) - k]
    above = s > threshold
    tied = s == threshold
    n_above = int(above.sum())
    return float(y[above].sum() + (k - n_above) * y[tied].sum() / int(tied.sum()))


def precision_at_k(y_true, score, k: float | int = 0.05) -> float:
    """Share of the top-k pupils (by score) who have the outcome (tie-aware)."""
    y, s = check_scores(y_true, score)
    kk = resolve_k(k, len(y))
    return expected_hits_at_k(y, s, kk) / kk


def recall_at_k(y_true, score, k: float | int = 0.05) -> float:
    """Share of pupils with the outcome who are in the top k (tie-aware); NaN if none."""
    y, s = check_scores(y_true, score)
    pos = y.sum()
    if pos == 0:
        return float("nan")
    return expected_hits_at_k(y, s, resolve_k(k, len(y))) / pos


def average_precision(y_true, score) -> float:
    """Average precision (scikit-learn's); NaN when no pupil has the outcome."""
    y, s = check_scores(y_true, score)
    return ap(y, s)


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve (scikit-learn's); NaN with a single class."""
    y, s = check_scores(y_true, score)
    return auc(y, s)


def ap(y: np.ndarray, s: np.ndarray) -> float:
    """:func:`average_precision` on checked arrays."""
    if not y.any():
        return float("nan")
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        return float(average_precision_score(y, s))


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """:func:`roc_auc` on checked arrays."""
    if y.all() or not y.any():
        return float("nan")
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        return float(roc_auc_score(y, s))


def expected_calibration_error(
    y_true, proba, *, n_bins: int = 10, strategy: str = "quantile"
) -> float:
    """Expected calibration error: sum over bins of (bin share) x |observed - predicted|.

    ``strategy="quantile"`` uses equal-count bins (suited to rare outcomes, where
    uniform bins put nearly everyone in the first bin); ``"uniform"`` uses equal-width
    bins on [0, 1].
    """
    y, p = check_scores(y_true, proba)
    return ece(y, p, n_bins, strategy)


def ece(y: np.ndarray, p: np.ndarray, n_bins: int = 10, strategy: str = "quantile") -> float:
    """:func:`expected_calibration_error` on checked arrays."""
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)[1:-1]))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)[1:-1]
    else:
        raise ValueError(
            "The 'strategy' parameter of expected_calibration_error must be 'quantile' or "
            f"'uniform'. Got {strategy!r} instead."
        )
    bins = np.searchsorted(edges, p, side="right")
    gap = np.bincount(bins, weights=y - p, minlength=len(edges) + 1)
    return float(np.abs(gap).sum() / len(y))
