"""Lookback windows and horizons: parsing and SQL bounds.

A window string is a positive whole number followed by a unit, or ``"all"``:

=========  ==========================================  ==========================
string     meaning                                     start of the window
=========  ==========================================  ==========================
``"28D"``  28 days                                     ``as_of - 28 days``
``"12W"``  12 weeks (= 84 days)                        ``as_of - 84 days``
``"6M"``   6 calendar months                           ``as_of - 6 months``
``"1Y"``   1 calendar year (= 12 calendar months)      ``as_of - 1 year``
``"all"``  everything recorded before the as-of date   no lower bound
=========  ==========================================  ==========================

Lookback windows are half-open, ``[as_of - window, as_of)``: an event dated
exactly ``window`` before the as-of date is inside, an event *on* the as-of
date is outside. Horizons (label windows) are the mirror image,
``[as_of, as_of + horizon)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"D": "day", "W": "week", "M": "month", "Y": "year"}
_PATTERN = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    """A parsed lookback window or horizon.

    Attributes
    ----------
    n : int or None
        Number of units (None for ``"all"``).
    unit : {"D", "W", "M", "Y"} or None
        The unit (None for ``"all"``).
    text : str
        The string it was parsed from, normalised (e.g. ``"12W"``).
    """

    n: int | None
    unit: str | None
    text: str

    @property
    def is_all(self) -> bool:
        return self.n is None

    @property
    def approx_days(self) -> float:
        """Length in days (months as 30.4375 days); infinite for ``"all"``."""
        if self.n is None:
            return float("inf")
        per = {"D": 1.0, "W": 7.0, "M": 30.4375, "Y": 365.25}[self.unit]
        return self.n * per

    def interval_sql(self) -> str:
        """The window as a plain SQL interval literal, e.g. ``INTERVAL '84' DAY``."""
        if self.n is None:
            raise ValueError("The window 'all' has no interval.")
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

    def words(self) -> str:
        """The window in words, e.g. ``"12 months"``; ``"all time"`` for ``"all"``."""
        if self.n is None:
            return "all time"
        unit = _UNITS[self.unit]
        if self.unit == "Y" and self.n == 1:
            return "12 months"
        return f"{self.n} {unit}{'' if self.n == 1 else 's'}"


def parse_window(value, *, parameter: str = "window", owner: str = "Feature", allow_all=True):
    """Parse a window string such as ``"28D"``, ``"12W"``, ``"6M"``, ``"1Y"`` or ``"all"``.

    Parameters
    ----------
    value : str or Window
        The window.
    parameter, owner : str
        Used in the error message to name what was wrong.
    allow_all : bool
        Whether ``"all"`` is accepted (not for horizons).

    Raises
    ------
    ValueError
        If the string is not a positive number of days, weeks, months or years.
    """
    if isinstance(value, Window):
        if value.is_all and not allow_all:
            raise ValueError(
                f"The '{parameter}' parameter of {owner} must be a positive duration such as "
                f"'365D', '12W', '6M' or '1Y'. Got 'all' instead."
            )
        return value
    expected = "a positive duration such as '28D', '12W', '6M', '1Y'" + (
        " or 'all'" if allow_all else ""
    )
    if not isinstance(value, str):
        raise ValueError(
            f"The '{parameter}' parameter of {owner} must be {expected}. "
            f"Got {value!r} ({type(value).__name__}) instead."
        )
    if allow_all and value.strip().lower() == "all":
        return Window(None, None, "all")
    match = _PATTERN.match(value)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(
            f"The '{parameter}' parameter of {owner} must be {expected} "
            f"(a whole number followed by D, W, M or Y). Got {value!r} instead."
        )
    n, unit = int(match.group(1)), match.group(2).upper()
    return Window(n, unit, f"{n}{unit}")
