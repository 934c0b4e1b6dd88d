"""Rules about one table on its own.

- structure: the table is a DataFrame with unique column names
  (:func:`frame_problem`);
- column rules run through pandera with ``lazy=True`` on the schemas built
  in :mod:`._schemas` (required columns, dtype, nullability, code sets,
  numeric bounds, plausible dates), their failure cases aggregated into
  :class:`Problem` records (:func:`pandera_problems`);
- cross-column and cross-row rules in vectorised pandas (:func:`table_rules`):
  date order, attendance sums and duplicate keys.

Rules that look at another table (pupils, schools) live in :mod:`._rules_cross`.

The rules share their parameters: ``name`` (or ``table``), the table name;
``frame``, the table, a DataFrame with unique column names; ``spec``, its
:class:`TableSpec`; ``good``, the declared columns present with an accepted
dtype (a rule runs only when all of its columns are good). Each returns the
problems it finds; :mod:`._validation` turns an unexpected error into a
problem too.
"""

from __future__ import annotations

import pandas as pd

from riskscreen.data._coerce import coerce_column
from riskscreen.data._pandera import pa
from riskscreen.data._schemas import build_table_schema, dtype_matches, dtype_words
from riskscreen.data._tables import TableSpec
from riskscreen.data._validation_report import (
    MAX_EXAMPLES,
    Problem,
    example_rows,
    is_missing,
    mask_problem,
    values_words,
)

# Columns whose sum must not exceed another column, by table.
_SUM_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "attendance": (
        ("sessions_authorised_absent", "sessions_unauthorised_absent"),
        "sessions_possible",
    ),
}


def frame_problem(name: str, frame: object) -> Problem | None:
    """The structure problem of what was found as a table, or None when it is well formed.

    A well-formed table is a DataFrame with unique column names.
    """
    if not isinstance(frame, pd.DataFrame):
        return Problem(
            name,
            None,
            "not_a_table",
            0,
            (),
            "expected a pandas DataFrame",
            f"{type(frame).__name__}",
        )
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        cols = ", ".join(map(str, dict.fromkeys(duplicated)))
        return Problem(
            name, cols, "duplicate_column", len(frame), (), "expected unique column names"
        )
    return None


def is_good(series: object, canonical: str) -> bool:
    """Whether ``series`` is a column whose dtype is accepted for ``canonical``."""
    return isinstance(series, pd.Series) and dtype_matches(series.dtype, canonical)


def dtype_problem(table: str, column: str, series: pd.Series, canonical: str) -> Problem:
    """A dtype problem, naming the values that could not be read as the right type.

    Parameters
    ----------
    table, column : str
        Where the column is.
    series : Series
        The wrong-typed column.
    canonical : str
        The canonical dtype of the column.

    Returns
    -------
    Problem
        About the values that cannot be converted when there are some, else
        about the whole column.
    """
    expected = f"expected {dtype_words(canonical)}"
    try:
        _, bad = coerce_column(series, canonical)
    except Exception:
        bad = pd.Series(False, index=series.index)
    n_bad = int(bad.sum())
    got = f"dtype {series.dtype}"
    if n_bad:
        got += f"; values that cannot be converted: {values_words(series[bad.to_numpy()].head(50))}"
        return Problem(
            table, column, "dtype", n_bad, example_rows(series.index[bad.to_numpy()]), expected, got
        )
    return Problem(table, column, "dtype", len(series), (), expected, got)


def pandera_problems(
    table: str, frame: pd.DataFrame, spec: TableSpec
) -> tuple[list[Problem], set[str]]:
    """Run the pandera schema of a table; also return the columns with a good dtype.

    Returns
    -------
    problems : list of Problem
        One per (column, check) that failed, in pandera's order.
    good : set of str
        Declared columns present with an accepted dtype: the other rules
        only look at these.
    """
    schema, info = build_table_schema(spec, frame)
    good = {c for c, s in spec.columns.items() if c in frame.columns and is_good(frame[c], s.dtype)}
    try:
        schema.validate(frame, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    except pa.errors.SchemaError as exc:  # pragma: no cover - non-lazy failure
        return [
            Problem(table, getattr(exc, "column_name", None), "check_failed", 0, (), str(exc))
        ], good
    else:
        return [], good
    problems: list[Problem] = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        problems.append(_pandera_problem(table, frame, spec, column, check, group, info))
    return problems, good


def _pandera_problem(
    table: str,
    frame: pd.DataFrame,
    spec: TableSpec,
    column: object,
    check: object,
    group: pd.DataFrame,
    info: dict,
) -> Problem:
    column = None if is_missing(column) else str(column)
    check = str(check)
    if check == "column_in_dataframe":
        missing = ", ".join(str(v) for v in group["failure_case"])
        return Problem(
            table,
            missing,
            "missing_column",
            len(frame),
            (),
            f"expected required column {missing}",
            f"columns {', '.join(map(str, frame.columns))}" if len(frame.columns) else "no columns",
        )
    if check == "column_in_schema":
        extra = ", ".join(str(v) for v in group["failure_case"])
        return Problem(table, extra, "extra_column", len(frame), (), "expected no extra columns")
    meaning = info.get((column, check))
    if meaning is not None and meaning.rule == "dtype":
        return dtype_problem(table, column, frame[column], spec.columns[column].dtype)
    index = group["index"]
    index = index[index.notna()] if len(index) else index
    rows = tuple(index.head(MAX_EXAMPLES).tolist())
    n_rows = len(group) if len(index) else len(frame)
    if check == "not_nullable":
        return Problem(table, column, "nullable", n_rows, rows, "expected no missing values")
    got = values_words(group["failure_case"].head(50))
    if meaning is None:
        return Problem(table, column, "check_failed", n_rows, rows, f"expected {check}", got)
    return Problem(table, column, meaning.rule, n_rows, rows, meaning.expected, got)


def date_order_problem(table: str, frame: pd.DataFrame, start: str, end: str) -> Problem | None:
    """The rows whose ``end`` date is before their ``start`` date (two good date columns)."""
    mask = (frame[end] < frame[start]).to_numpy(dtype=bool, na_value=False)
    return mask_problem(
        table, end, "date_order", frame, mask, f"expected {end} >= {start}", (start, end)
    )


def table_rules(name: str, frame: pd.DataFrame, spec: TableSpec, good: set[str]) -> list[Problem]:
    """Date order, attendance sums and duplicate keys of one canonical table."""
    problems: list[Problem | None] = []
    for start, end in spec.date_order:
        if start in good and end in good:
            problems.append(date_order_problem(name, frame, start, end))
    if name in _SUM_RULES:
        parts, total = _SUM_RULES[name]
        if total in good and all(p in good for p in parts):
            summed = sum(frame[p].astype("float64") for p in parts)
            mask = (summed > frame[total].astype("float64")).to_numpy(dtype=bool, na_value=False)
            problems.append(
                mask_problem(
                    name,
                    total,
                    "sessions",
                    frame,
                    mask,
                    f"expected {' + '.join(parts)} <= {total}",
                    (*parts, total),
                )
            )
    if spec.key and all(k in good for k in spec.key):
        mask = frame.duplicated(list(spec.key), keep=False).to_numpy()
        problems.append(
            mask_problem(
                name,
                ", ".join(spec.key),
                "duplicate_key",
                frame,
                mask,
                f"expected each ({', '.join(spec.key)}) to appear once",
                spec.key,
            )
        )
    return [p for p in problems if p is not None]
