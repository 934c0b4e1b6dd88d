"""compare_scores: paired verdicts, intervals in words, too few cases, the panel's list."""

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from riskscreen.evaluation import (
    assign_bands,
    band_tables,
    compare_scores,
    rank_at_capacity,
)


def nested_scorers(seed=0, n=3000, k=200):
    """B is a noisy ranking; A is B with 12 pupils who had the outcome moved into the top k."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    b = y + rng.normal(0, 0.8, n)
    cut = np.sort(b)[-k]
    below = np.flatnonzero((y == 1) & (b < cut))
    a = b.copy()
    a[below[np.argsort(-b[below])[:12]]] = cut + 1.0
    return y, a, b


def test_overlapping_intervals_but_a_paired_difference_above_zero_is_better():
    y, a, b = nested_scorers()
    c = compare_scores(y, {"A": a, "B": b}, k=200, n_bootstrap=200)
    t = c.table
    assert t.loc["A", "precision_at_k_low"] < t.loc["B", "precision_at_k_high"]  # overlap
    d = c.differences.loc[("B", "precision_at_k")]
    assert 0 < d["difference"] <= 12 / 200
    assert d["difference_low"] > 0
    assert c.verdict("B") == "better"
    assert any("A vs B: better on precision@k" in line for line in c.verdicts())


def test_a_paired_difference_that_includes_zero_is_no_verdict():
    rng = np.random.default_rng(1)
    n = 3000
    y = (rng.random(n) < 0.1).astype(int)
    signal = y + rng.normal(0, 0.8, n)
    a = signal + rng.normal(0, 0.3, n)
    b = signal + rng.normal(0, 0.3, n)
    c = compare_scores(y, {"A": a, "B": b}, k=200, n_bootstrap=200)
    d = c.differences.loc[("B", "precision_at_k")]
    assert d["difference_low"] < 0 < d["difference_high"]
    assert c.verdict("B") == "no clear difference"
    # ECE: lower is better, so the verdict turns round
    p_good = np.clip(0.1 + 0.0 * a, 0, 1)
    p_bad = np.clip(0.3 + 0.0 * b, 0, 1)
    c = compare_scores(y, {"A": a, "B": b}, {"A": p_good, "B": p_bad}, k=200, n_bootstrap=50)
    assert c.verdict("B", "ece") == "better"
    with pytest.raises(KeyError, match="No paired difference"):
        c.verdict("C")


def test_too_few_cases_to_tell_scorers_apart_is_said_not_ranked():
    y, a, b = nested_scorers(n=600, k=30)
    y = np.zeros_like(y)
    y[np.argsort(-a)[:20]] = 1  # 20 cases: permanent exclusion in a 20k-pupil authority
    c = compare_scores(y, {"A": a, "B": b}, k=30, n_bootstrap=50, outcome="permanent_exclusion")
    assert c.too_few_cases
    assert (c.differences["verdict"] == "too few cases").all()
    text = str(c)
    assert "too few to tell the scorers apart" in text and "not a ranking" in text
    assert "better on" not in text


def test_sentences_carry_intervals_and_never_round_a_real_rate_to_zero():
    rng = np.random.default_rng(2)
    n = 20000
    y = (rng.random(n) < 0.002).astype(int)  # rare: about 40 cases
    s = 0.6 * y + rng.random(n)
    c = compare_scores(
        y, {"model": s}, k=0.05, n_bootstrap=50, outcome="permanent_exclusion", min_cases=10
    )
    sentence = c.sentences()[0]
    p = c.table.loc["model", "precision_at_k"]
    assert p < 0.05 and "about 0 " not in sentence and "about 0." not in sentence
    assert "of 1,000 pupils flagged, about" in sentence or "of 100 pupils flagged" in sentence
    assert "95% interval" in sentence and " to " in sentence
    assert "go on to be permanently excluded" in sentence
    y, a, _ = nested_scorers()
    common = compare_scores(y, {"m": a}, k=200, n_bootstrap=20)
    assert "of 10 pupils flagged, about" in common.sentences()[0]


def test_ece_interval_always_contains_its_estimate():
    # in-sample isotonic calibration: ECE near 0, every resample's ECE above it
    rng = np.random.default_rng(3)
    n = 5000
    s = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(s - 2)))).astype(int)
    p = IsotonicRegression(out_of_bounds="clip").fit(s, y).predict(s)
    c = compare_scores(y, {"model": s}, {"model": p}, k=0.05, n_bootstrap=100)
    row = c.table.loc["model"]
    assert row["ece"] < 0.005
    assert row["ece_low"] <= row["ece"] <= row["ece_high"]
    assert row["ece_low"] >= 0


def test_the_list_evaluated_is_the_list_the_panel_sees():
    rng = np.random.default_rng(4)
    n = 1200
    pupils = np.arange(5000, 5000 + n)
    schools = rng.choice([1, 2, 3], n)
    y = pd.array((rng.random(n) < 0.15).astype(float), dtype="Float64")
    y[rng.choice(n, 25, replace=False)] = pd.NA  # left the authority: unknown outcome
    score = rng.random(n) + np.nan_to_num(np.asarray(y, dtype=float), nan=0.0)
    listed = rank_at_capacity(score, tiebreak=pupils, capacity=0.05)
    c = compare_scores(y, {"model": score, "rule": rng.random(n)}, k=0.05, censored="keep")
    assert c.k == int(listed["flagged"].sum()) == round(0.05 * n)
    assert c.n == n and c.n_censored == 25
    assert any("unknown outcome" in note for note in c.notes)
    bands = assign_bands(score, tiebreak=pupils)
    assert (bands == "high").sum() == c.k
    assert (np.asarray(bands == "high") == listed["flagged"].to_numpy()).all()
    table = band_tables(y, score, None, bands=bands)
    assert table.loc[("band", "high"), "n_pupils"] == c.k
    assert table["n_censored"].sum() == 25 or table["n_censored"].isna().any()
    # per school: the list is the top 5% of each school
    per = compare_scores(
        y, {"model": score}, k=0.05, censored="keep", schools=schools, per_school=True
    )
    by_school = rank_at_capacity(
        score, tiebreak=pupils, capacity=0.05, schools=schools, per_school=True
    )
    assert per.k == int(by_school["flagged"].sum()) and per.per_school
    with pytest.raises(ValueError, match="censored"):
        compare_scores(y, {"model": score}, k=0.05)
    with pytest.raises(ValueError, match="'censored' parameter"):
        compare_scores(y, {"model": score}, k=0.05, censored="drop")


def test_bands_and_list_differ_only_with_a_note():
    n = 1000
    score = np.arange(n, dtype=float)
    y = (np.arange(n) % 7 == 0).astype(int)
    bands = assign_bands(score, cutoffs=(0.8, 0.9))  # top 10% high, list 5%
    c = compare_scores(
        y, {"m": score}, k=0.05, n_bootstrap=5, bands=band_tables(y, score, None, bands=bands)
    )
    assert any("'high' band holds 100 pupils and the list 50" in note for note in c.notes)


def test_each_as_of_date_has_its_own_list_and_the_audit_headline_shows_with_the_table():
    from riskscreen.evaluation import FairnessAudit

    rng = np.random.default_rng(6)
    n = 1000
    dates = np.repeat(["2022-06-01", "2023-06-01"], n // 2)
    y = (rng.random(n) < 0.15).astype(int)
    score = rng.random(n) + y + (dates == "2023-06-01")  # the later date scores higher
    c = compare_scores(y, {"m": score}, k=0.1, as_of_dates=dates, n_bootstrap=10)
    assert c.k == 100  # 50 at each date, not the top 100 of the later date
    pooled = compare_scores(y, {"m": score}, k=0.1, n_bootstrap=10)
    assert c.table.loc["m", "precision_at_k"] != pooled.table.loc["m", "precision_at_k"]
    sens = pd.DataFrame({"sex": rng.choice(["F", "M"], n)})
    audit = FairnessAudit.from_predictions(
        y, score, sensitive_features=sens, k=0.1, as_of_dates=dates, n_bootstrap=10
    )
    c = compare_scores(y, {"m": score}, k=0.1, as_of_dates=dates, n_bootstrap=10, audit=audit)
    assert audit.headline() in str(c) and "Fairness audit" in c.to_markdown()
    assert "Fairness audit" in c.to_html()
