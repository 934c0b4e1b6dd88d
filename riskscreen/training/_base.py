"""What the built-in binary risk models share: input checks, monotone hints, probabilities."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import validate_data


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

    def _validate_binary(self, X, y) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Check (X, y) for ``fit``; set ``classes_``; return X, y as 0/1 and feature names."""
        X_arr, y = validate_data(
            self, X, y, ensure_all_finite="allow-nan", dtype=np.float64, y_numeric=False
        )
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                "Only binary classification is supported. The type of the target "
                f"is {y_type}; {type(self).__name__} needs y with exactly 2 classes."
            )
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        names = (
            [str(n) for n in self.feature_names_in_]
            if hasattr(self, "feature_names_in_")
            else [f"x{j}" for j in range(X_arr.shape[1])]
        )
        return X_arr, y_enc, names

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]


def monotone_vector(constraints, feature_names, *, owner: str) -> list[int] | None:
    """Monotone constraints in feature order from a dict, a sequence or a feature spec.

    A spec is read through ``spec.monotone`` / ``spec.monotone_constraints`` (dict or
    method returning one) or a ``describe()`` table with ``name`` and ``monotone``
    columns. Features not named get 0 (unconstrained).
    """
    if constraints is None:
        return None
    names = [str(n) for n in feature_names]
    mapping = None
    if isinstance(constraints, Mapping):
        mapping = dict(constraints)
    elif isinstance(constraints, (list, tuple, np.ndarray)):
        if len(constraints) != len(names):
            raise ValueError(
                f"The 'monotone_constraints' parameter of {owner}, given as a sequence, "
                f"must have one entry per feature ({len(names)}). Got {len(constraints)}."
            )
        mapping = dict(zip(names, constraints, strict=True))
    else:
        for attr in ("monotone_constraints", "monotone"):
            value = getattr(constraints, attr, None)
            value = value() if callable(value) else value
            if isinstance(value, Mapping):
                mapping = dict(value)
                break
        if mapping is None and hasattr(constraints, "describe"):
            table = constraints.describe()
            if {"name", "monotone"} <= set(table.columns):
                mapping = {
                    str(n): (0 if pd.isna(m) else int(m))
                    for n, m in zip(table["name"], table["monotone"], strict=True)
                }
        if mapping is None:
            raise TypeError(
                f"The 'monotone_constraints' parameter of {owner} must be a dict "
                "{feature: +1/-1/0}, a sequence, or a feature spec with monotone hints. Got "
                f"{type(constraints).__name__}."
            )
    unknown = sorted(set(map(str, mapping)) - set(names))
    if unknown and isinstance(constraints, Mapping):
        raise ValueError(
            f"The 'monotone_constraints' parameter of {owner} names features not in X: "
            f"{unknown}. X has {names[:20]}."
        )
    out = []
    for n in names:
        v = mapping.get(n, 0)
        v = 0 if v is None or (isinstance(v, float) and np.isnan(v)) else int(np.sign(v))
        out.append(v)
    return out
