"""The synthetic LA's own help: chosen by the schools' view of risk, it looks harmful naively.

The generator's schools give help each term to the pupils they judge at risk (a
noisy view of the *latent* risk, up to a capacity), and help multiplies the
hazard of behaviour incidents by ``intervention_effect`` (0.75) for 26 weeks. So
the true effect on suspensions is protective, yet helped pupils are suspended
far more often than unhelped ones: the naive comparison is biased upwards, and
adjusting for what was known at the as-of date moves the estimate down. It does
not remove the bias: the schools chose on latent risk that the records show only
in part (see the semi-synthetic designs of test_coverage for exact truths).
"""

from __future__ import annotations

import pytest
from _semisynthetic import screener

from riskscreen.datasets import make_linked_histories
from riskscreen.interventions import build_study, estimate_aipw


@pytest.fixture(scope="module")
def own_help():
    histories, truth = make_linked_histories(
        n_pupils=4000, n_years=2, seed=8, return_truth=True, intervention_capacity=0.08
    )
    screening = screener().score(histories, "2021-01-04")
    study = build_study(histories, screening, outcome="suspension", horizon="26W")
    return study, truth


def test_the_naive_comparison_makes_protective_help_look_harmful(own_help):
    study, truth = own_help
    assert truth.intervention_effect["hazard_ratio"] < 1  # help protects
    helped = study.treated
    assert helped.sum() >= 30
    # every helped pupil in the study was chosen by a school at the start of that term
    starts = truth.interventions["start_date"]
    assert (starts == "2021-01-04").sum() >= helped.sum()
    est = estimate_aipw(study)
    assert est.naive["estimate"] > 0.1 and est.naive["ci_low"] > 0
    assert est.estimate < est.naive["estimate"] - 0.05
