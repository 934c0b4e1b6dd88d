import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from riskscreen.evaluation import (
    average_precision,
    bootstrap_interval,
    compare_scores,
    expected_calibration_error,
    precision_at_k,
    recall_at_k,
    resolve_k,
    roc_auc,
)
from riskscreen.evaluation._bootstrap import resamples

Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
S = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])


def test_precision_recall_at_k_by_hand():
    # top 3 = [1, 0, 1] -> 2/3; 3 positives in all -> recall 2/3
    assert precision_at_k(Y, S, 3) == pytest.approx(2 / 3)
    assert recall_at_k(Y, S, 3) == pytest.approx(2 / 3)
    # k as a fraction: 0.5 of 10 -> 5 -> [1,0,1,0,0]
    assert precision_at_k(Y, S, 0.5) == pytest.approx(2 / 5)


def test_ties_at_the_cut_off_use_expected_value():
    y = np.array([1, 1, 0, 0, 0])
    s = np.array([2, 1, 1, 1, 0])
    # top 2: pupil 0 surely (1 hit) + 1 slot among 3 tied with 1 positive -> 1/3
    assert precision_at_k(y, s, 2) == pytest.approx((1 + 1 / 3) / 2)
    # order of rows never matters
    perm = np.array([4, 2, 0, 3, 1])
    assert precision_at_k(y[perm], s[perm], 2) == pytest.approx((1 + 1 / 3) / 2)


def test_ap_and_auc_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500) + 0.3 * y, 1)  # ties
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    # a single class has no curve: NaN, not an error, so a bootstrap draw can miss them all
    assert np.isnan(roc_auc(np.zeros(5), np.arange(5))) and np.isnan(roc_auc(np.ones(5), s[:5]))
    assert np.isnan(average_precision(np.zeros(5), np.arange(5)))


def test_ece_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.1, 0.6, 0.6])
    # two quantile bins: |0 - 0.1| * 0.5 + |1 - 0.6| * 0.5 = 0.25
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.25)
    assert expected_calibration_error(y, p, n_bins=2, strategy="uniform") == pytest.approx(0.25)
    assert expected_calibration_error(y, y.astype(float)) == 0.0


def test_errors():
    with pytest.raises(ValueError, match="censored"):
        precision_at_k(pd.array([True, pd.NA], dtype="boolean"), [1, 2], 1)
    with pytest.raises(ValueError, match="capacity"):
        resolve_k(0, 10)
    with pytest.raises(ValueError, match="capacity"):
        resolve_k(1.5, 10)
    assert resolve_k(0.05, 1000) == 50 and resolve_k(7, 5) == 5


def test_cluster_bootstrap_keeps_pupils_together():
    groups = np.array([1, 1, 2, 3, 3, 3])
    for rows in resamples(groups, 6, 20, 0):
        picked = groups[rows]
        counts = pd.Series(picked).value_counts()
        sizes = {1: 2, 2: 1, 3: 3}
        assert all(c % sizes[g] == 0 for g, c in counts.items())


def test_bootstrap_interval_brackets_and_is_reproducible():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    s = rng.random(400) + 0.5 * y
    est, lo, hi = bootstrap_interval(lambda a, b: roc_auc(a, b), y, s, n_bootstrap=100)
    assert lo < est < hi
    assert bootstrap_interval(lambda a, b: roc_auc(a, b), y, s, n_bootstrap=100) == (est, lo, hi)


def test_compare_scores_renders_and_states_accuracy_in_words():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    good = y + rng.random(300)
    bad = rng.random(300)
    comp = compare_scores(
        y, {"model": good, "rule": bad}, {"model": np.clip(good / 2, 0, 1)}, k=30, n_bootstrap=50
    )
    table = comp.to_frame()
    assert table.loc["model", "precision_at_k"] > table.loc["rule", "precision_at_k"]
    assert np.isnan(table.loc["rule", "ece"])
    assert {"precision_at_k_low", "roc_auc_high"} <= set(table.columns)
    text = str(comp)
    assert "of 10 pupils flagged, about" in text and "were flagged" in text
    assert "| scorer |" in comp.to_markdown()
    assert "<table" in comp._repr_html_()
    assert comp.k == 30 and comp.n == 300


def test_compare_scores_states_combined_outcomes_in_words():
    y = np.r_[np.ones(10), np.zeros(90)]
    comp = compare_scores(
        y,
        {"m": np.arange(100)[::-1]},
        k=10,
        n_bootstrap=5,
        outcome="suspension|permanent_exclusion",
    )
    assert "go on to be suspended or be permanently excluded" in comp.sentences()[0]


def test_ap_and_auc_equal_sklearn_on_many_draws_with_ties():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(5, 300))
        y = rng.integers(0, 2, n)
        if y.all() or not y.any():
            continue
        s = np.round(rng.random(n) + 0.4 * y, int(rng.integers(0, 3)))
        assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
