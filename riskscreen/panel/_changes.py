"""What changed between two lists: entries, exits, moves, and why.

A list is a table of pupils (``pupil_id``) with a ``school_id``, a place on the
list (``list_rank``, 1 = highest risk) and a calibrated ``probability``. For the
later list, each pupil is *new to the list*, or moved *up from* / *down from* the
earlier place, or is in the *same place*. Each pupil who left the list did so
because they *left the school* (no longer screened there), their *risk fell*
(their calibrated probability is lower than before), or they are *below
capacity* (their risk did not fall, but others now rank above them or there are
fewer places). Pupils are matched by pupil and school: a pupil who moved school
leaves one school's list and may join another's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NEW, SAME = "new to the list", "same place"
LEFT_SCHOOL, RISK_FELL, BELOW_CAPACITY = "left the school", "risk fell", "below capacity"
WHY_LEFT = (LEFT_SCHOOL, RISK_FELL, BELOW_CAPACITY)

_KEY = ["pupil_id", "school_id"]


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[[*_KEY, *[c for c in frame.columns if c not in _KEY]]].copy()
    out["school_id"] = pd.array(out["school_id"], dtype="Int64")
    return out


def list_changes(
    current: pd.DataFrame, previous: pd.DataFrame, screened: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Changes from ``previous`` to ``current`` (both lists as described above).

    Parameters
    ----------
    current, previous : DataFrame
        Columns pupil_id, school_id, list_rank, probability.
    screened : DataFrame
        Everyone screened the second time: columns pupil_id, school_id, probability.

    Returns
    -------
    change : array of str
        For each row of ``current``: "new to the list", "up from 7", "down from 2"
        or "same place".
    previous_rank : array of float
        The earlier place of each row of ``current`` (NaN if new).
    left : DataFrame
        The rows of ``previous`` not on ``current``: pupil_id, school_id,
        previous_rank, why.
    """
    cur = _keyed(current[["pupil_id", "school_id", "list_rank"]])
    prev = _keyed(previous[["pupil_id", "school_id", "list_rank", "probability"]])
    prev = prev.rename(columns={"list_rank": "previous_rank", "probability": "previous_p"})
    merged = cur.merge(prev, on=_KEY, how="left", validate="one_to_one")
    before = merged["previous_rank"].to_numpy(dtype=float)
    now = merged["list_rank"].to_numpy(dtype=float)
    was = pd.Series(before).fillna(0).astype(int).astype(str).to_numpy(dtype=object)
    change = np.where(
        np.isnan(before),
        NEW,
        np.where(before > now, "up from " + was, np.where(before < now, "down from " + was, SAME)),
    ).astype(object)
    gone = prev.merge(cur[_KEY], on=_KEY, how="left", indicator=True)
    gone = gone[gone["_merge"] == "left_only"].drop(columns="_merge")
    there = _keyed(screened[["pupil_id", "school_id", "probability"]])
    gone = gone.merge(there, on=_KEY, how="left", validate="one_to_one")
    p_now = gone["probability"].to_numpy(dtype=float)
    why = np.where(
        np.isnan(p_now),
        LEFT_SCHOOL,
        np.where(p_now < gone["previous_p"].to_numpy(dtype=float), RISK_FELL, BELOW_CAPACITY),
    )
    left = pd.DataFrame(
        {
            "pupil_id": gone["pupil_id"].to_numpy(),
            "school_id": gone["school_id"].array,
            "previous_rank": gone["previous_rank"].to_numpy(dtype=int),
            "why": pd.Categorical(why, categories=list(WHY_LEFT)),
        }
    ).sort_values(["school_id", "previous_rank"], kind="stable", ignore_index=True)
    return change, before, left
