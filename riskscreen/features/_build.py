"""The functional API: :func:`build_cohort`, :func:`build_features`, :func:`write_features`."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from riskscreen.features._cohort import Cohort, SchoolCohort
from riskscreen.features._compile import compile_sql
from riskscreen.features._dataset import feature_matrix
from riskscreen.features._run import check_spec, open_session, run_features
from riskscreen.features._session import COHORT_CTES, Session
from riskscreen.features._spec import FeatureSpec


def build_cohort(
    histories,
    as_of_dates,
    *,
    ncyears: tuple[int, int] = (5, 11),
    include_off_roll_social_care: bool = False,
    social_care_lookback: str = "365D",
    engine=None,
) -> pd.DataFrame:
    """Who is screened at each as-of date by the school cohort (see :class:`SchoolCohort`).

    For another cohort, use ``build_dataset(histories, dates, cohort=...).cohort``.
    ``engine`` is as for :func:`build_features`.

    Returns
    -------
    DataFrame indexed by (pupil_id, as_of_date), sorted by as_of_date then
    pupil_id, with columns ``school_id`` (Int64, <NA> off roll), ``ncyear``
    (int64) and ``on_roll`` (bool).
    """
    cohort = SchoolCohort(
        ncyears=tuple(ncyears) if isinstance(ncyears, (list, tuple)) else ncyears,
        include_off_roll_social_care=include_off_roll_social_care,
        social_care_lookback=social_care_lookback,
    )
    with open_session(histories, owner="build_cohort", engine=engine) as session:
        return session.prepare(as_of_dates, cohort).cohort_frame()


def build_features(
    histories,
    as_of_dates,
    spec: FeatureSpec | None = None,
    *,
    cohort: Cohort | pd.DataFrame | None = None,
    use_protected: tuple[str, ...] = (),
    dtype: str = "float64",
    engine=None,
) -> pd.DataFrame:
    """The feature matrix of the cohort at each as-of date.

    Parameters
    ----------
    histories : LinkedHistories or path-like
        In-memory histories, or a folder written by ``LinkedHistories.save``
        (its Parquet files are read by DuckDB, out of core; engine settings such
        as a memory limit come from :func:`riskscreen.config_context`).
    as_of_dates : date or sequence of dates
        Screening dates.
    spec : FeatureSpec, optional
        Features to build (default :func:`default_spec`).
    cohort : Cohort or DataFrame, optional
        Who is screened (default ``SchoolCohort()``: on roll, NC years 5-11), or a
        frame indexed by (pupil_id, as_of_date) such as :func:`build_cohort` output.
    use_protected : tuple of str, default ()
        Protected characteristics to add as inputs (``"sex"`` -> ``sex_m``;
        ``"ethnicity"`` -> one-hot ``ethnicity_<code>``). Logged as a warning.
    dtype : {"float64", "float32"}, default "float64"
        Dtype of the feature columns; ``"float32"`` halves the memory.
    engine : {"duckdb", "spark"}, SparkSession or None
        Where the SQL runs: DuckDB in-process (the default), or Spark
        (``"spark"``: the configured, active or a local SparkSession; or the
        SparkSession given). None follows ``riskscreen.config_context(engine=)``.
        Both give the same values (see :mod:`riskscreen.spark`).

    Returns
    -------
    X : DataFrame
        Indexed by (pupil_id, as_of_date), sorted by as_of_date then pupil_id,
        columns in spec order (``<name>__missing`` right after its feature).

    See Also
    --------
    build_dataset : cohort, features, labels and protected characteristics together.
    write_features : the same rows written to a Parquet file, out of core.

    Examples
    --------
    >>> X = build_features(histories, ["2022-01-10", "2022-04-25"])  # doctest: +SKIP
    """
    return feature_matrix(
        histories,
        as_of_dates,
        owner="build_features",
        spec=spec,
        cohort=cohort,
        use_protected=use_protected,
        dtype=dtype,
        engine=engine,
    )


def write_features(
    histories,
    as_of_dates,
    path: str | os.PathLike,
    spec: FeatureSpec | None = None,
    *,
    cohort: Cohort | pd.DataFrame | None = None,
    engine=None,
) -> Path:
    """Write the feature matrix to a Parquet file from DuckDB, never holding it in memory.

    The out-of-core route for very large cohorts: the rows of
    :func:`build_features` (with ``pupil_id`` and ``as_of_date`` columns, feature
    columns as doubles) are streamed batch by batch into ``path``. Rows come in
    the order of :func:`build_features` (as-of date, then pupil) for few as-of
    dates; for many (the plan of running totals, see :func:`feature_plan`) a batch
    of pupils at a time, each batch date by date. Every row group then holds one
    as-of date, so a reader filtering on ``as_of_date`` skips the others; sort by
    (``as_of_date``, ``pupil_id``) where the order matters. Features
    imputed with ``"median"`` are refused (their median needs the whole column).
    With ``engine="spark"`` (see :func:`build_features`) Spark writes ``path`` as a
    folder of Parquet part files, in no particular row order.

    Returns
    -------
    Path
        ``path``.
    """
    owner = "write_features"
    spec = check_spec(spec, owner)
    median = [f.name for f in spec if f.impute_value == "median"]
    if median:
        raise ValueError(
            f"The 'spec' parameter of {owner} cannot hold features imputed by 'median' "
            f"({median}): their median needs the whole column. Use build_features, or "
            "impute a constant."
        )
    with open_session(histories, owner=owner, engine=engine) as session:
        session.prepare(as_of_dates, cohort)
        run_features(session, spec, output_path=path)
    return Path(path)


def feature_sql(histories, spec: FeatureSpec | None = None, *, as_of_dates=None) -> str:
    """The SQL text the engine runs for ``spec`` over the session's cohort (DuckDB dialect).

    ``as_of_dates`` defaults to the first date the histories cover plus one day.
    """
    owner = "feature_sql"
    spec = check_spec(spec, owner)
    with Session(histories, owner=owner) as session:
        if as_of_dates is None:
            first, _ = session.date_range()
            as_of_dates = [(first or pd.Timestamp("2000-01-01")) + pd.Timedelta(days=1)]
        session.prepare(as_of_dates, None, check=False)
        sql, _ = compile_sql(spec, session.views, COHORT_CTES)
    return sql
