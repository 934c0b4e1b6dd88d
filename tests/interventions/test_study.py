"""build_study: snapshots, interventions, decisions and later outcomes joined by (pupil, date)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _semisynthetic import AS_OF, HORIZON

from riskscreen import parse_duration
from riskscreen.interventions import build_study
from riskscreen.interventions._study import intervention_status

D = pd.Timestamp("2021-01-04")


def test_help_counts_when_it_starts_within_the_window_after_the_list():
    # pupil 1 starts on the as-of date, 2 on day 27, 3 on day 28 (too late), 4 is already
    # being helped, 5's help ended before the list, 6's is open-ended, 7 has none
    table = pd.DataFrame(
        {
            "pupil_id": [1, 2, 3, 4, 5, 6, 1],
            "kind": ["mentoring"] * 6 + ["early_help"],
            "start_date": [D, D + pd.Timedelta(days=27), D + pd.Timedelta(days=28),
                           D - pd.Timedelta(days=50), D - pd.Timedelta(days=90),
                           D - pd.Timedelta(days=5), D - pd.Timedelta(days=400)],
            "end_date": [pd.NaT, pd.NaT, pd.NaT, D + pd.Timedelta(days=10),
                         D - pd.Timedelta(days=1), pd.NaT, D - pd.Timedelta(days=200)],
        }
    )  # fmt: skip
    rows = pd.MultiIndex.from_product([range(1, 8), [D]], names=["pupil_id", "as_of_date"])
    window = parse_duration("28D")
    status = intervention_status(rows, table, window)
    assert status["treated"].tolist() == [True, True, False, False, False, False, False]
    assert status["prior_intervention"].tolist() == [False, False, False, True, False, True, False]
    # row order never matters
    shuffled = intervention_status(rows, table.sample(frac=1, random_state=3), window)
    pd.testing.assert_frame_equal(status, shuffled)
    only = intervention_status(rows, table, window, kinds="early_help")
    assert not only["treated"].any()


def test_the_library_join_matches_the_known_assignment_and_outcomes(design):
    histories, interventions = design.observed_histories("noisy")
    study = build_study(
        histories,
        design.screening,
        outcome="suspension",
        horizon=HORIZON,
        interventions=interventions,
    )
    known = design.study("noisy")
    assert study.as_of_dates == [AS_OF]
    common = study.frame.index.intersection(known.frame.index)
    assert len(common) >= 0.99 * len(known.frame)
    pd.testing.assert_series_equal(
        study.frame.loc[common, "treated"], known.frame.loc[common, "treated"]
    )
    pd.testing.assert_series_equal(
        study.frame.loc[common, "outcome"], known.frame.loc[common, "outcome"]
    )
    # confounders are the snapshot's features (known before the as-of date) and the score
    X = study.confounders
    assert X.columns[0] == "score" and "outcome" not in X.columns
    features = design.screening.features.droplevel("as_of_date")
    pupils = X.index.get_level_values("pupil_id")
    np.testing.assert_allclose(
        X.iloc[:, 1:].to_numpy(), features.loc[pupils, X.columns[1:]].to_numpy()
    )


def test_panel_decisions_join_as_a_plain_frame_and_can_define_help(design):
    flagged = design.screening.frame.index[design.screening.frame["flagged"]]
    decisions = pd.DataFrame(
        {
            "pupil_id": flagged,
            "as_of_date": "2021-01-04",  # strings are read as dates
            "offered_help": np.arange(len(flagged)) % 3 != 0,
            "reason": "panel",
        }
    )
    study = build_study(
        design.histories,
        design.screening,
        horizon=HORIZON,
        decisions=decisions,
        treatment="offered_help",
    )
    frame = study.frame
    on_list = frame["flagged"].to_numpy()
    assert frame.loc[~on_list, "offered_help"].isna().all()  # no decision, not helped
    assert not frame.loc[~on_list, "treated"].any()
    assert (frame.loc[on_list, "treated"] == frame.loc[on_list, "offered_help"]).all()
    assert study.treatment == "offered_help"
    # the same decisions keyed by the index join the same way
    by_index = build_study(
        design.histories,
        design.screening,
        horizon=HORIZON,
        decisions=decisions.set_index(["pupil_id", "as_of_date"]),
        treatment="offered_help",
    )
    pd.testing.assert_series_equal(by_index.frame["treated"], frame["treated"])


def test_decisions_are_checked(design):
    twice = pd.DataFrame({"pupil_id": [1, 1], "as_of_date": [D, D], "x": [True, False]})
    with pytest.raises(ValueError, match="duplicate"):
        build_study(design.histories, design.screening, horizon=HORIZON, decisions=twice)
    clash = pd.DataFrame({"pupil_id": [1], "as_of_date": [D], "score": [0.1]})
    with pytest.raises(ValueError, match="repeats study columns"):
        build_study(design.histories, design.screening, horizon=HORIZON, decisions=clash)
    unkeyed = pd.DataFrame({"pupil": [1], "x": [True]})
    with pytest.raises(ValueError, match=r"keyed by \(pupil_id, as_of_date\)"):
        build_study(design.histories, design.screening, horizon=HORIZON, decisions=unkeyed)
    pupil = design.screening.frame.index[0]
    words = pd.DataFrame({"pupil_id": [pupil], "as_of_date": [D], "decision": ["yes"]})
    with pytest.raises(ValueError, match="must be boolean"):
        build_study(
            design.histories,
            design.screening,
            horizon=HORIZON,
            decisions=words,
            treatment="decision",
        )


def test_an_assignment_series_keeps_only_the_pupils_it_names(design):
    frame = design.screening.frame
    chosen = frame.index[frame["band"].astype(str) == "high"]
    assignment = pd.Series(
        np.arange(len(chosen)) % 2 == 0,
        index=pd.MultiIndex.from_arrays(
            [chosen, [D] * len(chosen)], names=["pupil_id", "as_of_date"]
        ),
    )
    study = build_study(design.histories, design.screening, horizon=HORIZON, treatment=assignment)
    assert set(study.frame.index.get_level_values("pupil_id")) <= set(chosen)
    assert study.dropped["not in the treatment assignment"] == len(frame) - len(chosen)


def test_pupils_already_helped_are_left_out_and_counted(design):
    pupils = design.screening.frame.index[:7]
    earlier = pd.DataFrame(
        {
            "pupil_id": pupils,
            "start_date": D - pd.Timedelta(days=30),
            "end_date": D + pd.Timedelta(days=60),
        }
    )
    study = build_study(design.histories, design.screening, horizon=HORIZON, interventions=earlier)
    assert not study.frame.index.get_level_values("pupil_id").isin(pupils).any()
    assert study.dropped["already receiving an intervention"] == 7
    kept = build_study(
        design.histories,
        design.screening,
        horizon=HORIZON,
        interventions=earlier,
        exclude_prior=False,
    )
    assert kept.frame["prior_intervention"].sum() == 7


def test_an_incomplete_outcome_window_is_refused(design):
    with pytest.raises(ValueError, match="runs past the end of data"):
        build_study(design.histories, design.screening, horizon="52W")


def test_attendance_outcomes_after_and_before_the_list(design):
    study = build_study(
        design.histories,
        design.screening,
        outcome="attendance_rate",
        horizon="13W",
        pre_period="13W",
    )
    f = study.frame
    assert study.outcome_kind == "continuous"
    assert f["outcome"].between(0, 1).all()
    assert f["outcome_pre"].dropna().between(0, 1).all()
    assert f["outcome_pre"].isna().sum() < 0.02 * len(f)  # too few sessions: unknown
    # the pre-period is what the features call the last 13 weeks' attendance
    feature = study.confounders["attendance_rate_13w"]
    known = f["outcome_pre"].notna()
    close = np.isclose(f.loc[known, "outcome_pre"], feature[known], atol=1e-9)
    assert close.mean() > 0.95
    assert "outcome_pre2" in f  # two 13-week periods before January 2021 are in the data
    missed = build_study(
        design.histories, design.screening, outcome="sessions_missed", horizon="13W"
    )
    assert (missed.frame["outcome"] >= 0).all() and missed.frame["outcome"].max() > 1


def test_a_custom_outcome_and_bad_arguments(design):
    frame = design.screening.frame
    index = pd.MultiIndex.from_arrays(
        [frame.index, [D] * len(frame)], names=["pupil_id", "as_of_date"]
    )
    mine = pd.Series(frame["ncyear"].to_numpy() >= 9, index=index, name="older")
    study = build_study(design.histories, design.screening, outcome=mine, horizon=HORIZON)
    assert study.outcome == "older" and study.outcome_kind == "custom"
    assert set(np.unique(study.y)) == {0.0, 1.0}
    with pytest.raises(ValueError, match="The 'outcome' parameter of build_study"):
        build_study(design.histories, design.screening, outcome="happiness")
    with pytest.raises(ValueError, match="The 'treatment' parameter of build_study"):
        build_study(design.histories, design.screening, horizon=HORIZON, treatment="panel")
    with pytest.raises(ValueError, match="The 'horizon' parameter of build_study"):
        build_study(design.histories, design.screening, horizon="soon")
    with pytest.raises(ValueError, match="at least one list"):
        build_study(design.histories, [], horizon=HORIZON)
    with pytest.raises(ValueError, match="share as-of date"):
        build_study(design.histories, [design.screening] * 2, horizon=HORIZON)


def test_the_summary_suppresses_small_counts_and_names_no_pupil(design):
    study = design.study("noisy")
    few = study.frame["treated"] & (np.cumsum(study.frame["treated"]) <= 3)
    tiny = type(study)(**{**study.__dict__, "frame": study.frame.assign(treated=few)})
    table = tiny.summary()
    assert table["n_treated"].isna().all() and table["n_untreated"].isna().all()
    assert table["outcome_treated"].isna().all()
    text = tiny.to_markdown() + tiny.to_html() + repr(tiny)
    assert not any(str(p) in text for p in study.frame.index.get_level_values("pupil_id"))
