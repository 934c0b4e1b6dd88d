"""Reasons in words for the features of :func:`riskscreen.features.default_spec`.

A feature's own :class:`~riskscreen.features.Reason` (``Feature(..., reason=...)``)
always wins. These templates apply to a feature only when it is defined exactly as
in the default spec (same name, source, aggregate, window, quantity and filter), so a
custom feature that reuses a default name never borrows words that do not fit it.
"""

from __future__ import annotations

from functools import lru_cache

from riskscreen.features._spec import Feature, Reason

_ATT_MISSING = "no attendance recorded {window}"


def _attendance() -> dict[str, Reason]:
    out = {}
    for tag in ("4w", "13w", "1y"):
        out[f"attendance_rate_{tag}"] = Reason(
            "attendance {pct} {window}", missing=_ATT_MISSING, group="attendance"
        )
        out[f"unauthorised_absence_rate_{tag}"] = Reason(
            "unauthorised absence {pct} {window}",
            zero="no unauthorised absence {window}",
            missing=_ATT_MISSING,
            group="unauthorised absence",
        )
    out["absence_rate_1y"] = Reason(
        "absence {pct} {window}",
        zero="no absence {window}",
        missing=_ATT_MISSING,
        group="attendance",
    )
    out["attendance_change_4w_vs_1y"] = Reason(
        "attendance {change} in the last 4 weeks compared with the last 12 months",
        missing=_ATT_MISSING,
        group="attendance",
    )
    out["persistent_absence_1y"] = Reason(
        "persistently absent (missed 10% or more of sessions) {window}",
        zero="not persistently absent {window}",
        missing=_ATT_MISSING,
        group="attendance",
    )
    return out


def _exclusions() -> dict[str, Reason]:
    count = Reason("{n} suspension{s} {window}", group="suspensions")
    return {
        "suspension_count_1y": count,
        "suspension_count_all": count,
        "suspension_count_13w": count,
        "suspension_sessions_1y": Reason(
            "{n} session{s} lost to suspension {window}", group="suspensions"
        ),
        "days_since_last_suspension": Reason(
            "last suspended {ago}", missing="never suspended", group="suspensions"
        ),
        "suspension_disruption_count_1y": Reason(
            "{n} suspension{s} for persistent disruptive behaviour {window}", group="suspensions"
        ),
        "suspension_assault_count_1y": Reason(
            "{n} suspension{s} for physical assault {window}", group="suspensions"
        ),
        "permanent_exclusion_count_all": Reason(
            "{n} permanent exclusion{s} {window}", group="permanent exclusions"
        ),
    }


def _school_and_needs() -> dict[str, Reason]:
    sen = "special educational needs"
    return {
        "school_moves_2y": Reason("{n} school move{s} {window}", group="school moves"),
        "mid_year_moves_2y": Reason(
            "joined {n} school{s} mid-year {window}",
            zero="no mid-year school changes {window}",
            group="school moves",
        ),
        "days_on_current_roll": Reason(
            "joined the current school {ago}",
            missing="no current school roll recorded",
            group="school moves",
        ),
        "part_time_timetable_now": Reason(
            "on a part-time timetable{since}",
            zero="not on a part-time timetable",
            group="part-time timetable",
        ),
        "sen_support_now": Reason(
            "receiving SEN support{since}", zero="not receiving SEN support", group=sen
        ),
        "ehcp_now": Reason(
            "has an education, health and care plan{since}",
            zero="no education, health and care plan",
            group=sen,
        ),
        "semh_now": Reason(
            "primary need is social, emotional and mental health",
            zero="primary need is not social, emotional and mental health",
            group=sen,
        ),
        "days_since_sen_identified": Reason(
            "special educational needs first recorded {ago}",
            missing="no special educational needs recorded",
            group=sen,
        ),
        "fsm_now": Reason(
            "eligible for free school meals",
            zero="not eligible for free school meals",
            group="free school meals",
        ),
        "fsm_ever_6y": Reason(
            "eligible for free school meals at some point {window}",
            zero="not eligible for free school meals {window}",
            group="free school meals",
        ),
        "ncyear": Reason("in year {n}", zero="in Reception", group="year group"),
        "school_suspension_rate_1y": Reason(
            "{per100} suspensions per 100 pupils at the current school {window}",
            zero="no suspensions at the current school {window}",
            missing="no current school recorded",
            group="school suspension rate",
        ),
    }


def _social_care() -> dict[str, Reason]:
    cp, la, eh = "child protection", "looked after", "early help"
    out = {
        "cin_plan_now": Reason(
            "on a child in need plan{since}",
            zero="not on a child in need plan",
            group="child in need",
        ),
        "cp_plan_now": Reason(
            "on a child protection plan{since}", zero="not on a child protection plan", group=cp
        ),
        "cp_plans_ever": Reason("{n} child protection plan{s} {window}", group=cp),
        "looked_after_now": Reason(
            "looked after by the local authority{since}",
            zero="not looked after by the local authority",
            group=la,
        ),
        "looked_after_days_2y": Reason(
            "looked after for {n} day{s} {window}", zero="not looked after {window}", group=la
        ),
        "placement_moves_1y": Reason("{n} looked-after placement change{s} {window}", group=la),
        "early_help_now": Reason(
            "receiving early help{since}", zero="not receiving early help", group=eh
        ),
        "early_help_episodes_2y": Reason("{n} early help episode{s} {window}", group=eh),
        "cme_spells_all": Reason(
            "{n} episode{s} of missing education {window}",
            zero="never recorded as missing education",
            group="missing or home education",
        ),
        "ehe_ever": Reason(
            "electively home educated in the past",
            zero="never electively home educated",
            group="missing or home education",
        ),
    }
    for kind in ("referrals_1y", "referrals_all"):
        out[kind] = Reason(
            "{n} referral{s} to children's social care {window}", group="social care referrals"
        )
    for words in ("neglect", "emotional abuse", "physical abuse", "sexual abuse"):
        out[f"cp_category_{words.split()[0]}_ever"] = Reason(
            f"a child protection plan for {words} on record",
            zero=f"no child protection plan for {words} on record",
            group=cp,
        )
    factors = {
        "factor_child_mental_health_ever": "the child's mental health",
        "factor_going_missing_ever": "going or being missing",
        "factor_sexual_exploitation_ever": "child sexual exploitation",
        "factor_gangs_ever": "gangs",
        "factor_criminal_exploitation_ever": "child criminal exploitation",
        "factor_domestic_violence_ever": "domestic violence affecting the child",
        "factor_child_drug_misuse_ever": "drug misuse by the child",
    }
    for name, words in factors.items():
        out[name] = Reason(
            f"a social care assessment identified {words}",
            zero=f"no social care assessment identified {words}",
            group="social care assessment factors",
        )
    return out


def definition(feature: Feature) -> tuple:
    """What a feature computes (not its words, imputation or monotone hint)."""

    def quantity(q):
        return tuple(sorted(q.items())) if isinstance(q, dict) else q

    return (
        feature.name,
        feature.source,
        feature.aggregate,
        feature.window_,
        quantity(feature.column),
        quantity(feature.denominator),
        feature.where,
        feature.compare_window,
        feature.threshold,
    )


@lru_cache(maxsize=1)
def _defaults() -> dict[str, tuple[tuple, Reason]]:
    from riskscreen.features import default_spec

    reasons = {**_attendance(), **_exclusions(), **_school_and_needs(), **_social_care()}
    return {f.name: (definition(f), reasons[f.name]) for f in default_spec() if f.name in reasons}


def default_reason(feature: Feature) -> Reason | None:
    """The built-in reason of a default-spec feature, or None for any other feature."""
    entry = _defaults().get(feature.name)
    if entry is None or entry[0] != definition(feature):
        return None
    return entry[1]
