"""One way to break each SQL construct the Spark engine runs (sqlglot rewrites).

Each breaks every occurrence of its construct in a statement, the way a wrong
translation would (an interval of calendar months read as 30 days, DATEDIFF's
arguments swapped, an inclusive bound made strict, ...). The parity tests run
with each in turn and must then find a difference: a construct whose breaking
goes unnoticed is not covered by their data.
"""

from __future__ import annotations

from sqlglot import exp

from riskscreen.spark._sql import construct_name


def _one() -> exp.Expression:
    return exp.Literal.number(1)


def _interval_days(node, days_per_unit):
    n = int(node.this.name)
    node.replace(exp.Interval(this=exp.Literal.string(str(n * days_per_unit)), unit=exp.var("DAY")))


def _drop_distinct(node):
    if isinstance(node.parent, exp.Select):
        node.parent.set("distinct", None)
    else:
        node.replace(node.expressions[0].copy())


def _drop_union_right(node):
    node.replace(
        exp.paren(node.this.copy()) if not isinstance(node.this, exp.Select) else node.this.copy()
    )


#: construct -> how to break one node of it (in place, through ``node.replace``)
BREAKERS = {
    "Literal:number": lambda n: n.replace(exp.Literal.number(float(n.this) + 1)),
    "Literal:string": lambda n: (
        None if isinstance(n.parent, exp.Interval) else n.replace(exp.Literal.string(n.this + "_"))
    ),
    "Boolean": lambda n: n.replace(exp.Boolean(this=not n.this)),
    "Null": lambda n: None if isinstance(n.parent, exp.Is) else n.replace(exp.Literal.number(0)),
    "EQ": lambda n: n.replace(exp.NEQ(this=n.this.copy(), expression=n.expression.copy())),
    "LT": lambda n: n.replace(exp.LTE(this=n.this.copy(), expression=n.expression.copy())),
    "LTE": lambda n: n.replace(exp.LT(this=n.this.copy(), expression=n.expression.copy())),
    "GT": lambda n: n.replace(exp.GTE(this=n.this.copy(), expression=n.expression.copy())),
    "GTE": lambda n: n.replace(exp.GT(this=n.this.copy(), expression=n.expression.copy())),
    "Between": lambda n: n.set("low", exp.Add(this=n.args["low"].copy(), expression=_one())),
    "And": lambda n: n.replace(exp.Or(this=n.this.copy(), expression=n.expression.copy())),
    "Or": lambda n: n.replace(exp.And(this=n.this.copy(), expression=n.expression.copy())),
    "Not": lambda n: n.replace(n.this.copy()),
    "Is": lambda n: n.replace(exp.Not(this=n.copy())),
    "In": lambda n: n.replace(exp.Not(this=n.copy())),
    "Like": lambda n: n.replace(exp.Not(this=n.copy())),
    "Exists": lambda n: n.replace(exp.Not(this=n.copy())),
    "Add": lambda n: n.replace(exp.Sub(this=n.this.copy(), expression=n.expression.copy())),
    "Sub": lambda n: n.replace(exp.Add(this=n.this.copy(), expression=n.expression.copy())),
    "Mul": lambda n: n.replace(exp.Div(this=n.this.copy(), expression=n.expression.copy())),
    "Div": lambda n: n.replace(exp.Mul(this=n.this.copy(), expression=n.expression.copy())),
    "Neg": lambda n: n.replace(n.this.copy()),
    "DPipe": lambda n: n.replace(n.this.copy()),
    "Replace": lambda n: n.replace(n.this.copy()),
    "Case": lambda n: n.set("default", _one()),
    "If": lambda n: n.set("this", exp.Not(this=exp.paren(n.this.copy()))),
    "Coalesce": lambda n: n.replace(n.this.copy()),
    "Nullif": lambda n: n.replace(n.this.copy()),
    "Greatest": lambda n: n.replace(
        exp.Least(this=n.this.copy(), expressions=[e.copy() for e in n.expressions])
    ),
    "Least": lambda n: n.replace(
        exp.Greatest(this=n.this.copy(), expressions=[e.copy() for e in n.expressions])
    ),
    # doubled, not shifted: the NC year is a difference of two such casts (a shift cancels)
    "Cast:BIGINT": lambda n: n.replace(
        exp.paren(exp.Mul(this=n.copy(), expression=exp.Literal.number(2)))
    ),
    "Cast:DOUBLE": lambda n: n.replace(exp.paren(exp.Add(this=n.copy(), expression=_one()))),
    "Cast:TIMESTAMPNTZ": lambda n: n.replace(
        exp.paren(
            exp.Add(
                this=n.copy(),
                expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.var("DAY")),
            )
        )
    ),
    "Interval:DAY": lambda n: n.set("this", exp.Literal.string(str(int(n.this.name) - 1))),
    "Interval:MONTH": lambda n: _interval_days(n, 30),
    "Interval:YEAR": lambda n: _interval_days(n, 365),
    "Extract:MONTH": lambda n: n.set("this", exp.var("DAY")),
    "Extract:YEAR": lambda n: n.set("this", exp.var("MONTH")),
    "DateDiff:DAY": lambda n: n.replace(
        exp.DateDiff(this=n.expression.copy(), expression=n.this.copy(), unit=n.args.get("unit"))
    ),
    "DateFromParts": lambda n: n.set("day", exp.Literal.number(int(n.args["day"].name) - 1)),
    "Sum": lambda n: n.replace(exp.paren(exp.Add(this=n.copy(), expression=_one()))),
    "Avg": lambda n: n.replace(exp.paren(exp.Add(this=n.copy(), expression=_one()))),
    "Min": lambda n: n.replace(exp.Max(this=n.this.copy())),
    "Max": lambda n: n.replace(exp.Min(this=n.this.copy())),
    "Count": lambda n: n.replace(exp.paren(exp.Add(this=n.copy(), expression=_one()))),
    "Count:*": lambda n: n.replace(exp.paren(exp.Add(this=n.copy(), expression=_one()))),
    "Distinct": _drop_distinct,
    "Filter": lambda n: n.replace(n.this.copy()),
    "RowNumber": lambda n: n.replace(exp.paren(exp.Add(this=n.copy(), expression=_one()))),
    "Window": lambda n: n.set("partition_by", None),
    "Ordered:ASC": lambda n: n.set("desc", True),
    "Ordered:DESC": lambda n: n.set("desc", False),
    "Union": lambda n: n.set("distinct", False),
    "Union:ALL": _drop_union_right,
}


#: Constructs left whole inside a join's ON clause: a join whose keys no longer match
#: (``=`` read as ``<>``, ``AND`` as ``OR``) multiplies rows along the chain of joins
#: of the feature query (millions of rows from a few dozen), which tests Spark's
#: memory, not the comparison. Everywhere else (filters, CASE conditions, windows,
#: correlated subqueries) they are broken, and that is where the values change.
WHOLE_IN_JOINS = frozenset({"And", "EQ"})


def _in_join_condition(node) -> bool:
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, exp.Join) and child.arg_key == "on":
            return True
        child, parent = parent, parent.parent
    return False


def breaking(construct: str):
    """A rewrite (for ``riskscreen.spark._sql.REWRITES``) that breaks ``construct``."""
    fix = BREAKERS[construct]
    keep_joins = construct in WHOLE_IN_JOINS

    def rewrite(tree):
        nodes = [n for n in tree.walk() if construct_name(n) == construct]
        if keep_joins:
            nodes = [n for n in nodes if not _in_join_condition(n)]
        # innermost first, so a node copied into its parent's replacement is broken too
        for node in reversed(nodes):
            fix(node)
        return tree

    rewrite.__name__ = f"break_{construct}"
    return rewrite
