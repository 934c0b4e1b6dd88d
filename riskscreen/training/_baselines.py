"""Rule baselines with the estimator interface, for honest comparisons.

Every headline metric is compared with these simple rules. Each computes a
points score from named feature columns (``decision_function``) and, at fit
time, learns the observed outcome rate per score level as a monotone
(isotonic) map so ``predict_proba`` can be compared on calibration too.
"""

from __future__ import annotations

import logging
import operator
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

logger = logging.getLogger("riskscreen.training")


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_COMPARISON = re.compile(rf"^\s*(>=|<=|==|!=|>|<)\s*({_NUMBER})\s*$")
_RANGE = re.compile(rf"^\s*([\[(])\s*({_NUMBER})\s*,\s*({_NUMBER})\s*([\])])\s*$")
_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne}
_OPS.update({">": operator.gt, "<": operator.lt})
RULE_GRAMMAR = (
    "'positive' (> 0), a comparison such as '>= 2', '< 0.9', '== 0', '!= 1', or a range "
    "such as '[0.8, 0.9)' (square brackets include an end, round ones exclude it)"
)


def _rule_test(rule: str, owner: str):
    """A function values -> bool array for a rule of :data:`RULE_GRAMMAR`, or a clear error."""
    if isinstance(rule, str) and rule.strip() == "positive":
        return lambda v: v > 0
    match = _COMPARISON.match(rule) if isinstance(rule, str) else None
    if match:
        op, threshold = _OPS[match.group(1)], float(match.group(2))
        return lambda v: op(v, threshold)
    match = _RANGE.match(rule) if isinstance(rule, str) else None
    if match and float(match.group(2)) <= float(match.group(3)):
        lo, hi = float(match.group(2)), float(match.group(3))
        low = operator.ge if match.group(1) == "[" else operator.gt
        high = operator.le if match.group(4) == "]" else operator.lt
        return lambda v: low(v, lo) & high(v, hi)
    raise ValueError(
        f"The 'rule' parameter of {owner} must be {RULE_GRAMMAR}. Got {rule!r} instead."
    )


@dataclass(frozen=True)
class Criterion:
    """One checklist item: ``points`` when any of ``columns`` meets ``rule``.

    Parameters
    ----------
    name : str
    columns : tuple of str
        Feature columns; the criterion is met when any of them meets the rule
        (a missing value never meets it).
    rule : str
        ``"positive"`` (> 0), a comparison (``">= 2"``, ``"< 0.9"``, ``"== 0"``,
        ``"!= 1"``; negative numbers allowed) or a range (``"[0.8, 0.9)"``:
        square brackets include the end, round ones exclude it).
    points : float
    description : str
        The criterion in words.

    Examples
    --------
    >>> import pandas as pd
    >>> c = Criterion("low_attendance", ("attendance_rate_1y",), "< 0.9", 2, "Attendance under 90%")
    >>> c.met(pd.DataFrame({"attendance_rate_1y": [0.85, 0.95]}), ["attendance_rate_1y"]).tolist()
    [True, False]
    """

    name: str
    columns: tuple[str, ...]
    rule: str
    points: float
    description: str = ""
    _test: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = f"Criterion {self.name!r}"
        if isinstance(self.columns, str):
            object.__setattr__(self, "columns", (self.columns,))
        if not self.columns or not all(isinstance(c, str) for c in self.columns):
            raise ValueError(
                f"The 'columns' parameter of {owner} must name one or more feature columns. "
                f"Got {self.columns!r} instead."
            )
        if isinstance(self.points, bool) or not isinstance(self.points, (int, float)):
            raise ValueError(
                f"The 'points' parameter of {owner} must be a number. Got {self.points!r}."
            )
        object.__setattr__(self, "_test", _rule_test(self.rule, owner))

    def __getstate__(self) -> dict:
        state = dict(vars(self))
        state.pop("_test", None)  # rebuilt from the rule, so a saved criterion holds no code
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_test", _rule_test(self.rule, f"Criterion {self.name!r}"))

    def met(self, X: pd.DataFrame, present: list[str]) -> np.ndarray:
        values = X[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            hit = self._test(values) & ~np.isnan(values)
        return hit.any(axis=1)


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


class BaselineUnavailable(ValueError):
    """A rule baseline cannot run: the features lack the columns it reads (``needs``)."""

    def __init__(self, owner: str, needs) -> None:
        self.needs = list(needs)
        super().__init__(f"{owner} needs the feature column(s) {self.needs}.")


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
            raise BaselineUnavailable(type(self).__name__, missing)
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


class Checklist(_RuleBaseline):
    """A points checklist, such as the one an organisation already uses.

    Each :class:`Criterion` met adds its points; the score is the total (ties are
    common, and every metric treats them fairly). Criteria read any feature
    columns with a rule of :data:`RULE_GRAMMAR`. The default criteria
    (:data:`RONI_CRITERIA`, a RONI-style "risk of NEET" checklist): persistent
    absence in the last year (2), any suspension in the last year (2), ever
    permanently excluded (2), SEN support or EHC plan (1), FSM (1), looked after
    (1), CIN or CP plan (1), one or more school moves in two years (1), and
    youth-offending/police involvement (1) when such custom feature columns
    exist. Criteria whose columns are all absent are skipped with a logged note
    and listed in ``criteria_skipped_``.

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
                    "Checklist: criterion %r skipped; none of its columns %s are in X.",
                    c.name,
                    list(c.columns),
                )
        if not used:
            raise BaselineUnavailable(
                "Checklist", sorted({col for c in criteria for col in c.columns})
            )
        self.criteria_used_ = used
        self.criteria_skipped_ = skipped

    def _score(self, X):
        total = np.zeros(len(X))
        for c, present in self.criteria_used_:
            cols = [col for col in present if col in X.columns]
            if len(cols) != len(present):
                raise ValueError(
                    f"Checklist was fitted with columns {present} for criterion "
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


class FeatureRanker(_RuleBaseline):
    """Rank by one feature: the simplest rule an organisation may already use.

    Parameters
    ----------
    column : str
        The feature column.
    higher_is_riskier : bool, default True
        False ranks the lowest values first (e.g. attendance).

    Missing values get the training median.
    """

    def __init__(self, column: str = "", higher_is_riskier: bool = True) -> None:
        self.column = column
        self.higher_is_riskier = higher_is_riskier

    def _required(self):
        return (self.column,)

    def _prepare(self, X):
        values = _num(X, self.column)
        self.fill_value_ = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0

    def _score(self, X):
        values = _num(X, self.column)
        values = np.where(np.isnan(values), self.fill_value_, values)
        return values if self.higher_is_riskier else -values


def default_baselines() -> dict[str, _RuleBaseline]:
    """The three rule baselines every model is compared with, by display name."""
    return {
        "prior_suspensions": PriorSuspensionsRanker(),
        "attendance": AttendanceRanker(),
        "roni_checklist": Checklist(),
    }
