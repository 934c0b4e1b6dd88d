"""Expose LinkedHistories (pandas) or a Parquet folder to DuckDB as named views."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from riskscreen.data._tables import DATE, TABLES, CustomSource

_DUCK_TYPES = {
    "datetime64[us]": "TIMESTAMP",
    "int64": "BIGINT",
    "Int64": "BIGINT",
    "float64": "DOUBLE",
    "str": "VARCHAR",
    "bool": "BOOLEAN",
}

#: Tables whose rows are spells (start date, optional end date).
SPELL_TABLES = ("enrolments", "sen", "fsm", "social_care", "missing_education", "interventions")


@dataclass
class SourceInfo:
    """How the engine reads one event source.

    ``date`` is the column events are windowed on and must be before the as-of
    date. For attendance it is ``period_end``: a period counts only once it has
    finished (``period_end < as_of``), so sessions after the as-of date never
    leak in. Spells use their start date; ``end`` is the inclusive last day.
    """

    name: str
    relation: str
    id: str
    date: str
    end: str | None
    columns: dict[str, str]
    required_dates: tuple[str, ...]
    custom: bool = False
    #: knowledge dates (see :data:`RECORDED`, :data:`END_RECORDED`), when the source has them
    recorded: str | None = None
    end_recorded: str | None = None

    @property
    def is_spell(self) -> bool:
        return self.end is not None

    def known_sql(self, alias: str, as_of: str) -> str:
        """SQL condition: the row (event or spell start) was recorded before ``as_of``."""
        if self.recorded is None:
            return "TRUE"
        col = f"{alias}.{_q(self.recorded)}"
        return f"({col} IS NULL OR {col} < {as_of})"

    def end_sql(self, alias: str, as_of: str) -> str:
        """SQL of the spell end *as known* on ``as_of``: NULL while its recording was later."""
        end = f"{alias}.{_q(self.end)}"
        if self.end_recorded is None:
            return end
        col = f"{alias}.{_q(self.end_recorded)}"
        return f"(CASE WHEN {col} >= {as_of} THEN NULL ELSE {end} END)"


#: Optional knowledge-date column of any source (canonical or custom): the date the row
#: was recorded. A row counts at an as-of date only when this is missing or before it.
RECORDED = "recorded_date"
#: Optional column of a spell source: the date its end date was recorded. Until then
#: (on or after the as-of date) the spell is treated as still open.
END_RECORDED = "end_recorded_date"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Sources:
    """A DuckDB connection with every table of the histories as a view.

    Parameters
    ----------
    histories : LinkedHistories or path-like
        In-memory histories, or a folder with ``<table>.parquet`` files (read
        lazily) and optional ``custom/<name>.parquet`` plus ``manifest.json``.
    memory_limit, temp_directory, threads : optional
        DuckDB settings; with a memory limit DuckDB spills to ``temp_directory``.
    """

    def __init__(self, histories, *, memory_limit=None, temp_directory=None, threads=None):
        config = {}
        if memory_limit is not None:
            config["memory_limit"] = str(memory_limit)
        if temp_directory is not None:
            config["temp_directory"] = str(temp_directory)
        if threads is not None:
            config["threads"] = int(threads)
        self.con = duckdb.connect(config=config)
        self.info: dict[str, SourceInfo] = {}
        self._frames: dict[str, pd.DataFrame] = {}
        if isinstance(histories, (str, os.PathLike)):
            self._from_folder(Path(histories))
        elif hasattr(histories, "tables") and hasattr(histories, "custom"):
            self._from_histories(histories)
        else:
            raise TypeError(
                "The 'histories' parameter must be a LinkedHistories or the path of a folder of "
                f"Parquet files. Got {type(histories).__name__} instead."
            )

    # -- registration ------------------------------------------------------------------------
    def _from_histories(self, h) -> None:
        for name, frame in h.tables().items():
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(
                    f"LinkedHistories.{name} must be a pandas DataFrame. "
                    f"Got {type(frame).__name__} instead."
                )
            raw = f"_raw_{name}"
            self.con.register(raw, frame)
            self._frames[name] = frame
            self._canonical_view(name, raw)
        for name, (frame, src) in dict(h.custom).items():
            raw = f"_raw_custom_{name}"
            self.con.register(raw, frame)
            self._frames[name] = frame
            self._custom_view(name, raw, src)

    def _from_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(
                f"The 'histories' folder {str(folder)!r} does not exist or is not a folder."
            )
        for name in TABLES:
            path = folder / f"{name}.parquet"
            if path.is_dir():
                rel = f"read_parquet({_lit(str(path / '**' / '*.parquet'))})"
            elif path.exists():
                rel = f"read_parquet({_lit(str(path))})"
            else:
                rel = None
            self._canonical_view(name, rel)
        manifest = {}
        if (folder / "manifest.json").exists():
            try:
                manifest = json.loads((folder / "manifest.json").read_text())
            except (OSError, ValueError):
                manifest = {}
        custom_meta = manifest.get("custom", {}) if isinstance(manifest, dict) else {}
        if isinstance(custom_meta, list):
            custom_meta = {m.get("name"): m for m in custom_meta if isinstance(m, dict)}
        cdir = folder / "custom"
        if cdir.is_dir():
            for path in sorted(cdir.glob("*.parquet")):
                name = path.stem
                meta = custom_meta.get(name, {}) if isinstance(custom_meta, dict) else {}
                meta = meta.get("source", meta) if isinstance(meta, dict) else {}
                fields = {
                    k: (tuple(v) if k == "value_columns" else v)
                    for k, v in meta.items()
                    if k in ("id_column", "date_column", "end_date_column", "value_columns")
                }
                self._custom_view(name, f"read_parquet({_lit(str(path))})", CustomSource(**fields))

    def _describe(self, rel: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
        return {r[0]: r[1] for r in rows}

    def _canonical_view(self, name: str, rel: str | None) -> None:
        spec = TABLES[name]
        have = self._describe(rel) if rel is not None else {}
        select = []
        for col, cs in spec.columns.items():
            if col in have:
                select.append(_q(col))
            elif cs.required and rel is not None:
                raise ValueError(
                    f"Table {name!r} has no column {col!r}, which is required "
                    f"(expected columns: {list(spec.required_columns)})."
                )
            else:
                select.append(f"CAST(NULL AS {_DUCK_TYPES[cs.dtype]}) AS {_q(col)}")
        extra = [_q(c) for c in have if c not in spec.columns]
        body = ", ".join(select + extra)
        if rel is None:
            sql = f"CREATE VIEW {_q(name)} AS SELECT {body} WHERE FALSE"
        else:
            sql = f"CREATE VIEW {_q(name)} AS SELECT {body} FROM {rel}"
        self.con.execute(sql)
        cols = self._describe(_q(name))
        if name == "attendance":
            date, end, req = "period_end", None, ("period_start", "period_end")
        elif name in ("pupils", "schools"):
            date, end = None, None
            req = tuple(c for c in spec.columns if spec.columns[c].dtype == DATE)
        else:
            date, end, req = spec.event_date, spec.end_date, (spec.event_date,)
        id_col = "school_id" if name == "schools" else "pupil_id"
        info = SourceInfo(name, _q(name), id_col, date, end, cols, req)
        if name not in ("pupils", "schools"):
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
        view = _q(f"custom_{name}")
        self.con.execute(f"CREATE VIEW {view} AS SELECT * FROM {rel}")
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
        )
        self._knowledge(info)
        self.info[name] = info

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
                    if len(bad):
                        shown = ", ".join(str(i) for i in bad[:10])
                        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
                        raise ValueError(
                            f"Table {name!r}, column {col!r}: {len(bad)} row(s) have no date "
                            f"(NaT) at row position(s) {shown}{more}. Every event needs a date "
                            "to be placed before or after an as-of date; fix or drop these rows."
                        )
                else:
                    n, ids = self.con.execute(
                        f"SELECT COUNT(*), LIST({_q(info.id)} ORDER BY {_q(info.id)}) "
                        f"FROM {info.relation} WHERE {_q(col)} IS NULL"
                    ).fetchall()[0]
                    if n:
                        raise ValueError(
                            f"Table {name!r}, column {col!r}: {n} row(s) have no date (NaT), "
                            f"for {info.id} {ids[:10]}. Every event needs a date to be placed "
                            "before or after an as-of date; fix or drop these rows."
                        )

    def date_range(self, names) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """Earliest and latest date recorded in the given sources (start and end columns)."""
        parts = []
        for name in names:
            info = self.info[name]
            for col in {c for c in (*info.required_dates, info.end) if c}:
                if col in info.columns:
                    parts.append(
                        f"SELECT MIN({_q(col)}) AS lo, MAX({_q(col)}) AS hi FROM {info.relation}"
                    )
        if not parts:
            return None, None
        lo, hi = self.con.execute(
            "SELECT MIN(CAST(lo AS TIMESTAMP)), MAX(CAST(hi AS TIMESTAMP)) FROM ("
            + " UNION ALL ".join(parts)
            + ")"
        ).fetchall()[0]
        return (pd.Timestamp(lo) if lo is not None else None), (
            pd.Timestamp(hi) if hi is not None else None
        )

    def close(self) -> None:
        self.con.close()


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
