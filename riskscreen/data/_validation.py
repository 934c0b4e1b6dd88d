"""Validation of :class:`LinkedHistories`: every rule, one error listing every problem.

Column rules (dtype, required columns, nullability, code sets, numeric bounds,
plausible dates) run through pandera with ``lazy=True`` on schemas built from
``_tables.py``; their failure cases are aggregated into :class:`Problem`
records. Cross-column and cross-table rules (date order, attendance sums,
duplicate keys, references to pupils and schools, events before birth) are
vectorised pandas. Whatever state the tables are in, the checks only ever
produce problems: an unexpected error inside a rule becomes a problem too.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pandera.pandas as pa

from riskscreen.data._io import check_source_name
from riskscreen.data._schemas import (
    EARLIEST_DATE,
    LATEST_DATE,
    build_table_schema,
    dtype_matches,
    dtype_words,
)
from riskscreen.data._tables import (
    BOOL,
    DATE,
    FLOAT,
    ID,
    INT,
    NULLABLE_INT,
    STR,
    TABLE_NAMES,
    TABLES,
    CustomSource,
    TableSpec,
)

if TYPE_CHECKING:
    from riskscreen.data._linked import LinkedHistories

MAX_EXAMPLES = 5
"""How many example row index labels each problem carries."""

_MAX_PROBLEMS_SHOWN = 50

_PLAUSIBLE = f"expected a plausible date between {EARLIEST_DATE.date()} and {LATEST_DATE.date()}"

# Columns whose sum must not exceed another column, by table.
_SUM_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "attendance": (
        ("sessions_authorised_absent", "sessions_unauthorised_absent"),
        "sessions_possible",
    ),
}

# The order problems of one column are listed in.
_RULE_RANK = {
    rule: i
    for i, rule in enumerate(
        [
            "not_a_table",
            "duplicate_column",
            "missing_column",
            "extra_column",
            "dtype",
            "nullable",
            "code",
            "bounds",
            "implausible_date",
            "date_order",
            "sessions",
            "unknown_pupil",
            "unknown_school",
            "before_birth",
            "duplicate_key",
        ]
    )
}

# Tables whose school_id must refer to the schools table (when it has rows).
_SCHOOL_TABLES = ("enrolments", "attendance", "exclusions")


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

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        noun = "row" if self.n_rows == 1 else "rows"
        if self.rows:
            more = ", ..." if self.n_rows > len(self.rows) else ""
            index = ", ".join(_short(r) for r in self.rows)
            text = f"{where}: {self.n_rows} {noun} (index {index}{more})"
        elif self.n_rows:
            text = f"{where}: all {self.n_rows} {noun}"
        else:
            text = where
        text += f": {self.expected}"
        if self.got:
            text += f"; got {self.got}"
        return text + f" [{self.rule}]"


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


# --------------------------------------------------------------------------- helpers


def _short(value: object, width: int = 30) -> str:
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


def _examples(index: pd.Index) -> tuple[Hashable, ...]:
    return tuple(index[:MAX_EXAMPLES].tolist())


def _values_words(values: Iterable[object], limit: int = 3) -> str:
    shown: list[str] = []
    for value in values:
        text = "missing" if _is_missing(value) else _short(value)
        if text not in shown:
            shown.append(text)
        if len(shown) >= limit:
            break
    return ", ".join(shown)


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _mask_problem(
    table: str,
    column: str | None,
    rule: str,
    frame: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    expected: str,
    got_columns: Iterable[str] = (),
) -> Problem | None:
    """A problem for the rows where ``mask`` is true, or None if there are none."""
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
            part = ", ".join(f"{c}={_short(row[c])}" for c in got_columns)
            if part not in parts:
                parts.append(part)
            if len(parts) == 3:
                break
        got = "; ".join(f"({p})" for p in parts)
    return Problem(table, column, rule, n, _examples(bad), expected, got)


def _pandera_problems(
    table: str, frame: pd.DataFrame, spec: TableSpec
) -> tuple[list[Problem], set[str]]:
    """Run the pandera schema of a table; also return the columns with a good dtype."""
    schema, info = build_table_schema(spec, frame)
    good = {c for c, s in spec.columns.items() if c in frame.columns and _good(frame[c], s.dtype)}
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
    column = None if _is_missing(column) else str(column)
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
        return _dtype_problem(table, column, frame[column], spec.columns[column].dtype)
    index = group["index"]
    index = index[index.notna()] if len(index) else index
    rows = tuple(index.head(MAX_EXAMPLES).tolist())
    n_rows = len(group) if len(index) else len(frame)
    if check == "not_nullable":
        return Problem(table, column, "nullable", n_rows, rows, "expected no missing values")
    if meaning is None:
        got = _values_words(group["failure_case"].head(50))
        return Problem(table, column, "check_failed", n_rows, rows, f"expected {check}", got)
    got = _values_words(group["failure_case"].head(50))
    return Problem(table, column, meaning.rule, n_rows, rows, meaning.expected, got)


def _good(series: object, canonical: str) -> bool:
    return isinstance(series, pd.Series) and dtype_matches(series.dtype, canonical)


def _dtype_problem(table: str, column: str, series: pd.Series, canonical: str) -> Problem:
    """A dtype problem, naming the values that could not be read as the right type."""
    expected = f"expected {dtype_words(canonical)}"
    try:
        _, bad = coerce_column(series, canonical)
    except Exception:
        bad = pd.Series(False, index=series.index)
    n_bad = int(bad.sum())
    got = f"dtype {series.dtype}"
    if n_bad:
        got += (
            f"; values that cannot be converted: {_values_words(series[bad.to_numpy()].head(50))}"
        )
        return Problem(
            table, column, "dtype", n_bad, _examples(series.index[bad.to_numpy()]), expected, got
        )
    return Problem(table, column, "dtype", len(series), (), expected, got)


# --------------------------------------------------------------------------- coercion

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def coerce_column(series: pd.Series, canonical: str) -> tuple[pd.Series, pd.Series]:
    """Convert a column to its canonical dtype, flagging values that cannot be converted.

    Dates are read as ISO 8601 (``2021-09-06``) or UK day-first
    (``06/09/2021``) text; integers and floats from numbers or numeric text;
    flags from ``True/False``, ``yes/no``, ``Y/N``, ``1/0``; codes as text.

    Parameters
    ----------
    series : Series
        The column as found.
    canonical : str
        Its canonical dtype (from the table declaration).

    Returns
    -------
    converted : Series
        The column in the canonical dtype (``Int64`` / ``boolean`` where
        missing values remain in an integer / flag column).
    bad : Series of bool
        True where a present value could not be converted (it is missing in
        ``converted``).
    """
    missing = series.isna().to_numpy(dtype=bool)
    present = series[~missing]
    bad = np.zeros(len(series), dtype=bool)
    if canonical == DATE:
        if series.dtype.kind == "M":
            return series.astype("datetime64[us]"), pd.Series(bad, index=series.index)
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out = series.dt.tz_localize(None).astype("datetime64[us]")
            return out, pd.Series(bad, index=series.index)
        text = present.astype(str).str.strip()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
            retry = parsed.isna()
            if retry.any():
                parsed[retry] = pd.to_datetime(text[retry], errors="coerce", format="%d/%m/%Y")
        out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
        out[~missing] = parsed.astype("datetime64[us]").to_numpy()
        bad[~missing] = parsed.isna().to_numpy()
        return out, pd.Series(bad, index=series.index)
    if canonical in (ID, INT, NULLABLE_INT, FLOAT):
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        ):
            numbers = present.astype("float64")
        else:
            numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
        numbers = numbers.astype("float64")
        unreadable = numbers.isna().to_numpy(dtype=bool, copy=True)
        if canonical != FLOAT:
            raw = numbers.to_numpy(dtype="float64")
            finite = np.isfinite(raw)
            whole = np.zeros(len(raw), dtype=bool)
            whole[finite] = (raw[finite] % 1) == 0
            too_big = np.zeros(len(raw), dtype=bool)
            too_big[finite] = np.abs(raw[finite]) >= 2.0**63
            unreadable = unreadable | ~finite | ~whole | too_big
        bad[~missing] = unreadable
        if canonical == FLOAT:
            out = pd.Series(np.nan, index=series.index, dtype="float64")
            out[~missing] = numbers.to_numpy()
            return out, pd.Series(bad, index=series.index)
        out = pd.Series(pd.NA, index=series.index, dtype="Int64")
        keep = ~missing
        keep[keep] = ~unreadable
        out[keep] = numbers.to_numpy()[~unreadable].astype("int64")
        if canonical != NULLABLE_INT and not out.isna().any():
            out = out.astype("int64")
        return out, pd.Series(bad, index=series.index)
    if canonical == BOOL:
        if pd.api.types.is_bool_dtype(series.dtype):
            out = series.astype("bool") if not missing.any() else series.astype("boolean")
            return out, pd.Series(bad, index=series.index)
        text = present.astype(str).str.strip().str.lower()
        is_true = text.isin(_TRUE).to_numpy()
        is_false = text.isin(_FALSE).to_numpy()
        bad[~missing] = ~(is_true | is_false)
        flags = pd.Series(pd.NA, index=series.index, dtype="boolean")
        keep = ~missing
        keep[keep] = is_true | is_false
        flags[keep] = is_true[is_true | is_false]
        out = flags.astype("bool") if not flags.isna().any() else flags
        return out, pd.Series(bad, index=series.index)
    if canonical == STR:
        if isinstance(series.dtype, pd.StringDtype):
            return series.astype("str"), pd.Series(bad, index=series.index)
        is_text = np.fromiter((isinstance(v, str) for v in present), dtype=bool, count=len(present))
        bad[~missing] = ~is_text
        out = pd.Series(np.nan, index=series.index, dtype="str")
        out[~missing] = present.astype(str).str.strip().to_numpy()
        return out, pd.Series(bad, index=series.index)
    return series, pd.Series(bad, index=series.index)  # pragma: no cover - unknown dtype


def coerce_table(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert the canonical columns of a table, reporting values that could not be read.

    Columns other than the canonical ones are kept as they are. Values that
    cannot be converted become missing in the result and are reported as
    ``"unreadable"`` problems, so no value is lost silently.
    """
    spec = TABLES[name]
    out = frame.copy()
    problems: list[Problem] = []
    for column, col in spec.columns.items():
        if column not in out.columns or not isinstance(out[column], pd.Series):
            continue
        converted, bad = coerce_column(out[column], col.dtype)
        out[column] = converted
        mask = bad.to_numpy()
        if col.dtype != STR and mask.any():  # anything can be read as text
            problems.append(
                Problem(
                    name,
                    column,
                    "unreadable",
                    int(mask.sum()),
                    _examples(frame.index[mask]),
                    f"expected values readable as {dtype_words(col.dtype)}",
                    _values_words(frame.loc[mask, column].head(50)),
                )
            )
    return out, problems


# --------------------------------------------------------------------------- rules


def _table_rules(
    name: str, frame: pd.DataFrame, spec: TableSpec, good: set[str], pupils: _PupilIndex
) -> list[Problem]:
    problems: list[Problem | None] = []
    for start, end in spec.date_order:
        if start in good and end in good:
            mask = (frame[end] < frame[start]).to_numpy(dtype=bool, na_value=False)
            problems.append(
                _mask_problem(
                    name, end, "date_order", frame, mask, f"expected {end} >= {start}", (start, end)
                )
            )
    if name in _SUM_RULES:
        parts, total = _SUM_RULES[name]
        if total in good and all(p in good for p in parts):
            summed = sum(frame[p].astype("float64") for p in parts)
            mask = (summed > frame[total].astype("float64")).to_numpy(dtype=bool, na_value=False)
            problems.append(
                _mask_problem(
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
            _mask_problem(
                name,
                ", ".join(spec.key),
                "duplicate_key",
                frame,
                mask,
                f"expected each ({', '.join(spec.key)}) to appear once",
                spec.key,
            )
        )
    if spec.references_pupils and "pupil_id" in good:
        problems += pupils.check(
            name, frame, "pupil_id", spec.event_date if spec.event_date in good else None
        )
    return [p for p in problems if p is not None]


class _PupilIndex:
    """The pupils table prepared once for the reference and birth rules."""

    def __init__(self, pupils: object) -> None:
        self.ids: pd.Series | None = None
        self.birth: pd.Series | None = None
        if not isinstance(pupils, pd.DataFrame) or pupils.columns.duplicated().any():
            return
        if "pupil_id" in pupils.columns and _good(pupils["pupil_id"], ID):
            ids = pupils["pupil_id"]
            self.ids = ids[ids.notna()]
            if "birth_month" in pupils.columns and _good(pupils["birth_month"], DATE):
                first = pupils.loc[ids.notna().to_numpy()].drop_duplicates("pupil_id")
                self.birth = pd.Series(
                    first["birth_month"].to_numpy(), index=first["pupil_id"].to_numpy()
                )

    def check(
        self, name: str, frame: pd.DataFrame, id_column: str, date_column: str | None
    ) -> list[Problem | None]:
        if self.ids is None:
            return []
        ids = frame[id_column]
        present = ids.notna().to_numpy()
        known = ids.isin(self.ids).to_numpy(dtype=bool, na_value=False)
        problems = [
            _mask_problem(
                name,
                id_column,
                "unknown_pupil",
                frame,
                present & ~known,
                "expected a pupil_id present in pupils",
                (id_column,),
            )
        ]
        if date_column is not None and self.birth is not None and len(self.birth):
            where = pd.Index(self.birth.index).get_indexer(ids)
            births = self.birth.to_numpy()[np.maximum(where, 0)]
            births[where < 0] = np.datetime64("NaT")
            birth = pd.Series(births, index=frame.index)
            mask = (frame[date_column] < birth).to_numpy(dtype=bool, na_value=False)
            offending = pd.DataFrame(
                {
                    id_column: ids[mask],
                    date_column: frame[date_column][mask],
                    "birth_month": birth[mask],
                }
            )
            problems.append(
                _mask_problem(
                    name,
                    date_column,
                    "before_birth",
                    offending,
                    np.ones(len(offending), dtype=bool),
                    f"expected {date_column} on or after the pupil's birth_month",
                    (id_column, date_column, "birth_month"),
                )
            )
        return problems


def _school_rules(name: str, frame: pd.DataFrame, good: set[str], schools: object) -> list[Problem]:
    if name not in _SCHOOL_TABLES or "school_id" not in good:
        return []
    if not isinstance(schools, pd.DataFrame) or len(schools) == 0:
        return []
    if schools.columns.duplicated().any() or "school_id" not in schools.columns:
        return []
    if not _good(schools["school_id"], ID):
        return []
    ids = frame["school_id"]
    mask = ids.notna().to_numpy() & ~ids.isin(schools["school_id"].dropna()).to_numpy(
        dtype=bool, na_value=False
    )
    problem = _mask_problem(
        name,
        "school_id",
        "unknown_school",
        frame,
        mask,
        "expected a school_id present in schools",
        ("school_id",),
    )
    return [] if problem is None else [problem]


def _frame_problem(name: str, frame: object) -> Problem | None:
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


def _check_canonical(
    name: str, frame: object, pupils: _PupilIndex, schools: object
) -> list[Problem]:
    problem = _frame_problem(name, frame)
    if problem is not None:
        return [problem]
    assert isinstance(frame, pd.DataFrame)
    spec = TABLES[name]
    problems, good = _pandera_problems(name, frame, spec)
    problems += _table_rules(name, frame, spec, good, pupils)
    problems += _school_rules(name, frame, good, schools)
    position = {c: i for i, c in enumerate(spec.columns)}
    return sorted(
        problems,
        key=lambda p: (position.get(p.column, len(position)), _RULE_RANK.get(p.rule, 99)),
    )


def _check_custom(name: str, entry: object, pupils: _PupilIndex) -> list[Problem]:
    if name in TABLES:
        return [
            Problem(
                name, None, "custom_source", 0, (), "expected a name that is not a canonical table"
            )
        ]
    try:
        check_source_name(name)
    except ValueError:
        return [
            Problem(
                name,
                None,
                "custom_source",
                0,
                (),
                "expected a name that is an identifier such as 'youth_justice'",
            )
        ]
    if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], CustomSource)):
        return [
            Problem(
                name,
                None,
                "custom_source",
                0,
                (),
                "expected a (DataFrame, CustomSource) pair",
                type(entry).__name__,
            )
        ]
    frame, source = entry
    problem = _frame_problem(name, frame)
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
    if id_ok and not _good(frame[source.id_column], ID):
        problems.append(_dtype_problem(name, source.id_column, frame[source.id_column], ID))
        id_ok = False
    dates = [
        c
        for c in (source.date_column, source.end_date_column)
        if c is not None and c in frame.columns
    ]
    good_dates = []
    for column in dates:
        if _good(frame[column], DATE):
            good_dates.append(column)
        else:
            problems.append(_dtype_problem(name, column, frame[column], DATE))
    if id_ok:
        problems.append(
            _mask_problem(
                name,
                source.id_column,
                "nullable",
                frame,
                frame[source.id_column].isna(),
                "expected no missing values",
            )
        )
    if source.date_column in good_dates:
        problems.append(
            _mask_problem(
                name,
                source.date_column,
                "nullable",
                frame,
                frame[source.date_column].isna(),
                "expected no missing values",
            )
        )
    for column in good_dates:
        values = frame[column]
        outside = (values < EARLIEST_DATE) | (values > LATEST_DATE)
        problems.append(
            _mask_problem(
                name,
                column,
                "implausible_date",
                frame,
                outside.to_numpy(dtype=bool, na_value=False),
                _PLAUSIBLE,
                (column,),
            )
        )
    end = source.end_date_column
    if end is not None and end in good_dates and source.date_column in good_dates:
        start = source.date_column
        mask = (frame[end] < frame[start]).to_numpy(dtype=bool, na_value=False)
        problems.append(
            _mask_problem(
                name, end, "date_order", frame, mask, f"expected {end} >= {start}", (start, end)
            )
        )
    if id_ok:
        date = source.date_column if source.date_column in good_dates else None
        problems += pupils.check(name, frame, source.id_column, date)
    return [p for p in problems if p is not None]


def _guarded(name: str, check, *args) -> list[Problem]:
    """Run one table's checks; an unexpected error becomes a problem, never escapes."""
    try:
        return check(name, *args)
    except Exception as exc:  # noqa: BLE001 - the contract is: only DataValidationError
        return [
            Problem(
                name,
                None,
                "check_failed",
                0,
                (),
                "expected tables the checks can read",
                f"{type(exc).__name__}: {str(exc)[:200]}",
            )
        ]


def find_problems(histories: LinkedHistories) -> list[Problem]:
    """Every problem in a :class:`LinkedHistories`, canonical tables first, then custom ones."""
    pupils_frame = getattr(histories, "pupils", None)
    try:
        pupils = _PupilIndex(pupils_frame)
    except Exception:  # noqa: BLE001 - reported below as problems of the pupils table
        pupils = _PupilIndex(None)
    schools = getattr(histories, "schools", None)
    problems: list[Problem] = []
    for name in TABLE_NAMES:
        frame = getattr(histories, name, None)
        problems += _guarded(name, _check_canonical, frame, pupils, schools)
    custom = getattr(histories, "custom", None) or {}
    if not isinstance(custom, dict):
        return problems + [
            Problem(
                "custom",
                None,
                "custom_source",
                0,
                (),
                "expected a dict of custom sources",
                type(custom).__name__,
            )
        ]
    for name, entry in custom.items():
        problems += _guarded(str(name), _check_custom, entry, pupils)
    return problems


def validate_histories(histories: LinkedHistories) -> None:
    """Raise one :class:`DataValidationError` listing every problem, if there are any."""
    problems = find_problems(histories)
    if problems:
        raise DataValidationError(problems)
