"""Choosing a boosted model's number of rounds on a later as-of date, then refitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from riskscreen.training._split import TemporalSplit


def fit_with_early_stopping(model, X, y, row_dates, split: TemporalSplit) -> tuple[object, dict]:
    """Fit ``model`` on (X, y); a model with early stopping first picks its rounds.

    When ``model`` has a truthy ``early_stopping_rounds`` parameter (e.g.
    :class:`LGBMRiskModel`), the latest as-of date of ``row_dates`` is held out by
    :meth:`TemporalSplit.holdout` (so only dates whose label windows close before
    it train the probe), a clone is fitted with that date as its ``eval_set``, and
    the model is then refitted on every row for the best number of rounds.

    Returns
    -------
    (fitted model, info)
        ``info`` says whether early stopping was used, on which date, on how many
        rows, and the rounds chosen (or why not).
    """
    info: dict = {"used": False, "reason": "the model has no early stopping"}
    if model.get_params().get("early_stopping_rounds"):
        row_dates = pd.DatetimeIndex(row_dates)
        try:
            inner, held = split.holdout(row_dates.unique(), n_test=1)
        except ValueError as exc:
            info = {"used": False, "reason": str(exc)}
        else:
            a = np.asarray(row_dates.isin(inner))
            b = np.asarray(row_dates.isin(held))
            if len(np.unique(y[b])) < 2:
                info = {"used": False, "reason": "a single outcome class on the held-out date"}
            else:
                probe = clone(model).fit(X[a], y[a], eval_set=(X[b], y[b]))
                rounds = max(1, int(probe.best_iteration_))
                model.set_params(n_estimators=rounds, early_stopping_rounds=None)
                info = {
                    "used": True,
                    "validation_dates": [str(d.date()) for d in held],
                    "n_train_rows": int(a.sum()),
                    "n_validation_rows": int(b.sum()),
                    "best_iteration": rounds,
                }
    return model.fit(X, y), info
