"""Calibration of the synthetic local authority to published English rates."""

from __future__ import annotations

import numpy as np
import pytest

from riskscreen.data import LinkedHistories
from riskscreen.datasets import calibration_report, make_linked_histories


@pytest.fixture(scope="module")
def report(histories_20k):
    return calibration_report(histories_20k)


def test_every_figure_is_within_tolerance(report):
    bad = report.loc[
        ~report["within"], ["figure", "group", "target", "generated", "lower", "upper"]
    ]
    assert bad.empty, "\n" + bad.to_string()


def test_report_covers_the_brief_and_names_its_sources(report):
    assert list(report.columns) == [
        "figure",
        "group",
        "target",
        "generated",
        "tolerance",
        "tolerance_type",
        "lower",
        "upper",
        "within",
        "source",
        "note",
    ]
    assert len(report) >= 45
    # every source cites a publication: publisher, title, year and URL
    cited = r'^(derived from )?[^"]+, "[^"]+", [^,]*\d{4}[^,]*, https://\S+'
    assert report["source"].str.match(cited).all()
    assert report["within"].dtype == bool
    assert set(report["tolerance_type"]) == {"relative", "factor", "absolute"}
    groups = set(report["group"])
    for g in (
        "primary",
        "secondary",
        "FSM vs not",
        "SEN support vs no SEN",
        "EHCP vs no SEN",
        "CIN (not CP/CLA) vs all",
        "looked after (31 March)",
        "White British",
    ):
        assert g in groups
    figures = set(report["figure"])
    for f in (
        "CME stock on census day",
        "EHE stock on census day",
        "persistent absence",
        "severe absence",
        "sessions per suspension",
        "suspensions per suspended pupil",
    ):
        assert f in figures


def test_tolerances_are_honest(report):
    rel = report[report["tolerance_type"] == "relative"]
    # common figures are held to 25% or better, at most 30%
    assert (rel["tolerance"] <= 0.3).all()
    # rare events get a sampling tolerance, a factor, so every band keeps a lower bound
    # above zero: a rate or ratio can fail by being too low as well as too high
    rare = report[report["note"].str.startswith("sampling")]
    rare = rare[rare["tolerance_type"] != "absolute"]  # shares of schools stay absolute
    assert len(rare) >= 3 and (rare["tolerance_type"] == "factor").all()
    rates = ~report["figure"].str.startswith(("year group", "SEMH has", "share of schools"))
    assert (report.loc[rates, "lower"] > 0).all()
    assert (report.loc[rates, "lower"] > 0.15 * report.loc[rates, "target"]).all()
    fac = report[report["tolerance_type"] == "factor"]
    assert (fac["tolerance"] < 5).all()
    # the suspension levels are tight enough that a doubling or halving fails
    susp = report[report["figure"] == "one-plus suspension rate"]
    assert (susp["tolerance"] <= 0.25).all()


def test_report_fails_a_miscalibrated_authority(histories_20k):
    h = histories_20k
    susp = h.exclusions["kind"] == "suspension"
    rng = np.random.default_rng(0)
    halved = h.exclusions[~susp | (rng.random(len(susp)) < 0.4)]
    skewed = LinkedHistories(**{**h.tables(), "exclusions": halved})
    report = calibration_report(skewed)
    bad = report.loc[~report["within"], "figure"]
    assert "one-plus suspension rate" in set(bad)


def test_report_works_on_term_attendance():
    weekly = make_linked_histories(n_pupils=1_200, n_years=1, seed=4)
    term = make_linked_histories(n_pupils=1_200, n_years=1, seed=4, attendance_period="term")
    a = calibration_report(weekly).set_index(["figure", "group"])["generated"]
    b = calibration_report(term).set_index(["figure", "group"])["generated"]
    assert a.index.equals(b.index)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, equal_nan=True)


RARE = [
    ("permanent exclusion rate", "primary"),
    ("permanent exclusion rate", "secondary"),
    ("permanent exclusion rate", "all"),
    ("permanent exclusion ratio", "boys vs girls"),
    ("permanent exclusion ratio", "FSM vs not"),
    ("permanent exclusion ratio", "CIN (not CP/CLA) vs all"),
]


@pytest.mark.slow
def test_rare_figures_hold_on_a_large_authority():
    """On 100,000 pupils the rare figures' tolerances mean something, and still hold."""
    report = calibration_report(make_linked_histories(n_pupils=100_000, seed=2))
    bad = report.loc[~report["within"], ["figure", "group", "target", "generated"]]
    assert bad.empty, "\n" + bad.to_string()
    rare = report.set_index(["figure", "group"]).loc[RARE]
    bounds = rare["upper"] / rare["target"]
    assert (bounds <= 2.2).all(), bounds  # within a factor of about two, both ways
    assert (rare["lower"] >= rare["target"] / 2.2).all()
