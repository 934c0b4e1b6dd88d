"""A per-school screener on a small synthetic authority, and tiny hand-built screenings."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from riskscreen import Screening

FIT_DATES = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
DATES = ("2023-02-01", "2023-06-01")


@lru_cache(maxsize=1)
def synthetic():
    from riskscreen.datasets import make_linked_histories

    return make_linked_histories(n_pupils=3000, seed=0)


@lru_cache(maxsize=1)
def screened():
    """(screener, {date: screening}, {date: explanation of the flagged pupils})."""
    from riskscreen import Screener
    from riskscreen.explain import explain
    from riskscreen.features import build_dataset

    h = synthetic()
    train = build_dataset(h, FIT_DATES, outcome="suspension")
    test = build_dataset(h, list(DATES), outcome="suspension")
    screener = Screener(model="scorecard", per_school=True, capacity=0.05, n_bootstrap=5)
    screener.fit(train)
    screenings = {d: screener.score(test, d) for d in DATES}
    explanations = {d: explain(screener, s, pupils="flagged") for d, s in screenings.items()}
    return screener, screenings, explanations


def tiny_screening(as_of: str, scores: dict, *, schools: dict | None = None, capacity=2):
    """A screening of pupils with the given scores (probability = score / 10)."""
    ids = np.array(sorted(scores), dtype=np.int64)
    index = pd.MultiIndex.from_arrays(
        [ids, pd.DatetimeIndex([as_of] * len(ids))], names=["pupil_id", "as_of_date"]
    )
    X = pd.DataFrame({"x": [float(scores[i]) for i in ids]}, index=index)
    school = [(schools or {}).get(i, 1) for i in ids]
    cohort = pd.DataFrame(
        {"school_id": pd.array(school, dtype="Int64"), "ncyear": 9, "on_roll": True}, index=index
    )
    score = X["x"].to_numpy()
    return Screening.from_scores(
        X,
        cohort,
        score,
        score / 10,
        bands=pd.Categorical(["low"] * len(ids), categories=["low", "medium", "high"]),
        capacity=capacity,
        per_school=False,
        model_info={"params_hash": "h", "fit_timestamp": "t"},
        outcome="suspension",
    )
