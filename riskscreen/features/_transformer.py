"""Functional API (build_features, build_cohort) and the FeatureBuilder transformer."""

from __future__ import annotations

import os

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from riskscreen.features._cohort import Cohort
from riskscreen.features._default_spec import default_spec
from riskscreen.features._engine import (
    _index,
    compile_sql,
    fill_medians,
    open_session,
    run_features,
)
from riskscreen.features._protected import protected_characteristics, protected_inputs
from riskscreen.features._spec import FeatureSpec


def build_cohort(
    histories,
    as_of_dates,
    *,
    ncyears: tuple[int, int] = (5, 11),
    include_off_roll_social_care: bool = False,
    social_care_lookback: str = "365D",
    memory_limit=None,
    temp_directory=None,
) -> pd.DataFrame:
    """Who is screened at each as-of date (see :class:`Cohort` for the rules).

    Returns
    -------
    DataFrame indexed by (pupil_id, as_of_date), sorted by as_of_date then
    pupil_id, with columns ``school_id`` (Int64, <NA> off roll), ``ncyear``
    (int64) and ``on_roll`` (bool).
    """
    cohort = Cohort(
        ncyears=tuple(ncyears) if isinstance(ncyears, (list, tuple)) else ncyears,
        include_off_roll_social_care=include_off_roll_social_care,
        social_care_lookback=social_care_lookback,
    )
    sources, ctes, _ = open_session(
        histories,
        as_of_dates,
        cohort,
        owner="build_cohort",
        memory_limit=memory_limit,
        temp_directory=temp_directory,
    )
    try:
        sql = (
            "WITH "
            + ",\n".join(f"{n} AS ({b})" for n, b in ctes)
            + "\nSELECT pupil_id, as_of_date, school_id, ncyear, on_roll FROM cohort "
            "ORDER BY as_of_date, pupil_id"
        )
        out = _index(sources.con.execute(sql).df())
    finally:
        sources.close()
    out["school_id"] = out["school_id"].astype("Int64")
    out["ncyear"] = out["ncyear"].astype("int64")
    out["on_roll"] = out["on_roll"].astype("bool")
    return out


def build_features(
    histories,
    as_of_dates,
    spec: FeatureSpec | None = None,
    *,
    cohort: Cohort | pd.DataFrame | None = None,
    use_protected: tuple[str, ...] = (),
    return_sensitive: bool = False,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
    threads: int | None = None,
    output_path: str | os.PathLike | None = None,
    dtype: str = "float64",
):
    """The feature matrix of the cohort at each as-of date.

    Parameters
    ----------
    histories : LinkedHistories or path-like
        In-memory histories, or a folder of ``<table>.parquet`` files read lazily
        by DuckDB (out-of-core with ``memory_limit``/``temp_directory``).
    as_of_dates : date or sequence of dates
        Screening dates; all are computed in one query.
    spec : FeatureSpec, optional
        Features to build (default :func:`default_spec`).
    cohort : Cohort or DataFrame, optional
        Who is screened (default ``Cohort()``: on roll, NC years 5-11), or a
        frame indexed by (pupil_id, as_of_date) such as :func:`build_cohort` output.
    use_protected : tuple of str, default ()
        Protected characteristics to add as inputs (``"sex"`` -> ``sex_m``;
        ``"ethnicity"`` -> one-hot ``ethnicity_<code>``). Logged as a warning.
    return_sensitive : bool, default False
        Also return :func:`protected_characteristics` aligned to X.
    memory_limit, temp_directory, threads : optional
        DuckDB settings (e.g. ``memory_limit="1GB"``).
    output_path : path-like, optional
        Write X (with ``pupil_id`` and ``as_of_date`` columns) to this Parquet file
        from DuckDB, without building it in memory, and return the path: the
        out-of-core route for very large cohorts. Not combinable with
        ``impute="median"``, ``use_protected`` or ``return_sensitive``.
    dtype : {"float64", "float32"}, default "float64"
        Dtype of the feature columns of the returned X; ``"float32"`` halves its
        memory. Ignored with ``output_path`` (the Parquet file holds doubles).

    Returns
    -------
    X : DataFrame of float64 (float32 with ``dtype="float32"``)
        Indexed by (pupil_id, as_of_date), sorted by as_of_date then pupil_id,
        columns in spec order (``<name>__missing`` right after its feature).
    sensitive : DataFrame, only with ``return_sensitive=True``

    Examples
    --------
    >>> X = build_features(histories, ["2022-01-10", "2022-04-25"])  # doctest: +SKIP
    """
    spec = default_spec() if spec is None else spec
    if output_path is not None and (
        use_protected
        or return_sensitive
        or any(getattr(f, "impute_value", None) == "median" for f in spec)
    ):
        raise ValueError(
            "The 'output_path' parameter of build_features cannot be combined with "
            "use_protected, return_sensitive or features imputed by 'median'."
        )
    X = run_features(
        histories,
        as_of_dates,
        spec,
        cohort,
        memory_limit=memory_limit,
        temp_directory=temp_directory,
        threads=threads,
        output_path=output_path,
        dtype=dtype,
    )
    if output_path is not None:
        return X  # the path of the Parquet file
    X = fill_medians(X, spec, None)
    return _finish(histories, X, use_protected, return_sensitive, memory_limit, temp_directory)


def _finish(histories, X, use_protected, return_sensitive, memory_limit, temp_directory):
    if isinstance(use_protected, str):
        use_protected = (use_protected,)
    use_protected = tuple(use_protected or ())
    if not (use_protected or return_sensitive):
        return X
    sensitive = protected_characteristics(
        histories, X.index, memory_limit=memory_limit, temp_directory=temp_directory
    )
    if use_protected:
        X = pd.concat([X, protected_inputs(sensitive, use_protected)], axis=1)
    return (X, sensitive) if return_sensitive else X


def feature_sql(histories, spec: FeatureSpec | None = None, *, cohort=None, as_of_dates=None):
    """The SQL text :func:`build_features` runs (DuckDB dialect, sqlglot-compatible)."""
    spec = default_spec() if spec is None else spec
    sources, ctes, _ = open_session(
        histories,
        as_of_dates if as_of_dates is not None else ["2000-01-01"],
        cohort,
        owner="feature_sql",
        check=False,
    )
    try:
        sql, _ = compile_sql(spec, sources, ctes)
    finally:
        sources.close()
    return sql


class FeatureBuilder(BaseEstimator):
    """scikit-learn style transformer from histories and as-of dates to features.

    ``fit`` checks the spec against the histories and learns the medians of
    features imputed with ``"median"`` (on the as-of dates given to ``fit``);
    ``transform`` builds features for any as-of dates with those medians.

    Parameters
    ----------
    spec : FeatureSpec, optional
        Default :func:`default_spec`.
    cohort : Cohort or DataFrame, optional
        Who is screened (default ``Cohort()``).
    use_protected : tuple of str, default ()
        See :func:`build_features`.
    memory_limit, temp_directory : optional
        DuckDB settings.

    Examples
    --------
    >>> fb = FeatureBuilder().fit(histories, train_dates)  # doctest: +SKIP
    >>> X_test = fb.transform(histories, test_dates)  # doctest: +SKIP
    """

    def __init__(
        self, spec=None, cohort=None, use_protected=(), memory_limit=None, temp_directory=None
    ):
        self.spec = spec
        self.cohort = cohort
        self.use_protected = use_protected
        self.memory_limit = memory_limit
        self.temp_directory = temp_directory

    def fit(self, histories, as_of_dates=None):
        """Validate the spec on ``histories``; learn medians on ``as_of_dates`` if needed."""
        spec = default_spec() if self.spec is None else self.spec
        if not isinstance(spec, FeatureSpec):
            raise ValueError(
                "The 'spec' parameter of FeatureBuilder must be a FeatureSpec or None. "
                f"Got {type(spec).__name__} instead."
            )
        feature_sql(
            histories,
            spec,
            cohort=self.cohort if not isinstance(self.cohort, pd.DataFrame) else None,
        )
        needs = [f.name for f in spec if f.impute_value == "median"]
        medians: dict[str, float] = {}
        if needs:
            if as_of_dates is None:
                raise ValueError(
                    f"FeatureBuilder.fit needs 'as_of_dates' to learn the medians of {needs}."
                )
            X = run_features(
                histories,
                as_of_dates,
                spec.select(needs),
                self.cohort,
                memory_limit=self.memory_limit,
                temp_directory=self.temp_directory,
            )
            for n in needs:
                m = X[n].median()
                medians[n] = 0.0 if pd.isna(m) else float(m)
        self.spec_ = spec
        self.medians_ = medians
        names = list(spec.output_names())
        self.feature_names_out_ = names
        self.n_features_out_ = len(names)
        return self

    def transform(self, histories, as_of_dates):
        """The feature matrix at ``as_of_dates`` (see :func:`build_features`)."""
        check_is_fitted(self, "spec_")
        X = run_features(
            histories,
            as_of_dates,
            self.spec_,
            self.cohort,
            memory_limit=self.memory_limit,
            temp_directory=self.temp_directory,
        )
        X = fill_medians(X, self.spec_, self.medians_)
        return _finish(
            histories, X, self.use_protected, False, self.memory_limit, self.temp_directory
        )

    def fit_transform(self, histories, as_of_dates):
        return self.fit(histories, as_of_dates).transform(histories, as_of_dates)

    def get_feature_names_out(self, input_features=None):
        """Output column names (protected inputs, if used, are appended by transform)."""
        import numpy as np

        check_is_fitted(self, "spec_")
        return np.asarray(self.feature_names_out_, dtype=object)
