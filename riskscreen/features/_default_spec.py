"""The default feature set for suspension, permanent exclusion and CME screening."""

from __future__ import annotations

from riskscreen.features._spec import Col, Feature, FeatureSpec

_ATTENDED = {
    "sessions_possible": 1.0,
    "sessions_authorised_absent": -1.0,
    "sessions_unauthorised_absent": -1.0,
}
_ABSENT = {"sessions_authorised_absent": 1.0, "sessions_unauthorised_absent": 1.0}
_POSSIBLE = "sessions_possible"
_SUSP = Col("kind") == "suspension"
_REASONS = Col("reason", "reason_2", "reason_3")
#: Imputed where no possible sessions were recorded: England's typical attendance.
ATTENDANCE_IMPUTE = 0.93
UNAUTHORISED_IMPUTE = 0.02


def _attendance() -> list[Feature]:
    out = []
    for window, words in (("28D", "4 weeks"), ("13W", "13 weeks (about a term)"), ("1Y", "year")):
        tag = {"28D": "4w", "13W": "13w", "1Y": "1y"}[window]
        out.append(
            Feature(
                f"attendance_rate_{tag}",
                "attendance",
                "rate",
                window,
                f"Share of possible sessions attended in the {words} before the screening date "
                "(0-1)",
                column=_ATTENDED,
                denominator=_POSSIBLE,
                impute=ATTENDANCE_IMPUTE,
                monotone=-1,
            )
        )
        out.append(
            Feature(
                f"unauthorised_absence_rate_{tag}",
                "attendance",
                "rate",
                window,
                f"Share of possible sessions missed without authorisation in the {words} before "
                "the screening date (0-1)",
                column="sessions_unauthorised_absent",
                denominator=_POSSIBLE,
                impute=UNAUTHORISED_IMPUTE,
                monotone=1,
            )
        )
    out += [
        Feature(
            "absence_rate_1y",
            "attendance",
            "rate",
            "1Y",
            "Share of possible sessions missed (authorised or not) in the 12 months before the "
            "screening date (0-1)",
            column=_ABSENT,
            denominator=_POSSIBLE,
            impute=1 - ATTENDANCE_IMPUTE,
            monotone=1,
        ),
        Feature(
            "attendance_change_4w_vs_1y",
            "attendance",
            "rate",
            "28D",
            "Attendance in the last 4 weeks minus attendance over the last 12 months "
            "(negative = attendance falling)",
            column=_ATTENDED,
            denominator=_POSSIBLE,
            compare_window="1Y",
            impute=0.0,
            monotone=-1,
        ),
        Feature(
            "persistent_absence_1y",
            "attendance",
            "rate",
            "1Y",
            "Persistently absent: missed 10% or more of possible sessions in the 12 months "
            "before the screening date (1 = yes)",
            column=_ABSENT,
            denominator=_POSSIBLE,
            threshold=0.10,
            impute=0.0,
            monotone=1,
        ),
    ]
    return out


def _exclusions() -> list[Feature]:
    return [
        Feature(
            "suspension_count_1y",
            "exclusions",
            "count",
            "1Y",
            "Number of suspensions in the 12 months before the screening date",
            where=_SUSP,
            monotone=1,
        ),
        Feature(
            "suspension_count_all",
            "exclusions",
            "count",
            "all",
            "Number of suspensions ever recorded before the screening date",
            where=_SUSP,
            monotone=1,
        ),
        Feature(
            "suspension_sessions_1y",
            "exclusions",
            "sum",
            "1Y",
            "Sessions (half days) lost to suspension in the 12 months before the screening date",
            column="sessions",
            where=_SUSP,
            monotone=1,
        ),
        Feature(
            "suspension_count_13w",
            "exclusions",
            "count",
            "13W",
            "Number of suspensions in the 13 weeks (about a term) before the screening date",
            where=_SUSP,
            monotone=1,
        ),
        Feature(
            "days_since_last_suspension",
            "exclusions",
            "days_since_last",
            "all",
            "Days since the most recent suspension (3650 if never suspended)",
            where=_SUSP,
            impute=3650.0,
            monotone=-1,
        ),
        Feature(
            "suspension_disruption_count_1y",
            "exclusions",
            "count",
            "1Y",
            "Number of suspensions for persistent disruptive behaviour (DB) in the 12 months "
            "before the screening date",
            where=_SUSP & (_REASONS == "DB"),
            monotone=1,
        ),
        Feature(
            "suspension_assault_count_1y",
            "exclusions",
            "count",
            "1Y",
            "Number of suspensions for physical assault on a pupil or an adult (PP, PA) in the "
            "12 months before the screening date",
            where=_SUSP & _REASONS.isin(["PP", "PA"]),
            monotone=1,
        ),
        Feature(
            "permanent_exclusion_count_all",
            "exclusions",
            "count",
            "all",
            "Number of permanent exclusions ever recorded before the screening date",
            where=Col("kind") == "permanent",
            monotone=1,
        ),
    ]


def _enrolments() -> list[Feature]:
    moves = Col("leaving_reason").notin(["phase_transfer", "completed"])
    return [
        Feature(
            "school_moves_2y",
            "enrolments",
            "ended_count",
            "2Y",
            "Number of times the pupil left a school roll in the 2 years before the screening "
            "date, other than a normal phase transfer or completing education",
            where=moves,
            monotone=1,
        ),
        Feature(
            "mid_year_moves_2y",
            "enrolments",
            "spell_count",
            "2Y",
            "Number of school rolls joined outside September in the 2 years before the "
            "screening date",
            where=~Col("entry_date").month_in(9),
            monotone=1,
        ),
        Feature(
            "part_time_timetable_now",
            "enrolments",
            "active",
            "all",
            "On a part-time timetable on the screening date (1 = yes)",
            where=Col("part_time") == True,  # noqa: E712 - builds a filter, not a comparison
            monotone=1,
        ),
        Feature(
            "days_on_current_roll",
            "enrolments",
            "days_since_start",
            "all",
            "Days since the pupil joined their most recent school roll (3650 if none recorded)",
            impute=3650.0,
            monotone=-1,
        ),
    ]


def _sen() -> list[Feature]:
    return [
        Feature(
            "sen_support_now",
            "sen",
            "active",
            "all",
            "Receiving SEN support (K) on the screening date (1 = yes)",
            where=Col("provision") == "K",
            monotone=1,
        ),
        Feature(
            "ehcp_now",
            "sen",
            "active",
            "all",
            "Has an education, health and care plan (E) on the screening date (1 = yes)",
            where=Col("provision") == "E",
            monotone=1,
        ),
        Feature(
            "semh_now",
            "sen",
            "active",
            "all",
            "Primary SEN need is social, emotional and mental health (SEMH) on the screening "
            "date (1 = yes)",
            where=Col("primary_need") == "SEMH",
            monotone=1,
        ),
        Feature(
            "days_since_sen_identified",
            "sen",
            "days_since_first",
            "all",
            "Days since special educational needs were first recorded (3650 if never)",
            impute=3650.0,
        ),
    ]


def _fsm() -> list[Feature]:
    return [
        Feature(
            "fsm_now",
            "fsm",
            "active",
            "all",
            "Eligible for free school meals on the screening date (1 = yes)",
            monotone=1,
        ),
        Feature(
            "fsm_ever_6y",
            "fsm",
            "days_active",
            "6Y",
            "Eligible for free school meals at any time in the 6 years before the screening "
            "date (1 = yes)",
            threshold=1.0,
            monotone=1,
        ),
    ]


def _social_care() -> list[Feature]:
    def kind(k):
        return Col("kind") == k

    out = [
        Feature(
            "cin_plan_now",
            "social_care",
            "active",
            "all",
            "On a child-in-need plan on the screening date (1 = yes)",
            where=kind("cin_plan"),
            monotone=1,
        ),
        Feature(
            "cp_plan_now",
            "social_care",
            "active",
            "all",
            "On a child-protection plan on the screening date (1 = yes)",
            where=kind("cp_plan"),
            monotone=1,
        ),
        Feature(
            "looked_after_now",
            "social_care",
            "active",
            "all",
            "Looked after by the local authority on the screening date (1 = yes)",
            where=kind("looked_after"),
            monotone=1,
        ),
        Feature(
            "early_help_now",
            "social_care",
            "active",
            "all",
            "Receiving early help on the screening date (1 = yes)",
            where=kind("early_help"),
        ),
        Feature(
            "referrals_1y",
            "social_care",
            "spell_count",
            "1Y",
            "Referrals to children's social care in the 12 months before the screening date",
            where=kind("referral"),
            monotone=1,
        ),
        Feature(
            "referrals_all",
            "social_care",
            "spell_count",
            "all",
            "Referrals to children's social care ever recorded before the screening date",
            where=kind("referral"),
            monotone=1,
        ),
        Feature(
            "cp_plans_ever",
            "social_care",
            "spell_count",
            "all",
            "Child-protection plans ever started before the screening date",
            where=kind("cp_plan"),
            monotone=1,
        ),
        Feature(
            "looked_after_days_2y",
            "social_care",
            "days_active",
            "2Y",
            "Days looked after in the 2 years before the screening date",
            where=kind("looked_after"),
            monotone=1,
        ),
        Feature(
            "placement_moves_1y",
            "social_care",
            "spell_count",
            "1Y",
            "Looked-after episodes (placement or legal-status changes) started in the 12 "
            "months before the screening date",
            where=kind("looked_after"),
            monotone=1,
        ),
        Feature(
            "early_help_episodes_2y",
            "social_care",
            "spell_count",
            "2Y",
            "Early help episodes started in the 2 years before the screening date",
            where=kind("early_help"),
        ),
    ]
    for code, words in (
        ("NEG", "neglect"),
        ("EMO", "emotional abuse"),
        ("PHY", "physical abuse"),
        ("SAB", "sexual abuse"),
    ):
        out.append(
            Feature(
                f"cp_category_{words.split()[0]}_ever",
                "social_care",
                "any",
                "all",
                f"Ever on a child-protection plan under the category {words} ({code}) (1 = yes)",
                where=kind("cp_plan") & (Col("abuse_category") == code),
                monotone=1,
            )
        )
    factors = (
        ("4A", "factor_child_mental_health_ever", "mental health of the child"),
        ("10A", "factor_going_missing_ever", "going or being missing"),
        ("11A", "factor_sexual_exploitation_ever", "child sexual exploitation"),
        ("13A", "factor_gangs_ever", "gangs"),
        ("24A", "factor_criminal_exploitation_ever", "child criminal exploitation"),
        ("3A", "factor_domestic_violence_ever", "domestic violence affecting the child"),
        ("2A", "factor_child_drug_misuse_ever", "drug misuse by the child"),
    )
    for code, name, words in factors:
        out.append(
            Feature(
                name,
                "social_care",
                "any",
                "all",
                f"A social-care assessment ever identified {words} (factor {code}) (1 = yes)",
                where=Col("assessment_factors").contains_code(code),
                monotone=1,
            )
        )
    return out


def _missing_education() -> list[Feature]:
    return [
        Feature(
            "cme_spells_all",
            "missing_education",
            "spell_count",
            "all",
            "Times recorded as a child missing education before the screening date",
            where=Col("kind") == "cme",
            monotone=1,
        ),
        Feature(
            "ehe_ever",
            "missing_education",
            "any",
            "all",
            "Ever electively home educated before the screening date (1 = yes)",
            where=Col("kind") == "ehe",
            monotone=1,
        ),
    ]


def _context() -> list[Feature]:
    return [
        Feature(
            "ncyear",
            "cohort",
            "value",
            "all",
            "National Curriculum year group on the screening date (Reception = 0)",
            column="ncyear",
        ),
        Feature(
            "school_suspension_rate_1y",
            "exclusions",
            "school_rate",
            "1Y",
            "Suspensions at the pupil's current school in the 12 months before the screening "
            "date, per pupil on its roll on the screening date",
            where=_SUSP,
            impute=0.0,
            monotone=1,
        ),
    ]


def default_spec() -> FeatureSpec:
    """The default features for suspension, permanent exclusion and CME screening.

    Attendance (4 weeks, 13 weeks, 12 months; change; persistent absence),
    suspensions and permanent exclusions, school moves and part-time
    timetables, SEN provision and need, FSM, social-care status and history
    (plans, looked-after episodes, categories of abuse, assessment factors,
    early help), CME/EHE history, NC year and the school's suspension rate.
    Call ``default_spec().describe()`` for the full list in words.
    Protected characteristics (sex, ethnicity) are not included.
    """
    return FeatureSpec(
        tuple(
            _attendance()
            + _exclusions()
            + _enrolments()
            + _sen()
            + _fsm()
            + _social_care()
            + _missing_education()
            + _context()
        )
    )
