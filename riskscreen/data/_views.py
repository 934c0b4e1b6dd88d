"""The one way riskscreen reads histories: DuckDB views over memory or a Parquet folder.

:class:`TableViews` opens one in-process DuckDB connection (with the settings of
:func:`riskscreen.get_config`) and exposes every table of a
:class:`~riskscreen.data.LinkedHistories` as a view named after it, whether the
table is a pandas DataFrame in memory or a Parquet file of a saved folder (read
lazily, out of core). Canonical columns are cast to their canonical types and
absent optional columns appear as typed NULLs, so the same data give the same
view, and so the same features, dates and fingerprint, either way.

The date range, the end of data and the data fingerprint are defined here once
(:meth:`TableViews.date_range`, :meth:`TableViews.fingerprint`); the feature
engine, the labels, the :class:`~riskscreen.Screener` and
:class:`~riskscreen.data.LinkedHistories` all ask a ``TableViews`` for them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from riskscreen.data._tables import DATE, KEY, TABLES, CustomSource

_DUCK_TYPES = {
    "datetime64[us]": "TIMESTAMP",
    "int64": "BIGINT",
    "Int64": "BIGINT",
    "float64": "DOUBLE",
    "str": "VARCHAR",
    "bool": "BOOLEAN",
}

#: Optional knowledge-date column of any source (canonical or custom): the date the row
#: was recorded. A row counts at an as-of date only when this is missing or before it.
RECORDED = "recorded_date"
#: Optional column of a spell source: the date its end date was recorded. Until then
#: (on or after the as-of date) the spell is treated as still open.
END_RECORDED = "end_recorded_date"
#: Tables that hold no events (no dates to place before or after an as-of date).
NOT_EVENTS = ("pupils", "schools")


def quote(name: str) -> str:
    """A SQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class SourceInfo:
    """How the engines read one event source.

    ``date`` is the column events are windowed on and must be before the as-of
    date. For attendance it is ``period_end``: a period counts only once it has
    finished (``period_end < as_of``), so sessions after the as-of date never
    leak in. Spells use their start date; ``end`` is the inclusive last day.
    """

    name: str
    relation: str
    id: str
    date: str | None
    end: str | None
    columns: dict[str, str]
    required_dates: tuple[str, ...]
    custom: bool = False
    #: knowledge dates (see :data:`RECORDED`, :data:`END_RECORDED`), when the source has them
    recorded: str | None = None
    end_recorded: str | None = None
    #: the columns the source data really hold (the view adds absent optional ones as NULL)
    present: frozenset[str] = frozenset()
    #: the Parquet file the rows are read from (None: a frame in memory); its row groups'
    #: statistics say how the rows lie (the feature engine's batches follow them)
    file: str | None = None

    @property
    def is_spell(self) -> bool:
        return self.end is not None

    def known_sql(self, alias: str, as_of: str) -> str:
        """SQL condition: the row (event or spell start) was recorded before ``as_of``."""
        if self.recorded is None:
            return "TRUE"
        col = f"{alias}.{quote(self.recorded)}"
        return f"({col} IS NULL OR {col} < {as_of})"

    def end_sql(self, alias: str, as_of: str) -> str:
        """SQL of the spell end *as known* on ``as_of``: NULL while its recording was later."""
        end = f"{alias}.{quote(self.end)}"
        if self.end_recorded is None:
            return end
        col = f"{alias}.{quote(self.end_recorded)}"
        return f"(CASE WHEN {col} >= {as_of} THEN NULL ELSE {end} END)"

    def last_date_columns(self) -> list[str]:
        """Columns whose latest value says how far this source's records reach."""
        cols = [self.date, self.recorded, self.end_recorded]
        return [c for c in dict.fromkeys(cols) if c is not None and c in self.columns]


class TableViews:
    """One DuckDB connection with every table of some histories as a named view.

    Parameters
    ----------
    histories : LinkedHistories
        In memory, or opened from a saved folder with
        :meth:`LinkedHistories.open` (tables not loaded into memory are read
        from their Parquet files by DuckDB).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, histories) -> None:
        from riskscreen._config import duckdb_config

        self.con = duckdb.connect(config=duckdb_config())
        self.info: dict[str, SourceInfo] = {}
        self._frames: dict[str, pd.DataFrame] = {}
        self._custom: dict[str, CustomSource] = {}
        #: the SQL type of pupil keys (text or whole numbers), decided by the pupils table
        self.key_type = "BIGINT"
        try:
            for name, rel in histories._relations().items():
                self._add(name, rel, histories)
        except BaseException:
            self.con.close()
            raise

    def __enter__(self) -> TableViews:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -- registration ------------------------------------------------------------------------
    def _add(self, name: str, rel, histories) -> None:
        if isinstance(rel, pd.DataFrame):
            raw = f"_raw_{name}"
            self.con.register(raw, rel)
            self._frames[name] = rel
            relation = raw
        else:
            relation = f"read_parquet({literal(str(Path(rel)))})"
        if name in TABLES:
            self._canonical_view(name, relation)
        else:
            self._custom_view(name, relation, histories.custom_sources()[name])
        if name in self.info and not isinstance(rel, pd.DataFrame):
            self.info[name].file = str(Path(rel))

    def _describe(self, rel: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
        return {r[0]: r[1] for r in rows}

    def _canonical_view(self, name: str, rel: str) -> None:
        spec = TABLES[name]
        have = self._describe(rel)
        select = []
        if name == "pupils" and have.get("pupil_id", "").upper() == "VARCHAR":
            self.key_type = "VARCHAR"
        for col, cs in spec.columns.items():
            # pupil keys are whole numbers or text, as given: one type in every table
            kind = self.key_type if cs.dtype == KEY else _DUCK_TYPES[cs.dtype]
            if col in have:
                select.append(f"CAST({quote(col)} AS {kind}) AS {quote(col)}")
            elif cs.required:
                raise ValueError(
                    f"Table {name!r} has no column {col!r}, which is required "
                    f"(expected columns: {list(spec.required_columns)})."
                )
            else:
                select.append(f"CAST(NULL AS {kind}) AS {quote(col)}")
        extra = [quote(c) for c in have if c not in spec.columns]
        self.con.execute(
            f"CREATE VIEW {quote(name)} AS SELECT {', '.join(select + extra)} FROM {rel}"
        )
        cols = self._describe(quote(name))
        if name == "attendance":
            date, end, req = "period_end", None, ("period_start", "period_end")
        elif name in NOT_EVENTS:
            date, end = None, None
            req = tuple(c for c in spec.columns if spec.columns[c].dtype == DATE)
        else:
            date, end, req = spec.event_date, spec.end_date, (spec.event_date,)
        id_col = "school_id" if name == "schools" else "pupil_id"
        info = SourceInfo(name, quote(name), id_col, date, end, cols, req, present=frozenset(have))
        if name not in NOT_EVENTS:
            self._knowledge(info)
        self.info[name] = info

    def _knowledge(self, info: SourceInfo) -> None:
        """Note the source's knowledge-date columns, checking they hold dates."""
        for attr, col in (("recorded", RECORDED), ("end_recorded", END_RECORDED)):
            if col not in info.columns:
                continue
            if attr == "end_recorded" and not info.is_spell:
                raise ValueError(
                    f"Table {info.name!r} has a column {col!r} but holds events, not spells "
                    f"(no end date); only spells have an end whose recording date matters. "
                    f"Rename or drop it (use {RECORDED!r} for when an event was recorded)."
                )
            kind = info.columns[col].upper()
            if not kind.startswith(("TIMESTAMP", "DATE")):
                raise ValueError(
                    f"Table {info.name!r}, column {col!r} (a knowledge date) must hold dates. "
                    f"Got type {info.columns[col]} instead."
                )
            setattr(info, attr, col)

    def _custom_view(self, name: str, rel: str, src: CustomSource) -> None:
        if name in TABLES or name == "cohort":
            raise ValueError(
                f"A custom table cannot be called {name!r}: that is a canonical table name."
            )
        view = quote(f"custom_{name}")
        have = self._describe(rel)
        key = ""
        if src.id_column in have:
            ident = quote(src.id_column)
            key = f" REPLACE (CAST({ident} AS {self.key_type}) AS {ident})"
        self.con.execute(f"CREATE VIEW {view} AS SELECT *{key} FROM {rel}")
        cols = self._describe(view)
        for role, col in (
            ("id_column", src.id_column),
            ("date_column", src.date_column),
            ("end_date_column", src.end_date_column),
        ):
            if col is not None and col not in cols:
                raise ValueError(
                    f"Custom table {name!r} has no column {col!r} (its CustomSource "
                    f"{role}). Columns present: {sorted(cols)}."
                )
        for col in src.value_columns:
            if col not in cols:
                raise ValueError(
                    f"Custom table {name!r} has no value column {col!r}. "
                    f"Columns present: {sorted(cols)}."
                )
        info = SourceInfo(
            name,
            view,
            src.id_column,
            src.date_column,
            src.end_date_column,
            cols,
            (src.date_column,),
            custom=True,
            present=frozenset(cols),
        )
        self._knowledge(info)
        self.info[name] = info
        self._custom[name] = src

    @property
    def event_sources(self) -> list[str]:
        """Names of the sources that hold dated events or spells (canonical and custom)."""
        return [n for n in self.info if n not in NOT_EVENTS]

    # -- checks ------------------------------------------------------------------------------
    def check_dates(self, names) -> None:
        """Raise if a required date column of a used source holds missing dates."""
        for name in names:
            info = self.info[name]
            for col in info.required_dates:
                frame = self._frames.get(name)
                if frame is not None:
                    if col not in frame.columns:
                        continue
                    bad = np.flatnonzero(pd.isna(frame[col]).to_numpy())
                    where = f" at row position(s) {_positions(bad)}"
                    n = len(bad)
                else:
                    (n,) = self.con.execute(
                        f"SELECT COUNT(*) FROM {info.relation} WHERE {quote(col)} IS NULL"
                    ).fetchall()[0]
                    where = ""
                if n:
                    raise ValueError(
                        f"Table {name!r}, column {col!r}: {n} row(s) have no date (NaT)"
                        f"{where}. Every event needs a date to be placed before or after an "
                        "as-of date; fix or drop these rows."
                    )

    # -- what the data cover -----------------------------------------------------------------
    def date_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """(first, last): the earliest event date and the end of data.

        ``first`` is the earliest event (or spell start, or attendance period
        start) of any event source. ``last``, the *end of data*, is the latest
        event date (attendance: a period's last day; spells: their start) or
        knowledge date (``recorded_date``, ``end_recorded_date``) of any event
        source, canonical or custom. Spell end dates are not used: they may be
        planned dates in the future. (None, None) when nothing is dated.
        """
        lo_parts, hi_parts = [], []
        for name in self.event_sources:
            info = self.info[name]
            for col in info.required_dates:
                lo_parts.append(f"SELECT MIN({quote(col)}) AS d FROM {info.relation}")
            for col in info.last_date_columns():
                hi_parts.append(f"SELECT MAX({quote(col)}) AS d FROM {info.relation}")
        if not lo_parts:
            return None, None
        lo, hi = self.con.execute(
            f"SELECT (SELECT MIN(CAST(d AS TIMESTAMP)) FROM ({' UNION ALL '.join(lo_parts)})), "
            f"(SELECT MAX(CAST(d AS TIMESTAMP)) FROM ({' UNION ALL '.join(hi_parts)}))"
        ).fetchall()[0]
        return (
            pd.Timestamp(lo) if lo is not None else None,
            pd.Timestamp(hi) if hi is not None else None,
        )

    def end_of_data(self) -> pd.Timestamp | None:
        """The end of data (see :meth:`date_range`)."""
        return self.date_range()[1]

    def fingerprint(self) -> dict:
        """Row counts and content hashes of every table; no identifier or row is kept.

        Each canonical table is hashed over its canonical columns (as typed by
        the views, so a table in memory and the same table in a saved folder
        hash alike), custom sources over their declared id, date and value
        columns: DuckDB hashes every row, and the sum and exclusive-or of the
        row hashes (independent of row order) with the row count are digested
        with sha256. Returns ``{"tables": {name: {"rows", "sha256"}}, "combined"}``.
        """
        tables: dict[str, dict] = {}
        for name, info in self.info.items():
            if name in TABLES:
                cols = list(TABLES[name].columns)
                key = name
            else:
                cols = [info.id, info.date, info.end, *self._custom[name].value_columns]
                key = f"custom:{name}"
            cols = sorted(c for c in dict.fromkeys(cols) if c is not None)
            row = ", ".join(quote(c) for c in cols)
            n, total, xor = self.con.execute(
                f"SELECT COUNT(*), COALESCE(SUM(CAST(h AS HUGEINT)), 0), "
                f"COALESCE(BIT_XOR(h), 0) FROM (SELECT hash({row}) AS h FROM {info.relation})"
            ).fetchall()[0]
            digest = hashlib.sha256(json.dumps([cols, int(n), str(total), str(xor)]).encode())
            tables[key] = {"rows": int(n), "sha256": digest.hexdigest()}
        combined = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]
        return {"tables": tables, "combined": combined}


def _positions(bad: np.ndarray) -> str:
    shown = ", ".join(str(i) for i in bad[:10])
    return shown + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")


__all__ = ["END_RECORDED", "RECORDED", "SourceInfo", "TableViews", "literal", "quote"]
