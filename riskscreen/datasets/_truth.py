"""The known truth behind a synthetic local authority."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskscreen.datasets._arrays import str_column
from riskscreen.datasets._calendar import to_datetime
from riskscreen.datasets._constants import COEF, ETHNICITIES, INTERVENTION_KINDS, NEEDS, PHASES

if TYPE_CHECKING:
    from riskscreen.datasets._simulation import Simulation


@dataclass(frozen=True)
class SyntheticTruth:
    """What the generator knows and the histories do not show.

    Returned by ``make_linked_histories(..., return_truth=True)``. The object is
    frozen (attributes cannot be reassigned); the DataFrames are the
    generator's own, so copy them before changing them.

    Attributes
    ----------
    weekly : DataFrame
        One row per pupil x school week on roll (the same pupil-weeks as the
        weekly attendance table, also when attendance was aggregated to
        terms): ``pupil_id``, ``school_id``, ``period_start`` (Monday),
        ``need`` (the latent need/adversity level, an AR(1) process in
        standard-deviation units), ``incident_probability`` (probability of at
        least one latent behaviour incident that week, i.e. the oracle
        behaviour risk), ``suspension_probability`` (probability that the week
        ends with a *recorded* suspension, after school recording culture and
        ``label_bias``), ``permanent_probability`` (probability of a permanent
        exclusion that week) and ``treated`` (an intervention's effect was
        active).
    incidents : DataFrame
        Every latent behaviour incident: ``pupil_id``, ``school_id``,
        ``date``, ``ethnicity``, ``recording_probability`` (chance a non-
        permanent incident is recorded as a suspension) and ``recorded_as``
        (``"suspension"``, ``"permanent"`` or ``"none"``). Latent incidents
        do not depend on ``label_bias``: with the same seed, only
        ``recording_probability`` and ``recorded_as`` change.
    pupils : DataFrame
        Per pupil latent traits: ``pupil_id``, ``deprivation`` (continuous
        neighbourhood deprivation, higher = more deprived),
        ``family_adversity``, ``frailty`` (stable behaviour-risk random
        effect, log scale), ``absence_propensity`` (stable absence random
        effect, logit scale), ``anxiety`` (drives elective home education and
        severe absence), ``true_sen`` (``"none"``, ``"K"`` or ``"E"``, the
        need whether or not it was identified), ``true_primary_need`` and
        ``ethnicity_effect`` (the residual log-multiplier on behaviour
        incidents, Timpson's adjusted odds).
    schools : DataFrame
        ``school_id``, ``phase``, ``suspension_recording`` (probability that
        a school records a latent incident as a suspension, before
        ``label_bias``) and ``px_culture`` (multiplier on the chance that an
        incident ends in permanent exclusion; 0 for schools that never
        exclude).
    interventions : DataFrame
        Every intervention given: ``pupil_id``, ``school_id``, ``kind``,
        ``start_date``, ``effect_end`` (last day of the hazard reduction),
        ``score_seen`` (the school's noisy view of risk that selected the
        pupil) and ``log_hazard`` (the true behaviour log-hazard at
        selection).
    intervention_effect : mapping
        ``hazard_ratio`` (multiplier on the incident hazard, the permanent-
        exclusion hazard and the unexplained-exit/CME hazard while active),
        ``weeks`` (how long it stays active from the start date),
        ``applies_to`` and ``capacity`` (share of each offering school's roll
        treated per term) and ``offer_probability``.
    label_bias : mapping
        Ethnicity code -> multiplier on the chance that an incident is
        recorded as a suspension (empty when there was no bias).
    coefficients : mapping
        The frozen generator coefficients (log-hazard / logit scale).
    attendance_period : str
        ``"week"`` or ``"term"``, as passed to the generator.
    """

    weekly: pd.DataFrame
    incidents: pd.DataFrame
    pupils: pd.DataFrame
    schools: pd.DataFrame
    interventions: pd.DataFrame
    intervention_effect: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    label_bias: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    coefficients: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    attendance_period: str = "week"

    def __reduce__(self):
        # MappingProxyType cannot be pickled: rebuild from plain dicts.
        state = {
            name: dict(value) if isinstance(value, MappingProxyType) else value
            for name, value in self.__dict__.items()
        }
        return (_rebuild, (state,))

    def __repr__(self) -> str:
        return (
            f"SyntheticTruth(weekly={len(self.weekly)} rows, incidents={len(self.incidents)}, "
            f"interventions={len(self.interventions)}, "
            f"hazard_ratio={self.intervention_effect.get('hazard_ratio')}, "
            f"label_bias={dict(self.label_bias)})"
        )


def _rebuild(state: dict[str, Any]) -> SyntheticTruth:
    mappings = ("intervention_effect", "label_bias", "coefficients")
    return SyntheticTruth(**{k: freeze(v) if k in mappings else v for k, v in state.items()})


def freeze(mapping: dict[str, Any]) -> MappingProxyType:
    """A read-only view of a dict."""
    return MappingProxyType(dict(mapping))


def make_truth(sim: Simulation, pid_map: np.ndarray) -> SyntheticTruth:
    """The truth of a finished simulation that kept it (``return_truth=True``).

    Parameters
    ----------
    sim : Simulation
        A simulation after its run.
    pid_map : ndarray of int64
        Pupil id of each simulated pupil (by index).

    Returns
    -------
    SyntheticTruth
    """
    cal = sim.cal
    sid = sim.school_ids
    iv = sim.r_int.collect()
    wk = sim.r_week.collect()
    weekly = pd.DataFrame(
        {
            "pupil_id": pid_map[wk["pid"]],
            "school_id": sid[wk["school"]],
            "period_start": to_datetime(cal.monday[wk["week"]]),
            "need": wk["need"],
            "incident_probability": wk["p_inc"],
            "suspension_probability": wk["p_susp"],
            "permanent_probability": wk["p_px"],
            "treated": wk["treated"],
        }
    )
    ic = sim.r_inc.collect()
    incidents = pd.DataFrame(
        {
            "pupil_id": pid_map[ic["pid"]],
            "school_id": sid[ic["school"]],
            "date": to_datetime(ic["day"]),
            "ethnicity": str_column(sim.eth[ic["pid"]], ETHNICITIES),
            "recording_probability": ic["p_rec"],
            "recorded_as": str_column(ic["outcome"], ["none", "suspension", "permanent"]),
        }
    )
    pupils = pd.DataFrame(
        {
            "pupil_id": pid_map,
            "deprivation": sim.dep,
            "family_adversity": sim.fam,
            "frailty": sim.frailty,
            "absence_propensity": sim.abs_re,
            "anxiety": sim.anxiety,
            "true_sen": str_column(sim.sen_true, ["none", "K", "E"]),
            "true_primary_need": str_column(np.where(sim.sen_true > 0, sim.need_type, -1), NEEDS),
            "ethnicity_effect": sim.eth_effect,
        }
    ).sort_values("pupil_id", ignore_index=True)
    schools = pd.DataFrame(
        {
            "school_id": sid,
            "phase": str_column(sim.sch_phase, PHASES),
            "suspension_recording": sim.sch_record,
            "px_culture": sim.sch_px,
        }
    )
    interventions = pd.DataFrame(
        {
            "pupil_id": pid_map[iv["pid"]],
            "school_id": sid[iv["school"]],
            "kind": str_column(iv["kind"], INTERVENTION_KINDS),
            "start_date": to_datetime(iv["start"]),
            "effect_end": to_datetime(iv["start"] + 7 * sim.int_weeks - 1),
            "score_seen": iv["score"],
            "log_hazard": iv["loghaz"],
        }
    )
    effect = {
        "hazard_ratio": sim.hr,
        "weeks": sim.int_weeks,
        "applies_to": ("behaviour_incident", "permanent_exclusion", "unexplained_exit"),
        "capacity": sim.int_capacity,
        "offer_probability": 0.5,
    }
    return SyntheticTruth(
        weekly=weekly,
        incidents=incidents,
        pupils=pupils,
        schools=schools,
        interventions=interventions,
        intervention_effect=freeze(effect),
        label_bias=freeze(sim.label_bias),
        coefficients=freeze(COEF),
        attendance_period=sim.settings.attendance_period,
    )
