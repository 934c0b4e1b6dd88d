"""Regression discontinuity at the capacity cut-off: running variable, estimate, refusals."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from _semisynthetic import rd_truth

from riskscreen.interventions import (
    DiscontinuityDisplay,
    DiscontinuityEstimate,
    TooFewPupilsError,
    estimate_discontinuity,
)
from riskscreen.interventions._discontinuity import running_variable

matplotlib.use("Agg")


def _lists() -> pd.DataFrame:
    """Two schools' lists at one date (k = 2 and 1), and one list that flagged no one."""
    d1, d2 = pd.Timestamp("2021-01-04"), pd.Timestamp("2021-04-19")
    frame = pd.DataFrame(
        {
            "pupil_id": [1, 2, 3, 4, 5, 6, 7, 8],
            "as_of_date": [d1] * 6 + [d2] * 2,
            "school_id": [10, 10, 10, 20, 20, 20, 10, 10],
            "score": [3.0, 2.0, 1.0, 0.5, -1.0, -2.0, 1.0, 0.0],
            "rank": [1, 2, 3, 4, 5, 6, 1, 2],
            "rank_in_school": [1, 2, 3, 1, 2, 3, 1, 2],
            "flagged": [True, True, False, True, False, False, False, False],
        }
    )
    return frame.set_index(["pupil_id", "as_of_date"])


def test_each_list_is_measured_from_its_own_cut_off():
    frame = _lists()
    x, none = running_variable(frame, "score", per_school=True)
    # school 10: cut-off halfway between 2.0 (lowest flagged) and 1.0; school 20: 0.5 and -1
    assert x.iloc[:6].tolist() == [1.5, 0.5, -0.5, 0.75, -0.75, -1.75]
    assert x.iloc[6:].isna().all() and none == 1
    ranks, _ = running_variable(frame, "rank", per_school=True)
    assert ranks.iloc[:6].tolist() == [1.5, 0.5, -0.5, 0.5, -0.5, -1.5]
    overall, _ = running_variable(frame, "rank", per_school=False)
    # one list of six at d1 flagging three (ranks 1, 2 and 4): places above the cut-off
    assert overall.iloc[:6].tolist() == [2.5, 1.5, 0.5, -0.5, -1.5, -2.5]
    # rows in any order give the same distances
    shuffled, _ = running_variable(frame.iloc[::-1], "score", per_school=True)
    pd.testing.assert_series_equal(shuffled.sort_index(), x.sort_index())


@pytest.fixture(scope="module")
def cutoff(design):
    return design.study("cutoff")


@pytest.fixture(scope="module")
def rd(cutoff):
    return estimate_discontinuity(cutoff)


def test_the_cut_off_recovers_the_effect_there(design, cutoff, rd):
    assert isinstance(rd, DiscontinuityEstimate)
    assert rd.design == "sharp" and rd.first_stage == 1.0 and rd.running == "score"
    # the truth there is protective; coverage over many authorities is in test_coverage
    assert rd_truth(design, rd) < 0
    assert rd.naive["estimate"] > 0.1  # flagged pupils are far riskier than the rest
    assert rd.bandwidth[0] > 0 and rd.counts["above, inside bandwidth"] >= 20
    assert 0 <= rd.density_p_value <= 1
    assert rd.running_values.notna().sum() == len(cutoff)
    assert rd.ci_low < rd.ci_high and rd.se > 0


def test_the_rank_can_be_the_running_variable(cutoff):
    est = estimate_discontinuity(cutoff, running="rank")
    assert est.running == "rank" and np.isfinite(est.estimate)
    x = est.running_values
    assert (x[cutoff.frame["flagged"]] > 0).all() and (x[~cutoff.frame["flagged"]] < 0).all()


def test_help_that_partly_follows_the_list_is_a_fuzzy_design(cutoff):
    rng = np.random.default_rng(0)
    flagged = cutoff.frame["flagged"].to_numpy()
    helped = flagged & (rng.random(len(flagged)) < 0.8)
    est = estimate_discontinuity(replace(cutoff, frame=cutoff.frame.assign(treated=helped)))
    assert est.design == "fuzzy" and 0.5 < est.first_stage < 1.0
    assert "whose help followed the list" in est.sentences()[0]


def test_help_unrelated_to_the_list_is_refused(cutoff):
    rng = np.random.default_rng(1)
    random_help = rng.random(len(cutoff)) < 0.05
    with pytest.raises(TooFewPupilsError, match="help did not follow the list"):
        estimate_discontinuity(replace(cutoff, frame=cutoff.frame.assign(treated=random_help)))


def test_too_few_pupils_near_the_cut_off_are_refused(cutoff, rd):
    top = cutoff.frame.nlargest(30, "score").index
    small = replace(cutoff, frame=cutoff.frame.loc[top], confounders=cutoff.confounders.loc[top])
    with pytest.raises(TooFewPupilsError, match="either side of the cut-off"):
        estimate_discontinuity(small)
    with pytest.raises(TooFewPupilsError, match="window around the cut-off holds"):
        estimate_discontinuity(cutoff, min_pupils=rd.counts["above, inside bandwidth"] + 1)
    with pytest.raises(ValueError, match="'running' parameter"):
        estimate_discontinuity(cutoff, running="age")


def test_the_rd_plot_hides_small_bins_and_the_text_names_no_pupil(cutoff, rd):
    display = rd.plot()
    assert isinstance(display, DiscontinuityDisplay) and display.ax_ is not None
    assert len(rd.bins) > 5 and {"x", "mean_outcome"} <= set(rd.bins.columns)
    assert (rd.fit["x"] < 0).any() and (rd.fit["x"] >= 0).any()
    pupils = {str(p) for p in cutoff.frame.index.get_level_values("pupil_id")}
    text = rd.to_markdown() + rd.to_html() + repr(rd)
    assert not any(p in text for p in pupils)
    assert "robust bias-corrected" in rd.to_markdown()
    matplotlib.pyplot.close("all")


def test_a_missing_optional_library_says_how_to_install_it(cutoff, monkeypatch):
    monkeypatch.setitem(sys.modules, "rdrobust", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'riskscreen\[interventions\]'"):
        estimate_discontinuity(cutoff)


def test_importing_the_subpackage_loads_no_optional_library():
    code = (
        "import sys, riskscreen.interventions; "
        "print([m for m in ('statsmodels', 'rdrobust', 'rddensity', 'matplotlib') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
