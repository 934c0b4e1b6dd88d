"""Property: however the tables are corrupted, validate() raises only DataValidationError.

Random corruptions of a small valid LinkedHistories: dropped and renamed
columns, changed dtypes, junk values (objects, lists, NaN, text in date
columns, out-of-set codes, huge numbers), swapped dates, duplicated rows,
unknown pupil ids, shuffled or duplicated index labels, emptied tables and
tables that are not DataFrames at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskscreen.data import TABLE_NAMES, DataValidationError, LinkedHistories

JUNK = [
    None,
    np.nan,
    pd.NaT,
    "junk",
    "",
    "2023-13-45",
    "01/02/2023",
    -1,
    10**30,
    3.5,
    float("inf"),
    True,
    [1, 2],
    {"a": 1},
    object(),
    pd.Timestamp("1800-01-01"),
    pd.Timestamp("2023-01-01 12:30"),
    b"bytes",
    ("tuple",),
]

DTYPES = ["object", "str", "float64", "int64", "Int64", "bool", "datetime64[ns]", "category"]


def _tables(histories: LinkedHistories) -> list[str]:
    names = list(TABLE_NAMES) + list(histories.custom)
    return [n for n in names if isinstance(_get(histories, n), pd.DataFrame)]


def _get(histories: LinkedHistories, name: str) -> object:
    if name in histories.custom:
        return histories.custom[name][0]
    return getattr(histories, name)


def _set(histories: LinkedHistories, name: str, frame: object) -> None:
    if name in histories.custom:
        histories.custom[name] = (frame, histories.custom[name][1])
    else:
        setattr(histories, name, frame)


def _column(data, frame: pd.DataFrame):
    if len(frame.columns) == 0:
        return None
    return data.draw(st.sampled_from(list(frame.columns)), label="column")


def _assign(frame: pd.DataFrame, column: object, values: object) -> pd.DataFrame:
    out = frame.copy()
    out[column] = values
    return out


def drop_column(data, frame):
    column = _column(data, frame)
    return frame if column is None else frame.drop(columns=column)


def rename_column(data, frame):
    column = _column(data, frame)
    return frame if column is None else frame.rename(columns={column: "renamed"})


def change_dtype(data, frame):
    column = _column(data, frame)
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    if column is None:
        return frame
    try:
        converted = frame[column].astype(dtype)
    except Exception:  # the cast itself failed: use an object column instead
        converted = frame[column].astype(object)
    return _assign(frame, column, converted)


def inject_junk(data, frame):
    column = _column(data, frame)
    if column is None or len(frame) == 0:
        return frame
    row = data.draw(st.integers(0, len(frame) - 1), label="row")
    junk = data.draw(st.sampled_from(JUNK), label="junk")
    values = frame[column].astype(object).to_numpy(copy=True)
    values[row] = junk
    return _assign(frame, column, pd.Series(values, index=frame.index, dtype=object))


def typed_junk(data, frame):
    """A wrong but type-compatible value: out-of-set code, negative count, odd date."""
    column = _column(data, frame)
    if column is None or len(frame) == 0:
        return frame
    row = data.draw(st.integers(0, len(frame) - 1), label="row")
    series = frame[column].copy()
    kind = series.dtype.kind
    try:
        if kind == "M":
            series.iloc[row] = data.draw(
                st.sampled_from(
                    [
                        pd.NaT,
                        pd.Timestamp("1850-01-01"),
                        pd.Timestamp("2199-01-01"),
                        pd.Timestamp("2020-02-29 08:00"),
                    ]
                )
            )
        elif kind in "iuf":
            series.iloc[row] = data.draw(st.sampled_from([-5, 0, 11, 999_999, 2**62]))
        else:
            series.iloc[row] = data.draw(st.sampled_from(["ZZZ", "", None, "k"]))
    except Exception:
        return frame
    return _assign(frame, column, series)


def nan_everywhere(data, frame):
    return frame.apply(lambda s: s.where(np.zeros(len(s), dtype=bool)) if len(s) else s)


def swap_dates(data, frame):
    dates = [c for c in frame.columns if frame[c].dtype.kind == "M"]
    if len(dates) < 2:
        return frame
    a, b = dates[:2]
    return _assign(_assign(frame, a, frame[b]), b, frame[a])


def duplicate_rows(data, frame):
    if len(frame) == 0:
        return frame
    return pd.concat([frame, frame.iloc[[0]]])


def unknown_pupils(data, frame):
    if "pupil_id" not in frame.columns or len(frame) == 0:
        return frame
    ids = frame["pupil_id"].astype(object).to_numpy(copy=True)
    ids[0] = data.draw(st.sampled_from([999, -1, 0, "1", 1.5]))
    ids = pd.Series(ids, index=frame.index, dtype=object).infer_objects()
    return _assign(frame, "pupil_id", ids)


def mess_index(data, frame):
    choice = data.draw(st.sampled_from(["strings", "duplicates", "multi"]))
    if choice == "strings":
        return frame.set_axis([f"r{i}" for i in range(len(frame))])
    if choice == "duplicates":
        return frame.set_axis([0] * len(frame))
    return frame.set_axis(pd.MultiIndex.from_arrays([range(len(frame)), range(len(frame))]))


def empty_table(data, frame):
    return frame.iloc[:0]


def not_a_table(data, frame):
    return data.draw(st.sampled_from([None, [], "pupils.csv", 42, pd.Series([1, 2])]))


def integer_column_names(data, frame):
    return frame.set_axis(range(len(frame.columns)), axis=1)


CORRUPTIONS = [
    drop_column,
    rename_column,
    change_dtype,
    inject_junk,
    typed_junk,
    nan_everywhere,
    swap_dates,
    duplicate_rows,
    unknown_pupils,
    mess_index,
    empty_table,
    not_a_table,
    integer_column_names,
]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_validate_raises_only_data_validation_error(histories_factory, data):
    histories = histories_factory()
    n_corruptions = data.draw(st.integers(1, 4), label="n_corruptions")
    for _ in range(n_corruptions):
        tables = _tables(histories)
        if not tables:
            break
        name = data.draw(st.sampled_from(tables), label="table")
        corrupt = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
        _set(histories, name, corrupt(data, _get(histories, name)))
    try:
        result = histories.validate()
    except DataValidationError as error:
        assert error.problems
        assert str(error).startswith("LinkedHistories has ")
        assert len(error.to_frame()) == len(error.problems)
        for problem in error.problems:
            assert problem.table
            assert problem.n_rows >= 0
            assert len(problem.rows) <= 5
            assert problem.expected.startswith("expected")
    else:
        assert result is histories


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_single_value_corruptions_are_always_caught(histories_factory, data):
    """Junk of a foreign type in a canonical column never passes validation."""
    histories = histories_factory()
    name = data.draw(st.sampled_from([n for n in TABLE_NAMES if n != "schools"]))
    frame = getattr(histories, name)
    if len(frame) == 0:
        return
    column = data.draw(st.sampled_from(list(frame.columns)))
    junk = data.draw(st.sampled_from([[1, 2], {"a": 1}, object(), b"bytes"]))
    setattr(histories, name, inject_junk_at(frame, column, 0, junk))
    try:
        histories.validate()
    except DataValidationError as error:
        assert any(p.table == name and p.column == column for p in error.problems), str(error)
    else:
        raise AssertionError(f"junk {junk!r} in {name}.{column} passed validation")


def inject_junk_at(frame: pd.DataFrame, column: str, row: int, junk: object) -> pd.DataFrame:
    values = frame[column].astype(object).to_numpy(copy=True)
    values[row] = junk
    return _assign(frame, column, pd.Series(values, index=frame.index, dtype=object))
