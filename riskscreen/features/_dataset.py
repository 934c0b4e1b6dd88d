"""Cohort, features and labels built together in one session: :class:`Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from riskscreen._time import Duration, as_of_dates, label_window_complete
from riskscreen.features._labels import (
    LabelRules,
    compute_labels,
    label_rules,
    protect_label_report,
)
from riskscreen.features._protected import compute_protected, protected_inputs
from riskscreen.features._run import (
    check_dtype,
    check_spec,
    fill_medians,
    open_session,
    run_features,
)
from riskscreen.features._session import Session
from riskscreen.features._spec import FeatureSpec

AS_OF = "as_of_date"


@dataclass(frozen=True)
class Dataset:
    """Who was screened, their features and (optionally) their outcomes, row for row.

    Built by :func:`build_dataset` (one read of the histories); every frame is
    indexed by (pupil_id, as_of_date) in the same order. It is what a
    :class:`~riskscreen.Screener` fits on, scores and evaluates, so several
    models can share features built once.

    Attributes
    ----------
    X : DataFrame
        The feature matrix (float columns, spec order).
    cohort : DataFrame
        ``school_id``, ``ncyear``, ``on_roll`` of each row.
    spec : FeatureSpec
        The features built.
    y : Series of "boolean" or None
        The outcome in ``[as_of, as_of + horizon)``; <NA> where censored or unknown.
    label_report_unsuppressed : DataFrame or None
        Per as-of date: cohort, positives, negatives, censored, unknown, rate and
        ``window_complete`` (the label window lies within the data), raw: for
        the analyst's own checks, never to publish. :attr:`label_report` is the
        same with small counts hidden.
    outcome : str or None
    horizon : Duration or None
    sensitive : DataFrame or None
        Protected characteristics and audit groups (with ``sensitive=True``).
    end_of_data : Timestamp or None
        The latest date anything is recorded in the histories.
    fingerprint : dict
        Row counts and content hashes of the histories (no identifiers).
    notes : tuple of str
        What was done to the rows (e.g. dates dropped), for reports.
    """

    X: pd.DataFrame
    cohort: pd.DataFrame
    spec: FeatureSpec
    y: pd.Series | None = None
    label_report_unsuppressed: pd.DataFrame | None = None
    outcome: str | None = None
    horizon: Duration | None = None
    sensitive: pd.DataFrame | None = None
    end_of_data: pd.Timestamp | None = None
    fingerprint: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def label_report(self) -> pd.DataFrame | None:
        """The labels report as a person may read it (small counts hidden; see
        :func:`~riskscreen.features.protect_label_report`)."""
        if self.label_report_unsuppressed is None:
            return None
        return protect_label_report(self.label_report_unsuppressed)

    @property
    def as_of_dates(self) -> list[pd.Timestamp]:
        """The as-of dates, oldest first."""
        return sorted(pd.Timestamp(d) for d in self.X.index.get_level_values(AS_OF).unique())

    @property
    def incomplete_dates(self) -> list[pd.Timestamp]:
        """As-of dates whose label window runs past the end of data."""
        if self.horizon is None:
            return []
        return [
            d
            for d in self.as_of_dates
            if not label_window_complete(d, self.horizon, self.end_of_data)
        ]

    def select_dates(self, dates) -> Dataset:
        """The rows of these as-of dates only."""
        return self._select(list(as_of_dates(dates, parameter="dates", owner="Dataset")))

    def _select(self, keep_dates: list) -> Dataset:
        rows = self.X.index.get_level_values(AS_OF).isin(keep_dates)

        def part(frame):
            return None if frame is None else frame[rows]

        report = self.label_report_unsuppressed
        if report is not None:
            report = report[report.index.isin(keep_dates)]
        return replace(
            self,
            X=self.X[rows],
            cohort=self.cohort[rows],
            y=part(self.y),
            sensitive=part(self.sensitive),
            label_report_unsuppressed=report,
        )

    def complete(self) -> Dataset:
        """The rows of as-of dates whose label windows lie within the data."""
        late = set(self.incomplete_dates)
        if not late:
            return self
        keep = [d for d in self.as_of_dates if d not in late]
        note = (
            f"As-of date(s) {', '.join(str(d.date()) for d in sorted(late))} dropped: their "
            f"{self.horizon.text} label windows run past the end of data "
            f"{pd.Timestamp(self.end_of_data).date()}."
        )
        return replace(self._select(keep), notes=(*self.notes, note))

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        dates = ", ".join(str(d.date()) for d in self.as_of_dates[:6])
        more = "" if len(self.as_of_dates) <= 6 else ", ..."
        label = "" if self.outcome is None else f", outcome={self.outcome!r} ({self.horizon})"
        return (
            f"<Dataset {len(self.X):,} rows x {self.X.shape[1]} features at "
            f"{len(self.as_of_dates)} as-of date(s) [{dates}{more}]{label}>"
        )


def build_dataset(
    histories,
    as_of_dates,
    *,
    spec: FeatureSpec | None = None,
    cohort=None,
    outcome=None,
    horizon="365D",
    cme_definition=None,
    min_possible_sessions: int = 20,
    pa_threshold: float = 0.10,
    sensitive: bool = False,
    use_protected: tuple[str, ...] = (),
    dtype: str = "float64",
) -> Dataset:
    """Cohort, features and (with ``outcome``) labels at each as-of date, in one session.

    The histories are opened once: the cohort is worked out once and shared by
    the features, the labels and the protected characteristics, and the end of
    data and the data fingerprint are read in the same session.

    Parameters
    ----------
    histories : LinkedHistories or path-like
        In memory, or a folder written by ``LinkedHistories.save`` (read lazily).
    as_of_dates : date or sequence of dates
    spec : FeatureSpec, optional
        Default :func:`default_spec`.
    cohort : Cohort or DataFrame, optional
        Who is screened (default ``SchoolCohort()``).
    outcome : str or tuple of str, optional
        Label the rows (see :func:`make_labels`); None builds no labels.
    horizon : str or Duration, default "365D"
        The label window.
    cme_definition, min_possible_sessions, pa_threshold :
        As in :func:`make_labels`.
    sensitive : bool, default False
        Also return the protected characteristics and audit groups
        (:func:`protected_characteristics`) in ``Dataset.sensitive``.
    use_protected : tuple of str, default ()
        Protected characteristics to add as model inputs (an explicit, logged
        choice; see :func:`build_features`).
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    Dataset

    Examples
    --------
    >>> data = build_dataset(histories, ["2021-02-01", "2022-02-01"],
    ...                      outcome="suspension", horizon="12M")  # doctest: +SKIP
    >>> data.X.shape, data.y.mean()  # doctest: +SKIP
    """
    owner = "build_dataset"
    spec = check_spec(spec, owner)
    check_dtype(dtype, owner)
    rules: LabelRules | None = None
    if outcome is not None:
        rules = label_rules(
            outcome,
            horizon,
            owner=owner,
            cme_definition=cme_definition,
            min_possible_sessions=min_possible_sessions,
            pa_threshold=pa_threshold,
        )
    with Session(histories, owner=owner) as session:
        return dataset_from_session(
            session,
            as_of_dates,
            spec=spec,
            cohort=cohort,
            rules=rules,
            sensitive=sensitive,
            use_protected=use_protected,
            dtype=dtype,
        )


def dataset_from_session(
    session: Session,
    as_of_dates,
    *,
    spec: FeatureSpec,
    cohort=None,
    rules: LabelRules | None = None,
    sensitive: bool = False,
    use_protected=(),
    dtype="float64",
) -> Dataset:
    """:func:`build_dataset` in an open session (parameters already checked)."""
    session.prepare(as_of_dates, cohort)
    X, groups = _features(session, spec, use_protected, dtype, sensitive=sensitive)
    y = report = None
    if rules is not None:
        y, report = compute_labels(session, rules)
    return Dataset(
        X=X,
        cohort=session.cohort_frame(),
        spec=spec,
        y=y,
        label_report_unsuppressed=report,
        outcome=None if rules is None else rules.name,
        horizon=None if rules is None else rules.horizon,
        sensitive=groups if sensitive else None,
        end_of_data=session.end_of_data(),
        fingerprint=session.fingerprint(),
    )


def feature_matrix(
    histories,
    as_of_dates,
    *,
    owner: str,
    spec=None,
    cohort=None,
    use_protected=(),
    dtype="float64",
    engine="duckdb",
) -> pd.DataFrame:
    """The features alone, in one session, naming ``owner`` in errors (see build_features).

    ``engine`` is as for :func:`build_features` (None: the configured engine).
    """
    spec = check_spec(spec, owner)
    check_dtype(dtype, owner)
    with open_session(histories, owner=owner, engine=engine) as session:
        # the features alone: no cohort frame, labels or fingerprint (a Dataset's)
        session.prepare(as_of_dates, cohort)
        return _features(session, spec, use_protected, dtype)[0]


def _features(session: Session, spec, use_protected, dtype, *, sensitive: bool = False):
    """The prepared session's feature matrix (medians filled, protected inputs appended
    for ``use_protected``) and its protected groups (None unless ``sensitive`` or
    ``use_protected``)."""
    if isinstance(use_protected, str):
        use_protected = (use_protected,)
    use_protected = tuple(use_protected or ())
    X = fill_medians(run_features(session, spec, dtype=dtype), spec, None)
    groups = compute_protected(session) if (sensitive or use_protected) else None
    if use_protected:
        X = pd.concat([X, protected_inputs(groups, use_protected).astype(X.dtypes.iloc[0])], axis=1)
    return X, groups
