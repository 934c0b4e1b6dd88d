"""Small linked histories, hand-built with a known rule, for the joins between subpackages.

``risky_histories`` builds an authority of a few hundred pupils in four schools,
on roll from September 2018 to July 2024. Each pupil has a fixed risk ``r``:
suspensions arrive at a monthly rate ``exp(-4.3 + 1.3 r)`` and a month's absence
is Binomial(40 sessions, ``sigmoid(-3 + 0.8 r)``). So past suspensions and
absence predict future suspensions, as in real data, and every layer (data,
features, labels, training, evaluation, tracking) runs for real on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.data import LinkedHistories

START, END = pd.Timestamp("2018-09-01"), pd.Timestamp("2024-07-31")
#: As-of dates for fitting (termly); the last one is the calibration date with the
#: default 12-month horizon, and every label window closes before the end of data.
FIT_DATES = [
    "2019-10-01",
    "2020-02-01",
    "2020-06-01",
    "2020-10-01",
    "2021-02-01",
    "2021-06-01",
    "2022-06-01",
]
TEST_DATE = "2023-06-01"


def risky_histories(n_pupils: int = 900, seed: int = 0) -> LinkedHistories:
    """The authority described in the module docstring (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    pid = np.arange(1, n_pupils + 1, dtype="int64")
    risk = rng.normal(size=n_pupils)
    school = 100 + (pid % 4)
    born = pd.to_datetime("2006-09-01") + pd.to_timedelta(rng.integers(0, 8 * 365, n_pupils), "D")
    pupils = pd.DataFrame(
        {
            "pupil_id": pid,
            "birth_month": born.to_period("M").to_timestamp().astype("datetime64[us]"),
            "sex": pd.Series(rng.choice(["M", "F"], n_pupils), dtype="str"),
            "ethnicity": pd.Series(rng.choice(["WBRI", "BAFR", "APKN"], n_pupils), dtype="str"),
            "first_language": pd.Series(["ENG"] * n_pupils, dtype="str"),
            "idaci_decile": pd.array(rng.integers(1, 11, n_pupils), dtype="Int64"),
        }
    )
    schools = pd.DataFrame(
        {"school_id": np.arange(100, 104, dtype="int64"), "phase": pd.Series(["secondary"] * 4)}
    )
    schools["phase"] = schools["phase"].astype("str")
    enrolments = pd.DataFrame(
        {
            "pupil_id": pid,
            "school_id": school.astype("int64"),
            "entry_date": pd.Series([START] * n_pupils).astype("datetime64[us]"),
            "leaving_date": pd.Series([pd.NaT] * n_pupils, dtype="datetime64[us]"),
            "leaving_reason": pd.Series([None] * n_pupils, dtype="str"),
            "part_time": False,
        }
    )
    months = pd.date_range(START, END, freq="MS")
    starts = np.repeat(months.values, n_pupils)
    p_absent = 1 / (1 + np.exp(3.0 - 0.8 * risk))
    attendance = pd.DataFrame(
        {
            "pupil_id": np.tile(pid, len(months)),
            "school_id": np.tile(school, len(months)).astype("int64"),
            "period_start": pd.DatetimeIndex(starts).astype("datetime64[us]"),
            "period_end": (pd.DatetimeIndex(starts) + pd.offsets.MonthEnd(0)).astype(
                "datetime64[us]"
            ),
            "sessions_possible": np.int64(40),
            "sessions_authorised_absent": np.int64(0),
            "sessions_unauthorised_absent": rng.binomial(40, np.tile(p_absent, len(months))),
        }
    )
    rate = np.exp(-4.3 + 1.3 * risk) * len(months)
    n_events = rng.poisson(rate)
    who = np.repeat(np.arange(n_pupils), n_events)
    span = (END - START).days
    day = START + pd.to_timedelta(rng.integers(0, span, len(who)), "D")
    exclusions = pd.DataFrame(
        {
            "pupil_id": pid[who],
            "school_id": school[who].astype("int64"),
            "start_date": pd.DatetimeIndex(day).astype("datetime64[us]"),
            "kind": pd.Series(["suspension"] * len(who), dtype="str"),
            "sessions": 2.0,
            "reason": pd.Series(["PP"] * len(who), dtype="str"),
        }
    ).drop_duplicates(["pupil_id", "school_id", "start_date", "kind"], ignore_index=True)
    return LinkedHistories(
        pupils=pupils,
        schools=schools,
        enrolments=enrolments,
        attendance=attendance,
        exclusions=exclusions,
    ).validate()
