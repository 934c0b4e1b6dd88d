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
    # common figures are held to 25% or better; only rare events get wider, sampling-based bands
    wide = rel[rel["tolerance"] > 0.3]
    assert wide["note"].str.startswith("sampling").all()
    one_sided = rel["note"].str.contains("only an excess can be detected")
    assert (rel["tolerance"] < 1).sum() >= len(rel) - 1
    assert ((rel["tolerance"] < 1) | one_sided).all()
    assert (rel["tolerance"] < 1.5).all()
    fac = report[report["tolerance_type"] == "factor"]
    assert (fac["tolerance"] < 4).all()
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
