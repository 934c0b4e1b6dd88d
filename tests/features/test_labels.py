"""Outcome labels: hand-computed cases for each outcome and for censoring."""

from __future__ import annotations

import pandas as pd
import pytest
from _feature_histories import AS_OF, histories, on_roll, pupil

from riskscreen.features import CMEDefinition, SchoolCohort, build_cohort, make_labels

END = AS_OF + pd.Timedelta(days=365)  # first day after a 365D horizon: 2023-01-10


def _labels(h, outcome, **kw):
    y = make_labels(h, [AS_OF], outcome=outcome, **kw)
    return y.xs(AS_OF, level="as_of_date").to_dict()


def _susp(pid, date, kind="suspension"):
    return {
        "pupil_id": pid,
        "start_date": date,
        "kind": kind,
        "reason": "DB",
        "sessions": 2.0 if kind == "suspension" else None,
    }


def test_suspension_window_is_as_of_inclusive_horizon_exclusive():
    h = histories(
        pupils=[pupil(i) for i in range(1, 6)],
        enrolments=[on_roll(i) for i in range(1, 6)],
        exclusions=[
            _susp(1, AS_OF),  # on the as-of date: counts
            _susp(2, END - pd.Timedelta(days=1)),  # last day of the horizon: counts
            _susp(3, END),  # first day after: does not
            _susp(4, AS_OF - pd.Timedelta(days=1)),  # before: does not
            _susp(5, "2022-05-01", kind="permanent"),
        ],
    )
    y = make_labels(h, [AS_OF], outcome="suspension")
    assert y.dtype == "boolean" and y.name == "suspension"
    assert y.index.names == ["pupil_id", "as_of_date"]
    assert y.xs(AS_OF, level=1).to_dict() == {1: True, 2: True, 3: False, 4: False, 5: False}
    assert _labels(h, "permanent_exclusion") == {1: False, 2: False, 3: False, 4: False, 5: True}
    assert _labels(h, "suspension|permanent_exclusion") == {
        1: True,
        2: True,
        3: False,
        4: False,
        5: True,
    }
    assert _labels(h, ("permanent_exclusion", "suspension"))[5] is True
    assert _labels(h, "suspension", horizon="6M")[2] is False


def test_censoring_rule_and_report():
    h = histories(
        pupils=[pupil(i) for i in range(1, 6)],
        enrolments=[
            on_roll(1, leaving_date="2022-03-01", leaving_reason="other_la"),  # censored
            on_roll(2, leaving_date="2022-03-01", leaving_reason="abroad"),  # suspended first
            on_roll(3, leaving_date="2022-03-01", leaving_reason="transfer"),  # not censored
            on_roll(4, leaving_date="2023-02-01", leaving_reason="other_la"),  # after horizon
            on_roll(5),
        ],
        exclusions=[_susp(2, "2022-02-01")],
    )
    y, report = make_labels(h, [AS_OF], outcome="suspension", return_report="unsuppressed")
    assert y.xs(AS_OF, level=1).tolist() == [pd.NA, True, False, False, False]
    assert pd.isna(y.loc[(1, AS_OF)])
    row = report.loc[AS_OF]
    assert row[["n_cohort", "n_positive", "n_negative", "n_censored", "n_unknown"]].tolist() == [
        5,
        1,
        3,
        1,
        0,
    ]
    assert row["positive_rate"] == pytest.approx(1 / 4)
    # as a person may read it: 1 positive, 3 negatives and 1 censored are hidden;
    # the cohort of 5 and the zero unknown stay; the rate would give the positive away
    y2, shown = make_labels(h, [AS_OF], outcome="suspension", return_report=True)
    pd.testing.assert_series_equal(y2, y)
    row = shown.loc[AS_OF]
    assert row["n_cohort"] == 5 and row["n_unknown"] == 0
    assert all(pd.isna(row[c]) for c in ("n_positive", "n_negative", "n_censored"))
    assert pd.isna(row["positive_rate"]) and bool(row["suppressed"])
    assert "hidden" in shown.attrs["suppression"] and shown.attrs["outcome"] == "suspension"
    with pytest.raises(ValueError, match="'return_report' parameter of make_labels"):
        make_labels(h, [AS_OF], outcome="suspension", return_report="raw")


def test_missing_education_definitions():
    h = histories(
        pupils=[pupil(i) for i in range(1, 7)],
        enrolments=[
            on_roll(1, leaving_date="2022-03-01", leaving_reason="unknown"),  # vanished: CME
            on_roll(2, leaving_date="2022-03-01", leaving_reason="unknown"),
            on_roll(2, entry="2022-03-20", school=200),  # reappears within 28 days
            on_roll(3, leaving_date="2022-03-01", leaving_reason="unknown"),
            on_roll(3, entry="2022-04-15", school=200),  # reappears after 45 days
            on_roll(4),
            on_roll(5),
            on_roll(6, leaving_date="2022-03-01", leaving_reason="ehe"),
        ],
        missing_education=[
            {"pupil_id": 4, "kind": "cme", "start_date": "2022-06-01"},
            {"pupil_id": 5, "kind": "cme", "start_date": "2021-06-01"},  # before as-of
            {"pupil_id": 6, "kind": "ehe", "start_date": "2022-03-01"},
        ],
    )
    assert _labels(h, "missing_education") == {
        1: True,
        2: False,
        3: True,
        4: True,
        5: False,
        6: False,
    }
    only_spells = CMEDefinition(unknown_exits=False)
    assert _labels(h, "missing_education", cme_definition=only_spells)[1] is False
    only_exits = CMEDefinition(cme_spells=False, reappear_within="8W")
    got = _labels(h, "missing_education", cme_definition=only_exits)
    assert got == {1: True, 2: False, 3: False, 4: False, 5: False, 6: False}
    with pytest.raises(ValueError, match="cme_spells=True or unknown_exits=True"):
        make_labels(h, [AS_OF], "missing_education", cme_definition=CMEDefinition(False, False))


def _week(pid, start, possible, absent):
    start = pd.Timestamp(start)
    return {
        "pupil_id": pid,
        "school_id": 100,
        "period_start": start,
        "period_end": start + pd.Timedelta(days=4),
        "sessions_possible": possible,
        "sessions_authorised_absent": absent,
        "sessions_unauthorised_absent": 0,
    }


def test_persistent_absence_needs_minimum_sessions():
    h = histories(
        pupils=[pupil(i) for i in range(1, 5)],
        enrolments=[on_roll(i) for i in range(1, 5)],
        attendance=[
            _week(1, "2022-01-10", 10, 1),
            _week(1, "2022-01-17", 10, 1),  # 10%: PA
            _week(2, "2022-01-10", 10, 1),
            _week(2, "2022-01-17", 10, 0),  # 5%
            _week(3, "2022-01-10", 10, 5),  # only 10 possible sessions: unknown
            _week(4, "2022-01-03", 10, 10),
            _week(4, "2022-01-17", 10, 0),  # before as-of
            _week(4, "2022-01-24", 10, 0),
        ],
    )
    y, report = make_labels(h, [AS_OF], "persistent_absence", return_report="unsuppressed")
    assert y.xs(AS_OF, level=1).tolist() == [True, False, pd.NA, False]
    assert report.loc[AS_OF, "n_unknown"] == 1
    assert _labels(h, "persistent_absence", min_possible_sessions=10)[3] is True


def test_custom_cohort_and_errors():
    h = histories(
        pupils=[pupil(1), pupil(2)],
        enrolments=[on_roll(1), on_roll(2)],
        exclusions=[_susp(2, "2022-02-01")],
    )
    cohort = build_cohort(h, [AS_OF]).iloc[[1]]
    y = make_labels(h, None, "suspension", cohort=cohort)
    assert y.to_dict() == {(2, AS_OF): True}
    with pytest.raises(ValueError, match="'outcome' parameter of make_labels"):
        make_labels(h, [AS_OF], outcome="exclusion")
    with pytest.raises(ValueError, match="'horizon' parameter of make_labels"):
        make_labels(h, [AS_OF], horizon="-3M")
    with pytest.raises(ValueError, match="'horizon' parameter of make_labels"):
        make_labels(h, [AS_OF], horizon="all")
    with pytest.raises(ValueError, match="'as_of_dates' parameter of make_labels"):
        make_labels(h, ["2031-01-01"])


def test_a_window_past_the_end_of_data_is_refused_not_labelled_negative():
    h = histories(pupils=[pupil(1)], enrolments=[on_roll(1)])
    with pytest.raises(ValueError, match="runs past the end of data 2023-08-31"):
        make_labels(h, ["2023-06-01"], "suspension")
    # the latest as-of date whose 12 months close by the end of data is fine
    assert len(make_labels(h, ["2022-09-01"], "suspension", horizon="12M")) == 1


def test_year_11_leavers_are_left_out_of_the_school_cohort_not_censored_on_the_outcome():
    # pupils 1 and 3 are in Y11 in June 2022 (Y11 ends 31 Aug 2022), pupil 2 in Y9
    h = histories(
        pupils=[
            pupil(1, born="2006-01-01"),
            pupil(2, born="2008-01-01"),
            pupil(3, born="2006-02-01"),
        ],
        enrolments=[on_roll(1), on_roll(2), on_roll(3)],
        exclusions=[{"pupil_id": 3, "start_date": "2022-07-01"}],
    )
    # on 1 June they leave within three months: not screened, so not labelled
    y, report = make_labels(h, ["2022-06-01"], "suspension", return_report="unsuppressed")
    assert y.index.get_level_values("pupil_id").tolist() == [2]
    assert y.tolist() == [False] and report["n_censored"].tolist() == [0]
    # kept with leaving_within=None, they are labelled by what happened before they
    # left -- negatives stay negatives, so Year 11 is not made to look riskier
    keep = SchoolCohort(leaving_within=None)
    assert make_labels(h, ["2022-06-01"], "suspension", cohort=keep).tolist() == [
        False,
        False,
        True,
    ]
    # in February they still have more than three months of school: screened and labelled
    feb = make_labels(h, ["2022-02-01"], "suspension", horizon="6M")
    assert feb.tolist() == [False, False, True]
    assert "not leaving school within 3 months" in SchoolCohort().words()
    with pytest.raises(ValueError, match="leaving_within"):
        make_labels(h, ["2022-02-01"], "suspension", cohort=SchoolCohort(leaving_within="soon"))


def test_custom_outcomes_over_events_and_spell_ends():
    from riskscreen.data import CustomSource
    from riskscreen.features import Col, Outcome

    regs = pd.DataFrame(
        {
            "pupil_id": pd.Series([1, 2, 3], dtype="int64"),
            "start": pd.to_datetime(["2021-09-01"] * 3).astype("datetime64[us]"),
            "end": pd.to_datetime(["2022-03-01", "2022-07-20", None]).astype("datetime64[us]"),
            "status": ["withdrawn", "completed", "active"],
        }
    )
    h = histories(
        pupils=[pupil(1), pupil(2), pupil(3)],
        enrolments=[on_roll(1), on_roll(2), on_roll(3)],
        custom={"registrations": (regs, CustomSource("pupil_id", "start", "end", ("status",)))},
    )
    withdrawal = Outcome(
        "withdrawal",
        "registrations",
        where=Col("status") == "withdrawn",
        at="end",
        words="withdraw from the course",
    )
    y = make_labels(h, ["2022-01-10"], withdrawal, horizon="6M")
    assert y.name == "withdrawal" and y.tolist() == [True, False, False]
    either = make_labels(h, ["2022-01-10"], (withdrawal, "suspension"), horizon="6M")
    assert either.name == "withdrawal|suspension"
    with pytest.raises(ValueError, match="'name' parameter of Outcome"):
        Outcome("suspension", "registrations")
    with pytest.raises(ValueError, match="holds events with no end date"):
        make_labels(h, ["2022-01-10"], Outcome("x", "exclusions", at="end"))
    with pytest.raises(ValueError, match="has no column\\(s\\) \\['grade'\\]"):
        make_labels(h, ["2022-01-10"], Outcome("x", "registrations", where={"grade": "A"}))


def test_a_horizon_per_as_of_date_where_real_windows_differ():
    h = histories(
        pupils=[pupil(1), pupil(2)],
        enrolments=[on_roll(1), on_roll(2)],
        exclusions=[
            {"pupil_id": 1, "start_date": "2021-03-15"},
            {"pupil_id": 2, "start_date": "2021-11-15"},
        ],
    )
    horizons = {"2021-02-01": "2M", "2021-10-01": "2M", "2021-02-02": "12M"}
    y = make_labels(h, ["2021-02-01", "2021-10-01", "2021-02-02"], "suspension", horizons)
    # pupil 1's March suspension is inside 2 months of 1 Feb; pupil 2's November one
    # inside 2 months of 1 Oct and 12 months of 2 Feb
    assert y.tolist() == [True, False, True, True, False, True]
    with pytest.raises(ValueError, match="No horizon is given for as-of date 2021-06-01"):
        make_labels(h, ["2021-06-01"], "suspension", horizons)
