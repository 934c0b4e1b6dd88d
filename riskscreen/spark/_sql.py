"""The compiled DuckDB SQL, translated for Spark SQL and refused where it is not proven.

The feature compiler, the cohorts, the labels and the session's checks all emit
SQL in DuckDB's dialect. :func:`to_spark_sql` parses a statement with sqlglot,
checks that every construct in it is one the parity tests run on both engines
(:data:`PROVEN_CONSTRUCTS`), points table names at the Spark session's views and
writes it in Spark's dialect (sqlglot raises instead of dropping anything it
cannot write). A construct outside the proven set is refused with an error
rather than passed through: sqlglot leaves unknown functions unchanged and some
translations lose clauses, so a statement nobody compared is not run.

A construct is a kind of sqlglot expression, refined where the two engines could
differ: functions and operators by name, casts by target type, intervals and
``EXTRACT`` by unit, sort keys by direction and null order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

#: Constructs that only give a query its shape (names, clauses, aliases). They are
#: proven by the queries running at all; a mistake in them fails loudly.
STRUCTURE = frozenset(
    {
        "Alias",
        "Column",
        "CTE",
        "Create",
        "From",
        "Group",
        "Identifier",
        "Join",
        "Order",
        "Paren",
        "Schema",
        "Select",
        "Star",
        "Subquery",
        "Table",
        "TableAlias",
        "TemporaryProperty",
        "Properties",
        "Where",
        "With",
    }
)

#: Constructs whose meaning the parity tests check value by value on both engines
#: (tests/spark: every one is broken in turn and the comparison must then fail).
SEMANTICS = frozenset(
    {
        # literals and predicates
        "Literal:number",
        "Literal:string",
        "Boolean",
        "Null",
        "EQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "Between",
        "And",
        "Or",
        "Not",
        "Is",
        "In",
        "Like",
        "Exists",
        # arithmetic and text
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Neg",
        "DPipe",
        "Replace",
        # conditionals
        "Case",
        "If",
        "Coalesce",
        "Nullif",
        "Greatest",
        "Least",
        # casts
        "Cast:BIGINT",
        "Cast:DOUBLE",
        "Cast:TIMESTAMPNTZ",
        # dates
        "Interval:DAY",
        "Interval:MONTH",
        "Interval:YEAR",
        "Extract:MONTH",
        "Extract:YEAR",
        "DateDiff:DAY",
        "DateFromParts",
        # aggregates and windows
        "Sum",
        "Avg",
        "Min",
        "Max",
        "Count",
        "Count:*",
        "Distinct",
        "Filter",
        "RowNumber",
        "Window",
        "Ordered:ASC",
        "Ordered:DESC",
        # set operations
        "Union",
        "Union:ALL",
    }
)

#: Every construct the Spark engine runs: the compiler's SQL may use only these.
PROVEN_CONSTRUCTS = STRUCTURE | SEMANTICS

#: Rewrites applied to every parsed statement before it is written for Spark, in
#: order (each takes and returns a sqlglot expression). The tests append one that
#: breaks a construct to prove the parity checks would notice.
REWRITES: list[Callable] = []


class UnprovenConstructError(NotImplementedError):
    """The SQL holds a construct the Spark engine has not been proven on."""


def _sqlglot():
    try:
        import sqlglot
        from sqlglot import exp
    except ImportError as exc:  # pragma: no cover - sqlglot comes with the spark extra
        raise ImportError(
            "riskscreen's Spark engine translates its SQL with sqlglot, which is not "
            "installed. Install the Spark extra: pip install 'riskscreen[spark]'."
        ) from exc
    return sqlglot, exp


def construct_name(node) -> str | None:
    """The construct a sqlglot node stands for (None for parts of another construct)."""
    _, exp = _sqlglot()
    kind = type(node).__name__
    if isinstance(node, (exp.DataType, exp.Var)):
        return None  # read as part of their Cast, Interval or Extract
    if isinstance(node, exp.Literal):
        return "Literal:string" if node.is_string else "Literal:number"
    if isinstance(node, exp.Cast):
        return f"Cast:{node.to.this.name}"
    if isinstance(node, exp.Interval):
        return f"Interval:{node.unit.name.upper()}"
    if isinstance(node, exp.Extract):
        return f"Extract:{node.this.name.upper()}"
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        return f"DateDiff:{(unit.name if unit is not None else 'DAY').upper()}"
    if isinstance(node, exp.Count):
        return "Count:*" if isinstance(node.this, exp.Star) else "Count"
    if isinstance(node, exp.Union):
        return "Union" if node.args.get("distinct") else "Union:ALL"
    if isinstance(node, exp.Ordered):
        # DuckDB sorts nulls last either way; sqlglot writes that out for Spark
        return "Ordered:DESC" if node.args.get("desc") else "Ordered:ASC"
    if isinstance(node, exp.Anonymous):
        return f"Anonymous:{node.name.upper()}"
    return kind


def constructs(sql) -> set[str]:
    """The constructs of one DuckDB statement (text or parsed)."""
    tree = parse(sql) if isinstance(sql, str) else sql
    names = {construct_name(node) for node in tree.walk()}
    names.discard(None)
    return names


def parse(sql: str):
    """Parse one statement of the DuckDB dialect."""
    sqlglot, _ = _sqlglot()
    return sqlglot.parse_one(sql, read="duckdb")


def check_constructs(tree, *, what: str = "statement") -> None:
    """Raise :class:`UnprovenConstructError` if ``tree`` holds a construct not proven."""
    unknown = sorted(constructs(tree) - PROVEN_CONSTRUCTS)
    if unknown:
        raise UnprovenConstructError(
            f"riskscreen's Spark engine cannot run this {what}: it uses SQL construct(s) "
            f"{unknown} that the parity tests have not proven to give the same values on "
            "Spark as on DuckDB. Use engine='duckdb' for it, or add the construct to "
            "riskscreen.spark._sql.SEMANTICS together with a parity test and a breaking "
            "mutation in tests/spark."
        )


def to_spark_sql(
    sql: str,
    *,
    tables: Mapping[str, str] | None = None,
    ordered: bool = True,
    rewrites: Iterable[Callable] | None = None,
) -> str:
    """Translate one statement of riskscreen's DuckDB SQL into Spark SQL.

    Parameters
    ----------
    sql : str
        A statement the feature compiler, a cohort, the labels or a session check
        wrote (DuckDB dialect).
    tables : mapping of str to str, optional
        Table names to replace (e.g. ``{"exclusions": "riskscreen_1f2e_exclusions"}``);
        names of the statement's own CTEs are never replaced.
    ordered : bool, default True
        Keep the statement's final ``ORDER BY``; False drops it (a Parquet output
        needs no global sort).
    rewrites : iterable of callables, optional
        Extra rewrites of the parsed statement (default :data:`REWRITES`).

    Returns
    -------
    str
        The statement in Spark's dialect.

    Raises
    ------
    UnprovenConstructError
        If the statement uses a construct outside :data:`PROVEN_CONSTRUCTS`.

    Examples
    --------
    >>> from riskscreen.spark import to_spark_sql
    >>> to_spark_sql('SELECT DATE_DIFF(\\'day\\', e."start_date", c.as_of_date) FROM exclusions '
    ...              "AS e", tables={"exclusions": "x_exclusions"})
    'SELECT DATEDIFF(DAY, e.`start_date`, c.as_of_date) FROM `x_exclusions` AS e'
    """
    _, exp = _sqlglot()
    from sqlglot.errors import ErrorLevel

    tree = parse(sql)
    check_constructs(tree)
    if tables:
        _rename_tables(tree, tables, exp)
    _aggregate_scalar_subqueries(tree, exp)
    if not ordered:
        body = tree.expression if isinstance(tree, exp.Create) else tree
        body.set("order", None)
    for rewrite in REWRITES if rewrites is None else rewrites:
        tree = rewrite(tree)
    return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


def inline_ctes(tree):
    """The statement with every CTE written out as a subquery where it is used.

    Spark does not find a cached table in a query's plan when the table's own
    plan holds CTEs and the query is itself a WITH query, so a temporary table
    that is kept (the cohort) is defined without them.
    """
    _, exp = _sqlglot()
    tree = tree.copy()
    body = tree.expression if isinstance(tree, exp.Create) else tree
    key = "with_" if "with_" in body.args else "with"  # sqlglot renamed it in 2025
    with_ = body.args.get(key)
    if with_ is None:
        return tree
    body.set(key, None)
    inlined: dict[str, object] = {}

    def expand(node):
        for table in list(node.find_all(exp.Table)):
            name = table.name.lower()
            if table.args.get("db") is None and name in inlined:
                alias = table.alias_or_name
                table.replace(
                    exp.Subquery(
                        this=inlined[name].copy(),
                        alias=exp.TableAlias(this=exp.to_identifier(alias)),
                    )
                )
        return node

    for cte in with_.expressions:
        inlined[cte.alias_or_name.lower()] = expand(cte.this.copy())
    if body is tree:
        return expand(tree)
    tree.set("expression", expand(body))
    return tree


def _aggregate_scalar_subqueries(tree, exp) -> None:
    """Wrap scalar subqueries in a grouped SELECT list in ``MAX``, as Spark requires.

    DuckDB accepts ``SELECT a.d, COUNT(*), (SELECT ... WHERE k.d = a.d) ... GROUP BY
    a.d``: the subquery may read only grouping columns, so it is constant within a
    group and its MAX is itself. Spark refuses it unaggregated.
    """
    for select in list(tree.find_all(exp.Select)):
        if not select.args.get("group"):
            continue
        for projection in select.expressions:
            for sub in list(projection.find_all(exp.Subquery)):
                inside = sub.find_ancestor(exp.AggFunc, exp.Select)
                if isinstance(inside, exp.Select) and inside is select:
                    sub.replace(exp.Max(this=sub.copy()))


def _rename_tables(tree, tables: Mapping[str, str], exp) -> None:
    own = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    lower = {k.lower(): v for k, v in tables.items()}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if table.args.get("db") is None and name in lower and name not in own:
            table.set("this", exp.to_identifier(lower[name], quoted=True))


__all__ = [
    "PROVEN_CONSTRUCTS",
    "REWRITES",
    "SEMANTICS",
    "STRUCTURE",
    "UnprovenConstructError",
    "check_constructs",
    "constructs",
    "to_spark_sql",
]
