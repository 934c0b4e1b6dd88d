import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from riskscreen.training import LGBMRiskModel
from riskscreen.training._base import monotone_vector


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


def test_early_stopping_uses_the_eval_set_it_is_given():
    X, y = data()
    late = X.index.get_level_values("as_of_date") == pd.Timestamp("2022-09-01")
    model = LGBMRiskModel(n_estimators=300, early_stopping_rounds=10)
    model.fit(X[~late], y[~late], eval_set=(X[late], y[late]))
    assert 1 <= model.best_iteration_ < 300
    assert model.estimator_.best_iteration_ == model.best_iteration_
    # without an eval set every round is used, whatever the index says
    plain = LGBMRiskModel(n_estimators=15).fit(X, y)
    assert plain.best_iteration_ == 15
    np.testing.assert_array_equal(
        plain.decision_function(X),
        LGBMRiskModel(n_estimators=15).fit(X.to_numpy(), y).decision_function(X.to_numpy()),
    )
    # the booster stops where the held-out log-loss is lowest
    n = model.best_iteration_
    refit = LGBMRiskModel(n_estimators=n, early_stopping_rounds=None).fit(X[~late], y[~late])
    np.testing.assert_allclose(refit.decision_function(X), model.decision_function(X))


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

    assert monotone_vector(Spec(), ["a", "b", "c"], owner="M") == [1, 0, -1]
    assert monotone_vector([1, 0, 0], ["a", "b", "c"], owner="M") == [1, 0, 0]
    with pytest.raises(ValueError, match="'monotone_constraints' parameter of M names"):
        monotone_vector({"zzz": 1}, ["a"], owner="M")
    with pytest.raises(TypeError, match="'monotone_constraints' parameter of M must"):
        monotone_vector(3.0, ["a"], owner="M")


def test_deterministic_and_contract():
    X, y = data()
    a = LGBMRiskModel(n_jobs=2).fit(X, y).predict_proba(X)
    b = LGBMRiskModel(n_jobs=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    est = LGBMRiskModel(num_leaves=7, monotone_constraints={"susp": 1})
    assert vars(clone(est)) == vars(est)
    assert not [k for k in vars(est) if k.endswith("_")]
    est.set_params(num_leaves=9)
    assert est.get_params()["num_leaves"] == 9
    with pytest.raises(ValueError, match="'n_estimators' parameter of LGBMRiskModel"):
        LGBMRiskModel(n_estimators=0).fit(X, y)
    with pytest.raises(ValueError, match="'monotone_constraints' parameter of LGBMRiskModel"):
        LGBMRiskModel(monotone_constraints={"zzz": 1}).fit(X, y)
