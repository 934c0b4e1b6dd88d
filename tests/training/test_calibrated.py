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
