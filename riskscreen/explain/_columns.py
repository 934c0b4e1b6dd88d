"""What each model column is: its feature, its reason group and its words.

Related columns are explained together: a ``<name>__missing`` indicator goes with
its feature, and features sharing a :class:`~riskscreen.features.Reason` group
(windows of one quantity, levels of one code) give one reason. Protected
characteristics appear only when the caller chose to use them as model inputs
(``use_protected=``), and then by name of the characteristic, never its level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from riskscreen.explain._default_reasons import default_reason
from riskscreen.features._spec import Feature, FeatureSpec, Reason

INDICATOR = "__missing"
#: Model columns added by ``use_protected=``, by prefix, and the group they form.
PROTECTED_PREFIXES = (("sex_", "sex"), ("ethnicity_", "ethnicity"))
_FLAG_AGGREGATES = ("active", "any")
_SUFFIX = re.compile(r"\s*\((1 = yes|0-1)\)\s*$")


@dataclass(frozen=True)
class Column:
    """One model column: the feature it belongs to, its reason group and words."""

    name: str
    feature: str
    group: str
    indicator: bool
    protected: bool
    definition: Feature | None
    reason: Reason


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def fallback_reason(feature: Feature | None, name: str) -> Reason:
    """Words from the feature's description, for features without a :class:`Reason`."""
    if feature is None:
        label = _escape(name.replace("_", " "))
        return Reason(f"{label}: {{n}}", zero=f"{label}: 0", missing=f"{label}: not recorded")
    desc = feature.description
    share = "(0-1)" in desc
    desc = _escape(_SUFFIX.sub("", desc))
    desc = desc[:1].lower() + desc[1:] if desc[1:2].islower() else desc
    missing = f"{desc}: not recorded"
    if feature.aggregate in _FLAG_AGGREGATES or feature.threshold is not None:
        return Reason(f"{desc}: yes", zero=f"{desc}: no", missing=missing)
    if share:
        return Reason(f"{desc}: {{pct}}", missing=missing)
    return Reason(f"{desc}: {{n}}", zero=f"{desc}: 0", missing=missing)


def _protected_group(name: str) -> str | None:
    for prefix, group in PROTECTED_PREFIXES:
        if name.startswith(prefix):
            return group
    return None


def resolve_columns(columns, spec: FeatureSpec | None) -> list[Column]:
    """Describe each model column (in order) for grouping and words."""
    by_name = {} if spec is None else {f.name: f for f in spec}
    out = []
    for name in map(str, columns):
        base = name[: -len(INDICATOR)] if name.endswith(INDICATOR) else name
        feature = by_name.get(base)
        indicator = feature is not None and name != base
        protected = feature is None and _protected_group(name) is not None
        if protected:
            group = _protected_group(name)
            words = (
                f"recorded {group} (a protected characteristic given to the model "
                "by explicit choice)"
            )
            reason = Reason(words, zero=words, missing=words, group=group)
        else:
            reason = (feature.reason if feature is not None else None) or (
                default_reason(feature) if feature is not None else None
            )
            reason = reason or fallback_reason(feature, base)
            group = reason.group or base
        out.append(
            Column(
                name=name,
                feature=base if feature is not None else name,
                group=group,
                indicator=indicator,
                protected=protected,
                definition=feature,
                reason=reason,
            )
        )
    return out


def membership(columns: list[Column]) -> tuple[list[str], np.ndarray]:
    """Group names (in order of first appearance) and the column x group 0/1 matrix."""
    groups = list(dict.fromkeys(c.group for c in columns))
    index = {g: i for i, g in enumerate(groups)}
    matrix = np.zeros((len(columns), len(groups)))
    for j, c in enumerate(columns):
        matrix[j, index[c.group]] = 1.0
    return groups, matrix
