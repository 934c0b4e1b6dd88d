"""Rule baselines with the estimator interface, for honest comparisons.

Every headline metric is compared with these simple rules. Each computes a
points score from named feature columns (``decision_function``) and, at fit
time, learns the observed outcome rate per score level as a monotone
(isotonic) map so ``predict_proba`` can be compared on calibration too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

logger = logging.getLogger("riskscreen.training")


@dataclass(frozen=True)
class Criterion:
    """One RONI-style checklist item: ``points`` if any of ``columns`` meets the rule."""

    name: str
    columns: tuple[str, ...]
    rule: str  # "positive" (> 0) or ">=N" or "<=N" or "<N"
    points: float
    description: str

    def met(self, X: pd.DataFrame, present: list[str]) -> np.ndarray:
        values = X[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        if self.rule == "positive":
            hit = values > 0
        else:
            op, threshold = self.rule[:2].strip("0123456789."), float(self.rule.lstrip("<>="))
            hit = {
                ">=": values >= threshold,
                "<=": values <= threshold,
                "<": values < threshold,
                ">": values > threshold,
            }[op]
        return np.nan_to_num(hit, nan=0).astype(bool).any(axis=1)


RONI_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "persistent_absence",
        ("persistent_absence_1y",),
        "positive",
        2,
        "Persistently absent (missed 10%+ of sessions) in the last year",
    ),
    Criterion(
        "suspended_1y",
        ("suspension_count_1y",),
        "positive",
        2,
        "Suspended at least once in the last year",
    ),
    Criterion(
        "permanently_excluded",
        ("permanent_exclusion_count_all",),
        "positive",
        2,
        "Ever permanently excluded",
    ),
    Criterion(
        "sen", ("sen_support_now", "ehcp_now"), "positive", 1, "Has SEN support or an EHC plan now"
    ),
    Criterion("fsm", ("fsm_now",), "positive", 1, "Eligible for free school meals now"),
    Criterion("looked_after", ("looked_after_now",), "positive", 1, "Looked after now"),
    Criterion(
        "cin_cp",
        ("cin_plan_now", "cp_plan_now"),
        "positive",
        1,
        "On a child-in-need or child-protection plan now",
    ),
    Criterion(
        "mobility",
        ("school_moves_2y",),
        ">=1",
        1,
        "Moved school at least once in the last two years",
    ),
    Criterion(
        "yot_police",
        ("yot_involvement", "youth_offending", "police_involvement", "police_notifications"),
        "positive",
        1,
        "Youth offending team or police involvement (custom source, if present)",
    ),
)
"""Default RONI-style checklist. Weights are illustrative (double weight for the
behaviour-and-attendance items most predictive of exclusion in published RONI
tools); criteria whose columns are all missing from X are skipped with a note."""


class _RuleBaseline(ClassifierMixin, BaseEstimator):
    """Shared fit/predict for the rule baselines (subclasses define ``_score``)."""

    def _required(self) -> tuple[str, ...]:
        return ()

    def _check_X(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"{type(self).__name__} reads named feature columns; X must be a pandas "
                f"DataFrame. Got {type(X).__name__} instead."
            )
        missing = [c for c in self._required() if c not in X.columns]
        if missing:
            raise ValueError(
                f"{type(self).__name__} needs the feature column(s) {missing}; X has "
                f"{list(X.columns)[:20]}{'...' if X.shape[1] > 20 else ''}."
            )
        return X

    def fit(self, X, y):
        from sklearn.isotonic import IsotonicRegression

        X = self._check_X(X)
        y = np.asarray(pd.array(y, dtype="float64").to_numpy(na_value=np.nan))
        if np.isnan(y).any():
            raise ValueError("y contains missing (censored) labels; drop those rows first.")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([0, 1])
        self._prepare(X)
        score = self._score(X)
        self.rate_map_ = IsotonicRegression(
            increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0
        ).fit(score, y)
        return self

    def _prepare(self, X: pd.DataFrame) -> None:
        """Learn anything the score needs (e.g. fill values); sets attributes ending in _."""

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self, "rate_map_")
        return self._score(self._check_X(X))

    def predict_proba(self, X) -> np.ndarray:
        p = self.rate_map_.predict(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _num(X: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float)


class PriorSuspensionsRanker(_RuleBaseline):
    """Rank by suspensions in the last year, then by suspensions ever.

    Score = ``suspension_count_1y + s / (s + 1)`` with ``s = suspension_count_all``:
    a lexicographic order, since the fraction stays below one. Missing counts are 0.
    """

    def _required(self):
        return ("suspension_count_1y", "suspension_count_all")

    def _score(self, X):
        one = np.nan_to_num(_num(X, "suspension_count_1y"), nan=0.0)
        ever = np.nan_to_num(_num(X, "suspension_count_all"), nan=0.0)
        return one + ever / (ever + 1)


class AttendanceRanker(_RuleBaseline):
    """Rank by low attendance: score = 1 - ``attendance_rate_1y``.

    Pupils with no attendance record in the window get the training median.
    """

    def _required(self):
        return ("attendance_rate_1y",)

    def _prepare(self, X):
        values = _num(X, "attendance_rate_1y")
        self.fill_value_ = float(np.nanmedian(values)) if np.isfinite(values).any() else 1.0

    def _score(self, X):
        values = _num(X, "attendance_rate_1y")
        return 1.0 - np.where(np.isnan(values), self.fill_value_, values)


class RONIChecklist(_RuleBaseline):
    """A RONI-style (risk of NEET indicator) points checklist.

    Each :class:`Criterion` met adds its points; the score is the total. The
    default criteria (:data:`RONI_CRITERIA`): persistent absence in the last year
    (2), any suspension in the last year (2), ever permanently excluded (2), SEN
    support or EHC plan (1), FSM (1), looked after (1), CIN or CP plan (1), one or
    more school moves in two years (1), and youth-offending/police involvement (1)
    when such custom feature columns exist. Criteria whose columns are all absent
    are skipped with a logged note and listed in ``criteria_skipped_``.

    Parameters
    ----------
    criteria : sequence of Criterion, optional
        Replace the default checklist.
    """

    def __init__(self, criteria=None) -> None:
        self.criteria = criteria

    def _prepare(self, X):
        criteria = RONI_CRITERIA if self.criteria is None else tuple(self.criteria)
        used, skipped = [], []
        for c in criteria:
            present = [col for col in c.columns if col in X.columns]
            if present:
                used.append((c, present))
            else:
                skipped.append(c.name)
                logger.info(
                    "RONIChecklist: criterion %r skipped; none of its columns %s are in X.",
                    c.name,
                    list(c.columns),
                )
        if not used:
            raise ValueError(
                "RONIChecklist found none of its criteria's columns in X; expected some of "
                f"{sorted({col for c in criteria for col in c.columns})}."
            )
        self.criteria_used_ = used
        self.criteria_skipped_ = skipped

    def _score(self, X):
        total = np.zeros(len(X))
        for c, present in self.criteria_used_:
            cols = [col for col in present if col in X.columns]
            if len(cols) != len(present):
                raise ValueError(
                    f"RONIChecklist was fitted with columns {present} for criterion "
                    f"{c.name!r}; X lacks {sorted(set(present) - set(cols))}."
                )
            total += c.points * c.met(X, present)
        return total

    def checklist(self) -> pd.DataFrame:
        """The criteria in use and skipped, with points and descriptions."""
        check_is_fitted(self, "criteria_used_")
        used = {c.name for c, _ in self.criteria_used_}
        criteria = RONI_CRITERIA if self.criteria is None else tuple(self.criteria)
        return pd.DataFrame(
            [
                {
                    "criterion": c.name,
                    "points": c.points,
                    "columns": ", ".join(c.columns),
                    "rule": c.rule,
                    "used": c.name in used,
                    "description": c.description,
                }
                for c in criteria
            ]
        )


def default_baselines() -> dict[str, _RuleBaseline]:
    """The three rule baselines every model is compared with, by display name."""
    return {
        "prior_suspensions": PriorSuspensionsRanker(),
        "attendance": AttendanceRanker(),
        "roni_checklist": RONIChecklist(),
    }
