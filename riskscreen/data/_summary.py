"""What a :class:`LinkedHistories` holds, table by table: its summary and notebook reprs.

Tables in memory are described with pandas (whatever their state, valid or
not); tables of an opened folder that were not read into memory are described
by DuckDB straight from their Parquet files.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from riskscreen.data._tables import TABLES

SUMMARY_COLUMNS = ["rows", "pupils", "columns", "first_date", "last_date"]


def _roles(histories, name: str) -> tuple[str | None, list[str]]:
    """The id column and the date columns of table ``name``."""
    if name in TABLES:
        id_column = "pupil_id" if "pupil_id" in TABLES[name].columns else None
        return id_column, TABLES[name].date_columns
    source = histories.custom_sources()[name]
    return source.id_column, [c for c in (source.date_column, source.end_date_column) if c]


def _describe_frame(frame: object, id_column, date_columns) -> tuple:
    if not isinstance(frame, pd.DataFrame):
        return (None, None, None, pd.NaT, pd.NaT)
    pupils = None
    if id_column is not None and id_column in frame.columns:
        try:
            pupils = int(frame[id_column].nunique())
        except Exception:  # noqa: BLE001 - unhashable junk in an invalid table
            pupils = None
    first, last = pd.NaT, pd.NaT
    for column in date_columns:
        if column not in frame.columns:
            continue
        values = frame[column]
        if not (isinstance(values, pd.Series) and values.dtype.kind == "M"):
            continue
        lo, hi = values.min(), values.max()
        if pd.notna(lo) and (pd.isna(first) or lo < first):
            first = lo
        if pd.notna(hi) and (pd.isna(last) or hi > last):
            last = hi
    return (len(frame), pupils, len(frame.columns), first, last)


def _describe_file(file: Path, id_column, date_columns) -> tuple:
    import duckdb
    import pyarrow.parquet as pq

    from riskscreen.data._views import literal, quote

    names = pq.ParquetFile(file).schema_arrow.names
    parts = ["COUNT(*)"]
    parts.append(f"COUNT(DISTINCT {quote(id_column)})" if id_column in names else "NULL")
    dates = [c for c in date_columns if c in names]
    lows = ", ".join(f"MIN({quote(c)})" for c in dates)
    highs = ", ".join(f"MAX({quote(c)})" for c in dates)
    parts.append(f"LEAST({lows})" if dates else "NULL")
    parts.append(f"GREATEST({highs})" if dates else "NULL")
    with duckdb.connect() as con:
        rows, pupils, first, last = con.execute(
            f"SELECT {', '.join(parts)} FROM read_parquet({literal(str(file))})"
        ).fetchall()[0]
    return (rows, pupils, len(names), pd.Timestamp(first), pd.Timestamp(last))


def summarise(histories) -> pd.DataFrame:
    """See :meth:`LinkedHistories.summary`."""
    records, names = [], []
    for name, rel in histories._relations().items():
        roles = _roles(histories, name)
        names.append(name)
        if isinstance(rel, Path):
            records.append(_describe_file(rel, *roles))
        else:
            records.append(_describe_frame(rel, *roles))
    out = pd.DataFrame.from_records(records, columns=SUMMARY_COLUMNS)
    out.index = pd.Index(names, name="table")
    for col in ("rows", "pupils", "columns"):
        out[col] = out[col].astype("Int64")
    for col in ("first_date", "last_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    return out


def text_repr(histories) -> str:
    summary = summarise(histories)
    filled = [f"{name}={int(n):,}" for name, n in summary["rows"].items() if pd.notna(n) and n]
    body = ", ".join(filled) if filled else "empty"
    pupils = summary.loc["pupils", "pupils"]
    pupils = 0 if pd.isna(pupils) else int(pupils)
    return f"{type(histories).__name__}({pupils:,} pupils; rows: {body})"


def html_repr(histories) -> str:
    summary = summarise(histories)
    head = ["table", "rows", "columns", "pupils", "date range"]
    where = (
        "" if histories.folder is None else f", opened from {html.escape(str(histories.folder))}"
    )
    n_pupils = summary.loc["pupils", "pupils"]
    lines = [
        '<div class="riskscreen-linked-histories">',
        f"<p><strong>{html.escape(type(histories).__name__)}</strong>: "
        f"{0 if pd.isna(n_pupils) else int(n_pupils):,} pupils, "
        f"{len(histories.custom_sources())} custom source(s){where}</p>",
        '<table class="dataframe" border="1">',
        "<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>",
        "<tbody>",
    ]
    for name, row in summary.iterrows():

        def num(v) -> str:
            return "" if pd.isna(v) else f"{int(v):,}"

        dates = (
            ""
            if pd.isna(row["first_date"])
            else f"{row['first_date'].date()} to {row['last_date'].date()}"
        )
        label = html.escape(str(name)) + ("" if name in TABLES else " <em>(custom)</em>")
        cells = [label, num(row["rows"]), num(row["columns"]), num(row["pupils"]), dates]
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    lines += ["</tbody>", "</table>", "</div>"]
    return "\n".join(lines)
