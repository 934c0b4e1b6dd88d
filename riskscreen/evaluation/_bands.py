"""Risk bands: deciles, low/medium/high bands, and the observed outcome rate per band."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskscreen.evaluation._disclosure import SMALL_COUNT, suppress_small_counts
from riskscreen.evaluation._metrics import check_labels, resolve_k

BAND_LABELS = ("low", "medium", "high")


def deciles(score) -> np.ndarray:
    """Risk decile 1-10 by rank of ``score`` (10 = highest risk; ties share a decile)."""
    s = pd.Series(np.asarray(score, dtype=float))
    pct = s.rank(method="max", pct=True).to_numpy()
    return np.clip(np.ceil(pct * 10), 1, 10).astype(int)


def check_bands(cutoffs, on: str, labels=BAND_LABELS, *, owner: str = "assign_bands") -> None:
    """Raise unless ``cutoffs`` and ``on`` describe valid bands (see :func:`assign_bands`)."""
    try:
        cuts = np.asarray(list(cutoffs), dtype=float)
    except (TypeError, ValueError):
        cuts = None
    if cuts is None or cuts.ndim != 1 or len(labels) != len(cuts) + 1 or np.any(np.diff(cuts) <= 0):
        raise ValueError(
            f"The 'bands' parameter of {owner} must be strictly increasing cut-offs, one "
            f"fewer than the bands {list(labels)}. Got {cutoffs!r} instead."
        )
    if on not in ("percentile", "probability"):
        raise ValueError(
            f"The 'band_on' parameter of {owner} must be 'percentile' or 'probability'. "
            f"Got {on!r} instead."
        )
    if on == "percentile" and np.any((cuts <= 0) | (cuts >= 1)):
        raise ValueError(
            f"The 'bands' parameter of {owner} with band_on='percentile' must hold "
            f"rank-percentile cut-offs in (0, 1). Got {cutoffs!r} instead."
        )


def assign_bands(
    score,
    *,
    cutoffs: Sequence[float] = (0.80, 0.95),
    on: str = "percentile",
    labels: Sequence[str] = BAND_LABELS,
    tiebreak=None,
) -> pd.Categorical:
    """Three-level (or more) risk bands from a score.

    Parameters
    ----------
    score : array-like
        Calibrated probability (``on="probability"``) or any ranking score
        (``on="percentile"``).
    cutoffs : increasing sequence of floats, default=(0.80, 0.95)
        With ``on="percentile"``: rank-percentile cut-offs (default: the top 5% are
        "high", the next 15% "medium"). The band at or above cut-off ``c`` holds
        the top ``round((1 - c) * n)`` pupils, counted exactly as a capacity
        (:func:`resolve_k`), so with ``capacity=0.05`` the "high" band is the list.
        With ``on="probability"``: probability cut-offs (e.g. ``(0.1, 0.3)``).
    labels : sequence of str
        Band names, one more than ``cutoffs``, lowest risk first.
    tiebreak : array-like, optional
        Breaks ties in the score, ascending (as :func:`rank_at_capacity`, e.g.
        the pupil key), so the bands split tied pupils exactly as the list does.
        Without it, pupils tied at a cut-off all take the higher band.
    """
    check_bands(cutoffs, on, labels)
    cuts = np.asarray(list(cutoffs), dtype=float)
    s = np.asarray(score, dtype=float)
    if on == "percentile":
        n = len(s)
        if tiebreak is None:
            position = n - pd.Series(s).rank(method="max").to_numpy() + 1  # 1 = riskiest
        else:
            order = np.lexsort((np.asarray(tiebreak), -s))
            position = np.empty(n)
            position[order] = np.arange(1, n + 1)
        sizes = np.array([resolve_k(round(1 - c, 12), n) if n else 0 for c in cuts])
        codes = (position[:, None] <= sizes[None, :]).sum(axis=1)
    else:
        codes = np.searchsorted(cuts, s, side="right")
    return pd.Categorical.from_codes(codes, categories=list(labels), ordered=True)


def band_table(
    y_true, band, proba=None, *, min_count: int = SMALL_COUNT, suppress: bool = True
) -> pd.DataFrame:
    """Observed outcome rate per band (and mean predicted probability).

    Counts of pupils with the outcome below ``min_count`` (DfE practice: 5) are
    suppressed (shown as missing) together with the rate, and ``suppressed`` says
    so, with secondary suppression (:func:`suppress_small_counts`). Pupils with
    an unknown outcome (censored, missing in ``y_true``) stay in ``n_pupils``,
    are counted in ``n_censored`` and left out of the observed rate.
    ``suppress=False`` gives the raw counts, for callers that suppress across
    several tables at once (``compare_scores(..., band_of_rows=...)``).
    """
    y = check_labels(y_true, allow_missing=True)
    known = ~np.isnan(y)
    frame = pd.DataFrame({"band": band, "y": np.where(known, y, 0.0), "known": known})
    if proba is not None:
        frame["p"] = np.asarray(proba, dtype=float)
    grouped = frame.groupby("band", observed=False, sort=True)
    out = pd.DataFrame(
        {
            "n_pupils": grouped["y"].size(),
            "n_outcome": grouped["y"].sum().astype("int64").astype("Int64"),
        }
    )
    n_known = grouped["known"].sum()
    out["observed_rate"] = (out["n_outcome"].astype(float) / n_known).astype(float)
    if proba is not None:
        out["mean_predicted"] = grouped["p"].mean()
    out["n_censored"] = (out["n_pupils"] - n_known).astype("Int64")
    if not suppress:
        return out
    small = suppress_small_counts(out["n_outcome"], threshold=min_count)
    out["suppressed"] = small
    out.loc[small, "n_outcome"] = pd.NA
    out.loc[small, "observed_rate"] = np.nan
    hidden = suppress_small_counts(out["n_censored"], threshold=min_count)
    out.loc[hidden, "n_censored"] = pd.NA
    out["suppressed"] = small | hidden
    return out


def band_tables(y_true, score, proba, *, bands) -> pd.DataFrame:
    """Observed outcome rate by risk band and by decile of ``score``, stacked.

    ``y_true`` may hold missing (censored) outcomes: see :func:`band_table`.

    Indexed by (``grouping`` in {"band", "decile"}, ``level``); small counts are
    suppressed as in :func:`band_table`.
    """
    return pd.concat(
        {
            "band": band_table(y_true, bands, proba),
            "decile": band_table(
                y_true, pd.Categorical(deciles(score), categories=range(1, 11)), proba
            ),
        },
        names=["grouping", "level"],
    )
