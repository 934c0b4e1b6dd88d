"""A tiny hand-built authority whose rows sit on the edges the engines must agree on.

Three as-of dates, each an edge of its own:

- ``2020-03-01``: a leap year, so one year back (2019-03-01) is not 365 days back
  (2019-03-02);
- ``2021-03-31``: a month end, so one month back clips to 2021-02-28;
- ``2022-05-31``: exactly three months before the end of Year 11 (31 August) of
  pupils born in 2005/06, the edge of ``SchoolCohort(leaving_within="3M")``.

Events sit on the as-of date (not seen), the day before it, exactly one window
back (seen) and one day further back (not seen); spells end on the as-of date
(still open), the day before (ended) or never; knowledge dates fall before, on
and after the as-of dates; one pupil is on two rolls that began the same day.
Every pupil's story is in the rows below.

Some rows are there so that breaking one SQL construct for Spark changes a value
(``tests/spark/_mutations.py``): a code list with a space after a comma
(``REPLACE``), a pupil who reappears exactly 28 days after an unexplained exit
(``<=``), a week with no possible sessions (``>``), an orphan listed at two dates
(``COUNT(DISTINCT ...)``) and, in :func:`unvalidated_histories`, orphans on a roll
and off roll (``FILTER``).
"""

from __future__ import annotations

import pandas as pd
from _canonical_frames import frame as _frame

from riskscreen.data import LinkedHistories
from riskscreen.data._tables import TABLES
from riskscreen.features import Col, Feature, FeatureSpec, Outcome

AS_OF = ["2020-03-01", "2021-03-31", "2022-05-31"]


def _roll(pid, entry="2015-09-01", school=100, **kw):
    return {"pupil_id": pid, "school_id": school, "entry_date": entry, **kw}


def _pupil(pid, born="2008-10-01", **kw):
    return {"pupil_id": pid, "birth_month": born, **kw}


def _weeks(pid, first, n, possible=10, unauth=0, auth=0):
    """``n`` school weeks of attendance, the first starting on ``first`` (a Monday)."""
    start = pd.Timestamp(first)
    out = []
    for i in range(n):
        s = start + pd.Timedelta(weeks=i)
        out.append(
            {
                "pupil_id": pid,
                "period_start": s,
                "period_end": s + pd.Timedelta(days=4),
                "sessions_possible": possible,
                "sessions_unauthorised_absent": (unauth + i) % 4,
                "sessions_authorised_absent": auth if i % 3 == 0 else 0,
            }
        )
    return out


def edge_histories() -> LinkedHistories:
    """The authority described in the module docstring."""
    pupils = [_pupil(p) for p in range(1, 9)]
    pupils[5] = _pupil(6, born="2005-12-01")  # Year 11 in 2021/22: leaves 2022-08-31
    pupils.append(_pupil(9, born="2009-02-01", sex="F", ethnicity="BAFR"))
    pupils.append(_pupil(10, born="2010-05-01", sex="F"))  # on no roll, known to social care
    pupils.append(_pupil(999, born="1990-01-01"))  # marks the period the data cover
    enrolments = [
        _roll(1),
        _roll(2, leaving_date="2021-03-30", leaving_reason="transfer"),
        _roll(2, entry="2021-03-30", school=101),  # joined the day before an as-of date
        _roll(3, leaving_date="2021-03-31", leaving_reason="other_la"),  # censored
        _roll(4, leaving_date="2020-06-15", leaving_reason="unknown"),  # unexplained exit...
        _roll(4, entry="2020-07-13", school=101),  # ...reappears 28 days later: in time
        _roll(5, leaving_date="2021-05-10", leaving_reason="unknown"),  # never reappears
        _roll(6),
        _roll(7, entry="2019-01-14", school=101, part_time=True),  # mid-year move
        _roll(7, entry="2019-01-14", school=102),  # dual registration, same day
        _roll(8, entry="2020-03-01", school=101),  # joins on the as-of date: not on roll
        _roll(8, leaving_date="2020-02-29", leaving_reason="phase_transfer"),  # left the day before
        _roll(9, recorded_date="2020-03-05"),  # on roll, but not recorded until after 2020-03-01
        _roll(
            999,
            school=999,
            entry="2014-09-01",
            leaving_date="2023-08-31",
            leaving_reason="completed",
        ),
    ]
    exclusions = [
        # pupil 1: on each edge of 2020-03-01 (leap year) and 2021-03-31 (month end)
        {"pupil_id": 1, "start_date": "2020-03-01", "sessions": 3.0},  # on the as-of date
        {"pupil_id": 1, "start_date": "2020-02-29", "sessions": 1.0, "reason": "PP"},
        {"pupil_id": 1, "start_date": "2020-02-02", "sessions": 4.0},  # 28 days back
        {"pupil_id": 1, "start_date": "2020-02-01", "sessions": 5.0, "reason": "PA"},  # 29 back
        {"pupil_id": 1, "start_date": "2019-09-01", "sessions": 2.5},  # 6M back
        {"pupil_id": 1, "start_date": "2019-03-01", "sessions": 6.0},  # 1Y back, not 365D
        {"pupil_id": 1, "start_date": "2019-02-28", "sessions": 7.0, "kind": "permanent"},
        {"pupil_id": 1, "start_date": "2021-02-28", "sessions": 1.5},  # 1M before 2021-03-31
        {"pupil_id": 1, "start_date": "2021-02-27", "sessions": 2.0},
        {"pupil_id": 1, "start_date": "2020-12-30", "sessions": 0.5},  # 13W before 2021-03-31
        # pupil 2: reasons in the second and third columns, a missing reason_2, tied sessions
        {
            "pupil_id": 2,
            "start_date": "2020-01-06",
            "reason": "VA",
            "reason_2": "DB",
            "sessions": 2.0,
        },
        {
            "pupil_id": 2,
            "start_date": "2020-01-07",
            "reason": "OW",
            "reason_3": "PP",
            "sessions": 2.0,
        },
        {
            "pupil_id": 2,
            "start_date": "2021-01-11",
            "reason": "BU",
            "school_id": 101,
            "sessions": 4.0,
        },
        {"pupil_id": 2, "start_date": "2021-04-12", "school_id": 101},  # label window
        # pupil 6: a permanent exclusion in the label window; pupil 7 a recorded-late one
        {"pupil_id": 6, "start_date": "2021-06-07", "kind": "permanent", "sessions": 0.0},
        {"pupil_id": 6, "start_date": "2020-11-02", "sessions": 3.0},
        {
            "pupil_id": 7,
            "start_date": "2021-03-01",
            "recorded_date": "2021-04-06",
            "school_id": 102,
        },
        {
            "pupil_id": 7,
            "start_date": "2020-02-03",
            "recorded_date": "2020-02-10",
            "school_id": 101,
        },
        {"pupil_id": 3, "start_date": "2021-04-19", "school_id": 100},  # censored but it happened
        {"pupil_id": 9, "start_date": "2022-06-06", "kind": "permanent", "sessions": 1.0},
    ]
    sen = [
        # ends on the as-of date (still open), the day before (ended), or never
        {"pupil_id": 1, "start_date": "2019-01-07", "end_date": "2020-03-01"},
        {"pupil_id": 2, "start_date": "2019-01-07", "end_date": "2020-02-29", "provision": "E"},
        {"pupil_id": 2, "start_date": "2020-02-29", "primary_need": "ASD"},  # starts the day before
        {"pupil_id": 3, "start_date": "2020-03-01", "provision": "E"},  # starts on the as-of date
        # its end was recorded only after the as-of dates of 2021: still open then
        {
            "pupil_id": 4,
            "start_date": "2018-04-16",
            "end_date": "2021-01-15",
            "end_recorded_date": "2021-04-01",
            "recorded_date": "2018-05-01",
        },
        {
            "pupil_id": 5,
            "start_date": "2021-03-15",
            "recorded_date": "2021-03-31",
        },  # recorded on it
        {
            "pupil_id": 6,
            "start_date": "2019-06-03",
            "end_date": "2020-09-30",
            "end_recorded_date": "2020-10-02",
        },
        {
            "pupil_id": 7,
            "start_date": "2017-01-09",
            "end_date": "2019-03-01",
            "primary_need": "MLD",
        },
    ]
    fsm = [
        {"pupil_id": 1, "start_date": "2014-03-01", "end_date": "2014-03-02"},  # 6Y edge of 2020
        {"pupil_id": 2, "start_date": "2014-02-27", "end_date": "2014-02-28"},
        {"pupil_id": 3, "start_date": "2019-09-01"},
        {"pupil_id": 6, "start_date": "2020-01-01", "end_date": "2020-03-01"},
    ]
    social_care = [
        {"pupil_id": 1, "kind": "referral", "start_date": "2019-03-01", "end_date": "2019-03-01"},
        {
            "pupil_id": 1,
            "kind": "assessment",
            "start_date": "2019-04-01",
            "end_date": "2019-05-10",
            "assessment_factors": "4A, 10A",  # the code sought follows a space
        },
        {"pupil_id": 2, "kind": "cp_plan", "start_date": "2019-10-01", "abuse_category": "NEG"},
        {
            "pupil_id": 2,
            "kind": "assessment",
            "start_date": "2020-02-29",
            "end_date": "2020-03-10",
            "assessment_factors": "24A",
        },
        {
            "pupil_id": 3,
            "kind": "looked_after",
            "start_date": "2018-06-01",
            "end_date": "2020-03-01",
        },
        {"pupil_id": 4, "kind": "cin_plan", "start_date": "2020-11-01", "end_date": "2021-03-30"},
        {
            "pupil_id": 5,
            "kind": "early_help",
            "start_date": "2021-03-30",
            "recorded_date": "2021-04-02",
        },
        {"pupil_id": 10, "kind": "referral", "start_date": "2020-01-10", "end_date": "2020-01-20"},
        {
            "pupil_id": 10,
            "kind": "early_help",
            "start_date": "2021-02-01",
            "end_date": "2021-06-30",
        },
    ]
    missing_education = [
        {"pupil_id": 5, "kind": "cme", "start_date": "2021-05-20"},
        {"pupil_id": 8, "kind": "ehe", "start_date": "2019-05-01", "end_date": "2019-07-01"},
        {"pupil_id": 1, "kind": "cme", "start_date": "2020-03-01", "end_date": "2020-03-20"},
    ]
    attendance = []
    for pid, first, n, unauth in (
        (1, "2019-01-07", 120, 1),
        (2, "2020-09-07", 40, 3),
        (6, "2021-04-12", 30, 2),
    ):
        attendance += _weeks(pid, first, n, unauth=unauth, auth=1)
    # a week that ends on an as-of date (not finished: not seen), one that ended the day before
    attendance += [
        {  # a week with no possible sessions: its rate is missing, never a division by zero
            "pupil_id": 4,
            "period_start": "2020-02-17",
            "period_end": "2020-02-21",
            "sessions_possible": 0,
            "sessions_unauthorised_absent": 0,
        },
        {
            "pupil_id": 4,
            "period_start": "2020-02-24",
            "period_end": "2020-02-29",
            "sessions_possible": 10,
            "sessions_unauthorised_absent": 4,
        },
        {
            "pupil_id": 4,
            "period_start": "2020-02-27",
            "period_end": "2020-03-01",
            "sessions_possible": 8,
            "sessions_unauthorised_absent": 8,
        },
        {
            "pupil_id": 999,
            "school_id": 999,
            "period_start": "2023-08-01",
            "period_end": "2023-08-31",
            "sessions_possible": 0,
        },
    ]
    for row in attendance:
        row.setdefault("school_id", 100)
    frames = {
        "pupils": _frame("pupils", pupils),
        "schools": pd.DataFrame(
            {"school_id": [100, 101, 102, 999], "phase": pd.Series(["secondary"] * 4, dtype="str")}
        ),
        "enrolments": _frame("enrolments", enrolments),
        "attendance": _frame("attendance", attendance),
        "exclusions": _frame("exclusions", exclusions),
        "sen": _frame("sen", sen),
        "fsm": _frame("fsm", fsm),
        "social_care": _frame("social_care", social_care),
        "missing_education": _frame("missing_education", missing_education),
    }
    histories = LinkedHistories(**frames)
    police = pd.DataFrame(
        {
            "pupil_id": pd.Series([1, 1, 2, 7, 9], dtype="int64"),
            "date": pd.to_datetime(
                ["2020-02-29", "2020-03-01", "2021-03-30", "2019-06-01", "2022-06-01"]
            ).astype("datetime64[us]"),
            "severity": pd.Series([2, 5, 1, 3, 4], dtype="int64"),
            "recorded_date": pd.to_datetime(["2020-02-29", None, "2021-04-02", None, None]).astype(
                "datetime64[us]"
            ),
        }
    )
    courses = pd.DataFrame(
        {
            "pupil_id": pd.Series([1, 2, 6, 9], dtype="int64"),
            "start": pd.to_datetime(
                ["2019-09-02", "2020-02-29", "2021-01-04", "2020-01-06"]
            ).astype("datetime64[us]"),
            "end": pd.to_datetime(["2020-03-01", None, "2021-06-30", "2021-03-30"]).astype(
                "datetime64[us]"
            ),
            "status": pd.Series(["completed", None, "withdrawn", "withdrawn"], dtype="str"),
        }
    )
    histories.add_source("police", police, value_columns=["severity"])
    histories.add_source(
        "courses", courses, date_column="start", end_date_column="end", value_columns=["status"]
    )
    return histories


def edge_spec() -> FeatureSpec:
    """A feature of every aggregate, window kind, filter and option the compiler has."""
    susp = Col("kind") == "suspension"
    reasons = Col("reason", "reason_2", "reason_3")
    attended = {"sessions_possible": 1.0, "sessions_unauthorised_absent": -1.0}
    half = {"sessions_possible": 0.5, "sessions_authorised_absent": -2.0}
    f = Feature
    return FeatureSpec(
        (
            f("excl_28d", "exclusions", "count", "28D", where=susp),
            f("excl_4w", "exclusions", "count", "4W"),
            f("excl_1m", "exclusions", "count", "1M"),
            f("excl_6m_sum", "exclusions", "sum", "6M", column="sessions"),
            f("excl_1y", "exclusions", "count", "1Y"),
            f("excl_12m_any", "exclusions", "any", "12M", where=susp & reasons.isin(["PP", "PA"])),
            f("excl_all", "exclusions", "count", "all", where=~susp),
            f("excl_db", "exclusions", "count", "all", where=reasons == "DB"),
            f("excl_not_db", "exclusions", "count", "all", where=reasons != "DB"),
            f("excl_no_r2", "exclusions", "count", "all", where=Col("reason_2").isnull()),
            f("excl_r3", "exclusions", "count", "all", where=Col("reason_3").notnull()),
            f("excl_notin", "exclusions", "count", "1Y", where=Col("reason").notin(["DB", "PP"])),
            f(
                "excl_winter",
                "exclusions",
                "count",
                "all",
                where=Col("start_date").month_in(12, 1, 2),
            ),
            f("excl_or", "exclusions", "count", "all", where=(Col("reason") == "PP") | ~susp),
            f("excl_mean", "exclusions", "mean", "all", column="sessions"),
            f("excl_max_1y", "exclusions", "max", "1Y", column="sessions"),
            f("excl_min", "exclusions", "min", "all", column="sessions", impute=-1.0),
            f("excl_first", "exclusions", "days_since_first", "all"),
            f("excl_last_13w", "exclusions", "days_since_last", "13W", impute=float("nan")),
            f("excl_trend", "exclusions", "trend", "1Y", column="sessions"),
            f("excl_current", "exclusions", "current", "all", column="sessions"),
            f("excl_rate", "exclusions", "rate", "all", column="sessions", denominator="sessions"),
            f("excl_change", "exclusions", "count", "28D", compare_window="1Y"),
            f("excl_flag", "exclusions", "count", "1Y", threshold=2.0),
            f("excl_median", "exclusions", "max", "28D", column="sessions", impute="median"),
            f("school_excl", "exclusions", "school_rate", "1Y", where=susp),
            f(
                "att_rate_13w",
                "attendance",
                "rate",
                "13W",
                column=attended,
                denominator="sessions_possible",
            ),
            f("att_half_1m", "attendance", "sum", "1M", column=half),
            f(
                "att_trend",
                "attendance",
                "trend",
                "6M",
                column="sessions_unauthorised_absent",
                denominator="sessions_possible",
            ),
            f(
                "att_change",
                "attendance",
                "rate",
                "28D",
                column="sessions_unauthorised_absent",
                denominator="sessions_possible",
                compare_window="all",
            ),
            f("sen_now", "sen", "active", "all"),
            f("ehcp_now", "sen", "active", "all", where=Col("provision") == "E"),
            f("sen_days_1y", "sen", "days_active", "1Y"),
            f("sen_days_all", "sen", "days_active", "all"),
            f("sen_started_2y", "sen", "spell_count", "2Y"),
            f("sen_ended_1y", "sen", "ended_count", "1Y"),
            f("sen_ended_all", "sen", "ended_count", "all"),
            f("sen_since_start", "sen", "days_since_start", "all"),
            f("sen_since_end", "sen", "days_since_end", "all"),
            f("fsm_6y", "fsm", "days_active", "6Y", threshold=1.0),
            f(
                "sc_factor",
                "social_care",
                "any",
                "all",
                where=Col("assessment_factors").contains_code("10A", "3A"),
            ),
            f(
                "sc_open",
                "social_care",
                "active",
                "all",
                where=Col("kind").isin(["cp_plan", "looked_after", "cin_plan"]),
            ),
            f("sc_days_6m", "social_care", "days_active", "6M", where=Col("kind") != "referral"),
            f("cme_ever", "missing_education", "spell_count", "all", where=Col("kind") == "cme"),
            f(
                "moves_2y",
                "enrolments",
                "ended_count",
                "2Y",
                where=Col("leaving_reason").notin(["phase_transfer"]),
            ),
            f("mid_year", "enrolments", "spell_count", "2Y", where=~Col("entry_date").month_in(9)),
            f("part_time", "enrolments", "active", "all", where=Col("part_time") == True),  # noqa: E712
            f("roll_days", "enrolments", "days_since_start", "all"),
            f("police_1y", "police", "sum", "1Y", column="severity"),
            f("police_current", "police", "current", "all", column="severity"),
            f("course_open", "courses", "active", "all", where=Col("status") != "withdrawn"),
            f("course_days", "courses", "days_active", "1Y"),
            f("ncyear", "cohort", "value", column="ncyear"),
            f("on_roll", "cohort", "value", column="on_roll"),
        )
    )


#: Outcomes over the custom sources: an event, and a spell ending.
POLICE = Outcome("police_notice", "police", where=Col("severity").isin([4, 5]))
WITHDRAWAL = Outcome("withdrawal", "courses", where=Col("status") == "withdrawn", at="end")


def unvalidated_histories() -> LinkedHistories:
    """The edge authority plus a roll and a social care referral of pupils with no 'pupils' row.

    Validation refuses such data; with ``config_context(validate=False)`` the engines'
    own cohort check must still refuse it, naming both tables (one pupil on a roll,
    one off roll known to social care).
    """
    h = edge_histories()
    frames = {
        name: getattr(h, name) for name in TABLES if name not in ("enrolments", "social_care")
    }
    extra_roll = _frame("enrolments", [_roll(55)])
    extra_care = _frame(
        "social_care",
        [
            {
                "pupil_id": 56,
                "kind": "referral",
                "start_date": "2020-01-10",
                "end_date": "2020-02-20",
            }
        ],
    )
    frames["enrolments"] = pd.concat([h.enrolments, extra_roll], ignore_index=True)
    frames["social_care"] = pd.concat([h.social_care, extra_care], ignore_index=True)
    return LinkedHistories(**frames)


def unvalidated_scenarios() -> list:
    """The scenarios run on :func:`unvalidated_histories` (with validation off)."""
    from _parity import Scenario

    from riskscreen.features import SchoolCohort

    cohort = SchoolCohort(include_off_roll_social_care=True, social_care_lookback="6M")
    return [Scenario("orphan_rolls", AS_OF[:1], cohort=cohort)]


def edge_scenarios() -> list:
    """The scenarios the parity tests run on :func:`edge_histories`."""
    from _parity import Scenario

    from riskscreen.features import (
        ListedCohort,
        SchoolCohort,
        SocialCareCohort,
        SpellCohort,
    )

    listed = pd.DataFrame(
        {"school_id": pd.array([100, None, 101], dtype="Int64")},
        index=pd.MultiIndex.from_tuples(
            [
                (1, pd.Timestamp(AS_OF[0])),
                (10, pd.Timestamp(AS_OF[1])),
                (2, pd.Timestamp(AS_OF[1])),
            ],
            names=["pupil_id", "as_of_date"],
        ),
    )
    orphan = pd.DataFrame(
        index=pd.MultiIndex.from_tuples(
            [
                (1, pd.Timestamp(AS_OF[0])),
                (77, pd.Timestamp(AS_OF[0])),
                (77, pd.Timestamp(AS_OF[1])),
            ],
            names=["pupil_id", "as_of_date"],
        )
    )
    school = ("suspension", "permanent_exclusion", "missing_education", "persistent_absence")
    return [
        Scenario(
            "school",
            AS_OF,
            spec=edge_spec(),
            outcomes=(*school, POLICE, WITHDRAWAL, ("suspension", POLICE)),
            horizon="6M",
            protected=True,
        ),
        Scenario(
            "dated_horizons",
            AS_OF[:2],
            outcomes=("suspension|missing_education",),
            horizon={AS_OF[0]: "3M", AS_OF[1]: "12M"},
        ),
        Scenario(
            "off_roll_social_care",
            AS_OF,
            cohort=SchoolCohort(include_off_roll_social_care=True, social_care_lookback="6M"),
            outcomes=("missing_education",),
            horizon="1Y",
        ),
        Scenario("social_care", AS_OF, cohort=SocialCareCohort(lookback="6M")),
        Scenario(
            "courses",
            AS_OF,
            cohort=SpellCohort("courses", where=Col("status") != "withdrawn"),
            outcomes=(WITHDRAWAL,),
        ),
        Scenario(
            "listed",
            None,
            cohort=ListedCohort(listed),
            spec=edge_spec().select(["excl_1y", "sen_now"]),
        ),
        Scenario("orphan", None, cohort=ListedCohort(orphan)),
        Scenario("too_early", ["2014-01-06"]),
    ]
