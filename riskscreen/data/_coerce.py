"""Dtype coercion of analysts' extracts to the canonical dtypes.

:func:`coerce_column` converts one column and flags the values it could not
read; :func:`coerce_table` converts the canonical columns of a table and
reports those values as ``"unreadable"`` problems, so no value is lost
silently. The dtype rule of validation also uses :func:`coerce_column` to
name the values of a wrong-typed column that could not be converted.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from riskscreen.data._schemas import dtype_words
from riskscreen.data._tables import BOOL, DATE, FLOAT, ID, INT, KEY, NULLABLE_INT, STR, TABLES
from riskscreen.data._validation_report import Problem, example_rows, values_words

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}

# A converter gets (series, its present values, missing mask, bad mask to fill, canonical).
_Converter = Callable[[pd.Series, pd.Series, np.ndarray, np.ndarray, str], pd.Series]


#: Dates with a time zone or UTC offset are read as the local date in England.
LOCAL_TIME_ZONE = "Europe/London"
_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)


def _local_dates(values: pd.Series) -> pd.Series:
    """Zoned timestamps as naive local dates in England (see :data:`LOCAL_TIME_ZONE`)."""
    return values.dt.tz_convert(LOCAL_TIME_ZONE).dt.tz_localize(None).dt.normalize()


def _to_dates(
    series: pd.Series, present: pd.Series, missing: np.ndarray, bad: np.ndarray, canonical: str
) -> pd.Series:
    # checked first: a zoned column also passes pandas' "is datetime" test
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return _local_dates(series).astype("datetime64[us]")
    if series.dtype.kind == "M":
        return series.astype("datetime64[us]")
    text = present.astype(str).str.strip()
    zoned = text.str.contains(_ZONED).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if zoned.any():
            utc = pd.to_datetime(text[zoned], errors="coerce", format="ISO8601", utc=True)
            parsed[zoned] = _local_dates(utc).astype("datetime64[us]").to_numpy()
        plain = pd.to_datetime(text[~zoned], errors="coerce", format="ISO8601")
        retry = plain.isna()
        if retry.any():
            plain[retry] = pd.to_datetime(text[~zoned][retry], errors="coerce", format="%d/%m/%Y")
        parsed[~zoned] = plain.astype("datetime64[us]").to_numpy()
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us]")
    out[~missing] = parsed.to_numpy()
    bad[~missing] = parsed.isna().to_numpy()
    return out


def _to_numbers(
    series: pd.Series, present: pd.Series, missing: np.ndarray, bad: np.ndarray, canonical: str
) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
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
        return out
    out = pd.Series(pd.NA, index=series.index, dtype="Int64")
    keep = ~missing
    keep[keep] = ~unreadable
    out[keep] = numbers.to_numpy()[~unreadable].astype("int64")
    if canonical != NULLABLE_INT and not out.isna().any():
        out = out.astype("int64")
    return out


def _to_flags(
    series: pd.Series, present: pd.Series, missing: np.ndarray, bad: np.ndarray, canonical: str
) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("bool") if not missing.any() else series.astype("boolean")
    text = present.astype(str).str.strip().str.lower()
    is_true = text.isin(_TRUE).to_numpy()
    is_false = text.isin(_FALSE).to_numpy()
    bad[~missing] = ~(is_true | is_false)
    flags = pd.Series(pd.NA, index=series.index, dtype="boolean")
    keep = ~missing
    keep[keep] = is_true | is_false
    flags[keep] = is_true[is_true | is_false]
    return flags.astype("bool") if not flags.isna().any() else flags


def _to_text(
    series: pd.Series, present: pd.Series, missing: np.ndarray, bad: np.ndarray, canonical: str
) -> pd.Series:
    if isinstance(series.dtype, pd.StringDtype):
        return series.astype("str")
    is_text = np.fromiter((isinstance(v, str) for v in present), dtype=bool, count=len(present))
    bad[~missing] = ~is_text
    out = pd.Series(np.nan, index=series.index, dtype="str")
    out[~missing] = present.astype(str).str.strip().to_numpy()
    return out


def _to_key(
    series: pd.Series, present: pd.Series, missing: np.ndarray, bad: np.ndarray, canonical: str
) -> pd.Series:
    """Whole numbers stay numbers; text stays text, as given (never hashed or renumbered).

    Text becomes int64 only when every value is the plain spelling of a whole
    number ("17", not "017" or "17.0"), so no key changes by being read.
    """
    if pd.api.types.is_integer_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return _to_numbers(series, present, missing, bad, ID)
    if pd.api.types.is_float_dtype(series.dtype):
        return _to_numbers(series, present, missing, bad, ID)
    text = present.astype(str).str.strip()
    plain = text.str.fullmatch(r"-?(0|[1-9][0-9]{0,17})").to_numpy(dtype=bool)
    if plain.all() and len(text):
        return _to_numbers(series, present, missing, bad, ID)
    return _to_text(series, present, missing, bad, STR)


_CONVERTERS: dict[str, _Converter] = {
    DATE: _to_dates,
    KEY: _to_key,
    ID: _to_numbers,
    INT: _to_numbers,
    NULLABLE_INT: _to_numbers,
    FLOAT: _to_numbers,
    BOOL: _to_flags,
    STR: _to_text,
}


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
    convert = _CONVERTERS.get(canonical)
    if convert is None:  # pragma: no cover - unknown dtype
        return series, pd.Series(bad, index=series.index)
    out = convert(series, present, missing, bad, canonical)
    return out, pd.Series(bad, index=series.index)


def key_kind(frames) -> str:
    """ID when every ``pupil_id`` of every table is a whole number, else STR (text keys).

    One kind for all tables, so pupil 17 is the same key everywhere; text such as
    ``"017"`` or ``"A17"`` keeps every key as text, exactly as given.
    """
    for frame in frames:
        if not isinstance(frame, pd.DataFrame) or "pupil_id" not in frame.columns:
            continue
        column = frame["pupil_id"]
        if not isinstance(column, pd.Series):
            continue
        if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
            column.dtype
        ):
            continue
        present = column.dropna()
        if pd.api.types.is_float_dtype(column.dtype):
            if (present % 1 == 0).all():
                continue
            return STR
        text = present.astype(str).str.strip()
        if not text.str.fullmatch(r"-?(0|[1-9][0-9]{0,17})").all():
            return STR
    return ID


def coerce_table(
    name: str, frame: pd.DataFrame, *, key: str | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert the canonical columns of a table, reporting values that could not be read.

    Columns other than the canonical ones are kept as they are. Values that
    cannot be converted become missing in the result and are reported as
    ``"unreadable"`` problems, so no value is lost silently.

    Parameters
    ----------
    name : str
        A canonical table name.
    frame : DataFrame
        The table as found.
    key : {ID, STR} or None
        The kind of ``pupil_id`` (:func:`key_kind` of all the tables); None
        decides from this table alone.

    Returns
    -------
    converted : DataFrame
        A copy of ``frame`` with its canonical columns converted.
    problems : list of Problem
        One ``"unreadable"`` problem per column with values that could not
        be converted (text columns never have any).
    """
    spec = TABLES[name]
    out = frame.copy()
    problems: list[Problem] = []
    for column, col in spec.columns.items():
        if column not in out.columns or not isinstance(out[column], pd.Series):
            continue
        canonical = key if (col.dtype == KEY and key is not None) else col.dtype
        converted, bad = coerce_column(out[column], canonical)
        out[column] = converted
        mask = bad.to_numpy()
        if canonical != STR and mask.any():  # anything can be read as text
            problems.append(
                Problem(
                    name,
                    column,
                    "unreadable",
                    int(mask.sum()),
                    example_rows(frame.index[mask]),
                    f"expected values readable as {dtype_words(col.dtype)}",
                    values_words(frame.loc[mask, column].head(50)),
                )
            )
    return out, problems
