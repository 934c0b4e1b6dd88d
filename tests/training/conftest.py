"""Toy stand-ins so the training package is tested without the feature engine.

``ToyHistories`` carries a ready-made feature matrix, labels and cohort for a
few as-of dates; ``toy_features_api`` mimics the four functions of
``riskscreen.features`` that the Screener calls.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

DATES = pd.to_datetime(
    [
        "2020-09-01",
        "2021-01-01",
        "2021-05-01",
        "2021-09-01",
        "2022-01-01",
        "2022-05-01",
        "2023-06-01",
    ]
)
DATA_END = pd.Timestamp("2024-07-31")


def make_toy(n_pupils=3000, seed=0, dates=DATES, data_end=DATA_END, n_schools=20):
    """Pupils with a latent risk; features are noisy views of it; labels follow it."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n_pupils)
    school = rng.integers(1, n_schools + 1, n_pupils)
    school_effect = rng.normal(0, 0.4, n_schools + 1)
    frames, labels = [], []
    for i, d in enumerate(dates):
        drift = risk + rng.normal(0, 0.5, n_pupils)
        susp_1y = rng.poisson(np.exp(-2.2 + 0.9 * drift))
        susp_all = susp_1y + rng.poisson(np.exp(-1.8 + 0.8 * drift))
        att = np.clip(0.95 - 0.03 * drift + rng.normal(0, 0.03, n_pupils), 0.3, 1.0)
        X = pd.DataFrame(
            {
                "suspension_count_1y": susp_1y.astype(float),
                "suspension_count_all": susp_all.astype(float),
                "attendance_rate_1y": att,
                "persistent_absence_1y": (att < 0.9).astype(float),
                "sen_support_now": (rng.random(n_pupils) < 0.12 + 0.05 * (drift > 1)).astype(float),
                "fsm_now": (rng.random(n_pupils) < 0.2 + 0.1 * (drift > 0)).astype(float),
                "school_moves_2y": rng.poisson(0.1 + 0.1 * (drift > 1)).astype(float),
                "ncyear": ((np.arange(n_pupils) + i) % 7 + 5).astype(float),
                "days_since_last_suspension": np.where(
                    susp_all > 0, rng.integers(1, 700, n_pupils), np.nan
                ),
            },
            index=pd.MultiIndex.from_arrays(
                [np.arange(1, n_pupils + 1), np.full(n_pupils, d)],
                names=["pupil_id", "as_of_date"],
            ),
        )
        logit = -3.0 + 1.1 * drift + school_effect[school] + 0.2 * susp_1y
        y = pd.Series(rng.random(n_pupils) < 1 / (1 + np.exp(-logit)), index=X.index)
        y = y.astype("boolean")
        if d + pd.Timedelta("365D") > data_end:
            y[:] = pd.NA
        frames.append(X)
        labels.append(y)
    X = pd.concat(frames)
    cohort = pd.DataFrame(
        {
            "school_id": np.tile(school, len(dates)),
            "ncyear": X["ncyear"].astype(int).to_numpy(),
            "on_roll": True,
        },
        index=X.index,
    )
    pupils = pd.DataFrame(
        {"pupil_id": np.arange(1, n_pupils + 1), "sex": rng.choice(["M", "F"], n_pupils)}
    )
    return types.SimpleNamespace(X=X, y=pd.concat(labels), cohort=cohort, pupils=pupils, custom={})


class ToySpec:
    names = ["suspension_count_1y", "attendance_rate_1y"]

    def monotone_constraints(self):
        return {"suspension_count_1y": 1, "suspension_count_all": 1, "attendance_rate_1y": -1}

    def describe(self):
        return pd.DataFrame(
            {
                "name": list(self.monotone_constraints()),
                "description": "toy",
                "monotone": list(self.monotone_constraints().values()),
            }
        )


def _select(frame, dates):
    dates = pd.to_datetime(pd.Index(dates))
    return frame[frame.index.get_level_values("as_of_date").isin(dates)]


def toy_features_api():
    return types.SimpleNamespace(
        build_cohort=lambda h, dates, **kw: _select(h.cohort, dates),
        build_features=lambda h, dates, spec=None, *, cohort=None: _select(h.X, dates),
        make_labels=lambda h, dates, outcome="suspension", horizon="365D", *, cohort=None: _select(
            h.y, dates
        ),
        default_spec=ToySpec,
    )


@pytest.fixture
def toy_api(monkeypatch):
    from riskscreen.training import _screener

    monkeypatch.setattr(_screener, "_features_api", toy_features_api)
    return toy_features_api()


@pytest.fixture(scope="session")
def toy():
    return make_toy()
