"""Tiny readable histories for the feature tests."""

from __future__ import annotations

import pandas as pd
from _canonical_frames import frame

from riskscreen.data import LinkedHistories

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
