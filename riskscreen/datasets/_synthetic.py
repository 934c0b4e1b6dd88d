"""A calibrated synthetic local authority (the embedded default data).

The generator simulates calendar weeks (a burn-in of three years for the
family, free-school-meal and social-care processes, then the academic years of
the window) with numpy arrays over all pupils; there is no Python loop over
pupils, only over weeks. The phases of the simulation live in their own
modules (see :mod:`riskscreen.datasets._simulation`).

Everything that drives later events is latent (need, behaviour incidents,
absence propensity, social-care journeys); what schools *record* (suspensions,
SEN identification, absence counts) never feeds back into the latent process.
So ``label_bias`` changes the recorded suspensions and nothing latent, and the
truth can be compared with what a model sees.

Coefficients marked "tuned" were set by running the generator at 20,000 pupils
for several seeds and adjusting intercepts until :func:`calibration_report`
reproduced its published targets; they are frozen here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from riskscreen.data import LinkedHistories
from riskscreen.datasets._assembly import assemble
from riskscreen.datasets._settings import check_settings
from riskscreen.datasets._simulation import Simulation
from riskscreen.datasets._truth import SyntheticTruth


def make_linked_histories(
    n_pupils: int = 20_000,
    n_schools: int | None = None,
    start_year: int = 2019,
    n_years: int = 5,
    seed: int = 0,
    return_truth: bool = False,
    label_bias: Mapping[str, float] | None = None,
    attendance_period: Literal["week", "term"] = "week",
    intervention_effect: float = 0.75,
    intervention_weeks: int = 26,
    intervention_capacity: float = 0.02,
) -> LinkedHistories | tuple[LinkedHistories, SyntheticTruth]:
    """Generate a synthetic local authority's linked education and social-care histories.

    A weekly simulation of the children of one English
    local authority: pupils age through NC years Reception to Y11, enter,
    transfer from primary to secondary, move in, out and between schools,
    leave after Y11; a latent need level moves week by week and drives absence,
    behaviour incidents, social-care journeys, children missing education
    (CME) and elective home education (EHE). Schools record incidents as
    suspensions according to their culture, permanently exclude (most never,
    a few often) and offer a help intervention each term to the pupils they
    judge at risk. Rates are calibrated to published DfE statistics; see
    :func:`calibration_report`, which cites the publication of each target.

    Parameters
    ----------
    n_pupils : int, default=20_000
        Pupils on roll at the start of the first academic year, spread evenly
        over Reception to Y11. The ``pupils`` table holds more distinct pupils
        (new Reception cohorts each September, in-movers, and children already
        in EHE or CME at the start: about 1.5x for five years).
    n_schools : int or None, default=None
        Number of mainstream schools. By default about one primary per 250
        and one secondary per 1,000 pupils. One alternative-provision school
        per eight secondaries (at least one) is always added.
    start_year : int, default=2019
        Calendar year in which the first academic year starts (September).
    n_years : int, default=5
        Number of academic years simulated (the window).
    seed : int, default=0
        Random seed; the same seed gives identical tables.
    return_truth : bool, default=False
        Also return a :class:`SyntheticTruth` with the latent risk and the
        true intervention effect.
    label_bias : mapping of str to float, optional
        Ethnicity code -> multiplier on the chance that a behaviour incident
        is *recorded* as a suspension (clipped at 1). Latent behaviour is not
        changed, so the truth knows the difference.
    attendance_period : {"week", "term"}, default="week"
        One attendance row per pupil and school week, or per pupil, school and
        half-term (for very large runs).
    intervention_effect : float, default=0.75
        True hazard ratio of the schools' intervention on behaviour incidents
        (hence suspensions and permanent exclusions) and unexplained exits.
    intervention_weeks : int, default=26
        Weeks the intervention's effect lasts from its start.
    intervention_capacity : float, default=0.02
        Share of an offering school's roll given the intervention each term.

    Returns
    -------
    LinkedHistories or (LinkedHistories, SyntheticTruth)

    Examples
    --------
    >>> from riskscreen.datasets import make_linked_histories
    >>> histories = make_linked_histories(n_pupils=600, n_years=1, seed=0)
    >>> sorted(histories.pupils.columns)[:3]
    ['birth_month', 'ethnicity', 'first_language']
    """
    settings = check_settings(locals())  # every parameter, by name
    sim = Simulation(settings)
    sim.run()
    histories, truth = assemble(sim)
    if return_truth:
        return histories, truth
    return histories
