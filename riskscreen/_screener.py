"""The analyst's one object, :class:`Screener`: it orchestrates the subpackages.

``features`` builds a :class:`~riskscreen.features.Dataset` (cohort, X, y in one
session), ``training`` splits by time, fits the model, calibrates and fits the
rule baselines, ``evaluation`` ranks, bands, flags and compares.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from riskscreen._screener_evaluate import evaluate_dataset
from riskscreen._screener_params import check_n_bootstrap, check_params, params_hash
from riskscreen._screening import Screening
from riskscreen._time import Duration, latest_complete_as_of
from riskscreen._time import as_of_date as _as_of_date
from riskscreen._time import as_of_dates as _as_of_dates
from riskscreen.evaluation import (
    Comparison,
    assign_bands,
    compare_scores,
)
from riskscreen.features import Dataset, build_dataset
from riskscreen.features._outcome import outcome_name, parse_outcome
from riskscreen.training import (
    BaselineUnavailable,
    CalibratedScorer,
    LGBMRiskModel,
    LogisticScorecard,
    TemporalSplit,
    default_baselines,
)
from riskscreen.training._rounds import fit_with_early_stopping

logger = logging.getLogger("riskscreen")

PUPIL = "pupil_id"
AS_OF = "as_of_date"
#: A fit date counts as "labels complete" when at most this share of its rows is censored.
MAX_CENSORED_SHARE = 0.5


class Screener(BaseEstimator):
    """Build features and labels, train, validate on later dates, calibrate, screen.

    ``fit(histories, as_of_dates)`` builds the cohort, features and labels at each
    as-of date in one read of the histories (:func:`~riskscreen.features.build_dataset`);
    as-of dates whose label window runs past the end of data are skipped and
    listed in ``skipped_dates_``. The latest ``validation_dates`` dates are held
    out as the calibration/validation fold and the model is trained on the
    earlier dates whose label windows close before it (both chosen by
    :meth:`TemporalSplit.holdout`, the one place the temporal rule is written).
    The model is calibrated on the fold, the rule baselines are fitted on the
    same training rows, and their comparison on the fold is ``validation_``.
    ``fit`` writes nothing and tracks nothing (see :func:`riskscreen.tracking.track`);
    ``timings_`` records how long the model fit (early stopping included) and the
    validation took, in seconds.

    With ``model="lightgbm"`` the number of boosting rounds is chosen by early
    stopping on the latest training date (again by :meth:`TemporalSplit.holdout`),
    then the model is refitted on every training date; the calibration fold
    stays untouched. The monotone hints of the feature spec constrain both
    built-in models.

    Ranking (``score``, flags, precision@k) uses the model's own score; the
    calibrated probability is reported next to it (isotonic maps create ties).

    ``fit``, ``score`` and ``evaluate`` also take a ready-made
    :class:`~riskscreen.features.Dataset`, so several models can share features
    built once. Engine settings (memory limit, spill folder, threads) come from
    :func:`riskscreen.config_context`.

    Parameters
    ----------
    outcome : str, default="suspension"
        ``"suspension"``, ``"permanent_exclusion"``, ``"missing_education"``,
        ``"persistent_absence"`` or several joined by ``"|"`` (any of them).
    horizon : str or Duration, default="365D"
        Label window after the as-of date: ``"365D"``, ``"52W"``, ``"12M"``, ``"1Y"``.
    spec : FeatureSpec, optional
        Features to build (default: ``riskscreen.features.default_spec()``).
    cohort : Cohort, optional
        Who is screened (default: :class:`~riskscreen.features.SchoolCohort`, on a
        school roll in NC years 5-11); e.g. ``SocialCareCohort()`` for children
        known to social care on no roll, ``SpellCohort("registrations")``.
    model : "lightgbm", "scorecard" or a scikit-learn classifier
    baselines : dict of str to estimator, optional
        The rule baselines to compare with, by display name (default:
        :func:`~riskscreen.training.default_baselines`): e.g. an organisation's own
        :class:`~riskscreen.training.Checklist`, a
        :class:`~riskscreen.training.FeatureRanker` or any scikit-learn
        classifier. One that cannot run on the features is listed in
        ``baselines_skipped_`` with what it needs.
    capacity : float or int, default=0.05
        Fraction of the cohort (or number of pupils) a panel can review.
    per_school : bool, default=False
        Flag the top ``capacity`` within each school instead of overall.
    calibration : {"isotonic", "sigmoid"}, default="isotonic"
    bands : (float, float), default=(0.80, 0.95)
        Cut-offs for low/medium/high (rank percentiles, or probabilities with
        ``band_on="probability"``).
    band_on : {"percentile", "probability"}, default="percentile"
    validation_dates : int, default=1
    n_bootstrap : int, default=200
    random_state : int, default=0

    Examples
    --------
    >>> screener = Screener(model="scorecard", horizon="12M").fit(
    ...     histories, ["2020-09-01", "2021-09-01", "2022-09-01"])  # doctest: +SKIP
    >>> screener.score(histories, "2023-06-01").to_frame().head()  # doctest: +SKIP
    """

    def __init__(
        self,
        outcome: str = "suspension",
        horizon: str = "365D",
        spec=None,
        cohort=None,
        model="lightgbm",
        baselines=None,
        capacity: float | int = 0.05,
        per_school: bool = False,
        calibration: str = "isotonic",
        bands: tuple[float, float] = (0.80, 0.95),
        band_on: str = "percentile",
        validation_dates: int = 1,
        n_bootstrap: int = 200,
        random_state: int | None = 0,
    ) -> None:
        self.outcome = outcome
        self.horizon = horizon
        self.spec = spec
        self.cohort = cohort
        self.model = model
        self.baselines = baselines
        self.capacity = capacity
        self.per_school = per_school
        self.calibration = calibration
        self.bands = bands
        self.band_on = band_on
        self.validation_dates = validation_dates
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    # -- parameters --------------------------------------------------------------------------
    def _check_params(self) -> Duration:
        """Check every parameter before any data are read; return the parsed horizon."""
        return check_params(self)

    def _outcome_name(self) -> str:
        return "|".join(outcome_name(p) for p in parse_outcome(self.outcome, "Screener"))

    def _outcome_for_words(self):
        """The outcome for sentences: its name, or its Outcome objects (with their words)."""
        parts = parse_outcome(self.outcome, "Screener")
        return self._outcome_name() if all(isinstance(p, str) for p in parts) else parts

    def _dataset(
        self, histories, dates, horizon: Duration, *, labels: bool, owner: str, sensitive=False
    ):
        """A Dataset from histories at ``dates``, or a given Dataset checked against self."""
        spec = getattr(self, "spec_", None) or self.spec
        if not isinstance(histories, Dataset):
            data = build_dataset(
                histories,
                dates,
                spec=spec,
                cohort=self.cohort,
                outcome=self.outcome if labels else None,
                horizon=horizon,
                sensitive=sensitive,
            )
        else:
            data = histories if dates is None else histories.select_dates(dates)
        if len(data.X) == 0:
            shown = ", ".join(str(pd.Timestamp(d).date()) for d in (dates or data.as_of_dates)[:5])
            raise ValueError(
                f"{owner}: the cohort is empty on {shown or 'the dates given'}: no pupil "
                "meets its rule (by default: on a school roll in NC years 5-11). Check the "
                "as-of dates against the data, or pass a cohort that fits them."
            )
        return self._check_labels(data, horizon, owner) if labels else data

    def _check_labels(self, data: Dataset, horizon: Duration, owner: str) -> Dataset:
        """The Dataset, once its labels are the Screener's outcome over its horizon."""
        if data.y is None or data.outcome != self._outcome_name():
            raise ValueError(
                f"{owner} needs a Dataset labelled with outcome {self._outcome_name()!r} "
                f"(build_dataset(..., outcome=...)). Got outcome {data.outcome!r}."
            )
        if data.horizon is not None and data.horizon != horizon:
            raise ValueError(
                f"{owner}: the Dataset's labels use horizon {data.horizon.text!r}, the "
                f"Screener's horizon is {horizon.text!r}; build it with the same horizon."
            )
        return data

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, histories, as_of_dates=None):
        """Train on earlier as-of dates, calibrate and validate on the latest complete one(s).

        Parameters
        ----------
        histories : LinkedHistories, path-like or Dataset
            Histories in memory or a saved folder, or a Dataset built with
            ``build_dataset(..., outcome=...)`` (then ``as_of_dates`` may pick some
            of its dates).
        as_of_dates : sequence of dates
            Required with histories.
        """
        horizon = self._check_params()
        if as_of_dates is None and not isinstance(histories, Dataset):
            raise ValueError(
                "The 'as_of_dates' parameter of Screener.fit is required with histories "
                "(e.g. one as-of date per term over several years)."
            )
        dates = None if as_of_dates is None else _as_of_dates(as_of_dates, owner="Screener.fit")
        data = self._dataset(histories, dates, horizon, labels=True, owner="Screener.fit")
        if self.spec is not None and data.spec != self.spec:
            raise ValueError(
                "Screener.fit: the Dataset was built with another FeatureSpec than the "
                "Screener's 'spec'; build it with the same spec, or leave spec=None."
            )
        self.spec_ = data.spec
        self.skipped_dates_ = [str(d.date()) for d in data.incomplete_dates]
        return self._fit_dataset(data.complete(), horizon)

    def _fit_dataset(self, data: Dataset, horizon: Duration):
        from riskscreen import __version__

        X, y = data.X, data.y.reindex(data.X.index)
        row_dates = pd.DatetimeIndex(X.index.get_level_values(AS_OF))
        censored = y.isna().to_numpy()
        per_date = pd.Series(censored).groupby(row_dates).agg(["mean", "sum"])
        self.n_censored_ = {str(d.date()): int(n) for d, n in per_date["sum"].items()}
        complete = [d for d, share in per_date["mean"].items() if share <= MAX_CENSORED_SHARE]
        split = TemporalSplit(horizon=horizon)
        n_val = int(self.validation_dates)
        if len(complete) <= n_val:
            raise ValueError(
                f"Screener.fit needs more than validation_dates={n_val} as-of dates with complete "
                f"{horizon.text} label windows; got {len(complete)} "
                f"({[str(d.date()) for d in complete]}; skipped {self.skipped_dates_}). "
                "Pass earlier as-of dates."
            )
        train_dates, cal_dates = split.holdout(complete, n_test=n_val)
        other = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        if other:
            raise ValueError(
                f"Screener.fit: the features {other[:10]} are not numbers (e.g. categories). "
                "Encode them as numbers first (one 0/1 column per category, as the feature "
                "engine's 'any' or 'count' with a where= filter gives); no column is dropped "
                "silently."
            )
        self.feature_names_ = list(X.columns)
        keep = ~censored
        in_train = keep & row_dates.isin(train_dates)
        in_cal = keep & row_dates.isin(cal_dates)
        Xm = self._model_X(X)
        yb = y.astype("float64").to_numpy()
        X_train, y_train = Xm[in_train], yb[in_train].astype(int)
        X_cal, y_cal = Xm[in_cal], yb[in_cal].astype(int)
        for name, part in (("training", y_train), ("calibration", y_cal)):
            if len(np.unique(part)) < 2:
                raise ValueError(
                    f"The {name} rows have a single outcome class ({len(part)} rows); the "
                    "outcome is too rare for these dates - add pupils or as-of dates."
                )
        started = time.perf_counter()
        self.model_, self.early_stopping_ = fit_with_early_stopping(
            self._make_model(), X_train, y_train, row_dates[in_train], split
        )
        self.timings_ = {"model": time.perf_counter() - started}
        self.calibrated_ = CalibratedScorer(self.model_, method=self.calibration).fit(X_cal, y_cal)
        self.baselines_, self.baselines_skipped_ = {}, {}
        baselines = default_baselines() if self.baselines is None else self.baselines
        for name, baseline in baselines.items():
            try:
                self.baselines_[name] = clone(baseline).fit(X_train, y_train)
            except BaselineUnavailable as exc:  # the features lack the columns this rule reads
                needs = list(exc.needs)
                self.baselines_skipped_[name] = "needs " + (
                    ", ".join(needs)
                    if len(needs) <= 3
                    else f"{', '.join(needs[:3])} and {len(needs) - 3} more features"
                )
                logger.warning("Rule baseline %r not available: %s", name, exc)
        self.train_dates_ = [str(d.date()) for d in train_dates]
        self.calibration_dates_ = [str(d.date()) for d in cal_dates]
        self.n_train_rows_ = int(in_train.sum())
        self.n_calibration_rows_ = int(in_cal.sum())
        self.fit_timestamp_ = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        self.data_fingerprint_ = data.fingerprint
        self.model_info_ = {
            "riskscreen_version": __version__,
            "model_class": type(self.model_).__name__,
            "model_name": self._model_name(),
            "params_hash": params_hash(self, self.model_),
            "fit_timestamp": self.fit_timestamp_,
            "data_fingerprint": self.data_fingerprint_.get("combined"),
            "train_dates": self.train_dates_,
            "calibration_dates": self.calibration_dates_,
            "outcome": self._outcome_name(),
            "horizon": horizon.text,
            "calibration": self.calibration,
        }
        note = (
            f"Validation fold = calibration fold ({', '.join(self.calibration_dates_)}): ranking "
            "metrics are out of sample; the model's ECE there is in-sample for its calibration."
        )
        started = time.perf_counter()
        self.validation_ = self._compare(
            X_cal, y_cal, X.index[in_cal].get_level_values(PUPIL), notes=(*data.notes, note)
        )
        self.timings_["validation"] = time.perf_counter() - started
        return self

    def _make_model(self):
        if not isinstance(self.model, str):
            return clone(self.model)
        # the spec's monotone hints constrain both built-in models
        hints = self.spec_.monotone_constraints()
        monotone = {k: v for k, v in hints.items() if k in self.feature_names_} or None
        if self.model == "lightgbm":
            seed = 0 if self.random_state is None else self.random_state
            return LGBMRiskModel(monotone_constraints=monotone, random_state=seed)
        return LogisticScorecard(monotone_constraints=monotone)

    def _model_X(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ValueError(f"The feature rows lack columns the model was trained on: {missing}.")
        return X[self.feature_names_].astype("float64")

    def _model_name(self) -> str:
        return self.model if isinstance(self.model, str) else type(self.model_).__name__

    # -- scoring ---------------------------------------------------------------------------------
    def _scores(self, Xm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        raw = (
            np.asarray(self.model_.decision_function(Xm), dtype=float)
            if hasattr(self.model_, "decision_function")
            else np.asarray(self.model_.predict_proba(Xm)[:, 1], dtype=float)
        )
        return raw, self.calibrated_.predict_proba(Xm)[:, 1]

    def _bands_of(self, raw, proba, pupils=None):
        """Bands; ties broken by pupil so the "high" band is exactly the list at capacity."""
        score = proba if self.band_on == "probability" else raw
        return assign_bands(score, cutoffs=self.bands, on=self.band_on, tiebreak=pupils)

    def _compare(
        self,
        Xm,
        y,
        pupils,
        *,
        notes=(),
        n_bootstrap=None,
        band_of_rows=None,
        schools=None,
        as_of_dates=None,
        audit=None,
    ) -> Comparison:
        """Model vs baselines on the same rows, as the panel's list: pupils with an
        unknown outcome keep their places; per school when the Screener flags so."""
        check_n_bootstrap(n_bootstrap)
        raw, proba = self._scores(Xm)
        name = self._model_name()
        scores, probs = {name: raw}, {name: proba}
        for bname, b in self.baselines_.items():
            scores[bname] = b.decision_function(Xm)
            probs[bname] = b.predict_proba(Xm)[:, 1]
        return compare_scores(
            y,
            scores,
            probs,
            k=self.capacity,
            groups=np.asarray(pupils),
            n_bootstrap=self.n_bootstrap if n_bootstrap is None else n_bootstrap,
            outcome=self._outcome_for_words(),
            random_state=self.random_state,
            notes=tuple(notes),
            band_of_rows=band_of_rows,
            reference=name,
            schools=schools,
            per_school=bool(self.per_school) and schools is not None,
            as_of_dates=as_of_dates,
            censored="keep",
            audit=audit,
            unavailable=getattr(self, "baselines_skipped_", {}),
        )

    def score(self, histories, as_of_date=None) -> Screening:
        """Rank the cohort at ``as_of_date``: scores, calibrated probabilities, bands, flags.

        ``histories`` may be a Dataset of one as-of date (then ``as_of_date`` is optional).
        """
        check_is_fitted(self, "model_")
        horizon = self._check_params()
        date = None if as_of_date is None else [_as_of_date(as_of_date, owner="Screener.score")]
        if date is None and not isinstance(histories, Dataset):
            raise ValueError("The 'as_of_date' parameter of Screener.score is required.")
        data = self._dataset(histories, date, horizon, labels=False, owner="Screener.score")
        if len(data.as_of_dates) != 1:
            raise ValueError(
                "Screener.score screens one as-of date at a time; the Dataset has "
                f"{len(data.as_of_dates)}: {[str(d.date()) for d in data.as_of_dates[:5]]}. "
                "Pass as_of_date= to pick one."
            )
        raw, proba = self._scores(self._model_X(data.X))
        pupils = data.X.index.get_level_values(PUPIL).to_numpy()
        return Screening.from_scores(
            data.X,
            data.cohort,
            raw,
            proba,
            bands=self._bands_of(raw, proba, pupils),
            capacity=self.capacity,
            per_school=bool(self.per_school),
            model_info=dict(self.model_info_),
            outcome=self._outcome_name(),
        )

    def explain(self, screening, **kwargs):
        """Reasons for each pupil of ``screening`` (see :func:`riskscreen.explain.explain`)."""
        from riskscreen.explain import explain

        return explain(self, screening, **kwargs)

    def evaluate(
        self,
        histories,
        as_of_dates=None,
        *,
        n_bootstrap: int | None = None,
        sensitive_features="default",
    ):
        """Model vs rule baselines at later as-of dates whose label windows are complete.

        Parameters
        ----------
        histories : LinkedHistories, path-like or Dataset
            A labelled Dataset needs no ``as_of_dates``.
        as_of_dates : date or sequence of dates
            One date, or several: the comparison is then pooled over the dates
            (each date its own list at capacity) and given per date in
            ``by_date``.
        n_bootstrap : int, optional
            Resamples of pupils for the intervals (default: the Screener's).
        sensitive_features : "default", None or DataFrame
            Groups for the fairness audit of the same list (``comparison.audit``):
            "default" the protected characteristics in the data (sex, ethnicity,
            SEN, FSM, social-care status, as present), or a DataFrame of any
            columns (disability, deprivation band, ...) indexed by ``pupil_id``
            or (``pupil_id``, ``as_of_date``); None: no audit.

        Returns
        -------
        Comparison
            Precision@k, recall@k, AP, ROC AUC, ECE with bootstrap intervals
            resampling pupils, paired verdicts against each baseline (a baseline
            that cannot run is a "not available" row), ``bands`` (observed rate by
            band and decile, small counts suppressed), ``by_date`` and ``audit``.
            The list evaluated is the list the panel sees: pupils with an unknown
            outcome (censored) keep their places without counting as hits or misses.
        """
        check_is_fitted(self, "model_")
        horizon = self._check_params()
        owner = "Screener.evaluate"
        dates = None
        if as_of_dates is not None:
            dates = list(_as_of_dates(as_of_dates, parameter="as_of_dates", owner=owner))
        if dates is None and not isinstance(histories, Dataset):
            raise ValueError(f"The 'as_of_dates' parameter of {owner} is required.")
        wants_groups = isinstance(sensitive_features, str) and sensitive_features == "default"
        data = self._dataset(
            histories, dates, horizon, labels=True, owner=owner, sensitive=wants_groups
        )
        if data.incomplete_dates:
            # make_labels reads "no event yet" as a negative: the numbers would be wrong
            d = data.incomplete_dates[0]
            latest = latest_complete_as_of(horizon, data.end_of_data)
            hint = "" if latest is None else f" no later than {latest.date()}"
            raise ValueError(
                f"The {horizon.text} label window of as_of_date {d.date()} runs past the end "
                f"of data {pd.Timestamp(data.end_of_data).date()}, so its labels are "
                f"incomplete; evaluate on an as-of date{hint} whose window closes by then."
            )
        split = TemporalSplit(horizon=horizon)
        split.check_test_dates(self.train_dates_, data.as_of_dates)
        dates_text = ", ".join(str(d.date()) for d in data.as_of_dates)
        notes = [f"Test as-of date(s) {dates_text}."]
        if not all(
            split.closes_before(d, t) for d in self.calibration_dates_ for t in data.as_of_dates
        ):
            notes.append(
                "The test label windows overlap the calibration fold's "
                f"({', '.join(self.calibration_dates_)}): ranking metrics are out of sample, "
                "the ECE and bands are not fully."
            )
        return evaluate_dataset(
            self,
            data,
            n_bootstrap=n_bootstrap,
            sensitive_features=sensitive_features,
            notes=notes,
        )
