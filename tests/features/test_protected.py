from __future__ import annotations

import logging

import pytest
from _feature_histories import AS_OF, histories, on_roll, pupil

from riskscreen.features import build_dataset, build_features, protected_characteristics


def _h():
    return histories(
        pupils=[
            pupil(1, sex="F", ethnicity="BCRB"),
            pupil(2, sex="M", ethnicity="WROM"),
            pupil(3, sex="M", ethnicity="WBRI"),
        ],
        enrolments=[on_roll(1), on_roll(2), on_roll(3)],
        sen=[
            {"pupil_id": 1, "start_date": "2021-01-01", "provision": "K"},
            {"pupil_id": 1, "start_date": "2021-06-01", "provision": "E"},
            {"pupil_id": 2, "start_date": "2021-01-01", "end_date": "2021-06-01"},
        ],
        fsm=[{"pupil_id": 3, "start_date": "2021-01-01"}],
        social_care=[
            {"pupil_id": 1, "kind": "cin_plan", "start_date": "2021-01-01"},
            {"pupil_id": 1, "kind": "looked_after", "start_date": "2021-02-01"},
            {"pupil_id": 2, "kind": "cp_plan", "start_date": "2021-02-01"},
            {"pupil_id": 3, "kind": "early_help", "start_date": "2021-02-01"},
        ],
    )


def test_protected_characteristics_are_separate_and_aligned():
    h = _h()
    data = build_dataset(h, [AS_OF], sensitive=True)
    X, s = data.X, data.sensitive
    assert not {"sex", "ethnicity"} & set(X.columns)
    assert s.index.equals(X.index)
    assert s["sex"].tolist() == ["F", "M", "M"]
    assert s["ethnicity_major"].tolist() == ["Black", "White", "White"]
    assert s["sen_status"].tolist() == ["E", "none", "none"]
    assert s["fsm"].tolist() == [False, False, True]
    assert s["social_care_status"].tolist() == ["cla", "cp", "none"]
    s2 = protected_characteristics(h, X.index[::-1])
    assert s2["sex"].tolist() == ["M", "M", "F"]
    with pytest.raises(ValueError, match="'index' parameter of protected_characteristics"):
        protected_characteristics(h, [1, 2])


def test_using_protected_inputs_is_explicit_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="riskscreen.features"):
        X = build_features(_h(), [AS_OF], use_protected=("sex", "ethnicity"))
    assert "Protected characteristic" in caplog.text
    assert X["sex_m"].tolist() == [0.0, 1.0, 1.0]
    assert X["ethnicity_bcrb"].tolist() == [1.0, 0.0, 0.0]
    assert X.filter(like="ethnicity_").sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="'use_protected' parameter"):
        build_features(_h(), [AS_OF], use_protected=("religion",))
