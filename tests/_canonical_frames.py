"""Canonical tables from lists of row dicts, for the tests' hand-built histories."""

from __future__ import annotations

import pandas as pd

from riskscreen.data._tables import TABLES

#: Values of the columns a row leaves out.
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
    """A canonical table from a list of row dicts (missing columns get defaults; columns
    that are not canonical, e.g. of a custom source, are read as dates)."""
    spec = TABLES[name]
    defaults = DEFAULTS.get(name, {})
    extra = [c for r in rows for c in r if c not in spec.columns]
    cols = {}
    for col in [*spec.columns, *dict.fromkeys(extra)]:
        cs = spec.columns.get(col)
        if (
            cs is not None
            and not cs.required
            and col not in defaults
            and not any(col in r for r in rows)
        ):
            continue
        values = [r.get(col, defaults.get(col)) for r in rows]
        if cs is None or cs.dtype == "datetime64[us]":
            cols[col] = pd.to_datetime(pd.Series(values, dtype="object")).astype("datetime64[us]")
        else:
            cols[col] = pd.Series(values, dtype="int64" if cs.dtype == "key" else cs.dtype)
    return pd.DataFrame(cols)
