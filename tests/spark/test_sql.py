"""Translating riskscreen's DuckDB SQL for Spark (no JVM needed: sqlglot only)."""

from __future__ import annotations

import pytest

pytest.importorskip("sqlglot", reason="sqlglot comes with the spark extra")

from _edge_histories import AS_OF, POLICE, WITHDRAWAL, edge_histories, edge_scenarios, edge_spec

from riskscreen._time import parse_duration
from riskscreen.features import AGGREGATES, Cohort
from riskscreen.features._compile import compile_sql
from riskscreen.features._session import COHORT_CTES, Session
from riskscreen.features._spec import _OPS
from riskscreen.spark import PROVEN_CONSTRUCTS, UnprovenConstructError, to_spark_sql
from riskscreen.spark._sql import SEMANTICS, STRUCTURE, constructs, inline_ctes, parse


def test_translation_writes_spark_functions_types_and_null_order():
    sql = (
        "SELECT DATE_DIFF('day', e.\"start_date\", c.as_of_date) AS d, "
        "CAST(c.as_of_date AS TIMESTAMP) AS t, c.as_of_date - INTERVAL '1' MONTH AS m "
        "FROM exclusions AS e JOIN cohort AS c ON e.pupil_id = c.pupil_id "
        "ORDER BY c.as_of_date, e.school_id"
    )
    out = to_spark_sql(sql, tables={"exclusions": "rs_exclusions", "cohort": "rs_cohort"})
    assert "DATEDIFF(DAY, e.`start_date`, c.as_of_date)" in out
    assert "CAST(c.as_of_date AS TIMESTAMP_NTZ)" in out  # calendar days, no time zone
    assert "INTERVAL '1' MONTH" in out
    assert "FROM `rs_exclusions` AS e JOIN `rs_cohort` AS c" in out
    # DuckDB sorts nulls last; Spark's default for ASC is first, so it is written out
    assert out.endswith("ORDER BY c.as_of_date NULLS LAST, e.school_id NULLS LAST")
    assert "ORDER BY" not in to_spark_sql(sql, ordered=False)


def test_a_cte_is_never_renamed_as_a_table():
    sql = "WITH cohort AS (SELECT * FROM _cohort_all) SELECT * FROM cohort"
    out = to_spark_sql(sql, tables={"cohort": "x_cohort", "_cohort_all": "x_all"})
    assert out == "WITH cohort AS (SELECT * FROM `x_all`) SELECT * FROM cohort"


def test_a_scalar_subquery_in_a_grouped_select_is_aggregated_for_spark():
    sql = "SELECT a.d, COUNT(*), (SELECT COUNT(*) FROM k WHERE k.d = a.d) FROM a GROUP BY a.d"
    assert "MAX((SELECT COUNT(*) FROM k WHERE k.d = a.d))" in to_spark_sql(sql)


def test_constructs_sqlglot_would_translate_wrongly_are_refused():
    # sqlglot writes LIST(x ORDER BY x) as COLLECT_LIST(x), silently losing the order
    with pytest.raises(UnprovenConstructError, match=r"\['ArrayAgg'\]"):
        to_spark_sql("SELECT LIST(x ORDER BY x) FROM t")
    # and passes functions it does not know through unchanged
    with pytest.raises(UnprovenConstructError, match="Anonymous:MY_UDF"):
        to_spark_sql("SELECT MY_UDF(x) FROM t")
    with pytest.raises(UnprovenConstructError, match="Interval:HOUR"):
        to_spark_sql("SELECT d - INTERVAL '3' HOUR FROM t")


def test_inlined_ctes_give_a_statement_without_with():
    sql = (
        "CREATE OR REPLACE TEMP TABLE x AS WITH a AS (SELECT 1 AS y), b AS "
        "(SELECT y FROM a AS q) SELECT * FROM b AS r JOIN a ON TRUE"
    )
    out = inline_ctes(parse(sql)).expression.sql(dialect="duckdb")
    assert "WITH" not in out
    assert out == (
        "SELECT * FROM (SELECT y FROM (SELECT 1 AS y) AS q) AS r JOIN (SELECT 1 AS y) AS a ON TRUE"
    )


def test_the_parity_scenarios_exercise_everything_the_compiler_has():
    """Every aggregate, filter operator, window unit, cohort kind and kind of outcome."""
    spec = edge_spec()
    assert {f.aggregate for f in spec} == set(AGGREGATES)

    def ops(cond):
        if cond is None:
            return set()
        return {cond.op}.union(*(ops(p) for p in cond.parts))

    assert set().union(*(ops(f.where) for f in spec)) == set(_OPS) | {"and", "or", "not"}
    windows = [f.window for f in spec] + [f.compare_window for f in spec if f.compare_window]
    units = {parse_duration(w, allow_all=True).unit for w in windows}
    assert units == {"D", "W", "M", "Y", None}  # None: "all"
    assert any(f.threshold is not None for f in spec)
    assert any(isinstance(f.column, dict) and -2.0 in f.column.values() for f in spec)
    assert {f.impute for f in spec} >= {None, "median", -1.0}
    scenarios = edge_scenarios()
    kinds = {type(sc.cohort).__name__ for sc in scenarios}
    assert kinds == {"NoneType"} | {c.__name__ for c in Cohort.__subclasses__()}
    outcomes = {
        o if isinstance(o, str) else getattr(o, "name", "any of")
        for sc in scenarios
        for o in sc.outcomes
    }
    assert outcomes >= {
        "suspension",
        "permanent_exclusion",
        "missing_education",
        "persistent_absence",
        POLICE.name,
        WITHDRAWAL.name,
        "any of",
        "suspension|missing_education",
    }
    assert any(isinstance(sc.horizon, dict) for sc in scenarios)


def test_the_compiled_features_use_only_proven_constructs():
    with Session(edge_histories(), owner="test") as session:
        session.prepare(AS_OF, None)
        sql, _ = compile_sql(edge_spec(), session.views, COHORT_CTES)
    used = constructs(sql)
    assert used <= PROVEN_CONSTRUCTS, sorted(used - PROVEN_CONSTRUCTS)
    assert PROVEN_CONSTRUCTS == SEMANTICS | STRUCTURE
