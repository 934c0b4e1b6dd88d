import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from riskscreen.evaluation import expected_calibration_error
from riskscreen.training import CalibratedScorer


def data(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    p = 1 / (1 + np.exp(-(-3 + 1.5 * X[:, 0] + shift)))
    return X, (rng.random(n) < p).astype(int)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrating_on_a_later_fold_fixes_a_shifted_base_rate(method):
    X_tr, y_tr = data(4000, 0)
    X_cal, y_cal = data(4000, 1, shift=1.0)  # the later period has more outcomes
    X_te, y_te = data(4000, 2, shift=1.0)
    model = LogisticRegression().fit(X_tr, y_tr)
    cal = CalibratedScorer(model, method=method).fit(X_cal, y_cal)
    raw_ece = expected_calibration_error(y_te, model.predict_proba(X_te)[:, 1])
    cal_ece = expected_calibration_error(y_te, cal.predict_proba(X_te)[:, 1])
    assert cal_ece < raw_ece / 2
    np.testing.assert_allclose(cal.decision_function(X_te), model.decision_function(X_te))
    assert model.coef_.tolist() == LogisticRegression().fit(X_tr, y_tr).coef_.tolist()


def test_errors():
    X, y = data(100, 0)
    with pytest.raises(ValueError, match="already be fitted"):
        CalibratedScorer(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="'method'"):
        CalibratedScorer(LogisticRegression().fit(X, y), method="beta").fit(X, y)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_probabilities_stay_strictly_inside_zero_and_one(method):
    X, y = data(3000, 3)
    X[:, 0] *= 6  # scores far into both tails: plain isotonic gives blocks of 0 and 1
    model = LogisticRegression().fit(X, y)
    cal = CalibratedScorer(model, method=method).fit(X, y)
    extreme = np.r_[X, [[1e6, 0.0], [-1e6, 0.0]]]
    p = cal.predict_proba(extreme)[:, 1]
    lo, hi = cal.probability_bounds_
    assert 0 < lo <= p.min() and p.max() <= hi < 1
    assert lo == pytest.approx(1 / 3002) and hi == pytest.approx(3001 / 3002)
    assert cal.method_description_
    order = np.argsort(cal.decision_function(extreme))
    assert (np.diff(p[order]) >= -1e-12).all()  # still monotone in the score


def test_isotonic_block_of_all_outcomes_reads_the_add_one_rate():
    # 30 pupils at the top all had the outcome: observed 30/30, shown (30 + 1) / (30 + 2)
    X = np.r_[np.linspace(-3, 0, 300), np.linspace(2, 3, 30)][:, None]
    y = np.r_[(np.arange(300) % 10 == 0).astype(int), np.ones(30, dtype=int)]
    model = LogisticRegression().fit(X, y)
    p = CalibratedScorer(model).fit(X, y).predict_proba(X)[:, 1]
    assert p.max() == pytest.approx(31 / 32)
    assert p.min() > 0
