"""The Screener for any linked event data: text ids, no DfE fields, own cohort, outcome, rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscreen import Screener
from riskscreen.datasets import make_learner_histories
from riskscreen.features import (
    Col,
    Feature,
    FeatureSpec,
    Outcome,
    SchoolCohort,
    SocialCareCohort,
    SpellCohort,
    build_dataset,
)
from riskscreen.training import Checklist, Criterion, FeatureRanker

DATES = ["2019-11-01", "2020-02-01", "2020-11-01", "2021-02-01", "2021-11-01", "2022-02-01"]
TEST = "2023-02-01"
SPEC = FeatureSpec(
    [
        Feature("late_8w", "submissions", "sum", "56D", column="late", monotone=1),
        Feature(
            "missed_8w", "submissions", "count", "56D", where=Col("submitted") == 0, monotone=1
        ),
        Feature("mean_score_8w", "submissions", "mean", "56D", column="score", monotone=-1),
        Feature("mean_score_all", "submissions", "mean", "all", column="score", monotone=-1),
    ]
)
WITHDRAWAL = Outcome(
    "withdrawal",
    "registrations",
    where=Col("status") == "withdrawn",
    at="end",
    words="withdraw from the course",
)
TUTORS = Checklist(
    [
        Criterion("late", ("late_8w",), ">= 2", 2, "Two or more late pieces in 8 weeks"),
        Criterion("missed", ("missed_8w",), ">= 1", 2, "A missed piece in 8 weeks"),
        Criterion("low", ("mean_score_8w",), "[0, 50)", 1, "Average mark under 50"),
    ]
)


@pytest.fixture(scope="module")
def college():
    return make_learner_histories(800, seed=2)


@pytest.fixture(scope="module")
def screener(college):
    return Screener(
        outcome=WITHDRAWAL,
        horizon="4M",
        spec=SPEC,
        cohort=SpellCohort("registrations"),
        model="scorecard",
        baselines={"tutor_checklist": TUTORS, "low_marks": FeatureRanker("mean_score_8w", False)},
        capacity=0.1,
        n_bootstrap=20,
    ).fit(college, DATES)


def test_a_college_with_text_ids_and_no_dfe_fields_is_screened_end_to_end(college, screener):
    assert list(college.pupils.columns) == ["pupil_id"]
    assert screener.train_dates_ == DATES[:4] and screener.calibration_dates_ == DATES[-1:]
    comparison = screener.evaluate(college, TEST, n_bootstrap=20)
    assert list(comparison.table.index) == ["scorecard", "tutor_checklist", "low_marks"]
    assert comparison.table.loc["scorecard", "roc_auc"] > 0.7
    screening = screener.score(college, TEST)
    frame = screening.frame
    assert frame.index.dtype == "str" and frame.index.str.startswith("L").all()
    assert frame["school_id"].isna().all() and frame["flagged"].sum() == screening.k
    registered = build_dataset(college, [TEST], cohort=SpellCohort("registrations")).X
    assert len(frame) == len(registered)


def test_the_labels_follow_the_custom_outcome(college):
    data = build_dataset(
        college,
        ["2021-02-01"],
        spec=SPEC,
        cohort=SpellCohort("registrations"),
        outcome=WITHDRAWAL,
        horizon="4M",
    )
    regs = college.custom["registrations"][0].set_index("pupil_id")
    ids = data.y.index.get_level_values("pupil_id")
    ended = regs.loc[ids, "end"]
    expected = (
        (regs.loc[ids, "status"] == "withdrawn") & (ended >= "2021-02-01") & (ended < "2021-06-01")
    )
    np.testing.assert_array_equal(data.y.to_numpy(dtype=bool), expected.to_numpy())


def test_the_off_roll_social_care_cohort_goes_through_the_screener():
    from riskscreen.datasets import make_linked_histories

    h = make_linked_histories(n_pupils=6000, seed=4)
    dates = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
    # the CME cohort: pupils on roll and children known to social care on no roll
    cohort = SchoolCohort(include_off_roll_social_care=True)
    s = Screener(outcome="missing_education", cohort=cohort, model="scorecard", n_bootstrap=5)
    frame = s.fit(h, dates).score(h, "2023-06-01").frame
    off_roll = build_dataset(h, ["2023-06-01"], cohort=SocialCareCohort(ncyears=(5, 11))).cohort
    assert len(off_roll) > 0
    ids = off_roll.index.get_level_values("pupil_id")
    assert ids.isin(frame.index).all()  # every off-roll child known to social care is screened
    assert frame.loc[ids, "school_id"].isna().all()


def test_bad_cohorts_and_baselines_are_named_before_any_work(college):
    with pytest.raises(ValueError, match="'cohort' parameter of Screener"):
        Screener(cohort=pd.DataFrame()).fit(college, DATES)
    with pytest.raises(ValueError, match="'baselines' parameter of Screener"):
        Screener(baselines=[TUTORS]).fit(college, DATES)
    with pytest.raises(ValueError, match="'outcome' parameter of Screener"):
        Screener(outcome="withdrawal").fit(college, DATES)


def test_categorical_columns_are_refused_not_dropped(college):
    from riskscreen.features import Dataset

    data = build_dataset(
        college,
        DATES,
        spec=SPEC,
        cohort=SpellCohort("registrations"),
        outcome=WITHDRAWAL,
        horizon="4M",
    )
    X = data.X.assign(course=pd.Categorical(["A"] * len(data.X)))
    bad = Dataset(
        X=X,
        cohort=data.cohort,
        spec=data.spec,
        y=data.y,
        outcome=data.outcome,
        horizon=data.horizon,
        end_of_data=data.end_of_data,
    )
    with pytest.raises(ValueError, match=r"features \['course'\] are not numbers"):
        Screener(outcome=WITHDRAWAL, horizon="4M", baselines={}).fit(bad)


def test_sentences_use_the_outcome_words_and_missing_baselines_are_rows(college):
    # the default rule baselines read school features this college does not have
    s = Screener(
        outcome=WITHDRAWAL,
        horizon="4M",
        spec=SPEC,
        cohort=SpellCohort("registrations"),
        model="scorecard",
        capacity=0.1,
        n_bootstrap=10,
    ).fit(college, DATES)
    assert set(s.baselines_skipped_) == {"prior_suspensions", "attendance", "roni_checklist"}
    comparison = s.evaluate(college, TEST)
    text = str(comparison)
    assert "withdraw from the course" in text and "be suspended" not in text
    for why in s.baselines_skipped_.values():
        assert f"not available: {why}" in text
    frame = comparison.to_frame()
    assert frame.loc["attendance", "not_available"].startswith("needs ")
    assert np.isnan(frame.loc["attendance", "precision_at_k"])
    assert "attendance" in comparison.to_markdown() and "not available" in comparison.to_html()


def test_evaluate_pools_several_dates_and_gives_each_its_own_list(college, screener):
    dates = ["2022-10-01", TEST]
    pooled = screener.evaluate(college, dates, n_bootstrap=10)
    assert list(pooled.by_date) == dates
    one = {d: screener.evaluate(college, d, n_bootstrap=10) for d in dates}
    # each date its own list at capacity: the pooled list is the sum of the dates' lists
    assert pooled.k == sum(c.k for c in one.values())
    assert pooled.n == sum(c.n for c in one.values())
    ranking = ["average_precision", "roc_auc"]
    for d in dates:
        pd.testing.assert_frame_equal(pooled.by_date[d].table[ranking], one[d].table[ranking])
        # a scorer withheld anywhere is withheld everywhere (no differencing of dates)
        assert set(pooled.by_date[d].withheld) == set(pooled.withheld)
        assert set(one[d].withheld) <= set(pooled.withheld)
    table = pooled.by_date_table()
    assert list(table.index) == dates and "scorecard" in table.columns
    assert "Precision@k per as-of date" in str(pooled)


def test_the_audit_takes_any_columns_the_analyst_names(college, screener):
    ids = college.pupils["pupil_id"]
    rng = np.random.default_rng(0)
    groups = pd.DataFrame(
        {"disability": rng.choice(["yes", "no"], len(ids), p=[0.2, 0.8])},
        index=pd.Index(ids, name="pupil_id"),
    )
    comparison = screener.evaluate(college, TEST, n_bootstrap=10, sensitive_features=groups)
    audit = comparison.audit
    assert audit is not None and audit.n == comparison.n
    assert set(audit.by_group.index.get_level_values(0)) == {"all", "disability"}
    assert "Fairness audit" in str(comparison)
    # no protected characteristics in the data and none given: said, not silent
    plain = screener.evaluate(college, TEST, n_bootstrap=10)
    assert plain.audit is None and any("No fairness audit" in n for n in plain.notes)
    assert screener.evaluate(college, TEST, n_bootstrap=10, sensitive_features=None).audit is None
    with pytest.raises(ValueError, match="'sensitive_features' parameter of Screener.evaluate"):
        screener.evaluate(college, TEST, sensitive_features=["disability"])
