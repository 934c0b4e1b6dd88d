"""Set-up of the synthetic local authority: schools, pupils and their starting state."""

from __future__ import annotations

import numpy as np

from riskscreen.datasets._arrays import choice, sigmoid
from riskscreen.datasets._calendar import NAT, first_monday
from riskscreen.datasets._constants import (
    CME,
    COEF,
    EAL_EFFECT,
    EHE,
    EHE_REASON_W,
    EHE_REASONS,
    ETHNICITY,
    IDENTIFY_W,
    ME_REASONS,
    NEED_W,
    NEEDS,
    NOT_ARRIVED,
    ON_ROLL,
    PLAA_SHARES,
    PLACEMENTS,
    SEMH,
    SEX_MALE_SHARE,
    SPECIAL_NEED_P,
    SPECIAL_SHARE,
    SPECIAL_SIZE,
)


class PopulationMixin:
    """Schools, pupils (traits, SEN, arrival) and the state at the first simulated week.

    Reads the settings the simulation copied onto itself (``n0``, ``start_year``,
    ``n_years``), its calendar ``cal`` and the ``"pop"`` random stream.
    """

    # ----------------------------------------------------------------------------- schools
    def _make_schools(self, n_schools: int | None) -> None:
        """Primaries, secondaries and AP schools, with their recording and exclusion cultures."""
        rng = self.rng["pop"]
        p0 = self.n0 * 7 / 12 / 250
        s0 = self.n0 * 5 / 12 / 1000
        if n_schools is None:
            n_p, n_s = max(1, round(p0)), max(1, round(s0))
        else:
            n_p = min(n_schools - 1, max(1, round(n_schools * p0 / (p0 + s0))))
            n_s = n_schools - n_p
        n_ap = max(1, round(n_s / 8))
        n_sp = max(1, round(SPECIAL_SHARE * self.n0 / SPECIAL_SIZE))
        self.n_prim, self.n_sec, self.n_ap, self.n_sp = n_p, n_s, n_ap, n_sp
        n = n_p + n_s + n_ap
        self.n_sch = n + n_sp
        phase = np.array([0] * n_p + [1] * n_s + [2] * n_ap)
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
        # special schools (own stream, so the mainstream draws stay as they were):
        # secondary recording, a low exclusion culture (PX rate 0.06 vs 0.20 in 2018/19)
        srng = self.rng["special"]
        sp_rec = c["record_secondary"] * np.exp(srng.normal(0, c["record_sd"], n_sp))
        self.sch_record = np.concatenate([self.sch_record, np.clip(sp_rec, 0.05, 0.95)])
        self.sch_px = np.concatenate([culture, np.full(n_sp, 0.3)])
        self.sch_phase = np.concatenate([phase, np.full(n_sp, 3)])
        self.school_ids = 100001 + np.arange(self.n_sch, dtype=np.int64) * 7 % 100000
        self.school_ids = np.sort(self.school_ids)

    # ------------------------------------------------------------------------------ pupils
    def _make_pupils(self) -> None:
        """Every child the window will see: traits, SEN, home schools and arrival."""
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
        shares = np.array([v[0] for v in ETHNICITY.values()])
        eth = choice(rng, shares, n)
        self.eth = eth
        dep_off = np.array([v[1] for v in ETHNICITY.values()])[eth]
        self.dep = dep_off + rng.standard_normal(n)
        self.fam = rng.standard_normal(n) + 0.25 * (kind == 4)
        eal_p = np.array([v[3] for v in ETHNICITY.values()])[eth]
        self.eal = rng.random(n) < eal_p
        lang_of = np.array([v[4] for v in ETHNICITY.values()], dtype=object)
        self.language = np.where(self.eal, lang_of[eth], "ENG")
        self.eth_effect = np.log(np.array([v[2] for v in ETHNICITY.values()]))[eth]
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
        p_e = sigmoid(c["ehcp0"] + c["ehcp_male"] * sex_m + c["ehcp_severity"] * (q - t_any))
        is_e = any_sen & (rng.random(n) < p_e)
        self.sen_true = np.where(is_e, 2, np.where(any_sen, 1, 0)).astype(np.int8)
        need_type = np.full(n, -1, np.int16)
        for (lvl, sx), w in NEED_W.items():
            sel = (self.sen_true == (2 if lvl == "E" else 1)) & (sex_m == (sx == "M"))
            need_type[sel] = choice(rng, w, int(sel.sum()))
        self.need_type = need_type
        self.semh = need_type == SEMH
        self.ebsa |= (need_type == NEEDS.index("ASD")) & (rng.random(n) < 0.1)
        # identification (recording) dates
        k_year = choice(rng, IDENTIFY_W, n)
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
        self.fsm_pi = sigmoid(c["fsm0"] + c["fsm_dep"] * self.dep + c["fsm_fam"] * self.fam)
        self.static_inc = (
            self.frailty
            + c["inc_male"] * sex_m
            + self.eth_effect
            + EAL_EFFECT * self.eal
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
        self._special_and_plaa(is_e, need_type)

    def _special_and_plaa(self, is_e: np.ndarray, need_type: np.ndarray) -> None:
        """Special-school places and previously looked-after children (their own streams)."""
        n = self.n
        srng = self.rng["special"]
        p = np.zeros(n)
        for code, prob in SPECIAL_NEED_P.items():
            p[need_type == NEEDS.index(code)] = prob
        # pupils whose EHC plan comes in the first years of school; the place (and the
        # plan) from school entry
        entry = self._first_monday(self.birth_ay + 5)
        early = self.e_day < self._first_monday(self.birth_ay + 7)
        special = is_e & early & (srng.random(n) < p)
        self.e_day = np.where(special, np.minimum(self.e_day, entry), self.e_day)
        self.k_day = np.where(special, np.minimum(self.k_day, self.e_day), self.k_day)
        school = self.n_prim + self.n_sec + self.n_ap + srng.integers(0, self.n_sp, n)
        self.home_p = np.where(special, school, self.home_p)
        self.home_s = np.where(special, school, self.home_s)
        prng = self.rng["plaa"]
        u = prng.random(n)
        cum = np.cumsum(PLAA_SHARES)
        self.plaa = np.where(u < cum[-1], np.searchsorted(cum, u, side="right") + 1, 0)
        self.plaa = np.where(self.kind == 4, 0, self.plaa).astype(np.int8)  # history elsewhere
        self.static_inc = self.static_inc + COEF["inc_plaa"] * (self.plaa > 0)

    def _plaa_history(self) -> None:
        """The past care of previously looked-after children: a referral and a placement
        that ended in adoption (placed for adoption, A4), special guardianship or a child
        arrangements order (kinship foster care, U1 or U3), before the window."""
        rng = self.rng["plaa"]
        idx = np.flatnonzero(self.plaa > 0)
        k = len(idx)
        if k == 0:
            return
        start = self.birth_month[idx] + rng.integers(30, 700, k)
        end = np.minimum(start + rng.integers(120, 700, k), self.cal.window_start - 30)
        ok = end > start + 30
        idx, start, end = idx[ok], start[ok], end[ok]
        place = np.array(
            [-1, PLACEMENTS.index("A4"), PLACEMENTS.index("U1"), PLACEMENTS.index("U3")]
        )[self.plaa[idx]]
        self.r_sc.add(pid=idx, kind=0, start=start - 21, end=end, need=1, abuse=-1, placement=-1)
        self.r_sc.add(pid=idx, kind=4, start=start, end=end, need=1, abuse=-1, placement=place)

    def _first_monday(self, years: np.ndarray) -> np.ndarray:
        """Day number of the first Monday of September of each year (vectorised)."""
        return self._fm[np.asarray(years, dtype=np.int64) - self._fm0]

    # ------------------------------------------------------------------------------- state
    def _init_state(self) -> None:
        """Need, FSM, social care and school state at the first simulated week."""
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
            self.me_reason[sel] = ME_REASONS.index("not_returned")
        self.me_reason[self.kind == 1] = np.array([ME_REASONS.index(r) for r in EHE_REASONS])[
            choice(rng, EHE_REASON_W, int((self.kind == 1).sum()))
        ]
