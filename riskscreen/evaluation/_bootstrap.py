"""Percentile bootstrap intervals that resample pupils, keeping each pupil's rows together."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from riskscreen.evaluation._metrics import check_scores


def resamples(groups, n: int, n_bootstrap: int, random_state) -> list[np.ndarray]:
    """Row indices of each bootstrap replicate, resampling whole clusters (pupils).

    With ``groups=None`` rows are resampled one by one.
    """
    rng = np.random.default_rng(random_state)
    if groups is None:
        return [rng.integers(0, n, n) for _ in range(n_bootstrap)]
    codes, _ = pd.factorize(np.asarray(groups))
    if len(codes) != n:
        raise ValueError(f"groups must have one entry per row ({n}); got {len(codes)}.")
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


def percentiles(draws, confidence: float) -> tuple[float, float]:
    """The (low, high) percentile interval of bootstrap draws, ignoring NaN draws."""
    draws = np.asarray(draws, dtype=float)
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    return float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha))


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
