"""Ranking a cohort and flagging the pupils a panel can review (capacity k)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.evaluation._metrics import resolve_k


def rank_at_capacity(
    score, *, tiebreak, capacity: float | int, schools=None, per_school: bool = False
) -> pd.DataFrame:
    """Rank by score (highest first) and flag the top ``capacity``, overall or per school.

    Parameters
    ----------
    score : array-like of float
        Higher is riskier.
    tiebreak : array-like
        Breaks ties in the score, ascending (e.g. the pseudonymous pupil key), so
        the ranking never depends on row order.
    capacity : float or int
        A fraction of the pupils (of each school with ``per_school``) or a count.
    schools : array-like, optional
        School of each pupil (missing: the pupils on no roll, ranked together).
    per_school : bool, default False
        Flag the top ``capacity`` of each school instead of overall.

    Returns
    -------
    DataFrame
        Columns ``rank`` (1 = highest), ``rank_in_school`` and ``flagged``, in the
        input's row order.
    """
    s = np.asarray(score, dtype=float)
    n = len(s)
    order = np.lexsort((np.asarray(tiebreak), -s))  # score desc, then tiebreak
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(1, n + 1)
    school = (
        np.full(n, -1.0)
        if schools is None
        else pd.array(schools, dtype="Float64").fillna(-1.0).to_numpy(dtype=float)
    )
    out = pd.DataFrame({"rank": rank})
    out["rank_in_school"] = out["rank"].groupby(school).rank(method="first").astype(int)
    if per_school:
        sizes = pd.Series(school).map(pd.Series(school).value_counts()).to_numpy()
        out["flagged"] = out["rank_in_school"].to_numpy() <= capacities(capacity, sizes)
    else:
        out["flagged"] = out["rank"].to_numpy() <= resolve_k(capacity, n)
    return out


def capacities(k: float | int, sizes) -> np.ndarray:
    """:func:`resolve_k` for many group sizes at once (same rounding, same errors)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    resolve_k(k, 10**9)  # the same checks and messages as a single capacity
    if isinstance(k, (int, np.integer)):
        return np.minimum(int(k), sizes)
    return np.clip(np.round(float(k) * sizes), 1, sizes).astype(np.int64)


def flag_weights(score, k: float | int, *, strata=None) -> np.ndarray:
    """Expected flag of each row when the top ``k`` of each stratum are flagged (tie-aware).

    Rows strictly above a stratum's cut-off score get 1, rows below get 0, and
    rows tied *at* the cut-off share the remaining places equally (the expected
    flag under random tie-breaking), so the weights of a stratum add up to
    exactly its capacity and never depend on row order.

    Parameters
    ----------
    score : array-like of float
        Higher is riskier.
    k : float or int
        Capacity per stratum: a fraction of its rows or a count (see :func:`resolve_k`).
    strata : array-like, optional
        Stratum of each row (an as-of date, a school, or both combined); missing
        values form one stratum. ``None``: all rows together.

    Returns
    -------
    ndarray of float in [0, 1]

    Examples
    --------
    >>> flag_weights([3.0, 2.0, 2.0, 1.0], 2).tolist()
    [1.0, 0.5, 0.5, 0.0]
    """
    s = np.asarray(score, dtype=float)
    n = len(s)
    if n == 0:
        return np.zeros(0)
    if strata is None:  # one stratum: a partial sort finds the cut-off
        kk = int(capacities(k, [n])[0])
        t = np.partition(s, n - kk)[n - kk]
        above = s > t
        tied = s == t
        return above + tied * ((kk - above.sum()) / tied.sum())
    codes, _ = pd.factorize(np.asarray(strata), use_na_sentinel=False)
    if len(codes) != n:
        raise ValueError(f"strata must have one entry per row ({n}); got {len(codes)}.")
    sizes = np.bincount(codes)
    kk = capacities(k, sizes)
    order = np.lexsort((-s, codes))
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    cut = s[order][starts + kk - 1]
    t = cut[codes]
    above = s > t
    tied = s == t
    n_above = np.bincount(codes, weights=above, minlength=len(sizes))
    n_tied = np.bincount(codes, weights=tied, minlength=len(sizes))
    share = (kk - n_above) / n_tied
    return above + tied * share[codes]
