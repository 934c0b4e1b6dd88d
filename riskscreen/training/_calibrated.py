"""Probability calibration of a fitted model on a later temporal fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted


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
