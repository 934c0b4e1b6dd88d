"""Probability calibration of a fitted model on a later temporal fold.

Calibrated probabilities stay strictly inside (0, 1): no calibration fold can
show that a pupil is certain to have, or to avoid, the outcome.

- ``"isotonic"``: isotonic regression of the outcome on the model's score
  (pool-adjacent-violators), then each pooled block's rate is replaced by its
  add-one (Laplace) estimate ``(outcomes + 1) / (pupils + 2)`` and the blocks
  are pooled again where that broke the order. A block of 30 pupils who all
  had the outcome reads 31/32 = 0.969, not 1.0.
- ``"sigmoid"``: Platt scaling (a logistic curve of the score fitted with
  Platt's smoothed targets).

Both are finally held within ``[1 / (n + 2), (n + 1) / (n + 2)]`` for a fold of
``n`` rows, the add-one rate of a fold where nobody (or everybody) had the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.utils.validation import check_is_fitted

METHODS = {
    "isotonic": "isotonic regression with add-one (Laplace) smoothing of each pooled block",
    "sigmoid": "Platt scaling (logistic curve of the score, Platt's smoothed targets)",
}


def _response(estimator, X) -> np.ndarray:
    if hasattr(estimator, "decision_function"):
        return np.asarray(estimator.decision_function(X), dtype=float)
    return np.asarray(estimator.predict_proba(X)[:, 1], dtype=float)


def smoothed_isotonic(score: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score knots, probability at each knot) of the Laplace-smoothed isotonic map.

    Between knots the map is linear (as scikit-learn's isotonic regression);
    beyond them it is flat.
    """
    iso = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(score, y)
    knots_x = np.asarray(iso.X_thresholds_, dtype=float)
    knots_y = np.asarray(iso.y_thresholds_, dtype=float)
    fitted = iso.predict(score)
    levels, block = np.unique(fitted, return_inverse=True)  # one level per pooled block
    n = np.bincount(block, minlength=len(levels))
    hits = np.bincount(block, weights=y, minlength=len(levels))
    smoothed = (hits + 1) / (n + 2)
    # add-one rates can break the order of small blocks: pool them again, weighted
    smoothed = IsotonicRegression(increasing=True).fit_transform(
        np.arange(len(levels)), smoothed, sample_weight=n + 2
    )
    at = np.clip(np.searchsorted(levels, knots_y), 0, len(levels) - 1)
    return knots_x, smoothed[at]


def platt(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of ``p = 1 / (1 + exp(-(a * score + b)))`` by Platt's method."""
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    scale = float(np.std(score)) or 1.0
    z = (score - float(np.mean(score))) / scale

    def loss(ab):
        eta = ab[0] * z + ab[1]
        value = -np.sum(t * log_expit(eta) + (1 - t) * log_expit(-eta))
        grad = expit(eta) - t
        return value, np.array([np.sum(grad * z), np.sum(grad)])

    prior = np.log((n_pos + 1) / (n_neg + 1))
    res = minimize(loss, x0=np.array([1.0, prior]), jac=True, method="L-BFGS-B")
    a, b = res.x
    return float(a / scale), float(b - a * np.mean(score) / scale)


class CalibratedScorer(ClassifierMixin, BaseEstimator):
    """Calibrate an already-fitted classifier on a later temporal fold.

    ``fit(X_cal, y_cal)`` leaves ``estimator`` as it is (it is never refitted)
    and learns a map from its score (``decision_function``, else the
    probability it predicts) to a probability: Laplace-smoothed isotonic
    regression or Platt scaling (see the module docstring). Probabilities stay
    strictly inside (0, 1), within ``probability_bounds_``. Pass rows from
    as-of dates *after* the estimator's training dates.

    The ranking of :meth:`decision_function` is the estimator's own (isotonic maps
    create ties, so rank by ``decision_function``, read ``predict_proba``).

    Parameters
    ----------
    estimator : fitted classifier
        Must already be fitted (it is never refitted).
    method : {"isotonic", "sigmoid"}, default="isotonic"

    Attributes
    ----------
    method_description_ : str
        The calibration method in words (for model cards).
    probability_bounds_ : (float, float)
        The lowest and highest probability this calibration gives.
    """

    def __init__(self, estimator=None, method: str = "isotonic") -> None:
        self.estimator = estimator
        self.method = method

    def fit(self, X, y):
        from sklearn.exceptions import NotFittedError

        if self.method not in METHODS:
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
        classes = np.unique(y)
        if len(classes) != 2 or not np.isin(classes, (0.0, 1.0)).all():
            raise ValueError(
                "CalibratedScorer needs outcomes 0 and 1, both present, on the calibration "
                f"rows. Got classes {classes.tolist()}."
            )
        score = _response(self.estimator, X)
        n = len(y)
        self.probability_bounds_ = (1 / (n + 2), (n + 1) / (n + 2))
        if self.method == "isotonic":
            self.knots_ = smoothed_isotonic(score, y)
        else:
            self.sigmoid_ = platt(score, y)
        self.method_description_ = METHODS[self.method]
        self.classes_ = np.array([0, 1])
        if hasattr(self.estimator, "feature_names_in_"):
            self.feature_names_in_ = self.estimator.feature_names_in_
        self.n_features_in_ = getattr(self.estimator, "n_features_in_", None)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "probability_bounds_")
        score = _response(self.estimator, X)
        if self.method == "isotonic":
            p = np.interp(score, *self.knots_)
        else:
            a, b = self.sigmoid_
            p = expit(a * score + b)
        p = np.clip(p, *self.probability_bounds_)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "probability_bounds_")
        return _response(self.estimator, X)
