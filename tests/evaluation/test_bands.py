import numpy as np
import pandas as pd
import pytest

from riskscreen.evaluation import assign_bands, band_table, deciles


def test_deciles_and_bands_by_hand():
    s = np.arange(1, 21, dtype=float)  # 20 pupils, score 1..20
    d = deciles(s)
    assert d.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10]
    b = assign_bands(s)  # default: top 5% high, next 15% medium
    assert b[-1] == "high" and (b == "high").sum() == 1
    assert (b == "medium").sum() == 3 and (b == "low").sum() == 16
    p = assign_bands([0.05, 0.15, 0.5], cutoffs=(0.1, 0.3), on="probability")
    assert list(p) == ["low", "medium", "high"]
    with pytest.raises(ValueError, match="strictly increasing"):
        assign_bands(s, cutoffs=(0.9, 0.8))
    with pytest.raises(ValueError, match="'band_on'"):
        assign_bands(s, on="rank")


def test_band_table_rates_and_small_number_suppression():
    band = pd.Categorical(
        ["low"] * 10 + ["medium"] * 10 + ["high"] * 10,
        categories=["low", "medium", "high"],
        ordered=True,
    )
    y = np.r_[np.zeros(8), 1, 1, np.zeros(4), np.ones(6), np.zeros(2), np.ones(8)]
    t = band_table(y, band, proba=np.linspace(0, 1, 30))
    assert t.loc["low", "suppressed"] and pd.isna(t.loc["low", "observed_rate"])
    # low alone would be 16 - 6 - 8 = 2: the next smallest (medium) is suppressed too
    assert t.loc["medium", "suppressed"] and pd.isna(t.loc["medium", "n_outcome"])
    assert t["suppressed"].tolist() == [True, True, False]
    assert t.loc["high", "observed_rate"] == pytest.approx(0.8)
    assert t["n_pupils"].tolist() == [10, 10, 10]
    assert "mean_predicted" in t


def test_band_table_without_small_counts_suppresses_nothing_and_two_small_stay_two():
    band = pd.Categorical(np.repeat(["low", "medium", "high"], 10), ["low", "medium", "high"])
    y = np.r_[np.zeros(10), np.zeros(3), np.ones(7), np.zeros(2), np.ones(8)]
    t = band_table(y, band)
    assert not t["suppressed"].any() and t["n_outcome"].tolist() == [0, 7, 8]
    y = np.r_[np.ones(2), np.zeros(8), np.ones(3), np.zeros(7), np.ones(9), np.zeros(1)]
    t = band_table(y, pd.Categorical(np.repeat(["a", "b", "c"], 10)))
    assert t["suppressed"].tolist() == [True, True, False] and t.loc["c", "n_outcome"] == 9


def test_percentile_bands_hold_exactly_the_capacitys_share_and_split_ties_like_the_list():
    from riskscreen.evaluation import rank_at_capacity, resolve_k

    rng = np.random.default_rng(0)
    for n in (50, 999, 11980):
        s = np.round(rng.random(n), 2)  # ties at every cut-off
        key = rng.permutation(n)
        b = assign_bands(s, tiebreak=key)
        assert (b == "high").sum() == resolve_k(0.05, n)
        assert (b != "low").sum() == resolve_k(0.2, n)
        flagged = rank_at_capacity(s, tiebreak=key, capacity=0.05)["flagged"].to_numpy()
        assert (np.asarray(b == "high") == flagged).all()
        # without a tiebreak, pupils tied at a cut-off all take the higher band
        assert (assign_bands(s) == "high").sum() >= resolve_k(0.05, n)


def test_band_table_counts_censored_pupils_apart():
    band = pd.Categorical(np.repeat(["low", "high"], 20), ["low", "high"])
    y = pd.array([0.0] * 12 + [None] * 8 + [1.0] * 10 + [0.0] * 10, dtype="Float64")
    t = band_table(y, band)
    assert t["n_pupils"].tolist() == [20, 20]
    assert t.loc["low", "n_censored"] == 8 and t.loc["high", "n_censored"] == 0
    assert t.loc["high", "observed_rate"] == pytest.approx(0.5)
    assert t.loc["low", "observed_rate"] == 0.0
