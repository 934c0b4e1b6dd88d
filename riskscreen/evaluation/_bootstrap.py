"""Percentile bootstrap intervals that resample pupils, keeping each pupil's rows together.

Two views of the same replicates: :func:`resamples` gives the row indices of each
replicate (for metrics that re-rank the resampled rows), :func:`replicate_weights`
gives how many times each row was drawn (for counts: a weighted sum over the
original rows). With the same ``groups`` and ``random_state`` both describe the
same resampled pupils, so a comparison and an audit share their replicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
from scipy.stats import norm

from riskscreen.evaluation._metrics import check_scores


def _clusters(groups, n: int) -> np.ndarray | None:
    """Cluster (pupil) code of each row, numbered by first appearance; None for rows."""
    if groups is None:
        return None
    codes, _ = pd.factorize(np.asarray(groups))
    if len(codes) != n:
        raise ValueError(f"groups must have one entry per row ({n}); got {len(codes)}.")
    return codes


def resamples(groups, n: int, n_bootstrap: int, random_state) -> list[np.ndarray]:
    """Row indices of each bootstrap replicate, resampling whole clusters (pupils).

    With ``groups=None`` rows are resampled one by one.
    """
    rng = np.random.default_rng(random_state)
    codes = _clusters(groups, n)
    if codes is None:
        return [rng.integers(0, n, n) for _ in range(n_bootstrap)]
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    n_clusters = len(counts)
    out = []
    for _ in range(n_bootstrap):
        chosen = rng.integers(0, n_clusters, n_clusters)
        lengths = counts[chosen]
        offsets = np.repeat(starts[chosen] - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        out.append(order[np.arange(lengths.sum()) + offsets])
    return out


def replicate_weights(
    groups, n: int, n_bootstrap: int, random_state, *, by_cluster: bool = False
) -> Iterator[np.ndarray]:
    """How many times each row (or each cluster) is drawn in each replicate, one at a time.

    The same draws as :func:`resamples` with the same arguments: a metric that
    is a weighted sum over rows gives the same value on either view. With
    ``by_cluster=True`` the counts per cluster (pupil) are yielded instead of per
    row (index them with the cluster codes of :func:`cluster_codes`).
    """
    if n_bootstrap == 0:
        return
    rng = np.random.default_rng(random_state)
    codes = _clusters(groups, n)
    size = n if codes is None else (int(codes.max()) + 1 if n else 0)
    for _ in range(n_bootstrap):
        drawn = np.bincount(rng.integers(0, size, size), minlength=size).astype(np.float32)
        yield drawn if (by_cluster or codes is None) else drawn[codes]


def cluster_codes(groups, n: int) -> np.ndarray:
    """Cluster code of each row as used by :func:`replicate_weights` (rows: 0..n-1)."""
    codes = _clusters(groups, n)
    return np.arange(n) if codes is None else codes


def percentiles(draws, confidence: float) -> tuple[float, float]:
    """The (low, high) percentile interval of bootstrap draws, ignoring NaN draws."""
    draws = np.asarray(draws, dtype=float)
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    return float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha))


def percentile_bounds(draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals column by column of a (replicates x statistics) array."""
    draws = np.asarray(draws, dtype=float)
    if draws.ndim == 1:
        draws = draws[:, None]
    alpha = (1 - confidence) / 2
    lo = np.full(draws.shape[1], np.nan)
    hi = np.full(draws.shape[1], np.nan)
    missing = np.isnan(draws)
    full = ~missing.any(axis=0)  # the common case: one vectorised quantile
    if full.any() and len(draws):
        lo[full], hi[full] = np.quantile(draws[:, full], [alpha, 1 - alpha], axis=0)
    some = ~full & (~missing).any(axis=0)
    if some.any():
        lo[some], hi[some] = np.nanquantile(draws[:, some], [alpha, 1 - alpha], axis=0)
    return lo, hi


def normal_interval(
    estimate: float, draws, confidence: float, *, lower: float = -np.inf, upper: float = np.inf
) -> tuple[float, float]:
    """Estimate +/- z x bootstrap standard error, clipped to [lower, upper].

    Used for statistics bounded at their best value, such as the expected
    calibration error: its absolute values make every resample's value
    positive when the estimate is near 0, so a percentile interval can lie
    entirely above its own estimate. This interval always contains the estimate.
    """
    draws = np.asarray(draws, dtype=float)
    draws = draws[~np.isnan(draws)]
    if draws.size < 2 or np.isnan(estimate):
        return float("nan"), float("nan")
    half = norm.ppf(0.5 + confidence / 2) * float(np.std(draws, ddof=1))
    return float(max(lower, estimate - half)), float(min(upper, estimate + half))


def bootstrap_interval(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true,
    score,
    *,
    groups=None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state: int | None = 0,
) -> tuple[float, float, float]:
    """(estimate, low, high): percentile bootstrap resampling pupils (``groups``) or rows.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscreen.evaluation import bootstrap_interval, precision_at_k
    >>> y = np.r_[np.ones(30), np.zeros(270)]
    >>> s = y + np.linspace(0, 1.5, 300)
    >>> est, lo, hi = bootstrap_interval(lambda a, b: precision_at_k(a, b, 30), y, s)
    >>> lo <= est <= hi
    True
    """
    y, s = check_scores(y_true, score)
    estimate = float(metric(y, s))
    draws = [metric(y[i], s[i]) for i in resamples(groups, len(y), n_bootstrap, random_state)]
    lo, hi = percentiles(draws, confidence)
    return estimate, lo, hi
