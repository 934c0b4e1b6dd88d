"""Behaviour, exclusions and absence of the pupils on roll, every school week.

A latent weekly hazard of behaviour incidents (need, age, FSM, SEN, social care,
recent incidents, the intervention's effect); each incident ends in permanent
exclusion (by the school's exclusion culture), is recorded as a suspension (by
the school's recording culture and ``label_bias``) or is not recorded. Absence
is binomial in the sessions left after suspensions and part-time timetables.
Recorded events never feed back into the latent process.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from riskscreen.datasets._arrays import choice, sigmoid
from riskscreen.datasets._constants import (
    AGE_ABSENCE,
    AGE_INCIDENT,
    AGE_PX,
    COEF,
    ETHNICITIES,
    PLACE_AP,
    PLACE_OTHER,
    PX_REASON_W,
    PX_REASONS,
    REASON_LIST,
    SEMH,
    SUSP_REASON_W,
    SUSP_REASONS,
    SUSP_SESSIONS,
    SUSP_SESSIONS_W,
    WAIT,
)


class BehaviourMixin:
    """Weekly incidents, suspensions, permanent exclusions and attendance.

    Writes the rows of the ``exclusions`` and ``attendance`` tables, and, with
    ``return_truth``, the weekly oracle risks and every latent incident.
    """

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
        sessions_i = np.array(SUSP_SESSIONS)[choice(drng, SUSP_SESSIONS_W, n_i)]
        r_s = choice(drng, SUSP_REASON_W, n_i)
        r_p = choice(drng, PX_REASON_W, n_i)
        r2 = choice(drng, SUSP_REASON_W, n_i)
        r3 = choice(drng, SUSP_REASON_W, n_i)
        u2 = drng.random((2, n_i))
        sus_codes = np.array([REASON_LIST.index(x) for x in SUSP_REASONS])
        px_codes = np.array([REASON_LIST.index(x) for x in PX_REASONS])
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
        absent = arng.binomial(possible - excl - pt_abs, sigmoid(abs_logit))
        q_un = sigmoid(
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

    def _init_term_attendance(self) -> None:
        """Running sums for ``attendance_period="term"``.

        Per pupil, over the current half-term and spell on roll, written out when
        either changes (never a weekly row in memory).
        """
        n = self.n
        self.acc_on = np.zeros(n, bool)
        self.acc_entry = np.zeros(n, np.int64)
        self.acc_ht = np.zeros(n, np.int64)
        self.acc_school = np.zeros(n, np.int64)
        self.acc_first = np.zeros(n, np.int64)
        self.acc_last = np.zeros(n, np.int64)
        self.acc_counts = np.zeros((3, n), np.int64)

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
            self.wait_mode[px_pupils] = np.where(srng.random(kp) < share_ap, PLACE_AP, PLACE_OTHER)
            no_sen = self.k_day[px_pupils] > friday
            later = friday + 7 * srng.integers(4, 30, kp)
            ident = no_sen & (srng.random(kp) < 0.72)
            jid = px_pupils[ident]
            self.k_day[jid] = np.minimum(self.k_day[jid], later[ident])
            make_e = ident & (srng.random(kp) < 0.12)
            je = px_pupils[make_e]
            self.e_day[je] = np.minimum(self.e_day[je], later[make_e] + 7 * 20)
            none = jid[self.need_type[jid] < 0]
            self.need_type[none] = np.int16(SEMH)
