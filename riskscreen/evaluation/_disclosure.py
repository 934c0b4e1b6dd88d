"""Small-number protection for every count a person reads (statistical disclosure control).

DfE practice: counts of pupils below a threshold (default 5) are not published,
and where one suppressed count could be worked back from a total, the next
smallest count is suppressed too (secondary suppression). This module is the
one place that rule is applied; band tables, audits and packs call it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Counts below this are suppressed (DfE practice).
SMALL_COUNT = 5


def suppress_small_counts(counts, *, threshold: int = SMALL_COUNT) -> np.ndarray:
    """Which counts to suppress: those in ``[1, threshold)``, plus one more if needed.

    Parameters
    ----------
    counts : array-like of int
        Counts that add up to a total shown elsewhere (e.g. pupils with the
        outcome per risk band). Zeros are shown (they reveal no one).
    threshold : int, default 5

    Returns
    -------
    ndarray of bool
        True where the count must not be shown. When exactly one count would be
        suppressed, the next smallest non-zero count is suppressed too, so the
        hidden one cannot be recovered as the total minus the others.

    Examples
    --------
    >>> suppress_small_counts([120, 3, 40]).tolist()
    [False, True, True]
    """
    if not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(
            "The 'threshold' parameter of suppress_small_counts must be a positive whole "
            f"number. Got {threshold!r} instead."
        )
    values = np.asarray(pd.array(counts, dtype="Float64").to_numpy(na_value=np.nan), dtype=float)
    small = (values > 0) & (values < threshold)
    if small.sum() == 1:
        others = np.where(~small & (values > 0), values, np.inf)
        if np.isfinite(others).any():
            small[int(np.argmin(others))] = True
    return small


__all__ = ["SMALL_COUNT", "suppress_small_counts"]
