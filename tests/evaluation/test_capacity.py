"""evaluate_at_capacity: metrics at k per as-of date and pooled, per school, with intervals."""

import numpy as np
import pandas as pd
import pytest

from riskscreen.evaluation import (
    average_precision,
    brier_score,
    calibration_curve,
    evaluate_at_capacity,
    flag_weights,
    lift_at_k,
    precision_at_k,
    recall_at_k,
    roc_auc,
)


def two_dates(seed=0, n=800):
    rng = np.random.default_rng(seed)
    pupils = np.tile(np.arange(n), 2)
    dates = np.repeat(["2022-06-01", "2023-06-01"], n)
    y = (rng.random(2 * n) < 0.12).astype(float)
    score = np.round(y + rng.normal(0, 0.9, 2 * n), 1)  # ties
    prob = 1 / (1 + np.exp(-(score * 1.5 - 3)))
    schools = np.tile(rng.choice([10, 20, 30], n), 2)
    return y, score, prob, dates, pupils, schools


def test_each_date_is_its_own_list_and_pooled_adds_them_up():
    y, score, prob, dates, pupils, schools = two_dates()
    r = evaluate_at_capacity(
        y, score, prob, k=0.05, as_of_dates=dates, groups=pupils, n_bootstrap=50
    )
    t = r.table
    assert list(t.index) == ["2022-06-01", "2023-06-01", "pooled"]
    for d in ("2022-06-01", "2023-06-01"):
        rows = dates == d
        assert t.loc[d, "n_flagged"] == 40
        assert t.loc[d, "precision_at_k"] == pytest.approx(precision_at_k(y[rows], score[rows], 40))
        assert t.loc[d, "recall_at_k"] == pytest.approx(recall_at_k(y[rows], score[rows], 40))
        assert t.loc[d, "lift_at_k"] == pytest.approx(lift_at_k(y[rows], score[rows], 40))
        assert t.loc[d, "roc_auc"] == pytest.approx(roc_auc(y[rows], score[rows]))
        assert t.loc[d, "brier"] == pytest.approx(brier_score(y[rows], prob[rows]))
    f = np.r_[flag_weights(score[:800], 0.05), flag_weights(score[800:], 0.05)]
    assert t.loc["pooled", "n_flagged"] == 80
    assert t.loc["pooled", "precision_at_k"] == pytest.approx((f @ y) / 80)
    assert t.loc["pooled", "average_precision"] == pytest.approx(average_precision(y, score))
    assert t.loc["pooled", "share_flagged"] == pytest.approx(0.05)
    for m in ("precision_at_k", "recall_at_k", "roc_auc", "brier"):
        assert (t[f"{m}_low"] <= t[m]).all() and (t[m] <= t[f"{m}_high"]).all(), m
    assert (t["ece_low"] <= t["ece"]).all() and (t["ece"] <= t["ece_high"]).all()
    assert "of 10 pupils flagged, about" in str(r) and "| as_of_date |" in r.to_markdown()
    assert "<table" in r._repr_html_()
    cal = r.calibration
    assert cal["n"].sum() == 1600 and (cal["mean_predicted"].diff().dropna() > 0).all()


def test_per_school_lists_and_counts_are_protected():
    y, score, prob, dates, pupils, schools = two_dates(1)
    r = evaluate_at_capacity(
        y[:800],
        score[:800],
        k=4,
        schools=schools[:800],
        per_school=True,
        n_bootstrap=30,
    )
    s = r.per_school
    assert (s["n_flagged"] == 4).all() and r.table.loc["pooled", "n_flagged"] == 12
    assert {"precision", "precision_low", "recall_high", "suppressed"} <= set(s.columns)
    # a school with 3 pupils: its counts are suppressed, its rates withheld
    small = evaluate_at_capacity(
        y[:203], score[:203], k=0.1, schools=np.r_[np.ones(200), [2, 2, 2]], n_bootstrap=5
    ).per_school
    assert pd.isna(small.loc[2.0, "n"]) and small.loc[2.0, "suppressed"]
    assert np.isnan(small.loc[2.0, "share_flagged"])


def test_unknown_outcomes_keep_their_place_on_the_list():
    y, score, *_ = two_dates(2)
    y = y[:800].copy()
    y[np.argsort(-score[:800])[:5]] = np.nan  # five of the top pupils left the authority
    r = evaluate_at_capacity(y, score[:800], k=40, n_bootstrap=10)
    assert r.table.loc["pooled", "n_flagged"] == 40
    known = ~np.isnan(y)
    f = flag_weights(score[:800], 40)
    expected = (f * np.nan_to_num(y)).sum() / f[known].sum()
    assert r.table.loc["pooled", "precision_at_k"] == pytest.approx(expected)
    assert any("unknown outcome" in n for n in r.notes)


def test_calibration_curve_and_brier_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.1, 0.6, 0.6])
    assert brier_score(y, p) == pytest.approx((0.01 * 2 + 0.16 * 2) / 4)
    c = calibration_curve(y, p, n_bins=2)
    assert c["observed_rate"].tolist() == [0.0, 1.0] and c["n"].tolist() == [2, 2]
    assert lift_at_k(y, p, 2) == pytest.approx(2.0)
