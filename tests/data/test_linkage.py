"""Record linkage: UPN first (current and former), then Splink, never two census pupils in one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscreen.data._linkage import link
from riskscreen.data._returns_spec import upn_check_letter

pytest.importorskip(
    "splink", reason="read_returns links with Splink: pip install 'riskscreen[linkage]'"
)


def _upn(serial: int) -> str:
    body = f"8200000{serial:05d}"
    return upn_check_letter(body) + body


CENSUS = [
    # forename, surname, dob, sex, postcode
    ("Oliver", "Smith", "2012-03-04", "M", "RS1 2AB"),
    ("Amelia", "Jones", "2011-07-19", "F", "RS2 3CD"),
    ("Harry", "Patel", "2013-01-30", "M", "RS3 4EF"),
    ("Isla", "Brown", "2012-11-02", "F", "RS4 5GH"),
    ("Noah", "Khan", "2010-05-05", "M", "RS5 6JK"),
    ("Ava", "Wilson", "2011-09-09", "F", "RS6 7LM"),
    ("Leo", "Taylor", "2012-03-04", "M", "RS7 8NP"),
]


def _records(rows: list[dict]) -> pd.DataFrame:
    base = {c: None for c in ("upn", "former_upn", "former_surname", "ethnicity", "language")}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["dob"] = pd.to_datetime(frame["dob"])
    frame["day"] = pd.Timestamp("2024-01-18")
    frame["row"] = np.arange(len(frame))
    return frame


def _census_rows() -> list[dict]:
    return [
        {
            "source": "school_census",
            "file": "c.csv",
            "entity": _upn(i),
            "upn": _upn(i),
            "forename": f,
            "surname": s,
            "dob": d,
            "sex": x,
            "postcode": p,
        }
        for i, (f, s, d, x, p) in enumerate(CENSUS)
    ]


def _cluster_of(linked, entity: str) -> int:
    e = linked.entities.set_index("entity")
    return int(e.loc[entity, "cluster"])


def test_upn_links_exactly_and_former_upns_count():
    rows = _census_rows()
    rows[1]["former_upn"] = _upn(90)  # Amelia's UPN was replaced
    rows += [
        {
            "source": "cin_census",
            "file": "x.xml",
            "entity": "child:A",
            "upn": _upn(0),
            "dob": "2012-03-04",
            "sex": "M",
        },
        {
            "source": "ssda903",
            "file": "h.csv",
            "entity": "child:B",
            "upn": _upn(90),
            "dob": "2011-07-19",
            "sex": "F",
        },
    ]
    linked = link(_records(rows))
    assert _cluster_of(linked, "child:A") == _cluster_of(linked, _upn(0))
    assert _cluster_of(linked, "child:B") == _cluster_of(linked, _upn(1))
    methods = linked.entities.set_index("entity")["method"]
    assert methods["child:A"] == "upn" and methods[_upn(0)] == "census"


def test_a_upn_pointing_at_two_census_pupils_links_nothing():
    rows = _census_rows()
    rows[2]["former_upn"] = _upn(0)  # a data error: Harry's former UPN is Oliver's UPN
    rows[2]["former_upn"] = None
    rows += [
        {
            "source": "registers",
            "file": "r.csv",
            "entity": "reg:1",
            "upn": _upn(0),
            "former_upn": _upn(2),
            "forename": "Zed",
            "surname": "Nobody",
            "dob": "2001-01-01",
            "sex": "F",
        }
    ]
    linked = link(_records(rows))
    assert linked.conflicts == 1
    e = linked.entities.set_index("entity")
    assert e.loc["reg:1", "cluster"] not in {e.loc[_upn(0), "cluster"], e.loc[_upn(2), "cluster"]}


def test_probabilistic_links_survive_typos_and_swapped_dates_but_not_a_namesake():
    rows = _census_rows() + [
        # Isla Brown, surname mistyped, day and month swapped, no UPN
        {
            "source": "social_care",
            "file": "p.csv",
            "entity": "child:C",
            "forename": "Isla",
            "surname": "Brwon",
            "dob": "2012-02-11",
            "sex": "F",
            "postcode": "RS4 5GH",
        },
        # Noah Khan under a new surname, the census keeps the former one
        {
            "source": "registers",
            "file": "r.csv",
            "entity": "reg:7",
            "forename": "Noah",
            "surname": "Ahmed",
            "dob": "2010-05-05",
            "sex": "M",
            "postcode": "RS5 6JK",
        },
        # a different child born the same day as Oliver and Leo
        {
            "source": "cin_census",
            "file": "x.xml",
            "entity": "child:D",
            "forename": "Maya",
            "surname": "Green",
            "dob": "2012-03-04",
            "sex": "F",
            "postcode": "RS9 9ZZ",
        },
    ]
    rows[4]["former_surname"] = "Ahmed"
    linked = link(_records(rows), threshold=0.9)
    assert _cluster_of(linked, "child:C") == _cluster_of(linked, _upn(3))
    assert _cluster_of(linked, "reg:7") == _cluster_of(linked, _upn(4))
    census_clusters = {_cluster_of(linked, _upn(i)) for i in range(len(CENSUS))}
    assert _cluster_of(linked, "child:D") not in census_clusters
    assert len(census_clusters) == len(CENSUS)  # never two census pupils in one child
    e = linked.entities.set_index("entity")
    assert e.loc["child:C", "method"] == "probabilistic" and e.loc["child:C", "weight"] > 0
    # the pairs carry positions, weights and comparison levels: no identifier
    pairs = linked.pairs
    assert {"left", "right", "match_weight", "match_probability", "accepted"} <= set(pairs)
    for col in pairs.columns:
        assert not col.endswith(("_l", "_r")), col
    assert linked.training["method"].startswith("prior")


def test_linkage_is_deterministic():
    rows = _census_rows() + [
        {
            "source": "social_care",
            "file": "p.csv",
            "entity": "child:C",
            "forename": "Isla",
            "surname": "Brwon",
            "dob": "2012-02-11",
            "sex": "F",
            "postcode": "RS4 5GH",
        },
    ]
    a, b = link(_records(rows)), link(_records(rows))
    pd.testing.assert_frame_equal(a.entities, b.entities)
    pd.testing.assert_frame_equal(a.pairs, b.pairs)
