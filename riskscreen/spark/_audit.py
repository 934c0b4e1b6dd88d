"""The fairness audit's confusion counts at capacity k, per group and intersection, on Spark."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from riskscreen.evaluation._metrics import resolve_k

#: Group label of a missing attribute value (its pupils are counted, never dropped), and
#: the joiner of an intersection's attributes and groups: as in the fairness audit.
MISSING = "(missing)"
JOIN = " & "
COUNTS = (
    "n",
    "n_outcome",
    "n_flagged",
    "n_flagged_outcome",
    "fp",
    "fn",
    "tn",
    "n_unknown",
    "n_unknown_flagged",
)


def _names(value, parameter: str, columns: list[str], owner: str, *, allow_empty: bool) -> list:
    names = [value] if isinstance(value, str) else list(value or [])
    bad = [c for c in names if not isinstance(c, str) or c not in columns]
    if bad or (not names and not allow_empty) or len(set(names)) != len(names):
        raise ValueError(
            f"The {parameter!r} parameter of {owner} must name distinct columns of the frame "
            f"{columns}. Got {value!r} instead."
        )
    return names


def _intersections(value, sensitive: list[str], owner: str) -> list[tuple[str, ...]]:
    out = []
    for item in value or []:
        cols = (item,) if isinstance(item, str) else tuple(item)
        if len(cols) < 2 or any(c not in sensitive for c in cols) or len(set(cols)) != len(cols):
            raise ValueError(
                f"The 'intersections' parameter of {owner} must list tuples of two or more "
                f"of the sensitive_features {sensitive}. Got {item!r} instead."
            )
        out.append(cols)
    return out


def group_confusion_counts(
    frame,
    *,
    score: str,
    y_true: str,
    sensitive_features: Sequence[str],
    k: float | int,
    strata: str | Sequence[str] | None = None,
    intersections: Iterable[Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Confusion counts at capacity ``k`` per group and intersection, computed by Spark.

    The top ``k`` rows by ``score`` of each stratum are flagged, tie-aware as in
    the fairness audit (:class:`riskscreen.evaluation.FairnessAudit`): rows tied
    at a stratum's cut-off share its remaining places equally, so flags (and the
    counts) may be fractional and never depend on row order. Rows with an
    unknown outcome take part in the ranking but are not counted (only in
    ``n_unknown``). Spark ranks, flags and counts the rows; only per-stratum
    totals and the final table reach the driver, never a row.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        One row per screened pupil (and as-of date).
    score : str
        Column of the ranking score (higher is riskier); no missing values.
    y_true : str
        Column of the outcome: boolean or 0/1; missing means unknown (censored).
    sensitive_features : sequence of str
        Columns of the groups audited (e.g. ``["ethnicity_major", "sex", "sen_status"]``);
        a missing value is the group ``"(missing)"``.
    k : float or int
        Capacity per stratum: a fraction in (0, 1] of its rows, or a count.
    strata : str or sequence of str, optional
        Columns whose every combination gets its own top ``k`` (``"as_of_date"``, as
        the audit does; ``["as_of_date", "school_id"]`` for a capacity per school).
        None: all rows together.
    intersections : iterable of tuples of str, optional
        Intersections to count as well, e.g. ``[("ethnicity_major", "sex")]``.

    Returns
    -------
    DataFrame
        Indexed by (``attribute``, ``group``): first ("all", "all pupils"), then
        each attribute and each intersection (``"ethnicity_major & sex"``, groups
        ``"White & F"``), groups in text order. Columns ``n`` (known outcomes),
        ``n_outcome``, ``n_flagged``, ``n_flagged_outcome`` (true positives),
        ``fp``, ``fn``, ``tn``, ``n_unknown`` and ``n_unknown_flagged``, as
        floats. A group whose outcomes are all unknown has ``n`` 0 (the audit,
        which counts known outcomes only, leaves it out). Raw counts: suppress small ones
        (:func:`riskscreen.evaluation.suppress_small_counts`) before anyone reads them.

    Examples
    --------
    >>> counts = group_confusion_counts(  # doctest: +SKIP
    ...     scores, score="score", y_true="suspended", k=0.05, strata="as_of_date",
    ...     sensitive_features=["ethnicity_major", "sex"],
    ...     intersections=[("ethnicity_major", "sex")])
    """
    from riskscreen.spark._local import require_pyspark

    require_pyspark()
    from pyspark.sql import DataFrame, Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    owner = "group_confusion_counts"
    if not isinstance(frame, DataFrame):
        raise ValueError(
            f"The 'frame' parameter of {owner} must be a pyspark DataFrame. "
            f"Got {type(frame).__name__} instead."
        )
    columns = list(frame.columns)
    (score,) = _names(score, "score", columns, owner, allow_empty=False)
    (y_true,) = _names(y_true, "y_true", columns, owner, allow_empty=False)
    sensitive = _names(sensitive_features, "sensitive_features", columns, owner, allow_empty=False)
    strata = _names(strata, "strata", columns, owner, allow_empty=True)
    inter = _intersections(intersections, sensitive, owner)
    try:
        resolve_k(k, 10**9)
    except ValueError as exc:
        raise ValueError(f"The 'k' parameter of {owner}: {exc}") from None

    types = dict(frame.dtypes)
    if not isinstance(frame.schema[score].dataType, T.NumericType):
        raise ValueError(
            f"The 'score' column {score!r} of {owner} must be numeric. Got {types[score]}."
        )
    y = F.col(y_true).cast("double")
    group_cols = [f"_g{i}" for i in range(len(sensitive))]
    strata_cols = [f"_s{i}" for i in range(len(strata))] or ["_s"]
    strata_select = [F.col(c).alias(s) for c, s in zip(strata, strata_cols, strict=False)]
    rows = frame.select(
        F.col(score).cast("double").alias("_score"),
        y.alias("_y"),
        *[_label(frame, c, F, T).alias(g) for c, g in zip(sensitive, group_cols, strict=True)],
        *(strata_select or [F.lit(0).alias("_s")]),
    )

    # per stratum: its size (for k) and the checks, one small aggregate
    sizes = (
        rows.groupBy(*strata_cols)
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.col("_score").isNull().cast("long")).alias("bad_score"),
            F.sum((F.col("_y").isNotNull() & ~F.col("_y").isin(0.0, 1.0)).cast("long")).alias(
                "bad_y"
            ),
        )
        .collect()
    )
    bad_score = sum(r["bad_score"] for r in sizes)
    bad_y = sum(r["bad_y"] for r in sizes)
    if bad_score:
        raise ValueError(
            f"The 'score' column {score!r} of {owner} has {bad_score} missing value(s)."
        )
    if bad_y:
        raise ValueError(
            f"The 'y_true' column {y_true!r} of {owner} must hold booleans or 0/1 (missing for "
            f"unknown). {bad_y} value(s) are something else."
        )
    spark = frame.sparkSession
    key_fields = [rows.schema[c] for c in strata_cols]

    def small(values: list[tuple], extra: list) -> object:
        schema = T.StructType([*key_fields, *extra])
        return F.broadcast(spark.createDataFrame(values, schema=schema))

    def on(other):
        return [rows[c].eqNullSafe(other[c]) for c in strata_cols]

    capacity = small(
        [(*[r[c] for c in strata_cols], resolve_k(k, int(r["n"]))) for r in sizes],
        [T.StructField("_kk", T.LongType())],
    )
    ranked = rows.join(capacity, on(capacity)).drop(*[capacity[c] for c in strata_cols])
    order = Window.partitionBy(*strata_cols).orderBy(F.col("_score").desc())
    cut = (
        ranked.withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") <= F.col("_kk"))
        .groupBy(*strata_cols)
        .agg(F.min("_score").alias("_t"), F.first("_kk").alias("_kk"))
        .collect()
    )
    cut_frame = small(
        [(*[r[c] for c in strata_cols], float(r["_t"])) for r in cut],
        [T.StructField("_t", T.DoubleType())],
    )
    with_cut = rows.join(cut_frame, on(cut_frame)).drop(*[cut_frame[c] for c in strata_cols])
    ties = (  # rows above and at each cut-off: the tied share its remaining places
        with_cut.groupBy(*strata_cols)
        .agg(
            F.sum((F.col("_score") > F.col("_t")).cast("double")).alias("above"),
            F.sum((F.col("_score") == F.col("_t")).cast("double")).alias("tied"),
        )
        .collect()
    )
    cuts = {tuple(r[c] for c in strata_cols): (float(r["_t"]), float(r["_kk"])) for r in cut}
    values = []
    for r in ties:
        key = tuple(r[c] for c in strata_cols)
        t, kk = cuts[key]
        values.append((*key, t, (kk - float(r["above"])) / float(r["tied"])))
    shares = small(
        values, [T.StructField("_t", T.DoubleType()), T.StructField("_share", T.DoubleType())]
    )
    flagged = rows.join(shares, on(shares)).select(
        "_y",
        *group_cols,
        F.when(F.col("_score") > F.col("_t"), 1.0)
        .when(F.col("_score") == F.col("_t"), F.col("_share"))
        .otherwise(0.0)
        .alias("_flag"),
    )
    inter = list(dict.fromkeys(inter))
    sets = [[]] + [[group_cols[sensitive.index(c)]] for c in sensitive]
    sets += [[group_cols[sensitive.index(c)] for c in cols] for cols in inter]
    known = F.col("_y").isNotNull().cast("double")
    counted = flagged.groupingSets(sets, *group_cols).agg(
        *[F.grouping(g).alias(f"_is{g}") for g in group_cols],
        F.sum(known).alias("n"),
        F.sum(F.coalesce(F.col("_y"), F.lit(0.0))).alias("n_outcome"),
        F.sum(F.col("_flag") * known).alias("n_flagged"),
        F.sum(F.col("_flag") * F.coalesce(F.col("_y"), F.lit(0.0))).alias("n_flagged_outcome"),
        F.sum(1.0 - known).alias("n_unknown"),
        F.sum(F.col("_flag") * (1.0 - known)).alias("n_unknown_flagged"),
    )
    return _table(counted.collect(), sensitive, group_cols, inter)


def _label(frame, column: str, F, T):
    """A group column as text labels: booleans as True/False, missing as MISSING."""
    col = F.col(column)
    if isinstance(frame.schema[column].dataType, T.BooleanType):
        text = F.when(col, F.lit("True")).when(~col, F.lit("False"))
    else:
        text = col.cast("string")
    return F.coalesce(text, F.lit(MISSING))


def _table(rows, sensitive, group_cols, inter) -> pd.DataFrame:
    """The collected grouping sets as the (attribute, group) table."""
    order = [()] + [(c,) for c in sensitive] + list(inter)
    by_columns = {frozenset(cols): cols for cols in order}
    records = []
    for r in rows:
        grouped = [c for c, g in zip(sensitive, group_cols, strict=True) if not r[f"_is{g}"]]
        used = by_columns.get(frozenset(grouped))
        if used is None:
            continue
        attribute = JOIN.join(used) if used else "all"
        parts = tuple(r[group_cols[sensitive.index(c)]] for c in used)
        group = JOIN.join(parts) if used else "all pupils"
        values = {c: float(r[c] or 0.0) for c in ("n", "n_outcome", "n_flagged")}
        values["n_flagged_outcome"] = float(r["n_flagged_outcome"] or 0.0)
        values["fp"] = values["n_flagged"] - values["n_flagged_outcome"]
        values["fn"] = values["n_outcome"] - values["n_flagged_outcome"]
        values["tn"] = values["n"] - values["n_outcome"] - values["fp"]
        values["n_unknown"] = float(r["n_unknown"] or 0.0)
        values["n_unknown_flagged"] = float(r["n_unknown_flagged"] or 0.0)
        records.append(((order.index(used), parts), attribute, group, values))
    records.sort(key=lambda t: t[0])  # as the audit: by each attribute's group, in text order
    index = pd.MultiIndex.from_tuples(
        [(a, g) for _, a, g, _ in records], names=["attribute", "group"]
    )
    return pd.DataFrame([v for *_, v in records], index=index, columns=list(COUNTS))
