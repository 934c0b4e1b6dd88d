"""Calibration on a later temporal fold, and risk bands (deciles, low/medium/high)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

BAND_LABELS = ("low", "medium", "high")
SMALL_COUNT = 5


class CalibratedScorer(ClassifierMixin, BaseEstimator):
    """Calibrate an already-fitted classifier on a later temporal fold.

    ``fit(X_cal, y_cal)`` freezes ``estimator`` (scikit-learn's
    :class:`~sklearn.frozen.FrozenEstimator`; scikit-learn 1.9 no longer has
    ``cv="prefit"``) and learns an isotonic or sigmoid map from its scores to
    probabilities with :class:`~sklearn.calibration.CalibratedClassifierCV`.
    Pass rows from as-of dates *after* the estimator's training dates.

    The ranking of :meth:`decision_function` is the estimator's own (isotonic maps
    create ties, so rank by ``decision_function``, read ``predict_proba``).

    Parameters
    ----------
    estimator : fitted classifier
        Must already be fitted (it is never refitted).
    method : {"isotonic", "sigmoid"}, default="isotonic"
    """

    def __init__(self, estimator=None, method: str = "isotonic") -> None:
        self.estimator = estimator
        self.method = method

    def fit(self, X, y):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.exceptions import NotFittedError
        from sklearn.frozen import FrozenEstimator

        if self.method not in ("isotonic", "sigmoid"):
            raise ValueError(
                "The 'method' parameter of CalibratedScorer must be 'isotonic' or 'sigmoid'. "
                f"Got {self.method!r} instead."
            )
        if self.estimator is None:
            raise ValueError("The 'estimator' parameter of CalibratedScorer must be set.")
        try:
            check_is_fitted(self.estimator)
        except NotFittedError as exc:
            raise ValueError(
                "The 'estimator' of CalibratedScorer must already be fitted on earlier "
                "as-of dates; fit it first (CalibratedScorer never refits it)."
            ) from exc
        y = np.asarray(pd.array(y, dtype="float64").to_numpy(na_value=np.nan))
        if np.isnan(y).any():
            raise ValueError("y contains missing (censored) labels; drop those rows first.")
        self.calibrator_ = CalibratedClassifierCV(
            FrozenEstimator(self.estimator), method=self.method
        ).fit(X, y.astype(int))
        self.classes_ = self.calibrator_.classes_
        if hasattr(self.estimator, "feature_names_in_"):
            self.feature_names_in_ = self.estimator.feature_names_in_
        self.n_features_in_ = getattr(self.estimator, "n_features_in_", None)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "calibrator_")
        return self.calibrator_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "calibrator_")
        est = self.estimator
        if hasattr(est, "decision_function"):
            return np.asarray(est.decision_function(X), dtype=float)
        return np.asarray(est.predict_proba(X)[:, 1], dtype=float)


def deciles(score) -> np.ndarray:
    """Risk decile 1-10 by rank of ``score`` (10 = highest risk; ties share a decile)."""
    s = pd.Series(np.asarray(score, dtype=float))
    pct = s.rank(method="max", pct=True).to_numpy()
    return np.clip(np.ceil(pct * 10), 1, 10).astype(int)


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
    cuts = np.asarray(list(cutoffs), dtype=float)
    if len(labels) != len(cuts) + 1 or np.any(np.diff(cuts) <= 0):
        raise ValueError(
            "The 'cutoffs' of assign_bands must be strictly increasing with one fewer entry "
            f"than 'labels' ({list(labels)}). Got {list(cutoffs)!r} instead."
        )
    s = np.asarray(score, dtype=float)
    if on == "percentile":
        if np.any((cuts <= 0) | (cuts >= 1)):
            raise ValueError(
                f"Percentile cut-offs must lie in (0, 1). Got {list(cutoffs)!r} instead."
            )
        values = pd.Series(s).rank(method="max", pct=True).to_numpy()
        codes = np.searchsorted(cuts, values, side="left")
    elif on == "probability":
        codes = np.searchsorted(cuts, s, side="right")
    else:
        raise ValueError(
            f"The 'on' parameter of assign_bands must be 'percentile' or 'probability'. "
            f"Got {on!r} instead."
        )
    return pd.Categorical.from_codes(codes, categories=list(labels), ordered=True)


def band_table(y_true, band, proba=None, *, min_count: int = SMALL_COUNT) -> pd.DataFrame:
    """Observed outcome rate per band (and mean predicted probability).

    Counts of pupils with the outcome below ``min_count`` (DfE practice: 5) are
    suppressed (shown as missing) together with the rate, and ``suppressed`` says so.
    When only one count would be suppressed, the next smallest is suppressed too, so
    that it cannot be recovered from the total number of pupils with the outcome.
    """
    y = np.asarray(pd.array(y_true, dtype="float64").to_numpy(na_value=np.nan))
    if np.isnan(y).any():
        raise ValueError("y_true contains missing (censored) labels; drop those rows first.")
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
    small = ((out["n_outcome"] < min_count) & (out["n_outcome"] > 0)).astype(bool)
    if small.sum() == 1:
        # a lone suppressed count is the total (printed elsewhere) minus the others:
        # also suppress the next smallest non-zero count (secondary suppression)
        others = out["n_outcome"].astype(float).where(~small & (out["n_outcome"] > 0))
        if others.notna().any():
            small[others.idxmin()] = True
    out["suppressed"] = small
    out.loc[small, "n_outcome"] = pd.NA
    out.loc[small, "observed_rate"] = np.nan
    return out
