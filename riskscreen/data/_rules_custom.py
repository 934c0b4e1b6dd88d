"""Rules for custom sources: event tables attached to :class:`LinkedHistories` by name.

A custom entry is a ``(DataFrame, CustomSource)`` pair under an identifier
that is not a canonical table name. Its id column exists, is an integer
column without missing values and refers to pupils; its date column exists,
is a date column without missing values, plausible and not before birth; its
end column, if any, is a date on or after the start; its value columns exist.
"""

from __future__ import annotations

from riskscreen.data._io import check_source_name
from riskscreen.data._rules_cross import PupilIndex
from riskscreen.data._rules_table import date_order_problem, dtype_problem, frame_problem, is_good
from riskscreen.data._schemas import EARLIEST_DATE, LATEST_DATE, PLAUSIBLE_EXPECTED
from riskscreen.data._tables import DATE, KEY, TABLES, CustomSource
from riskscreen.data._validation_report import Problem, mask_problem


def source_problem(name: str, expected: str, got: str = "") -> Problem:
    """A ``"custom_source"`` problem about a whole custom entry.

    Parameters
    ----------
    name : str
        The entry's name (or ``"custom"`` for the mapping itself).
    expected : str
        What was expected, in words.
    got : str, default=""
        What was found, in words.

    Returns
    -------
    Problem
    """
    return Problem(name, None, "custom_source", 0, (), expected, got)


def check_custom(name: str, entry: object, pupils: PupilIndex) -> list[Problem]:
    """Every problem of one custom entry.

    Parameters
    ----------
    name : str
        The entry's name.
    entry : object
        What is attached under that name, normally a ``(DataFrame, CustomSource)`` pair.
    pupils : PupilIndex
        The prepared pupils table, for the reference and birth rules.

    Returns
    -------
    list of Problem
    """
    if name in TABLES:
        return [source_problem(name, "expected a name that is not a canonical table")]
    try:
        check_source_name(name)
    except ValueError:
        return [
            source_problem(name, "expected a name that is an identifier such as 'youth_justice'")
        ]
    if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], CustomSource)):
        return [
            source_problem(name, "expected a (DataFrame, CustomSource) pair", type(entry).__name__)
        ]
    frame, source = entry
    problem = frame_problem(name, frame)
    if problem is not None:
        return [problem]
    problems: list[Problem | None] = []
    n = len(frame)
    required = [source.id_column, source.date_column]
    if source.end_date_column is not None:
        required.append(source.end_date_column)
    required += list(source.value_columns)
    for column in dict.fromkeys(required):
        if column not in frame.columns:
            problems.append(
                Problem(name, column, "missing_column", n, (), f"expected required column {column}")
            )
    id_ok = source.id_column in frame.columns
    if id_ok and not is_good(frame[source.id_column], KEY):
        problems.append(dtype_problem(name, source.id_column, frame[source.id_column], KEY))
        id_ok = False
    dates = [
        c
        for c in (source.date_column, source.end_date_column)
        if c is not None and c in frame.columns
    ]
    good_dates = []
    for column in dates:
        if is_good(frame[column], DATE):
            good_dates.append(column)
        else:
            problems.append(dtype_problem(name, column, frame[column], DATE))
    not_null = [source.id_column] if id_ok else []
    if source.date_column in good_dates:
        not_null.append(source.date_column)
    for column in not_null:
        problems.append(
            mask_problem(
                name, column, "nullable", frame, frame[column].isna(), "expected no missing values"
            )
        )
    for column in good_dates:
        values = frame[column]
        outside = (values < EARLIEST_DATE) | (values > LATEST_DATE)
        problems.append(
            mask_problem(
                name,
                column,
                "implausible_date",
                frame,
                outside.to_numpy(dtype=bool, na_value=False),
                PLAUSIBLE_EXPECTED,
                (column,),
            )
        )
    end = source.end_date_column
    if end is not None and end in good_dates and source.date_column in good_dates:
        problems.append(date_order_problem(name, frame, source.date_column, end))
    if id_ok:
        date = source.date_column if source.date_column in good_dates else None
        problems += pupils.check(name, frame, source.id_column, date)
    return [p for p in problems if p is not None]
