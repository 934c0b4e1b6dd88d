"""The plan for many as-of dates: one pass over the events, then a lookup per date.

The plan by date (:meth:`riskscreen.features._compile._Compiler.source_ctes`)
joins every cohort row with the events in its windows, so each further as-of
date rescans the events. This plan, ``"running_totals"``, computes the same
aggregates (column for column, so the rest of the compiled SQL is unchanged)
from one pass over each source:

- A *timeline* per source and ordering date: running totals (counts and sums of
  whole numbers), running maxima and minima per pupil in date order, kept only at
  the points that are looked up (the as-of dates and the starts of their
  windows): the events are added up per pupil and bucket (the first point after
  them, from a calendar of days) and accumulated over the grid pupils x points
  (window functions).
- Each cohort row then looks its values up by equality join at the as-of date
  and at the start of each lookback window. A windowed count or sum is a
  difference of two running totals,
  ``total(before as_of) - total(before as_of - window)``.

The time rules are those of :mod:`riskscreen.features._run`, kept exactly:

- Knowledge dates. A row counts once it is *known*: its event date and its
  ``recorded_date`` are both before the as-of date, i.e. its *known date*
  ``max(date, recorded_date)`` is. Totals over ``"all"``, "days since the
  latest event" and "days since the first event" are running aggregates in
  known-date order, exact for every row. A windowed total is a difference in
  event-date order, exact for rows known on their event date; the few rows
  recorded later (``recorded_date > date``) are joined by date as before and
  added in.
- Spells. ``active`` counts spells known to have started before the as-of date
  less those also known to have ended before it (end date and
  ``end_recorded_date`` before it): two running counts. ``ended_count`` and
  ``days_since_end`` order spells by the date their end became known.
- Exactness. Only sums of whole numbers become differences (sums of fractions
  would round differently); means, maxima and minima of quantities, trends,
  ``days_active`` and windowed ``days_since_first`` keep the by-date join, for
  those columns only, as do ``current`` and ``school_rate``.

The SQL uses window functions, ``generate_series`` and ``AS MATERIALIZED`` CTEs
(DuckDB). :func:`run_running_totals` runs it for batches of pupils, each batch with
all its as-of dates, and puts the rows in the engine's order (as-of date, then pupil).
It is chosen by :func:`feature_plan` (or ``run_features(..., plan=)``); "auto"
keeps the plan by date for now (:data:`AUTO_RUNNING_TOTALS`).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen.data._views import quote

#: Plans: "by_date" joins each as-of date with its events; "running_totals" passes
#: over the events once for all the dates; "auto" picks by the number of dates.
PLANS = ("auto", "by_date", "running_totals")
#: Whether "auto" picks running totals for many dates. Off: on DuckDB 2 with 2 threads the
#: window functions that accumulate the timelines cost more than the joins they save
#: (benchmarks/features.py, 100k pupils, default spec: 6 dates 17.3 s against 5.8 s by
#: date; 24 dates 64.1 s against 23.7 s), so "auto" is the plan by date until it is cheaper.
AUTO_RUNNING_TOTALS = False
#: With AUTO_RUNNING_TOTALS, running totals from this many as-of dates on, for cohorts of
#: at least this many rows (for small ones the plan by date is quicker).
MANY_DATES, MANY_ROWS = 3, 20_000

_PLAN: contextvars.ContextVar[str] = contextvars.ContextVar(
    "riskscreen_feature_plan", default="auto"
)


@contextlib.contextmanager
def feature_plan(plan: str):
    """Force a plan of the feature engine inside a ``with`` block (for tests, benchmarks).

    ``plan`` is ``"auto"`` (the default), ``"by_date"`` or ``"running_totals"``; both
    give the same features.
    """
    check_plan(plan, "feature_plan")
    token = _PLAN.set(plan)
    try:
        yield
    finally:
        _PLAN.reset(token)


def check_plan(plan, owner: str) -> str:
    if plan not in PLANS:
        raise ValueError(
            f"The 'plan' parameter of {owner} must be one of {list(PLANS)}. Got {plan!r} instead."
        )
    return plan


def choose_plan(plan: str | None, n_dates: int, n_rows: int, owner: str) -> str:
    """The plan to run: the one given (or set by :func:`feature_plan`), "auto" resolved."""
    plan = check_plan(_PLAN.get() if plan is None else plan, owner)
    if plan == "auto":
        many = AUTO_RUNNING_TOTALS and n_dates >= MANY_DATES and n_rows >= MANY_ROWS
        return "running_totals" if many else "by_date"
    return plan


# ------------------------------------------------------------------------------------------------
# SQL
# ------------------------------------------------------------------------------------------------
class _Timeline:
    """Running aggregates of one source's rows, per pupil, in the order of ``key``.

    Only their values at the points looked up matter (the as-of dates, the
    starts of windows), so the rows are first added up per pupil and *bucket*
    (the first point after the row's key, found in a calendar of days), then
    accumulated over a grid of pupils x points. A lookup is then an equality
    join: the running aggregate at point ``x`` covers the rows keyed before ``x``.
    """

    def __init__(self, name: str, key: str, rows: str) -> None:
        self.name, self.key, self.rows = name, key, rows
        self.measures: dict[tuple, str] = {}  # (agg, value, filter) -> column
        self.points: dict[str, str] = {}  # point looked up (SQL over cohort_w c) -> alias

    def measure(self, agg: str, value: str, filt: str) -> str:
        key = (agg, value, filt)
        if key not in self.measures:
            self.measures[key] = f"m{len(self.measures)}"
        return self.measures[key]

    def at(self, point: str, column: str) -> str:
        """The running aggregate ``column`` over rows whose key is before ``point``."""
        if point not in self.points:
            self.points[point] = f"{self.name}_{len(self.points)}"
        return f"{self.points[point]}.{column}"

    def ctes(self, info) -> list[tuple[str, str]]:
        n = self.name
        points = " UNION ".join(f"SELECT DISTINCT {p} AS x FROM cohort_w AS c" for p in self.points)
        group, running = [], []
        for (agg, value, filt), col in self.measures.items():
            v = value if filt == "TRUE" else f"CASE WHEN {filt} THEN {value} END"
            if agg in ("SUM", "COUNT"):  # whole numbers, exact as doubles (below 2**53)
                group.append(f"CAST({agg}({v}) AS DOUBLE) AS {col}")
                running.append(f"SUM(a.{col}) OVER w AS {col}")
            else:
                group.append(f"{agg}({v}) AS {col}")
                running.append(f"{agg}(a.{col}) OVER w AS {col}")
        ident = f"e.{quote(info.id)}"
        return [
            (f"{n}_x", f"SELECT x FROM ({points}) AS u WHERE x IS NOT NULL"),
            (
                f"{n}_cal",
                f"SELECT CAST(g.day AS DATE) AS day, MIN(b.x) AS x FROM generate_series("
                f"(SELECT MIN(x) FROM {n}_x), (SELECT MAX(x) FROM {n}_x), INTERVAL '1' DAY) "
                f"AS g(day) JOIN {n}_x AS b ON b.x > g.day GROUP BY 1",
            ),
            (
                f"{n}_b",
                f"SELECT {ident} AS pupil_id, CASE WHEN {self.key} < r.lo THEN r.lo ELSE k.x END "
                f"AS x, {', '.join(group)} FROM {info.relation} AS e CROSS JOIN (SELECT MIN(x) "
                f"AS lo, MAX(x) AS hi FROM {n}_x) AS r LEFT JOIN {n}_cal AS k ON k.day = "
                f"CAST({self.key} AS DATE) WHERE {self.rows} AND {self.key} < r.hi AND {ident} "
                "IN (SELECT pupil_id FROM cohort) GROUP BY 1, 2",
            ),
            (
                n,
                f"SELECT g.pupil_id, g.x, {', '.join(running)} FROM (SELECT p.pupil_id, b.x "
                f"FROM (SELECT DISTINCT pupil_id FROM cohort) AS p CROSS JOIN {n}_x AS b) AS g "
                f"LEFT JOIN {n}_b AS a ON a.pupil_id = g.pupil_id AND a.x = g.x WINDOW w AS "
                "(PARTITION BY g.pupil_id ORDER BY g.x ROWS BETWEEN UNBOUNDED PRECEDING AND "
                "CURRENT ROW)",
            ),
        ]

    def joins(self) -> list[str]:
        return [
            f"LEFT JOIN {self.name} AS {alias} ON {alias}.pupil_id = c.pupil_id "
            f"AND {alias}.x = {point}"
            for point, alias in self.points.items()
        ]


def _count_case(n: str, then: str) -> str:
    return f"CASE WHEN COALESCE({n}, 0) > 0 THEN {then} END"


def _plus(a: str, b: str) -> str:
    """``a + b`` where a missing side counts as nothing (both missing: missing)."""
    return f"(CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} ELSE {a} + {b} END)"


def _source_ctes(comp, src: str, parts: list[dict]) -> list[tuple[str, str]]:
    """The CTEs computing the aggregates ``parts`` of ``src``, ending in its ``agg_`` CTE."""
    from riskscreen.features._compile import _src_alias

    info = comp.sources.info[src]
    alias = _src_alias(src)
    date = f"e.{quote(info.date)}"
    rec = None if info.recorded is None else f"e.{quote(info.recorded)}"
    known = date if rec is None else f"GREATEST({date}, COALESCE({rec}, {date}))"
    prompt = "TRUE" if rec is None else f"({rec} IS NULL OR {rec} <= {date})"
    timelines: dict[tuple[str, str], _Timeline] = {}

    def timeline(key: str, rows: str) -> _Timeline:
        if (key, rows) not in timelines:
            timelines[(key, rows)] = _Timeline(f"{alias}_t{len(timelines)}", key, rows)
        return timelines[(key, rows)]

    if info.is_spell:
        end = f"e.{quote(info.end)}"
        end_rec = None if info.end_recorded is None else f"e.{quote(info.end_recorded)}"
        end_known = end if end_rec is None else f"GREATEST({end}, COALESCE({end_rec}, {end}))"
        # the day the spell's start and end were both known; ends without an end date never
        ended = f"GREATEST({known}, {end_known})"
        has_end = f"{end} IS NOT NULL"
        end_prompt = f"{known} <= {end}" + ("" if end_rec is None else f" AND {end_known} <= {end}")

    exprs: dict[str, str] = {}
    late: dict[str, list[dict]] = {}  # rows (SQL) -> parts joined by date over those rows
    fallback: list[dict] = []
    as_of = "c.as_of_date"
    for p in parts:
        kind, arg = p["kind"]
        fn, value, filt, win = p["fn"], p["value"], p["filt"], p["win"]
        windowed = win is not None and not win.is_all
        if kind == "event" and ((fn == "SUM" and arg) or (fn == "MAX" and value == "1")):
            v = "1" if fn == "MAX" else value
            if not windowed:
                t = timeline(known, "TRUE")
                n = t.measure("COUNT", v, filt)
                s = n if v == "1" else t.measure("SUM", v, filt)
                n_in, s_in = t.at(as_of, n), t.at(as_of, s)
            else:
                t = timeline(date, prompt)
                n = t.measure("COUNT", v, filt)
                s = n if v == "1" else t.measure("SUM", v, filt)
                start = comp._ws(win)
                n_in = f"(COALESCE({t.at(as_of, n)}, 0) - COALESCE({t.at(start, n)}, 0))"
                s_in = f"(COALESCE({t.at(as_of, s)}, 0) - COALESCE({t.at(start, s)}, 0))"
            e = _count_case(n_in, "1" if fn == "MAX" else s_in)
            if windowed and rec is not None:
                late.setdefault(f"{rec} > {date}", []).append(p)
                other = f"{alias}_late{list(late).index(f'{rec} > {date}')}.{p['alias']}"
                e = (
                    f"(CASE WHEN {e} IS NOT NULL OR {other} IS NOT NULL THEN 1 END)"
                    if fn == "MAX"
                    else _plus(e, other)
                )
            exprs[p["alias"]] = e
        elif (
            kind == "event"
            and fn in ("MAX", "MIN")
            and value == date
            and not (fn == "MIN" and windowed)
        ):
            t = timeline(known, "TRUE")
            m = t.at(as_of, t.measure(fn, date, filt))
            exprs[p["alias"]] = f"CASE WHEN {m} >= {comp._ws(win)} THEN {m} END" if windowed else m
        elif kind == "active":
            started = timeline(known, "TRUE")
            stopped = timeline(ended, has_end)
            n1 = started.at(as_of, started.measure("COUNT", "1", filt))
            n2 = stopped.at(as_of, stopped.measure("COUNT", "1", filt))
            exprs[p["alias"]] = f"CASE WHEN COALESCE({n1}, 0) - COALESCE({n2}, 0) > 0 THEN 1 END"
        elif kind == "ended" and (arg is None or arg.is_all):
            t = timeline(ended, has_end)
            n = t.at(as_of, t.measure("COUNT", "1", filt))
            exprs[p["alias"]] = _count_case(n, n)
        elif kind == "ended":
            t = timeline(end, f"{has_end} AND {end_prompt}")
            n = t.measure("COUNT", "1", filt)
            start = comp._ws(arg)
            n_in = f"(COALESCE({t.at(as_of, n)}, 0) - COALESCE({t.at(start, n)}, 0))"
            rows = f"{has_end} AND NOT ({end_prompt})"
            late.setdefault(rows, []).append(p)
            other = f"{alias}_late{list(late).index(rows)}.{p['alias']}"
            exprs[p["alias"]] = _plus(_count_case(n_in, n_in), other)
        elif kind == "since_end":
            t = timeline(ended, has_end)
            m = t.at(as_of, t.measure("MAX", end, filt))
            windowed = arg is not None and not arg.is_all
            exprs[p["alias"]] = f"CASE WHEN {m} >= {comp._ws(arg)} THEN {m} END" if windowed else m
        else:  # days_active, trend, means, maxima and minima of quantities: joined by date
            fallback.append(p)
            exprs[p["alias"]] = f"{alias}_fb.{p['alias']}"

    # each timeline is looked up several times: computed once (AS MATERIALIZED)
    comp.materialized.update(t.name for t in timelines.values())
    ctes = [cte for t in timelines.values() for cte in t.ctes(info)]
    joins = [j for t in timelines.values() for j in t.joins()]
    for i, (rows, late_parts) in enumerate(late.items()):
        relation = f"(SELECT * FROM {info.relation} AS e WHERE {rows})"
        ctes.append((f"{alias}_late{i}", comp.join_cte(src, late_parts, relation)))
        joins.append(_left_join(f"{alias}_late{i}"))
    if fallback:
        ctes.append((f"{alias}_fb", comp.join_cte(src, fallback)))
        joins.append(_left_join(f"{alias}_fb"))
    cols = ", ".join(f"{exprs[p['alias']]} AS {p['alias']}" for p in parts)
    ctes.append(
        (alias, f"SELECT c.pupil_id, c.as_of_date, {cols} FROM cohort_w AS c {' '.join(joins)}")
    )
    return ctes


def _left_join(name: str) -> str:
    return f"LEFT JOIN {name} ON {name}.pupil_id = c.pupil_id AND {name}.as_of_date = c.as_of_date"


def running_total_ctes(comp) -> list[tuple[str, str]]:
    """The per-source aggregate CTEs of a compiled spec, by running totals (same columns)."""
    out = []
    for src, parts in list(comp.parts.items()):
        out += _source_ctes(comp, src, parts)
    return out


# ------------------------------------------------------------------------------------------------
# running
# ------------------------------------------------------------------------------------------------
def run_running_totals(session, sql: str, *, output_path=None, dtype=np.float64):
    """Run the running-totals ``sql`` for batches of pupils (all dates each), in engine order."""
    from riskscreen.features._run import BATCH_ROWS

    con = session.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _pupil_chunks AS SELECT pupil_id, (SUM(n) OVER (ORDER BY "
        f"pupil_id) - 1) // {BATCH_ROWS} AS chunk FROM (SELECT pupil_id, COUNT(*) AS n FROM "
        "_cohort_all GROUP BY pupil_id)"
    )
    ranges = con.execute(
        "SELECT chunk, MIN(pupil_id), MAX(pupil_id) FROM _pupil_chunks GROUP BY chunk ORDER BY 1"
    ).fetchall()
    counts = con.execute(
        "SELECT k.as_of_date, p.chunk, COUNT(*) FROM _cohort_all AS k JOIN _pupil_chunks AS p "
        "ON p.pupil_id = k.pupil_id GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    con.execute("DROP TABLE _pupil_chunks")
    # where each batch's rows of each date go in the output (ordered by date, then pupil)
    segments: dict = {chunk: [] for chunk, _, _ in ranges}
    at = 0
    for _, chunk, n in counts:
        segments[chunk].append((at, int(n)))
        at += int(n)
    batches = [(list(session.dates), lo, hi, segments[chunk]) for chunk, lo, hi in ranges]
    if output_path is not None:
        _write(session, sql, batches, output_path)
        return output_path
    return _fetch(session, sql, batches, at, dtype)


def _reader(session, sql, batch, rows: int):
    from riskscreen.features._run import _set_batch

    _set_batch(session, batch[:3])
    rel = session.con.sql(sql)
    to_reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
    return to_reader(rows)


def _fetch(session, sql: str, batches, n_rows: int, dtype) -> pd.DataFrame:
    """Copy every batch's rows into one preallocated frame, at their places in the output."""
    from riskscreen.features._run import _FETCH_ROWS, _row_count_error

    values = pupil = asof = None
    names: list[str] = []
    done = 0
    for batch in batches:
        reader = _reader(session, sql, batch, _FETCH_ROWS)
        if values is None:
            names = list(reader.schema.names)[2:]
            values = np.empty((n_rows, len(names)), dtype=dtype, order="F")
            text_keys = str(reader.schema.field(0).type) in ("string", "large_string")
            pupil = np.empty(n_rows, dtype=object if text_keys else "int64")
            asof = np.empty(n_rows, dtype="datetime64[us]")
        segs = list(batch[3])
        expected = sum(n for _, n in segs)
        got = 0
        for rb in reader:
            cols = [rb.column(j).to_numpy(zero_copy_only=False) for j in range(rb.num_columns)]
            i = 0
            while i < rb.num_rows:
                if not segs:
                    raise _row_count_error(done + got + rb.num_rows - i, n_rows)
                start, n = segs[0]
                take = min(n, rb.num_rows - i)
                pupil[start : start + take] = cols[0][i : i + take]
                asof[start : start + take] = cols[1][i : i + take]
                for j in range(len(names)):
                    values[start : start + take, j] = cols[j + 2][i : i + take]
                segs[0] = (start + take, n - take)
                if n == take:
                    segs.pop(0)
                i += take
                got += take
        if got != expected:
            raise _row_count_error(done + got, n_rows)
        done += got
    from riskscreen.features._run import feature_frame

    return feature_frame(pupil, asof, values, names)


def _write(session, sql: str, batches, output_path) -> None:
    """Write every batch to a part file, then the parts date by date into one Parquet file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from riskscreen.features._run import _set_batch

    if len(batches) == 1:
        _set_batch(session, batches[0][:3])
        target = str(output_path).replace("'", "''")
        session.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT PARQUET)")
        return
    out_dir = Path(output_path).parent
    with tempfile.TemporaryDirectory(prefix=".riskscreen_parts_", dir=out_dir) as tmp:
        parts = []
        for i, batch in enumerate(batches):
            _set_batch(session, batch[:3])
            part = os.path.join(tmp, f"part{i}.parquet")
            target = part.replace("'", "''")
            # one row group per as-of date and batch, so each date is read back alone
            session.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT PARQUET, ROW_GROUP_SIZE 2048)")
            parts.append(part)
        files = [pq.ParquetFile(p) for p in parts]
        writer = None
        try:
            for date in session.dates:
                stamp = pd.Timestamp(date)
                for f in files:
                    meta = f.metadata
                    col = f.schema_arrow.get_field_index("as_of_date")
                    groups = [
                        g
                        for g in range(meta.num_row_groups)
                        if pd.Timestamp(meta.row_group(g).column(col).statistics.min)
                        <= stamp
                        <= pd.Timestamp(meta.row_group(g).column(col).statistics.max)
                    ]
                    if not groups:
                        continue
                    table = f.read_row_groups(groups)
                    kind = table.schema.field("as_of_date").type
                    table = table.filter(pc.equal(table["as_of_date"], pa.scalar(stamp, kind)))
                    if writer is None:
                        writer = pq.ParquetWriter(str(output_path), table.schema)
                    writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
            for f in files:
                f.close()
