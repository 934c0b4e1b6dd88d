"""Building :class:`LinkedHistories` from an analyst's frames, CSV files and custom sources."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from riskscreen.data._coerce import key_kind
from riskscreen.data._io import check_source_name
from riskscreen.data._tables import TABLE_NAMES, TABLES, CustomSource
from riskscreen.data._validation import DataValidationError, coerce_table, find_problems


def declare_source(
    name: str,
    frame: pd.DataFrame,
    *,
    id_column: str,
    date_column: str,
    end_date_column: str | None,
    value_columns: Iterable[str] | None,
) -> CustomSource:
    """Check a custom source's name and columns; see :meth:`LinkedHistories.add_source`."""
    check_source_name(name)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"The 'frame' parameter of add_source must be a pandas DataFrame. "
            f"Got {type(frame).__name__} instead."
        )
    dates = [date_column] if end_date_column is None else [date_column, end_date_column]
    if value_columns is None:
        values = tuple(c for c in frame.columns if c not in (id_column, *dates))
    else:
        values = tuple([value_columns] if isinstance(value_columns, str) else value_columns)
    for role, column in [("id_column", id_column)] + [
        ("date_column" if i == 0 else "end_date_column", c) for i, c in enumerate(dates)
    ]:
        if column not in frame.columns:
            raise ValueError(
                f"The {role!r} of custom source {name!r} must be a column of the frame. "
                f"Got {column!r}; the columns are {', '.join(map(str, frame.columns))}."
            )
    missing = [c for c in values if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The 'value_columns' of custom source {name!r} must be columns of the frame. "
            f"Not found: {', '.join(map(str, missing))}."
        )
    return CustomSource(
        id_column=id_column,
        date_column=date_column,
        end_date_column=end_date_column,
        value_columns=tuple(str(c) for c in values),
    )


def histories_from_frames(cls, frames: Mapping[str, pd.DataFrame], *, coerce: bool, validate: bool):
    """See :meth:`LinkedHistories.from_frames`."""
    unknown = [name for name in frames if name not in TABLES]
    if unknown:
        raise ValueError(
            f"Unknown table name(s) {', '.join(map(repr, unknown))}. Expected canonical "
            f"tables ({', '.join(TABLE_NAMES)}); attach other tables with add_source."
        )
    converted = {}
    problems = []
    key = key_kind(frames.values())
    for name, frame in frames.items():
        if coerce and isinstance(frame, pd.DataFrame):
            frame, found = coerce_table(name, frame, key=key)
            problems += found
        converted[name] = frame
    histories = cls(**converted)
    if validate:
        problems += find_problems(histories)
    if problems:
        raise DataValidationError(problems)
    return histories
