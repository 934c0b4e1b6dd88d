"""IPW and AIPW: estimates, overlap and balance diagnostics, refusals and renderings."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from riskscreen.interventions import (
    BalanceDisplay,
    OverlapError,
    PropensityDisplay,
    TooFewPupilsError,
    WeightingEstimate,
    estimate_aipw,
    estimate_ipw,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def noisy(design):
    return design.study("noisy")


@pytest.fixture(scope="module")
def aipw(noisy):
    return estimate_aipw(noisy)


def test_weighting_removes_the_bias_of_the_naive_comparison(design, noisy, aipw):
    ipw = estimate_ipw(noisy)
    truth = np.nanmean(design.effect(noisy.frame.index[aipw.kept & noisy.treated]))
    assert truth < 0  # help lowers suspensions
    for est in (ipw, aipw):
        assert isinstance(est, WeightingEstimate)
        # helped pupils were the riskiest: the naive comparison makes help look harmful
        assert est.naive["estimate"] > 0.05 and est.naive["ci_low"] > 0
        assert est.estimate < est.naive["estimate"] - 0.05
        assert est.ci_low < est.estimate < est.ci_high
        assert est.covers(truth)
        # weighting balances what was known at the as-of date
        bal = est.balance
        assert bal.loc["score", "smd_before"] > 1
        assert abs(bal.loc["score", "smd_after"]) < bal.loc["score", "smd_before"] / 4
        assert bal["smd_after"].abs().max() < bal["smd_before"].abs().max() / 2
    assert aipw.method == "AIPW" and aipw.estimand == "ATT"
    assert 0 < aipw.effective_sizes["unhelped"] < (~noisy.treated).sum()
    assert aipw.effective_sizes["helped"] == pytest.approx(aipw.counts["helped (kept)"])


def test_rows_shuffled_give_the_same_estimate(noisy, aipw):
    shuffled = noisy.frame.sample(frac=1, random_state=7)
    again = estimate_aipw(
        replace(noisy, frame=shuffled, confounders=noisy.confounders.loc[shuffled.index])
    )
    assert again.estimate == pytest.approx(aipw.estimate, abs=1e-6)
    assert again.ci_high == pytest.approx(aipw.ci_high, abs=1e-6)


def test_a_sharp_cut_off_is_refused_for_want_of_overlap(design):
    cutoff = design.study("cutoff")
    for estimate in (estimate_ipw, estimate_aipw):
        with pytest.raises(OverlapError, match="overlap fails.*estimate_discontinuity"):
            estimate(cutoff)


def test_too_few_helped_pupils_are_refused(noisy):
    few = noisy.frame["treated"] & (np.cumsum(noisy.frame["treated"]) <= 12)
    small = replace(noisy, frame=noisy.frame.assign(treated=few))
    with pytest.raises(TooFewPupilsError, match="at least 20 helped"):
        estimate_ipw(small)
    with pytest.raises(TooFewPupilsError, match="12 helped"):
        estimate_aipw(small)


def test_parameters_are_checked(noisy):
    with pytest.raises(ValueError, match="'estimand' parameter of estimate_aipw"):
        estimate_aipw(noisy, estimand="ATC")
    with pytest.raises(ValueError, match="'trim' parameter of estimate_ipw"):
        estimate_ipw(noisy, trim=0.6)
    with pytest.raises(ValueError, match="'confounders' parameter of estimate_ipw"):
        estimate_ipw(noisy, confounders=["shoe_size"])
    with pytest.raises(ValueError, match="'n_folds' parameter"):
        estimate_aipw(noisy, n_folds=1)


def test_any_scikit_learn_models_and_a_chosen_confounder_set(noisy):
    est = estimate_aipw(
        noisy,
        confounders=["score", "attendance_rate_1y"],
        propensity_model=LogisticRegression(),
        outcome_model=LogisticRegression(),
        n_folds=3,
    )
    assert list(est.balance.index) == ["score", "attendance_rate_1y"]
    assert np.isfinite(est.estimate) and est.se > 0


def test_the_average_effect_on_everyone_trims_both_tails(noisy):
    est = estimate_ipw(noisy, estimand="ATE", trim=0.02)
    e = est.propensity[est.kept]
    assert e.min() >= 0.02 and e.max() <= 0.98
    assert est.counts["unhelped (trimmed)"] > 0
    assert "all pupils within the overlap bounds" in est.sentences()[0]


def test_renderings_speak_plainly_and_name_no_pupil(noisy, aipw):
    words = aipw.sentences()
    assert words[0].startswith("AIPW: for the ")
    assert "percentage points" in words[0] and "95% CI" in words[0]
    assert "naive comparison" in words[2]
    table = aipw.to_frame()
    assert list(table.index) == ["AIPW (ATT)", "naive difference"]
    assert table.loc["AIPW (ATT)", "estimate"] == aipw.estimate
    pupils = {str(p) for p in noisy.frame.index.get_level_values("pupil_id")}
    for text in (aipw.to_markdown(), aipw.to_html(), aipw._repr_html_(), repr(aipw)):
        assert not any(p in text for p in pupils)
    counts = aipw.counts_frame()["pupils"]
    assert counts.isna().sum() != 1  # a lone small count is never left recoverable
    shown = counts.dropna()
    assert ((shown == 0) | (shown >= 5)).all()
    diag = aipw.diagnostics()["value"]
    assert diag["trimming bound"] == 0.05
    assert diag["largest |SMD| after weighting"] < diag["largest |SMD| before weighting"]


def test_overlap_and_balance_plots(aipw):
    overlap = aipw.plot_overlap()
    assert isinstance(overlap, PropensityDisplay) and overlap.ax_ is not None
    assert overlap.bounds_ == (0.0, 0.95)
    hist = overlap.histogram_
    assert hist["unhelped"].sum(skipna=True) == pytest.approx(1.0, abs=0.05)
    love = aipw.plot_balance(max_confounders=8)
    assert isinstance(love, BalanceDisplay) and len(love.balance_) == 8
    assert love.figure_ is love.ax_.figure
    matplotlib.pyplot.close("all")
