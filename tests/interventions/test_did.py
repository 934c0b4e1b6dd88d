"""Difference-in-differences on attendance: a known gain recovered, drifts flagged."""

from __future__ import annotations

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
from _semisynthetic import attendance_study

from riskscreen.interventions import (
    DiDEstimate,
    TooFewPupilsError,
    TrendsDisplay,
    allocate_within_bands,
    estimate_did,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def trial(design):
    """Help randomised within the medium and high bands; it turns half of the helped
    pupils' unauthorised absences into attendance while active."""
    return attendance_study(design, allocate_within_bands(design.screening, seed=11), gain=0.5)


def test_a_randomised_gain_in_attendance_is_recovered(trial):
    study, truth = trial
    est = estimate_did(study)
    assert isinstance(est, DiDEstimate) and est.method == "DiD"
    assert truth > 0.005 and est.covers(truth)
    assert est.placebo is not None
    assert est.placebo["ci_low"] <= 0 <= est.placebo["ci_high"]  # no drift before help
    means = est.means
    assert list(means.columns) == ["earlier period", "before", "after"]
    assert set(means.index) == {"helped", "unhelped"}
    assert "percentage points" in est.sentences()[0]


@pytest.mark.parametrize("seed", [2, 3])
def test_no_gain_gives_an_interval_around_zero(design, seed):
    allocation = allocate_within_bands(design.screening, seed=seed)
    study, truth = attendance_study(design, allocation, gain=0.0)
    assert truth == 0.0
    assert estimate_did(study).covers(0.0)


def test_the_plot_and_the_text(trial):
    study, _ = trial
    est = estimate_did(study)
    display = est.plot()
    assert isinstance(display, TrendsDisplay) and display.ax_ is not None
    diag = est.diagnostics()["value"]
    assert "gap before help (helped - unhelped)" in diag.index
    pupils = {str(p) for p in study.frame.index.get_level_values("pupil_id")}
    assert not any(p in est.to_markdown() + est.to_html() for p in pupils)
    matplotlib.pyplot.close("all")


def test_refusals(design, trial):
    study, _ = trial
    with pytest.raises(ValueError, match="outcome before the list as well as after"):
        estimate_did(design.study("noisy"))
    few = study.frame["treated"] & (np.cumsum(study.frame["treated"]) <= 4)
    with pytest.raises(TooFewPupilsError, match="fewer than 5 helped"):
        estimate_did(replace(study, frame=study.frame.assign(treated=few)))
