"""Constants and frozen coefficients of the synthetic local authority.

Code lists and their weights (ethnicity, SEN need, social-care codes, exclusion
reasons, leaving and missing-education reasons), the pupil states of the school
simulation and the model coefficients. Shares come from published DfE
statistics; coefficients marked "tuned" were set by running the generator at
20,000 pupils for several seeds and adjusting intercepts until
:func:`~riskscreen.datasets.calibration_report` reproduced its published
targets; they are frozen here.
"""

from __future__ import annotations

import math

import numpy as np

from riskscreen.data import _codes

# --------------------------------------------------------------------------------------
# Population constants
# --------------------------------------------------------------------------------------

# ethnicity: (% of pupils, deprivation offset, behaviour log-multiplier, P(EAL), language)
# Shares: DfE "Schools, pupils and their characteristics" 2024/25 (minor groups; White
# groups from 2020/21 scaled to 2024/25; REFU/NOBT the remainder). Behaviour multipliers
# are the Timpson Review's *adjusted* odds: risk is drawn from FSM, SEN and social care
# first, so adjusted ethnicity effects avoid counting those twice.
ETHNICITY: dict[str, tuple[float, float, float, float, str]] = {
    "WBRI": (60.3, 0.0, 1.0, 0.005, "OTH"),
    "WIRI": (0.27, -0.1, 1.0, 0.05, "OTH"),
    "WIRT": (0.08, 1.3, 2.5, 0.05, "OTH"),
    "WOTH": (6.5, 0.15, 0.8, 0.75, "POL"),
    "WROM": (0.32, 1.3, 2.5, 0.8, "ROM"),
    "MWBC": (1.6, 0.6, 1.5, 0.03, "OTH"),
    "MWBA": (1.0, 0.4, 1.1, 0.15, "OTH"),
    "MWAS": (1.7, 0.0, 0.9, 0.15, "OTH"),
    "MOTH": (2.9, 0.3, 1.1, 0.2, "OTH"),
    "AIND": (4.2, -0.3, 0.45, 0.6, "GUJ"),
    "APKN": (4.7, 0.7, 0.65, 0.75, "URD"),
    "ABAN": (1.8, 0.7, 0.5, 0.85, "BNG"),
    "AOTH": (2.3, 0.2, 0.6, 0.7, "TAM"),
    "CHNE": (0.8, -0.4, 0.3, 0.7, "CHI"),
    "BCRB": (0.9, 0.6, 1.6, 0.03, "OTH"),
    "BAFR": (5.2, 0.6, 0.75, 0.6, "SOM"),
    "BOTH": (0.8, 0.6, 1.0, 0.5, "YOR"),
    "OOTH": (2.5, 0.5, 0.8, 0.8, "ARA"),
    "REFU": (1.2, 0.0, 1.0, 0.2, "OTH"),
    "NOBT": (0.5, 0.2, 1.0, 0.4, "OTH"),
}
ETHNICITIES = list(ETHNICITY)
EAL_EFFECT = math.log(0.75)  # adjusted EAL effect on behaviour (Timpson 0.67 for PX)

SEX_MALE_SHARE = 0.512

# SEN primary need by provision and sex: (codes, boys weights, girls weights).
NEEDS = [
    "ASD",
    "SEMH",
    "SLCN",
    "MLD",
    "SPLD",
    "SLD",
    "PMLD",
    "PD",
    "HI",
    "VI",
    "MSI",
    "OTH",
    "NSA",
]
NEED_W = {
    ("E", "M"): [38, 17, 20, 5, 2, 7, 1.5, 3, 1.5, 0.7, 0.2, 3, 0.1],
    ("E", "F"): [25, 12, 22, 8, 3, 11, 2.5, 6, 3, 1.5, 0.3, 5, 0.1],
    ("K", "M"): [10, 22, 27, 13, 12, 0.5, 0.1, 2, 1.5, 0.8, 0.1, 5, 6],
    ("K", "F"): [5, 20, 24, 19, 16, 0.8, 0.1, 3, 2.5, 1.2, 0.1, 6, 4],
}
SEMH = NEEDS.index("SEMH")

SC_KINDS = ["referral", "assessment", "cin_plan", "cp_plan", "looked_after", "early_help"]
NEED_CODES = ["N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"]
NEED_CODE_W = [0.5, 57, 7, 3, 14, 13, 2, 0.5, 3]
ABUSE = ["NEG", "EMO", "PHY", "SAB", "MUL"]
ABUSE_W = [50, 36, 7, 4, 3]
PLACEMENTS = ["U4", "U6", "U1", "U3", "U5", "K2", "P1", "R1", "S1", "T0", "Z1", "A4", "R2"]
PLACEMENT_W = [22, 28, 8, 8, 2, 14, 6, 2, 2, 3, 2, 2, 1]
FACTORS = [
    "3B", "3A", "4B", "2B", "1B", "16A", "17A", "4A", "14A", "15A", "5B", "6B", "10A",
    "24A", "11A", "18C", "18B", "7A", "13A", "20",
]  # fmt: skip
FACTOR_W = [18, 10, 18, 8, 7, 9, 9, 7, 3, 3, 3, 3, 2, 2, 2, 2, 1, 2, 1, 3]

SUSP_REASONS = ["DB", "VA", "PP", "PA", "VP", "DA", "OW", "DM", "MT", "BU", "RA", "SM", "TH"]
SUSP_REASON_W = [50, 17, 12, 6.5, 4.5, 2, 2, 2, 1.5, 1, 0.6, 0.5, 0.4]
PX_REASONS = ["DB", "PP", "PA", "VA", "OW", "DA", "DM", "SM", "VP", "BU"]
PX_REASON_W = [38, 17, 14, 12, 7, 6, 2, 2, 1.5, 0.5]
# Sessions per suspension (half days): mostly one or two days, mean ~4 (DfE 2022/23:
# 5.03 days lost per suspended pupil over 2.59 suspensions, about 1.9 days each).
SUSP_SESSIONS = [1, 2, 3, 4, 6, 8, 10, 20]
SUSP_SESSIONS_W = [6, 50, 3, 17, 11, 2, 9, 2]

LEAVING = list(_codes.LEAVING_REASON_CODES)
REASON_LIST = list(_codes.EXCLUSION_REASON_CODES)
ME_REASONS = list(_codes.MISSING_EDUCATION_REASONS)
CME_REASONS_MOVE = ["moved_unknown", "moved_abroad"]
CME_REASONS_EXIT = ["not_returned", "removed_from_roll", "unknown"]
EHE_REASONS = ["mental_health", "philosophical", "lifestyle", "dissatisfaction",
                "avoid_exclusion", "other", "unknown"]  # fmt: skip
EHE_REASON_W = [16, 14, 9, 14, 5, 14, 28]
INTERVENTION_KINDS = ["mentoring", "early_help"]
PHASES = ["primary", "secondary", "ap", "special"]  # school phase codes 0, 1, 2, 3
# Special schools: about 1.8% of pupils (DfE 2022/23: 0.15m of 8.43m), ~150 a school;
# chance that a pupil with an EHC plan from school entry attends one, by primary need.
SPECIAL_SHARE, SPECIAL_SIZE = 0.018, 150
SPECIAL_NEED_P = {
    "PMLD": 1.0,
    "SLD": 1.0,
    "MSI": 0.9,
    "ASD": 0.85,
    "SEMH": 0.7,
    "PD": 0.7,
    "MLD": 0.5,
    "SLCN": 0.3,
    "OTH": 0.3,
}
# Previously looked-after children (adopted, special guardianship, child arrangements
# order): 0.39%, 0.28% and 0.08% of pupils (DfE PLAA 2023/24).
PLAA_SHARES = (0.0039, 0.0028, 0.0008)

# States of a pupil in the school system.
NOT_ARRIVED, ON_ROLL, CME, EHE, GONE, WAIT = 0, 1, 2, 3, 4, 5
# How a waiting pupil is placed: home school of the phase, another school, AP.
PLACE_HOME, PLACE_OTHER, PLACE_AP = 0, 1, 2

# --------------------------------------------------------------------------------------
# Model coefficients (log-hazard or logit scale). "tuned" = calibrated to the targets of
# calibration_report.
# --------------------------------------------------------------------------------------
COEF: dict[str, float] = {
    # latent need: AR(1) by week around a pupil mean, plus family events
    "need_rho": 0.97,
    "need_sd": 0.6,
    "need_dep": 0.5,
    "need_fam": 0.5,
    "need_semh": 0.5,
    "need_sen": 0.2,
    "family_event0": -6.6,
    "family_event_fam": 0.7,
    "family_event_jump": 0.8,
    # free school meals: weekly Markov chain around a pupil propensity
    "fsm0": -1.75,  # tuned: ~24% eligible at the January census
    "fsm_dep": 1.5,
    "fsm_fam": 0.3,
    "fsm_switch": 0.12 / 13 / 20,  # tuned: ever-6 share ~1.1x the census-day share
    # SEN: latent severity -> true level
    "sen_male": 0.4,
    "sen_dep": 0.35,
    "sen_fam": 0.35,
    "sen_any_share": 0.27,  # tuned: SEN support ~14%, EHCP ~5% recorded
    "ehcp0": -1.8,  # tuned: EHC plans ~5%, 71% boys
    "ehcp_male": 0.55,
    "ehcp_severity": 0.8,
    # behaviour incidents (weekly log-hazard)
    "inc0": -8.40,  # tuned: one-plus suspension ~4% (1% primary, 8% secondary)
    "inc_need": 0.85,
    "inc_male": 0.3,
    "inc_fsm": 1.05,  # tuned with the low FSM churn: FSM vs not ratios
    "inc_sen_k": 0.1,
    "inc_sen_e": -0.3,
    "inc_semh": 1.4,
    "inc_cin": 1.15,
    "inc_cp": 0.45,
    "inc_lac": 0.6,
    "inc_recent": 1.45,  # tuned: ~2.6 suspensions per suspended pupil
    "inc_recent_decay": 0.85,
    "inc_frailty_sd": 1.0,
    # suspension recording (probability an incident is recorded as a suspension)
    "record_secondary": 0.5,
    "record_primary": 0.45,
    "record_sd": 0.3,
    # permanent exclusion given an incident
    "px0": -5.85,  # tuned: PX ~0.13% (0.3% secondary)
    "px_year": 0.35,
    "px_year_decay": 0.985,
    "px_need": 0.1,
    "px_male": 0.3,
    "px_zero_secondary": 0.4,
    "px_zero_primary": 0.4,
    "px_culture_sd": 0.5,
    # absence (weekly logit of a session missed)
    "abs0": -3.65,  # tuned: persistent absence ~20%
    "abs_re_sd": 0.7,
    "abs_need": 0.6,
    "abs_need2": 0.5,  # convex: very high need -> severe absence
    "abs_fsm": 0.1,
    "abs_sen_k": 0.15,
    "abs_sen_e": 0.05,
    "abs_cin": 0.3,
    "abs_cp": 0.45,
    "abs_lac": -0.1,
    "abs_ebsa_share": 0.025,
    "abs_ebsa": 3.2,  # tuned: severe absence ~2.3%
    "abs_winter": 0.15,
    "unauth0": -1.35,
    "unauth_need": 0.4,
    "unauth_fsm": 0.4,
    "part_time_sessions": 4,
    # exits from roll (weekly log-hazards, school weeks)
    "move0": math.log(0.034 / 38),
    "move_dep": 0.15,
    "move_known": 0.65,
    "unknown_to_cme": 0.6,
    "unexplained0": -9.15,  # tuned: CME stock ~0.5%
    "unexplained_need": 0.5,
    "unexplained_abs": 0.55,
    "unexplained_recent": 0.4,
    "ehe0": -9.55,  # tuned: EHE stock ~1.4%
    "ehe_anxiety": 0.6,
    "ehe_need": 0.3,
    "ehe_recent": 0.4,
    "ehe_female": 0.1,
    "ehe_secondary": 0.6,
    "transfer0": -8.0,
    "transfer_recent": 0.5,
    "transfer_need": 0.2,
    # managed moves: a secondary school moves a pupil with recent incidents to another
    # school instead of excluding (a modelling choice: about 0.2% of secondary pupils a year)
    "mm0": -9.7,
    "mm_recent": 1.6,
    "mm_weeks": 12,
    "cme_resolve": 0.085,
    "cme_await_resolve": 0.3,
    "cme_reenrol": 0.55,
    "ehe_return": 0.006,
    "ehe_move_away": 0.002,
    "ap_share_secondary": 0.7,
    "ap_share_primary": 0.35,
    "ap_return_ks3": 0.03,
    "ap_return_ks4": 0.008,
    "in_movers": 0.045,  # tuned: keeps the roll steady
    "in_mover_await": 0.15,
    # social care (weekly log-hazards)
    "referral0": -7.65,  # tuned: CIN ~3.3% at 31 March
    "referral_need": 0.85,
    "referral_fam": 0.35,
    "nfa0": 0.6,
    "nfa_need": -0.8,
    "cp0": -2.7,
    "cp_need": 0.6,
    "lac_direct": 0.05,
    "cin_to_cp": -2.6,
    "cp_to_lac": -2.8,
    "cp_to_cin": 0.5,
    "leave_care": 0.3,
    "cp_mean_weeks": 22.0,  # tuned: CP ~0.43%
    "placement_mean_weeks": 58.0,  # tuned: LAC ~0.7%
    "early_help0": -7.3,
    "early_help_need": 0.6,
    # previously looked after: adjusted behaviour log-multiplier (raw 1.5-3x published)
    "inc_plaa": math.log(1.6),
}

# NC year R..Y11 log-multipliers on behaviour incidents (tuned: peak Y9, secondary ~8x
# primary) and on the chance that an incident ends in permanent exclusion (tuned: PX peak
# Y10, primary ~0.03% a year and mostly Y5-Y6, very rare before Y3).
AGE_INCIDENT = np.array([-1.9, -1.5, -1.25, -1.05, -0.9, -0.7, -0.45, 1.0, 1.35, 1.55, 1.45, 1.0])
AGE_PX = np.array([-1.6, -1.1, -0.6, -0.1, 0.6, 1.0, 1.3, -0.4, -0.1, 0.1, 0.45, -0.3])
AGE_ABSENCE = np.array([0.15, 0.0, -0.05, -0.05, -0.05, -0.05, 0.0, 0.1, 0.25, 0.4, 0.5, 0.55])
# SEN identification: NC year at which a true SEN-support need is first recorded.
IDENTIFY_W = np.array([22, 14, 12, 11, 9, 8, 7, 7, 4, 3, 2, 1], dtype=float)

BURN_IN_WEEKS = 156
"""Weeks simulated before the window (family, FSM and social-care processes only)."""
