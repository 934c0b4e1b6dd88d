"""pandera schemas built from the table declarations in :mod:`._tables`.

Nothing here declares a column: every schema is derived from a
:class:`~riskscreen.data.TableSpec`, so the declarations in ``_tables.py``
stay the single source of truth.

Dtype leniency
--------------
The canonical dtypes are strict (``int64``, ``datetime64[us]``, pandas
``str``, ...), but a column is accepted when its dtype belongs to the same
*family*, because the difference never changes a value:

- dates: any tz-naive ``datetime64`` unit (``s``, ``ms``, ``us``, ``ns``);
  ``object`` or ``str`` columns holding date-like text are *not* dates;
- identifiers and counts: any integer dtype, numpy or pandas nullable
  (``Int64``); missing values are then reported by the nullability rule;
- floats: any float or integer dtype;
- codes and text: any pandas string dtype (``str`` or ``string``); an
  ``object`` column is reported, convert it with ``.astype("str")``;
- flags: ``bool`` or the nullable ``boolean`` dtype.

The dtype rule is a pandera check that looks only at the dtype (one scalar
per column), and the value checks (codes, bounds, plausible dates) are
attached only to columns whose dtype passed, so a wrong-typed column gets one
clear dtype problem instead of a cascade of confusing ones. Every check is
vectorised: no element-wise Python runs, even on millions of rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscreen.data._pandera import pa
from riskscreen.data._tables import (
    BOOL,
    DATE,
    FLOAT,
    ID,
    INT,
    KEY,
    NULLABLE_INT,
    STR,
    TABLES,
    ColumnSpec,
    TableSpec,
)

EARLIEST_DATE = pd.Timestamp("1990-01-01")
"""Dates before this are implausible for a child's education or social-care record."""

LATEST_DATE = pd.Timestamp("2099-12-31")
"""Dates after this are implausible (typically a ``9999-12-31`` placeholder)."""

PLAUSIBLE_EXPECTED = (
    f"expected a plausible date between {EARLIEST_DATE.date()} and {LATEST_DATE.date()}"
)
"""What the plausible-date rule expects, in words (canonical and custom tables)."""

_MAX_CODES_SHOWN = 25


@dataclass(frozen=True)
class CheckInfo:
    """What a pandera check in our schemas stands for.

    Parameters
    ----------
    rule : str
        Short name of the rule (``"dtype"``, ``"code"``, ``"bounds"``, ...).
    expected : str
        What was expected, in words.
    """

    rule: str
    expected: str


_DTYPE_WORDS = {
    DATE: "a datetime64 dtype of any unit (canonical datetime64[us])",
    ID: "an integer dtype (canonical int64)",
    KEY: "an integer dtype (canonical int64) or a pandas string dtype (str)",
    INT: "an integer dtype (canonical int64)",
    NULLABLE_INT: "an integer dtype (canonical Int64)",
    FLOAT: "a float dtype (canonical float64)",
    STR: "a pandas string dtype (canonical str)",
    BOOL: "a boolean dtype (canonical bool)",
}


def dtype_words(canonical: str) -> str:
    """Describe in words the dtypes accepted for a canonical dtype."""
    return _DTYPE_WORDS.get(canonical, f"dtype {canonical}")


def dtype_matches(dtype: object, canonical: str) -> bool:
    """Whether ``dtype`` is accepted for a column whose canonical dtype is ``canonical``.

    See the module docstring for the leniency rules.
    """
    try:
        if canonical == DATE:
            return isinstance(dtype, np.dtype) and dtype.kind == "M"
        if canonical in (ID, INT, NULLABLE_INT):
            return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if canonical == KEY:
            return isinstance(dtype, pd.StringDtype) or (
                pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            )
        if canonical == FLOAT:
            return (
                pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
            ) and not pd.api.types.is_bool_dtype(dtype)
        if canonical == STR:
            return isinstance(dtype, pd.StringDtype)
        if canonical == BOOL:
            return pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.StringDtype)
        return str(dtype) == canonical
    except Exception:  # pragma: no cover - exotic dtype objects
        return False


def _codes_words(codes: dict[str, str]) -> str:
    keys = list(codes)
    shown = ", ".join(keys[:_MAX_CODES_SHOWN])
    if len(keys) > _MAX_CODES_SHOWN:
        shown += f", ... ({len(keys)} codes)"
    return f"one of {shown}"


def _fmt_bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_whole_day(series: pd.Series) -> pd.Series:
    values = series.to_numpy()
    unit, _ = np.datetime_data(values.dtype)
    per_day = np.timedelta64(1, "D").astype(f"timedelta64[{unit}]").astype("int64")
    ok = (values.view("int64") % per_day) == 0
    return pd.Series(ok, index=series.index) | series.isna()


def _is_finite(series: pd.Series) -> pd.Series:
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(np.isfinite(values), index=series.index) | series.isna()


def _is_first_of_month(series: pd.Series) -> pd.Series:
    return (series.dt.day == 1) | series.isna()


def _value_checks(table: str, column: str, spec: ColumnSpec) -> list[tuple[pa.Check, CheckInfo]]:
    """The value checks of one column, with what each stands for."""
    checks: list[tuple[pa.Check, CheckInfo]] = []
    if spec.codes is not None:
        expected = f"expected {_codes_words(spec.codes)}"
        checks.append(
            (pa.Check.isin(list(spec.codes), error=expected), CheckInfo("code", expected))
        )
    if spec.min_value is not None:
        expected = f"expected {column} >= {_fmt_bound(spec.min_value)}"
        checks.append((pa.Check.ge(spec.min_value, error=expected), CheckInfo("bounds", expected)))
    if spec.max_value is not None:
        expected = f"expected {column} <= {_fmt_bound(spec.max_value)}"
        checks.append((pa.Check.le(spec.max_value, error=expected), CheckInfo("bounds", expected)))
    if spec.dtype == FLOAT:
        expected = "expected a finite number"
        checks.append((pa.Check(_is_finite, error=expected), CheckInfo("bounds", expected)))
    if spec.dtype == DATE:
        checks.append(
            (
                pa.Check.in_range(EARLIEST_DATE, LATEST_DATE, error=PLAUSIBLE_EXPECTED),
                CheckInfo("implausible_date", PLAUSIBLE_EXPECTED),
            )
        )
        expected = "expected a whole day (no time of day)"
        checks.append(
            (pa.Check(_is_whole_day, error=expected), CheckInfo("implausible_date", expected))
        )
        if table == "pupils" and column == "birth_month":
            expected = "expected the first day of a month"
            checks.append(
                (
                    pa.Check(_is_first_of_month, error=expected),
                    CheckInfo("implausible_date", expected),
                )
            )
    return checks


def _dtype_check(canonical: str) -> tuple[pa.Check, CheckInfo]:
    expected = f"expected {dtype_words(canonical)}"

    def check(series: pd.Series) -> bool:
        return dtype_matches(series.dtype, canonical)

    return pa.Check(check, error=expected), CheckInfo("dtype", expected)


def build_table_schema(
    spec: TableSpec, frame: pd.DataFrame | None = None
) -> tuple[pa.DataFrameSchema, dict[tuple[str, str], CheckInfo]]:
    """Build the pandera schema of a table and the meaning of each of its checks.

    Parameters
    ----------
    spec : TableSpec
        The table declaration.
    frame : DataFrame, optional
        The frame about to be validated. When given, value checks are only
        attached to columns whose dtype is accepted, so a wrong-typed column
        is reported once, for its dtype.

    Returns
    -------
    schema : pandera.DataFrameSchema
    checks : dict of (column, error text) to CheckInfo
        Lets failure cases be turned back into rules and expectations.
    """
    skip_values = frozenset()
    if frame is not None:
        skip_values = frozenset(
            name
            for name, col in spec.columns.items()
            if name in frame.columns and not dtype_matches(frame[name].dtype, col.dtype)
        )
    if TABLES.get(spec.name) is spec:
        return _canonical_schema(spec.name, skip_values)
    return _build(spec, skip_values)


@functools.lru_cache(maxsize=256)
def _canonical_schema(
    name: str, skip_values: frozenset[str]
) -> tuple[pa.DataFrameSchema, dict[tuple[str, str], CheckInfo]]:
    # Schemas and checks are stateless, so canonical ones are built once per shape.
    return _build(TABLES[name], skip_values)


def _build(
    spec: TableSpec, skip_values: frozenset[str]
) -> tuple[pa.DataFrameSchema, dict[tuple[str, str], CheckInfo]]:
    columns: dict[str, pa.Column] = {}
    info: dict[tuple[str, str], CheckInfo] = {}
    for name, col in spec.columns.items():
        dtype_check, dtype_info = _dtype_check(col.dtype)
        checks = [dtype_check]
        info[(name, dtype_check.error)] = dtype_info
        if name not in skip_values:
            for check, check_info in _value_checks(spec.name, name, col):
                checks.append(check)
                info[(name, check.error)] = check_info
        columns[name] = pa.Column(
            None,
            checks=checks,
            nullable=col.nullable,
            required=col.required,
            name=name,
            description=col.description or None,
        )
    schema = pa.DataFrameSchema(
        columns,
        strict=not spec.extra_columns_allowed,
        name=spec.name,
        description=spec.description or None,
    )
    return schema, info


def table_schema(name: str) -> pa.DataFrameSchema:
    """The pandera schema of a canonical table.

    Built from the declarations in :data:`riskscreen.data.TABLES`: one column
    per declared column with a dtype check (see the dtype leniency rules in
    :mod:`riskscreen.data._schemas`), nullability, code sets, numeric bounds
    and plausible dates. Cross-table rules (references, date order, duplicate
    keys) are not column rules and live in :meth:`LinkedHistories.validate`.

    Parameters
    ----------
    name : str
        A canonical table name, e.g. ``"exclusions"``.

    Returns
    -------
    pandera.DataFrameSchema

    Examples
    --------
    >>> from riskscreen.data import table_schema
    >>> table_schema("sen").columns["provision"].nullable
    False
    """
    if name not in TABLES:
        raise ValueError(f"Unknown canonical table {name!r}. Expected one of {', '.join(TABLES)}.")
    return _build(TABLES[name], frozenset())[0]
