"""Reading return files safely: rejected rows counted, errors that name file, table, column, rows.

Every loader of :func:`riskscreen.data.read_returns` reads through this module.
A file that cannot be read as its table at all (no such columns, broken XML)
raises :class:`ReturnsError`; a row with a value that cannot be used (a date
that is not a date, a code outside the year's code list) is rejected and
counted in a :class:`RejectLog`, which the load report shows. Messages give
row positions, never the values of identifying columns.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_MAX_ROWS = 5
CHUNK_ROWS = 200_000
"""Rows read at a time from a CSV file (bounded memory on large extracts)."""


@dataclass(frozen=True)
class Rejection:
    """Rows of one file that broke one rule.

    Attributes
    ----------
    file : str
        Path of the file, relative to the returns folder.
    table : str
        The table (or XML element) read from it.
    column : str or None
        The column (or element) at fault; None for the whole table.
    rule : str
        Short rule name: ``"missing_column"``, ``"date"``, ``"code"``,
        ``"number"``, ``"required"``, ``"orphan"``, ``"unreadable"``, ...
    n_rows : int
        Rows rejected (0 when the rule rejected the whole file).
    rows : tuple of int
        Up to five 0-based data-row positions (``Child`` positions in CIN XML).
    expected : str
        What was expected, in words.
    """

    file: str
    table: str
    column: str | None
    rule: str
    n_rows: int
    rows: tuple[int, ...] = ()
    expected: str = ""

    def __str__(self) -> str:
        where = f"{self.file}, table {self.table}"
        if self.column:
            where += f", column {self.column}"
        if self.n_rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = ", ..." if self.n_rows > len(self.rows) else ""
            noun = "row" if self.n_rows == 1 else "rows"
            where += f": {self.n_rows} {noun} (data rows {shown}{more})"
        return f"{where}: {self.expected} [{self.rule}]"


class ReturnsError(ValueError):
    """Raised when a return file cannot be read; lists every problem found.

    Attributes
    ----------
    rejections : tuple of Rejection
    """

    def __init__(self, rejections: Iterable[Rejection]) -> None:
        self.rejections = tuple(rejections)
        lines = [f"The returns have {len(self.rejections)} problem(s):"]
        lines += [f"  - {r}" for r in self.rejections[:50]]
        if len(self.rejections) > 50:
            lines.append(f"  ... and {len(self.rejections) - 50} more")
        super().__init__("\n".join(lines))

    def __reduce__(self):
        return (type(self), (self.rejections,))


class RejectLog:
    """Every rejected row of a load, by file, table, column and rule."""

    def __init__(self) -> None:
        self.items: list[Rejection] = []

    def add(self, file, table, column, rule, rows, expected: str) -> None:
        """Record the rejected ``rows`` (positions); nothing if there are none."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return
        shown = tuple(int(r) for r in np.sort(rows)[:_MAX_ROWS])
        self.items.append(Rejection(file, table, column, rule, int(len(rows)), shown, expected))

    def fail(self, file, table, column, rule, expected: str) -> None:
        """Raise :class:`ReturnsError` for a file that cannot be read at all."""
        raise ReturnsError([Rejection(file, table, column, rule, 0, (), expected)])

    def frame(self) -> pd.DataFrame:
        cols = ["file", "table", "column", "rule", "n_rows", "rows", "expected"]
        return pd.DataFrame([r.__dict__ for r in self.items], columns=cols)

    def total(self) -> int:
        return int(sum(r.n_rows for r in self.items))


def read_csv(
    path: Path,
    file: str,
    table: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    aliases: dict[str, Sequence[str]] | None = None,
    log: RejectLog,
) -> pd.DataFrame:
    """The used columns of a CSV file as text, read in chunks; ``_row`` holds data-row positions.

    Columns are matched without regard to case; ``aliases`` lists other names a
    column goes by. A missing required column raises :class:`ReturnsError`.
    """
    try:
        header = pd.read_csv(path, nrows=0, dtype=str).columns
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        log.fail(file, table, None, "unreadable", f"expected a CSV file ({type(err).__name__})")
    lower = {str(c).strip().lower(): c for c in header}
    chosen: dict[str, str] = {}
    for name in [*required, *optional]:
        for candidate in (name, *((aliases or {}).get(name, ()))):
            if candidate.lower() in lower:
                chosen[name] = lower[candidate.lower()]
                break
    missing = [c for c in required if c not in chosen]
    if missing:
        log.fail(
            file,
            table,
            ", ".join(missing),
            "missing_column",
            f"expected column(s) {', '.join(missing)} in the header",
        )
    parts = []
    offset = 0
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            usecols=list(chosen.values()),
            chunksize=CHUNK_ROWS,
            keep_default_na=False,
            na_values=[""],
        )
        for chunk in reader:
            chunk = chunk.rename(columns={v: k for k, v in chosen.items()})
            chunk["_row"] = np.arange(offset, offset + len(chunk))
            offset += len(chunk)
            parts.append(chunk)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        log.fail(file, table, None, "unreadable", f"expected a well-formed CSV file ({err})")
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*chosen])
    for name in optional:
        if name not in frame.columns:
            frame[name] = None
    if "_row" not in frame.columns:
        frame["_row"] = pd.Series(dtype=np.int64)
    return frame


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%b-%d %H:%M:%S", "%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d %H:%M:%S")


def parse_dates(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates written as ISO, census extract (``2025-Feb-14 00:00:00``) or UK text.

    Returns the dates (``datetime64[us]``, NaT where missing or unreadable) and
    a mask of the present values that could not be read.
    """
    text = text.astype("object").where(text.notna(), None)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    todo = text.notna().to_numpy().copy()
    stripped = text.str.strip() if todo.any() else text
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(stripped[todo], format=fmt, errors="coerce")
        ok = parsed.notna().to_numpy()
        idx = np.flatnonzero(todo)[ok]
        out.iloc[idx] = parsed[ok].dt.normalize().astype("datetime64[us]").to_numpy()
        todo[idx] = False
    return out, todo


def parse_numbers(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers (``10``, ``10.0``); NaN where missing; mask of unreadable present values."""
    present = text.notna().to_numpy()
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = present & numbers.isna().to_numpy()
    bad |= present & ~np.isfinite(numbers.fillna(0).to_numpy())
    return numbers, bad


def reject(
    frame: pd.DataFrame, bad: np.ndarray, log: RejectLog, file, table, column, rule, expected
) -> pd.DataFrame:
    """Log the rows where ``bad`` is true and return the others."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        log.add(file, table, column, rule, frame["_row"].to_numpy()[bad], expected)
        return frame[~bad]
    return frame


def check_codes(
    frame, column, codes, log, file, table, *, required: bool, expected_words: str | None = None
) -> pd.DataFrame:
    """Reject rows whose ``column`` is not one of ``codes`` (or is missing, if required)."""
    values = frame[column].str.strip().str.upper()
    frame = frame.assign(**{column: values})
    missing = values.isna().to_numpy()
    bad = ~values.isin(list(codes)).to_numpy() & ~missing
    if required:
        frame = reject(frame, missing, log, file, table, column, "required", "expected a value")
        bad = bad[~missing]
    words = expected_words or f"expected one of {', '.join(sorted(codes))}"
    return reject(frame, bad, log, file, table, column, "code", words)


def dates_column(frame, column, log, file, table, *, required: bool) -> pd.DataFrame:
    """Parse ``column`` as dates, rejecting unreadable values (and missing ones if required)."""
    dates, bad = parse_dates(frame[column])
    frame = frame.assign(**{column: dates})
    frame = reject(frame, bad, log, file, table, column, "date", "expected a date")
    if required:
        missing = frame[column].isna().to_numpy()
        frame = reject(frame, missing, log, file, table, column, "required", "expected a date")
    return frame
