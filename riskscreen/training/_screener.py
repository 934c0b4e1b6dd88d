"""The analyst's one object: :class:`Screener`, and its result :class:`Screening`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from riskscreen.training._baselines import default_baselines
from riskscreen.training._calibration import (
    BAND_LABELS,
    SMALL_COUNT,
    CalibratedScorer,
    assign_bands,
    band_table,
    deciles,
)
from riskscreen.training._metrics import Comparison, _markdown_table, compare_scores, resolve_k
from riskscreen.training._split import _as_offset

logger = logging.getLogger("riskscreen.training")

PUPIL = "pupil_id"
AS_OF = "as_of_date"
#: A fit date counts as "labels complete" when at most this share of its rows is censored.
MAX_CENSORED_SHARE = 0.5


def _features_api():
    """The feature engine (kept behind one import so training stands alone)."""
    from riskscreen import features

    return features


def _dates(as_of_dates, name: str = "as_of_dates") -> list[pd.Timestamp]:
    if isinstance(as_of_dates, (str, pd.Timestamp)) or not hasattr(as_of_dates, "__iter__"):
        as_of_dates = [as_of_dates]
    try:
        out = sorted({pd.Timestamp(d).normalize() for d in as_of_dates})
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The {name!r} parameter must be dates such as '2021-09-01'. Got {as_of_dates!r}."
        ) from exc
    return out


def data_end(histories) -> pd.Timestamp | None:
    """The latest *event* date recorded in the canonical tables (None if unknown).

    Event (start) dates only, plus the end of attendance periods: spell end dates
    may be planned dates in the future and say nothing about how far data reach.
    """
    from riskscreen.data._tables import TABLES

    latest = None
    for name, spec in TABLES.items():
        frame = getattr(histories, name, None)
        if spec.event_date is None or not isinstance(frame, pd.DataFrame) or frame.empty:
            continue
        cols = [spec.event_date] + (["period_end"] if name == "attendance" else [])
        for col in cols:
            if col in frame.columns:
                value = pd.to_datetime(frame[col]).max()
                if pd.notna(value) and (latest is None or value > latest):
                    latest = pd.Timestamp(value)
    return latest


def _hash_json(obj) -> str:
    text = json.dumps(obj, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _params_for_hash(estimator) -> dict:
    params = estimator.get_params(deep=False)
    return {
        k: (repr(v) if not isinstance(v, (int, float, str, bool, type(None))) else v)
        for k, v in params.items()
    }


@dataclass(frozen=True)
class Screening:
    """A ranked screening at one as-of date, computed once by :meth:`Screener.score`.

    Attributes
    ----------
    frame : DataFrame
        One row per pupil (index ``pupil_id``): school_id, ncyear, score (model
        log-odds; ranks by it), probability (calibrated), decile (10 = highest),
        band (low/medium/high), rank, rank_in_school, flagged (at capacity).
    features : DataFrame
        The feature rows that were scored (index pupil_id, as_of_date).
    model_info : dict
        riskscreen version, model class, params hash, fit timestamp and data fingerprint.
    as_of_date : Timestamp
    k : int
        Pupils flagged (overall, or the sum over schools when ``per_school``).
    """

    frame: pd.DataFrame
    features: pd.DataFrame
    model_info: dict
    as_of_date: pd.Timestamp
    k: int
    per_school: bool = False
    outcome: str = "suspension"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def flagged(self) -> pd.DataFrame:
        """The flagged pupils, highest risk first."""
        return self.frame[self.frame["flagged"]].sort_values("rank")

    def summary(self) -> pd.DataFrame:
        """Pupils and flags per band, with the mean calibrated probability."""
        g = self.frame.groupby("band", observed=False)
        return pd.DataFrame(
            {
                "n_pupils": g.size(),
                "n_flagged": g["flagged"].sum(),
                "mean_probability": g["probability"].mean(),
            }
        )

    def _header(self) -> str:
        scope = "per school" if self.per_school else "overall"
        return (
            f"Screening for {self.outcome} at {self.as_of_date.date()}: "
            f"{len(self.frame)} pupils, {self.k} flagged ({scope}); model "
            f"{self.model_info.get('model_class')} (riskscreen "
            f"{self.model_info.get('riskscreen_version')}, params "
            f"{self.model_info.get('params_hash')})."
        )

    def to_markdown(self, max_rows: int = 20) -> str:
        top = self.frame.sort_values("rank").head(max_rows).round({"score": 3, "probability": 3})
        return "\n\n".join(
            [self._header(), _markdown_table(self.summary().round(3)), _markdown_table(top)]
        )

    def to_html(self, max_rows: int = 20) -> str:
        top = self.frame.sort_values("rank").head(max_rows)
        return (
            f"<div><p>{self._header()}</p>{self.summary().to_html(float_format='%.3f')}"
            f"<p>Top {min(max_rows, len(top))} pupils</p>{top.to_html(float_format='%.3f')}</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Screening {self._header()}>"

    def write_csv(self, path) -> Path:
        """Write the per-pupil table atomically (temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        try:
            self.frame.sort_values("rank").to_csv(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path


class Screener(BaseEstimator):
    """Build features and labels, train, validate on later dates, calibrate, screen.

    ``fit(histories, as_of_dates)`` builds the cohort, features and labels at each
    as-of date (rows whose label window is not yet complete are censored and
    counted), holds out the latest ``validation_dates`` as-of dates with complete
    labels as the calibration/validation fold, trains the model on the earlier
    dates whose label windows close before that fold, calibrates it on the fold,
    fits the rule baselines on the same training rows and stores the comparison in
    ``validation_``. ``fit`` writes nothing and tracks nothing (see
    :func:`riskscreen.training.track`).

    With ``model="lightgbm"`` the number of boosting rounds is chosen by early
    stopping on the latest *training* as-of date (held out inside
    :class:`LGBMRiskModel`), so the calibration fold stays untouched. The monotone
    hints of the feature spec become monotone constraints of both built-in models
    (LightGBM constraints; scorecard points that only rise or fall across bins).

    Ranking (``score``, flags, precision@k) uses the model's own score; the
    calibrated probability is reported next to it (isotonic maps create ties).

    ``fit_features`` / ``score_features`` / ``evaluate_features`` do the same on a
    feature matrix built once with :mod:`riskscreen.features` (e.g. to compare
    several models on the same rows).

    Parameters
    ----------
    outcome : {"suspension", "permanent_exclusion", "cme"}, default="suspension"
    horizon : str, default="365D"
        Label window after the as-of date.
    spec : FeatureSpec, optional
        Features to build (default: ``riskscreen.features.default_spec()``).
    model : "lightgbm", "scorecard" or a scikit-learn classifier
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
    >>> screener = Screener(model="scorecard").fit(histories, ["2020-09-01", "2021-09-01",
    ...     "2022-09-01"])  # doctest: +SKIP
    >>> screener.score(histories, "2023-06-01").to_frame().head()  # doctest: +SKIP
    """

    def __init__(
        self,
        outcome: str = "suspension",
        horizon: str = "365D",
        spec=None,
        model="lightgbm",
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
        self.model = model
        self.capacity = capacity
        self.per_school = per_school
        self.calibration = calibration
        self.bands = bands
        self.band_on = band_on
        self.validation_dates = validation_dates
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    # -- building blocks -------------------------------------------------------------------
    def _make_model(self, spec):
        from riskscreen.training._lgbm import LGBMRiskModel
        from riskscreen.training._scorecard import LogisticScorecard

        if isinstance(self.model, str):
            # the spec's monotone hints constrain both built-in models
            monotone = None
            if spec is not None and hasattr(spec, "monotone_constraints"):
                hints = spec.monotone_constraints()
                monotone = {k: v for k, v in hints.items() if k in self.feature_names_} or None
            if self.model == "lightgbm":
                seed = 0 if self.random_state is None else self.random_state
                return LGBMRiskModel(
                    monotone_constraints=monotone, random_state=seed, horizon=self.horizon
                )
            if self.model == "scorecard":
                return LogisticScorecard(monotone_constraints=monotone)
            raise ValueError(
                "The 'model' parameter of Screener must be 'lightgbm', 'scorecard' or a "
                f"scikit-learn classifier. Got {self.model!r} instead."
            )
        if not (hasattr(self.model, "fit") and hasattr(self.model, "predict_proba")):
            raise ValueError(
                "The 'model' parameter of Screener must be 'lightgbm', 'scorecard' or a "
                f"scikit-learn classifier with predict_proba. Got {type(self.model).__name__}."
            )
        return clone(self.model)

    def _build(self, histories, dates, *, labels: bool):
        """Features (and labels) for the cohort at ``dates``."""
        api = _features_api()
        cohort = api.build_cohort(histories, dates)
        X = api.build_features(histories, dates, self.spec_, cohort=cohort)
        y = None
        if labels:
            y = api.make_labels(
                histories, dates, outcome=self.outcome, horizon=self.horizon, cohort=cohort
            )
            y = y.reindex(X.index)
        return X, y, cohort

    def _model_X(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise ValueError(f"The feature rows lack columns the model was trained on: {missing}.")
        return X[self.feature_names_].astype("float64")

    def _validate_params(self) -> None:
        _as_offset(self.horizon, "horizon", "Screener")
        resolve_k(self.capacity, 10**9)
        if self.calibration not in ("isotonic", "sigmoid"):
            raise ValueError(
                "The 'calibration' parameter of Screener must be 'isotonic' or 'sigmoid'. "
                f"Got {self.calibration!r} instead."
            )
        if not isinstance(self.validation_dates, (int, np.integer)) or self.validation_dates < 1:
            raise ValueError(
                "The 'validation_dates' parameter of Screener must be a positive integer. "
                f"Got {self.validation_dates!r} instead."
            )
        assign_bands([0.0, 1.0], cutoffs=self.bands, on=self.band_on)

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, histories, as_of_dates):
        """Train on earlier as-of dates, calibrate and validate on the latest complete one(s)."""
        from riskscreen.training._tracking import data_fingerprint

        self._validate_params()
        dates = _dates(as_of_dates)
        horizon = _as_offset(self.horizon, "horizon", "Screener")
        end = data_end(histories)
        # label windows running past the last recorded date are incomplete: not used
        self.skipped_dates_ = (
            []
            if end is None
            else [str(d.date()) for d in dates if d + horizon > end + pd.Timedelta("1D")]
        )
        dates = [d for d in dates if str(d.date()) not in self.skipped_dates_]
        if not dates:
            raise ValueError(
                f"Every as-of date's {self.horizon} label window runs past the last recorded "
                f"date {None if end is None else end.date()}; pass earlier as-of dates."
            )
        self.spec_ = self.spec if self.spec is not None else _features_api().default_spec()
        X, y, _ = self._build(histories, dates, labels=True)
        return self._fit_frames(X, y, data_fingerprint(histories))

    def fit_features(self, X: pd.DataFrame, y: pd.Series):
        """Fit from a ready-made feature matrix and labels (both indexed by
        (pupil_id, as_of_date)), e.g. to try several models on features built once.

        Rows with missing (censored) labels are dropped and counted; as-of dates with
        more than half their labels missing count as incomplete.
        """
        self._validate_params()
        if not (
            isinstance(X, pd.DataFrame)
            and isinstance(X.index, pd.MultiIndex)
            and AS_OF in X.index.names
            and PUPIL in X.index.names
        ):
            raise ValueError(
                "The 'X' parameter of Screener.fit_features must be a DataFrame indexed by "
                f"(pupil_id, as_of_date). Got {type(X).__name__} with index "
                f"{getattr(getattr(X, 'index', None), 'names', None)}."
            )
        self.skipped_dates_ = []
        if self.spec is not None:
            self.spec_ = self.spec
        else:
            try:
                self.spec_ = _features_api().default_spec()
            except ImportError:  # pragma: no cover - feature engine not installed
                self.spec_ = None
        y = pd.Series(y).reindex(X.index)
        return self._fit_frames(X, y, _frames_fingerprint(X, y))

    def _fit_frames(self, X: pd.DataFrame, y: pd.Series, fingerprint: dict):
        from riskscreen import __version__

        dates = sorted(pd.to_datetime(X.index.get_level_values(AS_OF)).unique())
        horizon = _as_offset(self.horizon, "horizon", "Screener")
        numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
        self.feature_names_ = list(numeric)
        row_dates = pd.to_datetime(X.index.get_level_values(AS_OF))
        censored = y.isna().to_numpy()
        per_date = pd.DataFrame({"date": row_dates, "censored": censored})
        share = per_date.groupby("date")["censored"].mean()
        complete = [d for d in dates if share.get(d, 1.0) <= MAX_CENSORED_SHARE]
        self.n_censored_ = {
            str(d.date()): int(per_date.loc[per_date.date == d, "censored"].sum()) for d in dates
        }
        n_val = int(self.validation_dates)
        if len(complete) <= n_val:
            raise ValueError(
                f"Screener.fit needs more than validation_dates={n_val} as-of dates with complete "
                f"{self.horizon} label windows; got {len(complete)} "
                f"({[str(d.date()) for d in complete]}) of {[str(d.date()) for d in dates]}. "
                "Pass earlier as-of dates."
            )
        cal_dates = complete[-n_val:]
        train_dates = [d for d in complete if d + horizon <= min(cal_dates)]
        if not train_dates:
            raise ValueError(
                f"No as-of date is at least horizon={self.horizon!r} before the calibration "
                f"date {cal_dates[0].date()}; pass as-of dates spanning more than the horizon."
            )
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
        self.model_ = self._make_model(self.spec_).fit(X_train, y_train)
        self.calibrated_ = CalibratedScorer(self.model_, method=self.calibration).fit(X_cal, y_cal)
        self.baselines_, self.baselines_skipped_ = {}, {}
        for name, baseline in default_baselines().items():
            try:
                self.baselines_[name] = baseline.fit(X_train, y_train)
            except ValueError as exc:  # the spec lacks the columns this rule reads
                self.baselines_skipped_[name] = str(exc)
                logger.warning("Rule baseline %r skipped: %s", name, exc)
        self.train_dates_ = [str(d.date()) for d in train_dates]
        self.calibration_dates_ = [str(d.date()) for d in cal_dates]
        self.n_train_rows_ = int(in_train.sum())
        self.n_calibration_rows_ = int(in_cal.sum())
        self.fit_timestamp_ = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        self.data_fingerprint_ = fingerprint
        self.model_info_ = {
            "riskscreen_version": __version__,
            "model_class": type(self.model_).__name__,
            "model_name": self._model_name(),
            "params_hash": _hash_json(
                {"screener": _params_for_hash(self), "model": _params_for_hash(self.model_)}
            ),
            "fit_timestamp": self.fit_timestamp_,
            "data_fingerprint": self.data_fingerprint_["combined"],
            "train_dates": self.train_dates_,
            "calibration_dates": self.calibration_dates_,
            "outcome": self.outcome,
            "horizon": self.horizon,
        }
        self.validation_ = self._compare(
            X_cal,
            y_cal,
            X.index[in_cal].get_level_values(PUPIL),
            notes=(
                "Validation fold = calibration fold "
                f"({', '.join(self.calibration_dates_)}): ranking metrics are out of sample; "
                "the model's ECE there is in-sample for its calibration.",
            ),
        )
        return self

    def _model_name(self) -> str:
        return self.model if isinstance(self.model, str) else type(self.model_).__name__

    # -- scoring -----------------------------------------------------------------------------
    def _scores(self, Xm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        raw = (
            np.asarray(self.model_.decision_function(Xm), dtype=float)
            if hasattr(self.model_, "decision_function")
            else np.asarray(self.model_.predict_proba(Xm)[:, 1], dtype=float)
        )
        proba = self.calibrated_.predict_proba(Xm)[:, 1]
        return raw, proba

    def _compare(self, Xm, y, pupils, *, notes=(), n_bootstrap=None, bands=None) -> Comparison:
        raw, proba = self._scores(Xm)
        name = self._model_name()
        scores, probs = {name: raw}, {name: proba}
        for bname, b in self.baselines_.items():
            scores[bname] = b.decision_function(Xm)
            probs[bname] = b.predict_proba(Xm)[:, 1]
        comparison = compare_scores(
            y,
            scores,
            probs,
            k=self.capacity,
            groups=np.asarray(pupils),
            n_bootstrap=self.n_bootstrap if n_bootstrap is None else n_bootstrap,
            outcome=self.outcome,
            random_state=self.random_state,
            notes=tuple(notes),
            bands=bands,
        )
        return comparison

    def score(self, histories, as_of_date) -> Screening:
        """Rank the cohort at ``as_of_date``: scores, calibrated probabilities, bands, flags."""
        check_is_fitted(self, "model_")
        (date,) = _dates(as_of_date, "as_of_date")
        X, _, cohort = self._build(histories, [date], labels=False)
        return self.score_features(X, cohort=cohort)

    def score_features(self, X: pd.DataFrame, *, cohort: pd.DataFrame | None = None) -> Screening:
        """Rank ready-made feature rows of one as-of date (``cohort`` gives school_id/ncyear)."""
        check_is_fitted(self, "model_")
        dates = pd.to_datetime(X.index.get_level_values(AS_OF)).unique()
        if len(dates) != 1:
            raise ValueError(
                "Screener.score_features screens one as-of date at a time; X has "
                f"{len(dates)}: {[str(d.date()) for d in dates[:5]]}."
            )
        date = pd.Timestamp(dates[0])
        Xm = self._model_X(X)
        raw, proba = self._scores(Xm)
        pupils = X.index.get_level_values(PUPIL)
        info = cohort.reindex(X.index) if cohort is not None else pd.DataFrame(index=X.index)
        missing_col = pd.array([pd.NA] * len(X), dtype="Int64")
        frame = pd.DataFrame(
            {
                "school_id": info["school_id"].array if "school_id" in info else missing_col,
                "ncyear": info["ncyear"].array if "ncyear" in info else missing_col,
                "score": raw,
                "probability": proba,
            },
            index=pd.Index(pupils, name=PUPIL),
        )
        frame["decile"] = deciles(raw)
        frame["band"] = assign_bands(
            proba if self.band_on == "probability" else raw, cutoffs=self.bands, on=self.band_on
        )
        order = np.lexsort((frame.index.to_numpy(), -raw))  # score desc, then pupil_id
        rank = np.empty(len(frame), dtype=int)
        rank[order] = np.arange(1, len(frame) + 1)
        frame["rank"] = rank
        school = pd.Series(
            frame["school_id"].astype("Float64").fillna(-1).to_numpy(), index=frame.index
        )
        frame["rank_in_school"] = (
            frame["rank"].groupby(school.to_numpy()).rank(method="first").astype(int)
        )
        if self.per_school:
            sizes = school.map(school.value_counts())
            limit = np.array([resolve_k(self.capacity, int(n)) for n in sizes])
            frame["flagged"] = frame["rank_in_school"].to_numpy() <= limit
        else:
            frame["flagged"] = frame["rank"] <= resolve_k(self.capacity, len(frame))
        return Screening(
            frame=frame,
            features=X,
            model_info=dict(self.model_info_),
            as_of_date=date,
            k=int(frame["flagged"].sum()),
            per_school=bool(self.per_school),
            outcome=self.outcome,
        )

    def evaluate(self, histories, as_of_date, *, n_bootstrap: int | None = None) -> Comparison:
        """Model vs rule baselines at a later as-of date whose labels are complete.

        Returns a :class:`Comparison` (precision@k, recall@k, AP, ROC AUC, ECE with
        bootstrap intervals resampling pupils) with ``bands``: the observed outcome
        rate per low/medium/high band and per decile of the model.
        """
        check_is_fitted(self, "model_")
        (date,) = _dates(as_of_date, "as_of_date")
        horizon = _as_offset(self.horizon, "horizon", "Screener")
        end = data_end(histories)
        if end is not None and date + horizon > end + pd.Timedelta("1D"):
            # make_labels reads "no event yet" as a negative: the numbers would be wrong
            raise ValueError(
                f"The {self.horizon} label window of as_of_date {date.date()} runs past the "
                f"last recorded date {end.date()}, so its labels are incomplete; evaluate on "
                f"an as-of date no later than {(end + pd.Timedelta('1D') - horizon).date()}."
            )
        X, y, _ = self._build(histories, [date], labels=True)
        return self.evaluate_features(X, y, n_bootstrap=n_bootstrap)

    def evaluate_features(
        self, X: pd.DataFrame, y: pd.Series, *, n_bootstrap: int | None = None
    ) -> Comparison:
        """:meth:`evaluate` on ready-made feature rows and labels (censored rows dropped)."""
        check_is_fitted(self, "model_")
        dates = pd.to_datetime(X.index.get_level_values(AS_OF)).unique()
        horizon = _as_offset(self.horizon, "horizon", "Screener")
        first_clean = max(pd.Timestamp(d) for d in self.train_dates_) + horizon
        early = sorted(str(d.date()) for d in dates if d < first_clean)
        if early:
            raise ValueError(
                f"Test as-of date(s) {early} fall inside the {self.horizon} label window of "
                f"training date {self.train_dates_[-1]}: the model has seen those outcomes. "
                f"Evaluate on as-of dates from {first_clean.date()} on."
            )
        y = pd.Series(y).reindex(X.index)
        keep = y.notna().to_numpy()
        n_censored = int((~keep).sum())
        Xm = self._model_X(X)[keep]
        yv = y[keep].astype("float64").to_numpy().astype(int)
        raw, proba = self._scores(Xm)
        band = assign_bands(
            proba if self.band_on == "probability" else raw, cutoffs=self.bands, on=self.band_on
        )
        bands = pd.concat(
            {
                "band": band_table(yv, band, proba),
                "decile": band_table(
                    yv, pd.Categorical(deciles(raw), categories=range(1, 11)), proba
                ),
            },
            names=["grouping", "level"],
        )
        notes = [
            f"Test as-of date(s) {', '.join(str(d.date()) for d in dates)}; "
            f"{n_censored} censored rows dropped."
        ]
        cal_clean = max(pd.Timestamp(d) for d in self.calibration_dates_) + horizon
        if any(d < cal_clean for d in dates):
            notes.append(
                "The test label windows overlap the calibration fold's "
                f"({', '.join(self.calibration_dates_)}): ranking metrics are out of sample, "
                "the ECE and bands are not fully."
            )
        if self.per_school:
            notes.append("Metrics use capacity overall; flags in screenings are per school.")
        if bands["suppressed"].any():
            notes.append(
                f"Band tables: outcome counts under {SMALL_COUNT} are suppressed (blank, "
                "suppressed=True), with one more where the total would reveal them."
            )
        return self._compare(
            Xm,
            yv,
            Xm.index.get_level_values(PUPIL),
            notes=notes,
            n_bootstrap=n_bootstrap,
            bands=bands,
        )


def _frames_fingerprint(X: pd.DataFrame, y: pd.Series) -> dict:
    from riskscreen.training._tracking import _frame_hash

    tables = {
        "features": {"rows": int(len(X)), "sha256": _frame_hash(X.reset_index(drop=True))},
        "labels": {
            "rows": int(len(y)),
            "sha256": _frame_hash(y.astype("float64").reset_index(drop=True).to_frame("y")),
        },
    }
    combined = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]
    return {"tables": tables, "combined": combined}


def compare_with_baselines(screener: Screener, histories, as_of_date, **kwargs) -> Comparison:
    """Same as :meth:`Screener.evaluate`."""
    return screener.evaluate(histories, as_of_date, **kwargs)


__all__ = ["BAND_LABELS", "Screener", "Screening", "compare_with_baselines"]
