"""School calendar of the synthetic local authority.

Every academic year starts on the first Monday on or after 1 September and has
three terms with half-terms: 7 + 7 weeks (autumn), 6 + 6 (spring) and 6 + 6
(summer), separated by one-week half-terms and two-week Christmas and Easter
holidays, so 38 school weeks in 45 calendar weeks, then the summer holiday.
A school week has 10 sessions (morning and afternoon, Monday to Friday) except
the first week of the year and the last, which lose two sessions each to
training (INSET) days.

Days are held as integers (days since 1970-01-01) so that the generator can do
its date arithmetic on numpy arrays; :func:`to_datetime` turns them into the
canonical ``datetime64[us]`` at the end.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

# Calendar-week pattern of one academic year: (is school week, half-term index).
# -1 marks a holiday week.
_YEAR_PATTERN: tuple[int, ...] = (
    *([0] * 7),
    -1,
    *([1] * 7),
    -1,
    -1,
    *([2] * 6),
    -1,
    *([3] * 6),
    -1,
    -1,
    *([4] * 6),
    -1,
    *([5] * 6),
)
SCHOOL_WEEKS_PER_YEAR = sum(1 for h in _YEAR_PATTERN if h >= 0)
NAT = np.iinfo(np.int32).min
"""Sentinel day number for a missing date (becomes ``NaT``)."""


def day_number(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a calendar date."""
    return (_dt.date(year, month, day) - _dt.date(1970, 1, 1)).days


def first_monday(year: int) -> int:
    """Day number of the first Monday on or after 1 September ``year``."""
    d = _dt.date(year, 9, 1)
    return day_number(year, 9, 1) + (7 - d.weekday()) % 7


def to_datetime(days: np.ndarray) -> np.ndarray:
    """Integer day numbers (``NAT`` for missing) to ``datetime64[us]``."""
    days = np.asarray(days)
    out = days.astype("int64").astype("datetime64[D]").astype("datetime64[us]")
    out[days == NAT] = np.datetime64("NaT")
    return out


@dataclass(frozen=True)
class Calendar:
    """Calendar weeks from the start of the burn-in to the end of the window.

    All arrays are indexed by calendar week ``w``.

    Attributes
    ----------
    monday : ndarray of int
        Day number of the Monday of each week.
    year : ndarray of int
        Academic-year index (0 = first year of the window; negative in the
        burn-in, which has no school weeks).
    halfterm : ndarray of int
        Half-term index within the year (0-5), -1 in holidays and burn-in.
    sessions : ndarray of int
        Sessions possible in a school week (0 in holidays).
    first_week, last_week : ndarray of bool
        First / last school week of an academic year.
    term_start : ndarray of bool
        First school week of a term (autumn, spring, summer).
    """

    start_year: int
    n_years: int
    burn_in: int
    monday: np.ndarray
    year: np.ndarray
    halfterm: np.ndarray
    sessions: np.ndarray
    first_week: np.ndarray
    last_week: np.ndarray
    term_start: np.ndarray

    @property
    def n_weeks(self) -> int:
        return len(self.monday)

    @property
    def is_school(self) -> np.ndarray:
        return self.sessions > 0

    @property
    def window_start(self) -> int:
        return first_monday(self.start_year)

    @property
    def window_end(self) -> int:
        """Last day of the window (the day before the next year's first Monday)."""
        return first_monday(self.start_year + self.n_years) - 1

    def year_first_week(self, k: int) -> int:
        """Calendar-week index of the first school week of academic year ``k``."""
        return int(np.flatnonzero(self.first_week & (self.year == k))[0])

    def year_last_week(self, k: int) -> int:
        """Calendar-week index of the last school week of academic year ``k``."""
        return int(np.flatnonzero(self.last_week & (self.year == k))[0])


def build_calendar(start_year: int, n_years: int, burn_in: int) -> Calendar:
    """Build the weekly calendar: ``burn_in`` weeks, then ``n_years`` years."""
    mondays: list[np.ndarray] = []
    years: list[np.ndarray] = []
    halfterms: list[np.ndarray] = []
    start = first_monday(start_year)
    mondays.append(start - 7 * np.arange(burn_in, 0, -1))
    years.append(np.full(burn_in, -1))
    halfterms.append(np.full(burn_in, -1))
    pattern = np.array(_YEAR_PATTERN)
    for k in range(n_years):
        a = first_monday(start_year + k)
        b = first_monday(start_year + k + 1)
        n = (b - a) // 7
        ht = np.full(n, -1)
        ht[: len(pattern)] = pattern
        mondays.append(a + 7 * np.arange(n))
        years.append(np.full(n, k))
        halfterms.append(ht)
    monday = np.concatenate(mondays).astype(np.int64)
    year = np.concatenate(years).astype(np.int64)
    halfterm = np.concatenate(halfterms).astype(np.int64)
    school = halfterm >= 0
    sessions = np.where(school, 10, 0)
    first_week = np.zeros(len(monday), dtype=bool)
    last_week = np.zeros(len(monday), dtype=bool)
    term_start = np.zeros(len(monday), dtype=bool)
    for k in range(n_years):
        idx = np.flatnonzero(school & (year == k))
        first_week[idx[0]] = True
        last_week[idx[-1]] = True
        hts = halfterm[idx]
        starts = idx[np.r_[True, hts[1:] != hts[:-1]]]
        term_start[starts[[0, 2, 4]]] = True
    sessions = np.where(first_week | last_week, 8, sessions)
    return Calendar(
        start_year=start_year,
        n_years=n_years,
        burn_in=burn_in,
        monday=monday,
        year=year,
        halfterm=halfterm,
        sessions=sessions,
        first_week=first_week,
        last_week=last_week,
        term_start=term_start,
    )
