"""Screeners fitted once per test process on a small synthetic authority, and reason cases."""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np
import pandas as pd

from riskscreen.explain._columns import resolve_columns
from riskscreen.explain._reasons import reason_table
from riskscreen.features import default_spec

FIT_DATES = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
TEST_DATE = "2023-06-01"
AS_OF = pd.Timestamp("2025-06-01")
#: Neutral values of the default features for hand-built pupils.
NEUTRAL = {"attendance_rate_4w": 0.95, "attendance_rate_13w": 0.95, "attendance_rate_1y": 0.95}
NEUTRAL |= {"absence_rate_1y": 0.05, "days_since_last_suspension": 3650.0, "ncyear": 8.0}
NEUTRAL |= {"days_since_last_suspension__missing": 1.0, "days_on_current_roll": 700.0}
NEUTRAL |= {"days_since_sen_identified": 3650.0, "days_since_sen_identified__missing": 1.0}


@lru_cache(maxsize=1)
def synthetic():
    from riskscreen.datasets import make_linked_histories

    return make_linked_histories(n_pupils=3000, seed=0)


@lru_cache(maxsize=1)
def datasets():
    from riskscreen.features import build_dataset

    h = synthetic()
    train = build_dataset(h, FIT_DATES, outcome="suspension")
    test = build_dataset(h, [TEST_DATE], outcome="suspension")
    return train, test


@cache
def screened(model: str = "lightgbm"):
    """(screener, screening at TEST_DATE) for "lightgbm" or "scorecard"."""
    from riskscreen import Screener

    train, test = datasets()
    screener = Screener(model=model, n_bootstrap=5).fit(train)
    return screener, screener.score(test)


def pupil_reasons(*pupils, spec=None, n_reasons=3, starts=None, extra_columns=()):
    """Reasons of hand-built pupils: each is (values by column, SHAP by column).

    Columns not given take NEUTRAL values (0 otherwise) and SHAP 0. Returns one
    list of sentences per pupil, strongest first.
    """
    spec = spec or default_spec()
    names = spec.output_names() + list(extra_columns)
    data = np.array([[{**NEUTRAL, **row}.get(c, 0.0) for c in names] for row, _ in pupils])
    values = np.array([[shap.get(c, 0.0) for c in names] for _, shap in pupils])
    table = reason_table(
        values,
        data,
        resolve_columns(names, spec),
        pd.Index(range(1, len(pupils) + 1), name="pupil_id"),
        as_of=AS_OF,
        n_reasons=n_reasons,
        starts=starts,
    )
    return [
        table.loc[table["pupil_id"] == i].sort_values("rank")["text"].astype(str).tolist()
        for i in range(1, len(pupils) + 1)
    ]


def one(row: dict, shap: dict, **kwargs) -> str:
    """The first reason of one hand-built pupil."""
    return pupil_reasons((row, shap), **kwargs)[0][0]
