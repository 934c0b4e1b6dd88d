"""Outcomes of a study: the screening labels, attendance after the as-of date, or your own.

Every outcome is measured in ``[as_of, as_of + horizon)``, strictly after
everything the confounders saw (``[.., as_of)``), through the public feature and
label engines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen import features
from riskscreen._time import Duration
from riskscreen.features import OUTCOMES, Feature, FeatureSpec, build_features, make_labels

PUPIL, AS_OF = "pupil_id", "as_of_date"
#: Continuous outcomes computed from the attendance table.
CONTINUOUS = ("attendance_rate", "sessions_missed")
_ABSENT = {"sessions_authorised_absent": 1.0, "sessions_unauthorised_absent": 1.0}


def _label_parts(outcome) -> list:
    if isinstance(outcome, str):
        return [p.strip() for p in outcome.split("|")]
    if isinstance(outcome, (list, tuple)):
        return list(outcome)
    return [outcome]


def _is_label(part) -> bool:
    """A built-in outcome's name, or an ``Outcome`` object of riskscreen.features."""
    custom = getattr(features, "Outcome", None)  # outcomes over any source, where available
    return (isinstance(part, str) and part in OUTCOMES) or (
        custom is not None and isinstance(part, custom)
    )


def outcome_kind(outcome) -> str:
    """``"binary"`` (screening labels), ``"continuous"`` (attendance) or ``"custom"``."""
    if isinstance(outcome, pd.Series):
        return "custom"
    if isinstance(outcome, str) and outcome in CONTINUOUS:
        return "continuous"
    parts = _label_parts(outcome)
    if parts and all(_is_label(p) for p in parts):
        return "binary"
    raise ValueError(
        "The 'outcome' parameter of build_study must be a screening outcome "
        f"({', '.join(OUTCOMES)}, or several joined by '|'), one of {list(CONTINUOUS)}, or a "
        f"Series indexed by (pupil_id, as_of_date). Got {outcome!r} instead."
    )


def label_name(outcome) -> str:
    """The name of a screening label (several joined by '|')."""
    return "|".join(p if isinstance(p, str) else str(p.name) for p in _label_parts(outcome))


def binary_outcome(histories, cohort: pd.DataFrame, outcome, horizon: Duration) -> pd.Series:
    """The screening label of each cohort row (float 0/1, NaN where censored or unknown)."""
    y = make_labels(histories, None, outcome=outcome, horizon=horizon, cohort=cohort)
    return y.astype("Float64").astype("float64").reindex(cohort.index)


def _attendance_spec(windows: dict[str, str]) -> FeatureSpec:
    features = []
    for tag, window in windows.items():
        features += [
            Feature(f"possible_{tag}", "attendance", "sum", window, column="sessions_possible"),
            Feature(f"absent_{tag}", "attendance", "sum", window, column=_ABSENT),
        ]
    return FeatureSpec(features)


def attendance(
    histories,
    cohort: pd.DataFrame,
    *,
    which: str,
    periods: dict[str, tuple[Duration, object]],
    min_possible_sessions: int,
) -> pd.DataFrame:
    """Attendance of each cohort row over several windows, in one pass over the data.

    ``periods`` maps a column name to ``(window, ends)``: the window is
    ``[end - window, end)`` where ``ends`` maps an as-of date to the window's end
    (``horizon.after`` for the outcome window ``[as_of, as_of + horizon)``, the
    identity for the pre-period ``[as_of - window, as_of)``). Each column is the
    attendance rate (share of possible sessions attended) or the sessions missed;
    NaN where fewer than ``min_possible_sessions`` sessions were possible.
    """
    pupils = cohort.index.get_level_values(PUPIL)
    dates = cohort.index.get_level_values(AS_OF)
    windows = {w.text.lower(): w.text for w, _ in periods.values()}
    moved = {
        name: pd.MultiIndex.from_arrays(
            [pupils, pd.DatetimeIndex([ends(d) for d in dates])], names=[PUPIL, AS_OF]
        )
        for name, (_, ends) in periods.items()
    }
    union = moved[next(iter(moved))]
    for index in moved.values():
        union = union.union(index)
    frame = pd.DataFrame(index=union)  # who, at which window ends (dates may coincide)
    X = build_features(histories, None, _attendance_spec(windows), cohort=frame)
    out = {}
    for name, (window, _) in periods.items():
        tag = window.text.lower()
        rows = X.reindex(moved[name])
        possible = rows[f"possible_{tag}"].to_numpy(dtype=float)
        absent = rows[f"absent_{tag}"].to_numpy(dtype=float)
        enough = possible >= min_possible_sessions
        with np.errstate(invalid="ignore", divide="ignore"):
            value = 1.0 - absent / possible if which == "attendance_rate" else absent
        out[name] = np.where(enough, value, np.nan)
    return pd.DataFrame(out, index=cohort.index)


def custom_outcome(series: pd.Series, index: pd.MultiIndex) -> pd.Series:
    """A user's outcome keyed by (pupil_id, as_of_date), aligned to the study rows."""
    if list(series.index.names) != [PUPIL, AS_OF]:
        raise ValueError(
            "A custom outcome must be a Series indexed by (pupil_id, as_of_date). "
            f"Got index levels {list(series.index.names)} instead."
        )
    if series.index.has_duplicates:
        raise ValueError("The custom outcome has duplicate (pupil_id, as_of_date) rows.")
    values = pd.to_numeric(series.astype("object").where(series.notna(), np.nan), errors="coerce")
    if values.notna().sum() < series.notna().sum():
        raise ValueError("A custom outcome must be numeric or boolean (True/False).")
    idx = pd.MultiIndex.from_arrays(
        [
            series.index.get_level_values(PUPIL).astype("int64"),
            pd.DatetimeIndex(series.index.get_level_values(AS_OF)).normalize(),
        ],
        names=[PUPIL, AS_OF],
    )
    return pd.Series(values.to_numpy(dtype=float), index=idx).reindex(index)
