import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from riskscreen.training import LGBMRiskModel
from riskscreen.training._lgbm import monotone_vector


def data(n_per_date=1500, dates=("2020-09-01", "2021-09-01", "2022-09-01"), seed=0):
    rng = np.random.default_rng(seed)
    n = n_per_date * len(dates)
    idx = pd.MultiIndex.from_arrays(
        [
            np.tile(np.arange(n_per_date), len(dates)),
            np.repeat(pd.to_datetime(list(dates)), n_per_date),
        ],
        names=["pupil_id", "as_of_date"],
    )
    X = pd.DataFrame(
        {
            "susp": rng.poisson(0.3, n).astype(float),
            "att": rng.beta(20, 2, n),
            "noise": rng.normal(size=n),
        },
        index=idx,
    )
    logit = -2.5 + 0.8 * X["susp"] + 6 * (0.9 - X["att"])
    y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int), index=idx)
    return X, y


@parametrize_with_checks([LGBMRiskModel(n_estimators=20, min_child_samples=2)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_temporal_early_stopping_holds_out_latest_date():
    X, y = data()
    model = LGBMRiskModel(n_estimators=300, early_stopping_rounds=10).fit(X, y)
    es = model.early_stopping_
    assert es["used"] and es["validation_dates"] == ["2022-09-01"]
    assert es["n_train_rows"] == 3000 and es["n_validation_rows"] == 1500
    assert 1 <= model.best_iteration_ <= 300
    with_gap = LGBMRiskModel(horizon="365D").fit(X, y)
    assert with_gap.early_stopping_["n_train_rows"] == 3000
    plain = LGBMRiskModel(n_estimators=15).fit(X.to_numpy(), y.to_numpy())
    assert not plain.early_stopping_["used"] and plain.best_iteration_ == 15


def test_monotone_constraints_are_respected():
    X, y = data()
    model = LGBMRiskModel(monotone_constraints={"susp": 1, "att": -1}).fit(X, y)
    assert model.monotone_constraints_ == [1, -1, 0]
    grid = pd.DataFrame({"susp": np.arange(0, 8.0), "att": 0.9, "noise": 0.0})
    p = model.predict_proba(grid)[:, 1]
    assert np.all(np.diff(p) >= -1e-12)
    grid = pd.DataFrame({"susp": 0.0, "att": np.linspace(0.5, 1, 20), "noise": 0.0})
    assert np.all(np.diff(model.predict_proba(grid)[:, 1]) <= 1e-12)


def test_monotone_from_spec_like_object():
    class Spec:
        def monotone_constraints(self):
            return {"a": 1, "c": -1, "other": 1}

    assert monotone_vector(Spec(), ["a", "b", "c"]) == [1, 0, -1]
    assert monotone_vector([1, 0, 0], ["a", "b", "c"]) == [1, 0, 0]
    with pytest.raises(ValueError, match="not in X"):
        monotone_vector({"zzz": 1}, ["a"])
    with pytest.raises(TypeError, match="monotone_constraints"):
        monotone_vector(3.0, ["a"])


def test_deterministic_and_contract():
    X, y = data()
    a = LGBMRiskModel(num_threads=2).fit(X, y).predict_proba(X)
    b = LGBMRiskModel(num_threads=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    est = LGBMRiskModel(num_leaves=7, monotone_constraints={"susp": 1})
    assert vars(clone(est)) == vars(est)
    assert not [k for k in vars(est) if k.endswith("_")]
    est.set_params(num_leaves=9)
    assert est.get_params()["num_leaves"] == 9
    with pytest.raises(ValueError, match="n_estimators"):
        LGBMRiskModel(n_estimators=0).fit(X, y)
