"""SHAP values add up to the model margin; LightGBM's agree with shap's TreeExplainer."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pandas as pd
import pytest
from _explain_cases import screened

from riskscreen.explain import explain
from riskscreen.explain._shap import Contributions, check_additivity, contributions
from riskscreen.training import LGBMRiskModel, LogisticScorecard


def _margin(screener, explanation):
    X = explanation.data[screener.feature_names_]
    return screener.model_.decision_function(X)


@pytest.mark.parametrize("model", ["lightgbm", "scorecard"])
def test_values_add_up_to_the_margin(model):
    screener, screening = screened(model)
    explanation = explain(screener, screening)
    total = explanation.values.sum(axis=1).to_numpy() + explanation.base_value
    assert np.max(np.abs(total - _margin(screener, explanation))) < 1e-6
    assert np.max(np.abs(total - screening.frame["score"].to_numpy())) < 1e-6
    assert explanation.max_additivity_error < 1e-6
    assert explanation.scale == "log-odds"
    assert "log-odds" in explanation.notes[0] and "isotonic" in explanation.notes[0]


def test_lightgbm_contributions_agree_with_shap_tree_explainer():
    shap = pytest.importorskip("shap")
    screener, screening = screened("lightgbm")
    explanation = explain(screener, screening)
    X = explanation.data.to_numpy()
    booster = screener.model_.estimator_.booster_
    rounds = screener.model_.best_iteration_
    explainer = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    with pytest.warns(UserWarning):  # shap's note on LightGBM binary output
        theirs = np.asarray(explainer.shap_values(X, tree_limit=rounds))
    assert np.max(np.abs(theirs - explanation.values.to_numpy())) < 1e-6
    assert abs(float(np.ravel(explainer.expected_value)[0]) - explanation.base_value) < 1e-6
    # shap's own tree SHAP algorithm (not LightGBM's C++ code, which TreeExplainer calls)
    own = shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent")
    own.model.model_type = "internal"
    values = np.asarray(own.shap_values(X[:300], tree_limit=rounds))
    assert np.max(np.abs(values - explanation.values.to_numpy()[:300])) < 1e-6


def _brute_force_shapley(f, x, background):
    """Interventional Shapley values of f at x, by enumerating every coalition."""
    p = len(x)
    out = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        for r in range(p):
            for S in itertools.combinations(others, r):
                w = factorial(r) * factorial(p - r - 1) / factorial(p)
                with_j, without = background.copy(), background.copy()
                with_j[:, [*S, j]] = x[[*S, j]]
                without[:, list(S)] = x[list(S)]
                out[j] += w * (f(with_j).mean() - f(without).mean())
    return out


@pytest.mark.parametrize("binning", ["quantile", "spline"])
def test_scorecard_values_are_exact_shapley_values(binning):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=300), "b": rng.integers(0, 3, 300), "c": rng.normal(size=300)}
    ).astype(float)
    X.loc[rng.random(300) < 0.1, "c"] = np.nan
    y = (rng.random(300) < 1 / (1 + np.exp(-(X["a"] + X["b"] - 1)))).astype(int)
    card = LogisticScorecard(n_bins=4, binning=binning).fit(X, y)
    out = contributions(card, X)

    def f(Z):
        return card.decision_function(pd.DataFrame(Z, columns=X.columns))

    for i in range(4):  # the background is the training rows (= the rows explained here)
        phi = _brute_force_shapley(f, X.to_numpy()[i], X.to_numpy())
        assert np.allclose(phi, out.values[i], atol=1e-9)
    assert np.allclose(out.values.sum(axis=1) + out.base_value, f(X.to_numpy()), atol=1e-9)


def test_a_plain_linear_model_and_a_lightgbm_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    y = (X["a"] + rng.normal(size=400) > 1).astype(int)
    linear = LogisticRegression().fit(X, y)
    out = contributions(linear, X)
    assert np.allclose(out.values.sum(axis=1) + out.base_value, linear.decision_function(X))
    lgbm = LGBMRiskModel(n_estimators=20, min_child_samples=10).fit(X, y)
    out = contributions(lgbm.estimator_, X)  # the bare LGBMClassifier
    assert np.allclose(out.values.sum(axis=1) + out.base_value, lgbm.decision_function(X))


def test_unsupported_models_and_broken_sums_are_refused():
    from sklearn.ensemble import RandomForestClassifier

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    forest = RandomForestClassifier(n_estimators=2).fit(X, [0, 1, 0, 1])
    with pytest.raises(TypeError, match="explain supports"):
        contributions(forest, X)
    broken = Contributions(np.ones((2, 2)), 0.0, np.array([2.0, 3.0]), "test")
    with pytest.raises(RuntimeError, match="do not add up"):
        check_additivity(broken)


def test_a_screening_from_another_screener_is_refused():
    lgbm, screening = screened("lightgbm")
    card, _ = screened("scorecard")
    with pytest.raises(ValueError, match="not made by this screener"):
        explain(card, screening)
    # a bare model needs no such check, and explains the same margin
    bare = explain(lgbm.model_, screening, pupils="flagged")
    assert bare.max_additivity_error < 1e-6
