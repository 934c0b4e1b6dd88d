"""LightGBM risk model: monotone constraints, temporal early stopping, deterministic."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from riskscreen.training._base import LogOddsClassifierMixin
from riskscreen.training._split import AS_OF, _as_offset


def monotone_vector(constraints, feature_names) -> list[int] | None:
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
                "The 'monotone_constraints' parameter of LGBMRiskModel, given as a sequence, "
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
                "The 'monotone_constraints' parameter of LGBMRiskModel must be a dict "
                "{feature: +1/-1/0}, a sequence, or a feature spec with monotone hints. Got "
                f"{type(constraints).__name__}."
            )
    unknown = sorted(set(map(str, mapping)) - set(names))
    if unknown and isinstance(constraints, Mapping):
        raise ValueError(
            f"monotone_constraints names features not in X: {unknown}. X has {names[:20]}."
        )
    out = []
    for n in names:
        v = mapping.get(n, 0)
        v = 0 if v is None or (isinstance(v, float) and np.isnan(v)) else int(np.sign(v))
        out.append(v)
    return out


class LGBMRiskModel(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (LightGBM) for rare-outcome risk, deterministic by default.

    Early stopping uses a *temporal* validation fold held out inside ``fit``: when
    ``X`` is indexed by (pupil_id, as_of_date) with at least two as-of dates, the
    latest ``validation_dates`` as-of dates are held out, the model is trained on
    earlier dates (only those whose label window of ``horizon`` closes before the
    held-out date, when ``horizon`` is given) until the validation log-loss stops
    improving for ``early_stopping_rounds`` rounds, and then - with ``refit=True``
    - retrained on all rows for the best number of rounds. With plain arrays or a
    single as-of date no rows are held out and ``n_estimators`` rounds are used
    (there is deliberately no random validation split).

    Parameters
    ----------
    n_estimators : int, default=400
        Maximum boosting rounds.
    learning_rate, num_leaves, min_child_samples, reg_lambda, colsample_bytree :
        LightGBM parameters (``min_data_in_leaf`` = ``min_child_samples``).
    monotone_constraints : dict, sequence or feature spec, optional
        ``{feature: +1 | -1 | 0}`` (+1: risk can only rise with the feature).
    early_stopping_rounds : int or None, default=30
    validation_dates : int, default=1
        How many of the latest as-of dates to hold out for early stopping.
    horizon : str or None, default=None
        Label window; if given, training rows for early stopping are those whose
        label window closes before the held-out date.
    refit : bool, default=True
    num_threads : int, default=1
        Fixed for determinism (LightGBM ``deterministic=True``, row-wise histograms).
    random_state : int, default=0

    Attributes
    ----------
    booster_ : lightgbm.Booster
    best_iteration_ : int
    early_stopping_ : dict
        What happened: used or not, validation dates, rounds.
    classes_, feature_names_in_, n_features_in_, feature_importances_
    """

    def __init__(
        self,
        n_estimators: int = 400,
        *,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        reg_lambda: float = 1.0,
        colsample_bytree: float = 1.0,
        monotone_constraints=None,
        early_stopping_rounds: int | None = 30,
        validation_dates: int = 1,
        horizon: str | None = None,
        refit: bool = True,
        num_threads: int = 1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.colsample_bytree = colsample_bytree
        self.monotone_constraints = monotone_constraints
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_dates = validation_dates
        self.horizon = horizon
        self.refit = refit
        self.num_threads = num_threads
        self.random_state = random_state

    def _params(self, monotone) -> dict:
        seed = 0 if self.random_state is None else int(self.random_state)
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l2": self.reg_lambda,
            "feature_fraction": self.colsample_bytree,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": int(self.num_threads),
            "seed": seed,
            "verbosity": -1,
        }
        if monotone is not None and any(monotone):
            params["monotone_constraints"] = monotone
            params["monotone_constraints_method"] = "advanced"
        return params

    def fit(self, X, y):
        import lightgbm as lgb

        if not isinstance(self.n_estimators, (int, np.integer)) or self.n_estimators < 1:
            raise ValueError(
                "The 'n_estimators' parameter of LGBMRiskModel must be a positive integer. "
                f"Got {self.n_estimators!r} instead."
            )
        dates = None
        if isinstance(getattr(X, "index", None), pd.MultiIndex) and AS_OF in X.index.names:
            dates = pd.to_datetime(X.index.get_level_values(AS_OF)).to_numpy("datetime64[ns]")
        X_arr, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                "Only binary classification is supported. The type of the target "
                f"is {y_type}; LGBMRiskModel needs y with exactly 2 classes."
            )
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        names = (
            list(self.feature_names_in_)
            if hasattr(self, "feature_names_in_")
            else [f"x{j}" for j in range(X_arr.shape[1])]
        )
        lgb_names = [f"f{j}" for j in range(len(names))]  # LightGBM-safe names
        monotone = monotone_vector(self.monotone_constraints, names)
        params = self._params(monotone)
        rounds = int(self.n_estimators)
        self.early_stopping_ = {"used": False, "reason": "no as-of dates in X"}
        if self.early_stopping_rounds and dates is not None:
            unique = np.unique(dates)
            n_val = int(self.validation_dates)
            if len(unique) <= n_val:
                self.early_stopping_ = {
                    "used": False,
                    "reason": f"only {len(unique)} as-of date(s); nothing left to train on",
                }
            else:
                val_dates = unique[-n_val:]
                val = np.isin(dates, val_dates)
                cutoff = pd.Timestamp(val_dates.min())
                if self.horizon is not None:
                    horizon = _as_offset(self.horizon, "horizon", "LGBMRiskModel")
                    limit = (cutoff - horizon).to_datetime64()
                    train = dates <= limit
                else:
                    train = dates < cutoff.to_datetime64()
                if train.sum() == 0 or len(np.unique(y_enc[val])) < 2:
                    self.early_stopping_ = {
                        "used": False,
                        "reason": "no training rows before the held-out date(s) or a single "
                        "class in them",
                    }
                else:
                    booster = lgb.train(
                        params,
                        lgb.Dataset(X_arr[train], y_enc[train], feature_name=lgb_names),
                        num_boost_round=rounds,
                        valid_sets=[lgb.Dataset(X_arr[val], y_enc[val], feature_name=lgb_names)],
                        callbacks=[
                            lgb.early_stopping(int(self.early_stopping_rounds), verbose=False)
                        ],
                    )
                    rounds = max(1, int(booster.best_iteration or rounds))
                    self.early_stopping_ = {
                        "used": True,
                        "validation_dates": [str(pd.Timestamp(d).date()) for d in val_dates],
                        "n_train_rows": int(train.sum()),
                        "n_validation_rows": int(val.sum()),
                        "best_iteration": rounds,
                        "best_validation_logloss": float(
                            booster.best_score["valid_0"]["binary_logloss"]
                        ),
                    }
                    if not self.refit:
                        self.booster_ = booster
        if not (self.early_stopping_["used"] and not self.refit):
            self.booster_ = lgb.train(
                params,
                lgb.Dataset(X_arr, y_enc, feature_name=lgb_names),
                num_boost_round=rounds,
            )
        self.best_iteration_ = rounds
        self.monotone_constraints_ = monotone
        self.feature_importances_ = self.booster_.feature_importance(
            importance_type="gain", iteration=rounds
        )
        self.n_iter_ = rounds
        return self

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the outcome."""
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self.booster_.predict(X, num_iteration=self.best_iteration_, raw_score=True)
