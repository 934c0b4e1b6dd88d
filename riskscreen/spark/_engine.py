"""Features on Spark: the compiled spec as one Spark query, to pandas or to Parquet."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from riskscreen.features._compile import compile_sql
from riskscreen.features._run import check_dtype, spec_sources
from riskscreen.features._session import COHORT_CTES, key_values
from riskscreen.features._spec import FeatureSpec


def feature_query(session, spec: FeatureSpec):
    """The Spark DataFrame of ``spec`` over the session's cohort (lazy, unordered).

    The spec is compiled exactly as for DuckDB, over the whole cohort at once:
    Spark spreads the work over its partitions, so the DuckDB engine's batches
    (which bound one machine's memory) are not needed.
    """
    sql, _ = compile_sql(spec, session.views, COHORT_CTES)  # validates the spec first
    session.check_sources(spec_sources(spec))
    return session.con.sql(sql, ordered=False)


def run_features(
    session, spec: FeatureSpec, *, output_path: str | os.PathLike | None = None, dtype="float64"
):
    """:func:`riskscreen.features._run.run_features` on a Spark session.

    With ``output_path`` Spark writes the rows as a folder of Parquet files (never
    collected to the driver) and the path is returned; otherwise the rows come to
    the driver through Arrow as a frame sorted by (as_of_date, pupil_id).
    """
    dtype = check_dtype(dtype, session.owner)
    frame = feature_query(session, spec)
    if output_path is not None:
        frame.write.mode("overwrite").parquet(str(output_path))
        return output_path
    from riskscreen.spark._session import to_arrow

    table = to_arrow(frame)
    ((n_rows,),) = session.con.execute("SELECT COUNT(*) FROM _cohort_all").fetchall()
    if table.num_rows != n_rows:
        raise RuntimeError(
            f"Internal error in the Spark feature engine: the feature query returned "
            f"{table.num_rows} rows for {n_rows} cohort rows (expected exactly one row per "
            "cohort row). Please report it."
        )
    return _frame(table, dtype)


def _frame(table, dtype) -> pd.DataFrame:
    """Arrow rows (pupil_id, as_of_date, features...) as the engine's sorted frame."""
    import pyarrow as pa

    names = table.column_names[2:]
    values = np.empty((table.num_rows, len(names)), dtype=dtype, order="F")
    for j, name in enumerate(names):
        column = table.column(name).cast(pa.float64())
        values[:, j] = column.to_numpy(zero_copy_only=False)
    pupil = key_values(table.column(0).to_numpy(zero_copy_only=False))
    asof = table.column(1).cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
    order = np.lexsort((pupil.to_numpy(), asof)) if len(pupil) else np.arange(0)
    index = pd.MultiIndex.from_arrays(
        [
            pd.Index(pupil.to_numpy()[order], name="pupil_id", dtype=pupil.dtype),
            pd.Index(asof[order].astype("datetime64[us]"), name="as_of_date"),
        ]
    )
    return pd.DataFrame(values[order], index=index, columns=names, copy=False)
