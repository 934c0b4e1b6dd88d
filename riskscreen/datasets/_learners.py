"""A synthetic college: learners on courses, their coursework, and who withdraws.

Not school data: learners have text ids and no DfE fields, their courses are a
custom ``registrations`` source (spells) and their coursework a custom
``submissions`` source (events) -- the shape a further-education college or a
university holds. It shows riskscreen working on any linked event data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.data import LinkedHistories

#: Each course year starts on this day and ends on the course end date below.
_TERM_START = "09-04"
_COURSE_END = "07-15"
COURSES = ("A-level", "BTEC", "T-level")


def make_learner_histories(
    n_learners: int = 3000, *, first_year: int = 2019, n_years: int = 4, seed: int = 0
) -> LinkedHistories:
    """A synthetic college over ``n_years`` course years (September to July).

    Each learner takes one one-year course. A latent engagement level drives how
    often coursework is late or missed and how it scores; learners who go on to
    withdraw drift in the weeks before they leave, so recent coursework predicts
    withdrawal, as it does in real colleges.

    Returns
    -------
    LinkedHistories
        ``pupils`` holds only ``pupil_id`` (text ids such as ``"L00042"``);
        custom sources ``registrations`` (``start``, ``end``, ``course``,
        ``status`` of "completed" or "withdrawn") and ``submissions`` (``date``,
        ``submitted``, ``late``, ``score``; one row per learner per fortnightly
        deadline while registered).

    Examples
    --------
    >>> from riskscreen.datasets import make_learner_histories
    >>> college = make_learner_histories(n_learners=200, seed=1)
    >>> sorted(college.custom)
    ['registrations', 'submissions']
    """
    for name, value, low in (("n_learners", n_learners, 20), ("n_years", n_years, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(
                f"The {name!r} parameter of make_learner_histories must be a whole number "
                f">= {low}. Got {value!r} instead."
            )
    rng = np.random.default_rng(seed)
    ids = np.array([f"L{i:05d}" for i in range(1, n_learners + 1)])
    year = first_year + rng.integers(0, n_years, n_learners)
    start = pd.to_datetime([f"{y}-{_TERM_START}" for y in year])
    course_end = pd.to_datetime([f"{y + 1}-{_COURSE_END}" for y in year])
    engagement = rng.normal(size=n_learners)
    # weeks until withdrawal, from a constant weekly hazard set by engagement
    hazard = 1 / (1 + np.exp(5.6 + 1.3 * engagement))
    weeks = rng.geometric(hazard)
    leave = start + pd.to_timedelta(7 * weeks, "D")
    withdrawn = leave < course_end
    end = pd.DatetimeIndex(np.where(withdrawn, leave, course_end))
    registrations = pd.DataFrame(
        {
            "pupil_id": pd.Series(ids, dtype="str"),
            "start": start.astype("datetime64[us]"),
            "end": end.astype("datetime64[us]"),
            "course": pd.Series(
                rng.choice(["A-level", "BTEC", "T-level"], n_learners), dtype="str"
            ),
            "status": pd.Series(np.where(withdrawn, "withdrawn", "completed"), dtype="str"),
        }
    )
    # fortnightly deadlines while registered (vectorised over learners x deadlines)
    n_deadlines = 22
    offsets = 14 * (np.arange(n_deadlines) + 1)
    due = start.values[:, None] + offsets[None, :].astype("timedelta64[D]")
    open_ = due < end.values[:, None]
    days_left = (end.values[:, None] - due) / np.timedelta64(1, "D")
    drift = np.where(withdrawn[:, None] & (days_left < 60), 1.5, 0.0)
    risk = -engagement[:, None] + drift
    missed = rng.random(due.shape) < 1 / (1 + np.exp(2.5 - risk))
    late = ~missed & (rng.random(due.shape) < 1 / (1 + np.exp(1.0 - risk)))
    score = np.clip(62 - 9 * risk + rng.normal(0, 8, due.shape), 0, 100)
    who, which = np.nonzero(open_)
    submissions = pd.DataFrame(
        {
            "pupil_id": pd.Series(ids[who], dtype="str"),
            "date": pd.DatetimeIndex(due[who, which]).astype("datetime64[us]"),
            "submitted": (~missed[who, which]).astype("int64"),
            "late": late[who, which].astype("int64"),
            "score": np.where(missed[who, which], np.nan, np.round(score[who, which], 1)),
        }
    )
    learners = pd.DataFrame({"pupil_id": pd.Series(ids, dtype="str")})
    histories = LinkedHistories(pupils=learners)
    histories.add_source(
        "registrations",
        registrations,
        date_column="start",
        end_date_column="end",
        value_columns=["course", "status"],
    )
    histories.add_source(
        "submissions", submissions, date_column="date", value_columns=["submitted", "late", "score"]
    )
    return histories.validate()
