"""Small-number protection for every count a person reads (statistical disclosure control).

DfE practice: counts of pupils below a threshold (default 5) are not published,
and where one suppressed count could be worked back from a total, the next
smallest count is suppressed too (secondary suppression). This module is the
one place that rule is applied; band tables, audits and packs call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def small_counts(counts, *, threshold: int = SMALL_COUNT) -> np.ndarray:
    """Primary suppression only: counts in ``[1, threshold)`` (fractional counts too)."""
    values = np.asarray(pd.array(counts, dtype="Float64").to_numpy(na_value=np.nan), dtype=float)
    return (values > 0) & (values < threshold)


def suppress_table(
    table: pd.DataFrame,
    counts: Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    rates: Mapping[str, Sequence[str]] | None = None,
    hidden: Sequence[str] = (),
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Apply small-number suppression to a whole table of counts and rates.

    Parameters
    ----------
    table : DataFrame
        One row per group (e.g. one per ethnicity, or per school).
    counts : sequence of str
        Count columns a person reads. Within each ``by`` block the rows of a
        count column add up to a total shown elsewhere, so each column is
        suppressed with :func:`suppress_small_counts` (secondary suppression
        included) and shown as missing.
    by : str or sequence of str, optional
        Columns or index levels whose values define the blocks (e.g. the
        attribute of an audit); ``None``: the whole table is one block.
    rates : mapping of str to sequence of str, optional
        Rate column -> the count columns it is computed from. A rate whose
        numerator or denominator is a small count (in ``[1, threshold)``) would
        give the count away, so its value is withheld (missing); its interval
        columns, if any, are kept.
    hidden : sequence of str
        Helper count columns used only by ``rates`` and dropped from the result.
    threshold : int, default 5

    Returns
    -------
    DataFrame
        The table with suppressed counts and withheld rates missing and a bool
        column ``suppressed`` (something in the row was hidden).

    Examples
    --------
    >>> t = pd.DataFrame({"n": [120, 3, 40], "n_outcome": [30, 1, 8]})
    >>> t["rate"] = t["n_outcome"] / t["n"]
    >>> out = suppress_table(t, ["n", "n_outcome"], rates={"rate": ["n", "n_outcome"]})
    >>> out["suppressed"].tolist()
    [False, True, True]
    >>> out["rate"].isna().tolist()
    [False, True, False]
    """
    if not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(
            "The 'threshold' parameter of suppress_table must be a positive whole "
            f"number. Got {threshold!r} instead."
        )
    out = table.copy()
    if by is None:
        blocks = np.zeros(len(out), dtype=np.int64)
    else:
        keys = [by] if isinstance(by, str) else list(by)
        frame = out.reset_index()[keys]
        blocks = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    hide = np.zeros(len(out), dtype=bool)
    for col in counts:
        values = out[col].to_numpy(dtype=float, na_value=np.nan)
        mask = np.zeros(len(out), dtype=bool)
        for b in np.unique(blocks):
            rows = np.flatnonzero(blocks == b)
            mask[rows] = suppress_small_counts(values[rows], threshold=threshold)
        if mask.any():
            out[col] = out[col].astype("Float64")
            out.loc[mask, col] = pd.NA
        hide |= mask
    for rate, sources in (rates or {}).items():
        withheld = np.zeros(len(out), dtype=bool)
        for col in sources:
            withheld |= small_counts(table[col], threshold=threshold)
        out.loc[withheld, rate] = np.nan
        hide |= withheld
    out["suppressed"] = hide
    return out.drop(columns=list(hidden))


def count_text(count, *, threshold: int = SMALL_COUNT) -> str:
    """A count for a sentence: 'fewer than 5' when it is in ``[1, threshold)``.

    >>> count_text(3), count_text(0), count_text(1234)
    ('fewer than 5', '0', '1,234')
    """
    value = float(count)
    if 0 < value < threshold:
        return f"fewer than {threshold}"
    return f"{value:,.0f}" if value == round(value) else f"{value:,.1f}"


def recoverable(row, published, *, tol: float = 1e-8) -> bool:
    """Whether the cell ``row`` (its weights over the segments) is a linear
    combination of the ``published`` cells' rows: then its value can be worked
    out by adding and subtracting (multiples of) published figures."""
    row = np.asarray(row, dtype=float)
    if not row.any():
        return True
    P = np.asarray(published, dtype=float).reshape(-1, row.size)
    if len(P) == 0:
        return False
    coef, *_ = np.linalg.lstsq(P.T, row, rcond=None)
    return bool(np.abs(P.T @ coef - row).max() < tol * max(1.0, np.abs(row).max()))


def protect_cells(
    weights, values, *, can_hide=None, kinds=None, threshold: int = SMALL_COUNT
) -> np.ndarray:
    """Primary and secondary suppression across every table of one output.

    Each published figure is a *cell*: a sum of the same underlying counts (the
    *segments*, e.g. pupils with the outcome by band x decile x flagged), with a
    weight per segment. Cells in ``[1, threshold)`` are hidden (primary); then,
    while a hidden cell's weights are a linear combination of the shown cells'
    (so its value could be recovered by adding and subtracting published
    figures, across tables), the smallest shown cell that overlaps it is hidden
    too (secondary), one of the same kind if there is one.

    Parameters
    ----------
    weights : array-like (n_cells, n_segments)
        Weight of each segment in each cell (1 or 0; a share for tied places).
    values : array-like (n_cells,)
        The cells' values.
    can_hide : array-like of bool, optional
        Cells that secondary suppression may hide (default: all). The others
        (e.g. the total shown in a header) are hidden only when small.
    kinds : array-like, optional
        A kind per cell (e.g. "pupils with the outcome", "all pupils"): secondary
        suppression hides a cell of the exposed cell's kind first, so a small
        count with the outcome does not blank the pupil counts.
    threshold : int, default 5

    Returns
    -------
    ndarray of bool
        True for the cells not to show.

    Examples
    --------
    Bands low/high and their total over two segments: hiding the small "high"
    also hides "low", since total - low = high.

    >>> protect_cells([[1, 0], [0, 1], [1, 1]], [40, 3, 43],
    ...               can_hide=[True, True, False]).tolist()
    [True, True, False]
    """
    A = np.asarray(weights, dtype=float)
    v = np.asarray(values, dtype=float)
    hide = small_counts(v, threshold=threshold)
    free = np.ones(len(v), dtype=bool) if can_hide is None else np.asarray(can_hide, bool)
    kind = np.zeros(len(v)) if kinds is None else pd.factorize(np.asarray(kinds, dtype=object))[0]
    while True:
        exposed = [i for i in np.flatnonzero(hide) if recoverable(A[i], A[~hide]) and A[i].any()]
        if not exposed:
            return hide
        i = exposed[0]
        hide[_next_to_hide(A, v, hide, free, kind, i)] = True


def suppress_parts(
    table: pd.DataFrame,
    total: str,
    parts: Sequence[str],
    *,
    rates: Mapping[str, Sequence[str]] | None = None,
    shown_elsewhere: Sequence[Sequence[str]] = (),
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Suppress a table whose ``parts`` columns add up, across each row, to ``total``.

    In each row, parts in ``[1, threshold)`` are hidden, and then as many more
    as :func:`protect_cells` needs so that no hidden part equals the total less
    the parts shown. The total itself is hidden only when it is small. A rate
    is withheld wherever one of the counts it is computed from is hidden (from
    the rate and the other count, the hidden one could be worked out).

    Parameters
    ----------
    table : DataFrame
        One row per unit (e.g. per as-of date).
    total : str
        The count column the parts add up to (e.g. the cohort).
    parts : sequence of str
        Count columns adding up to ``total`` in each row.
    rates : mapping of str to sequence of str, optional
        Rate column -> the count columns it is computed from.
    shown_elsewhere : sequence of sequences of str
        Sums of parts that other outputs of the same run publish (e.g. the
        pupils with a known label, positives plus negatives, in an evaluation's
        header): no hidden part may be worked out with them either.
    threshold : int, default 5

    Returns
    -------
    DataFrame
        The table with hidden counts as <NA> (nullable integer columns),
        withheld rates NaN, and a bool column ``suppressed``.

    Examples
    --------
    >>> t = pd.DataFrame({"n": [100, 100], "yes": [3, 40], "no": [90, 60], "gone": [7, 0]})
    >>> out = suppress_parts(t, "n", ["yes", "no", "gone"])
    >>> out["yes"].isna().tolist(), out["gone"].isna().tolist(), out["no"].isna().tolist()
    ([True, False], [True, False], [False, False])
    """
    parts = list(parts)
    counts = [total, *parts]
    sums = [np.isin(parts, list(cols)).astype(float) for cols in shown_elsewhere]
    weights = np.vstack([np.ones(len(parts)), np.eye(len(parts)), *sums])
    can_hide = np.array([False, *([True] * len(parts)), *([False] * len(sums))])
    values = table[counts].to_numpy(dtype=float, na_value=np.nan)
    values = np.hstack([values, values[:, 1:] @ weights[len(counts) :].T])
    hide = np.zeros(values.shape, dtype=bool)
    for i, row in enumerate(values):
        known = ~np.isnan(row)
        hide[i, known] = protect_cells(
            weights[known], row[known], can_hide=can_hide[known], threshold=threshold
        )
    hide = hide[:, : len(counts)]
    out = table.copy()
    for j, col in enumerate(counts):
        out[col] = pd.array(values[:, j], dtype="Float64").round().astype("Int64")
        out.loc[hide[:, j], col] = pd.NA
    hidden = pd.DataFrame(hide, columns=counts, index=table.index)
    for rate, sources in (rates or {}).items():
        out.loc[hidden[list(sources)].any(axis=1).to_numpy(), rate] = np.nan
    out["suppressed"] = hide.any(axis=1)
    return out


def withhold_flat_intervals(table: pd.DataFrame, metrics, rows=None) -> pd.DataFrame:
    """Withhold the intervals of withheld estimates where the interval is a single value.

    An interval is kept beside a withheld estimate ("c (0.12-0.48)") to show how
    uncertain it is; but when every bootstrap replicate gave the same value (e.g.
    a recall of 2 of 2 pupils, 1.000-1.000) the interval *is* the estimate, so
    it is withheld too. ``rows`` (bool mask) limits this to some rows; by
    default, the rows whose estimate is missing.
    """
    out = table.copy()
    for m in metrics:
        low, high = f"{m}_low", f"{m}_high"
        if low not in out or high not in out:
            continue
        mask = out[m].isna().to_numpy() if rows is None else np.asarray(rows, dtype=bool)
        flat = np.isclose(
            out[low].to_numpy(dtype=float, na_value=np.nan),
            out[high].to_numpy(dtype=float, na_value=np.nan),
            rtol=0,
            atol=1e-12,
        )
        out.loc[mask & flat, [low, high]] = np.nan
    return out


def _next_to_hide(A, v, hide, free, kind, i) -> int:
    """The shown cell to hide so that hidden cell ``i`` can no longer be worked out.

    Tried in order: cells of ``i``'s kind (its siblings in the same table), then
    any other cell that may be hidden, each smallest first; the first whose
    hiding protects ``i`` is chosen. When no single cell does, the smallest cell
    overlapping ``i`` is hidden and the search goes on from there.
    """
    shown = np.flatnonzero(~hide & free)
    size = np.where(v > 0, v, np.inf)
    order = sorted(shown, key=lambda j: (kind[j] != kind[i], size[j], j))
    for j in order:
        trial = hide.copy()
        trial[j] = True
        if not recoverable(A[i], A[~trial]):
            return int(j)
    overlap = (A[:, A[i] != 0] != 0).any(axis=1)
    for pool in (~hide & free & overlap, ~hide & free, ~hide):
        candidates = np.flatnonzero(pool)
        if len(candidates):
            return int(candidates[np.argmin(size[candidates])])
    raise AssertionError("every cell is hidden and one is still recoverable")


__all__ = [
    "SMALL_COUNT",
    "count_text",
    "protect_cells",
    "recoverable",
    "small_counts",
    "suppress_parts",
    "suppress_small_counts",
    "suppress_table",
    "withhold_flat_intervals",
]
