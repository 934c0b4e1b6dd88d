"""Current involvement: the support and statutory contact a pupil already has.

A panel must see existing support before it decides anything: a child protection
or child in need plan, being looked after, an EHC plan or SEN support, open early
help, and any history of missing education or elective home education. With the
histories, it is read as it stood on the screening date by the feature engine
(with the start date of each open spell); without them, from the screening's own
features when the spec has them (the default spec does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscreen.explain._context import as_of_values, start_feature
from riskscreen.features._spec import Col, Feature


@dataclass(frozen=True)
class Involvement:
    """One kind of involvement: its label, default-spec column, and how to read it."""

    key: str
    label: str
    column: str
    source: str
    where: object
    spell: bool = True


def _kind(k: str):
    return Col("kind") == k


INVOLVEMENT = (
    Involvement("cp_plan", "CP plan", "cp_plan_now", "social_care", _kind("cp_plan")),
    Involvement("cin_plan", "CIN plan", "cin_plan_now", "social_care", _kind("cin_plan")),
    Involvement(
        "looked_after", "looked after", "looked_after_now", "social_care", _kind("looked_after")
    ),
    Involvement("ehcp", "EHC plan", "ehcp_now", "sen", Col("provision") == "E"),
    Involvement("sen_support", "SEN support", "sen_support_now", "sen", Col("provision") == "K"),
    Involvement(
        "early_help", "early help open", "early_help_now", "social_care", _kind("early_help")
    ),
    Involvement("cme", "CME history", "cme_spells_all", "missing_education", _kind("cme"), False),
    Involvement("ehe", "EHE history", "ehe_ever", "missing_education", _kind("ehe"), False),
)
#: The label of each kind, in the order shown.
LABELS = {i.key: i.label for i in INVOLVEMENT}


def _features() -> list[Feature]:
    out = []
    for i in INVOLVEMENT:
        if i.spell:
            now = Feature(i.key, i.source, "active", "all", f"{i.label} open", where=i.where)
            out += [now, start_feature(now, f"{i.key}_start")]
        else:
            out.append(Feature(i.key, i.source, "any", "all", i.label, where=i.where))
    return out


def current_involvement(screening, pupils=None, *, histories=None) -> pd.DataFrame:
    """Current involvement of the screening's pupils on its as-of date.

    Parameters
    ----------
    screening : Screening
    pupils : index of pupil ids, optional
        Whom to read (default: every pupil of the screening).
    histories : LinkedHistories or path, optional
        Read from the histories (with "since" dates) instead of the features.

    Returns
    -------
    DataFrame indexed by pupil_id: one boolean column per kind (``cp_plan``,
    ``cin_plan``, ``looked_after``, ``ehcp``, ``sen_support``, ``early_help``,
    ``cme``, ``ehe``; <NA> where unknown), ``<kind>_since`` start dates of open
    spells (with histories), and ``text`` ("CP plan since Mar 2025; SEN support").
    """
    frame = screening.frame if pupils is None else screening.frame.loc[pd.Index(pupils)]
    out = pd.DataFrame(index=frame.index)
    if histories is not None:
        values = as_of_values(histories, frame, screening.as_of_date, _features())
        for i in INVOLVEMENT:
            out[i.key] = pd.array(values[i.key].to_numpy() == 1, dtype="boolean")
            if i.spell:
                days = values[f"{i.key}_start"].to_numpy(dtype=float)
                since = screening.as_of_date - pd.to_timedelta(days, unit="D")
                out[f"{i.key}_since"] = pd.DatetimeIndex(since).where(out[i.key].to_numpy(bool))
    else:
        X = screening.features.droplevel("as_of_date").reindex(frame.index)
        for i in INVOLVEMENT:
            if i.column in X.columns:
                out[i.key] = pd.array(X[i.column].to_numpy() > 0, dtype="boolean")
            else:
                out[i.key] = pd.array([pd.NA] * len(frame), dtype="boolean")
    out["text"] = involvement_text(out)
    return out


def involvement_text(table: pd.DataFrame) -> np.ndarray:
    """ "CP plan since Mar 2025; SEN support" per row ("none recorded", "not available")."""
    n = len(table)
    text = np.full(n, "", dtype=object)
    known = np.zeros(n, dtype=bool)
    for key, label in LABELS.items():
        on = table[key].to_numpy(dtype=object)
        known |= ~pd.isna(on)
        on = np.asarray(pd.array(on, dtype="boolean").fillna(False), dtype=bool)
        piece = np.where(on, label, "").astype(object)
        since = table.get(f"{key}_since")
        if since is not None:
            month = pd.DatetimeIndex(since).strftime("%b %Y").to_numpy(dtype=object)
            dated = on & ~pd.isna(since.to_numpy())
            piece = np.where(dated, piece + " since " + np.where(dated, month, ""), piece)
        both = (text != "") & (piece != "")
        text = np.where(both, text + "; " + piece, np.where(piece != "", piece, text))
    text = np.where(text == "", "none recorded", text)
    return np.where(known, text, "not available").astype(object)
