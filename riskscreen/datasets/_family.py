"""The family processes of the synthetic local authority, simulated every week.

Latent need (an AR(1) around each pupil's mean, with family events), free
school meal eligibility (a Markov chain around each pupil's propensity) and
social-care journeys: referral, assessment, child-in-need plan, child-protection
plan and looked-after placements, plus early help. They run from birth (and
through the burn-in), for every child still in the authority.
"""

from __future__ import annotations

import math

import numpy as np

from riskscreen.datasets._arrays import choice, sigmoid
from riskscreen.datasets._calendar import NAT
from riskscreen.datasets._constants import (
    ABUSE_W,
    COEF,
    GONE,
    NEED_CODE_W,
    PLACEMENT_W,
)


class FamilyMixin:
    """Weekly need, FSM and social-care steps; rows for the ``fsm`` and ``social_care`` tables."""

    # ------------------------------------------------------------------------------- need
    def _step_need(self, w: int) -> None:
        """Move every child's latent need one week along its AR(1), with family events."""
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
        """FSM eligibility starts and ends (a Markov chain around each propensity)."""
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
            self._end_fsm(idx, day[idx])
        idx = np.flatnonzero(on)
        self.fsm[idx] = True
        self.fsm_start[idx] = day[idx]

    def _end_fsm(self, idx, day) -> None:
        """End the FSM spells of ``idx`` at ``day`` (not before they started)."""
        self.r_fsm.add(pid=idx, start=self.fsm_start[idx], end=np.maximum(day, self.fsm_start[idx]))
        self.fsm[idx] = False

    # ------------------------------------------------------------------------- social care
    def _sc_row(self, idx, kind: int, start, end, with_need=True, abuse=-1, placement=-1):
        """Append social-care rows (``kind`` indexes ``SC_KINDS``)."""
        self.r_sc.add(
            pid=idx,
            kind=kind,
            start=start,
            end=end,
            need=self.ref_need[idx] if with_need else -1,
            abuse=abuse,
            placement=placement,
        )

    def _stage_rows(self, idx, stage: int, end) -> None:
        """Rows for the current stage (1-4) of ``idx``, ending at ``end`` (``NAT``: open)."""
        self._sc_row(
            idx,
            stage,
            self.sc_start[idx],
            end,
            abuse=self.cp_abuse[idx] if stage == 3 else -1,
            placement=self.placement[idx] if stage == 4 else -1,
        )

    def _end_early_help(self, idx, day) -> None:
        """End the early-help episodes of ``idx`` at ``day`` (not before they started)."""
        self._sc_row(idx, 5, self.eh_start[idx], np.maximum(day, self.eh_start[idx]), False)
        self.eh[idx] = False

    def _step_social_care(self, w: int, monday: int) -> None:
        """Stages that end move on or close; new referrals; early help starts and ends."""
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
                self._stage_rows(idx, 1, end_day[idx])
                ui, vi = u[0, idx], u[1, idx]
                cp_p = sigmoid(c["cp0"] + c["cp_need"] * self.need[idx])
                nfa = ui < sigmoid(c["nfa0"] + c["nfa_need"] * self.need[idx])
                cp = ~nfa & (vi < cp_p)
                lac = ~nfa & ~cp & (vi < cp_p + c["lac_direct"])
                cin = ~nfa & ~cp & ~lac
                self._close_case(idx[nfa], end_day[idx[nfa]])
                self._start_stage(idx[cin], 2, end_day[idx[cin]] + 1, w, rng)
                self._start_stage(idx[cp], 3, end_day[idx[cp]] + 1, w, rng)
                self._start_stage(idx[lac], 4, end_day[idx[lac]] + 1, w, rng)
            idx = stage_idx[2]
            if len(idx):
                self._stage_rows(idx, 2, end_day[idx])
                to_cp = u[0, idx] < sigmoid(c["cin_to_cp"] + c["cp_need"] * self.need[idx])
                self._close_case(idx[~to_cp], end_day[idx[~to_cp]])
                self._start_stage(idx[to_cp], 3, end_day[idx[to_cp]] + 1, w, rng)
            idx = stage_idx[3]
            if len(idx):
                self._stage_rows(idx, 3, end_day[idx])
                p_lac = sigmoid(c["cp_to_lac"] + 0.5 * self.need[idx])
                ui = u[0, idx]
                lac = ui < p_lac
                cin = ~lac & (ui < p_lac + (1 - p_lac) * sigmoid(c["cp_to_cin"]))
                close = ~lac & ~cin
                self._close_case(idx[close], end_day[idx[close]])
                self._start_stage(idx[cin], 2, end_day[idx[cin]] + 1, w, rng)
                self._start_stage(idx[lac], 4, end_day[idx[lac]] + 1, w, rng)
            idx = stage_idx[4]
            if len(idx):
                self._stage_rows(idx, 4, end_day[idx])
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
            self.ref_need[idx] = choice(rng, NEED_CODE_W, len(idx))
            self.sc[idx] = 1
            self.sc_start[idx] = day[idx] + rng.integers(0, 8, len(idx))
            self.sc_end_week[idx] = w + rng.integers(3, 10, len(idx))
        # early help
        eh_end = self.eh & (self.eh_end_week == w)
        idx = np.flatnonzero(eh_end)
        if len(idx):
            self._end_early_help(idx, day[idx])
        p_eh = np.exp(c["early_help0"] + c["early_help_need"] * self.need)
        idx = np.flatnonzero(alive & ~self.eh & (self.sc == 0) & ~eh_end & (u[3] < p_eh))
        if len(idx):
            self.eh[idx] = True
            self.eh_start[idx] = day[idx]
            self.eh_end_week[idx] = w + rng.integers(12, 31, len(idx))

    def _start_stage(self, idx, stage: int, start, w: int, rng, new_case: bool = True) -> None:
        """Start stage 2 (CIN plan), 3 (CP plan) or 4 (placement), with its duration."""
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
            self.cp_abuse[idx] = choice(rng, ABUSE_W, k)
            self.need[idx] += 0.3
        else:
            dur = 4 + rng.geometric(1 / c["placement_mean_weeks"], k)
            self.placement[idx] = choice(rng, PLACEMENT_W, k)
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
                self._stage_rows(j[s], stage, np.maximum(d[s], self.sc_start[j[s]]))
        self._close_case(j, d)
        e = self.eh[idx]
        if e.any():
            self._end_early_help(idx[e], day[e])
        f = self.fsm[idx]
        if f.any():
            self._end_fsm(idx[f], day[f])

    def _record_open_family_spells(self) -> None:
        """Social-care, early-help and FSM spells open at the end of the window (no end)."""
        for stage in (1, 2, 3, 4):
            self._stage_rows(np.flatnonzero(self.sc == stage), stage, NAT)
        j = np.flatnonzero(self.sc > 0)
        self._sc_row(j, 0, self.ref_start[j], NAT)
        j = np.flatnonzero(self.eh)
        self._sc_row(j, 5, self.eh_start[j], NAT, False)
        j = np.flatnonzero(self.fsm)
        self.r_fsm.add(pid=j, start=self.fsm_start[j], end=NAT)
