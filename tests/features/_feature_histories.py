"""Tiny readable histories for the feature tests."""

from __future__ import annotations

import pandas as pd

from riskscreen.data import LinkedHistories
from riskscreen.data._tables import TABLES

DEFAULTS = {
    "enrolments": {
        "school_id": 100,
        "leaving_date": None,
        "leaving_reason": None,
        "part_time": False,
    },
    "attendance": {
        "school_id": 100,
        "sessions_authorised_absent": 0,
        "sessions_unauthorised_absent": 0,
    },
    "exclusions": {"school_id": 100, "kind": "suspension", "sessions": 2.0, "reason": "DB"},
    "sen": {"end_date": None, "provision": "K", "primary_need": "SEMH"},
    "fsm": {"end_date": None},
    "social_care": {
        "end_date": None,
        "need_code": None,
        "abuse_category": None,
        "placement_type": None,
        "assessment_factors": None,
    },
    "missing_education": {"kind": "cme", "end_date": None, "reason": None},
    "pupils": {"sex": "M", "ethnicity": "WBRI", "first_language": "ENG", "idaci_decile": 5},
}


def frame(name: str, rows: list[dict]) -> pd.DataFrame:
    """A canonical table from a list of row dicts (missing columns get defaults)."""
    spec = TABLES[name]
    cols = {}
    defaults = DEFAULTS.get(name, {})
    for col, cs in spec.columns.items():
        if not cs.required and not any(col in r for r in rows) and col not in defaults:
            continue
        values = [r.get(col, defaults.get(col)) for r in rows]
        if cs.dtype == "datetime64[us]":
            cols[col] = pd.to_datetime(pd.Series(values, dtype="object")).astype(cs.dtype)
        else:
            cols[col] = pd.Series(values, dtype="int64" if cs.dtype == "key" else cs.dtype)
    return pd.DataFrame(cols)


#: A roll spell of pupil 999 (born 1990, so far above NC year 13 and never in a cohort)
#: and a month of its attendance mark the period the data cover, 1 Sep 2015 to the end
#: of data 31 Aug 2023 (the last day of a recorded attendance period), so as-of dates in
#: it pass the data-range check.
EXTRACT = {
    "pupil_id": 999,
    "school_id": 999,
    "entry_date": "2015-09-01",
    "leaving_date": "2023-08-31",
    "leaving_reason": "completed",
}

EXTRACT_PUPIL = {"pupil_id": 999, "birth_month": "1990-01-01"}
EXTRACT_ATTENDANCE = {
    "pupil_id": 999,
    "school_id": 999,
    "period_start": "2023-08-01",
    "period_end": "2023-08-31",
    "sessions_possible": 0,
}


def histories(extract: bool = True, **tables) -> LinkedHistories:
    """LinkedHistories from row dicts per table, e.g. histories(exclusions=[{...}])."""
    custom = tables.pop("custom", None)
    if extract:
        tables["enrolments"] = list(tables.get("enrolments", [])) + [EXTRACT]
        tables["pupils"] = list(tables.get("pupils", [])) + [EXTRACT_PUPIL]
        tables["attendance"] = list(tables.get("attendance", [])) + [EXTRACT_ATTENDANCE]
    frames = {name: frame(name, rows) for name, rows in tables.items()}
    return LinkedHistories(**frames, custom=custom)


def pupil(pid: int, born: str = "2010-10-01", **kw) -> dict:
    return {"pupil_id": pid, "birth_month": born, **kw}


def on_roll(pid: int, entry: str = "2019-09-01", school: int = 100, **kw) -> dict:
    return {"pupil_id": pid, "school_id": school, "entry_date": entry, **kw}


AS_OF = pd.Timestamp("2022-01-10")
