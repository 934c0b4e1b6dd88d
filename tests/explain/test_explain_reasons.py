"""Reasons in words for hand-built pupils: one exact sentence per feature family."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _explain_cases import AS_OF, one, pupil_reasons

from riskscreen.explain import Reason
from riskscreen.explain._columns import resolve_columns
from riskscreen.explain._reasons import reason_table
from riskscreen.features import Feature, FeatureSpec, default_spec


# -- counts: singular, plural, none, all-time windows ---------------------------------------
def test_three_suspensions_in_the_last_12_months():
    got = one({"suspension_count_1y": 3}, {"suspension_count_1y": 0.8})
    assert got == "3 suspensions in the last 12 months (raises risk)"


def test_one_suspension_is_singular():
    got = one({"suspension_count_13w": 1}, {"suspension_count_13w": 0.4})
    assert got == "1 suspension in the last 13 weeks (raises risk)"


def test_no_suspensions_on_record_lowers_risk():
    got = one({"suspension_count_all": 0}, {"suspension_count_all": -0.3})
    assert got == "no suspensions on record (lowers risk)"


def test_sessions_lost_to_suspension():
    got = one({"suspension_sessions_1y": 2.5}, {"suspension_sessions_1y": 0.2})
    assert got == "2.5 sessions lost to suspension in the last 12 months (raises risk)"


def test_referrals_and_plans_on_record():
    assert (
        one({"referrals_1y": 1}, {"referrals_1y": 0.3})
        == "1 referral to children's social care in the last 12 months (raises risk)"
    )
    assert (
        one({"cp_plans_ever": 2}, {"cp_plans_ever": 0.3})
        == "2 child protection plans on record (raises risk)"
    )
    assert (
        one({"cme_spells_all": 0}, {"cme_spells_all": -0.1})
        == "never recorded as missing education (lowers risk)"
    )


# -- days since: "ago", and missing values read as "never" ---------------------------------------
def test_days_since_last_suspension():
    row = {"days_since_last_suspension": 23, "days_since_last_suspension__missing": 0}
    assert (
        one(row, {"days_since_last_suspension": 0.5}) == "last suspended 3 weeks ago (raises risk)"
    )
    row["days_since_last_suspension"] = 400
    assert one(row, {"days_since_last_suspension": 0.2}) == (
        "last suspended 13 months ago (raises risk)"
    )


def test_never_suspended_uses_the_missing_indicator():
    # the indicator's value belongs to its feature's reason
    got = one({}, {"days_since_last_suspension__missing": -0.4})
    assert got == "never suspended (lowers risk)"


# -- shares: percentages, zero, missing, edges, trends ------------------------------------------
def test_attendance_down_from_a_longer_window():
    row = {"attendance_rate_4w": 0.81, "attendance_rate_13w": 0.95}
    got = one(row, {"attendance_rate_4w": 0.6})
    assert got == (
        "attendance 81% in the last 4 weeks, down from 95% over the last 13 weeks (raises risk)"
    )


def test_attendance_up_from_a_longer_window():
    row = {"attendance_rate_13w": 0.70, "attendance_rate_1y": 0.60}
    got = one(row, {"attendance_rate_13w": 0.3})
    assert got == (
        "attendance 70% in the last 13 weeks, up from 60% over the last 12 months (raises risk)"
    )


def test_a_small_change_is_not_a_trend():
    row = {"attendance_rate_4w": 0.97, "attendance_rate_13w": 0.95}
    assert one(row, {"attendance_rate_4w": -0.2}) == (
        "attendance 97% in the last 4 weeks (lowers risk)"
    )


def test_a_change_feature_reads_as_its_two_windows():
    row = {"attendance_rate_4w": 0.81, "attendance_rate_1y": 0.95}
    row["attendance_change_4w_vs_1y"] = -0.14
    got = one(row, {"attendance_change_4w_vs_1y": 0.7})
    assert got == (
        "attendance 81% in the last 4 weeks, down from 95% over the last 12 months (raises risk)"
    )


def test_no_unauthorised_absence():
    got = one({"unauthorised_absence_rate_13w": 0.0}, {"unauthorised_absence_rate_13w": -0.2})
    assert got == "no unauthorised absence in the last 13 weeks (lowers risk)"


def test_tiny_shares_are_not_rounded_to_none_or_all():
    got = one({"unauthorised_absence_rate_1y": 0.004}, {"unauthorised_absence_rate_1y": -0.1})
    assert got == "unauthorised absence under 1% in the last 12 months (lowers risk)"
    got = one({"attendance_rate_1y": 0.997}, {"attendance_rate_1y": -0.1})
    assert got == "attendance over 99% in the last 12 months (lowers risk)"


def test_no_attendance_recorded():
    row = {"attendance_rate_4w": 0.93, "attendance_rate_4w__missing": 1}
    got = one(row, {"attendance_rate_4w": 0.1, "attendance_rate_4w__missing": 0.2})
    assert got == "no attendance recorded in the last 4 weeks (raises risk)"


def test_persistent_absence_and_rate_per_100():
    assert one({"persistent_absence_1y": 1}, {"persistent_absence_1y": 0.4}) == (
        "persistently absent (missed 10% or more of sessions) in the last 12 months (raises risk)"
    )
    assert one({"school_suspension_rate_1y": 0.214}, {"school_suspension_rate_1y": 0.1}) == (
        "21 suspensions per 100 pupils at the current school in the last 12 months (raises risk)"
    )


# -- states: flags on and off, "since" ---------------------------------------------------------
def test_flags_read_as_states():
    assert one({"cp_plan_now": 1}, {"cp_plan_now": 0.9}) == (
        "on a child protection plan (raises risk)"
    )
    assert one({"fsm_now": 0}, {"fsm_now": -0.2}) == (
        "not eligible for free school meals (lowers risk)"
    )
    assert one({"ncyear": 0}, {"ncyear": -0.2}) == "in Reception (lowers risk)"
    assert one({"ncyear": 9}, {"ncyear": 0.2}) == "in year 9 (raises risk)"


def test_since_when_the_start_of_the_spell_is_known():
    starts = {"cp_plan_now": np.array([(AS_OF - pd.Timestamp("2025-03-14")).days])}
    got = one({"cp_plan_now": 1}, {"cp_plan_now": 0.9}, starts=starts)
    assert got == "on a child protection plan since March 2025 (raises risk)"


# -- grouping, ranking, direction ----------------------------------------------------------------
def test_windows_of_one_quantity_give_one_reason_with_their_sum():
    row = {"suspension_count_1y": 3, "suspension_count_all": 5}
    shap = {"suspension_count_1y": 0.5, "suspension_count_all": 0.2, "ncyear": 0.6}
    reasons = pupil_reasons((row, shap))[0]
    # suspensions add up to 0.7 > year group 0.6; the 12-month count moved the score most
    assert reasons[0] == "3 suspensions in the last 12 months (raises risk)"
    assert reasons[1] == "in year 8 (raises risk)"
    assert len(reasons) == 2  # groups with no contribution are not reasons


def test_the_headline_is_the_member_that_moved_the_score_most():
    row = {"suspension_count_1y": 3, "suspension_count_all": 5}
    shap = {"suspension_count_1y": 0.1, "suspension_count_all": 0.5}
    assert one(row, shap) == "5 suspensions on record (raises risk)"


def test_top_n_largest_absolute_first_with_direction():
    shap = {"fsm_now": 0.3, "ncyear": -0.5, "cp_plan_now": 0.1, "ehcp_now": 0.05}
    row = {"fsm_now": 1, "cp_plan_now": 1}
    reasons = pupil_reasons((row, shap), n_reasons=2)[0]
    assert reasons == [
        "in year 8 (lowers risk)",
        "eligible for free school meals (raises risk)",
    ]


def test_row_order_never_matters():
    cases = [
        ({"suspension_count_1y": k}, {"suspension_count_1y": 0.1 * k, "ncyear": 0.15})
        for k in range(1, 6)
    ]
    forward = pupil_reasons(*cases)
    backward = pupil_reasons(*cases[::-1])
    assert forward == backward[::-1]


# -- custom features, borrowed words, protected characteristics ---------------------------------
def test_custom_source_reads_from_its_description():
    f = Feature(
        "youth_notifications_1y",
        "youth_justice",
        "count",
        "1Y",
        "Youth justice notifications in the 12 months before the screening date",
    )
    spec = default_spec() + [f]
    got = one({"youth_notifications_1y": 3}, {"youth_notifications_1y": 0.5}, spec=spec)
    assert got == (
        "youth justice notifications in the 12 months before the screening date: 3 (raises risk)"
    )


def test_custom_reason_template_and_group():
    f = Feature(
        "youth_notifications_1y",
        "youth_justice",
        "count",
        "1Y",
        reason=Reason("{n} youth justice notification{s} {window}", group="youth justice"),
    )
    spec = FeatureSpec((f,))
    assert one({"youth_notifications_1y": 1}, {"youth_notifications_1y": 0.5}, spec=spec) == (
        "1 youth justice notification in the last 12 months (raises risk)"
    )


def test_a_redefined_default_name_does_not_borrow_its_words():
    f = Feature("suspension_count_1y", "exclusions", "count", "6M", "Suspensions, 6 months")
    got = one({"suspension_count_1y": 2}, {"suspension_count_1y": 0.5}, spec=FeatureSpec((f,)))
    assert got == "suspensions, 6 months: 2 (raises risk)"


def test_reason_words_are_checked():
    with pytest.raises(ValueError, match="unknown placeholders"):
        Reason("{count} suspensions")
    with pytest.raises(ValueError, match="'reason' parameter"):
        Feature("x", "exclusions", "count", reason=3)
    # words are not the feature's definition
    assert Feature("x", "exclusions", "count", reason="a") == Feature("x", "exclusions", "count")


def test_protected_inputs_are_named_as_such_never_by_level():
    got = one({"sex_m": 1}, {"sex_m": 0.4}, extra_columns=["sex_m"])
    assert got == (
        "recorded sex (a protected characteristic given to the model by explicit choice) "
        "(raises risk)"
    )


def test_reasons_are_written_once_per_distinct_sentence():
    spec = default_spec()
    names = spec.output_names()
    n = 50_000
    data = np.zeros((n, len(names)))
    j = names.index("suspension_count_1y")
    data[:, j] = np.arange(n) % 4
    values = np.zeros_like(data)
    values[:, j] = 0.5
    table = reason_table(
        values, data, resolve_columns(names, spec), pd.RangeIndex(n), as_of=AS_OF, n_reasons=3
    )
    assert len(table) == n
    assert isinstance(table["text"].dtype, pd.CategoricalDtype)
    assert len(table["text"].cat.categories) == 4
