"""Time in riskscreen: durations (lookback windows and horizons) and as-of dates.

This module is the one owner of time. Every public function and estimator that
takes a lookback window, a horizon or an as-of date parses it here, once, at
its boundary.

Durations
---------
A duration is a positive whole number followed by a unit, or ``"all"`` where a
lookback window may reach back to the start of the records:

=========  ==========================================  ==========================
string     meaning                                     start of a lookback window
=========  ==========================================  ==========================
``"28D"``  28 days                                     ``as_of - 28 days``
``"12W"``  12 weeks (= 84 days)                        ``as_of - 84 days``
``"6M"``   6 calendar months                           ``as_of - 6 months``
``"1Y"``   1 calendar year (= 12 calendar months)      ``as_of - 1 year``
``"all"``  everything recorded before the as-of date   no lower bound
=========  ==========================================  ==========================

A :class:`Duration`, a :class:`pandas.Timedelta` of whole days or a
``datetime.timedelta`` of whole days is accepted wherever a string is.
Calendar months clip to the end of a shorter month (31 January + 1 month is
28 or 29 February), the same in pandas and in the SQL the engines run.

Lookback windows are half-open, ``[as_of - window, as_of)``: an event dated
exactly one window before the as-of date is inside, an event *on* the as-of
date is outside. Horizons (label windows) are the mirror image,
``[as_of, as_of + horizon)``.

As-of dates
-----------
An as-of date is a calendar day (a time of day is dropped, a time zone is
dropped after conversion to its local day): the moment a screening is made,
seeing only what was known before it.

End of data and complete label windows
--------------------------------------
The *end of data* of a set of histories is the latest date on which anything
in them is recorded to have happened or to have been recorded: event dates
(an attendance period's last day, a spell's start) and knowledge dates
(``recorded_date``, ``end_recorded_date``) of every source, canonical and
custom. Spell *end* dates are not used, since they may be planned dates in the
future. It is computed by :meth:`riskscreen.data.LinkedHistories.end_of_data`.
A label window ``[as_of, as_of + horizon)`` is *complete* when its last day is
no later than the end of data (:func:`label_window_complete`); outcomes of an
incomplete window are not yet in the data.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

_UNITS = {"D": "day", "W": "week", "M": "month", "Y": "year"}
_PATTERN = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)
_EXAMPLES = "'28D', '12W', '6M' or '1Y'"
#: One day: a label window ``[as_of, as_of + horizon)`` ends the day before its bound.
ONE_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, eq=False)
class Duration:
    """A lookback window or horizon: ``n`` days, weeks, calendar months or years, or all.

    Create one with :func:`parse_duration` (or pass the string wherever a duration
    is expected).

    Attributes
    ----------
    n : int or None
        Number of units (None for ``"all"``).
    unit : {"D", "W", "M", "Y"} or None
        The unit (None for ``"all"``).

    Examples
    --------
    >>> from riskscreen import parse_duration
    >>> d = parse_duration("12M")
    >>> d.text, d.words()
    ('12M', '12 months')
    >>> d.after("2023-01-31")
    Timestamp('2024-01-31 00:00:00')
    >>> d == parse_duration("1Y")
    True
    """

    n: int | None
    unit: str | None

    def _key(self) -> tuple:
        """(days, calendar months): "1Y" equals "12M", "2W" equals "14D"."""
        if self.n is None:
            return (None, None)
        days = {"D": 1, "W": 7}.get(self.unit, 0) * self.n
        months = {"M": 1, "Y": 12}.get(self.unit, 0) * self.n
        return (days, months)

    def __eq__(self, other) -> bool:
        return isinstance(other, Duration) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def text(self) -> str:
        """The canonical string, e.g. ``"12W"`` or ``"all"``."""
        return "all" if self.n is None else f"{self.n}{self.unit}"

    def __str__(self) -> str:
        return self.text

    @property
    def is_all(self) -> bool:
        return self.n is None

    @property
    def approx_days(self) -> float:
        """Length in days (months as 30.4375 days); infinite for ``"all"``."""
        if self.n is None:
            return float("inf")
        return self.n * {"D": 1.0, "W": 7.0, "M": 30.4375, "Y": 365.25}[self.unit]

    # -- pandas ----------------------------------------------------------------------------
    def offset(self) -> pd.DateOffset:
        """The duration as a :class:`pandas.DateOffset` (calendar months and years)."""
        if self.n is None:
            raise ValueError("The duration 'all' has no length.")
        key = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}[self.unit]
        return pd.DateOffset(**{key: self.n})

    def after(self, date) -> pd.Timestamp:
        """``date + duration`` (the first day after a horizon starting on ``date``)."""
        return pd.Timestamp(date) + self.offset()

    def before(self, date) -> pd.Timestamp:
        """``date - duration`` (the first day of a lookback window ending before ``date``)."""
        return pd.Timestamp(date) - self.offset()

    # -- SQL ---------------------------------------------------------------------------------
    def interval_sql(self) -> str:
        """The duration as a plain SQL interval literal, e.g. ``INTERVAL '84' DAY``."""
        if self.n is None:
            raise ValueError("The duration 'all' has no interval.")
        if self.unit == "D":
            return f"INTERVAL '{self.n}' DAY"
        if self.unit == "W":
            return f"INTERVAL '{7 * self.n}' DAY"
        if self.unit == "M":
            return f"INTERVAL '{self.n}' MONTH"
        return f"INTERVAL '{self.n}' YEAR"

    def start_sql(self, as_of: str) -> str | None:
        """SQL for the first day inside the lookback window (None for ``"all"``)."""
        if self.n is None:
            return None
        return f"({as_of} - {self.interval_sql()})"

    def end_sql(self, as_of: str) -> str:
        """SQL for the first day after a horizon ``[as_of, as_of + horizon)``."""
        return f"({as_of} + {self.interval_sql()})"

    # -- words ---------------------------------------------------------------------------------
    def words(self) -> str:
        """The duration in words, e.g. ``"12 months"``; ``"all time"`` for ``"all"``."""
        if self.n is None:
            return "all time"
        if self.unit == "Y" and self.n == 1:
            return "12 months"
        return f"{self.n} {_UNITS[self.unit]}{'' if self.n == 1 else 's'}"


def parse_duration(
    value, *, parameter: str = "duration", owner: str = "riskscreen", allow_all: bool = False
) -> Duration:
    """Parse a duration such as ``"28D"``, ``"12W"``, ``"6M"``, ``"1Y"`` (or ``"all"``).

    Parameters
    ----------
    value : str, Duration, Timedelta or timedelta
        The duration. Timedeltas must be a positive whole number of days.
    parameter, owner : str
        Name the parameter and its owner in the error message.
    allow_all : bool, default False
        Whether ``"all"`` is accepted (lookback windows: yes; horizons: no).

    Raises
    ------
    ValueError
        ``"The 'horizon' parameter of Screener must be a positive duration such
        as '28D', '12W', '6M' or '1Y' (a whole number followed by D, W, M or Y).
        Got '2QS' instead."`` -- the same words for every owner.
    """
    expected = f"a positive duration such as {_EXAMPLES}" + (" or 'all'" if allow_all else "")
    out = _duration_or_none(value)
    if out is None or (out.is_all and not allow_all):
        raise ValueError(
            f"The {parameter!r} parameter of {owner} must be {expected} (a whole number "
            f"followed by D, W, M or Y). Got {value!r} instead."
        )
    return out


def _duration_or_none(value) -> Duration | None:
    if isinstance(value, Duration):
        return value
    if isinstance(value, (pd.Timedelta, datetime.timedelta, np.timedelta64)):
        td = pd.Timedelta(value)
        days = td / pd.Timedelta(days=1)
        if td > pd.Timedelta(0) and float(days).is_integer():
            return Duration(int(days), "D")
        return None
    if not isinstance(value, str):
        return None
    if value.strip().lower() == "all":
        return Duration(None, None)
    match = _PATTERN.match(value)
    if match is None or int(match.group(1)) <= 0:
        return None
    return Duration(int(match.group(1)), match.group(2).upper())


@dataclass(frozen=True, eq=False)
class DatedHorizons:
    """A horizon per as-of date, where real label windows differ (e.g. courses of
    different lengths): ``{as_of_date: Duration}``. Acts like a :class:`Duration`
    wherever a horizon is used; an as-of date without a horizon is an error.
    """

    by_date: tuple[tuple[pd.Timestamp, Duration], ...]

    @property
    def text(self) -> str:
        return (
            "per as-of date ("
            + ", ".join(f"{d.date()}: {h.text}" for d, h in self.by_date[:4])
            + (", ..." if len(self.by_date) > 4 else "")
            + ")"
        )

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, DatedHorizons) and self.by_date == other.by_date

    def __hash__(self) -> int:
        return hash(self.by_date)

    def for_date(self, date) -> Duration:
        date = pd.Timestamp(date).normalize()
        for d, h in self.by_date:
            if d == date:
                return h
        raise ValueError(
            f"No horizon is given for as-of date {date.date()}; the horizons cover "
            f"{[str(d.date()) for d, _ in self.by_date]}."
        )

    def after(self, date) -> pd.Timestamp:
        return self.for_date(date).after(date)

    def end_sql(self, as_of: str) -> str:
        """SQL for the first day after each as-of date's window (NULL for other dates)."""
        cases = " ".join(
            f"WHEN TIMESTAMP '{d:%Y-%m-%d}' THEN {h.end_sql(as_of)}" for d, h in self.by_date
        )
        return f"(CASE {as_of} {cases} END)"


def parse_horizon(value, *, parameter: str = "horizon", owner: str):
    """A :class:`Duration`, or :class:`DatedHorizons` from a mapping of as-of date to duration."""
    if isinstance(value, DatedHorizons):
        return value
    if isinstance(value, dict):
        pairs = []
        for date, duration in value.items():
            day = as_of_date(date, parameter=f"{parameter} (a key)", owner=owner)
            pairs.append((day, parse_duration(duration, parameter=parameter, owner=owner)))
        if not pairs:
            raise ValueError(f"The {parameter!r} parameter of {owner} must not be empty.")
        return DatedHorizons(tuple(sorted(pairs)))
    return parse_duration(value, parameter=parameter, owner=owner)


def as_of_dates(values, *, parameter: str = "as_of_dates", owner: str) -> pd.DatetimeIndex:
    """Normalise as-of dates: calendar days, unique, sorted, at least one.

    Accepts one date (a string such as ``"2023-01-09"``, a date, a Timestamp) or
    an iterable of them. Returns a ``datetime64[us]`` index.
    """
    if isinstance(values, (str, datetime.date, np.datetime64)) or not isinstance(values, Iterable):
        values = [values]
    try:
        index = pd.DatetimeIndex(pd.to_datetime(list(values), utc=None))
    except (TypeError, ValueError, OverflowError) as exc:
        try:  # mixed time zones: convert each to its own local day
            index = pd.DatetimeIndex([_naive(pd.Timestamp(v)) for v in values])
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"The {parameter!r} parameter of {owner} must be dates such as '2023-01-09' "
                f"or a list of them. Got {values!r} instead ({exc})."
            ) from None
    if len(index) == 0:
        raise ValueError(f"The {parameter!r} parameter of {owner} must hold at least one date.")
    if index.isna().any():
        raise ValueError(
            f"The {parameter!r} parameter of {owner} must not contain missing dates (NaT)."
        )
    if index.tz is not None:
        index = index.tz_localize(None)
    return index.normalize().unique().sort_values().astype("datetime64[us]")


def as_of_date(value, *, parameter: str = "as_of_date", owner: str) -> pd.Timestamp:
    """Normalise exactly one as-of date (see :func:`as_of_dates`)."""
    if not isinstance(value, (str, datetime.date, np.datetime64)) and isinstance(value, Iterable):
        values = list(value)
        if len(values) != 1:
            raise ValueError(
                f"The {parameter!r} parameter of {owner} must be one date such as "
                f"'2023-06-01'. Got {len(values)} dates; pass them one at a time."
            )
        value = values[0]
    return pd.Timestamp(as_of_dates([value], parameter=parameter, owner=owner)[0])


def _naive(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize(None) if ts.tz is not None else ts


def label_window_complete(as_of, horizon: Duration, end_of_data) -> bool:
    """Whether the label window ``[as_of, as_of + horizon)`` lies within the data.

    Its last day, ``as_of + horizon - 1 day``, must be no later than ``end_of_data``.
    With no end of data (no dated events) nothing is complete.
    """
    if end_of_data is None or pd.isna(end_of_data):
        return False
    return horizon.after(as_of) <= pd.Timestamp(end_of_data) + ONE_DAY


def latest_complete_as_of(horizon: Duration, end_of_data) -> pd.Timestamp | None:
    """The latest as-of date whose label window is complete (None for dated horizons)."""
    if not isinstance(horizon, Duration):
        return None
    return horizon.before(pd.Timestamp(end_of_data) + ONE_DAY)


__all__ = [
    "DatedHorizons",
    "Duration",
    "as_of_date",
    "as_of_dates",
    "label_window_complete",
    "latest_complete_as_of",
    "parse_duration",
    "parse_horizon",
]
