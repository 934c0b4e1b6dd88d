"""Acceptance: over 20 synthetic authorities, intervals cover the known true effect.

Each seed is a fresh synthetic authority (2,000 pupils, two school years, no
help given by the generator), screened at 2021-01-04 by the same scorecard. Help
is then assigned from what was known at the as-of date and cuts the hazard of
suspension to 0.3 while active (26 weeks); the outcome is a suspension in the
26 weeks after the list. Both potential outcomes of every pupil are known (see
``_semisynthetic``), so the true effect is computed on exactly the pupils each
estimate is about. With ``hazard_ratio=1`` help does nothing and the truth is 0.

* IPW and AIPW: help went to the top 8% by risk score plus noise (one standard
  deviation of the score): a noisy view of risk up to a capacity.
* RD: help went exactly to the pupils the list flagged (10% capacity).

The coverage figures are printed (``pytest -s``) and asserted; a larger run
(60 seeds) is marked slow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _semisynthetic import make_design, rd_truth

from riskscreen.interventions import (
    OverlapError,
    TooFewPupilsError,
    estimate_aipw,
    estimate_discontinuity,
    estimate_ipw,
)

SEEDS = range(1, 21)


def run(seeds) -> pd.DataFrame:
    """One row per seed, estimator and scenario: estimate, truth, covered, naive."""
    rows = []
    for seed in seeds:
        design = make_design(seed)
        for null in (False, True):
            scenario = "no effect" if null else "effect"
            study = design.study("noisy", null=null)
            for name, estimate in (("IPW", estimate_ipw), ("AIPW", estimate_aipw)):
                try:
                    est = estimate(study)
                except (OverlapError, TooFewPupilsError) as exc:
                    rows.append(
                        {
                            "seed": seed,
                            "method": name,
                            "scenario": scenario,
                            "refused": type(exc).__name__,
                        }
                    )
                    continue
                helped = study.frame.index[est.kept.to_numpy() & study.treated]
                truth = 0.0 if null else float(np.nanmean(design.effect(helped)))
                rows.append(_row(seed, name, scenario, est, truth))
            study = design.study("cutoff", null=null)
            try:
                est = estimate_discontinuity(study)
            except TooFewPupilsError as exc:
                rows.append(
                    {
                        "seed": seed,
                        "method": "RD",
                        "scenario": scenario,
                        "refused": type(exc).__name__,
                    }
                )
                continue
            truth = 0.0 if null else rd_truth(design, est)
            rows.append(_row(seed, "RD", scenario, est, truth))
    return pd.DataFrame(rows)


def _row(seed, method, scenario, est, truth) -> dict:
    return {
        "seed": seed,
        "method": method,
        "scenario": scenario,
        "estimate": est.estimate,
        "truth": truth,
        "covered": est.covers(truth),
        "includes_zero": est.covers(0.0),
        "width": est.ci_high - est.ci_low,
        "naive": est.naive["estimate"],
        "naive_covers_truth": est.naive["ci_low"] <= truth <= est.naive["ci_high"],
        "refused": None,
    }


def coverage(results: pd.DataFrame) -> pd.DataFrame:
    done = results[results["refused"].isna()]
    table = done.groupby(["method", "scenario"]).agg(
        seeds=("seed", "size"),
        coverage=("covered", "mean"),
        includes_zero=("includes_zero", "mean"),
        mean_truth=("truth", "mean"),
        bias=("estimate", "mean"),
        mean_width=("width", "mean"),
        naive=("naive", "mean"),
    )
    table["bias"] -= table["mean_truth"]
    table["refused"] = results.groupby(["method", "scenario"])["refused"].count()
    return table


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return run(SEEDS)


def test_coverage_is_reported(results):
    table = coverage(results)
    print("\nCoverage of 95% intervals over seeds 1-20 (2,000 pupils each):")
    print(table.round(3).to_string())
    assert set(table.index.get_level_values("method")) == {"IPW", "AIPW", "RD"}
    assert (table["seeds"] + table["refused"] == len(SEEDS)).all()


def test_aipw_intervals_cover_the_true_effect(results):
    table = coverage(results)
    assert table.loc[("AIPW", "effect"), "seeds"] >= 18
    assert table.loc[("AIPW", "effect"), "coverage"] >= 0.9
    assert table.loc[("AIPW", "no effect"), "includes_zero"] >= 0.85


def test_ipw_and_rd_intervals_cover_the_true_effect(results):
    table = coverage(results)
    for method in ("IPW", "RD"):
        for scenario in ("effect", "no effect"):
            assert table.loc[(method, scenario), "seeds"] >= 18
            assert table.loc[(method, scenario), "coverage"] >= 0.8, (method, scenario)


def test_the_naive_difference_is_biased_upwards(results):
    """Help goes to the riskiest pupils, so help looks harmful: the documented direction."""
    done = results[results["refused"].isna()]
    assert (done["naive"] > done["truth"]).mean() > 0.95
    effect = done[done["scenario"] == "effect"]
    assert (effect.groupby("method")["naive"].mean() > 0.1).all()
    assert (effect.groupby("method")["truth"].mean() < -0.03).all()  # help protects
    # the naive interval misses the truth far more often than any adjusted one
    assert done["naive_covers_truth"].mean() < 0.3


@pytest.mark.slow
def test_coverage_over_sixty_seeds():
    results = run(range(1, 61))
    table = coverage(results)
    print("\nCoverage of 95% intervals over seeds 1-60 (2,000 pupils each):")
    print(table.round(3).to_string())
    assert table.loc[("AIPW", "effect"), "coverage"] >= 0.9
    assert table.loc[("AIPW", "no effect"), "includes_zero"] >= 0.9
    assert table.loc[("RD", "effect"), "coverage"] >= 0.88
