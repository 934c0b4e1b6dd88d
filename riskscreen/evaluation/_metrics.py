"""Metrics of a ranking: precision and recall at capacity k, AP, ROC AUC, calibration error.

Ranking metrics at k are *tie-aware*: when pupils tied on the score straddle the
capacity cut-off, the expected value under random tie-breaking is reported. This
is fair to coarse rule baselines (many pupils share "no prior suspensions") and
does not depend on row order. Average precision and ROC AUC follow scikit-learn's
definitions (computed here with one sort, as they run inside every bootstrap replicate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def check_labels(y_true, *, allow_missing: bool = False) -> np.ndarray:
    """Outcomes as a float array of 0/1; missing (censored) labels are refused unless allowed."""
    if isinstance(y_true, (pd.Series, pd.Index)):
        y_true = y_true.array
    y = np.asarray(pd.array(y_true, dtype="Float64").to_numpy(na_value=np.nan), dtype=float)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-d. Got shape {y.shape}.")
    known = y[~np.isnan(y)]
    if not np.isin(known, (0.0, 1.0)).all():
        raise ValueError(
            "y_true must hold outcomes 0/1 (or True/False). Got values such as "
            f"{np.setdiff1d(known, [0.0, 1.0])[:3].tolist()}."
        )
    if not allow_missing and np.isnan(y).any():
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
    """Average precision (as scikit-learn's); NaN when no pupil has the outcome."""
    y, s = check_scores(y_true, score)
    return ap(y, s)


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve (as scikit-learn's); NaN with a single class."""
    y, s = check_scores(y_true, score)
    return auc(y, s)


def _curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true positives, false positives) above each distinct score, highest score first."""
    order = np.argsort(-s, kind="mergesort")
    ss = s[order]
    ends = np.r_[np.flatnonzero(ss[1:] != ss[:-1]), len(ss) - 1]
    tps = np.cumsum(y[order])[ends]
    return tps, (ends + 1) - tps


def ap(y: np.ndarray, s: np.ndarray) -> float:
    """:func:`average_precision` on checked arrays (scikit-learn's definition, one sort)."""
    if not y.any():
        return float("nan")
    tps, fps = _curve(y, s)
    recall_step = np.diff(np.r_[0.0, tps]) / tps[-1]
    return float(np.sum(recall_step * tps / (tps + fps)))


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """:func:`roc_auc` on checked arrays (trapezoids under the ROC curve, ties halved)."""
    if y.all() or not y.any():
        return float("nan")
    tps, fps = _curve(y, s)
    tpr = np.r_[0.0, tps] / tps[-1]
    fpr = np.r_[0.0, fps] / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


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


def quantile_edges(p: np.ndarray, n_bins: int = 10, strategy: str = "quantile") -> np.ndarray:
    """Inner bin edges of the calibration error: equal-count (quantile) or equal-width."""
    if strategy == "quantile":
        return np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)[1:-1]))
    if strategy == "uniform":
        return np.linspace(0, 1, n_bins + 1)[1:-1]
    raise ValueError(
        "The 'strategy' parameter of expected_calibration_error must be 'quantile' or "
        f"'uniform'. Got {strategy!r} instead."
    )


def ece(
    y: np.ndarray,
    p: np.ndarray,
    n_bins: int = 10,
    strategy: str = "quantile",
    *,
    edges: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> float:
    """:func:`expected_calibration_error` on checked arrays (optionally fixed edges, weights)."""
    if edges is None:
        edges = quantile_edges(p, n_bins, strategy)
    bins = np.searchsorted(edges, p, side="right")
    gap = y - p if weights is None else weights * (y - p)
    total = len(y) if weights is None else float(np.sum(weights))
    gaps = np.bincount(bins, weights=gap, minlength=len(edges) + 1)
    return float(np.abs(gaps).sum() / total) if total else float("nan")


def brier_score(y_true, proba) -> float:
    """Mean squared difference between the probability and the outcome (0 is perfect)."""
    y, p = check_scores(y_true, proba)
    return float(np.mean((p - y) ** 2))


def lift_at_k(y_true, score, k: float | int = 0.05) -> float:
    """Precision at k divided by the base rate: how many times likelier than at random."""
    y, s = check_scores(y_true, score)
    base = y.mean()
    if base == 0:
        return float("nan")
    kk = resolve_k(k, len(y))
    return expected_hits_at_k(y, s, kk) / kk / base


def calibration_curve(
    y_true, proba, *, n_bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Observed outcome rate against the mean predicted probability, bin by bin.

    Returns one row per non-empty bin: ``n`` (rows), ``mean_predicted``,
    ``observed_rate``, ``lower``/``upper`` probability edges. Counts are not
    suppressed here (the rows are bins of probability, not groups of people);
    tables for people go through :func:`suppress_small_counts`.
    """
    y, p = check_scores(y_true, proba)
    edges = quantile_edges(p, n_bins, strategy)
    bins = np.searchsorted(edges, p, side="right")
    m = len(edges) + 1
    n = np.bincount(bins, minlength=m)
    keep = n > 0
    bounds = np.r_[0.0, edges, 1.0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "n": n,
                "mean_predicted": np.bincount(bins, weights=p, minlength=m) / n,
                "observed_rate": np.bincount(bins, weights=y, minlength=m) / n,
                "lower": bounds[:-1],
                "upper": bounds[1:],
            }
        )
    out = out[keep].reset_index(drop=True)
    out.index.name = "bin"
    return out


def expected_hits_at(y: np.ndarray, s: np.ndarray, ks: np.ndarray, order=None) -> np.ndarray:
    """Expected hits among the top k for each k in ``ks`` (ties broken at random).

    ``order``: the rows by descending score, if already known.
    """
    order = np.argsort(-s, kind="stable") if order is None else order
    neg = -s[order]  # ascending
    hits = np.r_[0.0, np.cumsum(y[order])]
    ks = np.asarray(ks, dtype=np.int64)
    cut = neg[ks - 1]
    above = np.searchsorted(neg, cut, side="left")  # strictly higher scores
    through = np.searchsorted(neg, cut, side="right")  # higher or tied
    tied = hits[through] - hits[above]
    return hits[above] + (ks - above) * tied / (through - above)


def precision_recall_curve_at_k(
    y_true, score, *, max_points: int = 400, order=None
) -> pd.DataFrame:
    """Precision and recall of the top k for k from 1 to n (tie-aware), thinned to ``max_points``.

    Returns a DataFrame with ``k``, ``share`` (k / n), ``precision`` and ``recall``.
    """
    y, s = check_scores(y_true, score)
    n = len(y)
    if n == 0:
        return pd.DataFrame(columns=["k", "share", "precision", "recall"])
    k = np.unique(np.linspace(1, n, min(n, max_points)).round().astype(int))
    hits = expected_hits_at(y, s, k, order)
    pos = y.sum()
    return pd.DataFrame(
        {
            "k": k,
            "share": k / n,
            "precision": hits / k,
            "recall": hits / pos if pos else np.nan,
        }
    )
