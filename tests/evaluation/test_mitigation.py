"""CapacityThresholds and compare_mitigation: exactly k flags, recall equalised, cost shown."""

import numpy as np
import pandas as pd
import pytest

from riskscreen.evaluation import CapacityThresholds, compare_mitigation


def biased(seed=0, n=4000):
    """Group b's pupils with the outcome score lower: the list misses them."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    y = (rng.random(n) < 0.15).astype(int)
    score = rng.normal(0, 1, n) + 1.5 * y - 1.0 * y * (g == "b")
    return y, score, pd.DataFrame({"grp": g})


def recall_by_group(y, flags, g):
    return pd.Series(flags[y == 1]).groupby(g[y == 1]).mean()


def test_quotas_keep_exactly_k_and_equalise_recall_in_sample():
    y, score, sens = biased()
    before = score >= np.sort(score)[-200]
    th = CapacityThresholds(k=200).fit(score, y, sensitive_features=sens)
    after = th.predict(score, sensitive_features=sens)
    assert after.sum() == 200 == before.sum()
    g = sens["grp"].to_numpy()
    r0, r1 = recall_by_group(y, before, g), recall_by_group(y, after, g)
    assert r0["a"] / r0["b"] > 2
    assert abs(r1["a"] - r1["b"]) < abs(r0["a"] - r0["b"]) / 3
    assert set(th.selection_rates_.index) == {"a", "b"}


def test_quotas_learnt_once_keep_k_on_any_later_cohort_and_order_does_not_matter():
    y, score, sens = biased(1)
    th = CapacityThresholds(k=0.05, attribute="grp").fit(score, y, sensitive_features=sens)
    y2, score2, sens2 = biased(2, n=3001)
    flags = th.predict(score2, sensitive_features=sens2, tiebreak=np.arange(3001))
    assert flags.sum() == round(0.05 * 3001)
    perm = np.random.default_rng(0).permutation(3001)
    again = th.predict(score2[perm], sensitive_features=sens2.iloc[perm], tiebreak=perm)
    assert (again == flags[perm]).all()
    # a group never seen in fit takes the overall share
    sens3 = sens2.assign(grp=np.where(np.arange(3001) < 100, "new", sens2["grp"]))
    assert th.predict(score2, sensitive_features=sens3).sum() == round(0.05 * 3001)


@pytest.mark.parametrize("constraint", ["fpr", "selection_rate"])
def test_other_constraints(constraint):
    y, score, sens = biased(3)
    th = CapacityThresholds(k=300, constraint=constraint).fit(score, y, sensitive_features=sens)
    flags = th.predict(score, sensitive_features=sens)
    assert flags.sum() == 300
    g = sens["grp"].to_numpy()
    if constraint == "selection_rate":
        rates = pd.Series(flags).groupby(g).mean()
        assert abs(rates["a"] - rates["b"]) < 0.01


def test_compare_mitigation_shows_the_precision_cost_before_and_after():
    y, score, sens = biased(4)
    report = compare_mitigation(y, score, sensitive_features=sens, k=200, n_bootstrap=30)
    t = report.table
    assert list(t.index) == ["as ranked", "equalised recall"]
    assert (t["n_flagged"] == 200).all()
    assert t.loc["equalised recall", "recall_ratio"] < t.loc["as ranked", "recall_ratio"]
    assert t.loc["equalised recall", "precision_cost"] > 0  # equal recall costs precision here
    assert any("in sample" in n for n in report.notes)
    assert "| list |" in report.to_markdown() and "<table" in report._repr_html_()
    assert set(report.audits) == set(t.index)


def test_errors():
    y, score, sens = biased()
    with pytest.raises(ValueError, match="'constraint' parameter of CapacityThresholds"):
        CapacityThresholds(constraint="precision").fit(score, y, sensitive_features=sens)
    with pytest.raises(ValueError, match="'attribute' parameter"):
        CapacityThresholds(attribute="nope").fit(score, y, sensitive_features=sens.assign(other=1))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CapacityThresholds().predict(score, sensitive_features=sens)
    from sklearn.base import clone

    assert clone(CapacityThresholds(k=7)).get_params()["k"] == 7
