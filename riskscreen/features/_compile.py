"""Compile a :class:`FeatureSpec` to one set-based SQL statement (DuckDB dialect).

Each feature becomes a conditional aggregate over a range join of the cohort
with its source's events (one aggregate CTE per source), or a small CTE of its
own (``current``, ``school_rate``); the features' raw values are joined back to
the cohort and imputed in the final SELECT. The time rules the SQL encodes are
documented in :mod:`riskscreen.features._run`.
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd

from riskscreen._time import parse_duration
from riskscreen.data import _codes
from riskscreen.data._tables import TABLES
from riskscreen.data._views import NOT_EVENTS, TableViews, quote
from riskscreen.features._spec import (
    EVENT_AGGREGATES,
    SPELL_AGGREGATES,
    Condition,
    Feature,
    FeatureSpec,
)

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "REAL")
_NUMERIC += ("DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "BOOLEAN")
COHORT_COLUMNS = {"ncyear": "BIGINT", "on_roll": "BOOLEAN", "school_id": "BIGINT"}


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
    cols = [f"{alias}.{quote(c)}" for c in cond.columns]
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
        return f"{alias}.{quote(q)}"
    terms = []
    for col, coef in q.items():
        ref = f"{alias}.{quote(col)}"
        if float(coef) == 1.0:
            terms.append(f"+ {ref}")
        elif float(coef) == -1.0:
            terms.append(f"- {ref}")
        else:
            terms.append(f"+ {float(coef)!r} * CAST({ref} AS DOUBLE)")
    text = " ".join(terms)
    return "(" + (text[2:] if text.startswith("+ ") else "0 " + text) + ")"


def _roll_by_counts(lo: str, hi: str) -> str:
    """``school_roll`` (the pupils on each school's roll on each as-of date) as running counts.

    An enrolment counts on the as-of dates ``a`` with ``lo < a <= hi`` (its known start
    and end: :func:`riskscreen.features._cohort._counted_interval`), so a school's roll is
    the enrolments that started before ``a`` less those that also ended before it: two
    counts per school of the enrolments before each date, summed date after date, instead
    of every enrolment joined with every date it is open on (1M pupils, 24 dates: 1.1 s
    against 1.9 s). Pupils with overlapping spells (``school_overlaps``) are counted once
    per school by the join, as in the compiled CTE; the rows are the same (a school and
    date with a roll).
    """
    spells = (
        f"SELECT en.school_id, en.pupil_id, {lo} AS lo, {hi} AS hi, "
        "o.pupil_id IS NOT NULL AS several FROM enrolments AS en "
        "LEFT JOIN school_overlaps AS o ON o.pupil_id = en.pupil_id"
    )
    return (
        f"SELECT * FROM (WITH spells AS ({spells}), "
        "d AS (SELECT as_of_date, LAG(as_of_date) OVER (ORDER BY as_of_date) AS prev "
        "FROM (SELECT DISTINCT as_of_date FROM asof_dates)), "
        "steps AS (SELECT school_id, lo AS day, 1 AS delta FROM spells "
        "WHERE NOT several AND lo IS NOT NULL UNION ALL SELECT school_id, GREATEST(lo, hi), -1 "
        "FROM spells WHERE NOT several AND lo IS NOT NULL AND hi IS NOT NULL), "
        # each start and end counted from the first as-of date after it
        "bucketed AS (SELECT d.as_of_date, s.school_id, SUM(s.delta) AS delta FROM steps AS s "
        "JOIN d ON s.day < d.as_of_date AND (d.prev IS NULL OR s.day >= d.prev) GROUP BY ALL), "
        "running AS (SELECT g.as_of_date, g.school_id, SUM(COALESCE(b.delta, 0)) OVER "
        "(PARTITION BY g.school_id ORDER BY g.as_of_date ROWS UNBOUNDED PRECEDING) AS n FROM "
        "(SELECT d.as_of_date, k.school_id FROM d CROSS JOIN (SELECT DISTINCT school_id FROM "
        "bucketed) AS k) AS g LEFT JOIN bucketed AS b ON b.as_of_date = g.as_of_date "
        "AND b.school_id IS NOT DISTINCT FROM g.school_id), "
        "overlapping AS (SELECT a.as_of_date, en.school_id, COUNT(DISTINCT en.pupil_id) AS n "
        "FROM asof_dates AS a JOIN spells AS en ON en.several AND en.lo < a.as_of_date "
        "AND (en.hi IS NULL OR a.as_of_date <= en.hi) GROUP BY ALL) "
        "SELECT COALESCE(r.as_of_date, s.as_of_date) AS as_of_date, "
        "COALESCE(r.school_id, s.school_id) AS school_id, "
        "CAST(COALESCE(r.n, 0) + COALESCE(s.n, 0) AS BIGINT) AS n_roll FROM running AS r "
        "FULL JOIN overlapping AS s ON s.as_of_date = r.as_of_date "
        "AND s.school_id IS NOT DISTINCT FROM r.school_id) AS roll WHERE n_roll > 0"
    )


class _Compiler:
    """Turns each feature into aggregate parts (per source) and a final expression."""

    def __init__(self, sources: TableViews) -> None:
        self.sources = sources
        self.parts: dict[str, list[tuple[str, str]]] = {}  # source -> [(alias, agg sql)]
        self.extra_ctes: list[tuple[str, str]] = []
        self.extra_joins: list[str] = []
        self._n = 0
        self._seen: dict[tuple, str] = {}
        self.starts: dict[str, str] = {}  # column -> SQL of a window start
        # plan "running_totals" (riskscreen.features._many_dates): the running totals
        # looked up, the CTEs run per batch beside them (name, sql, columns) and the
        # extra CTEs that do not read the cohort (computed once for every batch)
        self.timelines: list = []
        self.counts: dict[str, tuple] = {}  # running totals' counts worked out in NumPy
        self.side_ctes: list[tuple[str, str, list[str]]] = []
        self.side_rows: dict[str, str] = {}  # side CTE -> the rows it reads (if they may be none)
        self.shared_extra: list[str] = []
        # the same tables by another SQL, quicker on DuckDB, where they are computed once
        # for all the dates (shared_tables; name -> body)
        self.shared_bodies: dict[str, str] = {}
        # plan "by_date" with shared tables: the sources aggregated per set of dates for
        # all the pupils of its batches (name -> SQL over dates_w)
        self.shared_sources: dict[str, str] = {}
        # plan "running_totals": the layers of the projection after the cohort and the
        # output columns, as (alias, expression) (riskscreen.features._project)
        self.projection: tuple | None = None
        # plan "running_totals": every aggregate is a column of the cohort's rows ("c.")
        self.inline = False

    def cohort_w_sql(self, head: str = "c.*", table: str = "cohort") -> str:
        """The cohort with a column per window start the aggregates use (``cohort_w``);
        ``head`` and ``table`` give another table's columns with the window starts."""
        starts = "".join(f", {sql} AS {col}" for col, sql in sorted(self.starts.items()))
        return f"SELECT {head}{starts} FROM {table} AS c"

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

    def _part(self, source, fn, value, date, *, win, filt, extra, bounded, kind) -> str:
        """Register one conditional aggregate of ``source``; return its column reference.

        ``kind`` says what the aggregate is, for the plan over many as-of dates
        (:mod:`riskscreen.features._many_dates`): ``("event", integral)`` for an
        aggregate of the rows before the as-of date in the window (``integral``: the
        value is a whole number), or ``(spell aggregate, window)`` for ``active``,
        ``ended_count``, ``days_since_end``, ``days_active``; ``("trend", None)``.
        """
        key = (source, fn, value, date, win.text if win else None, filt, extra, bounded)
        if key in self._seen:
            return self._seen[key]
        alias = self._alias()
        self._seen[key] = f"c.{alias}" if self.inline else f"{_src_alias(source)}.{alias}"
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
                "kind": kind,
            }
        )
        return self._seen[key]

    # -- validation -----------------------------------------------------------------------------
    def validate(self, f: Feature) -> None:
        owner = f"Feature {f.name!r}"
        if f.source == "cohort":
            if f.aggregate != "value" or f.column not in COHORT_COLUMNS:
                raise ValueError(
                    f"{owner}: source 'cohort' supports aggregate 'value' of a column in "
                    f"{sorted(COHORT_COLUMNS)}. Got aggregate {f.aggregate!r} of "
                    f"{f.column!r} instead."
                )
            return
        known = sorted(n for n in self.sources.info if n not in NOT_EVENTS) + ["cohort"]
        if f.source not in self.sources.info or f.source in NOT_EVENTS:
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
            return f"CAST(c.{quote(f.column)} AS DOUBLE)"
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
        w = parse_duration(window, allow_all=True)
        date = f"e.{quote(info.date)}"
        start = w.start_sql("c.as_of_date")
        start_col = self._ws(w)
        filt = condition_sql(f.where)
        agg = f.aggregate
        src = f.source
        q = quantity_sql(f.column) if f.column is not None else None

        integral = q is None or _integral(f.column, info.columns)
        if f.denominator is not None:
            integral = integral and _integral(f.denominator, info.columns)

        def part(fn, value, *, win=w, extra=None, bounded=True, kind=("event", integral)):
            return self._part(
                src, fn, value, date, win=win, filt=filt, extra=extra, bounded=bounded, kind=kind
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
            t = ("trend", None)
            n = part("SUM", "1.0", extra=k, kind=t)
            sx = part("SUM", x, extra=k, kind=t)
            sy = part("SUM", y, extra=k, kind=t)
            sxy = part("SUM", f"{x} * {y}", extra=k, kind=t)
            sxx = part("SUM", f"{x} * {x}", extra=k, kind=t)
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
                kind=("active", w),
            )
            return f"CAST(COALESCE({p}, 0) AS DOUBLE)"
        if agg == "days_active":
            lo = date if start_col is None else f"GREATEST({date}, {start_col})"
            hi = f"LEAST(COALESCE({end} + INTERVAL '1' DAY, c.as_of_date), c.as_of_date)"
            days = f"GREATEST(DATE_DIFF('day', {lo}, {hi}), 0)"
            p = part("SUM", days, win=None, bounded=False, kind=("days_active", w))
            return f"CAST(COALESCE({p}, 0) AS DOUBLE)"
        end_in = f"{end} < c.as_of_date" + (
            "" if start_col is None else f" AND {end} >= {start_col}"
        )
        if agg == "ended_count":
            p = part("SUM", "1", win=None, extra=end_in, bounded=False, kind=("ended", w))
            return f"CAST(COALESCE({p}, 0) AS DOUBLE)"
        if agg == "days_since_end":
            p = part("MAX", end, win=None, extra=end_in, bounded=False, kind=("since_end", w))
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
                f"e.{quote(info.id)} = c.pupil_id AND {date} < c.as_of_date AND "
                f"{info.known_sql('e', 'c.as_of_date')} WHERE {cond}) AS t "
                "WHERE rn = 1",
            )
        )
        self.extra_joins.append(
            f"LEFT JOIN {name} ON {name}.pupil_id = c.pupil_id AND {name}.as_of_date = c.as_of_date"
        )
        return f"c.{name}_v" if self.inline else f"{name}.v"

    def _school_rate(self, f, info, cond) -> str:
        name = f"school_{len(self.extra_ctes)}"
        date = f"e.{quote(info.date)}"
        if "school_roll" not in [n for n, _ in self.extra_ctes]:
            from riskscreen.features._cohort import (
                _counted_interval,
                open_enrolments_sql,
                overlapping_pupils_ctes,
            )

            sources = self.sources.info
            # a pupil counts once per school: only pupils with overlapping spells need
            # the (costly) distinct count
            self.extra_ctes += overlapping_pupils_ctes(sources["enrolments"], "school_overlaps")
            self.extra_ctes.append(
                (
                    "school_roll",
                    "SELECT as_of_date, school_id, COUNT(*) FILTER (WHERE NOT several) + "
                    "COUNT(DISTINCT CASE WHEN several THEN pupil_id END) AS n_roll FROM "
                    f"({open_enrolments_sql(sources, 'school_overlaps')}) AS en "
                    "GROUP BY as_of_date, school_id",
                )
            )
            lo, hi = _counted_interval(sources["enrolments"], "en")
            self.shared_bodies["school_roll"] = _roll_by_counts(lo, hi)
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
        return f"c.{name}_v" if self.inline else f"{name}.v"

    def source_ctes(self) -> list[tuple[str, str]]:
        """One CTE per source: all its features as conditional aggregates over one join."""
        return [(_src_alias(src), self.join_cte(src, parts)) for src, parts in self.parts.items()]

    def join_cte(
        self, src: str, parts: list[dict], relation: str | None = None, *, by_dates: bool = False
    ) -> str:
        """The aggregates ``parts`` of ``src`` over a range join of the cohort with its rows.

        The join keeps events before the as-of date and, when every feature of the
        source has a bounded window, after the start of the widest one. A filter
        shared by every part moves into the join condition. ``relation`` replaces
        the source's rows (e.g. only some of them); by default all of them.

        ``by_dates``: the same aggregates joined with the as-of dates (``dates_w``: one
        row per date with its window starts) rather than the cohort's rows, for the
        pupils of the cohort on those dates (``_cohort_all``, ``asof_dates``): valid where
        the aggregates read no column of the cohort but its date and window starts
        (:func:`_by_dates_only`).
        """
        info = self.sources.info[src]
        date = f"e.{quote(info.date)}"
        ident = f"e.{quote(info.id)}"
        on = f"{date} < c.as_of_date"
        if not by_dates:
            on = f"{ident} = c.pupil_id AND {on}"
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
        if by_dates:
            return (
                f"SELECT {ident} AS pupil_id, c.as_of_date, {', '.join(cols)} FROM dates_w AS c "
                f"JOIN {relation or info.relation} AS e ON {on} WHERE {ident} IN (SELECT "
                "pupil_id FROM _cohort_all WHERE as_of_date IN (SELECT as_of_date FROM "
                f"asof_dates)) GROUP BY {ident}, c.as_of_date"
            )
        return (
            f"SELECT c.pupil_id, c.as_of_date, {', '.join(cols)} FROM cohort_w AS c "
            f"JOIN {relation or info.relation} AS e ON {on} GROUP BY c.pupil_id, c.as_of_date"
        )

    def dates_w_sql(self) -> str:
        """The as-of dates of ``asof_dates`` with the window starts (``dates_w``)."""
        return self.cohort_w_sql("c.as_of_date", "asof_dates")


def _by_dates_only(sql: str, starts) -> bool:
    """Whether ``sql`` reads no column of the cohort (``c.``) but its date and window starts."""
    return all(col == "as_of_date" or col in starts for col in re.findall(r"\bc\.(\w+)", sql))


_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
_INTEGERS += ("UINTEGER", "UBIGINT")


def _integral(q, columns: dict[str, str]) -> bool:
    """Whether a quantity is computed in whole numbers (so sums of it are exact)."""
    terms = {q: 1.0} if isinstance(q, str) else dict(q)
    return all(
        columns.get(c, "").upper() in _INTEGERS and float(k) in (1.0, -1.0)
        for c, k in terms.items()
    )


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


def compile_sql(
    spec: FeatureSpec, sources: TableViews, cohort_ctes, *, plan: str = "by_date"
) -> tuple[str, list]:
    """The SQL computing ``spec`` for the cohort, and the features in output order.

    ``plan`` is ``"by_date"`` (each as-of date joined with the events in its
    windows) or ``"running_totals"`` (one pass over the events for all the dates:
    :mod:`riskscreen.features._many_dates`); both give the same values.
    """
    sql, features, _ = compile_plan(spec, sources, cohort_ctes, plan=plan)
    return sql, features


def compile_plan(
    spec: FeatureSpec,
    sources: TableViews,
    cohort_ctes,
    *,
    plan: str = "by_date",
    shared_tables: bool = False,
    shared_sources=(),
):
    """:func:`compile_sql`, with the compiler (its timelines, window starts, extra CTEs).

    For ``"running_totals"`` the SQL reads the timelines' values from columns of the
    cohort and the extra CTEs (e.g. a school's rate) from tables ``_rt_<name>``, both
    made by :func:`riskscreen.features._many_dates.run_running_totals`. The extra CTEs
    that do not read the cohort are ``comp.shared_extra``; with ``shared_tables`` the
    plan by date reads them from those tables too (made once for all the batches:
    :func:`riskscreen.features._many_dates.shared_tables`), and the aggregates of the
    sources named in ``shared_sources`` (those that read no cohort column but the date:
    ``comp.shared_sources``) from tables made once per set of dates
    (:func:`riskscreen.features._many_dates.source_tables`).
    """
    comp = _Compiler(sources)
    comp.inline = plan == "running_totals"
    for f in spec:
        comp.validate(f)
    exprs = [(f, comp.expr(f)) for f in spec]
    ctes = []
    raw = [(f"r{i}", e) for i, (_, e) in enumerate(exprs)]
    raw_cols = ", ".join(["c.pupil_id", "c.as_of_date"] + [f"{e} AS {a}" for a, e in raw])
    # e.g. a school's rate: the same for every batch of pupils
    comp.shared_extra = [
        name for name, body in comp.extra_ctes if not re.search(r"\bcohort(_w)?\b", body)
    ]
    if plan == "running_totals":
        from riskscreen.features._many_dates import running_total_parts

        # the cohort's rows come with the timelines' values and the few aggregates
        # still joined by date (run_running_totals): one projection, in the rows' order
        cols, comp.side_ctes = running_total_parts(comp)
        comp.side_ctes += [
            (name, body, ["v"]) for name, body in comp.extra_ctes if name not in comp.shared_extra
        ]
        parts = "".join(f", {e} AS {a}" for a, e in cols)
        ctes.append(("parts", f"SELECT c.*{parts} FROM cohort_w AS c"))
        ctes.append(("raw_features", f"SELECT {raw_cols} FROM parts AS c"))
        order = ""
    else:
        if shared_tables:  # sources read once per set of dates, for all its batches
            for src, parts in comp.parts.items():
                if src not in shared_sources:
                    continue
                body = comp.join_cte(src, parts, by_dates=True)
                if _by_dates_only(body, comp.starts):
                    comp.shared_sources[_src_alias(src)] = body
        ctes += [
            (name, f"SELECT * FROM _rt_{name}" if name in comp.shared_sources else body)
            for name, body in comp.source_ctes()
        ]
        shared = comp.shared_extra if shared_tables else []
        ctes += [
            (name, f"SELECT * FROM _rt_{name}" if name in shared else body)
            for name, body in comp.extra_ctes
        ]
        joins = [
            f"LEFT JOIN {alias} ON {alias}.pupil_id = c.pupil_id "
            f"AND {alias}.as_of_date = c.as_of_date"
            for alias in map(_src_alias, comp.parts)
        ] + comp.extra_joins
        ctes.append(("raw_features", f"SELECT {raw_cols} FROM cohort AS c {' '.join(joins)}"))
        order = " ORDER BY as_of_date, pupil_id"
    # the window starts the aggregates use, known once they are all compiled
    ctes = list(cohort_ctes) + [("cohort_w", comp.cohort_w_sql())] + ctes
    outs = []  # (name, expr) of each output column
    for i, (f, _) in enumerate(exprs):
        imp = f.impute_value
        # None, "median" (filled later) and NaN (kept missing, for models that take it)
        if imp is None or imp == "median" or (isinstance(imp, float) and imp != imp):
            outs.append((f.name, f"CAST(r{i} AS DOUBLE)"))
        else:
            outs.append((f.name, f"CAST(COALESCE(r{i}, {float(imp)!r}) AS DOUBLE)"))
        if f.has_indicator:
            outs.append(
                (f"{f.name}__missing", f"CAST(CASE WHEN r{i} IS NULL THEN 1 ELSE 0 END AS DOUBLE)")
            )
    if plan == "running_totals":  # the projection after the cohort, for NumPy (_project)
        comp.projection = ([cols, raw], outs)
    with_sql = ",\n".join(f"{name} AS ({body})" for name, body in ctes)
    select = ", ".join(["pupil_id", "as_of_date"] + [f"{e} AS {quote(n)}" for n, e in outs])
    sql = f"WITH {with_sql}\nSELECT {select} FROM raw_features{order}"
    return sql, [f for f, _ in exprs], comp
