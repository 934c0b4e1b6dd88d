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
        limit = np.array([resolve_k(capacity, int(m)) for m in sizes])
        out["flagged"] = out["rank_in_school"].to_numpy() <= limit
    else:
        out["flagged"] = out["rank"].to_numpy() <= resolve_k(capacity, n)
    return out
