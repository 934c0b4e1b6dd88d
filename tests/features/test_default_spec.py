from __future__ import annotations

import numpy as np
from _feature_histories import AS_OF, histories, on_roll, pupil

from riskscreen.features import build_features, default_spec

FIXED = [
    "suspension_count_1y",
    "suspension_count_all",
    "suspension_sessions_1y",
    "permanent_exclusion_count_all",
    "attendance_rate_1y",
    "unauthorised_absence_rate_1y",
    "persistent_absence_1y",
    "sen_support_now",
    "ehcp_now",
    "semh_now",
    "fsm_now",
    "fsm_ever_6y",
    "cin_plan_now",
    "cp_plan_now",
    "looked_after_now",
    "school_moves_2y",
    "ncyear",
    "school_suspension_rate_1y",
    "days_since_last_suspension",
]


def test_fixed_names_present_and_described():
    spec = default_spec()
    assert set(FIXED) <= set(spec.names)
    d = spec.describe()
    assert d["description"].str.len().min() > 20
    assert not {"sex", "ethnicity", "sex_m"} & set(spec.output_names())
    assert set(spec.monotone_constraints().values()) <= {-1, 0, 1}


def test_default_spec_on_a_tiny_history():
    h = histories(
        pupils=[pupil(1), pupil(2)],
        enrolments=[
            on_roll(1, leaving_date="2021-03-01", leaving_reason="transfer"),
            on_roll(1, entry="2021-03-02", school=200),
            on_roll(
                1,
                entry="2018-09-01",
                school=300,
                leaving_date="2019-07-20",
                leaving_reason="phase_transfer",
            ),
            on_roll(2),
        ],
        fsm=[{"pupil_id": 2, "start_date": "2016-03-01", "end_date": "2017-01-01"}],
        social_care=[
            {"pupil_id": 1, "kind": "looked_after", "start_date": "2021-12-01"},
            {
                "pupil_id": 1,
                "kind": "assessment",
                "start_date": "2021-01-01",
                "end_date": "2021-02-01",
                "assessment_factors": "24A",
            },
        ],
    )
    X = build_features(h, [AS_OF])
    p1, p2 = X.loc[(1, AS_OF)], X.loc[(2, AS_OF)]
    assert p1["school_moves_2y"] == 1  # the phase transfer does not count
    assert p1["mid_year_moves_2y"] == 1  # joined in March
    assert p1["looked_after_now"] == 1 and p1["looked_after_days_2y"] == 40
    assert p1["placement_moves_1y"] == 1
    assert p1["factor_criminal_exploitation_ever"] == 1
    assert p2["fsm_ever_6y"] == 1 and p2["fsm_now"] == 0  # Jan 2016 - Jan 2022 window
    assert p1["persistent_absence_1y"] == 0 and p1["persistent_absence_1y__missing"] == 1
    assert np.isfinite(X.to_numpy()).all()
