"""LightGBM risk model: monotone constraints, early stopping on a later date, deterministic."""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from riskscreen.training._base import LogOddsClassifierMixin, monotone_vector


class LGBMRiskModel(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees for rare-outcome risk: LightGBM's ``LGBMClassifier``.

    Deterministic by default, with monotone constraints given as a dict, a
    sequence or a feature spec. Early stopping uses the ``eval_set`` passed to
    :meth:`fit` -- in a :class:`~riskscreen.Screener`, the latest training as-of
    date, chosen by :meth:`TemporalSplit.holdout` so that the earlier dates'
    label windows close before it; there is deliberately no random validation
    split.

    Parameters
    ----------
    n_estimators : int, default=400
        Maximum boosting rounds.
    learning_rate, num_leaves, min_child_samples, reg_lambda, colsample_bytree :
        ``LGBMClassifier`` parameters.
    monotone_constraints : dict, sequence or feature spec, optional
        ``{feature: +1 | -1 | 0}`` (+1: risk can only rise with the feature).
    early_stopping_rounds : int or None, default=30
        With an ``eval_set``, stop when its log-loss has not improved for this
        many rounds.
    n_jobs : int, default=1
        Threads (fixed for determinism, with ``deterministic=True``).
    random_state : int, default=0

    Attributes
    ----------
    estimator_ : lightgbm.LGBMClassifier
    best_iteration_ : int
        Rounds used (the early-stopping optimum with an ``eval_set``).
    classes_, feature_names_in_, n_features_in_, feature_importances_ (gain)
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
        n_jobs: int = 1,
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
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _classifier(self, monotone):
        from lightgbm import LGBMClassifier

        extra = {}
        if monotone is not None and any(monotone):
            extra = {"monotone_constraints": monotone, "monotone_constraints_method": "advanced"}
        return LGBMClassifier(
            n_estimators=int(self.n_estimators),
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            reg_lambda=self.reg_lambda,
            colsample_bytree=self.colsample_bytree,
            importance_type="gain",
            deterministic=True,
            force_row_wise=True,
            n_jobs=int(self.n_jobs),
            random_state=0 if self.random_state is None else int(self.random_state),
            verbosity=-1,
            **extra,
        )

    def fit(self, X, y, *, eval_set=None):
        """Fit on (X, y); with ``eval_set=(X_val, y_val)``, stop early on its log-loss."""
        from lightgbm import early_stopping

        if not isinstance(self.n_estimators, (int, np.integer)) or self.n_estimators < 1:
            raise ValueError(
                "The 'n_estimators' parameter of LGBMRiskModel must be a positive integer. "
                f"Got {self.n_estimators!r} instead."
            )
        X_arr, y_enc, names = self._validate_binary(X, y)
        monotone = monotone_vector(self.monotone_constraints, names, owner="LGBMRiskModel")
        estimator = self._classifier(monotone)
        kwargs = {}
        if eval_set is not None:
            X_val, y_val = eval_set
            X_val = validate_data(
                self, X_val, reset=False, ensure_all_finite="allow-nan", dtype=np.float64
            )
            y_val = np.searchsorted(self.classes_, np.asarray(y_val))
            if "eval_X" in inspect.signature(estimator.fit).parameters:  # LightGBM >= 4.7
                kwargs.update(eval_X=(X_val,), eval_y=(y_val,))
            else:
                kwargs["eval_set"] = [(X_val, y_val)]
            if self.early_stopping_rounds:
                kwargs["callbacks"] = [early_stopping(int(self.early_stopping_rounds), verbose=0)]
        estimator.fit(X_arr, y_enc, **kwargs)
        self.estimator_ = estimator
        best = getattr(estimator, "best_iteration_", None)
        self.best_iteration_ = int(best) if best else int(self.n_estimators)
        self.monotone_constraints_ = monotone
        self.feature_importances_ = estimator.feature_importances_
        self.n_iter_ = self.best_iteration_
        return self

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the outcome."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self.estimator_.predict(X, raw_score=True, num_iteration=self.best_iteration_)
