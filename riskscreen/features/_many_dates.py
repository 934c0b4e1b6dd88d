"""The plan for many as-of dates: one pass over the events, then a lookup per date.

The plan by date (:meth:`riskscreen.features._compile._Compiler.source_ctes`)
joins every cohort row with the events in its windows, so each further as-of
date rescans the events. This plan, ``"running_totals"``, computes the same
aggregates from one pass over each source, for batches of pupils (each batch
with all its as-of dates, :func:`run_running_totals`):

- A *timeline* per source and ordering date: running totals (counts and sums of
  whole numbers), running maxima and minima per pupil in date order, kept only at
  the points that are looked up (the as-of dates and the starts of their
  windows). DuckDB reads the batch's rows once, with their date and the values
  the measures add up (a small source is read once for every batch, pupil by
  pupil, and each batch takes its slice: :data:`RT_SMALL_ROWS`); each row's pupil
  is numbered by a table of the batch's ids when they are whole numbers in a few
  dense runs (DuckDB gives each row its place in the table), else by a join with
  the batch's pupils (ids that are keyed hashes, text: :func:`_id_runs`). NumPy
  gives each row its *bucket* (the number of points up to its date, from a table
  of days), adds the values up per pupil and bucket (``np.add.at``, into memory kept
  from batch to batch) and accumulates the buckets in a grid of the points x the
  pupils with rows (and one empty slot for the others), point after point: a pass
  over contiguous memory each, however
  the rows come (2-10 times quicker than along each pupil's points, even for rows
  that come pupil by pupil). Counts, and sums that are never negative, are
  accumulated as floats when they are sure to stay whole numbers within +-2**23
  (:func:`_running_sums`). Grids are made one at a time, one per value
  added up (:meth:`_Timeline.recipes`): a count of a value that is never missing
  is the count of rows, and a sum of such columns with signs +-1 (possible less
  absent sessions) is that sum of the columns' grids, so each column is added up
  once.
- Each cohort row then takes its values from the grid at the as-of date and at
  the start of each lookback window (an array lookup: the grid laid out points x
  slots, a date's rows read one row of it, which stays in the cache): as floats
  where the grid's values are whole numbers within +-2**23 (exact, half the
  memory), else as doubles. A windowed count or sum is a difference of two running
  totals, ``total(before as_of) - total(before as_of - window)``; the counts and
  sums the features read (``CASE WHEN count > 0 THEN sum END``, spells active:
  started less ended) are worked out in NumPy: in the cells of a timeline's grids,
  date by date, when the cells are fewer than a date's rows (sources most pupils
  have no rows in, e.g. social care: :func:`_cell_counts`), else from the rows'
  lookups (:func:`_counts`). They and the few lookups read as they are (latest
  dates) become columns of the cohort table the compiled SQL reads
  (``_rt_cohort``).
- The few aggregates still joined by date (below) are computed for the batch by
  their own small queries and aligned to the cohort rows the same way (a query
  over rows there are none of, e.g. spells known late where no spell was, is
  skipped), so the compiled SQL is one projection over the batch's rows, in the
  engine's order (as-of date, then pupil), with no join and no sort. NumPy works it
  out (:class:`riskscreen.features._project.Projection`, with DuckDB's types and
  missing values), slice by slice, straight into the output; DuckDB runs it where
  NumPy does not understand an expression or a value (:class:`_Features`).

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
  ``days_active`` is a difference of the days of spells before two days, each
  from four running totals (:func:`_days_active`), for spells whose start and end
  were known on their dates; the others are joined by date and added in.
- Exactness. Only sums of whole numbers become differences (sums of fractions
  would round differently; whole numbers are exact as doubles below 2**53);
  means, maxima and minima of quantities, trends and windowed
  ``days_since_first`` keep the by-date join, for those columns only, as do
  ``current`` and ``school_rate`` (whose school-level table is computed once).

It is chosen by :func:`feature_plan` (or ``run_features(..., plan=)``); "auto"
picks it for many as-of dates and large cohorts (:data:`AUTO_RUNNING_TOTALS`,
:data:`MANY_DATES`, :data:`MANY_ROWS`). Memory is bounded per batch:
:data:`RT_BATCH_ROWS` cohort rows, :data:`RT_GRID_BYTES` of running totals and
about :data:`RT_SOURCE_ROWS` rows read from a source, two batches at a time: the
projection only reads the prepared batch, so it runs while the next batch is
prepared on a thread of its own (:func:`_pipeline`). Batches end between the row
groups of the largest source read per batch where they can (:func:`_chunks`), so that
each row group is read by one batch.
Written to Parquet, the batches are streamed one after the other, each date by date
(one row group per batch and as-of date), and encoded on a third thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskscreen.data._views import quote
from riskscreen.features._project import DAY_US, NAN_MISSING, Projection, one_chunk

#: Plans: "by_date" joins each as-of date with its events; "running_totals" passes
#: over the events once for all the dates; "auto" picks by the number of dates.
PLANS = ("auto", "by_date", "running_totals")
#: Whether "auto" picks running totals for many dates (benchmarks/features.py, default spec,
#: 2 threads: at 100k pupils 6 dates take 2.4 s against 2.7 s by date, 24 dates 6.2 s
#: against 8.9 s; one date 1.1 s against 0.5 s).
AUTO_RUNNING_TOTALS = True
#: With AUTO_RUNNING_TOTALS, running totals from this many as-of dates on, for cohorts of
#: at least this many rows (for fewer dates or rows the plan by date is quicker).
MANY_DATES, MANY_ROWS = 6, 250_000
#: Aggregates accumulated as running totals (the others: running maxima and minima).
_SUMS = ("SUM", "COUNT")
#: Running maxima and minima (of dates, as integers), and their value before any row.
_ORDER = {"MAX": np.maximum, "MIN": np.minimum}
_EMPTY = {"MAX": np.iinfo(np.int64).min, "MIN": np.iinfo(np.int64).max}

_PLAN: contextvars.ContextVar[str] = contextvars.ContextVar(
    "riskscreen_feature_plan", default="auto"
)


@contextlib.contextmanager
def feature_plan(plan: str):
    """Force a plan of the feature engine inside a ``with`` block.

    ``plan`` is ``"auto"`` (the default: by date for fewer than 6 as-of dates or small
    cohorts, running totals otherwise), ``"by_date"`` (each as-of date joined with the
    events in its windows) or ``"running_totals"`` (one pass over the events for all
    the dates). All give the same features; only time and memory differ.

    >>> from riskscreen.features import build_features, feature_plan  # doctest: +SKIP
    >>> with feature_plan("by_date"):  # doctest: +SKIP
    ...     X = build_features(histories, dates)
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

    Only their values at the points looked up matter (the as-of dates, the starts
    of windows: columns of ``cohort_w``). :func:`run_running_totals` adds the rows
    up per pupil and *bucket* (the first point after the row's key), accumulates
    the buckets of each pupil in NumPy and hands every cohort row its values as
    columns of the cohort (``lookups``): the running aggregate at point ``x``
    covers the rows whose key is before ``x``.
    """

    def __init__(self, name: str, key: str, rows: str, info) -> None:
        self.name, self.key, self.rows, self.info = name, key, rows, info
        self.measures: dict[tuple, str] = {}  # (agg, value, filter) -> column
        self.points: dict[str, int] = {}  # column of cohort_w looked up -> number
        self.lookups: dict[str, tuple[str, str]] = {}  # column -> (point column, measure)
        self.visible: set[str] = set()  # lookups the SQL reads (the others: only counts())
        self.complete: frozenset[str] = frozenset()  # columns never missing (recipes)
        self.cached = None  # all its rows, in the order of the pupils (small sources)

    def measure(self, agg: str, value: str, filt: str) -> str:
        key = (agg, value, filt)
        if key not in self.measures:
            self.measures[key] = f"m{len(self.measures)}"
        return self.measures[key]

    def at(self, point: str, column: str) -> str:
        """The running aggregate ``column`` over rows whose key is before ``point`` (SQL)."""
        name = self.get(point, column)
        self.visible.add(name)
        agg = next(key[0] for key, col in self.measures.items() if col == column)
        # running totals of small whole numbers come as floats (exact), others as doubles
        return f"CAST(c.{name} AS DOUBLE)" if agg in _SUMS else f"c.{name}"

    def get(self, point: str, column: str) -> str:
        """The name of the lookup of ``column`` at ``point``, for :func:`_counts` only."""
        if not point.startswith("c."):  # the as-of date or a window start of cohort_w
            raise AssertionError(f"a point of a timeline must be a cohort column: {point}")
        j = self.points.setdefault(point[2:], len(self.points))
        name = f"{self.name}_{j}_{column}"
        self.lookups[name] = (point[2:], column)
        return name

    def recipes(self, complete: frozenset = frozenset()) -> dict[str, tuple]:
        """How each measure's grid is made: ``measure column -> recipe``.

        ``complete`` holds the source columns (SQL) known to have a value on every row
        of the timeline. A recipe is ``(agg, value key)`` (:func:`_value_key`; ``None``
        for a count of every row), or ``("LIN", ((sign, value key), ...))``: a sum of
        complete columns with signs +-1 (e.g. possible less absent sessions) is that
        sum of their running totals, so each column is added up once.
        """
        out = {}
        for (agg, value, filt), col in self.measures.items():
            key = _value_key(agg, value, filt)
            terms = _linear_terms(value) if filt == "TRUE" else None
            whole = terms is not None and all(c in complete for _, c in terms)
            if agg == "COUNT" and whole:
                key = None  # there on every row: the count of every row
            if agg == "SUM" and whole and len(terms) > 1:
                out[col] = ("LIN", tuple((s, _value_key("SUM", c, "TRUE")) for s, c in terms))
            else:
                out[col] = (agg, key)
        return out

    def candidates(self) -> list[str]:
        """The source columns whose completeness would simplify the recipes."""
        out: dict[str, None] = {}
        for agg, value, filt in self.measures:
            terms = _linear_terms(value) if filt == "TRUE" and agg in _SUMS else None
            for _, c in terms or ():
                out[c] = None
        return list(out)

    def values(self, recipes: dict[str, tuple]) -> dict[tuple[str, str], str]:
        """The SQL of each value the recipes add up, per row: ``(sql, kind) -> column``.

        A sum reads its value as a double, missing as 0 (whole numbers: exact below
        2**53); a count reads whether its value is there (none for a count of every
        row); maxima and minima of dates read the date. A filter makes the value
        missing on the rows it leaves out.
        """
        out: dict[tuple[str, str], str] = {}
        for agg, key in recipes.values():
            for k in [s_k[1] for s_k in key] if agg == "LIN" else [key]:
                if k is not None:
                    out.setdefault(k, f"v{len(out)}")
        return out


#: A term of a sum of columns (as :func:`riskscreen.features._compile.quantity_sql` writes it)
_TERM = re.compile(r'\s*([+-]?)\s*(e\."(?:[^"]|"")*")\s*')


def _linear_terms(value: str) -> tuple[tuple[int, str], ...] | None:
    """A column or a sum of columns with signs +-1 as ``((sign, column), ...)``; else None."""
    body = value[1:-1] if value.startswith("(") and value.endswith(")") else value
    terms, at = [], 0
    while at < len(body):
        m = _TERM.match(body, at)
        if m is None or (terms and not m.group(1)) or m.end() == at:
            return None
        terms.append((-1 if m.group(1) == "-" else 1, m.group(2)))
        at = m.end()
    return tuple(terms) or None


def _value_key(agg: str, value: str, filt: str) -> tuple[str, str] | None:
    """The value a measure adds up, as a key of :meth:`_Timeline.values` (None: every row)."""
    v = value if filt == "TRUE" else f"CASE WHEN {filt} THEN {value} END"
    if agg == "SUM":
        return f"COALESCE(CAST({v} AS DOUBLE), 0)", "sum"
    if agg == "COUNT":
        return None if v == "1" else (f"({v}) IS NOT NULL", "count")
    return v, "date"


def _day(date: str) -> str:
    """SQL: the number of the day of ``date`` (days since 1970-01-01)."""
    return f"DATE_DIFF('day', DATE '1970-01-01', {date})"


def _plus(a: str, b: str) -> str:
    """``a + b`` where a missing side counts as nothing (both missing: missing)."""
    return f"(CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} ELSE {a} + {b} END)"


def _source_parts(comp, src: str, parts: list[dict]):
    """The aggregates ``parts`` of ``src`` (see :func:`running_total_parts`)."""
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
            timelines[(key, rows)] = _Timeline(f"{alias}_t{len(timelines)}", key, rows, info)
        return timelines[(key, rows)]

    if info.is_spell:
        end = f"e.{quote(info.end)}"
        end_rec = None if info.end_recorded is None else f"e.{quote(info.end_recorded)}"
        end_known = end if end_rec is None else f"GREATEST({end}, COALESCE({end_rec}, {end}))"
        # the day the spell's start and end were both known; ends without an end date never
        ended = f"GREATEST({known}, {end_known})"
        has_end = f"{end} IS NOT NULL"
        end_prompt = f"{known} <= {end}" + ("" if end_rec is None else f" AND {end_known} <= {end}")
        # an end known on its own date
        end_on = "" if end_rec is None else f" AND ({end_rec} IS NULL OR {end_rec} <= {end})"

    exprs: dict[str, str] = {}
    late: dict[str, list[dict]] = {}  # rows (SQL) -> parts joined by date over those rows
    fallback: list[dict] = []
    as_of = "c.as_of_date"

    def counted(n: list, s: list | None = None) -> str:
        """``CASE WHEN n > 0 THEN s END`` (``s`` None: 1), ``n`` and ``s`` sums of lookups
        with signs (``[(sign, lookup)]``), worked out in NumPy (:func:`_counts`)."""
        name = f"{alias}_n{len(comp.counts)}"
        comp.counts[name] = ("count", (tuple(n), None if s is None else tuple(s)))
        return f"CAST(c.{name} AS DOUBLE)"

    for p in parts:
        kind, arg = p["kind"]
        fn, value, filt, win = p["fn"], p["value"], p["filt"], p["win"]
        windowed = win is not None and not win.is_all
        if kind == "event" and ((fn == "SUM" and arg) or (fn == "MAX" and value == "1")):
            v = "1" if fn == "MAX" else value
            t = timeline(date, prompt) if windowed else timeline(known, "TRUE")
            n = t.measure("COUNT", v, filt)
            s = n if v == "1" else t.measure("SUM", v, filt)
            ends = [(1, as_of)] + ([(-1, comp._ws(win))] if windowed else [])
            n_in = [(sign, t.get(at, n)) for sign, at in ends]
            s_in = [(sign, t.get(at, s)) for sign, at in ends]
            e = counted(n_in, None if fn == "MAX" else s_in)
            if windowed and rec is not None:
                late.setdefault(f"{rec} > {date}", []).append(p)
                other = f"c.{alias}_late{list(late).index(f'{rec} > {date}')}_{p['alias']}"
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
            n1 = started.get(as_of, started.measure("COUNT", "1", filt))
            n2 = stopped.get(as_of, stopped.measure("COUNT", "1", filt))
            exprs[p["alias"]] = counted([(1, n1), (-1, n2)])
        elif kind == "ended" and (arg is None or arg.is_all):
            t = timeline(ended, has_end)
            n = [(1, t.get(as_of, t.measure("COUNT", "1", filt)))]
            exprs[p["alias"]] = counted(n, n)
        elif kind == "ended":
            t = timeline(end, f"{has_end} AND {end_prompt}")
            n = t.measure("COUNT", "1", filt)
            n_in = [(1, t.get(as_of, n)), (-1, t.get(comp._ws(arg), n))]
            rows = f"{has_end} AND NOT ({end_prompt})"
            late.setdefault(rows, []).append(p)
            other = f"c.{alias}_late{list(late).index(rows)}_{p['alias']}"
            exprs[p["alias"]] = _plus(counted(n_in, n_in), other)
        elif kind == "since_end":
            t = timeline(ended, has_end)
            m = t.at(as_of, t.measure("MAX", end, filt))
            windowed = arg is not None and not arg.is_all
            exprs[p["alias"]] = f"CASE WHEN {m} >= {comp._ws(arg)} THEN {m} END" if windowed else m
        elif kind == "days_active" and info.is_spell:
            # the days of the spells [start, end] before day x: G(x) = x * (spells started
            # before x - spells ended before x - 1) - (sum of their start days) + (sum of
            # their end days + 1), four running totals; the days in [w, as_of) are
            # G(as_of) - G(w) (_days_active). Exact for spells whose start and end were
            # known on their dates and that do not end before they start; the others are
            # joined by date and added in
            whole = f"COALESCE({prompt} AND ({end} IS NULL OR ({end} >= {date}{end_on})), FALSE)"
            starts = timeline(date, whole)
            ends = timeline(f"({end} + INTERVAL '1' DAY)", f"{whole} AND {has_end}")
            m = (
                starts.measure("COUNT", "1", filt),
                ends.measure("COUNT", "1", filt),
                starts.measure("SUM", _day(date), filt),
                ends.measure("SUM", f"({_day(end)} + 1)", filt),
            )
            windowed = arg is not None and not arg.is_all
            ats = [(1, as_of)] + ([(-1, comp._ws(arg))] if windowed else [])
            terms = tuple(
                (
                    sign,
                    at[2:],
                    *(t.get(at, col) for t, col in zip((starts, ends) * 2, m, strict=True)),
                )
                for sign, at in ats
            )
            name = f"{alias}_n{len(comp.counts)}"
            comp.counts[name] = ("days", terms)
            rows = f"NOT {whole}"
            late.setdefault(rows, []).append(p)
            other = f"c.{alias}_late{list(late).index(rows)}_{p['alias']}"
            exprs[p["alias"]] = _plus(f"c.{name}", other)
        else:  # trend, means, maxima and minima of quantities: joined by date
            fallback.append(p)
            exprs[p["alias"]] = f"c.{alias}_fb_{p['alias']}"

    # the timelines' values come as columns of the cohort (run_running_totals), and so do
    # the aggregates joined by date, computed for each batch of pupils (side CTEs)
    comp.timelines += list(timelines.values())
    side = []
    for i, (rows, late_parts) in enumerate(late.items()):
        relation = f"(SELECT * FROM {info.relation} AS e WHERE {rows})"
        sql = comp.join_cte(src, late_parts, relation)
        side.append((f"{alias}_late{i}", sql, [p["alias"] for p in late_parts]))
        comp.side_rows[f"{alias}_late{i}"] = relation
    if fallback:
        side.append((f"{alias}_fb", comp.join_cte(src, fallback), [p["alias"] for p in fallback]))
    return [(p["alias"], exprs[p["alias"]]) for p in parts], side


def running_total_parts(comp) -> tuple[list[tuple[str, str]], list[tuple[str, str, list[str]]]]:
    """The aggregates of a compiled spec by running totals: ``(alias, expr)`` over the
    cohort's columns, and the side CTEs ``(name, sql, columns)`` whose columns they read."""
    cols, side = [], []
    for src, parts in list(comp.parts.items()):
        c, s = _source_parts(comp, src, parts)
        cols += c
        side += s
    return cols, side


# ------------------------------------------------------------------------------------------------
# running
# ------------------------------------------------------------------------------------------------
#: Cohort rows per batch of pupils (all their dates): bounds the cohort, lookup and
#: output rows a batch holds at once.
RT_BATCH_ROWS = 1_000_000
#: Written to Parquet, batches of this share of RT_BATCH_ROWS: the tables waiting to be
#: encoded take memory too (1M pupils, 24 dates: batches of 1M rows peaked at 3.4 GB,
#: of 700,000 rows at 2.7-2.8 GiB, 3 s quicker than 1M rows; of 500,000 rows at 2.4 GiB,
#: as quick as 700,000 rows, runs in turn).
RT_PARQUET_SHARE = 0.5
#: Bytes of one grid of running totals for one batch (points x pupils, 8 bytes each;
#: grids are made one at a time): bounds the pupils of a batch when there are many points.
RT_GRID_BYTES = 512 * 2**20
#: Sources with at most this many rows (in their timelines) are read once, not per batch.
RT_SMALL_ROWS = 2_000_000
#: Rows a batch reads from one source read per batch, about (from the source's rows per
#: cohort pupil): bounds the pupils of a batch when there are few dates (1M pupils, 6
#: dates: 290,000 pupils a batch read 22M attendance rows, and the peak was 3.2 GB).
RT_SOURCE_ROWS = 12_000_000
#: DuckDB threads reading a batch's features where DuckDB projects them (:func:`_pipeline`),
#: and the session's threads preparing the next batch meanwhile. Two for the preparing:
#: since the features are projected in NumPy (:mod:`riskscreen.features._project`) the
#: reading thread waits for the next batch, and the batch's queries use the core it
#: leaves (1M pupils, 24 dates into memory, 2 cores, five runs each in turn: 47-55 s
#: against 44-67 s with one thread, quicker in four runs out of five).
RT_READ_THREADS, RT_PREPARE_THREADS = 1, 2


def run_running_totals(session, sql: str, comp, *, output_path=None, dtype=np.float64):
    """Run the running-totals ``sql`` for batches of pupils (all dates each), in engine order.

    ``comp`` is the compiler of ``sql`` (:func:`riskscreen.features._compile.compile_plan`):
    its timelines are computed here, batch by batch, and handed to ``sql`` as columns of
    the cohort (``_rt_cohort``); its extra CTEs are computed once (``_rt_<name>``).
    """
    from riskscreen.features._run import fetch_batches, populated, write_batches

    con = session.con
    # the compiled SQL has no ORDER BY: its rows come in the order of the batch's cohort
    con.execute("SET preserve_insertion_order = true")
    dates, positions = _point_positions(con, comp)
    points = {t.name: _timeline_points(t, positions) for t in comp.timelines}
    per_pupil = max([len(points[t.name][0]) * 8 for t in comp.timelines] + [1])  # one grid
    pupils = con.sql(
        "SELECT pupil_id, COUNT(*) AS n FROM _cohort_all GROUP BY pupil_id ORDER BY pupil_id"
    ).to_arrow_table()
    ids = pupils["pupil_id"]
    # whole-number ids as NumPy: the output's index levels, and where batches may end
    levels = ids.to_numpy(zero_copy_only=False) if pa.types.is_integer(ids.type) else None
    # the output matrix, its memory mapped by a thread of its own while the batches are planned
    values = None
    if output_path is None and comp.projection is not None:
        n_rows = int(pc.sum(pupils["n"]).as_py() or 0)
        values = populated((n_rows, len(comp.projection[1])), dtype)
    # each timeline: its columns never missing, and, for a small source, its rows read
    # once, pupil by pupil, each batch taking its slice (instead of a query per batch)
    con.register("_rt_all", pa.table({"pupil_id": ids, "idx": np.arange(len(ids), dtype=np.int32)}))
    fetched = 1  # the most rows per pupil a batch reads from one source, about
    largest = (0, None)  # the source read per batch with the most rows
    try:
        small: dict[str, list] = {}  # relation -> its small timelines, read in one query
        for t in comp.timelines:
            t.complete, n = _survey(con, t, points[t.name][0])
            t.cached = None
            if n <= RT_SMALL_ROWS:
                small.setdefault(t.info.relation, []).append(t)
            else:
                fetched = max(fetched, -(-n // max(1, len(ids))))
                largest = max(largest, (n, t.info), key=lambda n_info: n_info[0])
        for timelines in small.values():
            _all_rows(con, timelines, {t.name: points[t.name][0] for t in timelines})
    finally:
        con.unregister("_rt_all")
    most = max(1, min(RT_GRID_BYTES // per_pupil, RT_SOURCE_ROWS // fetched))
    max_rows = RT_BATCH_ROWS if output_path is None else int(RT_BATCH_ROWS * RT_PARQUET_SHARE)
    # batches end where no row group of the largest source holds pupils on both sides,
    # when they can (the row groups of a batch's pupils are then read by that batch alone)
    groups = None if largest[1] is None else _row_groups(con, largest[1])
    clean = None
    if groups is not None and levels is not None and len(levels) > 1:
        clean = _clean_cuts(levels, *groups)
    # (written to Parquet no batch grows: its rows wait beside the tables being encoded)
    slack = RT_ALIGN_SLACK if output_path is None else 1.0
    chunk = _chunks(pupils["n"].to_numpy(), max(1, max_rows), most, clean, slack)
    con.register("_rt_chunks", pa.table({"pupil_id": ids, "chunk": chunk}))
    counts = con.execute(
        "SELECT k.as_of_date, p.chunk, COUNT(*) FROM _cohort_all AS k JOIN _rt_chunks AS p "
        "ON p.pupil_id = k.pupil_id GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    con.unregister("_rt_chunks")
    # where each batch's rows of each date go in the output (ordered by date, then pupil)
    n_chunks = int(chunk[-1]) + 1 if len(chunk) else 0
    segments: dict = {k: [] for k in range(n_chunks)}
    at = 0
    for _, k, n in counts:
        segments[k].append((at, int(n)))
        at += int(n)
    bounds = np.searchsorted(chunk, np.arange(n_chunks + 1))
    batches = [
        (
            list(session.dates),
            ids[int(bounds[k])].as_py(),
            ids[int(bounds[k + 1]) - 1].as_py(),
            segments[k],
            (int(bounds[k]), int(bounds[k + 1])),  # the batch's pupils: ids[lo:hi]
            None if levels is None else levels[int(bounds[k]) : int(bounds[k + 1])],
        )
        for k in range(n_chunks)
    ]
    # the side CTEs over rows there are none of (e.g. spells known late) need no query
    no_rows = {
        name
        for name, relation in comp.side_rows.items()
        if not con.execute(f"SELECT COUNT(*) FROM {relation} AS r").fetchall()[0][0]
    }
    # the shared extra tables joined by school and as-of date (a school's rate), as grids
    joins = {
        name: _school_grid(con, name, dates)
        for name, on in _shared_joins(comp)
        if on == _BY_SCHOOL.format(name=name)
    }

    # several batches: a batch's NumPy work is done by the reading thread or the preparing
    # one, whichever is free first (to Parquet in smaller batches: the rows read for the
    # next batch wait in memory beside the tables being encoded, RT_PARQUET_SHARE); one
    # batch: its sources' rows read as they are added up, on the session's thread
    many = len(batches) > 1
    # memory kept from batch to batch: a set per batch in flight (_pipeline) and scratch
    # (a set each: two batches may be worked out at once, on two threads)
    buffers = [(_Buffers(), _Buffers()) for _ in range(2)]

    def prepare(batch, k: int = 0):
        return _prepare_batch(
            session, comp, batch, dates, positions, points, buffers[k], no_rows,
            lazy=not many, joins=joins,
        )  # fmt: skip

    # the projection of a batch's cohort rows into features, in NumPy where it can be
    project = None
    if comp.projection is not None:
        layers, outputs = comp.projection
        starts = {col: positions[col] * DAY_US for col in comp.starts}
        # the timelines' columns are made of whole numbers (counts, sums of whole numbers,
        # days): never NaN
        whole = {name for t in comp.timelines for name in t.visible} | set(comp.counts)
        project = Projection.compile(layers, outputs, PASSED, dates * DAY_US, starts, whole)

    def read(con, table: pa.Table):
        return _features_of(con, sql, project, table)

    def one():  # one batch (or none): prepared and read on the session's connection
        for batch in batches:
            yield read(con, prepare(batch)())

    readers = _pipeline(batches, prepare, read) if many else one()
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    if many:  # the session's queries share the cores with the reading
        con.execute(f"SET threads = {RT_PREPARE_THREADS}")
    try:
        if output_path is not None:
            write_batches(session, sql, batches, output_path, None, readers)
            return output_path
        return fetch_batches(session, sql, batches, at, dtype, None, readers, levels, values)
    finally:
        con.execute(f"SET threads = {int(threads)}")
        for t in comp.timelines:
            t.cached = None
        for name in ("_rt_cohort", "_rt_pupils"):
            with contextlib.suppress(Exception):
                con.unregister(name)


@contextlib.contextmanager
def shared_tables(con, comp):
    """The extra CTEs that do not read the cohort (``comp.shared_extra``, e.g. a school's
    rate) computed once, for all the session's as-of dates, into tables ``_rt_<name>``
    that every batch reads; these and the tables of :func:`source_tables` dropped on
    leaving."""
    bodies = {**dict(comp.extra_ctes), **comp.shared_bodies}  # (quicker SQL, same tables)
    try:
        for name in comp.shared_extra:
            body = f"{_with_extra(comp, name)}{bodies[name]}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE _rt_{name} AS {body}")
        yield
    finally:
        for name in [*comp.shared_extra, *comp.shared_sources]:
            con.execute(f"DROP TABLE IF EXISTS _rt_{name}")


def source_tables(con, comp) -> None:
    """The aggregates of the sources in ``comp.shared_sources`` (plan by date) for the dates
    of ``asof_dates`` and all the cohort's pupils on them, into tables ``_rt_<name>`` read
    by the batches of those dates: a date split into batches of pupils reads its events
    once, not once per batch (with the events stored by date, every batch would read the
    row groups of its dates whoever they hold: 1M pupils, one date in two batches, 6.4 s
    of queries against 12.3 s)."""
    for name, body in comp.shared_sources.items():
        sql = f"WITH dates_w AS ({comp.dates_w_sql()}) {body}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _rt_{name} AS {sql}")


def _pipeline(batches, prepare, read):
    """The features of each batch (``read(con, cohort rows)``: record batches, with a schema
    and ``close()``), each batch prepared on a thread of its own while the one before is
    read.

    The features read nothing but the prepared batch's cohort rows, so ``read`` runs on
    a DuckDB connection of its own (same memory limit, :data:`RT_READ_THREADS` threads,
    no spilling: it only streams) while the next batch's queries run on the session's. Two
    batches are in flight at most (the one read and the one prepared: ``prepare(batch,
    k)`` writes into buffer set ``k``); an error while preparing is raised here, and
    closing the readers stops the thread. ``prepare`` runs the batch's queries and
    returns a function doing the rest (NumPy, no connection) that gives the cohort
    rows, run by whichever thread is free first: here, before the batch is read, or on
    the thread while it waits for a slot.
    """
    import queue
    import threading

    import duckdb

    from riskscreen._config import duckdb_config

    config = {**duckdb_config(), "temp_directory": "", "threads": RT_READ_THREADS}
    con = duckdb.connect(config=config)
    con.execute("SET preserve_insertion_order = true")
    ready: queue.Queue = queue.Queue()
    slots, stop = threading.Semaphore(2), threading.Event()

    def work() -> None:
        pending = None  # the last batch handed over, perhaps not finished yet
        for i, batch in enumerate(batches):
            # a slot is free once batch i - 2 has been read (its buffers are free); until
            # then, finish the batch handed over if the reading thread has not begun it
            if not slots.acquire(blocking=False):
                if pending is not None:
                    pending.run()
                slots.acquire()
            if stop.is_set():
                return
            try:
                job = _Job(prepare(batch, i % 2))
            except BaseException as exc:  # noqa: BLE001 (raised on the reading thread)
                ready.put((None, exc))
                return
            ready.put((job, None))
            pending = job

    thread = threading.Thread(target=work, name="riskscreen-batches", daemon=True)
    thread.start()
    try:
        for _ in batches:
            job, exc = ready.get()
            if exc is not None:
                raise exc
            reader = read(con, job.result())
            del job
            yield reader
            reader.close()  # its result, if not read to the end
            slots.release()
    finally:
        stop.set()
        slots.release()  # the thread may wait for a slot: let it see the stop
        slots.release()
        thread.join()
        con.close()


#: Cohort rows projected into features at a time (:class:`_Features`): bounds the memory
#: of a batch's features not yet copied or written.
PROJECT_ROWS = 65_536
#: The cohort columns the features start with, as they are.
PASSED = ("pupil_id", "as_of_date")
#: The column of a batch's cohort rows giving each row's pupil by its number among the
#: run's pupils (sorted): the output's index is made from it
#: (:func:`riskscreen.features._run.feature_frame`).
CODE = "_rt_code"


def _features_of(con, sql: str, project, table: pa.Table):
    """The features of a batch's cohort rows ``table``: ``sql`` (which reads them as
    ``_rt_cohort``) run by DuckDB on ``con``, or, with a ``project`` (:class:`Projection`),
    worked out in NumPy."""
    from riskscreen.features._run import arrow_reader

    if project is not None:
        return _Features(con, sql, project, table)
    con.register("_rt_cohort", table)
    return _Unregistering(con, arrow_reader(con, sql))


class _Unregistering:
    """DuckDB's reader of a batch's features, letting go of the batch's cohort rows once closed."""

    def __init__(self, con, reader) -> None:
        self.con, self.reader, self.schema = con, reader, reader.schema

    def __iter__(self):
        return iter(self.reader)

    def close(self) -> None:
        self.reader.close()
        with contextlib.suppress(Exception):
            self.con.unregister("_rt_cohort")


class _Features:
    """A batch's features as record batches of :data:`PROJECT_ROWS` rows (or written straight
    into the output: :meth:`into`), each worked out in NumPy (:class:`Projection`), or by
    DuckDB where NumPy does not evaluate it (e.g. a NaN among the values): the same rows
    and types either way."""

    def __init__(self, con, sql: str, project, table: pa.Table) -> None:
        self.con, self.sql, self.project, self.table = con, sql, project, table
        passed = [table.schema.field(name) for name in project.passed]
        doubles = [pa.field(name, pa.float64()) for name, _ in project.outputs]
        self.schema = pa.schema(passed + doubles)

    def _duckdb(self, part: pa.Table) -> pa.Table:
        self.con.register("_rt_cohort", part)
        try:
            out = self.con.sql(self.sql).to_arrow_table()
        finally:
            self.con.unregister("_rt_cohort")
        return out if out.schema == self.schema else out.cast(self.schema)

    def __iter__(self):
        for at in range(0, self.table.num_rows, PROJECT_ROWS):
            part = self.table.slice(at, PROJECT_ROWS)
            out = self.project(part)
            yield from (self._duckdb(part) if out is None else out).to_batches()

    def into(self, values, pupil, asof, segments, codes=None) -> int:
        """Write the features into ``values`` (and the rows' pupils and as-of dates into
        ``pupil`` and ``asof``, their pupils' numbers into ``codes`` if given: :data:`CODE`)
        at ``segments``, ``(start, n)`` places in the output for the batch's rows in
        order; the number of rows written (an internal error if they are not the
        batch's)."""
        from riskscreen.features._run import _row_count_error, doubles

        at = 0
        for start, n in segments:
            for off in range(0, n, PROJECT_ROWS):
                take = min(PROJECT_ROWS, n - off)
                part = self.table.slice(at + off, take)
                if len(part) != take:
                    raise _row_count_error(at + off + len(part), at + n)
                rows = slice(start + off, start + off + take)
                if not self.project.into(part, values[rows]):
                    got = self._duckdb(part)
                    for j in range(values.shape[1]):
                        values[rows, j] = doubles(got.column(j + 2).combine_chunks())
                pupil[rows] = part.column(0).to_numpy()
                asof[rows] = part.column(1).to_numpy()
                if codes is not None:
                    codes[rows] = part.column(CODE).to_numpy()
            at += n
        if at != self.table.num_rows:
            raise _row_count_error(self.table.num_rows, at)
        return at

    def close(self) -> None:
        self.table = None


class _Job:
    """A batch's NumPy work (a function of no arguments), run once by whichever thread
    comes first (:func:`_pipeline`); its error is raised to the one asking for the result."""

    def __init__(self, fn) -> None:
        import threading

        self._fn, self._lock = fn, threading.Lock()
        self._result = self._exc = None

    def run(self) -> None:
        with self._lock:
            if self._fn is None:
                return
            try:
                self._result = self._fn()
            except BaseException as exc:  # noqa: BLE001 (raised by result())
                self._exc = exc
            self._fn = None

    def result(self):
        """The result, handed over once (the job keeps no reference to it: a batch's
        table lives no longer than its reader needs it)."""
        self.run()
        if self._exc is not None:
            raise self._exc
        out, self._result = self._result, None
        return out


def _with_extra(comp, name: str) -> str:
    """A WITH clause naming the shared extra CTEs computed before ``name`` (their tables)."""
    before = comp.shared_extra[: comp.shared_extra.index(name)]
    if not before:
        return ""
    return "WITH " + ", ".join(f"{n} AS (SELECT * FROM _rt_{n})" for n in before) + " "


#: Into memory, a batch may hold up to this many times its rows (RT_BATCH_ROWS) to end
#: where no row group of the largest source read per batch spans (:func:`_chunks`): e.g.
#: a file whose row groups each hold a range of pupils' rows by date (1M pupils in ten
#: such ranges of 1.35M cohort rows at 24 dates: batches of 1M rows read 1.7 ranges
#: each; one range's 11.5M attendance rows take 0.83 s of CPU to read, two 1.2-1.5 s).
RT_ALIGN_SLACK = 1.5


def _chunks(
    rows_per_pupil: np.ndarray, max_rows: int, max_pupils: int, clean=None, slack: float = 1.0
) -> np.ndarray:
    """Each pupil's batch (pupils in order): about ``max_rows`` rows, ``max_pupils`` pupils.

    A pupil's rows are never split; a batch may overrun ``max_rows`` by less than
    one pupil's rows. ``clean`` (a boolean per pupil but the last) marks where a batch
    may end without a row group of a large source spanning the cut: a batch then ends
    at the last such place within ``slack`` times ``max_rows`` (and ``max_pupils``)
    if it holds at least half of ``max_rows`` (else at ``max_rows``), and the last
    batch takes the rest if it fits in ``slack`` times ``max_rows``.
    """
    rows_before = np.cumsum(rows_per_pupil) - rows_per_pupil
    if clean is None or not clean.any():
        key = np.maximum(rows_before // max_rows, np.arange(len(rows_per_pupil)) // max_pupils)
        return np.unique(key, return_inverse=True)[1].astype(np.int64)
    n = len(rows_per_pupil)
    ends = rows_before + rows_per_pupil  # the rows up to each pupil, included
    cuts = np.flatnonzero(clean) + 1  # a batch may end before these pupils
    chunk = np.empty(n, dtype=np.int64)
    start, k = 0, 0
    while start < n:
        base = int(rows_before[start])
        # the ends of batches of at most max_rows rows, and of slack times more
        most = np.searchsorted(ends, [base + max_rows, base + slack * max_rows], "right")
        stop, far = (min(max(int(m), start + 1), start + max_pupils, n) for m in most)
        j = int(np.searchsorted(cuts, far, side="right")) - 1  # the last clean end up to far
        if far == n:
            stop = n  # the rest fits
        elif j >= 0 and cuts[j] > start and ends[cuts[j] - 1] - base >= max_rows // 2:
            stop = int(cuts[j])
        chunk[start:stop] = k
        start, k = stop, k + 1
    return chunk


def _clean_cuts(ids: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """For each pupil of ``ids`` (sorted) but the last, whether no row group, of first and
    last ids ``first`` and ``last``, holds both it and the next pupil."""
    order = np.argsort(first, kind="stable")
    starts, reach = first[order], np.maximum.accumulate(last[order])
    k = np.searchsorted(starts, ids[:-1], side="right") - 1  # the groups starting up to it
    spanned = (k >= 0) & (reach[np.maximum(k, 0)] >= ids[1:])
    return ~spanned


def _row_groups(con, info) -> tuple[np.ndarray, np.ndarray] | None:
    """The first and last id of each row group of the source's Parquet file, from its
    statistics; None for a source in memory, ids that are not whole numbers, or no
    statistics. A row group without them spans every id."""
    if info.file is None:
        return None
    import duckdb

    try:
        got = con.execute(
            "SELECT TRY_CAST(stats_min_value AS BIGINT), TRY_CAST(stats_max_value AS BIGINT) "
            "FROM parquet_metadata($file) WHERE path_in_schema = $id",
            {"file": info.file, "id": info.id},
        ).fetchall()
    except duckdb.Error:  # e.g. a name DuckDB reads otherwise: batches as without
        return None
    if not got:
        return None
    lowest, highest = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    first = np.array([lowest if a is None else a for a, _ in got], dtype=np.int64)
    last = np.array([highest if b is None else b for _, b in got], dtype=np.int64)
    return first, last


def _days(values) -> np.ndarray:
    """Dates or timestamps (midnight) as whole days since 1970 (int64); NaT stays NaT's int."""
    arr = values
    if not (isinstance(arr, np.ndarray) and arr.dtype.kind == "M"):  # (NumPy's read as is)
        arr = np.asarray(pd.to_datetime(pd.Series(values)).to_numpy(), dtype="datetime64[ns]")
    days = arr.astype("datetime64[D]")
    if not (days.astype(arr.dtype) == arr)[~np.isnat(arr)].all():
        raise AssertionError("a window of the running totals does not start at midnight")
    return days.astype(np.int64)


def _point_positions(con, comp):
    """The as-of dates (days, sorted) and, per column of ``cohort_w`` (the as-of date and
    the window starts), its day per date."""
    frame = con.execute(
        "WITH cohort AS (SELECT DISTINCT as_of_date FROM _cohort_all), "
        f"cohort_w AS ({comp.cohort_w_sql()}) SELECT * FROM cohort_w ORDER BY as_of_date"
    ).df()
    dates = _days(frame["as_of_date"])
    return dates, {col: _days(frame[col]) for col in frame.columns}


def _survey(con, t: _Timeline, pts: np.ndarray) -> tuple[frozenset[str], int]:
    """The columns of :meth:`_Timeline.candidates` with a value on every row of ``t``, and
    the number of its rows.

    For a large source (more than :data:`RT_SMALL_ROWS` rows in all) the number is of
    all its rows, and a column its statistics show to hold no missing value (a Parquet
    file's metadata) needs no pass over the rows (1M pupils' 115M attendance rows: 0.8 s).
    """
    columns = t.candidates()
    relation = t.info.relation
    n = int(con.execute(f"SELECT COUNT(*) FROM {relation}").fetchall()[0][0])
    known: frozenset[str] = frozenset()
    if n > RT_SMALL_ROWS and columns:
        stats = con.execute(
            f"SELECT {', '.join(f'stats({c})' for c in columns)} FROM {relation} AS e LIMIT 1"
        ).fetchall()
        if stats:
            known = frozenset(c for c, s in zip(columns, stats[0], strict=True) if _no_null(s))
    if n > RT_SMALL_ROWS and known == frozenset(columns):
        return known, n
    hi = str(np.datetime64(int(pts[-1]), "D"))
    rest = [c for c in columns if c not in known]
    got, *missing = con.execute(
        f"SELECT COUNT(*){''.join(f', COUNT(*) FILTER (WHERE {c} IS NULL)' for c in rest)} "
        f"FROM {relation} AS e WHERE {t.rows} AND {t.key} < DATE '{hi}'"
    ).fetchall()[0]
    complete = known | {c for c, k in zip(rest, missing, strict=True) if k == 0}
    return frozenset(complete), int(got)


def _no_null(stats) -> bool:
    """Whether DuckDB's statistics of an expression (``stats()``: a struct, or text before
    DuckDB 1.2) show it never missing."""
    if isinstance(stats, dict):
        return stats.get("has_null") is False
    return isinstance(stats, str) and "Has Null: false" in stats


def _rows_sql(
    t: _Timeline,
    pts: np.ndarray,
    value_cols: dict,
    pupils: str | None,
    where: str = "",
    position: str = "",
) -> str:
    """The rows of ``t`` of the pupils in table ``pupils`` with their number there (idx),
    their key's day and the values the grids add up (``value_cols``, :meth:`_Timeline.values`).

    ``pupils`` None: the rows of every pupil, with ``position`` (SQL over ``e``) instead
    of a number (``pos``).
    """
    ident = f"e.{quote(t.info.id)}"
    head, join = "p.idx", f" JOIN {pupils} AS p ON p.pupil_id = {ident}"
    if pupils is None:
        head, join = f"{position} AS pos", ""
    return (
        f"SELECT {head}, CAST({t.key} AS DATE) AS day"
        f"{''.join(f', {sql} AS {col}' for (sql, _), col in value_cols.items())} "
        f"FROM {t.info.relation} AS e{join} WHERE {_in_timeline(t, pts)}{where}"
    )


def _in_timeline(t: _Timeline, pts: np.ndarray) -> str:
    """SQL over ``e``: whether a row of the source is one of timeline ``t``'s, up to its
    last point ``pts[-1]`` (rows from there on are never looked up)."""
    return f"({t.rows}) AND {t.key} < DATE '{np.datetime64(int(pts[-1]), 'D')}'"


#: A batch's rows are numbered by their pupil from a table of the batch's ids (DuckDB
#: gives each row its id's place in it) when the ids are whole numbers in at most
#: DENSE_RUNS runs (ids less than DENSE_GAP apart) spanning at most DENSE_SPAN times
#: their number (plus DENSE_SLACK); else (e.g. ids that are keyed hashes) DuckDB joins
#: the rows with the pupils. The table is quicker than the join (1M pupils, a batch of
#: 290,000 pupils' 22.6M attendance rows: 1.6 s of CPU against 4.5 s).
DENSE_RUNS, DENSE_GAP, DENSE_SPAN, DENSE_SLACK = 8, 1024, 16, 2**16


def _id_runs(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The runs of the sorted ids ``uniq`` numbered by a table: each run's first and
    last id, or None where a table would not do (:data:`DENSE_RUNS`)."""
    if uniq.dtype.kind != "i" or not len(uniq):
        return None
    uniq = uniq.astype(np.int64, copy=False)
    # the gaps between ids, exact as unsigned numbers (ids far apart overflow int64)
    gaps = uniq[1:].view(np.uint64) - uniq[:-1].view(np.uint64)
    cut = np.flatnonzero(gaps >= DENSE_GAP) + 1
    if len(cut) >= DENSE_RUNS:
        return None
    first, last = uniq[np.r_[0, cut]], uniq[np.r_[cut - 1, len(uniq) - 1]]
    span = int((last - first).sum()) + len(first)
    return (first, last) if span <= DENSE_SPAN * len(uniq) + DENSE_SLACK else None


def _batch_rows(con, t: _Timeline, batch, pts, value_cols: dict, uniq) -> tuple:
    """The rows of ``t`` of the batch's pupils (``uniq``: their ids, sorted), as
    :func:`_rows_sql` gives them, and each row's pupil number in ``uniq`` (idx).

    Rows of ids between the batch's pupils that are not in the cohort may come too, with
    number ``len(uniq)``: the grids add them up in a cell of their own, never looked up.
    """
    ident = f"e.{quote(t.info.id)}"
    where, params = f" AND {ident} BETWEEN $lo AND $hi", {"lo": batch[1], "hi": batch[2]}
    runs = _id_runs(uniq)
    if runs is None:
        rows = con.sql(_rows_sql(t, pts, value_cols, "_rt_pupils", where), params=params)
        rows = rows.to_arrow_table()
        return rows, rows["idx"].to_numpy()
    table, position, ids = _id_table(uniq, runs, ident)
    sql = _rows_sql(t, pts, value_cols, None, where, position)
    rows = con.sql(sql, params={**params, **ids}).to_arrow_table()
    return rows, table[one_chunk(rows["pos"]).to_numpy(zero_copy_only=False)]


def _run_places(uniq: np.ndarray, runs) -> tuple[np.ndarray, np.ndarray]:
    """The table numbering the ids of ``uniq`` (sorted; ``runs`` from :func:`_id_runs`)
    and each run's shift (an id's place in the table: the id less its run's shift).

    The runs lie end to end in the table, and a last cell holds ``len(uniq)`` for the ids
    between runs: ``table[place]`` is the id's number in ``uniq``, or ``len(uniq)``.
    """
    uniq = uniq.astype(np.int64, copy=False)
    first, last = runs
    start = np.r_[0, np.cumsum(last - first + 1)]  # where each run begins in the table
    table = np.full(int(start[-1]) + 1, len(uniq), dtype=np.int32)
    shift = first - start[:-1]
    pupil_run = np.zeros(len(uniq), dtype=np.intp)
    for k in range(1, len(first)):
        pupil_run += uniq >= first[k]
    table[uniq - shift[pupil_run]] = np.arange(len(uniq), dtype=np.int32)
    return table, shift


def _numbers(values: np.ndarray, uniq: np.ndarray) -> np.ndarray | None:
    """Each value's number in ``uniq`` (sorted whole numbers) by :func:`_run_places`'
    table; None where a table would not do, or a value is not one of ``uniq``, or an id of
    ``uniq`` is none of the values (the caller then sorts them, and says what is wrong)."""
    runs = _id_runs(uniq)
    if runs is None or values.dtype.kind != "i" or not len(values):
        return None
    table, shift = _run_places(uniq, runs)
    first, last = runs
    values = values.astype(np.int64, copy=False)
    run = np.searchsorted(first, values, side="right") - 1 if len(first) > 1 else 0
    if np.any(run < 0) or np.any(values > last[run]) or np.any(values < first[0]):
        return None
    numbers = table[values - shift[run]]
    seen = np.zeros(len(uniq) + 1, dtype=bool)
    seen[numbers] = True
    return numbers if not seen[-1] and seen[:-1].all() else None


def _id_table(uniq: np.ndarray, runs, ident: str) -> tuple[np.ndarray, str, dict]:
    """The table numbering the ids of ``uniq`` (sorted; ``runs`` from :func:`_id_runs`), the
    SQL of an id's place in it (``ident``: the id, between the first and the last) and
    that SQL's parameters (ids stay out of the SQL's text, as in the batch's range): the
    table and the places of :func:`_run_places`.
    """
    table, shift = _run_places(uniq, runs)
    first, last = runs
    ids = {f"rt_s{k}": int(c) for k, c in enumerate(shift)}
    if len(first) == 1:  # every id is in the run
        return table, f"CAST({ident} - $rt_s0 AS INTEGER)", ids
    ids.update({f"rt_f{k}": int(a) for k, a in enumerate(first)})
    ids.update({f"rt_l{k}": int(b) for k, b in enumerate(last)})
    whens = " ".join(
        f"WHEN {ident} BETWEEN $rt_f{k} AND $rt_l{k} THEN {ident} - $rt_s{k}"
        for k in range(len(first))
    )
    return table, f"CAST(CASE {whens} ELSE {len(table) - 1} END AS INTEGER)", ids


def _all_rows(con, timelines: list[_Timeline], pts: dict) -> None:
    """All the rows of the ``timelines`` of one source (:func:`_rows_sql`, ``pts`` their
    points by name) in the order of the pupils, and their idx, into each one's ``cached``.

    One query reads them all (the source scanned and joined with the pupils once, not once
    per timeline: social care has four): a row comes once, with each timeline's day where
    it is one of that timeline's rows (else missing) and values, and each timeline takes
    its rows."""
    head, where, names = [], [], []
    for k, t in enumerate(timelines):
        holds = _in_timeline(t, pts[t.name])
        head.append(f"CASE WHEN {holds} THEN CAST({t.key} AS DATE) END AS _rt_day{k}")
        value_cols = t.values(t.recipes(t.complete))
        head += [f"{sql} AS _rt_{k}_{col}" for (sql, _), col in value_cols.items()]
        names.append(list(value_cols.values()))
        where.append(f"({holds})")
    info = timelines[0].info
    rows = con.sql(
        f"SELECT p.idx, {', '.join(head)} FROM {info.relation} AS e JOIN _rt_all AS p "
        f"ON p.pupil_id = e.{quote(info.id)} WHERE {' OR '.join(where)}"
    ).to_arrow_table()
    idx = rows["idx"].to_numpy()
    order = np.argsort(idx, kind="stable")
    rows, idx = rows.take(order), idx[order]
    for k, t in enumerate(timelines):
        day = rows[f"_rt_day{k}"]
        mine = pc.is_valid(day)
        own = pa.table({"day": day, **{col: rows[f"_rt_{k}_{col}"] for col in names[k]}})
        t.cached = own.filter(mine), idx[mine.to_numpy(zero_copy_only=False)]


def _timeline_points(t: _Timeline, positions: dict) -> tuple[np.ndarray, dict]:
    """A timeline's points (days, sorted) and, per point column, each date's point number."""
    used = sorted({p for p, _ in t.lookups.values()})
    pts = np.unique(np.concatenate([positions[c] for c in used])) if used else np.empty(0, int)
    return pts, {c: np.searchsorted(pts, positions[c]) for c in used}


def _prepare_batch(
    session, comp, batch, dates, positions, points, buffers, no_rows, *, lazy, joins=None
):
    """The batch's queries, and a function giving its cohort rows with every aggregate
    they read (``_rt_cohort`` of the SQL) from them.

    The queries (on the session's connection) read the batch's cohort rows, each
    timeline's rows (or its slice of the rows read once) and the side CTEs (aggregates
    joined by date); the function works out the rest in NumPy, using no connection, so
    it may run on another thread (:func:`_pipeline`). With ``lazy`` the timelines' rows
    are read by the function instead, on the session's connection (so on its thread),
    each source's let go before the next is read. The function's rows are in the engine's order
    (as-of date, then pupil): the cohort's own columns, the shared extra CTEs joined
    (e.g. the school's rate), each timeline's values at the points looked up, and the
    side CTEs aligned.
    """
    from riskscreen.features._run import _set_batch

    con = session.con
    _set_batch(session, batch[:3])
    cohort, uniq, row_pupil, row_date = _batch_cohort(con, comp, batch, dates, joins)
    con.register(
        "_rt_pupils",
        pa.table(
            {
                "pupil_id": pa.array(uniq, type=cohort.schema.field("pupil_id").type),
                "idx": pa.array(np.arange(len(uniq), dtype=np.int32)),
            }
        ),
    )
    # each timeline's rows: read now, or (``lazy``) by the function, one source at a time
    # (a source's rows let go before the next is read: fewer in memory at once)
    read = {
        t.name: functools.partial(_timeline_rows, con, t, batch, points[t.name][0], uniq)
        for t in comp.timelines
    }
    if not lazy:
        read = {name: rows() for name, rows in read.items()}
    columns: dict[str, pa.Array] = {}
    for name, _, side_cols in comp.side_ctes:
        if name in no_rows:  # e.g. no spell known late: nothing to add to the running totals
            for col in side_cols:
                columns[f"{name}_{col}"] = pa.nulls(len(cohort), pa.float64())
    side_ctes = [side for side in comp.side_ctes if side[0] not in no_rows]
    if side_ctes:
        con.register("_rt_base", cohort)
        rows = np.full((len(dates), len(uniq)), -1, dtype=np.int64)
        rows[row_date, row_pupil] = np.arange(len(cohort))
        with_sql = f"WITH cohort AS (SELECT * FROM _rt_base), cohort_w AS ({comp.cohort_w_sql()})"
        for name in comp.shared_extra:
            with_sql += f", {name} AS (SELECT * FROM _rt_{name})"
        for name, sql, side_cols in side_ctes:
            got = con.sql(f"{with_sql} {sql}").to_arrow_table()
            d = np.searchsorted(dates, _days(got["as_of_date"].to_numpy()))
            p = np.searchsorted(uniq, got["pupil_id"].to_numpy(zero_copy_only=False))
            take = _placed(rows[d, p], len(cohort), name)
            for col in side_cols:
                columns[f"{name}_{col}"] = got[col].take(take)
        con.unregister("_rt_base")

    def finish() -> pa.Table:
        table = cohort
        got, filled = _aggregates(
            comp, read, positions, points, row_pupil, row_date, len(uniq), buffers
        )
        for name, values in got.items():
            meta = {NAN_MISSING: b"1"} if name in filled else None
            table = table.append_column(pa.field(name, values.type, metadata=meta), values)
        for name, values in columns.items():
            table = table.append_column(name, values)
        # each row's pupil by its number among the run's pupils (the output's index)
        code = (row_pupil + batch[4][0]).astype(np.int32, copy=False)
        return table.append_column(CODE, pa.array(code))

    return finish


def _aggregates(comp, read, positions, points, row_pupil, row_date, n_pupils, buffers):
    """The timelines' columns the SQL reads for every cohort row of a batch: lookups, and
    counts worked out from them, from each timeline's rows (``read``, taken from it); and
    the names of the columns holding NaN wherever a value is missing (:data:`NAN_MISSING`)."""
    # the counts of one timeline's lookups (most) may be worked out in its grids' cells
    # (_lookups); the lookups every row needs: those the SQL reads and the other counts'
    visible = {name for t in comp.timelines for name in t.visible}
    owner = {name: t.name for t in comp.timelines for name in t.lookups}
    local: dict[str, dict] = {}
    row_wise = set(visible)
    for name, (kind, args) in comp.counts.items():
        if kind == "days":  # (sign, point, lookup x 4) per term
            row_wise.update(k for term in args for k in term[2:])
            continue
        terms = [k for _, k in args[0] + (args[1] or ())]
        if len({owner[k] for k in terms}) == 1:
            local.setdefault(owner[terms[0]], {})[name] = args
        else:
            row_wise.update(terms)
    looked_up, columns = {}, {}
    for t in comp.timelines:
        pts, pos = points[t.name]
        got, done = _lookups(
            t, read, pts, pos, row_pupil, row_date, n_pupils, buffers,
            local.get(t.name, {}), row_wise,
        )  # fmt: skip
        looked_up.update(got)
        columns.update(done)
    filled = set(columns)  # counts worked out in the cells: NaN where missing
    # the columns the SQL reads: lookups, and counts worked out from them
    columns.update({name: _arrow(v) for name, v in looked_up.items() if name in visible})
    for name, (kind, args) in comp.counts.items():
        if name in columns:  # worked out in the cells of its timeline's grids
            continue
        if kind == "days":
            columns[name] = _days_active(name, args, looked_up, positions, row_date, buffers[0])
        else:
            columns[name] = _counts(name, *args, looked_up, *buffers)
            if args[1] is None:  # (1 where there are events, NaN elsewhere)
                filled.add(name)
    return columns, filled


def _batch_cohort(
    con, comp, batch, dates, joins=None
) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """The batch's cohort rows in the engine's order (as-of date, then pupil) with the
    shared extra CTEs joined (``<name>_v``, e.g. the school's rate: from ``joins[name]``,
    :func:`_school_grid`, where given), the batch's pupils (``uniq``, sorted) and each
    row's pupil and date numbers (in ``uniq``, ``dates``).

    The rows are put in order and the extras joined here, not by DuckDB: its sort of a
    batch's rows cost more than the rest of the query (1M pupils, 24 dates: 7 of 9 s of
    CPU over 14 batches).
    """
    cohort = con.sql(
        "SELECT * FROM _cohort_all WHERE pupil_id BETWEEN $lo AND $hi",
        params={"lo": batch[1], "hi": batch[2]},
    ).to_arrow_table()
    pupil = cohort["pupil_id"].to_numpy(zero_copy_only=False)
    # each row's pupil by its place among the batch's ids (whole numbers, known: by a
    # table, 1.35M rows: 20 ms against 80 ms for np.unique), else by sorting them
    known = batch[5] if len(batch) > 5 else None
    row_pupil = None if known is None else _numbers(pupil, known)
    if row_pupil is not None:
        uniq = known
    else:
        uniq, row_pupil = np.unique(pupil, return_inverse=True)
    lo, hi = batch[4]
    if len(uniq) != hi - lo or (len(uniq) and (uniq[0] != batch[1] or uniq[-1] != batch[2])):
        # the slices of the rows read once rely on it
        raise _batch_error("are not of the range of pupils it was given")
    days = _days(cohort["as_of_date"].to_numpy())
    row_date = np.searchsorted(dates, days)
    if np.any(row_date >= len(dates)) or np.any(
        dates[np.minimum(row_date, len(dates) - 1)] != days
    ):
        raise _batch_error("are not on the as-of dates of the cohort")
    key = row_date.astype(np.int64) * len(uniq) + row_pupil
    if np.any(key[1:] <= key[:-1]):  # one row per (date, pupil): its key's rank is its place
        order = _order_of(key, len(dates) * len(uniq))
        if order is None:
            raise _batch_error("are not one per pupil and as-of date")
        cohort = cohort.take(order)
        row_pupil, row_date = row_pupil[order], row_date[order]
    for name, on in _shared_joins(comp):
        grid = (joins or {}).get(name)
        if grid is not None:
            values = _from_grid(grid, cohort["school_id"], row_date)
        else:
            values = _joined(con, cohort, name, on)
        cohort = cohort.append_column(f"{name}_v", values)
    return cohort, uniq, row_pupil, row_date


def _shared_joins(comp) -> list[tuple[str, str]]:
    """The compiler's joins of the shared extra tables (e.g. a school's rate) to the
    cohort: each table's name and its ``ON`` condition."""
    joins = [re.fullmatch(r"LEFT JOIN (\w+) ON (.*)", c).groups() for c in comp.extra_joins]
    return [(name, on) for name, on in joins if name in comp.shared_extra]


#: How the compiler joins a shared extra table of schools (a school's rate) to the cohort.
_BY_SCHOOL = "{name}.school_id = c.school_id AND {name}.as_of_date = c.as_of_date"


def _school_grid(con, name: str, dates: np.ndarray):
    """The doubles ``v`` of the shared extra table ``_rt_<name>`` (one row per school and
    as-of date) as a grid of the as-of dates x its schools (NaN where none), and the
    schools (sorted); None where they are not whole numbers and doubles, or a value is
    missing or NaN (then joined by DuckDB, :func:`_joined`). An internal error where a
    school has two rows on a date."""
    got = con.sql(f"SELECT as_of_date, school_id, v FROM _rt_{name}").to_arrow_table()
    kinds = got.schema.field("school_id").type, got.schema.field("v").type
    if not pa.types.is_integer(kinds[0]) or kinds[1] != pa.float64():
        return None
    got = got.filter(pc.is_valid(got["school_id"]))  # (a missing school matches nothing)
    day = _days(got["as_of_date"].to_numpy())
    at = np.searchsorted(dates, day)
    on = (at < len(dates)) & (dates[np.minimum(at, len(dates) - 1)] == day)
    school = got["school_id"].to_numpy(zero_copy_only=False).astype(np.int64)
    schools = np.unique(school[on])
    grid = np.full((len(dates), len(schools)), np.nan)
    cell = at[on] * len(schools) + np.searchsorted(schools, school[on])
    if len(np.unique(cell)) != len(cell):
        raise _several(name, "several rows for a cohort row")
    v = got["v"].to_numpy(zero_copy_only=False).astype(np.float64)[on]
    if np.isnan(v).any():  # a missing value (or NaN) in the table: NaN marks no row here
        return None
    grid.ravel()[cell] = v
    return grid, schools


def _from_grid(grid, school: pa.ChunkedArray, row_date: np.ndarray) -> pa.Array:
    """Each cohort row's value in a :func:`_school_grid` (null where none)."""
    values, schools = grid
    if not len(schools):
        return pa.nulls(len(row_date), pa.float64())
    known = pc.is_valid(school).to_numpy(zero_copy_only=False)
    ids = pc.fill_null(school, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    col = np.minimum(np.searchsorted(schools, ids), len(schools) - 1)
    out = values[row_date, col]
    out[~(known & (schools[col] == ids))] = np.nan
    return pa.array(out, mask=np.isnan(out))


def _order_of(key: np.ndarray, n_keys: int) -> np.ndarray | None:
    """The order that sorts ``key`` (distinct whole numbers in ``[0, n_keys)``), or None
    if two are equal. By a table of the keys when they are few for the rows (a pass
    each way: 5 ms against 70 ms for ``np.argsort`` of 1M keys), else by a sort."""
    if n_keys <= 4 * len(key):
        place = np.full(n_keys, -1, dtype=np.int64)
        place[key] = np.arange(len(key))
        order = place[place >= 0]
        return order if len(order) == len(key) else None
    order = np.argsort(key, kind="stable")
    return None if np.any(key[order][1:] == key[order][:-1]) else order


def _batch_error(what: str) -> RuntimeError:
    return RuntimeError(
        f"Internal error in the feature engine: a batch's cohort rows {what}. Please report it."
    )


def _joined(con, cohort: pa.Table, name: str, on: str) -> pa.Array:
    """The value ``v`` of the shared extra table ``_rt_<name>`` joined ``on`` each row of
    ``cohort`` (``c``): null where none matches, an internal error where several do."""
    con.register("_rt_base", cohort.append_column("_rt_row", pa.array(np.arange(len(cohort)))))
    try:
        got = con.sql(
            f"SELECT c._rt_row, {name}.v FROM _rt_base AS c JOIN _rt_{name} AS {name} ON {on}"
        ).to_arrow_table()
    finally:
        con.unregister("_rt_base")
    return got["v"].take(_placed(got["_rt_row"].to_numpy(), len(cohort), name))


def _placed(rows: np.ndarray, n: int, name: str) -> pa.Array:
    """The indices that take the values of query ``name``, whose rows are the cohort rows
    ``rows`` (of ``n``), into the cohort's order: null where a cohort row has none; an
    internal error where a row is no cohort row's or two are the same one's."""
    where = np.full(n, -1, dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise _several(name, "rows that are no cohort row's")
    where[rows] = np.arange(len(rows))
    if np.count_nonzero(where >= 0) != len(rows):
        raise _several(name, "several rows for a cohort row")
    return pa.array(where, mask=where < 0)


def _several(name: str, what: str) -> RuntimeError:
    return RuntimeError(
        f"Internal error in the feature engine: {name} has {what}. Please report it."
    )


def _timeline_rows(con, t: _Timeline, batch, pts, uniq) -> tuple:
    """The rows of timeline ``t`` of the batch's pupils (``uniq``) with the values its grids
    add up (a slice of the rows read once, for a small source), and their pupil numbers."""
    value_cols = t.values(t.recipes(t.complete))
    if t.cached is None:
        return _batch_rows(con, t, batch, pts, value_cols, uniq)
    lo, hi = batch[4]
    every, idx = t.cached
    start, stop = np.searchsorted(idx, [lo, hi])
    return every.slice(start, stop - start), (idx[start:stop] - lo).astype(np.int32)


def _lookups(
    t: _Timeline, read: dict, pts, pos, row_pupil, row_date, n_pupils, buffers, counts, row_wise
) -> tuple[dict, dict]:
    """The values of timeline ``t`` at its points for every cohort row of the batch: NumPy
    arrays of running totals (floats or doubles), Arrow arrays of dates; and the columns
    of ``counts`` (``name -> (n, s)`` as in :func:`_counts`, of this timeline's lookups).

    Where the grids' cells are fewer than a date's rows (a source most pupils have no
    rows in) the counts are worked out in the cells, date by date, and each row takes
    its count (:func:`_cell_counts`); the rows then take only the lookups in
    ``row_wise``. Else every lookup is taken and the counts are left to the caller."""
    # the rows of the batch's pupils (:func:`_timeline_rows`, with their pupil numbers)
    # with their key's day and the values the grids add up; their bucket (the number
    # of points up to the key) and the sums per pupil and bucket are worked out here
    rows = read.pop(t.name)  # taken from ``read``: let go once its grids are built
    rows, idx = rows() if callable(rows) else rows  # (lazy: read now)
    recipes = t.recipes(t.complete)
    value_cols = t.values(recipes)
    columns = {key: rows[col] for key, col in value_cols.items()}
    day = rows["day"]
    del rows  # each column is let go once its grid is built
    # the grids hold only the pupils with rows (most pupils have no social care rows) and
    # one slot of nothing, where the others look up; a point's slots lie side by side
    have = np.zeros(n_pupils + 1, dtype=bool)
    have[idx] = True
    # rows of no pupil of the batch (number n_pupils, _batch_rows) go to a cell of their own
    stray = bool(have[n_pupils])
    have[n_pupils] = False
    width = int(np.count_nonzero(have))
    if width == n_pupils:  # every pupil has rows: slots are the pupils' numbers
        slot, cells = None, width + stray
    else:
        slot, cells = np.where(have, np.cumsum(have) - 1, width), width + 1
        if stray:
            slot[n_pupils], cells = cells, cells + 1
    n_pts = len(pts)
    shape = (n_pts, cells)
    day = one_chunk(day).cast(pa.int32()).to_numpy(zero_copy_only=False)
    # each row's cell: its slot plus its bucket's first cell, in memory kept from batch to
    # batch (fresh memory is zeroed by the kernel: for a large source, most of the work)
    scratch = buffers[1]
    flat = scratch.get(" flat", len(idx), np.int64)
    if slot is None:
        np.copyto(flat, idx)
    else:
        np.take(slot, idx, out=flat)
    flat += _buckets(pts, day, cells, scratch)
    del idx, day
    size = n_pts * cells
    # a count whose value is there on every row of this batch is the count of every row
    for col, (agg, key) in list(recipes.items()):
        if agg == "COUNT" and key is not None and pc.all(columns[key]).as_py() is not False:
            recipes[col] = ("COUNT", None)
    # the values each grid reads: let go after their last grid (or now, if none reads them)
    uses = dict.fromkeys(columns, 0)
    for agg, key in set(recipes.values()):
        for k in [k for _, k in key] if agg == "LIN" else [key]:
            if k is not None:
                uses[k] += 1
    for key in [key for key, n in uses.items() if not n]:
        del columns[key]

    date_kinds: dict = {}  # value key -> (Arrow type, NumPy type) of dates

    def add_up(agg: str, key) -> np.ndarray:
        """The grid of running totals (or maxima, minima) of one value (None: of rows).

        Running totals come as floats when they are sure to be whole numbers within
        +-2**23 (:data:`_FLOAT_WHOLE`), else as doubles.
        """
        v = None if key is None else columns[key]
        if key is not None:
            uses[key] -= 1
            if not uses[key]:  # its last grid
                del columns[key]
        if agg in _SUMS:  # added up into memory kept from batch to batch (as quick as
            # np.bincount, whose fresh output the kernel zeroes: a large source's grids)
            bins = scratch.get(" bins", size, np.float64)
            bins.fill(0)
            if v is None:
                np.add.at(bins, flat, 1.0)
            else:
                np.add.at(bins, flat, doubles_of(v) if agg == "SUM" else ones_of(v))
            return _running_sums(bins, shape, agg == "SUM" or len(flat), kept=False)
        raw = np.asarray(v.to_numpy(zero_copy_only=False))
        date_kinds[key] = (v.type, raw.dtype)
        grid = np.full(size, _EMPTY[agg], dtype=np.int64)
        known = ~np.isnat(raw)
        _ORDER[agg].at(grid, flat[known], raw[known].view(np.int64))
        _accumulate(_ORDER[agg], grid.reshape(shape))
        return grid

    lookups: dict[tuple, list] = {}  # recipe -> [(name, point)], point by point
    for name, (point, col) in sorted(t.lookups.items(), key=lambda item: item[1][0]):
        lookups.setdefault(recipes[col], []).append((name, point))
    # the grids of sums of columns, from the grids of their columns (kept until then):
    # floats where a column's totals are whole numbers within 2**23 (_running_sums)
    bases = {k for agg, key in lookups if agg == "LIN" for _, k in key}
    kept = {k: add_up("SUM", k) for k in bases}
    # each cohort row's slot in the grids (pupils without rows: the empty slot), and the
    # rows of each as-of date (the rows come date by date): a date's rows look up one
    # point's row of the grid, points x slots, which stays in the cache
    row_slot = row_pupil if slot is None else slot[row_pupil]
    n_dates = len(next(iter(pos.values()), ()))
    bounds = np.searchsorted(row_date, np.arange(n_dates + 1))
    blocks = [(d, int(a), int(b)) for d, (a, b) in enumerate(itertools.pairwise(bounds)) if b > a]
    # counts in the cells when they are fewer than a date's rows: the grids they read
    # are held (small, for such a source) and only the lookups rows need are taken
    in_cells = bool(counts) and cells * n_dates * 2 <= len(row_pupil)
    held: dict = {}  # lookup -> its grid, points x slots
    if in_cells:
        needs = {k for n, s in counts.values() for _, k in n + (s or ())}
    out = {}
    for (agg, key), names in sorted(lookups.items(), key=lambda item: item[0][0] == "LIN"):
        if agg == "LIN":
            grid = np.zeros(size, dtype=_lin_dtype(key, kept, shape))
            for sign, k in key:
                (np.add if sign > 0 else np.subtract)(grid, kept[k], out=grid)
            agg = "SUM"
        elif agg == "SUM" and key in kept:
            grid = kept[key]
        else:
            grid = add_up(agg, key)
        if (
            agg in _SUMS
            and grid.dtype != np.float32
            and grid.size
            and grid.min() >= -_FLOAT_WHOLE
            and grid.max() <= _FLOAT_WHOLE
        ):
            grid = grid.astype(np.float32)  # whole numbers: exact as floats, half the memory
        grid = grid.reshape(shape)
        done: dict = {}  # point -> the values there (names of the same grid and point share)
        shown = {point for name, point in names if name in t.visible}
        if in_cells:
            held.update({name: grid for name, _ in names if name in needs})
            names = [(name, point) for name, point in names if name in row_wise]
        for name, point in names:
            if point in done:
                out[name] = done[point]
                continue
            if agg in _SUMS:  # into memory kept from batch to batch (no fresh page faults):
                # the batch's own if the SQL reads it, else scratch (read by _counts only)
                mem = buffers[0] if point in shown else buffers[1]
                values = mem.get(name, len(row_pupil), grid.dtype)
            else:
                values = np.empty(len(row_pupil), dtype=grid.dtype)
            at = pos[point]
            # (np.take into ``out`` with its checks buffers the output: slots are in range
            # by construction, and "wrap" writes straight, twice as quick)
            for d, a, b in blocks:
                np.take(grid[at[d]], row_slot[a:b], out=values[a:b], mode="wrap")
            if agg not in _SUMS:
                values[values == _EMPTY[agg]] = np.iinfo(np.int64).min  # NaT: no row yet
                kind, np_kind = date_kinds[key]
                values = pa.array(values.view(np_kind), type=kind, from_pandas=True)
            out[name] = done[point] = values
        del grid
    made = {}
    if in_cells:
        at = {name: pos[point] for name, (point, _) in t.lookups.items()}
        for name, (n, s) in counts.items():
            made[name] = _cell_counts(name, n, s, held, at, row_slot, blocks, buffers[0])
    return {name: out[name] for name in t.lookups if name in out}, made


#: Running totals within +-this are looked up as floats: whole numbers, so they and the
#: sum of two of them (:func:`_counts`) are exact as floats (below 2**24).
_FLOAT_WHOLE = 2**23


def _arrow(values) -> pa.Array:
    """A lookup as an Arrow array (NumPy arrays of running totals without a copy)."""
    if not isinstance(values, np.ndarray):
        return values
    kind = pa.float32() if values.dtype == np.float32 else pa.float64()
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _counts(name: str, n: tuple, s: tuple | None, values: dict, buffers, scratch) -> pa.Array:
    """``CASE WHEN n > 0 THEN s END`` for every cohort row (``s`` None: 1), where ``n`` and
    ``s`` are sums of lookups with signs, ``((sign, lookup), ...)``.

    In floats when the lookups are floats (whole numbers within +-2**23, so a sum of two
    is exact), else in doubles; missing where ``n`` is not positive (and, with ``s``
    None, NaN there: :data:`NAN_MISSING`).
    """
    terms = n + (s or ())
    single = all(values[k].dtype == np.float32 for _, k in terms) and max(len(n), len(s or ())) <= 2
    kind = np.float32 if single else np.float64
    size = len(values[terms[0][1]])
    out = buffers.get(name, size, kind)
    total = out if s is None or s == n else scratch.get("n", size, kind)
    _signed_sum(n, values, total)
    valid = total > 0
    if s is None:  # 1 where valid, else 0 / 0: NaN
        np.copyto(out, valid)
        with np.errstate(invalid="ignore"):
            np.divide(out, out, out=out)
    elif s != n:
        _signed_sum(s, values, out)
    kind = pa.float32() if single else pa.float64()
    bits = pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = size - int(np.count_nonzero(valid))
    return pa.Array.from_buffers(kind, size, [bits, pa.py_buffer(out)], null_count=nulls)


def _cell_counts(name: str, n: tuple, s, grids: dict, at: dict, row_slot, blocks, buffers):
    """:func:`_counts` worked out in the cells of the grids, then taken by each row (NaN
    where missing: :data:`NAN_MISSING`).

    ``grids`` holds each lookup's grid (points x slots), ``at`` each lookup's point
    number per as-of date, ``blocks`` the rows of each date ``(date, first, end)``. The
    same sums in the same types as :func:`_counts`, so the same values, with a sum per
    cell and date rather than per row.
    """
    terms = n + (s or ())
    single = all(grids[k].dtype == np.float32 for _, k in terms) and max(len(n), len(s or ())) <= 2
    kind = np.float32 if single else np.float64
    size = len(row_slot)
    out = buffers.get(name, size, kind)
    width = grids[terms[0][1]].shape[1]
    total, other = np.empty(width, dtype=kind), np.empty(width, dtype=kind)
    for d, a, b in blocks:  # each cell's value, NaN where missing: one take per date
        _signed_sum(n, {k: grids[k][at[k][d]] for _, k in n}, total)
        if s is None:
            other.fill(1)
        elif s != n:
            _signed_sum(s, {k: grids[k][at[k][d]] for _, k in s}, other)
        value = np.where(total > 0, total if s == n else other, np.nan).astype(kind, copy=False)
        np.take(value, row_slot[a:b], out=out[a:b], mode="wrap")
    valid = ~np.isnan(out)  # (sums of whole numbers are never NaN)
    kind = pa.float32() if single else pa.float64()
    bits = pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = size - int(np.count_nonzero(valid))
    return pa.Array.from_buffers(kind, size, [bits, pa.py_buffer(out)], null_count=nulls)


def _days_active(name: str, terms: tuple, values: dict, positions, row_date, buffers) -> pa.Array:
    """The days of spells in a window for every cohort row: ``sum(sign * G(x))`` over
    ``terms``, ``(sign, point column, started, ended, start days, end days + 1)`` (the
    lookups at the point), with ``G(x) = x * (started - ended) - start days + end days``
    and ``x`` the point's day (see :func:`_source_parts`)."""
    out = buffers.get(name, len(row_date), np.float64)
    out.fill(0)
    for sign, point, n1, n2, s1, s2 in terms:
        g = positions[point][row_date].astype(np.float64)
        g *= np.subtract(values[n1], values[n2], dtype=np.float64)
        g -= values[s1]
        g += values[s2]
        (np.add if sign > 0 else np.subtract)(out, g, out=out)
    return _arrow(out)


def _signed_sum(terms: tuple, values: dict, out: np.ndarray) -> None:
    """``out = sum(sign * values[lookup] for sign, lookup in terms)``."""
    (sign, k), *rest = terms
    if sign > 0:
        np.copyto(out, values[k])
    else:
        np.negative(values[k], out=out)
    for sign, k in rest:
        (np.add if sign > 0 else np.subtract)(out, values[k], out=out)


def _buckets(pts: np.ndarray, day: np.ndarray, scale: int = 1, scratch=None) -> np.ndarray:
    """Each day's bucket times ``scale``: the number of points up to it
    (``searchsorted(pts, day, "right")``), int64.

    Read from a table of the days between the first and the last (a lookup per row rather
    than a binary search: 18 ms against 300 ms for 8.5M rows and 96 points), into memory
    of ``scratch`` (:class:`_Buffers`) where given.
    """
    if not len(day):
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(day.min()), int(day.max())
    if hi - lo > 4 * len(day) + 100_000:  # a few rows over a long span: search
        return np.searchsorted(pts, day, side="right").astype(np.int64) * scale
    table = np.searchsorted(pts, np.arange(lo, hi + 1), side="right").astype(np.int64) * scale
    if scratch is None:
        return table[day - lo]
    at = np.subtract(day, lo, out=scratch.get(" day", len(day), day.dtype))
    return np.take(table, at, out=scratch.get(" bucket", len(day), np.int64), mode="wrap")


def _running_sums(bins: np.ndarray, shape, rows: bool | int, kept: bool = True):
    """The running totals of the sums per slot and bucket ``bins`` (flat, laid out as
    ``shape``): floats where they are whole numbers within +-2**23 for sure,
    accumulated as floats (half the memory read), else doubles.

    ``rows`` is True for a sum of values, else the number of rows counted: counts are
    at most that. Sums of whole numbers that are never negative (counts among them)
    are accumulated as floats when every bucket is exact as a float, and kept if the
    totals (the last point) stay within 2**23 (for counts of at most 2**23 rows, sure).
    ``kept`` False: ``bins`` is scratch, never returned.
    """
    sure = rows is not True and rows <= _FLOAT_WHOLE
    if bins.size and (sure or (bins.min() >= 0 and bins.max() <= _FLOAT_WHOLE)):
        grid = bins.astype(np.float32).reshape(shape)
        _accumulate(np.add, grid)
        if sure or grid[-1].max() <= _FLOAT_WHOLE:
            return grid.ravel()
    # (bincount of no rows gives integers)
    grid = bins.astype(np.float64, copy=not kept).reshape(shape)
    _accumulate(np.add, grid)
    return grid.ravel()


def _lin_dtype(terms, kept: dict, shape):
    """float32 where the sum of the grids ``terms`` (``(sign, key)``) adds up exactly in
    floats: every grid a float one (never negative, :func:`_running_sums`) and the
    largest totals adding up to at most 2**23; else float64."""
    bound = 0.0
    for _, k in terms:
        grid = kept[k]
        if grid.dtype != np.float32:
            return np.float64
        if grid.size:
            grid = grid.reshape(shape)
            bound += float(grid[-1].max())
    return np.float32 if bound <= _FLOAT_WHOLE else np.float64


def _accumulate(ufunc, grid: np.ndarray) -> None:
    """Accumulate ``grid`` (points x slots) in place along its points.

    The rows are added one after the other: a pass over contiguous memory each, three
    times quicker than ``ufunc.accumulate`` reading columns with a stride.
    """
    for i in range(1, len(grid)):
        ufunc(grid[i], grid[i - 1], out=grid[i])


def doubles_of(arr) -> np.ndarray:
    """A column of doubles without missing values (sums read missing as 0 in SQL)."""
    return one_chunk(arr).to_numpy(zero_copy_only=False)


def ones_of(arr) -> np.ndarray:
    """A column of booleans (whether a value is there) as weights 1.0 and 0.0."""
    return one_chunk(arr).to_numpy(zero_copy_only=False).astype(np.float64)


class _Buffers:
    """Arrays of numbers (doubles or floats) reused from batch to batch, one per name.

    A batch's lookups are written into them and handed to DuckDB without a copy; a set
    is overwritten only by a later batch, once the query reading them has run (a set
    per batch in flight), or is scratch, read while the batch is prepared.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, n: int, dtype=np.float64) -> np.ndarray:
        arr = self._arrays.get(name)
        if arr is None or len(arr) < n or arr.dtype != dtype:
            arr = self._arrays[name] = np.empty(n, dtype=dtype)
        return arr[:n]
