"""What the built-in binary risk models share: tags, and probabilities from log-odds."""

from __future__ import annotations

import numpy as np
from scipy.special import expit


class LogOddsClassifierMixin:
    """Binary classifier whose ``decision_function`` returns the log-odds of the outcome.

    Gives ``predict_proba`` (the logistic of the log-odds), ``predict`` and the
    scikit-learn tags the risk models share (missing values allowed, binary only).
    Place it before ``ClassifierMixin`` and ``BaseEstimator`` in the bases.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]
