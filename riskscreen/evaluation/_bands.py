"""Risk bands: deciles, low/medium/high bands, and the observed outcome rate per band."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskscreen.evaluation._disclosure import SMALL_COUNT, suppress_small_counts
from riskscreen.evaluation._metrics import check_labels

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
) -> pd.Categorical:
    """Three-level (or more) risk bands from a score.

    Parameters
    ----------
    score : array-like
        Calibrated probability (``on="probability"``) or any ranking score
        (``on="percentile"``).
    cutoffs : increasing sequence of floats, default=(0.80, 0.95)
        With ``on="percentile"``: rank-percentile cut-offs (default: the top 5% are
        "high", the next 15% "medium"). With ``on="probability"``: probability
        cut-offs (e.g. ``(0.1, 0.3)``).
    labels : sequence of str
        Band names, one more than ``cutoffs``, lowest risk first.
    """
    check_bands(cutoffs, on, labels)
    cuts = np.asarray(list(cutoffs), dtype=float)
    s = np.asarray(score, dtype=float)
    if on == "percentile":
        values = pd.Series(s).rank(method="max", pct=True).to_numpy()
        codes = np.searchsorted(cuts, values, side="left")
    else:
        codes = np.searchsorted(cuts, s, side="right")
    return pd.Categorical.from_codes(codes, categories=list(labels), ordered=True)


def band_table(y_true, band, proba=None, *, min_count: int = SMALL_COUNT) -> pd.DataFrame:
    """Observed outcome rate per band (and mean predicted probability).

    Counts of pupils with the outcome below ``min_count`` (DfE practice: 5) are
    suppressed (shown as missing) together with the rate, and ``suppressed`` says
    so, with secondary suppression (:func:`suppress_small_counts`).
    """
    y = check_labels(y_true)
    frame = pd.DataFrame({"band": band, "y": y})
    if proba is not None:
        frame["p"] = np.asarray(proba, dtype=float)
    grouped = frame.groupby("band", observed=False, sort=True)
    out = pd.DataFrame(
        {
            "n_pupils": grouped["y"].size(),
            "n_outcome": grouped["y"].sum().astype("Int64"),
        }
    )
    out["observed_rate"] = (out["n_outcome"].astype(float) / out["n_pupils"]).astype(float)
    if proba is not None:
        out["mean_predicted"] = grouped["p"].mean()
    small = suppress_small_counts(out["n_outcome"], threshold=min_count)
    out["suppressed"] = small
    out.loc[small, "n_outcome"] = pd.NA
    out.loc[small, "observed_rate"] = np.nan
    return out


def band_tables(y_true, score, proba, *, bands) -> pd.DataFrame:
    """Observed outcome rate by risk band and by decile of ``score``, stacked.

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
