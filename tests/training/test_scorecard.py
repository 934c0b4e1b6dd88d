import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from riskscreen.training import LogisticScorecard, _scorecard_solver


def data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "absence": rng.random(n),
            "fsm": rng.integers(0, 2, n).astype(float),
            "noise": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        }
    )
    logit = -2.5 + 3 * X["absence"] + 1.0 * X["fsm"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@parametrize_with_checks([LogisticScorecard(), LogisticScorecard(binning="spline", n_bins=4)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_points_add_up_to_the_score_and_read_sensibly():
    X, y = data()
    card = LogisticScorecard(n_bins=5, pdo=20, base_score=200, base_odds=1 / 49).fit(X, y)
    pts = card.points_
    # riskier bins of a risk factor earn more points; the lowest-risk bin scores 0
    absence = pts[(pts.feature == "absence") & (pts.bin != "missing")]["points"].to_numpy()
    assert absence[0] == pytest.approx(0) and absence[-1] > absence[0] + 20
    fsm = pts[pts.feature == "fsm"].set_index("bin")["points"]
    assert fsm["= 1"] > fsm["= 0"] == 0
    # base points + the pupil's bin points == score_points, for every pupil
    total = np.full(len(X), card.base_points_)
    for j, f in enumerate(X.columns):
        bins = pts[pts.feature == f]["points"].to_numpy()
        x = X[f].to_numpy()
        code = np.searchsorted(card.cuts_[j], x, side="right")
        code = np.where(np.isnan(x), len(card.cuts_[j]) + 1, code)
        total += bins[code]
    np.testing.assert_allclose(total, card.score_points(X), atol=1e-8)
    # pdo: +20 points doubles the odds
    logit = card.decision_function(X)
    np.testing.assert_allclose(
        card.score_points(X) - 200, 20 / np.log(2) * (logit - np.log(1 / 49)), atol=1e-8
    )
    sc = card.to_frame()
    assert sc.iloc[0]["feature"] == "(base points)" and len(sc) == len(pts) + 1


def test_printed_card_hides_small_bin_counts():
    X, y = data()
    X = X.copy()
    X.loc[X.index[:3], "fsm"] = np.nan  # a "missing" bin of 3 training rows
    card = LogisticScorecard().fit(X, y)
    raw = card.points_.set_index(["feature", "bin"])["n_train"]
    assert raw[("fsm", "missing")] == 3
    shown = card.to_frame().set_index(["feature", "bin"])
    fsm = shown.loc["fsm"]
    assert pd.isna(fsm.loc["missing", "n_train"]) and fsm.loc["missing", "suppressed"]
    # the feature's bins add up to the training rows: one more bin is hidden with it
    assert fsm["n_train"].isna().sum() == 2
    counts = shown["n_train"].dropna()
    assert not ((counts > 0) & (counts < 5)).any()
    assert (shown["points"].to_numpy() == card.scorecard_["points"].to_numpy()).all()


def test_missing_value_unseen_in_training_joins_commonest_bin():
    X, y = data()
    card = LogisticScorecard().fit(X, y)
    row = X.iloc[[0]].copy()
    as_zero = row.assign(fsm=0.0)
    row["fsm"] = np.nan
    # fsm had no missing values in training; zeros are the commonest value
    majority = 0.0 if (X["fsm"] == 0).mean() > 0.5 else 1.0
    np.testing.assert_allclose(
        card.predict_proba(row), card.predict_proba(as_zero.assign(fsm=majority))
    )


def test_contract_clone_params_pipeline():
    card = LogisticScorecard(n_bins=7, C=0.5)
    assert card.get_params()["n_bins"] == 7
    assert vars(card) == vars(clone(card))
    card.set_params(C=2.0)
    assert clone(card).C == 2.0
    assert not [k for k in vars(card) if k.endswith("_")]
    X, y = data(500)
    pipe = make_pipeline(FunctionTransformer(), LogisticScorecard()).fit(X, y)
    assert pipe.predict_proba(X).shape == (500, 2)
    fitted = LogisticScorecard().fit(X, y)
    assert list(fitted.feature_names_in_) == list(X.columns)
    np.testing.assert_array_equal(fitted.classes_, [0, 1])


def test_bad_parameters():
    X, y = data(200)
    with pytest.raises(ValueError, match="'binning'"):
        LogisticScorecard(binning="tree").fit(X, y)
    with pytest.raises(ValueError, match="'n_bins'"):
        LogisticScorecard(n_bins=1).fit(X, y)
    with pytest.raises(ValueError, match="Only binary"):
        LogisticScorecard().fit(X, np.arange(200) % 3)


def test_monotone_constraints_make_points_rise_or_fall_across_bins():
    X, y = data(4000, seed=3)
    card = LogisticScorecard(monotone_constraints={"absence": 1, "noise": -1}).fit(X, y)
    pts = card.points_[card.points_.bin != "missing"]
    assert np.all(np.diff(pts[pts.feature == "absence"]["points"].to_numpy()) >= -1e-9)
    assert np.all(np.diff(pts[pts.feature == "noise"]["points"].to_numpy()) <= 1e-9)
    assert card.monotone_constraints_ == [1, 0, -1]
    # points still add up to the score
    logit = card.decision_function(X)
    np.testing.assert_allclose(card.predict_proba(X)[:, 1], 1 / (1 + np.exp(-logit)))
    with pytest.raises(ValueError, match="binning='quantile'"):
        LogisticScorecard(binning="spline", monotone_constraints={"absence": 1}).fit(X, y)


def _old_lbfgsb_fit(X, y, monotone):
    """The first monotone solver (L-BFGS-B from zero), kept as the reference."""
    from riskscreen.training import _scorecard

    card = LogisticScorecard(monotone_constraints=monotone)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_scorecard, "_NEWTON_MAX_WIDTH", 0)  # every design "too wide": L-BFGS-B
        return card.fit(X, y)


@pytest.mark.parametrize("seed", [3, 4])
def test_monotone_newton_fit_matches_the_lbfgsb_solution_and_stays_monotone(seed):
    X, y = data(3000, seed=seed)
    X["absence_days"] = np.round(X["absence"] * 30)  # many bins, a hint pointing the right way
    X["attendance"] = 1 - X["absence"] + np.random.default_rng(seed).normal(0, 0.2, len(X))
    hints = {"absence": 1, "absence_days": 1, "attendance": -1, "noise": 1}
    new = LogisticScorecard(monotone_constraints=hints).fit(X, y)
    old = _old_lbfgsb_fit(X, y, hints)
    # a few Newton iterations, where L-BFGS-B needs many
    assert new.n_iter_[0] <= 30 < old.n_iter_[0]
    np.testing.assert_allclose(new.decision_function(X), old.decision_function(X), atol=2e-3)
    np.testing.assert_allclose(new.coef_, old.coef_, atol=2e-3)
    pts = new.points_[new.points_.bin != "missing"]
    for feature, sign in hints.items():
        steps = np.diff(pts[pts.feature == feature]["points"].to_numpy())
        assert np.all(sign * steps >= -1e-9), feature
    # the noise hint is arbitrary: some of its steps sit on the bound (flat points)
    noise = pts[pts.feature == "noise"]["points"].to_numpy()
    assert np.any(np.abs(np.diff(noise)) < 1e-9)


def _small_problem(seed=0, n=1500):
    """A sparse step-like design with some non-negative coefficients."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 5, size=(n, 4))
    onehot = sparse.csr_matrix(
        (np.ones(codes.size), (np.repeat(np.arange(n), 4), (codes + 5 * np.arange(4)).ravel())),
        shape=(n, 20),
    )
    steps = sparse.csr_matrix(np.tril(np.ones((5, 5)))[:, 1:])  # 1[bin >= b], b = 1..4
    Z = sparse.hstack([onehot[:, :10] @ sparse.block_diag([steps, -steps]), onehot[:, 10:]])
    # a true effect that rises with the first feature's bins, then levels off, and one
    # that falls with the second feature's bins (its steps are negated below)
    logit = -2.5 + 0.5 * np.minimum(codes[:, 0], 2) - 0.3 * codes[:, 1] + 0.2 * (codes[:, 2] == 3)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    nonneg = np.r_[np.ones(8, dtype=bool), np.zeros(10, dtype=bool)]
    return Z.tocsr(), y, nonneg


def _reference_objective(Z, y, C):
    def f(x):
        z = Z @ x[:-1] + x[-1]
        return C * np.sum(np.logaddexp(0, z) - y * z) + 0.5 * x[:-1] @ x[:-1]

    return f


@pytest.mark.parametrize("C", [0.1, 3.0])
def test_newton_solver_reaches_the_objective_of_a_tight_lbfgsb_reference(C):
    from scipy.optimize import minimize

    Z, y, nonneg = _small_problem()
    x, n_iter, converged = _scorecard_solver.fit_nonneg_logistic(Z, y, nonneg, C, 100)
    assert converged and n_iter <= 15
    # steps after the plateau sit on the bound, the others do not
    assert np.all(x[:8] >= 0) and np.any(x[:8] == 0) and np.sum(x[:8] > 0.05) >= 4

    f = _reference_objective(Z, y, C)

    def fg(v):  # an independent objective and gradient, no scaling
        z = Z @ v[:-1] + v[-1]
        r = 1 / (1 + np.exp(-z)) - y
        return f(v), np.r_[C * (Z.T @ r) + v[:-1], C * r.sum()]

    ref = minimize(
        fg,
        np.zeros(19),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * 8 + [(None, None)] * 11,
        options={"maxiter": 100_000, "maxfun": 100_000, "ftol": 1e-15, "gtol": 1e-11},
    )
    assert f(x) <= ref.fun + 1e-9 * abs(ref.fun)
    np.testing.assert_allclose(f(x), ref.fun, rtol=1e-9)
    np.testing.assert_allclose(x, ref.x, atol=1e-4)


def test_newton_solver_with_subsampled_hessian_or_failed_step_still_finds_the_optimum():
    Z, y, nonneg = _small_problem(seed=1)
    exact, _, _ = _scorecard_solver.fit_nonneg_logistic(Z, y, nonneg, 0.5, 100)
    f = _reference_objective(Z, y, 0.5)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_scorecard_solver, "_HESSIAN_ROWS", 300)  # Hessian on every 5th row
        mp.setattr(_scorecard_solver, "_BLOCK_ROWS", 128)
        sub, _, converged = _scorecard_solver.fit_nonneg_logistic(Z, y, nonneg, 0.5, 100)
    assert converged
    np.testing.assert_allclose(f(sub), f(exact), rtol=1e-10)
    np.testing.assert_allclose(sub, exact, atol=1e-5)

    def singular(*args):
        from scipy.linalg import LinAlgError

        raise LinAlgError("not positive definite")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_scorecard_solver, "_box_qp", singular)  # falls back to L-BFGS-B
        slow, _, converged = _scorecard_solver.fit_nonneg_logistic(Z, y, nonneg, 0.5, 5000)
    assert converged
    np.testing.assert_allclose(f(slow), f(exact), rtol=1e-8)


def test_monotone_fit_warns_when_it_does_not_converge():
    from sklearn.exceptions import ConvergenceWarning

    X, y = data(2000, seed=5)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        card = LogisticScorecard(max_iter=1, monotone_constraints={"absence": 1}).fit(X, y)
    assert card.n_iter_[0] == 1
    assert np.isfinite(card.points_["points"]).all()


@pytest.mark.parametrize("sign", [1, -1])
def test_monotone_points_follow_the_hint_even_against_the_data(sign):
    rng = np.random.default_rng(11)
    n = 5000
    X = pd.DataFrame(
        {
            "u_shape": rng.normal(size=n),
            "count": rng.poisson(2, n).astype(float),
            "gappy": np.where(rng.random(n) < 0.15, np.nan, rng.random(n)),
        }
    )
    logit = -3 + 0.8 * X["u_shape"] ** 2 + 0.3 * X["count"] + np.nan_to_num(X["gappy"], nan=2.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    hints = {"u_shape": sign, "count": sign, "gappy": sign}
    card = LogisticScorecard(n_bins=8, monotone_constraints=hints).fit(X, y)
    pts = card.points_
    for feature in hints:
        binned = pts[(pts.feature == feature) & (pts.bin != "missing")]["points"].to_numpy()
        assert len(binned) >= 5, feature
        assert np.all(sign * np.diff(binned) >= -1e-9), feature
        if sign < 0:  # against the data: some adjacent bins are pooled (equal points)
            assert np.any(np.abs(np.diff(binned)) < 1e-9), feature
    # the U-shaped effect: half of it is fitted whichever way the hint points
    u = pts[pts.feature == "u_shape"]["points"].to_numpy()[:-1]
    assert u.max() - u.min() > 10
    # the missing bin is free: riskier than every observed value of "gappy"
    gappy = pts[pts.feature == "gappy"].set_index("bin")["points"]
    assert gappy["missing"] > gappy.drop("missing").max()
