"""Where Spark moves the rows of each event table: read from the physical plan.

Used by ``benchmarks/spark.py`` and the tests to check the plan Spark chose:
an event table's rows should cross at most one exchange (a repartition by
``pupil_id`` to meet the cohort) before they are aggregated to one row per
cohort row; what moves after that are aggregates, not events.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pandas as pd

_AGGREGATES = ("HashAggregateExec", "SortAggregateExec", "ObjectHashAggregateExec")


def _children(node) -> list:
    kind = node.getClass().getSimpleName()
    if kind == "AdaptiveSparkPlanExec":
        return [node.executedPlan()]
    if kind == "InMemoryTableScanExec":
        return []  # a cached table: its own plan ran once, before
    seq = node.children()
    out = [seq.apply(i) for i in range(seq.size())]
    if not out and kind.endswith("QueryStageExec"):
        out = [node.plan()]
    return out


def _table(node) -> str:
    try:
        path = node.relation().location().rootPaths().apply(0).toString()
    except Exception:  # pragma: no cover - another kind of scan
        return node.nodeName()
    name = PurePosixPath(path).name
    return name.split(".")[0] or name


def _exchange(node) -> str | None:
    kind = node.getClass().getSimpleName()
    if kind == "ShuffleExchangeExec":
        return node.outputPartitioning().toString()
    if kind == "BroadcastExchangeExec":
        return "broadcast"
    return None


def event_exchanges(frame) -> pd.DataFrame:
    """The exchanges each file scan's rows cross before their first aggregate.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        A query (classic Spark, not Spark Connect). After it has run, its final
        adaptive plan is read; before, the initial one.

    Returns
    -------
    DataFrame
        One row per file scan: ``table`` (the file's name), ``exchanges`` (how many
        exchanges its rows cross before they are aggregated) and ``partitioning``
        (of each, e.g. ``hashpartitioning(pupil_id, 4)``; ``broadcast``).
    """
    root = frame._jdf.queryExecution().executedPlan()
    rows = []

    def walk(node, path):
        path = [*path, node]
        kind = node.getClass().getSimpleName()
        children = _children(node)
        if kind == "FileSourceScanExec":
            crossed = []
            for above in reversed(path[:-1]):
                name = above.getClass().getSimpleName()
                if name in _AGGREGATES:
                    break
                text = _exchange(above)
                if text is not None:
                    crossed.append(_short(text))
            rows.append({"table": _table(node), "exchanges": len(crossed), "partitioning": crossed})
        for child in children:
            walk(child, path)

    walk(root, [])
    return pd.DataFrame(rows, columns=["table", "exchanges", "partitioning"])


def _short(text: str) -> str:
    """``hashpartitioning(pupil_id#12L, as_of_date#9, 4)`` -> ``hashpartitioning(pupil_id,
    as_of_date, 4)``."""
    return re.sub(r"#\d+L?", "", text)
