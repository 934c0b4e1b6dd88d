import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from riskscreen.training import (
    AttendanceRanker,
    BaselineUnavailable,
    Checklist,
    Criterion,
    FeatureRanker,
    PriorSuspensionsRanker,
    default_baselines,
)


def pupils():
    """Pupil 0: two suspensions this year; 1: one this year, three ever; 2: one ever;
    3: none and poor attendance; 4: none, good attendance, FSM + SEN + looked after."""
    return pd.DataFrame(
        {
            "suspension_count_1y": [2, 1, 0, 0, 0],
            "suspension_count_all": [2, 3, 1, 0, 0],
            "attendance_rate_1y": [0.85, 0.95, np.nan, 0.70, 0.99],
            "persistent_absence_1y": [1, 0, 0, 1, 0],
            "sen_support_now": [0, 0, 0, 0, 1],
            "fsm_now": [1, 0, 0, 0, 1],
            "looked_after_now": [0, 0, 0, 0, 1],
        }
    )


Y = np.array([1, 1, 0, 1, 0])


def test_prior_suspensions_is_lexicographic():
    r = PriorSuspensionsRanker().fit(pupils(), Y)
    order = np.argsort(-r.decision_function(pupils()), kind="stable")
    assert order.tolist() == [0, 1, 2, 3, 4][:3] + [3, 4]
    s = r.decision_function(pupils())
    assert s[1] < s[0] and s[2] < s[1] and s[3] == s[4] == 0


def test_attendance_ranker_fills_missing_with_training_median():
    r = AttendanceRanker().fit(pupils(), Y)
    assert r.fill_value_ == pytest.approx(np.nanmedian([0.85, 0.95, 0.70, 0.99]))
    s = r.decision_function(pupils())
    assert s.argmax() == 3 and s[2] == pytest.approx(1 - r.fill_value_)


def test_roni_points_and_skipped_criteria_are_logged(caplog):
    with caplog.at_level(logging.INFO, logger="riskscreen.training"):
        r = Checklist().fit(pupils(), Y)
    assert "cin_cp" in r.criteria_skipped_ and "mobility" in r.criteria_skipped_
    assert "criterion 'cin_cp' skipped" in caplog.text
    # pupil 0: persistent absence 2 + suspended 2 + FSM 1 = 5; pupil 4: SEN + FSM + LAC = 3
    np.testing.assert_array_equal(r.decision_function(pupils()), [5, 2, 0, 2, 3])
    table = r.checklist()
    assert table.set_index("criterion").loc["cin_cp", "used"] == False  # noqa: E712


def test_custom_yot_column_is_used_when_present():
    X = pupils().assign(yot_involvement=[0, 0, 0, 0, 2])
    r = Checklist().fit(X, Y)
    assert "yot_police" not in r.criteria_skipped_
    assert r.decision_function(X)[4] == 4
    custom = Checklist(
        criteria=[Criterion("low_att", ("attendance_rate_1y",), "<0.9", 3, "attendance under 90%")]
    ).fit(X, Y)
    np.testing.assert_array_equal(custom.decision_function(X), [3, 0, 0, 3, 0])


def test_predict_proba_is_monotone_in_score_and_fitted_rates():
    rng = np.random.default_rng(0)
    n = 4000
    X = pd.DataFrame(
        {
            "suspension_count_1y": rng.poisson(0.5, n),
            "suspension_count_all": rng.poisson(1, n),
            "attendance_rate_1y": rng.beta(10, 1, n),
        }
    )
    y = (rng.random(n) < 0.05 + 0.1 * X["suspension_count_1y"]).astype(int)
    for est in default_baselines().values():
        if isinstance(est, Checklist):
            continue
        est.fit(X, y)
        s, p = est.decision_function(X), est.predict_proba(X)[:, 1]
        order = np.argsort(s)
        assert np.all(np.diff(p[order]) >= -1e-12)
        assert p.mean() == pytest.approx(y.mean(), abs=0.01)
        np.testing.assert_array_equal(est.classes_, [0, 1])


def test_contract_and_errors():
    for est in [*default_baselines().values()]:
        assert vars(clone(est)) == vars(est)
        assert not [k for k in vars(est) if k.endswith("_")]
    with pytest.raises(TypeError, match="DataFrame"):
        PriorSuspensionsRanker().fit(np.zeros((3, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="suspension_count_all"):
        PriorSuspensionsRanker().fit(pd.DataFrame({"suspension_count_1y": [1, 0]}), [1, 0])
    with pytest.raises(BaselineUnavailable, match="Checklist needs the feature column") as info:
        Checklist().fit(pd.DataFrame({"x": [1, 0]}), [1, 0])
    assert "suspension_count_1y" in info.value.needs
    with pytest.raises(ValueError, match="censored"):
        AttendanceRanker().fit(pupils(), pd.array([1, 0, None, 1, 0], dtype="boolean"))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("positive", [0, 0, 0, 1, 1]),
        ("<-1", [1, 0, 0, 0, 0]),
        ("> 0.5", [0, 0, 0, 1, 1]),
        ("==0", [0, 0, 1, 0, 0]),
        ("!= 1", [1, 1, 1, 0, 1]),
        ("[0, 1)", [0, 0, 1, 0, 0]),
        ("(-2, 1]", [0, 1, 1, 1, 0]),
    ],
)
def test_checklist_rules_of_every_documented_form(rule, expected):
    X = pd.DataFrame({"a": [-2.0, -1.0, 0.0, 1.0, 2.0]})
    card = Checklist([Criterion("c", ("a",), rule, 3)]).fit(X, [0, 1, 0, 1, 1])
    assert card.decision_function(X).tolist() == [3 * e for e in expected]


@pytest.mark.parametrize("rule", [">>1", "between 1 and 2", "[2, 1]", "", "≥ 2"])
def test_a_rule_outside_the_grammar_is_a_clear_error(rule):
    with pytest.raises(ValueError, match="'rule' parameter of Criterion 'c' must be 'positive'"):
        Criterion("c", ("a",), rule, 1)


def test_feature_ranker_ranks_by_one_feature_either_way():
    X = pd.DataFrame({"attendance": [0.9, np.nan, 0.7, 0.99]})
    low_first = FeatureRanker("attendance", higher_is_riskier=False).fit(X, [0, 1, 1, 0])
    assert np.argsort(-low_first.decision_function(X), kind="stable").tolist() == [2, 0, 1, 3]
    with pytest.raises(BaselineUnavailable, match="'missing'"):
        FeatureRanker("missing").fit(X, [0, 1, 1, 0])
