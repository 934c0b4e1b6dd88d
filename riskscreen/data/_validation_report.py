"""The problem report of validation: :class:`Problem`, :class:`DataValidationError`.

Also the helpers every rule family uses to describe what it found in words:
short value texts, example row labels and :func:`mask_problem`, which turns a
boolean mask of offending rows into one :class:`Problem`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

MAX_EXAMPLES = 5
"""How many example row index labels each problem carries."""


@dataclass(frozen=True)
class Problem:
    """One broken rule in one table.

    Parameters
    ----------
    table : str
        Table name (canonical or custom).
    column : str or None
        Column (or comma-separated columns) the rule is about; None for a
        rule about the whole table.
    rule : str
        Short rule name: ``"not_a_table"``, ``"missing_column"``,
        ``"duplicate_column"``, ``"dtype"``, ``"nullable"``, ``"code"``,
        ``"bounds"``, ``"implausible_date"``, ``"date_order"``,
        ``"sessions"``, ``"duplicate_key"``, ``"unknown_pupil"``,
        ``"unknown_school"``, ``"before_birth"``, ``"custom_source"``,
        ``"unreadable"`` or ``"check_failed"``.
    n_rows : int
        Number of offending rows.
    rows : tuple
        Up to five example row index labels.
    expected : str
        What was expected, in words ("expected one of K, E").
    got : str
        What was found, in words (a few offending values), or "".
    """

    table: str
    column: str | None
    rule: str
    n_rows: int
    rows: tuple[Hashable, ...] = field(default_factory=tuple)
    expected: str = ""
    got: str = ""

    def __post_init__(self) -> None:
        # row labels that are not whole numbers (e.g. an index of UPNs) are masked
        object.__setattr__(self, "rows", tuple(row_label(r) for r in self.rows))

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        noun = "row" if self.n_rows == 1 else "rows"
        if self.rows:
            more = ", ..." if self.n_rows > len(self.rows) else ""
            index = ", ".join(r if isinstance(r, str) else short_text(r) for r in self.rows)
            text = f"{where}: {self.n_rows} {noun} (index {index}{more})"
        elif self.n_rows:
            text = f"{where}: all {self.n_rows} {noun}"
        else:
            text = where
        text += f": {self.expected}"
        if self.got:
            text += f"; got {self.got}"
        return text + f" [{self.rule}]"


_MAX_PROBLEMS_SHOWN = 50


class DataValidationError(ValueError):
    """Raised when tables break the data model's rules; lists every problem.

    Parameters
    ----------
    problems : iterable of Problem
        Every problem found.
    subject : str, default="LinkedHistories"
        What was validated, for the first line of the message.

    Attributes
    ----------
    problems : tuple of Problem
        The problems as structured records (also see :meth:`to_frame`).

    Examples
    --------
    >>> from riskscreen.data import DataValidationError, Problem
    >>> problem = Problem("sen", "provision", "code", 2, (3, 8), "expected one of K, E")
    >>> print(DataValidationError([problem]))
    LinkedHistories has 1 problem:
      - sen.provision: 2 rows (index 3, 8): expected one of K, E [code]
    """

    def __init__(self, problems: Iterable[Problem], *, subject: str = "LinkedHistories") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.subject = subject
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.problems)
        lines = [f"{self.subject} has {n} problem{'s' if n != 1 else ''}:"]
        lines += [f"  - {p}" for p in self.problems[:_MAX_PROBLEMS_SHOWN]]
        if n > _MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {n - _MAX_PROBLEMS_SHOWN} more (see .to_frame())")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self):
        # Keep the structured problems when the error crosses a process boundary.
        return (_rebuild_error, (self.problems, self.subject))

    def to_frame(self) -> pd.DataFrame:
        """The problems as a DataFrame, one row per problem.

        Returns
        -------
        DataFrame
            Columns ``table, column, rule, n_rows, rows, expected, got``.
        """
        columns = ["table", "column", "rule", "n_rows", "rows", "expected", "got"]
        records = [asdict(p) for p in self.problems]
        return pd.DataFrame.from_records(records, columns=columns)


def _rebuild_error(problems: tuple[Problem, ...], subject: str) -> DataValidationError:
    return DataValidationError(problems, subject=subject)


def short_text(value: object, width: int = 30) -> str:
    """A value as short text: dates without a midnight time, long reprs cut to ``width``.

    Parameters
    ----------
    value : object
        Any value found in a table (numpy scalars are shown as Python ones).
    width : int, default=30
        The longest text returned; longer texts end in ``"..."``.

    Returns
    -------
    str
    """
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    elif isinstance(value, np.generic):
        value = value.item()
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - objects with a broken repr
        text = f"<{type(value).__name__}>"
    if isinstance(value, pd.Timestamp):
        text = str(value.date()) if value == value.normalize() else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _known_codes() -> frozenset[str]:
    from riskscreen.data import _codes

    codes: set[str] = set()
    for value in vars(_codes).values():
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            codes |= {k.lower() for k in value}
    return frozenset(codes)


_KNOWN_CODES = _known_codes()


def masked_text(value: object) -> str:
    """A value found in a table, as it may appear in a message, log or report.

    Numbers and missing values are shown; dates show their year and month only
    (a full date may be a date of birth); text is shown when it is short (up to 4
    characters) or a known code in another letter case (e.g. ``'Suspension'``),
    and otherwise masked after its first 3 characters (``'A12**********'``), so
    no name, UPN, postcode or free text reaches an error.
    """
    if is_missing(value):
        return "missing"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float)):
        return short_text(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "strftime"):
        try:
            return pd.Timestamp(value).strftime("%Y-%m-**")
        except (TypeError, ValueError):
            return "<date>"
    text = str(value)
    if len(text) <= 4 or text.strip().lower() in _KNOWN_CODES:
        return repr(text) if len(text) <= 30 else repr(text[:27] + "...")
    return repr(text[:3] + "*" * min(len(text) - 3, 12))


def row_label(label: Hashable) -> Hashable:
    """A row's index label for a message: whole numbers as they are, anything else masked."""
    if isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_)):
        return int(label)
    return masked_text(label)


def example_rows(index: pd.Index) -> tuple[Hashable, ...]:
    """The first :data:`MAX_EXAMPLES` labels of an index of offending rows."""
    return tuple(index[:MAX_EXAMPLES].tolist())


def is_missing(value: object) -> bool:
    """Whether a scalar is missing (None, NaN, NaT, NA); False for anything unsized."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def values_words(values: Iterable[object], limit: int = 3) -> str:
    """Up to ``limit`` distinct values as comma-separated short texts ("missing" for NA).

    Parameters
    ----------
    values : iterable
        Offending values, in the order found.
    limit : int, default=3
        How many distinct texts to show.

    Returns
    -------
    str
    """
    shown: list[str] = []
    for value in values:
        text = masked_text(value)
        if text not in shown:
            shown.append(text)
        if len(shown) >= limit:
            break
    return ", ".join(shown)


def mask_problem(
    table: str,
    column: str | None,
    rule: str,
    frame: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    expected: str,
    got_columns: Iterable[str] = (),
) -> Problem | None:
    """A problem for the rows where ``mask`` is true, or None if there are none.

    Parameters
    ----------
    table : str
        Table name.
    column : str or None
        Column the rule is about.
    rule : str
        Short rule name.
    frame : DataFrame
        The table; its index labels name the example rows.
    mask : Series or ndarray of bool
        True for the offending rows.
    expected : str
        What was expected, in words.
    got_columns : iterable of str, default=()
        Columns whose values (of up to three distinct offending rows) make
        the ``got`` text, e.g. ``"(start_date=2019-05-01, end_date=2018-01-01)"``.

    Returns
    -------
    Problem or None
    """
    mask = np.asarray(mask, dtype=bool)
    n = int(mask.sum())
    if n == 0:
        return None
    bad = frame.index[mask]
    got = ""
    got_columns = list(got_columns)
    if got_columns:
        head = frame.loc[mask, got_columns].head(50)
        parts: list[str] = []
        for _, row in head.iterrows():
            part = ", ".join(f"{c}={masked_text(row[c])}" for c in got_columns)
            if part not in parts:
                parts.append(part)
            if len(parts) == 3:
                break
        got = "; ".join(f"({p})" for p in parts)
    return Problem(table, column, rule, n, example_rows(bad), expected, got)
