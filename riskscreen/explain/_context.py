"""Values as they stood on the screening date, read for the pupils of a screening.

The reasons ("on a child protection plan since March 2025") and the panel's
current involvement need a little more than the model's features: when the
current spell started. This reads it with the feature engine itself
(:func:`riskscreen.features.build_features`), for the screened pupils only, so
the same as-of rules and knowledge dates apply.
"""

from __future__ import annotations

import pandas as pd

from riskscreen.features import FeatureSpec, build_features
from riskscreen.features._spec import Feature

START_SUFFIX = "__start"


def screening_cohort(frame: pd.DataFrame, as_of) -> pd.DataFrame:
    """The cohort frame (pupil_id, as_of_date) -> school_id, ncyear, on_roll of a screening."""
    index = pd.MultiIndex.from_arrays(
        [frame.index.to_numpy(), pd.DatetimeIndex([pd.Timestamp(as_of)] * len(frame))],
        names=["pupil_id", "as_of_date"],
    )
    school = pd.array(frame["school_id"], dtype="Int64")
    return pd.DataFrame(
        {
            "school_id": school,
            "ncyear": pd.array(frame["ncyear"], dtype="Int64"),
            "on_roll": pd.array(~pd.isna(school), dtype="boolean"),
        },
        index=index,
    )


def start_feature(feature: Feature, name: str | None = None) -> Feature:
    """Days since the latest spell of an "active" feature's source and filter started."""
    return Feature(
        name or f"{feature.name}{START_SUFFIX}",
        feature.source,
        "days_since_start",
        "all",
        f"Days since the latest spell counted by {feature.name} started",
        where=feature.where,
        indicator=False,
    )


def as_of_values(histories, frame: pd.DataFrame, as_of, features) -> pd.DataFrame:
    """Build ``features`` for the pupils of ``frame`` (a screening's frame) at ``as_of``.

    Returns a DataFrame indexed like ``frame`` (pupil_id), one column per feature.
    """
    spec = FeatureSpec(tuple(features))
    X = build_features(histories, [as_of], spec, cohort=screening_cohort(frame, as_of))
    X = X.droplevel("as_of_date")
    return X.reindex(frame.index)


def spell_starts(histories, frame: pd.DataFrame, as_of, columns) -> dict:
    """Column name -> days since its current spell started, for 0/1 "active" columns."""
    active = [c for c in columns if c.definition is not None and not c.indicator]
    active = [c for c in active if c.definition.aggregate == "active"]
    if not active:
        return {}
    values = as_of_values(histories, frame, as_of, [start_feature(c.definition) for c in active])
    return {c.name: values[f"{c.definition.name}{START_SUFFIX}"].to_numpy() for c in active}
