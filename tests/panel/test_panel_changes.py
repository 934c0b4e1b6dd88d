"""What changed between two lists, pupil by pupil."""

from __future__ import annotations

import pandas as pd

from riskscreen.panel._changes import list_changes


def _list(rows):
    return pd.DataFrame(rows, columns=["pupil_id", "school_id", "list_rank", "probability"])


def test_new_moved_same_and_why_each_left():
    previous = _list(
        [
            (1, 10, 1, 0.5),  # stays, same place
            (2, 10, 2, 0.4),  # moves down to 3
            (3, 10, 3, 0.3),  # moves up to 2
            (4, 10, 4, 0.3),  # left the school
            (5, 10, 5, 0.3),  # risk fell
            (6, 10, 6, 0.2),  # below capacity
            (7, 10, 7, 0.2),  # moved to school 11: left school 10's list
        ]
    )
    current = _list([(1, 10, 1, 0.6), (3, 10, 2, 0.5), (2, 10, 3, 0.4), (8, 10, 4, 0.4)])
    current = pd.concat([current, _list([(7, 11, 1, 0.3)])], ignore_index=True)
    screened = pd.DataFrame(
        {
            "pupil_id": [1, 2, 3, 5, 6, 7, 8],
            "school_id": [10, 10, 10, 10, 10, 11, 10],
            "probability": [0.6, 0.4, 0.5, 0.1, 0.25, 0.3, 0.4],
        }
    )
    change, before, left = list_changes(current, previous, screened)
    assert change.tolist() == [
        "same place",
        "up from 3",
        "down from 2",
        "new to the list",
        "new to the list",
    ]
    assert before[:3].tolist() == [1.0, 3.0, 2.0]
    assert dict(zip(left["pupil_id"], left["why"].astype(str), strict=True)) == {
        4: "left the school",
        5: "risk fell",
        6: "below capacity",
        7: "left the school",
    }
    assert left["previous_rank"].tolist() == [4, 5, 6, 7]


def test_no_change_at_all():
    lst = _list([(1, 10, 1, 0.5), (2, 10, 2, 0.4)])
    change, _, left = list_changes(lst, lst, lst[["pupil_id", "school_id", "probability"]])
    assert change.tolist() == ["same place", "same place"]
    assert left.empty
