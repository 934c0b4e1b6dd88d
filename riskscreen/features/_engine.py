"""Compile a FeatureSpec to set-based SQL and run it on DuckDB.

Time semantics
--------------
- Lookback windows are half-open, ``[as_of - window, as_of)``: an event dated on
  the as-of date is *not* seen; an event exactly one window before it is.
  ``"all"`` means everything before the as-of date.
- Events are windowed on their event date (``start_date``, ``entry_date``,
  a custom source's ``date_column``). Attendance periods are windowed on
  ``period_end``: a period counts only once it has finished before the as-of date.
- Spells run from their start date to their end date *inclusive*; an end date on
  or after the as-of date is treated as "still open" (it was not known yet).
  A spell is *active* on the as-of date when ``start < as_of`` and
  (``end`` is missing or ``end >= as_of``). ``days_active`` counts the days of
  ``[start, end]`` that fall in ``[as_of - window, as_of)`` (overlapping spells
  add up). ``spell_count`` counts spells started in the window,
  ``ended_count`` spells whose end date is in the window (``end < as_of``).
- Knowledge dates. Every feature uses only what was *known* before the as-of
  date. Any source, canonical or custom, may carry an optional column
  ``recorded_date`` (dates): the day the row was recorded. A row (event, or
  spell start) counts only when its event date *and* its ``recorded_date`` are
  before the as-of date; a missing ``recorded_date`` means "known on its event
  date". A spell source may also carry ``end_recorded_date``: while it is on or
  after the as-of date the spell's end was not known yet, so the spell is
  treated as still open (``end`` missing) -- for ``active``, ``days_active``,
  ``ended_count``, ``days_since_end``, the cohort's roll and ``school_rate``.
  Without ``end_recorded_date`` an end is known from its own date (the rule
  above). Labels look at what *happened* in the label window and ignore
  knowledge dates.
- The whole query is one SQL statement: one aggregate CTE per source (all its
  features as conditional aggregates over a range join of the cohort with the
  events), joined back to the cohort; output sorted by (as_of_date, pupil_id).
  :func:`run_features` computes the cohort once, then runs that statement for
  batches of at most :data:`BATCH_ROWS` cohort rows (several as-of dates in one
  batch for small cohorts; a larger date split into ``pupil_id`` ranges), so time
  grows linearly with the number of dates instead of spilling one ever larger
  join, aggregate and sort to disk.

No row is dropped silently
--------------------------
Every cohort row comes out, once: event sources are LEFT JOINed to the cohort
(no events -> counts 0, others missing). A cohort row whose ``pupil_id`` has no
row in ``pupils`` (on roll in ``enrolments``, known to ``social_care``, or in a
user-given cohort frame) raises a ``ValueError`` naming the count and example
ids (:func:`check_cohort_pupils`) instead of vanishing from an inner join.
"""

from __future__ import annotations

import datetime
import logging
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskscreen.data import _codes
from riskscreen.data._tables import TABLES
from riskscreen.features._cohort import Cohort, cohort_from_frame
from riskscreen.features._sources import Sources, _q
from riskscreen.features._spec import (
    EVENT_AGGREGATES,
    SPELL_AGGREGATES,
    Condition,
    Feature,
    FeatureSpec,
)
from riskscreen.features._windows import parse_window

logger = logging.getLogger("riskscreen.features")

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "REAL")
_NUMERIC += ("DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "BOOLEAN")
_COHORT_COLUMNS = {"ncyear": "BIGINT", "on_roll": "BOOLEAN", "school_id": "BIGINT"}
_NOT_SOURCES = ("pupils", "schools")


# ---------------------------------------------------------------------------------------------
# as-of dates
# ---------------------------------------------------------------------------------------------
def as_of_frame(as_of_dates, *, owner: str) -> pd.DataFrame:
    """Validate as-of dates and return a one-column frame of unique, sorted dates."""
    if isinstance(as_of_dates, (str, datetime.date, np.datetime64)):
        as_of_dates = [as_of_dates]
    try:
        values = pd.to_datetime(pd.Index(list(as_of_dates)))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The 'as_of_dates' parameter of {owner} must be dates (e.g. '2023-01-09' or a "
            f"list of them). Got {as_of_dates!r} instead ({exc})."
        ) from None
    if len(values) == 0:
        raise ValueError(f"The 'as_of_dates' parameter of {owner} must hold at least one date.")
    if values.isna().any():
        raise ValueError(f"The 'as_of_dates' parameter of {owner} must not contain NaT.")
    if values.tz is not None:
        values = values.tz_localize(None)
    values = values.normalize().unique().sort_values()
    return pd.DataFrame({"as_of_date": values.astype("datetime64[us]")})


def check_range(sources: Sources, dates: pd.DataFrame, names, *, owner: str) -> None:
    """Raise if an as-of date is outside the period the data cover."""
    lo, hi = sources.date_range([n for n in names if n not in _NOT_SOURCES])
    if lo is None:
        raise ValueError(
            f"{owner}: the histories hold no dated events (enrolments, attendance, ...), so "
            "no as-of date can be placed in them."
        )
    end = hi + pd.Timedelta(days=1)
    bad = [d for d in dates["as_of_date"] if not (lo < d <= end)]
    if bad:
        shown = ", ".join(str(pd.Timestamp(d).date()) for d in bad[:5])
        raise ValueError(
            f"The 'as_of_dates' parameter of {owner} must lie within the data range: after "
            f"the first recorded date {lo.date()} and no later than the day after the last "
            f"recorded date {hi.date()} (i.e. in ({lo.date()}, {end.date()}]). "
            f"Got {shown} instead."
        )


def check_cohort_pupils(sources: Sources, cohort_ctes, *, owner: str, from_frame: bool) -> None:
    """Raise if a cohort row's pupil has no row in ``pupils`` (never drop it silently).

    A :class:`Cohort` built from the data needs ``pupils.birth_month`` for the NC
    year that decides membership; a user-given cohort frame naming pupils absent
    from the histories would get features of "no events at all". Both are data
    errors an analyst wants to hear about, so they raise rather than vanish.
    """
    with_sql = ",\n".join(f"{name} AS ({body})" for name, body in cohort_ctes)
    n, n_pupils, n_on_roll, ids = sources.con.execute(
        f"WITH {with_sql}, orphans AS (SELECT c.pupil_id, c.on_roll FROM cohort AS c "
        "WHERE NOT EXISTS (SELECT 1 FROM pupils AS p WHERE p.pupil_id = c.pupil_id)) "
        "SELECT COUNT(*), COUNT(DISTINCT pupil_id), COUNT(*) FILTER (WHERE on_roll), "
        "(SELECT LIST(pupil_id) FROM (SELECT DISTINCT pupil_id FROM orphans "
        "ORDER BY pupil_id LIMIT 5)) FROM orphans"
    ).fetchall()[0]
    if not n:
        return
    shown = ", ".join(str(int(i)) for i in ids)
    if from_frame:
        where = "The 'cohort' frame has"
        fix = "remove them from the cohort or add their rows to 'pupils'"
    else:
        tables = (
            "'enrolments'"
            if n_on_roll == n
            else ("'social_care'" if not n_on_roll else "'enrolments' / 'social_care'")
        )
        where = f"The cohort (pupils on roll in {tables} on an as-of date) has"
        fix = (
            "every screened pupil needs a 'pupils' row, whose birth_month gives the NC "
            f"year; add the missing 'pupils' rows or drop their rows from {tables}"
        )
    raise ValueError(
        f"{owner}: {where} {n} row(s) ({n_pupils} pupil(s)) whose column 'pupil_id' has no "
        f"row in table 'pupils', e.g. pupil_id {shown}. Expected a row in 'pupils' for "
        f"every pupil_id of the cohort; {fix}. (Rows are never dropped silently.)"
    )


# ---------------------------------------------------------------------------------------------
# SQL pieces
# ---------------------------------------------------------------------------------------------
def _lit(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, numbers.Number):
        return repr(float(v)) if isinstance(v, float) else str(int(v))
    if isinstance(v, pd.Timestamp):
        return f"TIMESTAMP '{v.strftime('%Y-%m-%d %H:%M:%S')}'"
    s = str(v)
    return "'" + s.replace("'", "''") + "'"


def condition_sql(cond: Condition | None, alias: str = "e") -> str:
    if cond is None:
        return "TRUE"
    op = cond.op
    if op in ("and", "or"):
        return "(" + f" {op.upper()} ".join(condition_sql(p, alias) for p in cond.parts) + ")"
    if op == "not":
        return f"(NOT {condition_sql(cond.parts[0], alias)})"
    cols = [f"{alias}.{_q(c)}" for c in cond.columns]
    if op in ("==", "!="):
        any_eq = " OR ".join(f"COALESCE({c} = {_lit(cond.value[0])}, FALSE)" for c in cols)
        return f"({any_eq})" if op == "==" else f"(NOT ({any_eq}))"
    if op in ("in", "not in"):
        vals = ", ".join(_lit(v) for v in cond.value)
        if not cond.value:
            any_in = "FALSE"
        else:
            any_in = " OR ".join(f"COALESCE({c} IN ({vals}), FALSE)" for c in cols)
        return f"({any_in})" if op == "in" else f"(NOT ({any_in}))"
    if op == "contains":
        parts = []
        for c in cols:
            for code in cond.value:
                code = str(code).replace("'", "''")
                parts.append(
                    f"COALESCE(',' || REPLACE({c}, ' ', '') || ',' LIKE '%,{code},%', FALSE)"
                )
        return "(" + " OR ".join(parts) + ")"
    if op == "month_in":
        months = ", ".join(str(int(m)) for m in cond.value)
        return "(" + " OR ".join(f"EXTRACT(MONTH FROM {c}) IN ({months})" for c in cols) + ")"
    if op == "is_null":
        return "(" + " OR ".join(f"{c} IS NULL" for c in cols) + ")"
    if op == "not_null":
        return "(" + " AND ".join(f"{c} IS NOT NULL" for c in cols) + ")"
    raise ValueError(f"Unknown condition operator {op!r}.")  # pragma: no cover


def quantity_sql(q, alias: str = "e") -> str:
    """A column, or a linear combination of columns (integer arithmetic where it can)."""
    if isinstance(q, str):
        return f"{alias}.{_q(q)}"
    terms = []
    for col, coef in q.items():
        ref = f"{alias}.{_q(col)}"
        if float(coef) == 1.0:
            terms.append(f"+ {ref}")
        elif float(coef) == -1.0:
            terms.append(f"- {ref}")
        else:
            terms.append(f"+ {float(coef)!r} * CAST({ref} AS DOUBLE)")
    text = " ".join(terms)
    return "(" + (text[2:] if text.startswith("+ ") else "0 " + text) + ")"


class _Compiler:
    """Turns each feature into aggregate parts (per source) and a final expression."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.parts: dict[str, list[tuple[str, str]]] = {}  # source -> [(alias, agg sql)]
        self.extra_ctes: list[tuple[str, str]] = []
        self.extra_joins: list[str] = []
        self._n = 0
        self._seen: dict[tuple, str] = {}
        self.starts: dict[str, str] = {}  # column -> SQL of a window start

    def _ws(self, w) -> str | None:
        """Column of the cohort holding the first day of window ``w`` (None for 'all')."""
        if w is None or w.is_all:
            return None
        col = f"ws_{w.text.lower()}"
        self.starts[col] = w.start_sql("c.as_of_date")
        return f"c.{col}"

    def _alias(self) -> str:
        self._n += 1
        return f"p{self._n}"

    def _part(self, source, fn, value, date, *, win, filt, extra, bounded) -> str:
        """Register one conditional aggregate of ``source``; return its column reference."""
        key = (source, fn, value, date, win.text if win else None, filt, extra, bounded)
        if key in self._seen:
            return self._seen[key]
        alias = self._alias()
        self._seen[key] = f"{_src_alias(source)}.{alias}"
        self.parts.setdefault(source, []).append(
            {
                "alias": alias,
                "fn": fn,
                "value": value,
                "date": date,
                "win": win,
                "filt": filt,
                "extra": extra,
                "bounded": bounded and win is not None and not win.is_all,
            }
        )
        return f"{_src_alias(source)}.{alias}"

    # -- validation -----------------------------------------------------------------------------
    def validate(self, f: Feature) -> None:
        owner = f"Feature {f.name!r}"
        if f.source == "cohort":
            if f.aggregate != "value" or f.column not in _COHORT_COLUMNS:
                raise ValueError(
                    f"{owner}: source 'cohort' supports aggregate 'value' of a column in "
                    f"{sorted(_COHORT_COLUMNS)}. Got aggregate {f.aggregate!r} of "
                    f"{f.column!r} instead."
                )
            return
        known = sorted(n for n in self.sources.info if n not in _NOT_SOURCES) + ["cohort"]
        if f.source not in self.sources.info or f.source in _NOT_SOURCES:
            raise ValueError(
                f"The 'source' parameter of {owner} must be an event table: one of {known}. "
                f"Got {f.source!r} instead."
            )
        info = self.sources.info[f.source]
        if f.aggregate == "value":
            raise ValueError(f"{owner}: aggregate 'value' only applies to source 'cohort'.")
        if f.aggregate in SPELL_AGGREGATES and not info.is_spell:
            raise ValueError(
                f"{owner}: aggregate {f.aggregate!r} needs a source of spells (with an end "
                f"date); {f.source!r} holds events. Use one of {sorted(EVENT_AGGREGATES)}."
            )
        if f.aggregate == "school_rate" and "school_id" not in info.columns:
            raise ValueError(
                f"{owner}: aggregate 'school_rate' needs a 'school_id' column in {f.source!r}."
            )
        for col in sorted(f.columns_used()):
            if col not in info.columns:
                raise ValueError(
                    f"{owner}: table {f.source!r} has no column {col!r}. "
                    f"Columns present: {sorted(info.columns)}."
                )
        for q in (f.column, f.denominator):
            if q is None:
                continue
            for col in [q] if isinstance(q, str) else list(q):
                if not info.columns[col].upper().startswith(_NUMERIC):
                    raise ValueError(
                        f"{owner}: the quantity column {col!r} of {f.source!r} must be "
                        f"numeric (features are numbers). Got type {info.columns[col]}."
                    )
        if f.where is not None and not info.custom:
            _check_codes(f.where, TABLES[f.source], owner, f.source)

    # -- per-aggregate --------------------------------------------------------------------------
    def expr(self, f: Feature) -> str:
        """SQL for the raw (un-imputed) value of ``f`` over the cohort row ``c``."""
        if f.source == "cohort":
            return f"CAST(c.{_q(f.column)} AS DOUBLE)"
        base = self._window_expr(f, f.window)
        if f.compare_window is not None:
            other = self._window_expr(f, f.compare_window)
            base = f"({base} - {other})"
        if f.threshold is not None:
            base = (
                f"(CASE WHEN {base} IS NULL THEN NULL WHEN {base} >= {float(f.threshold)!r} "
                "THEN 1.0 ELSE 0.0 END)"
            )
        return base

    def _window_expr(self, f: Feature, window: str) -> str:
        info = self.sources.info[f.source]
        w = parse_window(window)
        date = f"e.{_q(info.date)}"
        start = w.start_sql("c.as_of_date")
        start_col = self._ws(w)
        filt = condition_sql(f.where)
        agg = f.aggregate
        src = f.source
        q = quantity_sql(f.column) if f.column is not None else None

        def part(fn, value, *, win=w, extra=None, bounded=True):
            return self._part(
                src, fn, value, date, win=win, filt=filt, extra=extra, bounded=bounded
            )

        if agg in ("count", "spell_count"):
            return f"CAST(COALESCE({part('SUM', '1')}, 0) AS DOUBLE)"
        if agg == "any":
            return f"CAST(COALESCE({part('MAX', '1')}, 0) AS DOUBLE)"
        if agg == "sum":
            return f"COALESCE(CAST({part('SUM', q)} AS DOUBLE), 0.0)"
        if agg in ("mean", "max", "min"):
            fn = {"mean": "AVG", "max": "MAX", "min": "MIN"}[agg]
            return f"CAST({part(fn, q)} AS DOUBLE)"
        if agg == "rate":
            num = part("SUM", q)
            den = part("SUM", quantity_sql(f.denominator))
            return f"(CAST({num} AS DOUBLE) / NULLIF(CAST({den} AS DOUBLE), 0.0))"
        if agg in ("days_since_first", "days_since_last", "days_since_start"):
            fn = "MIN" if agg == "days_since_first" else "MAX"
            return f"CAST(DATE_DIFF('day', {part(fn, date)}, c.as_of_date) AS DOUBLE)"
        if agg == "trend":
            qd = f"CAST({q} AS DOUBLE)"
            if f.denominator is not None:
                d = quantity_sql(f.denominator)
                y = f"(CASE WHEN {d} > 0 THEN {qd} / {d} END)"
            else:
                y = qd
            x = f"CAST(DATE_DIFF('day', c.as_of_date, {date}) AS DOUBLE)"
            k = f"{y} IS NOT NULL"
            n = part("SUM", "1.0", extra=k)
            sx = part("SUM", x, extra=k)
            sy = part("SUM", y, extra=k)
            sxy = part("SUM", f"{x} * {y}", extra=k)
            sxx = part("SUM", f"{x} * {x}", extra=k)
            return f"(28.0 * ({n} * {sxy} - {sx} * {sy}) / NULLIF({n} * {sxx} - {sx} * {sx}, 0.0))"
        in_win = "TRUE" if start is None else f"{date} >= {start}"
        cond = f"({in_win} AND {filt})"
        if agg == "current":
            return self._current(f, info, cond, q, date)
        if agg == "school_rate":
            return self._school_rate(f, info, cond)
        # spells: these look at spell ends, so no lower bound on the start date
        end = info.end_sql("e", "c.as_of_date")
        if agg == "active":
            p = part(
                "MAX",
                "1",
                win=None,
                extra=f"({end} IS NULL OR {end} >= c.as_of_date)",
                bounded=False,
            )
            return f"CAST(COALESCE({p}, 0) AS DOUBLE)"
        if agg == "days_active":
            lo = date if start_col is None else f"GREATEST({date}, {start_col})"
            hi = f"LEAST(COALESCE({end} + INTERVAL '1' DAY, c.as_of_date), c.as_of_date)"
            p = part("SUM", f"GREATEST(DATE_DIFF('day', {lo}, {hi}), 0)", win=None, bounded=False)
            return f"CAST(COALESCE({p}, 0) AS DOUBLE)"
        end_in = f"{end} < c.as_of_date" + (
            "" if start_col is None else f" AND {end} >= {start_col}"
        )
        if agg == "ended_count":
            p = part("SUM", "1", win=None, extra=end_in, bounded=False)
            return f"CAST(COALESCE({p}, 0) AS DOUBLE)"
        if agg == "days_since_end":
            p = part("MAX", end, win=None, extra=end_in, bounded=False)
            return f"CAST(DATE_DIFF('day', {p}, c.as_of_date) AS DOUBLE)"
        raise ValueError(f"Unknown aggregate {agg!r}.")  # pragma: no cover

    def _current(self, f, info, cond, q, date) -> str:
        name = f"cur_{len(self.extra_ctes)}"
        self.extra_ctes.append(
            (
                name,
                f"SELECT pupil_id, as_of_date, v FROM (SELECT c.pupil_id, c.as_of_date, {q} AS v, "
                f"ROW_NUMBER() OVER (PARTITION BY c.pupil_id, c.as_of_date ORDER BY {date} DESC, "
                f"{q} DESC NULLS LAST) AS rn FROM cohort AS c JOIN {info.relation} AS e ON "
                f"e.{_q(info.id)} = c.pupil_id AND {date} < c.as_of_date AND "
                f"{info.known_sql('e', 'c.as_of_date')} WHERE {cond}) AS t "
                "WHERE rn = 1",
            )
        )
        self.extra_joins.append(
            f"LEFT JOIN {name} ON {name}.pupil_id = c.pupil_id AND {name}.as_of_date = c.as_of_date"
        )
        return f"{name}.v"

    def _school_rate(self, f, info, cond) -> str:
        name = f"school_{len(self.extra_ctes)}"
        date = f"e.{_q(info.date)}"
        if "school_roll" not in [n for n, _ in self.extra_ctes]:
            enr = self.sources.info["enrolments"]
            leaving = enr.end_sql("en", "a.as_of_date")
            self.extra_ctes.append(
                (
                    "school_roll",
                    "SELECT a.as_of_date, en.school_id, COUNT(DISTINCT en.pupil_id) AS n_roll "
                    "FROM asof_dates AS a JOIN enrolments AS en ON en.entry_date < a.as_of_date "
                    f"AND ({leaving} IS NULL OR {leaving} >= a.as_of_date) "
                    f"AND {enr.known_sql('en', 'a.as_of_date')} "
                    "GROUP BY a.as_of_date, en.school_id",
                )
            )
        cond_a = cond.replace("c.as_of_date", "a.as_of_date")
        self.extra_ctes.append(
            (
                name,
                f"SELECT r.as_of_date, r.school_id, CAST(COALESCE(k.n_events, 0) AS DOUBLE) / "
                f"r.n_roll AS v FROM school_roll AS r LEFT JOIN (SELECT a.as_of_date, "
                f"e.school_id, SUM(CASE WHEN {cond_a} THEN 1 ELSE 0 END) AS n_events "
                f"FROM asof_dates AS a JOIN {info.relation} AS e ON {date} < a.as_of_date "
                f"AND {info.known_sql('e', 'a.as_of_date')} "
                "GROUP BY a.as_of_date, e.school_id) AS k ON k.as_of_date = r.as_of_date "
                "AND k.school_id = r.school_id",
            )
        )
        self.extra_joins.append(
            f"LEFT JOIN {name} ON {name}.school_id = c.school_id "
            f"AND {name}.as_of_date = c.as_of_date"
        )
        return f"{name}.v"

    def source_ctes(self) -> list[tuple[str, str]]:
        """One CTE per source: all its features as conditional aggregates over one join.

        The join keeps events before the as-of date and, when every feature of the
        source has a bounded window, after the start of the widest one. A filter
        shared by every feature of the source moves into the join condition.
        """
        out = []
        for src, parts in self.parts.items():
            info = self.sources.info[src]
            date = f"e.{_q(info.date)}"
            on = f"e.{_q(info.id)} = c.pupil_id AND {date} < c.as_of_date"
            if info.recorded is not None:
                on += f" AND {info.known_sql('e', 'c.as_of_date')}"
            bound = None
            if all(p["bounded"] for p in parts):
                bound = max((p["win"] for p in parts), key=lambda w: w.approx_days)
                on += f" AND {date} >= {self._ws(bound)}"
            filters = {p["filt"] for p in parts}
            shared = filters.pop() if len(filters) == 1 else "TRUE"
            if shared != "TRUE":
                on += f" AND {shared}"
            cols = []
            for p in parts:
                conds = []
                w = p["win"]
                if w is not None and not w.is_all and (bound is None or w.text != bound.text):
                    conds.append(f"{p['date']} >= {self._ws(w)}")
                if p["filt"] != "TRUE" and p["filt"] != shared:
                    conds.append(p["filt"])
                if p["extra"]:
                    conds.append(p["extra"])
                if conds:
                    body = f"{p['fn']}(CASE WHEN {' AND '.join(conds)} THEN {p['value']} END)"
                else:
                    body = f"{p['fn']}({p['value']})"
                cols.append(f"{body} AS {p['alias']}")
            out.append(
                (
                    _src_alias(src),
                    f"SELECT c.pupil_id, c.as_of_date, {', '.join(cols)} FROM cohort_w AS c "
                    f"JOIN {info.relation} AS e ON {on} GROUP BY c.pupil_id, c.as_of_date",
                )
            )
        return out


def _src_alias(source: str) -> str:
    return "agg_" + "".join(ch if ch.isalnum() else "_" for ch in source)


def _check_codes(cond: Condition, table, owner: str, source: str) -> None:
    for p in cond.parts:
        _check_codes(p, table, owner, source)
    if cond.op not in ("==", "!=", "in", "not in", "contains"):
        return
    for col in cond.columns:
        cs = table.columns.get(col)
        codes = cs.codes if cs is not None else None
        if col == "assessment_factors":
            codes = _codes.ASSESSMENT_FACTOR_CODES
        if not codes:
            continue
        bad = [v for v in cond.value if v not in codes]
        if bad:
            raise ValueError(
                f"{owner}: filter on {source}.{col} uses unknown code(s) {bad}; "
                f"expected values from {sorted(codes)}."
            )


def compile_sql(spec: FeatureSpec, sources: Sources, cohort_ctes) -> tuple[str, list]:
    """The SQL computing ``spec`` for the cohort, and the features in output order."""
    comp = _Compiler(sources)
    for f in spec:
        comp.validate(f)
    exprs = [(f, comp.expr(f)) for f in spec]
    source_ctes = comp.source_ctes()
    starts = "".join(f", {sql} AS {col}" for col, sql in sorted(comp.starts.items()))
    ctes = list(cohort_ctes) + [("cohort_w", f"SELECT c.*{starts} FROM cohort AS c")]
    ctes += source_ctes + comp.extra_ctes
    joins = [
        f"LEFT JOIN {alias} ON {alias}.pupil_id = c.pupil_id AND {alias}.as_of_date = c.as_of_date"
        for alias, _ in source_ctes
    ] + comp.extra_joins
    raw_cols = ", ".join(f"{e} AS r{i}" for i, (_, e) in enumerate(exprs))
    ctes.append(
        (
            "raw_features",
            f"SELECT c.pupil_id, c.as_of_date{', ' if raw_cols else ''}{raw_cols} "
            f"FROM cohort AS c {' '.join(joins)}",
        )
    )
    outs = []
    for i, (f, _) in enumerate(exprs):
        imp = f.impute_value
        if imp is None or imp == "median":
            outs.append(f"CAST(r{i} AS DOUBLE) AS {_q(f.name)}")
        else:
            outs.append(f"CAST(COALESCE(r{i}, {float(imp)!r}) AS DOUBLE) AS {_q(f.name)}")
        if f.has_indicator:
            outs.append(
                f"CAST(CASE WHEN r{i} IS NULL THEN 1 ELSE 0 END AS DOUBLE) "
                f"AS {_q(f.name + '__missing')}"
            )
    with_sql = ",\n".join(f"{name} AS ({body})" for name, body in ctes)
    select = ", ".join(["pupil_id", "as_of_date"] + outs)
    sql = f"WITH {with_sql}\nSELECT {select} FROM raw_features ORDER BY as_of_date, pupil_id"
    return sql, [f for f, _ in exprs]


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def open_session(
    histories,
    as_of_dates,
    cohort,
    *,
    owner: str,
    used_sources=(),
    memory_limit=None,
    temp_directory=None,
    threads=None,
    check=True,
):
    """Open sources, register as-of dates, and return (sources, cohort CTEs, dates frame)."""
    sources = Sources(
        histories, memory_limit=memory_limit, temp_directory=temp_directory, threads=threads
    )
    try:
        if isinstance(cohort, pd.DataFrame):
            frame = cohort_from_frame(cohort)
            if as_of_dates is None:
                as_of_dates = frame["as_of_date"].unique()
            dates = as_of_frame(as_of_dates, owner=owner)
            frame = frame[frame["as_of_date"].isin(dates["as_of_date"])]
            sources.con.register("_cohort_frame", frame)
            cohort_ctes = [("cohort", "SELECT * FROM _cohort_frame")]
        else:
            if cohort is None:
                cohort = Cohort()
            if not isinstance(cohort, Cohort):
                raise ValueError(
                    f"The 'cohort' parameter of {owner} must be a Cohort, a DataFrame indexed "
                    f"by (pupil_id, as_of_date), or None. Got {type(cohort).__name__} instead."
                )
            cohort.validate()
            dates = as_of_frame(as_of_dates, owner=owner)
            cohort_ctes = cohort.ctes(sources.info)
            used_sources = set(used_sources) | {"enrolments", "pupils"}
            if cohort.include_off_roll_social_care:
                used_sources.add("social_care")
        sources.con.register("_asof_dates", dates)
        sources.con.execute("CREATE TEMP VIEW asof_dates AS SELECT as_of_date FROM _asof_dates")
        if check:
            used = [s for s in used_sources if s in sources.info]
            sources.check_dates(used)
            check_range(sources, dates, list(sources.info), owner=owner)
            check_cohort_pupils(
                sources, cohort_ctes, owner=owner, from_frame=isinstance(cohort, pd.DataFrame)
            )
        return sources, cohort_ctes, dates
    except BaseException:
        sources.close()
        raise


def _spec_sources(spec: FeatureSpec) -> set[str]:
    out = set()
    for f in spec:
        if f.source != "cohort":
            out.add(f.source)
        if f.aggregate == "school_rate":
            out.add("enrolments")
    return out


def _index(frame: pd.DataFrame) -> pd.DataFrame:
    frame["pupil_id"] = frame["pupil_id"].astype("int64")
    frame["as_of_date"] = frame["as_of_date"].astype("datetime64[us]")
    return frame.set_index(["pupil_id", "as_of_date"])


def run_features(
    histories,
    as_of_dates,
    spec: FeatureSpec,
    cohort=None,
    *,
    memory_limit=None,
    temp_directory=None,
    threads=None,
    output_path=None,
    dtype="float64",
) -> pd.DataFrame:
    """Compute the feature matrix (imputation 'median' left as NaN, filled by the caller).

    With ``output_path`` the result is written by DuckDB straight to a Parquet file
    (never held in pandas) and the path is returned. ``dtype`` (``"float64"`` or
    ``"float32"``) is the dtype of the returned frame's columns (not of the Parquet file).
    """
    owner = "build_features"
    if not isinstance(spec, FeatureSpec):
        raise ValueError(
            f"The 'spec' parameter of {owner} must be a FeatureSpec (e.g. default_spec()) or "
            f"None. Got {type(spec).__name__} instead."
        )
    dtype = _check_dtype(dtype, owner)
    # validate sources exist before touching data
    sources, cohort_ctes, _ = open_session(
        histories,
        as_of_dates,
        cohort,
        owner=owner,
        used_sources=(),
        memory_limit=memory_limit,
        temp_directory=temp_directory,
        threads=threads,
        check=False,
    )
    try:
        compile_sql(spec, sources, cohort_ctes)  # validates the spec before touching data
        used = [s for s in _spec_sources(spec) | {"enrolments", "pupils"} if s in sources.info]
        if isinstance(cohort, Cohort) and cohort.include_off_roll_social_care:
            used.append("social_care")
        sources.check_dates(used)
        dates = sources.con.execute("SELECT as_of_date FROM asof_dates").df()
        check_range(sources, dates, list(sources.info), owner=owner)
        check_cohort_pupils(
            sources, cohort_ctes, owner=owner, from_frame=isinstance(cohort, pd.DataFrame)
        )
        batches = _materialise_cohort(sources, cohort_ctes)
        sql, _ = compile_sql(spec, sources, _BATCH_COHORT)
        if output_path is not None:
            _write_batches(sources, sql, batches, output_path)
            return output_path
        n_rows = sources.con.execute("SELECT COUNT(*) FROM _cohort_all").fetchall()[0][0]
        return _fetch_batches(sources, sql, batches, int(n_rows), dtype)
    finally:
        sources.close()


#: Rows per Arrow record batch when a query's result is copied into the output.
_FETCH_ROWS = 65_536


def _fetch_batches(sources: Sources, sql: str, batches, n_rows: int, dtype) -> pd.DataFrame:
    """Run ``sql`` for every batch and copy its rows straight into one preallocated frame.

    The result is one ``dtype`` block (a column-major array, pandas' own layout for a
    single block) plus the index arrays, allocated once for the ``n_rows`` cohort rows
    and filled in place a record batch at a time: no per-batch frames, no concat and
    no conversion copies, so the peak memory is the result plus one record batch.
    """
    values = pupil = asof = None
    names: list[str] = []
    at = 0
    for batch in batches:
        _set_batch(sources, batch)
        rel = sources.con.sql(sql)
        # DuckDB 2 names it to_arrow_reader; older releases fetch_arrow_reader
        to_reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
        reader = to_reader(_FETCH_ROWS)
        if values is None:
            names = list(reader.schema.names)[2:]
            values = np.empty((n_rows, len(names)), dtype=dtype, order="F")
            pupil = np.empty(n_rows, dtype="int64")
            asof = np.empty(n_rows, dtype="datetime64[us]")
        for rb in reader:
            n = rb.num_rows
            if at + n > n_rows:
                raise _row_count_error(at + n, n_rows)
            pupil[at : at + n] = rb.column(0).to_numpy(zero_copy_only=False)
            asof[at : at + n] = rb.column(1).to_numpy(zero_copy_only=False)
            for j in range(len(names)):
                values[at : at + n, j] = rb.column(j + 2).to_numpy(zero_copy_only=False)
            at += n
    if at != n_rows:
        raise _row_count_error(at, n_rows)
    index = pd.MultiIndex.from_arrays(
        [
            pd.Index(pupil, name="pupil_id", copy=False),
            pd.Index(asof, name="as_of_date", copy=False),
        ]
    )
    return pd.DataFrame(values, index=index, columns=names, copy=False)


def _row_count_error(got: int, expected: int) -> RuntimeError:
    # one feature row per cohort row is the engine's invariant: a join that fans out
    # or loses rows is a bug in riskscreen, never to be papered over
    return RuntimeError(
        f"Internal error in the feature engine: the feature query returned {got} rows for "
        f"{expected} cohort rows (expected exactly one row per cohort row). Please report it."
    )


def _check_dtype(dtype, owner: str) -> np.dtype:
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out not in (np.dtype("float64"), np.dtype("float32")):
        raise ValueError(
            f"The 'dtype' parameter of {owner} must be 'float64' or 'float32'. "
            f"Got {dtype!r} instead."
        )
    return out


#: Cohort rows per query. Features are computed one batch at a time (as-of
#: dates grouped, or one date's pupil_id range; each batch one query). The join
#: of cohort rows with their events, the grouped aggregates and the final sort
#: grow with the rows of a query, and past DuckDB's memory limit they spill to
#: disk, which made many as-of dates super-linear (6 dates at 1M pupils took 7x
#: one date). Batches bound the working set of a query, so time grows linearly
#: with the number of dates; small cohorts stay in one query.
BATCH_ROWS = 250_000

_BATCH_COHORT = [
    (
        "cohort",
        "SELECT k.* FROM _cohort_all AS k WHERE k.as_of_date IN "
        "(SELECT as_of_date FROM asof_dates) AND k.pupil_id BETWEEN "
        "(SELECT lo FROM _pupil_range) AND (SELECT hi FROM _pupil_range)",
    )
]


def _materialise_cohort(sources: Sources, cohort_ctes) -> list[tuple]:
    """Compute the cohort once into ``_cohort_all``; return batches ``(dates, lo, hi)``.

    Dates are grouped while their cohort rows add up to at most :data:`BATCH_ROWS`;
    a date with more rows is split into ranges of ``pupil_id`` (so each query
    reads only the events of its pupils). Batches come in output order.
    """
    with_sql = ",\n".join(f"{name} AS ({body})" for name, body in cohort_ctes)
    con = sources.con
    con.execute(f"CREATE TEMP TABLE _cohort_all AS WITH {with_sql} SELECT * FROM cohort")
    chunks = con.execute(
        "SELECT a.as_of_date, COALESCE(k.chunk, 0), COUNT(k.pupil_id), MIN(k.pupil_id), "
        "MAX(k.pupil_id) FROM asof_dates AS a LEFT JOIN (SELECT as_of_date, pupil_id, "
        f"(ROW_NUMBER() OVER (PARTITION BY as_of_date ORDER BY pupil_id) - 1) // {BATCH_ROWS} "
        "AS chunk FROM _cohort_all) AS k ON k.as_of_date = a.as_of_date "
        "GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    n_chunks = {}
    for date, *_ in chunks:
        n_chunks[date] = n_chunks.get(date, 0) + 1
    batches, rows = [], 0
    for date, _, n, lo, hi in chunks:
        if n_chunks[date] > 1:
            batches.append(([date], int(lo), int(hi)))
            rows = BATCH_ROWS  # a split date is a batch of its own
        elif batches and batches[-1][1] is None and rows + n <= BATCH_ROWS:
            batches[-1][0].append(date)
            rows += n
        else:
            batches.append(([date], None, None))
            rows = n
    _set_batch(sources, batches[0])
    con.execute("CREATE OR REPLACE TEMP VIEW asof_dates AS SELECT as_of_date FROM _asof_batch")
    return batches


def _set_batch(sources: Sources, batch) -> None:
    dates, lo, hi = batch
    frame = pd.DataFrame({"as_of_date": pd.to_datetime(pd.Index(dates)).astype("datetime64[us]")})
    sources.con.register("_asof_batch", frame)
    bounds = pd.DataFrame(
        {
            "lo": pd.Series([lo if lo is not None else -(2**63)], dtype="int64"),
            "hi": pd.Series([hi if hi is not None else 2**63 - 1], dtype="int64"),
        }
    )
    sources.con.register("_pupil_range", bounds)


def _write_batches(sources: Sources, sql: str, batches, output_path) -> None:
    """Stream every batch's rows into one Parquet file (never all held in memory)."""
    import pyarrow.parquet as pq

    if len(batches) == 1:
        _set_batch(sources, batches[0])
        target = str(output_path).replace("'", "''")
        sources.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT PARQUET)")
        return
    writer = None
    try:
        for batch in batches:
            _set_batch(sources, batch)
            rel = sources.con.sql(sql)
            # DuckDB 2 names it to_arrow_reader; older releases fetch_arrow_reader
            to_reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
            reader = to_reader(100_000)
            if writer is None:
                writer = pq.ParquetWriter(str(output_path), reader.schema)
            for record_batch in reader:
                writer.write_batch(record_batch)
    finally:
        if writer is not None:
            writer.close()


def fill_medians(frame: pd.DataFrame, spec: FeatureSpec, medians: Mapping[str, float] | None):
    """Fill features imputed by 'median' (learned medians if given, else this frame's)."""
    for f in spec:
        if f.impute_value == "median":
            if medians is not None and f.name in medians:
                value = medians[f.name]
            else:
                value = frame[f.name].median()
                value = 0.0 if pd.isna(value) else float(value)
            frame[f.name] = frame[f.name].fillna(value)
    return frame
