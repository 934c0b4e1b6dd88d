"""A tiny, readable, valid set of linked histories for the data-model tests.

Three pupils at two schools:

- pupil 1 (girl, born March 2010) joins secondary school 100 in September 2021,
  has three suspensions ten days apart in January 2023, is on SEN support for
  SEMH, is referred to social care, assessed and put on a child-in-need plan,
  gets mentoring, and has two police notifications (a custom source);
- pupil 2 (boy, born September 2011) moves from primary school 200 to school
  100 in September 2022 and is eligible for free school meals for two years;
- pupil 3 (boy, born December 2009) has an EHC plan, is permanently excluded
  from school 100 on 10 February 2023 and is then missing education.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.data import LinkedHistories


def dates(*values: str | None) -> pd.Series:
    """Dates as the canonical datetime64[us] (None is NaT)."""
    return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[us]")


def ints(*values: int) -> pd.Series:
    return pd.Series(values, dtype="int64")


def texts(*values: str | None) -> pd.Series:
    return pd.Series(values, dtype="str")


def make_histories() -> LinkedHistories:
    """Build the small valid histories described in the module docstring."""
    pupils = pd.DataFrame(
        {
            "pupil_id": ints(1, 2, 3),
            "birth_month": dates("2010-03-01", "2011-09-01", "2009-12-01"),
            "sex": texts("F", "M", "M"),
            "ethnicity": texts("WBRI", "BCRB", "WOTH"),
            "first_language": texts("ENG", "ENG", None),
            "idaci_decile": pd.array([2, None, 7], dtype="Int64"),
        }
    )
    schools = pd.DataFrame(
        {
            "school_id": ints(100, 200),
            "phase": texts("secondary", "primary"),
            "name": texts("Hillside Academy", "Brook Primary"),
        }
    )
    enrolments = pd.DataFrame(
        {
            "pupil_id": ints(1, 2, 2, 3),
            "school_id": ints(100, 200, 100, 100),
            "entry_date": dates("2021-09-01", "2018-09-03", "2022-09-05", "2020-09-01"),
            "leaving_date": dates(None, "2022-07-22", None, "2023-02-10"),
            "leaving_reason": texts(None, "phase_transfer", None, "permanent_exclusion"),
            "part_time": pd.Series([False, False, False, True], dtype="bool"),
        }
    )
    attendance = pd.DataFrame(
        {
            "pupil_id": ints(1, 1, 1, 3),
            "school_id": ints(100, 100, 100, 100),
            "period_start": dates("2023-01-09", "2023-01-16", "2023-01-23", "2023-01-09"),
            "period_end": dates("2023-01-13", "2023-01-20", "2023-01-27", "2023-01-13"),
            "sessions_possible": ints(10, 10, 10, 10),
            "sessions_authorised_absent": ints(0, 2, 0, 1),
            "sessions_unauthorised_absent": ints(0, 2, 4, 3),
        }
    )
    exclusions = pd.DataFrame(
        {
            "pupil_id": ints(1, 1, 1, 3),
            "school_id": ints(100, 100, 100, 100),
            "start_date": dates("2023-01-10", "2023-01-20", "2023-01-30", "2023-02-10"),
            "kind": texts("suspension", "suspension", "suspension", "permanent"),
            "sessions": pd.Series([2.0, 2.0, 4.0, np.nan], dtype="float64"),
            "reason": texts("DB", "VA", "DB", "PA"),
        }
    )
    sen = pd.DataFrame(
        {
            "pupil_id": ints(1, 3),
            "start_date": dates("2022-01-10", "2019-05-01"),
            "end_date": dates(None, None),
            "provision": texts("K", "E"),
            "primary_need": texts("SEMH", "ASD"),
        }
    )
    fsm = pd.DataFrame(
        {
            "pupil_id": ints(2),
            "start_date": dates("2020-04-01"),
            "end_date": dates("2022-03-31"),
        }
    )
    social_care = pd.DataFrame(
        {
            "pupil_id": ints(1, 1, 1),
            "kind": texts("referral", "assessment", "cin_plan"),
            "start_date": dates("2022-11-01", "2022-11-02", "2022-12-16"),
            "end_date": dates("2022-11-01", "2022-12-15", None),
            "need_code": texts("N1", None, "N1"),
            "abuse_category": texts(None, None, None),
            "placement_type": texts(None, None, None),
            "assessment_factors": texts(None, "3A,4B", None),
        }
    )
    missing_education = pd.DataFrame(
        {
            "pupil_id": ints(3),
            "kind": texts("cme"),
            "start_date": dates("2023-03-01"),
            "end_date": dates("2023-05-01"),
            "reason": texts("not_returned"),
        }
    )
    interventions = pd.DataFrame(
        {
            "pupil_id": ints(1),
            "kind": texts("mentoring"),
            "start_date": dates("2023-02-01"),
            "end_date": dates(None),
        }
    )
    police = pd.DataFrame(
        {
            "pupil_id": ints(1, 1),
            "date": dates("2022-10-20", "2023-01-05"),
            "kind": texts("domestic_abuse", "missing_episode"),
        }
    )
    histories = LinkedHistories(
        pupils=pupils,
        schools=schools,
        enrolments=enrolments,
        attendance=attendance,
        exclusions=exclusions,
        sen=sen,
        fsm=fsm,
        social_care=social_care,
        missing_education=missing_education,
        interventions=interventions,
    )
    return histories.add_source("police_notices", police)
