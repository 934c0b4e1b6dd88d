"""The :class:`FeatureBuilder` transformer: features with medians learned at fit."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from riskscreen.features._build import feature_sql
from riskscreen.features._dataset import feature_matrix
from riskscreen.features._run import check_spec


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
        Who is screened (default ``SchoolCohort()``).
    use_protected : tuple of str, default ()
        See :func:`build_features`.

    Examples
    --------
    >>> fb = FeatureBuilder().fit(histories, train_dates)  # doctest: +SKIP
    >>> X_test = fb.transform(histories, test_dates)  # doctest: +SKIP
    """

    def __init__(self, spec=None, cohort=None, use_protected=()):
        self.spec = spec
        self.cohort = cohort
        self.use_protected = use_protected

    def fit(self, histories, as_of_dates=None):
        """Validate the spec on ``histories``; learn medians on ``as_of_dates`` if needed."""
        spec = check_spec(self.spec, "FeatureBuilder")
        feature_sql(histories, spec)
        needs = [f.name for f in spec if f.impute_value == "median"]
        medians: dict[str, float] = {}
        if needs:
            if as_of_dates is None:
                raise ValueError(
                    f"FeatureBuilder.fit needs 'as_of_dates' to learn the medians of {needs}."
                )
            X = feature_matrix(
                histories,
                as_of_dates,
                owner="FeatureBuilder.fit",
                spec=spec.select(needs),
                cohort=self.cohort,
            )
            for n in needs:
                m = X[n].median()
                medians[n] = 0.0 if np.isnan(m) else float(m)
        self.spec_ = spec
        self.medians_ = medians
        self.feature_names_out_ = list(spec.output_names())
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def transform(self, histories, as_of_dates):
        """The feature matrix at ``as_of_dates`` (see :func:`build_features`)."""
        check_is_fitted(self, "spec_")
        spec = self.spec_.with_impute(self.medians_) if self.medians_ else self.spec_
        return feature_matrix(
            histories,
            as_of_dates,
            owner="FeatureBuilder.transform",
            spec=spec,
            cohort=self.cohort,
            use_protected=self.use_protected,
        )

    def fit_transform(self, histories, as_of_dates):
        return self.fit(histories, as_of_dates).transform(histories, as_of_dates)

    def get_feature_names_out(self, input_features=None):
        """Output column names (protected inputs, if used, are appended by transform)."""
        check_is_fitted(self, "spec_")
        return np.asarray(self.feature_names_out_, dtype=object)
