"""Tests for the synthetic local authority (riskscreen.datasets.make_linked_histories)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from riskscreen.data import TABLES, _codes
from riskscreen.datasets import SyntheticTruth, make_linked_histories

# ----------------------------------------------------------------------------- schema


def _check_schema(histories) -> None:
    for name, spec in TABLES.items():
        frame = getattr(histories, name)
        expected = [c for c in spec.columns if spec.columns[c].required or c in frame.columns]
        assert list(frame.columns) == expected, name
        for col, cs in spec.columns.items():
            if col not in frame.columns:
                continue
            s = frame[col]
            if cs.dtype == "str":
                assert s.dtype == "str", (name, col, s.dtype)
            elif cs.dtype == "key":  # a pupil key: whole numbers (the generator's) or text
                assert str(s.dtype) == "int64", (name, col, s.dtype)
            else:
                assert str(s.dtype) == cs.dtype, (name, col, s.dtype)
            if not cs.nullable:
                assert s.notna().all(), (name, col)
            if cs.codes is not None:
                assert set(s.dropna().unique()) <= set(cs.codes), (name, col)
            if cs.dtype == "datetime64[us]":
                assert (s.dropna() == s.dropna().dt.normalize()).all(), (name, col)
            if cs.min_value is not None:
                assert (s.dropna() >= cs.min_value).all(), (name, col)
            if cs.max_value is not None:
                assert (s.dropna() <= cs.max_value).all(), (name, col)
        if spec.key:
            assert not frame.duplicated(list(spec.key)).any(), name
        for start, end in spec.date_order:
            ok = frame[end].isna() | (frame[end] >= frame[start])
            assert ok.all(), (name, start, end)


def test_tables_match_the_canonical_schema(small_with_truth):
    histories, _ = small_with_truth
    _check_schema(histories)
    for name in TABLES:
        assert len(getattr(histories, name)) > 0, name
    sc = histories.social_care
    factors = sc["assessment_factors"].dropna().str.split(",").explode()
    assert set(factors) <= set(_codes.ASSESSMENT_FACTOR_CODES)
    assert sc.loc[sc["kind"] != "assessment", "assessment_factors"].isna().all()
    assert sc.loc[sc["kind"] == "cp_plan", "abuse_category"].notna().all()
    assert sc.loc[sc["kind"] == "looked_after", "placement_type"].notna().all()


def test_the_calibration_run_has_every_kind_of_event(histories_20k):
    h = histories_20k
    reasons = set(h.enrolments["leaving_reason"].dropna())
    assert reasons == set(_codes.LEAVING_REASON_CODES) - {"other"}
    assert set(h.social_care["kind"]) == set(_codes.SOCIAL_CARE_KINDS)
    assert set(h.missing_education["kind"]) == {"cme", "ehe"}
    assert set(h.interventions["kind"]) == {"mentoring", "early_help", "managed_move"}
    assert set(h.schools["phase"]) == {"primary", "secondary", "ap", "special"}
    assert h.enrolments["part_time"].any()
    # placement moves: some looked-after children have several placements
    la = h.social_care[h.social_care["kind"] == "looked_after"]
    assert la.groupby("pupil_id").size().max() >= 3
    # most permanent exclusions follow earlier suspensions of the same pupil
    x = h.exclusions
    px = x[x["kind"] == "permanent"]
    first_susp = x[x["kind"] == "suspension"].groupby("pupil_id")["start_date"].min()
    prior = first_susp.reindex(px["pupil_id"]).to_numpy() < px["start_date"].to_numpy()
    assert prior.mean() > 0.6


def test_term_attendance_matches_the_schema_and_the_weekly_totals():
    weekly = make_linked_histories(n_pupils=600, n_years=1, seed=11)
    term = make_linked_histories(n_pupils=600, n_years=1, seed=11, attendance_period="term")
    _check_schema(term)
    assert len(term.attendance) < len(weekly.attendance) / 4
    cols = ["sessions_possible", "sessions_authorised_absent", "sessions_unauthorised_absent"]
    pd.testing.assert_series_equal(
        weekly.attendance.groupby("pupil_id")[cols].sum().stack(),
        term.attendance.groupby("pupil_id")[cols].sum().stack(),
    )
    pd.testing.assert_frame_equal(weekly.exclusions, term.exclusions)


def test_validate_passes_on_the_calibration_run(histories_20k):
    assert histories_20k.validate() is histories_20k


def test_counts_follow_the_documented_meaning_of_n_pupils(histories_20k):
    h = histories_20k
    start = pd.Timestamp("2019-09-02")  # first Monday on or after 1 September 2019
    e = h.enrolments
    on_roll = e[
        (e["entry_date"] <= start) & (e["leaving_date"].isna() | (e["leaving_date"] >= start))
    ]
    assert on_roll["pupil_id"].nunique() == 20_000
    assert 1.3 * 20_000 < len(h.pupils) < 1.8 * 20_000
    phases = h.schools["phase"].value_counts()
    assert phases["primary"] == round(20_000 * 7 / 12 / 250)
    assert phases["secondary"] == round(20_000 * 5 / 12 / 1000)
    assert phases["ap"] >= 1


# ----------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_tables_and_different_seeds_differ():
    a = make_linked_histories(n_pupils=500, n_years=2, seed=7)
    b = make_linked_histories(n_pupils=500, n_years=2, seed=7)
    c = make_linked_histories(n_pupils=500, n_years=2, seed=8)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.pupils.equals(c.pupils)
    assert not a.exclusions.equals(c.exclusions)
    assert not a.attendance.equals(c.attendance)


# ------------------------------------------------------------------------ label bias


def test_label_bias_changes_recording_not_behaviour():
    kw = dict(n_pupils=3_000, n_years=2, seed=5, return_truth=True)
    plain, t_plain = make_linked_histories(**kw)
    biased, t_biased = make_linked_histories(**kw, label_bias={"BAFR": 1.8})
    latent = ["pupil_id", "school_id", "date", "ethnicity"]
    pd.testing.assert_frame_equal(t_plain.incidents[latent], t_biased.incidents[latent])
    pd.testing.assert_frame_equal(
        t_plain.weekly.drop(columns="suspension_probability"),
        t_biased.weekly.drop(columns="suspension_probability"),
    )
    bafr = set(plain.pupils.loc[plain.pupils["ethnicity"] == "BAFR", "pupil_id"])

    def suspensions(h, group: bool) -> pd.DataFrame:
        x = h.exclusions
        x = x[(x["kind"] == "suspension") & (x["pupil_id"].isin(bafr) == group)]
        return x.reset_index(drop=True)

    assert len(suspensions(biased, True)) > 1.4 * len(suspensions(plain, True))
    pd.testing.assert_frame_equal(suspensions(plain, False), suspensions(biased, False))
    rec = t_biased.incidents.groupby(t_biased.incidents["ethnicity"] == "BAFR")[
        "recording_probability"
    ].mean()
    assert rec[True] > 1.5 * rec[False]
    assert dict(t_biased.label_bias) == {"BAFR": 1.8}
    assert dict(t_plain.label_bias) == {}


# ----------------------------------------------------------------------------- truth


def test_truth_has_the_documented_shapes(small_with_truth):
    histories, truth = small_with_truth
    assert isinstance(truth, SyntheticTruth)
    assert len(truth.weekly) == len(histories.attendance)
    assert list(truth.weekly.columns) == [
        "pupil_id",
        "school_id",
        "period_start",
        "need",
        "incident_probability",
        "suspension_probability",
        "permanent_probability",
        "treated",
    ]
    w = truth.weekly
    # probabilities in (0, 1]: a very rare extreme week rounds to 1 in float32
    assert ((w["incident_probability"] > 0) & (w["incident_probability"] <= 1)).all()
    assert (w["suspension_probability"] <= w["incident_probability"]).all()
    assert set(truth.pupils["pupil_id"]) == set(histories.pupils["pupil_id"])
    assert set(truth.schools["school_id"]) == set(histories.schools["school_id"])
    inc = truth.incidents
    assert set(inc["recorded_as"]) == {"none", "suspension", "permanent"}
    recorded = inc[inc["recorded_as"] != "none"]
    assert len(recorded) == len(histories.exclusions)
    assert (truth.schools.loc[truth.schools["phase"] == "primary", "px_culture"] == 0).any()
    with pytest.raises(AttributeError):
        truth.weekly = None
    with pytest.raises(TypeError):
        truth.intervention_effect["hazard_ratio"] = 1.0
    again = pickle.loads(pickle.dumps(truth))
    assert dict(again.intervention_effect) == dict(truth.intervention_effect)
    pd.testing.assert_frame_equal(again.incidents, truth.incidents)


def test_true_intervention_effect_is_applied_and_recorded(small_with_truth):
    histories, truth = small_with_truth
    effect = truth.intervention_effect
    assert effect["hazard_ratio"] == 0.75 and effect["weeks"] == 26
    iv = truth.interventions
    assert len(iv) > 20
    school_help = histories.interventions[histories.interventions["kind"] != "managed_move"]
    pd.testing.assert_frame_equal(
        iv[["pupil_id", "kind", "start_date"]].sort_values(
            ["pupil_id", "kind", "start_date"], ignore_index=True
        ),
        school_help[["pupil_id", "kind", "start_date"]].reset_index(drop=True),
    )
    # at the first week of treatment the oracle hazard is the school's view x the hazard ratio
    w = truth.weekly.merge(
        iv, left_on=["pupil_id", "period_start"], right_on=["pupil_id", "start_date"]
    )
    assert w["treated"].all()
    sessions = histories.attendance.merge(
        w[["pupil_id", "period_start"]], on=["pupil_id", "period_start"]
    )["sessions_possible"].to_numpy()
    expected = -np.expm1(-np.exp(w["log_hazard"]) * effect["hazard_ratio"] * sessions / 10)
    np.testing.assert_allclose(w["incident_probability"], expected, rtol=1e-5)
    # treated pupils were chosen on a noisy view of a higher-than-average risk
    assert iv["log_hazard"].mean() > np.log(truth.weekly["incident_probability"]).mean()


def test_no_intervention_when_capacity_is_zero():
    h, t = make_linked_histories(
        n_pupils=600, n_years=1, seed=2, intervention_capacity=0.0, return_truth=True
    )
    assert len(h.interventions) == 0 and not t.weekly["treated"].any()


# ------------------------------------------------------------------------ invariants


def test_invariants_of_the_histories(small_with_truth):
    _check_invariants(small_with_truth[0])


def test_invariants_hold_with_term_attendance():
    _check_invariants(
        make_linked_histories(n_pupils=2_400, n_years=2, seed=3, attendance_period="term")
    )


def _check_invariants(h) -> None:
    pupils = set(h.pupils["pupil_id"])
    schools = set(h.schools["school_id"])
    birth = h.pupils.set_index("pupil_id")["birth_month"]
    for name, spec in TABLES.items():
        frame = getattr(h, name)
        if spec.references_pupils:
            assert set(frame["pupil_id"]) <= pupils, name
        if "school_id" in frame.columns:
            assert set(frame["school_id"]) <= schools, name
        for col in spec.date_columns:
            if name == "pupils":
                continue
            born = birth.reindex(frame["pupil_id"]).to_numpy()
            d = frame[col].to_numpy()
            assert not (d < born).any(), (name, col)
            # nothing is known after the end of the window (two years from September 2019)
            assert not (frame[col] > pd.Timestamp("2021-09-05")).any(), (name, col)
    # one school at a time
    e = h.enrolments.sort_values(["pupil_id", "entry_date"])
    nxt = e.groupby("pupil_id")["entry_date"].shift(-1)
    end = e["leaving_date"]
    assert (nxt.isna() | (end.notna() & (end < nxt))).all()
    # attendance and exclusions only while on roll at that school
    for frame, start, stop in (
        (h.attendance, "period_start", "period_end"),
        (h.exclusions, "start_date", "start_date"),
    ):
        m = frame.reset_index().merge(e, on=["pupil_id", "school_id"])
        inside = (m[start] >= m["entry_date"]) & (
            m["leaving_date"].isna() | (m[stop] <= m["leaving_date"])
        )
        assert inside.groupby(m["index"]).any().reindex(frame.index, fill_value=False).all()
    # every permanent exclusion ends that spell on roll
    px = h.exclusions[h.exclusions["kind"] == "permanent"]
    assert len(px) > 0 and px["sessions"].isna().all()
    assert h.exclusions.loc[h.exclusions["kind"] == "suspension", "sessions"].gt(0).all()
    left = e[e["leaving_reason"] == "permanent_exclusion"]
    m = px.merge(left, on=["pupil_id", "school_id"])
    m = m[(m["leaving_date"] >= m["start_date"])]
    m = m[(m["leaving_date"] - m["start_date"]).dt.days < 7]
    assert m["start_date"].nunique() > 0 and len(
        m.drop_duplicates(["pupil_id", "start_date"])
    ) == len(px)
    # CME spells follow unexplained exits or arrivals; EHE follows leaving for EHE
    ehe = h.missing_education[h.missing_education["kind"] == "ehe"]
    assert set(e.loc[e["leaving_reason"] == "ehe", "pupil_id"]) <= set(ehe["pupil_id"])


def test_absence_worsens_before_suspension(histories_20k):
    """Latent need drives both, so absence rises in the weeks before a first suspension."""
    h = histories_20k
    a = h.attendance
    s = h.exclusions[h.exclusions["kind"] == "suspension"]
    first = s.groupby("pupil_id")["start_date"].min().rename("first").reset_index()
    m = a.merge(first, on="pupil_id")
    weeks = (m["first"] - m["period_start"]).dt.days // 7
    rate = (m["sessions_authorised_absent"] + m["sessions_unauthorised_absent"]) / m[
        "sessions_possible"
    ]
    near = rate[(weeks >= 1) & (weeks <= 8)].mean()
    far = rate[(weeks >= 40) & (weeks <= 80)].mean()
    assert near > far


# ------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_pupils": 0}, ValueError, "'n_pupils' parameter .* >= 12. Got 0"),
        ({"n_pupils": 100.5}, TypeError, "'n_pupils' parameter .* int. Got 100.5"),
        ({"n_schools": 1}, ValueError, "'n_schools'"),
        ({"start_year": 1800}, ValueError, "'start_year'"),
        ({"n_years": 0}, ValueError, "'n_years'"),
        ({"seed": -1}, ValueError, "'seed' parameter .* non-negative int. Got -1"),
        ({"return_truth": "yes"}, TypeError, "'return_truth'"),
        ({"attendance_period": "day"}, ValueError, "'attendance_period' .* 'week' or 'term'"),
        ({"intervention_effect": -0.5}, ValueError, "'intervention_effect'"),
        ({"intervention_capacity": 2.0}, ValueError, "'intervention_capacity'"),
        ({"intervention_weeks": 0}, ValueError, "'intervention_weeks'"),
        ({"label_bias": ["BAFR"]}, TypeError, "'label_bias' .* mapping"),
        ({"label_bias": {"XXXX": 2.0}}, ValueError, "'label_bias' .* Got 'XXXX'"),
        ({"label_bias": {"BAFR": 0}}, ValueError, "'label_bias' .* positive finite"),
    ],
)
def test_invalid_parameters_are_named_in_the_error(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_linked_histories(**{"n_pupils": 200, "n_years": 1, **kwargs})
