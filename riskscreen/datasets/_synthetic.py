"""A calibrated synthetic local authority (the embedded default data).

The generator follows DESIGN.md section 6. It simulates calendar weeks (a
burn-in of three years for the family, free-school-meal and social-care
processes, then the academic years of the window) with numpy arrays over all
pupils; there is no Python loop over pupils, only over weeks.

Everything that drives later events is latent (need, behaviour incidents,
absence propensity, social-care journeys); what schools *record* (suspensions,
SEN identification, absence counts) never feeds back into the latent process.
So ``label_bias`` changes the recorded suspensions and nothing latent, and the
truth can be compared with what a model sees.

Coefficients marked "tuned" were set by running the generator at 20,000 pupils
for several seeds and adjusting intercepts until :func:`calibration_report`
reproduced ``shared/reference/uk_data.md`` section B5; they are frozen here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Literal

import numpy as np
import pandas as pd

from riskscreen.data import LinkedHistories, _codes
from riskscreen.data._tables import TABLES
from riskscreen.datasets._calendar import NAT, Calendar, build_calendar, first_monday, to_datetime
from riskscreen.datasets._truth import SyntheticTruth, freeze

# --------------------------------------------------------------------------------------
# Population constants (uk_data.md B4)
# --------------------------------------------------------------------------------------

# ethnicity: (% of pupils, deprivation offset, behaviour log-multiplier, P(EAL), language)
# Shares: B4 (minor groups, White groups scaled to 2024/25, REFU/NOBT the remainder).
# Behaviour multipliers are Timpson's *adjusted* odds (B5: draw risk from FSM/SEN/social
# care first, then use adjusted ethnicity effects to avoid double counting).
_ETHNICITY: dict[str, tuple[float, float, float, float, str]] = {
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
ETHNICITIES = list(_ETHNICITY)
_EAL_EFFECT = math.log(0.75)  # adjusted EAL effect on behaviour (Timpson 0.67 for PX)

SEX_MALE_SHARE = 0.512

# SEN primary need by provision and sex: (codes, boys weights, girls weights).
_NEEDS = [
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
_NEED_W = {
    ("E", "M"): [38, 17, 20, 5, 2, 7, 1.5, 3, 1.5, 0.7, 0.2, 3, 0.1],
    ("E", "F"): [25, 12, 22, 8, 3, 11, 2.5, 6, 3, 1.5, 0.3, 5, 0.1],
    ("K", "M"): [10, 22, 27, 13, 12, 0.5, 0.1, 2, 1.5, 0.8, 0.1, 5, 6],
    ("K", "F"): [5, 20, 24, 19, 16, 0.8, 0.1, 3, 2.5, 1.2, 0.1, 6, 4],
}
_SEMH = _NEEDS.index("SEMH")

_SC_KINDS = ["referral", "assessment", "cin_plan", "cp_plan", "looked_after", "early_help"]
_NEED_CODES = ["N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"]
_NEED_CODE_W = [0.5, 57, 7, 3, 14, 13, 2, 0.5, 3]
_ABUSE = ["NEG", "EMO", "PHY", "SAB", "MUL"]
_ABUSE_W = [50, 36, 7, 4, 3]
_PLACEMENTS = ["U4", "U6", "U1", "U3", "U5", "K2", "P1", "R1", "S1", "T0", "Z1", "A4", "R2"]
_PLACEMENT_W = [22, 28, 8, 8, 2, 14, 6, 2, 2, 3, 2, 2, 1]
_FACTORS = [
    "3B", "3A", "4B", "2B", "1B", "16A", "17A", "4A", "14A", "15A", "5B", "6B", "10A",
    "24A", "11A", "18C", "18B", "7A", "13A", "20",
]  # fmt: skip
_FACTOR_W = [18, 10, 18, 8, 7, 9, 9, 7, 3, 3, 3, 3, 2, 2, 2, 2, 1, 2, 1, 3]

_SUSP_REASONS = ["DB", "VA", "PP", "PA", "VP", "DA", "OW", "DM", "MT", "BU", "RA", "SM", "TH"]
_SUSP_REASON_W = [50, 17, 12, 6.5, 4.5, 2, 2, 2, 1.5, 1, 0.6, 0.5, 0.4]
_PX_REASONS = ["DB", "PP", "PA", "VA", "OW", "DA", "DM", "SM", "VP", "BU"]
_PX_REASON_W = [38, 17, 14, 12, 7, 6, 2, 2, 1.5, 0.5]
# Sessions per suspension (half days): mostly one or two days, mean ~4 (B3, B5).
_SUSP_SESSIONS = [1, 2, 3, 4, 6, 8, 10, 20]
_SUSP_SESSIONS_W = [6, 50, 3, 17, 11, 2, 9, 2]

_LEAVING = list(_codes.LEAVING_REASON_CODES)
_ME_REASONS = list(_codes.MISSING_EDUCATION_REASONS)
_CME_REASONS_MOVE = ["moved_unknown", "moved_abroad"]
_CME_REASONS_EXIT = ["not_returned", "removed_from_roll", "unknown"]
_EHE_REASONS = ["mental_health", "philosophical", "lifestyle", "dissatisfaction",
                "avoid_exclusion", "other", "unknown"]  # fmt: skip
_EHE_REASON_W = [16, 14, 9, 14, 5, 14, 28]
_INTERVENTION_KINDS = ["mentoring", "early_help"]

# States of a pupil in the school system.
NOT_ARRIVED, ON_ROLL, CME, EHE, GONE, WAIT = 0, 1, 2, 3, 4, 5
# How a waiting pupil is placed: home school of the phase, another school, AP.
_HOME, _OTHER, _AP = 0, 1, 2

# --------------------------------------------------------------------------------------
# Model coefficients (log-hazard or logit scale). "tuned" = calibrated to uk_data.md B5.
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
    "fsm_switch": 0.12 / 13,
    # SEN: latent severity -> true level
    "sen_male": 0.4,
    "sen_dep": 0.35,
    "sen_fam": 0.35,
    "sen_any_share": 0.27,  # tuned: SEN support ~14%, EHCP ~5% recorded
    "ehcp0": -1.8,  # tuned: EHC plans ~5%, 71% boys
    "ehcp_male": 0.55,
    "ehcp_severity": 0.8,
    # behaviour incidents (weekly log-hazard)
    "inc0": -8.48,  # tuned: one-plus suspension ~4% (1% primary, 8% secondary)
    "inc_need": 0.85,
    "inc_male": 0.3,
    "inc_fsm": 1.2,
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
}

# NC year R..Y11 log-multipliers on behaviour incidents (tuned: peak Y9, secondary ~8x
# primary) and on the chance that an incident ends in permanent exclusion (tuned: PX peak
# Y10, primary ~0.03% a year and mostly Y5-Y6, very rare before Y3).
AGE_INCIDENT = np.array([-1.9, -1.5, -1.25, -1.05, -0.9, -0.7, -0.45, 1.0, 1.35, 1.55, 1.45, 1.0])
AGE_PX = np.array([-1.6, -1.1, -0.6, -0.1, 0.6, 1.0, 1.3, -0.4, -0.1, 0.1, 0.45, -0.3])
AGE_ABSENCE = np.array([0.15, 0.0, -0.05, -0.05, -0.05, -0.05, 0.0, 0.1, 0.25, 0.4, 0.5, 0.55])
# SEN identification: NC year at which a true SEN-support need is first recorded.
_IDENTIFY_W = np.array([22, 14, 12, 11, 9, 8, 7, 7, 4, 3, 2, 1], dtype=float)

_BURN_IN_WEEKS = 156


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------
def _choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Vectorised categorical draw: indices into ``weights``."""
    cum = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(cum / cum[-1], rng.random(size), side="right").astype(np.int16)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class _Rows:
    """Columns appended in chunks and concatenated once."""

    def __init__(self, *names: str) -> None:
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def add(self, **cols) -> None:
        sizes = [np.size(v) for v in cols.values() if np.ndim(v) > 0]
        n = max(sizes) if sizes else 1
        if n == 0:
            return
        for name, value in cols.items():
            self.parts[name].append(np.broadcast_to(np.asarray(value), (n,)).copy())

    def collect(self, dtypes: Mapping[str, object]) -> dict[str, np.ndarray]:
        return {
            n: (np.concatenate(p) if p else np.array([], dtype=dtypes[n])).astype(dtypes[n])
            for n, p in self.parts.items()
        }


def _str_column(codes: np.ndarray, categories: list[str]) -> pd.Series:
    """Integer codes (-1 = missing) to a pandas ``str`` column."""
    lookup = np.array([*categories, None], dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Series(lookup[np.where(codes < 0, len(categories), codes)], dtype="str")


# --------------------------------------------------------------------------------------
# Parameter validation
# --------------------------------------------------------------------------------------
def _check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"The '{name}' parameter of make_linked_histories must be an int. "
            f"Got {value!r} ({type(value).__name__}) instead."
        )
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(
            f"The '{name}' parameter of make_linked_histories must be an int {bound}. "
            f"Got {value!r} instead."
        )
    return int(value)


def _check_params(
    n_pupils,
    n_schools,
    start_year,
    n_years,
    seed,
    label_bias,
    attendance_period,
    intervention_effect,
    intervention_weeks,
    intervention_capacity,
    return_truth,
) -> dict[str, float]:
    _check_int("n_pupils", n_pupils, 12)
    if n_schools is not None:
        _check_int("n_schools", n_schools, 2)
    _check_int("start_year", start_year, 1990, 2100)
    _check_int("n_years", n_years, 1, 30)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            "The 'seed' parameter of make_linked_histories must be a non-negative int. "
            f"Got {seed!r} instead."
        )
    if not isinstance(return_truth, bool):
        raise TypeError(
            "The 'return_truth' parameter of make_linked_histories must be a bool. "
            f"Got {return_truth!r} instead."
        )
    if attendance_period not in ("week", "term"):
        raise ValueError(
            "The 'attendance_period' parameter of make_linked_histories must be 'week' or "
            f"'term'. Got {attendance_period!r} instead."
        )
    for name, value, low, high in (
        ("intervention_effect", intervention_effect, 0.0, None),
        ("intervention_capacity", intervention_capacity, 0.0, 1.0),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
            or value < low
            or (high is not None and value > high)
        ):
            want = "a finite hazard ratio >= 0" if high is None else f"a number in [{low}, {high}]"
            raise ValueError(
                f"The '{name}' parameter of make_linked_histories must be {want}. "
                f"Got {value!r} instead."
            )
    _check_int("intervention_weeks", intervention_weeks, 1)
    bias: dict[str, float] = {}
    if label_bias is not None:
        if not isinstance(label_bias, Mapping):
            raise TypeError(
                "The 'label_bias' parameter of make_linked_histories must be a mapping of "
                "ethnicity code to a positive multiplier, such as {'BAFR': 1.8}. "
                f"Got {type(label_bias).__name__} instead."
            )
        for code, mult in label_bias.items():
            if code not in _codes.ETHNICITY_CODES:
                raise ValueError(
                    "The 'label_bias' parameter of make_linked_histories must use ethnicity "
                    f"codes from riskscreen.data._codes.ETHNICITY_CODES. Got {code!r} instead."
                )
            if (
                isinstance(mult, bool)
                or not isinstance(mult, numbers.Real)
                or not math.isfinite(mult)
                or mult <= 0
            ):
                raise ValueError(
                    "The 'label_bias' parameter of make_linked_histories must map each "
                    f"ethnicity code to a positive finite number. Got {code!r}: {mult!r} instead."
                )
            bias[str(code)] = float(mult)
    return bias


# --------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------
class _Simulation:
    def __init__(
        self,
        n_pupils: int,
        n_schools: int | None,
        start_year: int,
        n_years: int,
        seed: int,
        label_bias: dict[str, float],
        keep_truth: bool,
        attendance_period: str,
        intervention_effect: float,
        intervention_weeks: int,
        intervention_capacity: float,
    ) -> None:
        self.n0 = n_pupils
        self.start_year = start_year
        self.n_years = n_years
        self.label_bias = label_bias
        self.keep_truth = keep_truth
        self.term_mode = attendance_period == "term"
        self.hr = intervention_effect
        self.log_hr = math.log(intervention_effect) if intervention_effect > 0 else -np.inf
        self.int_weeks = intervention_weeks
        self.int_capacity = intervention_capacity
        self.cal: Calendar = build_calendar(start_year, n_years, _BURN_IN_WEEKS)
        ss = np.random.SeedSequence(seed)
        names = ["pop", "need", "fsm", "sc", "school", "absence", "incident", "px", "record",
                 "detail", "exit", "intervention", "sen"]  # fmt: skip
        self.rng = {
            k: np.random.default_rng(s) for k, s in zip(names, ss.spawn(len(names)), strict=True)
        }
        self._make_schools(n_schools)
        self._make_pupils()
        self._init_state()

    # ----------------------------------------------------------------------------- schools
    def _make_schools(self, n_schools: int | None) -> None:
        rng = self.rng["pop"]
        p0 = self.n0 * 7 / 12 / 250
        s0 = self.n0 * 5 / 12 / 1000
        if n_schools is None:
            n_p, n_s = max(1, round(p0)), max(1, round(s0))
        else:
            n_p = min(n_schools - 1, max(1, round(n_schools * p0 / (p0 + s0))))
            n_s = n_schools - n_p
        n_ap = max(1, round(n_s / 8))
        self.n_prim, self.n_sec, self.n_ap = n_p, n_s, n_ap
        n = n_p + n_s + n_ap
        self.n_sch = n
        phase = np.array([0] * n_p + [1] * n_s + [2] * n_ap)
        self.sch_phase = phase
        c = COEF
        # School cultures vary within the LA but are normalised to average 1 in each
        # phase, so the LA-wide rates stay calibrated whichever schools are drawn.
        rec_mult = np.exp(rng.normal(0, c["record_sd"], n))
        culture = np.exp(rng.normal(0, c["px_culture_sd"], n))
        for ph, zero_share in ((0, c["px_zero_primary"]), (1, c["px_zero_secondary"])):
            sel = np.flatnonzero(phase == ph)
            rec_mult[sel] /= rec_mult[sel].mean()
            n_zero = min(len(sel) - 1, round(zero_share * len(sel)))
            culture[rng.permutation(sel)[:n_zero]] = 0.0
            culture[sel] /= culture[sel].mean()
        rec = np.where(phase == 0, c["record_primary"], c["record_secondary"]) * rec_mult
        self.sch_record = np.clip(rec, 0.05, 0.95)
        culture[phase == 2] = 0.15
        self.sch_px = culture
        self.school_ids = 100001 + np.arange(n, dtype=np.int64) * 7 % 100000
        self.school_ids = np.sort(self.school_ids)

    # ------------------------------------------------------------------------------ pupils
    def _make_pupils(self) -> None:
        rng = self.rng["pop"]
        c = COEF
        n0, sy, ny = self.n0, self.start_year, self.n_years
        cal = self.cal
        # initial roll: year groups R..Y11 evenly
        g0 = rng.permutation(np.arange(n0) % 12)
        n_comp = int((g0 >= 1).sum())
        n_ehe0 = round(0.0145 * n_comp)
        n_cme0 = round(0.004 * n_comp)
        g_off = rng.integers(1, 12, n_ehe0 + n_cme0)
        per_cohort = max(1, round(n0 / 12))
        recep_k = np.repeat(np.arange(1, ny), per_cohort)
        n_in = rng.poisson(c["in_movers"] * n0, ny)
        in_k = np.repeat(np.arange(ny), n_in)
        in_g = rng.integers(0, 12, len(in_k))
        kind = np.concatenate(
            [
                np.zeros(n0, np.int8),
                np.full(n_ehe0, 1, np.int8),
                np.full(n_cme0, 2, np.int8),
                np.full(len(recep_k), 3, np.int8),
                np.full(len(in_k), 4, np.int8),
            ]
        )
        # birth academic year: year group g in academic year k -> born in AY sy+k-5-g
        birth_ay = np.concatenate(
            [sy - 5 - g0, sy - 5 - g_off, sy + recep_k - 5, sy + in_k - 5 - in_g]
        )
        arrive_k = np.concatenate([np.zeros(n0 + n_ehe0 + n_cme0, np.int64), recep_k, in_k]).astype(
            np.int64
        )
        n = len(kind)
        self.n = n
        self.kind = kind
        self.birth_ay = birth_ay.astype(np.int64)
        m = rng.integers(0, 12, n)  # months since September
        months = (self.birth_ay - 1970) * 12 + 8 + m
        self.birth_month = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        fm_years = np.arange(self.birth_ay.min() - 1, self.birth_ay.max() + 20)
        self._fm = np.array([first_monday(int(y)) for y in fm_years])
        self._fm0 = int(fm_years[0])
        # school start: the first Monday of Reception, or arrival for in-movers
        recep_start = self._first_monday(self.birth_ay + 5)
        # arrival week
        arrive_week = np.full(n, -1, np.int64)
        for k in range(ny):
            first = cal.year_first_week(k)
            arrive_week[(kind == 3) & (arrive_k == k)] = first
            # in-movers arrive after the first week, so the start roll is exactly n_pupils
            weeks = np.flatnonzero(cal.is_school & (cal.year == k))[1:]
            sel = (kind == 4) & (arrive_k == k)
            arrive_week[sel] = rng.choice(weeks, int(sel.sum()))
        self.arrive_week = arrive_week
        self.school_start = np.where(kind == 4, cal.monday[np.maximum(arrive_week, 0)], recep_start)
        self.la_start = np.where(kind == 4, self.school_start, np.iinfo(np.int64).min // 2)

        sex_m = rng.random(n) < SEX_MALE_SHARE
        self.male = sex_m
        shares = np.array([v[0] for v in _ETHNICITY.values()])
        eth = _choice(rng, shares, n)
        self.eth = eth
        dep_off = np.array([v[1] for v in _ETHNICITY.values()])[eth]
        self.dep = dep_off + rng.standard_normal(n)
        self.fam = rng.standard_normal(n) + 0.25 * (kind == 4)
        eal_p = np.array([v[3] for v in _ETHNICITY.values()])[eth]
        self.eal = rng.random(n) < eal_p
        lang_of = np.array([v[4] for v in _ETHNICITY.values()], dtype=object)
        self.language = np.where(self.eal, lang_of[eth], "ENG")
        self.eth_effect = np.log(np.array([v[2] for v in _ETHNICITY.values()]))[eth]
        noisy = self.dep + rng.normal(0, 0.5, n)
        rank = np.argsort(np.argsort(-noisy, kind="stable"), kind="stable")
        idaci = 1 + (10 * rank) // n
        self.idaci = np.where(rng.random(n) < 0.01, -1, idaci)
        # home schools by locality (deprivation with noise, uniform over schools)
        loc_p = np.argsort(np.argsort(self.dep + rng.normal(0, 0.8, n), kind="stable"))
        loc_s = np.argsort(np.argsort(self.dep + rng.normal(0, 1.6, n), kind="stable"))
        self.home_p = (loc_p * self.n_prim // n).astype(np.int64)
        self.home_s = (self.n_prim + loc_s * self.n_sec // n).astype(np.int64)
        # stable traits
        self.frailty = rng.normal(0, c["inc_frailty_sd"], n)
        self.abs_re = rng.normal(0, c["abs_re_sd"], n)
        self.ebsa = rng.random(n) < c["abs_ebsa_share"]
        self.anxiety = rng.standard_normal(n) + 1.5 * self.ebsa
        # SEN: true level from a latent severity
        q = (
            c["sen_male"] * sex_m
            + c["sen_dep"] * self.dep
            + c["sen_fam"] * self.fam
            + rng.standard_normal(n)
        )
        t_any = np.quantile(q, 1 - c["sen_any_share"])
        any_sen = q > t_any
        p_e = _sigmoid(c["ehcp0"] + c["ehcp_male"] * sex_m + c["ehcp_severity"] * (q - t_any))
        is_e = any_sen & (rng.random(n) < p_e)
        self.sen_true = np.where(is_e, 2, np.where(any_sen, 1, 0)).astype(np.int8)
        need_type = np.full(n, -1, np.int16)
        for (lvl, sx), w in _NEED_W.items():
            sel = (self.sen_true == (2 if lvl == "E" else 1)) & (sex_m == (sx == "M"))
            need_type[sel] = _choice(rng, w, int(sel.sum()))
        self.need_type = need_type
        self.semh = need_type == _SEMH
        self.ebsa |= (need_type == _NEEDS.index("ASD")) & (rng.random(n) < 0.1)
        # identification (recording) dates
        k_year = _choice(rng, _IDENTIFY_W, n)
        direct_e = is_e & (rng.random(n) < 0.35)
        k_year = np.where(direct_e, 0, k_year)
        e_year = np.where(is_e, np.minimum(11, k_year + rng.integers(1, 5, n)), 0)
        e_year = np.where(direct_e, 0, e_year)
        k_day = self._first_monday(self.birth_ay + 5 + k_year) + 7 * rng.integers(0, 36, n)
        e_day = self._first_monday(self.birth_ay + 5 + e_year) + 7 * rng.integers(0, 36, n)
        e_day = np.where(direct_e, self._first_monday(self.birth_ay + 5), e_day)
        k_day = np.where(direct_e, e_day, k_day)
        e_day = np.maximum(e_day, k_day)
        big = np.iinfo(np.int64).max // 4
        self.k_day = np.where(any_sen, k_day, big)
        self.e_day = np.where(is_e, e_day, big)
        self._big = big
        # latent need mean
        self.need_mu = (
            c["need_dep"] * self.dep
            + c["need_fam"] * self.fam
            + c["need_semh"] * self.semh
            + c["need_sen"] * (self.sen_true > 0)
        )
        self.p_family_event = np.exp(c["family_event0"] + c["family_event_fam"] * self.fam)
        self.fsm_pi = _sigmoid(c["fsm0"] + c["fsm_dep"] * self.dep + c["fsm_fam"] * self.fam)
        self.static_inc = (
            self.frailty
            + c["inc_male"] * sex_m
            + self.eth_effect
            + _EAL_EFFECT * self.eal
            + np.where(self.sen_true == 1, c["inc_sen_k"], 0.0)
            + np.where(self.sen_true == 2, c["inc_sen_e"], 0.0)
            + c["inc_semh"] * self.semh
        )
        self.static_abs = (
            c["abs0"]
            + self.abs_re
            + c["abs_ebsa"] * self.ebsa
            + np.where(self.sen_true == 1, c["abs_sen_k"], 0.0)
            + np.where(self.sen_true == 2, c["abs_sen_e"], 0.0)
        )
        self.in_mover_await = (kind == 4) & (rng.random(n) < c["in_mover_await"])

    def _first_monday(self, years: np.ndarray) -> np.ndarray:
        return self._fm[np.asarray(years, dtype=np.int64) - self._fm0]

    # ------------------------------------------------------------------------------- state
    def _init_state(self) -> None:
        n, cal = self.n, self.cal
        rng = self.rng["pop"]
        c = COEF
        self.need = (self.need_mu + c["need_sd"] * rng.standard_normal(n)).astype(np.float64)
        self.fsm = rng.random(n) < self.fsm_pi
        sim_start = int(cal.monday[0])
        self.fsm_start = np.where(self.fsm, sim_start - rng.integers(0, 400, n), NAT)
        self.sc = np.zeros(n, np.int8)
        self.sc_start = np.zeros(n, np.int64)
        self.sc_end_week = np.full(n, -1, np.int64)
        self.ref_start = np.zeros(n, np.int64)
        self.ref_need = np.full(n, -1, np.int16)
        self.cp_abuse = np.full(n, -1, np.int16)
        self.placement = np.full(n, -1, np.int16)
        self.eh = np.zeros(n, bool)
        self.eh_start = np.zeros(n, np.int64)
        self.eh_end_week = np.full(n, -1, np.int64)
        # school state
        self.state = np.full(n, NOT_ARRIVED, np.int8)
        self.school = np.full(n, -1, np.int64)
        self.entry = np.zeros(n, np.int64)
        self.part_time = np.zeros(n, bool)
        self.wait_until = np.full(n, -1, np.int64)
        self.wait_mode = np.zeros(n, np.int8)
        self.pending = np.zeros(n, np.int64)
        self.recent = np.zeros(n)
        self.year_inc = np.zeros(n)
        self.treat_until = np.full(n, -1, np.int64)
        self.exit_day = np.full(n, NAT, np.int64)
        self.me_kind = np.full(n, -1, np.int8)
        self.me_start = np.zeros(n, np.int64)
        self.me_start_week = np.full(n, -1, np.int64)
        self.me_reason = np.full(n, -1, np.int16)
        self.ncy = np.zeros(n, np.int64)
        ws = cal.window_start
        init = self.kind == 0
        g = self.start_year - 5 - self.birth_ay
        self.state[init] = ON_ROLL
        self.school[init] = np.where(g[init] <= 6, self.home_p[init], self.home_s[init])
        phase_start = np.where(g <= 6, self.school_start, self._first_monday(self.birth_ay + 12))
        late = rng.random(n) < 0.15
        frac = rng.random(n)
        span = np.maximum(ws - phase_start, 0) // 7
        entry = phase_start + 7 * np.where(late, (frac * span).astype(np.int64), 0)
        self.entry[init] = entry[init]
        for k, me_kind in ((1, 1), (2, 0)):
            sel = self.kind == k
            self.state[sel] = EHE if me_kind == 1 else CME
            self.me_kind[sel] = me_kind
            back = rng.integers(1, 150 if me_kind == 1 else 14, int(sel.sum()))
            start = np.maximum(ws - 7 * back, self.school_start[sel] + 7)
            self.me_start[sel] = np.minimum(start, ws - 7)
            self.me_start_week[sel] = cal.year_first_week(0)  # resolve from the second week
            self.me_reason[sel] = _ME_REASONS.index("not_returned")
        self.me_reason[self.kind == 1] = np.array([_ME_REASONS.index(r) for r in _EHE_REASONS])[
            _choice(rng, _EHE_REASON_W, int((self.kind == 1).sum()))
        ]
        # output rows
        self.r_enrol = _Rows("pid", "school", "entry", "leave", "reason", "part_time")
        self.r_att = _Rows("pid", "school", "week", "possible", "auth", "unauth")
        # attendance_period="term": per-pupil running sums over the current half-term and
        # spell on roll, written out when either changes (never a weekly row in memory)
        self.r_term = _Rows("pid", "school", "first", "last", "possible", "auth", "unauth")
        if self.term_mode:
            self.acc_on = np.zeros(n, bool)
            self.acc_entry = np.zeros(n, np.int64)
            self.acc_ht = np.zeros(n, np.int64)
            self.acc_school = np.zeros(n, np.int64)
            self.acc_first = np.zeros(n, np.int64)
            self.acc_last = np.zeros(n, np.int64)
            self.acc_counts = np.zeros((3, n), np.int64)
        self.r_excl = _Rows("pid", "school", "day", "kind", "sessions", "r1", "r2", "r3")
        self.r_fsm = _Rows("pid", "start", "end")
        self.r_sc = _Rows("pid", "kind", "start", "end", "need", "abuse", "placement")
        self.r_me = _Rows("pid", "kind", "start", "end", "reason")
        self.r_int = _Rows("pid", "school", "kind", "start", "end", "score", "loghaz")
        self.r_week = _Rows("pid", "school", "week", "need", "p_inc", "p_susp", "p_px", "treated")
        self.r_inc = _Rows("pid", "school", "day", "p_rec", "outcome")

    # ------------------------------------------------------------------------------- run
    def run(self) -> None:
        cal = self.cal
        for w in range(cal.n_weeks):
            monday = int(cal.monday[w])
            self._step_need(w)
            self._step_fsm(w, monday)
            self._step_social_care(w, monday)
            if cal.sessions[w] > 0:
                self._step_school(w, monday)
        self._finish()

    # ------------------------------------------------------------------------------- need
    def _step_need(self, w: int) -> None:
        c = COEF
        rng = self.rng["need"]
        rho = c["need_rho"]
        eps = rng.standard_normal(self.n)
        events = rng.random(self.n) < self.p_family_event
        self.need = (
            rho * self.need
            + (1 - rho) * self.need_mu
            + c["need_sd"] * math.sqrt(1 - rho**2) * eps
            + c["family_event_jump"] * events
        )

    # ------------------------------------------------------------------------------- fsm
    def _step_fsm(self, w: int, monday: int) -> None:
        rng = self.rng["fsm"]
        sw = COEF["fsm_switch"]
        u = rng.random(self.n)
        day = monday + rng.integers(0, 5, self.n)
        live = self.state != GONE
        p_on = np.minimum(1.0, sw * self.fsm_pi / (1 - self.fsm_pi))
        on = live & ~self.fsm & (u < p_on)
        off = live & self.fsm & (u < sw)
        idx = np.flatnonzero(off)
        if len(idx):
            end = np.maximum(day[idx], self.fsm_start[idx])
            self.r_fsm.add(pid=idx, start=self.fsm_start[idx], end=end)
            self.fsm[idx] = False
        idx = np.flatnonzero(on)
        self.fsm[idx] = True
        self.fsm_start[idx] = day[idx]

    # ------------------------------------------------------------------------- social care
    def _sc_row(self, idx, kind: int, start, end, with_need=True, abuse=-1, placement=-1):
        self.r_sc.add(
            pid=idx,
            kind=kind,
            start=start,
            end=end,
            need=self.ref_need[idx] if with_need else -1,
            abuse=abuse,
            placement=placement,
        )

    def _step_social_care(self, w: int, monday: int) -> None:
        c = COEF
        rng = self.rng["sc"]
        n = self.n
        u = rng.random((4, n))
        day = monday + rng.integers(0, 5, n)
        alive = (monday >= self.birth_month + 31) & (self.state != GONE)
        cand = alive & (self.sc == 0)
        # stage ends
        ends = (self.sc > 0) & (self.sc_end_week == w)
        if ends.any():
            end_day = np.maximum(day, self.sc_start)
            stage_idx = {st: np.flatnonzero(ends & (self.sc == st)) for st in (1, 2, 3, 4)}
            # assessments
            idx = stage_idx[1]
            if len(idx):
                self._sc_row(idx, 1, self.sc_start[idx], end_day[idx])
                ui, vi = u[0, idx], u[1, idx]
                cp_p = _sigmoid(c["cp0"] + c["cp_need"] * self.need[idx])
                nfa = ui < _sigmoid(c["nfa0"] + c["nfa_need"] * self.need[idx])
                cp = ~nfa & (vi < cp_p)
                lac = ~nfa & ~cp & (vi < cp_p + c["lac_direct"])
                cin = ~nfa & ~cp & ~lac
                self._close_case(idx[nfa], end_day[idx[nfa]])
                self._start_stage(idx[cin], 2, end_day[idx[cin]] + 1, w, rng)
                self._start_stage(idx[cp], 3, end_day[idx[cp]] + 1, w, rng)
                self._start_stage(idx[lac], 4, end_day[idx[lac]] + 1, w, rng)
            idx = stage_idx[2]
            if len(idx):
                self._sc_row(idx, 2, self.sc_start[idx], end_day[idx])
                to_cp = u[0, idx] < _sigmoid(c["cin_to_cp"] + c["cp_need"] * self.need[idx])
                self._close_case(idx[~to_cp], end_day[idx[~to_cp]])
                self._start_stage(idx[to_cp], 3, end_day[idx[to_cp]] + 1, w, rng)
            idx = stage_idx[3]
            if len(idx):
                self._sc_row(idx, 3, self.sc_start[idx], end_day[idx], abuse=self.cp_abuse[idx])
                p_lac = _sigmoid(c["cp_to_lac"] + 0.5 * self.need[idx])
                ui = u[0, idx]
                lac = ui < p_lac
                cin = ~lac & (ui < p_lac + (1 - p_lac) * _sigmoid(c["cp_to_cin"]))
                close = ~lac & ~cin
                self._close_case(idx[close], end_day[idx[close]])
                self._start_stage(idx[cin], 2, end_day[idx[cin]] + 1, w, rng)
                self._start_stage(idx[lac], 4, end_day[idx[lac]] + 1, w, rng)
            idx = stage_idx[4]
            if len(idx):
                self._sc_row(
                    idx, 4, self.sc_start[idx], end_day[idx], placement=self.placement[idx]
                )
                leave = u[0, idx] < c["leave_care"]
                self._close_case(idx[leave], end_day[idx[leave]])
                move = idx[~leave]
                self.need[move] += 0.3
                self._start_stage(move, 4, end_day[move] + 1, w, rng, new_case=False)
        # new referrals
        p_ref = np.exp(
            c["referral0"] + c["referral_need"] * self.need + c["referral_fam"] * self.fam
        )
        idx = np.flatnonzero(cand & (u[2] < p_ref))
        if len(idx):
            self.ref_start[idx] = day[idx]
            self.ref_need[idx] = _choice(rng, _NEED_CODE_W, len(idx))
            self.sc[idx] = 1
            self.sc_start[idx] = day[idx] + rng.integers(0, 8, len(idx))
            self.sc_end_week[idx] = w + rng.integers(3, 10, len(idx))
        # early help
        eh_end = self.eh & (self.eh_end_week == w)
        idx = np.flatnonzero(eh_end)
        if len(idx):
            self._sc_row(
                idx, 5, self.eh_start[idx], np.maximum(day[idx], self.eh_start[idx]), False
            )
            self.eh[idx] = False
        p_eh = np.exp(c["early_help0"] + c["early_help_need"] * self.need)
        idx = np.flatnonzero(alive & ~self.eh & (self.sc == 0) & ~eh_end & (u[3] < p_eh))
        if len(idx):
            self.eh[idx] = True
            self.eh_start[idx] = day[idx]
            self.eh_end_week[idx] = w + rng.integers(12, 31, len(idx))

    def _start_stage(self, idx, stage: int, start, w: int, rng, new_case: bool = True) -> None:
        if len(idx) == 0:
            return
        c = COEF
        k = len(idx)
        self.sc[idx] = stage
        self.sc_start[idx] = start
        if stage == 2:
            dur = rng.integers(15, 61, k)
        elif stage == 3:
            dur = 8 + rng.geometric(1 / c["cp_mean_weeks"], k)
            self.cp_abuse[idx] = _choice(rng, _ABUSE_W, k)
            self.need[idx] += 0.3
        else:
            dur = 4 + rng.geometric(1 / c["placement_mean_weeks"], k)
            self.placement[idx] = _choice(rng, _PLACEMENT_W, k)
            if new_case:
                self.need[idx] += 0.5
        self.sc_end_week[idx] = w + dur

    def _close_case(self, idx, end) -> None:
        if len(idx) == 0:
            return
        self._sc_row(idx, 0, self.ref_start[idx], np.maximum(end, self.ref_start[idx]))
        self.sc[idx] = 0
        self.sc_end_week[idx] = -1

    def _close_all(self, idx, day) -> None:
        """Close every open social-care, early-help and FSM spell at ``day`` (leaving the LA)."""
        if len(idx) == 0:
            return
        day = np.broadcast_to(np.asarray(day, dtype=np.int64), (len(idx),))
        open_ = self.sc[idx] > 0
        j, d = idx[open_], day[open_]
        for stage in (1, 2, 3, 4):
            s = self.sc[j] == stage
            if s.any():
                js = j[s]
                self._sc_row(
                    js,
                    stage,
                    self.sc_start[js],
                    np.maximum(d[s], self.sc_start[js]),
                    abuse=self.cp_abuse[js] if stage == 3 else -1,
                    placement=self.placement[js] if stage == 4 else -1,
                )
        self._close_case(j, d)
        e = self.eh[idx]
        je = idx[e]
        if len(je):
            self._sc_row(je, 5, self.eh_start[je], np.maximum(day[e], self.eh_start[je]), False)
            self.eh[je] = False
        f = self.fsm[idx]
        jf = idx[f]
        if len(jf):
            self.r_fsm.add(
                pid=jf, start=self.fsm_start[jf], end=np.maximum(day[f], self.fsm_start[jf])
            )
            self.fsm[jf] = False

    # ------------------------------------------------------------------------------ school
    def _leave(self, idx, day, reason: str) -> None:
        if len(idx) == 0:
            return
        self.r_enrol.add(
            pid=idx,
            school=self.school[idx],
            entry=self.entry[idx],
            leave=day,
            reason=_LEAVING.index(reason),
            part_time=self.part_time[idx],
        )
        self.school[idx] = -1

    def _gone(self, idx, day) -> None:
        if len(idx) == 0:
            return
        self.state[idx] = GONE
        self.exit_day[idx] = day
        self._close_all(idx, day)

    def _start_me(self, idx, kind: int, start: int, w: int, reasons) -> None:
        self.state[idx] = EHE if kind == 1 else CME
        self.me_kind[idx] = kind
        self.me_start[idx] = start
        self.me_start_week[idx] = w + 1
        self.me_reason[idx] = reasons

    def _end_me(self, idx, end) -> None:
        if len(idx) == 0:
            return
        self.r_me.add(
            pid=idx,
            kind=self.me_kind[idx],
            start=self.me_start[idx],
            end=np.maximum(end, self.me_start[idx]),
            reason=self.me_reason[idx],
        )
        self.me_kind[idx] = -1

    def _enrol(self, idx, mode, monday: int, pt_prob) -> None:
        if len(idx) == 0:
            return
        rng = self.rng["school"]
        k = len(idx)
        sec = self.ncy[idx] >= 7
        home = np.where(sec, self.home_s[idx], self.home_p[idx])
        lo = np.where(sec, self.n_prim, 0)
        size = np.where(sec, self.n_sec, self.n_prim)
        other = lo + (home - lo + rng.integers(1, np.maximum(size, 2), k)) % size
        ap = self.n_prim + self.n_sec + rng.integers(0, self.n_ap, k)
        school = np.where(mode == _HOME, home, np.where(mode == _OTHER, other, ap))
        self.state[idx] = ON_ROLL
        self.school[idx] = school
        self.entry[idx] = monday
        self.part_time[idx] = rng.random(k) < pt_prob
        self.pending[idx] = 0

    def _year_start(self, k: int) -> None:
        self.ncy = self.start_year + k - 5 - self.birth_ay

    def _step_school(self, w: int, monday: int) -> None:
        """One school week: arrivals, placements, behaviour, absence, exits, year end."""
        cal = self.cal
        if cal.first_week[w]:
            self._year_start(int(cal.year[w]))
        self._arrivals(w, monday)
        u = self.rng["exit"].random((3, self.n))
        self._resolve_missing(w, monday, u)
        on = np.flatnonzero(self.state == ON_ROLL)
        wk = self._behaviour(w, monday, on)
        abs_logit = self._absence(w, wk)
        self._permanent_exclusions(w, monday + 4, wk.pupils_i[wk.is_px])
        self._exits(w, monday + 4, wk, abs_logit, u)
        if cal.last_week[w]:
            self._year_end(w, monday + 4)

    def _arrivals(self, w: int, monday: int) -> None:
        """Reception cohorts and in-movers arrive; waiting pupils take up their places."""
        arr = np.flatnonzero((self.arrive_week == w) & (self.state == NOT_ARRIVED))
        if len(arr):
            aw = self.in_mover_await[arr]
            j = arr[aw]
            self._start_me(j, 0, monday, w - 1, _ME_REASONS.index("awaiting_place"))
            self._enrol(arr[~aw], _HOME, monday, 0.0)
        # waiting pupils take up their places
        wt = np.flatnonzero((self.state == WAIT) & (self.wait_until <= w))
        if len(wt):
            mode = self.wait_mode[wt]
            pt = np.where(mode == _AP, 0.35, np.where(mode == _OTHER, 0.05, 0.0))
            self._enrol(wt, mode, monday, pt)

    def _resolve_missing(self, w: int, monday: int, u: np.ndarray) -> None:
        """Children missing education are found (or leave); some home-educated return."""
        c = COEF
        me = np.flatnonzero(((self.state == CME) | (self.state == EHE)) & (self.me_start_week < w))
        if len(me):
            is_cme = self.state[me] == CME
            awaiting = self.me_reason[me] == _ME_REASONS.index("awaiting_place")
            p = np.where(is_cme, np.where(awaiting, c["cme_await_resolve"], c["cme_resolve"]), 0.0)
            p = np.where(is_cme, p, c["ehe_return"] + c["ehe_move_away"])
            res = u[0, me] < p
            j = me[res]
            cme_j = is_cme[res]
            aw_j = awaiting[res]
            back = np.where(
                cme_j,
                aw_j | (u[1, j] < c["cme_reenrol"]),
                u[1, j] < c["ehe_return"] / (c["ehe_return"] + c["ehe_move_away"]),
            )
            self._end_me(j, monday - 3)
            jb = j[back]
            self._enrol(jb, np.where(aw_j[back], _HOME, _OTHER), monday, 0.08)
            self._gone(j[~back], monday - 3)

    def _behaviour(self, w: int, monday: int, on: np.ndarray) -> SimpleNamespace:
        """Latent incidents of the pupils on roll; permanent exclusions and suspensions."""
        cal, c = self.cal, COEF
        ncy = self.ncy[on]
        sch = self.school[on]
        need = self.need[on]
        sc = self.sc[on]
        fsm = self.fsm[on]
        log_inc = (
            c["inc0"]
            + self.static_inc[on]
            + c["inc_need"] * need
            + AGE_INCIDENT[ncy]
            + c["inc_fsm"] * fsm
            + np.select(
                [sc == 1, sc == 2, sc == 3, sc == 4],
                [c["inc_cin"]] * 2 + [c["inc_cp"], c["inc_lac"]],
                0.0,
            )
            + c["inc_recent"] * np.log1p(self.recent[on])
        )
        if cal.term_start[w] and self.int_capacity > 0:
            self._interventions(w, monday, on, sch, log_inc)
        treated = self.treat_until[on] > w
        if self.hr != 1.0:
            log_inc = log_inc + np.where(treated, self.log_hr, 0.0)
        sess = int(cal.sessions[w])
        p_inc = -np.expm1(-np.exp(log_inc) * sess / 10)
        # permanent exclusion given an incident; recording as suspension
        p_px_given = np.minimum(
            0.9,
            self.sch_px[sch]
            * np.exp(
                c["px0"]
                + c["px_year"] * np.log1p(self.year_inc[on])
                + AGE_PX[ncy]
                + c["px_need"] * need
                + c["px_male"] * self.male[on]
            ),
        )
        rec = self.sch_record[sch]
        if self.label_bias:
            mult = np.ones(len(ETHNICITIES))
            for code, m in self.label_bias.items():
                mult[ETHNICITIES.index(code)] = m
            rec = rec * mult[self.eth[on]]
        rec = np.minimum(rec, 1.0)
        inc = self.rng["incident"].random(len(on)) < p_inc
        ji = np.flatnonzero(inc)
        pupils_i = on[ji]
        n_i = len(ji)
        is_px = self.rng["px"].random(n_i) < p_px_given[ji]
        recorded = ~is_px & (self.rng["record"].random(n_i) < rec[ji])
        drng = self.rng["detail"]
        day_i = monday + drng.integers(0, 5, n_i)
        sessions_i = np.array(_SUSP_SESSIONS)[_choice(drng, _SUSP_SESSIONS_W, n_i)]
        r_s = _choice(drng, _SUSP_REASON_W, n_i)
        r_p = _choice(drng, _PX_REASON_W, n_i)
        r2 = _choice(drng, _SUSP_REASON_W, n_i)
        r3 = _choice(drng, _SUSP_REASON_W, n_i)
        u2 = drng.random((2, n_i))
        sus_codes = np.array([_codes_index(x) for x in _SUSP_REASONS])
        px_codes = np.array([_codes_index(x) for x in _PX_REASONS])
        r1_code = np.where(is_px, px_codes[r_p], sus_codes[r_s])
        r2_code = np.where((u2[0] < 0.22) & (sus_codes[r2] != r1_code), sus_codes[r2], -1)
        r3_code = np.where(
            (r2_code >= 0)
            & (u2[1] < 0.25)
            & (sus_codes[r3] != r1_code)
            & (sus_codes[r3] != r2_code),
            sus_codes[r3],
            -1,
        )
        keep = recorded | is_px
        self.r_excl.add(
            pid=pupils_i[keep],
            school=sch[ji][keep],
            day=day_i[keep],
            kind=is_px[keep].astype(np.int8),
            sessions=np.where(is_px, np.nan, sessions_i.astype(float))[keep],
            r1=r1_code[keep],
            r2=r2_code[keep],
            r3=r3_code[keep],
        )
        if self.keep_truth:
            self.r_inc.add(
                pid=pupils_i,
                school=sch[ji],
                day=day_i,
                p_rec=rec[ji],
                outcome=np.where(is_px, 2, np.where(recorded, 1, 0)).astype(np.int8),
            )
        self.pending[pupils_i[recorded]] += sessions_i[recorded]
        # latent escalation (never the recorded suspensions)
        self.recent *= c["inc_recent_decay"]
        self.year_inc *= c["px_year_decay"]
        self.recent[pupils_i] += 1
        self.year_inc[pupils_i] += 1
        return SimpleNamespace(
            on=on,
            ncy=ncy,
            sch=sch,
            need=need,
            sc=sc,
            fsm=fsm,
            sess=sess,
            treated=treated,
            log_inc=log_inc,
            p_inc=p_inc,
            p_px_given=p_px_given,
            rec=rec,
            ji=ji,
            pupils_i=pupils_i,
            is_px=is_px,
        )

    def _absence(self, w: int, wk: SimpleNamespace) -> np.ndarray:
        """Weekly attendance of the pupils on roll; returns their absence logit."""
        cal, c = self.cal, COEF
        on, ncy, sch, need, sc, fsm, sess = wk.on, wk.ncy, wk.sch, wk.need, wk.sc, wk.fsm, wk.sess
        arng = self.rng["absence"]
        possible = np.full(len(on), sess, np.int64)
        excl = np.minimum(self.pending[on], possible)
        self.pending[on] -= excl
        pt_abs = np.minimum(
            np.where(self.part_time[on], c["part_time_sessions"], 0), possible - excl
        )
        abs_logit = (
            self.static_abs[on]
            + c["abs_need"] * need
            + c["abs_need2"] * np.maximum(need - 1.0, 0.0) ** 2
            + c["abs_fsm"] * fsm
            + np.select(
                [sc == 1, sc == 2, sc == 3, sc == 4],
                [c["abs_cin"]] * 2 + [c["abs_cp"], c["abs_lac"]],
                0.0,
            )
            + AGE_ABSENCE[ncy]
            + (c["abs_winter"] if cal.halfterm[w] in (1, 2) else 0.0)
        )
        absent = arng.binomial(possible - excl - pt_abs, _sigmoid(abs_logit))
        q_un = _sigmoid(
            c["unauth0"] + c["unauth_need"] * need + c["unauth_fsm"] * fsm + 0.3 * (ncy >= 7)
        )
        unauth = arng.binomial(absent, q_un)
        auth = absent - unauth + excl + pt_abs
        if self.term_mode:
            self._accumulate(w, on, sch, possible, auth, unauth)
        else:
            self.r_att.add(
                pid=on.astype(np.int32),
                school=sch.astype(np.int32),
                week=np.int16(w),
                possible=possible.astype(np.int8),
                auth=auth.astype(np.int8),
                unauth=unauth.astype(np.int8),
            )
        if self.keep_truth:
            p_px_week = -np.expm1(-np.exp(wk.log_inc) * sess / 10 * wk.p_px_given)
            self.r_week.add(
                pid=on,
                school=sch,
                week=w,
                need=need.astype(np.float32),
                p_inc=wk.p_inc.astype(np.float32),
                p_susp=(wk.p_inc * (1 - wk.p_px_given) * wk.rec).astype(np.float32),
                p_px=p_px_week.astype(np.float32),
                treated=wk.treated,
            )
        return abs_logit

    def _accumulate(self, w, on, sch, possible, auth, unauth) -> None:
        """Add a week to each pupil's half-term row, starting a new row when needed."""
        ht = int(self.cal.year[w] * 6 + self.cal.halfterm[w])
        entry = self.entry[on]
        new = ~self.acc_on[on] | (self.acc_entry[on] != entry) | (self.acc_ht[on] != ht)
        self._flush(on[new & self.acc_on[on]])
        j = on[new]
        self.acc_on[j] = True
        self.acc_entry[j] = entry[new]
        self.acc_ht[j] = ht
        self.acc_school[j] = sch[new]
        self.acc_first[j] = w
        self.acc_counts[:, j] = 0
        self.acc_last[on] = w
        self.acc_counts[:, on] += np.stack([possible, auth, unauth])

    def _flush(self, idx) -> None:
        if len(idx) == 0:
            return
        self.r_term.add(
            pid=idx,
            school=self.acc_school[idx],
            first=self.acc_first[idx],
            last=self.acc_last[idx],
            possible=self.acc_counts[0, idx],
            auth=self.acc_counts[1, idx],
            unauth=self.acc_counts[2, idx],
        )
        self.acc_on[idx] = False

    def _permanent_exclusions(self, w: int, friday: int, px_pupils: np.ndarray) -> None:
        """Permanently excluded pupils leave the roll; SEN is often identified afterwards."""
        c = COEF
        if len(px_pupils):
            self._leave(px_pupils, friday, "permanent_exclusion")
            self.state[px_pupils] = WAIT
            srng = self.rng["sen"]
            kp = len(px_pupils)
            self.wait_until[px_pupils] = w + srng.integers(1, 4, kp)
            share_ap = np.where(
                self.ncy[px_pupils] >= 7, c["ap_share_secondary"], c["ap_share_primary"]
            )
            self.wait_mode[px_pupils] = np.where(srng.random(kp) < share_ap, _AP, _OTHER)
            no_sen = self.k_day[px_pupils] > friday
            later = friday + 7 * srng.integers(4, 30, kp)
            ident = no_sen & (srng.random(kp) < 0.72)
            jid = px_pupils[ident]
            self.k_day[jid] = np.minimum(self.k_day[jid], later[ident])
            make_e = ident & (srng.random(kp) < 0.12)
            je = px_pupils[make_e]
            self.e_day[je] = np.minimum(self.e_day[je], later[make_e] + 7 * 20)
            none = jid[self.need_type[jid] < 0]
            self.need_type[none] = np.int16(_SEMH)

    def _exits(self, w: int, friday: int, wk: SimpleNamespace, abs_logit, u) -> None:
        """Competing weekly exits from roll: moves, unexplained exits, EHE, transfers."""
        c = COEF
        rng = self.rng["exit"]
        on, ncy, sch, need, treated = wk.on, wk.ncy, wk.sch, wk.need, wk.treated
        # exits from roll
        stay = np.ones(len(on), bool)
        stay[wk.ji[wk.is_px]] = False
        treated_f = np.where(treated, self.hr, 1.0)
        rec_log = np.log1p(self.recent[on])
        h_move = np.exp(c["move0"] + c["move_dep"] * self.dep[on])
        h_unx = treated_f * np.exp(
            c["unexplained0"]
            + c["unexplained_need"] * need
            + c["unexplained_abs"] * (abs_logit + 3)
            + c["unexplained_recent"] * rec_log
        )
        h_ehe = np.exp(
            c["ehe0"]
            + c["ehe_anxiety"] * self.anxiety[on]
            + c["ehe_need"] * need
            + c["ehe_recent"] * rec_log
            + c["ehe_female"] * ~self.male[on]
            + c["ehe_secondary"] * (ncy >= 7)
        )
        h_tr = np.exp(c["transfer0"] + c["transfer_recent"] * rec_log + c["transfer_need"] * need)
        is_ap = self.sch_phase[sch] == 2
        h_tr = np.where(is_ap, np.where(ncy <= 9, c["ap_return_ks3"], c["ap_return_ks4"]), h_tr)
        h_ehe = np.where(ncy >= 11, 0.0, h_ehe)
        cum = np.cumsum(np.stack([h_move, h_unx, h_ehe, h_tr]), axis=0)
        ue = u[2, on]
        which = np.where(stay, (ue[None, :] >= cum).sum(axis=0), 4)
        # moves out of the authority
        j = on[which == 0]
        if len(j):
            v = rng.random((2, len(j)))
            known = v[0] < c["move_known"]
            jk = j[known]
            abroad = v[1][known] < 0.2
            self._leave(jk[abroad], friday, "abroad")
            self._leave(jk[~abroad], friday, "other_la")
            self._gone(jk, friday)
            ju = j[~known]
            self._leave(ju, friday, "unknown")
            to_cme = v[1][~known] < c["unknown_to_cme"]
            r = np.array([_ME_REASONS.index(x) for x in _CME_REASONS_MOVE])
            self._start_me(ju[to_cme], 0, friday + 3, w, r[rng.integers(0, 2, int(to_cme.sum()))])
            self._gone(ju[~to_cme], friday)
        j = on[which == 1]
        if len(j):
            self._leave(j, friday, "unknown")
            r = np.array([_ME_REASONS.index(x) for x in _CME_REASONS_EXIT])
            self._start_me(j, 0, friday + 3, w, r[_choice(rng, [6, 3, 1], len(j))])
        j = on[which == 2]
        if len(j):
            self._leave(j, friday, "ehe")
            r = np.array([_ME_REASONS.index(x) for x in _EHE_REASONS])
            self._start_me(j, 1, friday + 3, w, r[_choice(rng, _EHE_REASON_W, len(j))])
        j = on[which == 3]
        if len(j):
            self._leave(j, friday, "transfer")
            self.state[j] = WAIT
            self.wait_until[j] = w + 1
            self.wait_mode[j] = _OTHER

    def _year_end(self, w: int, friday: int) -> None:
        """End of the academic year: Y11 complete, Y6 move to secondary."""
        cal = self.cal
        nxt = np.flatnonzero(cal.first_week & (np.arange(cal.n_weeks) > w))
        nxt_w = int(nxt[0]) if len(nxt) else cal.n_weeks + 1
        st = self.state
        y11 = np.flatnonzero((st == ON_ROLL) & (self.ncy >= 11))
        self._leave(y11, friday, "completed")
        self._gone(y11, friday)
        me11 = np.flatnonzero(((st == CME) | (st == EHE)) & (self.ncy >= 11))
        self._end_me(me11, friday)
        self._gone(me11, friday)
        wt11 = np.flatnonzero((st == WAIT) & (self.ncy >= 11))
        self._gone(wt11, friday)
        y6 = np.flatnonzero(
            (st == ON_ROLL) & (self.ncy == 6) & (self.sch_phase[np.maximum(self.school, 0)] == 0)
        )
        self._leave(y6, friday, "phase_transfer")
        self.state[y6] = WAIT
        self.wait_until[y6] = nxt_w
        self.wait_mode[y6] = _HOME
        wt6 = np.flatnonzero((st == WAIT) & (self.ncy == 6) & (self.wait_mode != _AP))
        self.wait_mode[wt6] = _HOME

    def _interventions(self, w, monday, on, sch, log_inc) -> None:
        rng = self.rng["intervention"]
        offer = (rng.random(self.n_sch) < 0.5) & (self.sch_phase != 2)
        score = log_inc + rng.normal(0, 0.8, len(on))
        roll = np.bincount(sch, minlength=self.n_sch)
        cap = np.ceil(self.int_capacity * roll).astype(np.int64)
        eligible = offer[sch] & (self.treat_until[on] <= w)
        order = np.lexsort((-score, sch))
        s_sorted = sch[order]
        start_pos = np.searchsorted(s_sorted, np.arange(self.n_sch))
        # rank among the eligible pupils of each school, by the school's score
        el_sorted = eligible[order]
        cum = np.cumsum(el_sorted) - 1
        base = np.concatenate([[0], np.cumsum(el_sorted)])[start_pos]
        rank = np.empty(len(on), np.int64)
        rank[order] = cum - base[s_sorted]
        chosen = eligible & (rank < cap[sch])
        j = np.flatnonzero(chosen)
        if len(j) == 0:
            return
        pupils = on[j]
        sec = self.sch_phase[sch[j]] == 1
        kind = np.where(rng.random(len(j)) < np.where(sec, 0.7, 0.4), 0, 1)
        self.treat_until[pupils] = w + self.int_weeks
        self.r_int.add(
            pid=pupils,
            school=sch[j],
            kind=kind,
            start=monday,
            end=monday + 7 * self.int_weeks - 3,
            score=score[j],
            loghaz=log_inc[j],
        )

    # ------------------------------------------------------------------------------ finish
    def _finish(self) -> None:
        """Record the spells still open at the end of the window (no end date)."""
        if self.term_mode:
            self._flush(np.flatnonzero(self.acc_on))
        st = self.state
        on = np.flatnonzero(st == ON_ROLL)
        self.r_enrol.add(
            pid=on,
            school=self.school[on],
            entry=self.entry[on],
            leave=NAT,
            reason=-1,
            part_time=self.part_time[on],
        )
        me = np.flatnonzero((st == CME) | (st == EHE))
        self.r_me.add(
            pid=me,
            kind=self.me_kind[me],
            start=self.me_start[me],
            end=NAT,
            reason=self.me_reason[me],
        )
        for stage in (1, 2, 3, 4):
            j = np.flatnonzero(self.sc == stage)
            self._sc_row(
                j,
                stage,
                self.sc_start[j],
                NAT,
                abuse=self.cp_abuse[j] if stage == 3 else -1,
                placement=self.placement[j] if stage == 4 else -1,
            )
        j = np.flatnonzero(self.sc > 0)
        self._sc_row(j, 0, self.ref_start[j], NAT)
        j = np.flatnonzero(self.eh)
        self._sc_row(j, 5, self.eh_start[j], NAT, False)
        j = np.flatnonzero(self.fsm)
        self.r_fsm.add(pid=j, start=self.fsm_start[j], end=NAT)


def _codes_index(code: str) -> int:
    return list(_codes.EXCLUSION_REASON_CODES).index(code)


_REASON_LIST = list(_codes.EXCLUSION_REASON_CODES)


# --------------------------------------------------------------------------------------
# Assembly of the canonical tables
# --------------------------------------------------------------------------------------
def _clip_spells(pid, start, end, lo, hi):
    """Clip spells to [lo, hi] per pupil; return kept mask and new start/end."""
    start = np.maximum(start, lo[pid])
    has_end = end != NAT
    keep = ~has_end | (end >= start)
    keep &= start <= hi[pid]
    return keep, start


def _frame(columns: dict[str, object], table: str) -> pd.DataFrame:
    spec = TABLES[table]
    out = pd.DataFrame(columns, copy=False)
    return out[[c for c in spec.columns if c in out.columns]]


def _assemble(sim: _Simulation, attendance_period: str):
    cal = sim.cal
    n = sim.n
    pid_map = 1_000_001 + sim.rng["pop"].permutation(n).astype(np.int64) * 3
    window_end = cal.window_end
    # ---- pupils
    pupils = _frame(
        {
            "pupil_id": pid_map,
            "birth_month": to_datetime(sim.birth_month),
            "sex": _str_column(np.where(sim.male, 0, 1), ["M", "F"]),
            "ethnicity": _str_column(sim.eth, ETHNICITIES),
            "first_language": pd.Series(sim.language, dtype="str"),
            "idaci_decile": pd.array(np.where(sim.idaci < 0, None, sim.idaci), dtype="Int64"),
        },
        "pupils",
    )
    phases = ["primary", "secondary", "ap"]
    names = np.array(
        [f"Synthetic Primary {i + 1}" for i in range(sim.n_prim)]
        + [f"Synthetic Secondary {i + 1}" for i in range(sim.n_sec)]
        + [f"Synthetic Alternative Provision {i + 1}" for i in range(sim.n_ap)],
        dtype=object,
    )
    schools = _frame(
        {
            "school_id": sim.school_ids,
            "phase": _str_column(sim.sch_phase, phases),
            "name": pd.Series(names, dtype="str"),
        },
        "schools",
    )
    sid = sim.school_ids
    # ---- enrolments
    e = sim.r_enrol.collect(
        dict(
            pid=np.int64,
            school=np.int64,
            entry=np.int64,
            leave=np.int64,
            reason=np.int64,
            part_time=bool,
        )
    )
    enrolments = _frame(
        {
            "pupil_id": pid_map[e["pid"]],
            "school_id": sid[e["school"]],
            "entry_date": to_datetime(e["entry"]),
            "leaving_date": to_datetime(e["leave"]),
            "leaving_reason": _str_column(e["reason"], _LEAVING),
            "part_time": e["part_time"],
        },
        "enrolments",
    )
    # ---- attendance
    a = sim.r_att.collect(
        dict(
            pid=np.int32,
            school=np.int32,
            week=np.int16,
            possible=np.int8,
            auth=np.int8,
            unauth=np.int8,
        )
    )
    if attendance_period == "week":
        monday = cal.monday[a["week"]]
        attendance = _frame(
            {
                "pupil_id": pid_map[a["pid"]],
                "school_id": sid[a["school"]],
                "period_start": to_datetime(monday),
                "period_end": to_datetime(monday + 4),
                "sessions_possible": a["possible"].astype(np.int64),
                "sessions_authorised_absent": a["auth"].astype(np.int64),
                "sessions_unauthorised_absent": a["unauth"].astype(np.int64),
            },
            "attendance",
        )
    else:
        t = sim.r_term.collect(
            dict(
                pid=np.int64,
                school=np.int64,
                first=np.int64,
                last=np.int64,
                possible=np.int64,
                auth=np.int64,
                unauth=np.int64,
            )
        )
        attendance = _frame(
            {
                "pupil_id": pid_map[t["pid"]],
                "school_id": sid[t["school"]],
                "period_start": to_datetime(cal.monday[t["first"]]),
                "period_end": to_datetime(cal.monday[t["last"]] + 4),
                "sessions_possible": t["possible"],
                "sessions_authorised_absent": t["auth"],
                "sessions_unauthorised_absent": t["unauth"],
            },
            "attendance",
        )
    del a
    # ---- exclusions
    x = sim.r_excl.collect(
        dict(
            pid=np.int64,
            school=np.int64,
            day=np.int64,
            kind=np.int64,
            sessions=float,
            r1=np.int64,
            r2=np.int64,
            r3=np.int64,
        )
    )
    exclusions = _frame(
        {
            "pupil_id": pid_map[x["pid"]],
            "school_id": sid[x["school"]],
            "start_date": to_datetime(x["day"]),
            "kind": _str_column(x["kind"], ["suspension", "permanent"]),
            "sessions": x["sessions"],
            "reason": _str_column(x["r1"], _REASON_LIST),
            "reason_2": _str_column(x["r2"], _REASON_LIST),
            "reason_3": _str_column(x["r3"], _REASON_LIST),
        },
        "exclusions",
    )
    # ---- SEN (from the identification dates)
    hi = np.where(sim.exit_day == NAT, window_end, sim.exit_day)
    lo = sim.school_start
    big = sim._big
    k_day, e_day = sim.k_day, sim.e_day
    has_k = (k_day < big) & (k_day < e_day)
    k_end = np.where(e_day <= hi, e_day - 1, NAT)  # upgraded to an EHC plan by the end
    has_e = e_day < big
    pid_k = np.flatnonzero(has_k)
    pid_e = np.flatnonzero(has_e)
    s_pid = np.concatenate([pid_k, pid_e])
    s_start = np.concatenate(
        [np.maximum(k_day[pid_k], lo[pid_k]), np.maximum(e_day[pid_e], lo[pid_e])]
    )
    s_end = np.concatenate([k_end[pid_k], np.full(len(pid_e), NAT)])
    s_prov = np.concatenate([np.zeros(len(pid_k), np.int64), np.ones(len(pid_e), np.int64)])
    keep = (s_start <= hi[s_pid]) & ((s_end == NAT) | (s_end >= s_start))
    s_pid, s_start, s_end, s_prov = s_pid[keep], s_start[keep], s_end[keep], s_prov[keep]
    need_type = sim.need_type[s_pid]
    sen = _frame(
        {
            "pupil_id": pid_map[s_pid],
            "start_date": to_datetime(s_start),
            "end_date": to_datetime(s_end),
            "provision": _str_column(s_prov, ["K", "E"]),
            "primary_need": _str_column(need_type, _NEEDS),
        },
        "sen",
    )
    # ---- FSM: recorded from the first day in school
    f = sim.r_fsm.collect(dict(pid=np.int64, start=np.int64, end=np.int64))
    keep, start = _clip_spells(f["pid"], f["start"], f["end"], lo, hi)
    fsm = _frame(
        {
            "pupil_id": pid_map[f["pid"][keep]],
            "start_date": to_datetime(start[keep]),
            "end_date": to_datetime(f["end"][keep]),
        },
        "fsm",
    )
    # ---- social care: from birth, or from arrival in the LA for in-movers
    s = sim.r_sc.collect(
        dict(
            pid=np.int64,
            kind=np.int64,
            start=np.int64,
            end=np.int64,
            need=np.int64,
            abuse=np.int64,
            placement=np.int64,
        )
    )
    keep, start = _clip_spells(
        s["pid"], s["start"], s["end"], np.maximum(sim.la_start, sim.birth_month), hi
    )
    s = {k: v[keep] for k, v in s.items()}
    s["start"] = start[keep]
    # a clipped spell can collide with another on the same key: keep the first
    key = pd.DataFrame({"p": s["pid"], "k": s["kind"], "s": s["start"]})
    dup = key.duplicated().to_numpy()
    s = {k: v[~dup] for k, v in s.items()}
    factors = _assessment_factors(sim.rng["detail"], s["kind"] == 1)
    social_care = _frame(
        {
            "pupil_id": pid_map[s["pid"]],
            "kind": _str_column(s["kind"], _SC_KINDS),
            "start_date": to_datetime(s["start"]),
            "end_date": to_datetime(s["end"]),
            "need_code": _str_column(s["need"], _NEED_CODES),
            "abuse_category": _str_column(s["abuse"], _ABUSE),
            "placement_type": _str_column(s["placement"], _PLACEMENTS),
            "assessment_factors": pd.Series(factors, dtype="str"),
        },
        "social_care",
    )
    # ---- missing education
    m = sim.r_me.collect(
        dict(pid=np.int64, kind=np.int64, start=np.int64, end=np.int64, reason=np.int64)
    )
    missing_education = _frame(
        {
            "pupil_id": pid_map[m["pid"]],
            "kind": _str_column(m["kind"], ["cme", "ehe"]),
            "start_date": to_datetime(m["start"]),
            "end_date": to_datetime(m["end"]),
            "reason": _str_column(m["reason"], _ME_REASONS),
        },
        "missing_education",
    )
    # ---- interventions
    iv = sim.r_int.collect(
        dict(
            pid=np.int64,
            school=np.int64,
            kind=np.int64,
            start=np.int64,
            end=np.int64,
            score=float,
            loghaz=float,
        )
    )
    interventions = _frame(
        {
            "pupil_id": pid_map[iv["pid"]],
            "kind": _str_column(iv["kind"], _INTERVENTION_KINDS),
            "start_date": to_datetime(iv["start"]),
            "end_date": to_datetime(np.where(iv["end"] > window_end, NAT, iv["end"])),
        },
        "interventions",
    )
    tables = dict(
        pupils=pupils,
        schools=schools,
        enrolments=enrolments,
        attendance=attendance,
        exclusions=exclusions,
        sen=sen,
        fsm=fsm,
        social_care=social_care,
        missing_education=missing_education,
        interventions=interventions,
    )
    for name, frame in tables.items():
        spec = TABLES[name]
        sort = [c for c in (spec.key or ()) if c in frame.columns]
        if name != "attendance" and sort:
            frame = frame.sort_values(sort, kind="stable", ignore_index=True)
        tables[name] = frame
    histories = LinkedHistories(**tables)
    truth = None
    if sim.keep_truth:
        truth = _make_truth(sim, pid_map, iv, attendance_period)
    return histories, truth


def _assessment_factors(rng: np.random.Generator, is_assessment: np.ndarray) -> np.ndarray:
    out = np.full(len(is_assessment), None, dtype=object)
    k = int(is_assessment.sum())
    if k == 0:
        return out
    codes = np.array(_FACTORS, dtype=object)
    f = _choice(rng, _FACTOR_W, 3 * k).reshape(3, k)
    n_f = _choice(rng, [45, 35, 20], k) + 1
    s = codes[f[0]]
    two = (n_f >= 2) & (f[1] != f[0])
    s = np.where(two, s + "," + codes[f[1]], s)
    three = (n_f >= 3) & (f[2] != f[0]) & (f[2] != f[1])
    s = np.where(three, s + "," + codes[f[2]], s)
    none = rng.random(k) < 0.1  # "21": no factors identified
    s = np.where(none, "21", s)
    out[is_assessment] = s
    return out


def _make_truth(sim: _Simulation, pid_map: np.ndarray, iv: dict, period: str) -> SyntheticTruth:
    cal = sim.cal
    sid = sim.school_ids
    wk = sim.r_week.collect(
        dict(
            pid=np.int64,
            school=np.int64,
            week=np.int64,
            need=np.float32,
            p_inc=np.float32,
            p_susp=np.float32,
            p_px=np.float32,
            treated=bool,
        )
    )
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
    ic = sim.r_inc.collect(
        dict(pid=np.int64, school=np.int64, day=np.int64, p_rec=float, outcome=np.int64)
    )
    incidents = pd.DataFrame(
        {
            "pupil_id": pid_map[ic["pid"]],
            "school_id": sid[ic["school"]],
            "date": to_datetime(ic["day"]),
            "ethnicity": _str_column(sim.eth[ic["pid"]], ETHNICITIES),
            "recording_probability": ic["p_rec"],
            "recorded_as": _str_column(ic["outcome"], ["none", "suspension", "permanent"]),
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
            "true_sen": _str_column(sim.sen_true, ["none", "K", "E"]),
            "true_primary_need": _str_column(np.where(sim.sen_true > 0, sim.need_type, -1), _NEEDS),
            "ethnicity_effect": sim.eth_effect,
        }
    ).sort_values("pupil_id", ignore_index=True)
    schools = pd.DataFrame(
        {
            "school_id": sid,
            "phase": _str_column(sim.sch_phase, ["primary", "secondary", "ap"]),
            "suspension_recording": sim.sch_record,
            "px_culture": sim.sch_px,
        }
    )
    interventions = pd.DataFrame(
        {
            "pupil_id": pid_map[iv["pid"]],
            "school_id": sid[iv["school"]],
            "kind": _str_column(iv["kind"], _INTERVENTION_KINDS),
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
        attendance_period=period,
    )


# --------------------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------------------
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

    A weekly simulation (DESIGN.md section 6) of the children of one English
    local authority: pupils age through NC years Reception to Y11, enter,
    transfer from primary to secondary, move in, out and between schools,
    leave after Y11; a latent need level moves week by week and drives absence,
    behaviour incidents, social-care journeys, children missing education
    (CME) and elective home education (EHE). Schools record incidents as
    suspensions according to their culture, permanently exclude (most never,
    a few often) and offer a help intervention each term to the pupils they
    judge at risk. Rates are calibrated to the published figures in
    ``shared/reference/uk_data.md`` section B5; see :func:`calibration_report`.

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
    bias = _check_params(
        n_pupils,
        n_schools,
        start_year,
        n_years,
        seed,
        label_bias,
        attendance_period,
        intervention_effect,
        intervention_weeks,
        intervention_capacity,
        return_truth,
    )
    sim = _Simulation(
        n_pupils=int(n_pupils),
        n_schools=None if n_schools is None else int(n_schools),
        start_year=int(start_year),
        n_years=int(n_years),
        seed=int(seed),
        label_bias=bias,
        keep_truth=return_truth,
        attendance_period=attendance_period,
        intervention_effect=float(intervention_effect),
        intervention_weeks=int(intervention_weeks),
        intervention_capacity=float(intervention_capacity),
    )
    sim.run()
    histories, truth = _assemble(sim, attendance_period)
    if return_truth:
        return histories, truth
    return histories
