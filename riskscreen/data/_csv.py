"""Reading an analyst's folder of ``<table>.csv`` files, every problem naming its file.

File names must be the canonical table names (``pupils.csv``, ``exclusions.csv``,
...): a CSV file with any other name is an error listing what was expected (with
the nearest canonical name as a hint), never ignored. The separator is detected
from the header line (comma, semicolon, tab or bar) unless given; the encoding
is UTF-8 (a byte-order mark is allowed) unless given, and a file that is not in
it is refused naming the file and line. Empty files, ragged lines and unreadable
text give a :class:`~riskscreen.data.DataValidationError` naming the file, the
line and the table, never a bare pandas error.
"""

from __future__ import annotations

import csv
import difflib
import os
from pathlib import Path

import pandas as pd

from riskscreen.data._tables import TABLE_NAMES
from riskscreen.data._validation import DataValidationError, Problem

_SEPARATORS = ",;\t|"


def _file_problem(table: str, file: Path, expected: str, got: str = "") -> Problem:
    return Problem(table, None, "file", 0, (), f"{file.name}: {expected}", got)


def _header_line(file: Path, encoding: str) -> str:
    with open(file, encoding=encoding, newline="") as fh:
        return fh.readline()


def _line_of_byte(file: Path, position: int) -> int:
    with open(file, "rb") as fh:
        return fh.read(position).count(b"\n") + 1


def detect_separator(header: str) -> str:
    """The separator of a CSV header line: the most frequent of ``, ; tab |`` (comma if none)."""
    try:
        return csv.Sniffer().sniff(header, delimiters=_SEPARATORS).delimiter
    except csv.Error:
        counts = {sep: header.count(sep) for sep in _SEPARATORS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_table_csv(
    file: Path, table: str, *, sep: str | None, encoding: str, **read_csv_kwargs
) -> pd.DataFrame:
    """One CSV file as text columns; raises DataValidationError naming file and line."""

    def fail(expected: str, got: str = ""):
        raise DataValidationError([_file_problem(table, file, expected, got)], subject=str(file))

    try:
        header = _header_line(file, encoding)
    except UnicodeDecodeError as exc:
        fail(
            f"text in the {encoding!r} encoding",
            f"bytes that are not, on line {_line_of_byte(file, exc.start)}; pass "
            "encoding='cp1252' (or 'latin-1') if the file was saved by Excel on Windows",
        )
    if not header.strip():
        fail("a header line naming the columns", "an empty file")
    separator = sep if sep is not None else detect_separator(header)
    try:
        frame = pd.read_csv(file, dtype="str", sep=separator, encoding=encoding, **read_csv_kwargs)
    except UnicodeDecodeError as exc:
        fail(
            f"text in the {encoding!r} encoding",
            f"bytes that are not, on line {_line_of_byte(file, exc.start)}; pass "
            "encoding='cp1252' (or 'latin-1') if the file was saved by Excel on Windows",
        )
    except pd.errors.EmptyDataError:
        fail("a header line naming the columns", "an empty file")
    except pd.errors.ParserError as exc:
        # pandas says e.g. "Expected 5 fields in line 7, saw 6" (no values from the file)
        fail(f"the same number of fields ({separator!r}-separated) on every line", str(exc))
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_csv_tables(
    path: str | os.PathLike, *, sep: str | None = None, encoding: str = "utf-8-sig", **kwargs
) -> dict[str, pd.DataFrame]:
    """The ``<table>.csv`` files of a folder, read as text; see :meth:`LinkedHistories.read_csv`."""
    folder = Path(path)
    if folder.is_file():
        raise FileNotFoundError(
            f"Cannot read CSV tables: {folder} is a file; give the folder holding one "
            "<table>.csv file per table (pupils.csv, enrolments.csv, ...)."
        )
    if not folder.is_dir():
        raise FileNotFoundError(f"Cannot read CSV tables: folder {folder} does not exist.")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    unknown = [p for p in files if p.stem not in TABLE_NAMES]
    if unknown:
        problems = []
        for p in unknown:
            near = difflib.get_close_matches(p.stem.lower(), TABLE_NAMES, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]}.csv?" if near else ""
            problems.append(
                _file_problem(
                    p.stem,
                    p,
                    f"a canonical table name ({', '.join(f'{n}.csv' for n in TABLE_NAMES)})",
                    f"an unknown file name{hint}",
                )
            )
        raise DataValidationError(problems, subject=str(folder))
    frames = {
        p.stem: read_table_csv(p, p.stem, sep=sep, encoding=encoding, **kwargs) for p in files
    }
    if not frames:
        raise FileNotFoundError(
            f"No canonical CSV file in {folder}: expected files such as pupils.csv "
            f"(one of {', '.join(f'{n}.csv' for n in TABLE_NAMES)})."
        )
    return frames
