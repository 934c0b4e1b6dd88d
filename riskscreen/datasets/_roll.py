"""The school roll of the synthetic local authority, simulated every school week.

Arrivals (Reception cohorts, in-movers), placements of pupils waiting for a
school, competing exits from the roll (moves out of the authority, unexplained
exits into children missing education (CME), elective home education (EHE),
transfers), the return of missing and home-educated children, and the end of
the academic year (Y11 leave, Y6 move to secondary).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from riskscreen.datasets._arrays import choice
from riskscreen.datasets._calendar import NAT
from riskscreen.datasets._constants import (
    CME,
    CME_REASONS_EXIT,
    CME_REASONS_MOVE,
    COEF,
    EHE,
    EHE_REASON_W,
    EHE_REASONS,
    GONE,
    LEAVING,
    ME_REASONS,
    NOT_ARRIVED,
    ON_ROLL,
    PLACE_AP,
    PLACE_HOME,
    PLACE_OTHER,
    WAIT,
)


class RollMixin:
    """Who is on which school's roll, in CME or EHE, waiting for a place, or gone.

    Writes the rows of the ``enrolments`` and ``missing_education`` tables.
    """

    def _enrolment_rows(self, idx, leave, reason: int) -> None:
        """Rows for the current spells on roll of ``idx`` (``leave=NAT``: still open)."""
        self.r_enrol.add(
            pid=idx,
            school=self.school[idx],
            entry=self.entry[idx],
            leave=leave,
            reason=reason,
            part_time=self.part_time[idx],
        )

    def _leave(self, idx, day, reason: str) -> None:
        """End the spells on roll of ``idx`` at ``day`` for ``reason``."""
        if len(idx) == 0:
            return
        self._enrolment_rows(idx, day, LEAVING.index(reason))
        self.school[idx] = -1

    def _gone(self, idx, day) -> None:
        if len(idx) == 0:
            return
        self.state[idx] = GONE
        self.exit_day[idx] = day
        self._close_all(idx, day)

    def _start_me(self, idx, kind: int, start: int, w: int, reasons) -> None:
        """Start CME (``kind=0``) or EHE (``kind=1``) spells, resolvable from the next week."""
        self.state[idx] = EHE if kind == 1 else CME
        self.me_kind[idx] = kind
        self.me_start[idx] = start
        self.me_start_week[idx] = w + 1
        self.me_reason[idx] = reasons

    def _missing_rows(self, idx, end) -> None:
        """Rows for the current CME/EHE spells of ``idx`` (``end=NAT``: still open)."""
        self.r_me.add(
            pid=idx,
            kind=self.me_kind[idx],
            start=self.me_start[idx],
            end=end,
            reason=self.me_reason[idx],
        )

    def _end_me(self, idx, end) -> None:
        if len(idx) == 0:
            return
        self._missing_rows(idx, np.maximum(end, self.me_start[idx]))
        self.me_kind[idx] = -1

    def _enrol(self, idx, mode, monday: int, pt_prob) -> None:
        """Put ``idx`` on the roll of their home school, another school or AP (by ``mode``)."""
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
        school = np.where(mode == PLACE_HOME, home, np.where(mode == PLACE_OTHER, other, ap))
        self.state[idx] = ON_ROLL
        self.school[idx] = school
        self.entry[idx] = monday
        self.part_time[idx] = rng.random(k) < pt_prob
        self.pending[idx] = 0

    def _year_start(self, k: int) -> None:
        """NC year of every child in academic year ``k``."""
        self.ncy = self.start_year + k - 5 - self.birth_ay

    def _arrivals(self, w: int, monday: int) -> None:
        """Reception cohorts and in-movers arrive; waiting pupils take up their places."""
        arr = np.flatnonzero((self.arrive_week == w) & (self.state == NOT_ARRIVED))
        if len(arr):
            aw = self.in_mover_await[arr]
            j = arr[aw]
            self._start_me(j, 0, monday, w - 1, ME_REASONS.index("awaiting_place"))
            self._enrol(arr[~aw], PLACE_HOME, monday, 0.0)
        # waiting pupils take up their places
        wt = np.flatnonzero((self.state == WAIT) & (self.wait_until <= w))
        if len(wt):
            mode = self.wait_mode[wt]
            pt = np.where(mode == PLACE_AP, 0.35, np.where(mode == PLACE_OTHER, 0.05, 0.0))
            self._enrol(wt, mode, monday, pt)

    def _resolve_missing(self, w: int, monday: int, u: np.ndarray) -> None:
        """Children missing education are found (or leave); some home-educated return."""
        c = COEF
        me = np.flatnonzero(((self.state == CME) | (self.state == EHE)) & (self.me_start_week < w))
        if len(me):
            is_cme = self.state[me] == CME
            awaiting = self.me_reason[me] == ME_REASONS.index("awaiting_place")
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
            self._enrol(jb, np.where(aw_j[back], PLACE_HOME, PLACE_OTHER), monday, 0.08)
            self._gone(j[~back], monday - 3)

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
        mainstream_sec = (self.sch_phase[sch] == 1) & (ncy >= 7) & (ncy <= 10)
        h_mm = np.where(mainstream_sec, np.exp(c["mm0"] + c["mm_recent"] * rec_log), 0.0)
        cum = np.cumsum(np.stack([h_move, h_unx, h_ehe, h_tr, h_mm]), axis=0)
        ue = u[2, on]
        which = np.where(stay, (ue[None, :] >= cum).sum(axis=0), 5)
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
            r = np.array([ME_REASONS.index(x) for x in CME_REASONS_MOVE])
            self._start_me(ju[to_cme], 0, friday + 3, w, r[rng.integers(0, 2, int(to_cme.sum()))])
            self._gone(ju[~to_cme], friday)
        j = on[which == 1]
        if len(j):
            self._leave(j, friday, "unknown")
            r = np.array([ME_REASONS.index(x) for x in CME_REASONS_EXIT])
            self._start_me(j, 0, friday + 3, w, r[choice(rng, [6, 3, 1], len(j))])
        j = on[which == 2]
        if len(j):
            self._leave(j, friday, "ehe")
            r = np.array([ME_REASONS.index(x) for x in EHE_REASONS])
            self._start_me(j, 1, friday + 3, w, r[choice(rng, EHE_REASON_W, len(j))])
        j = on[(which == 3) | (which == 4)]
        if len(j):
            self._leave(j, friday, "transfer")
            self.state[j] = WAIT
            self.wait_until[j] = w + 1
            self.wait_mode[j] = PLACE_OTHER
        j = on[which == 4]  # managed moves: a trial at another school from next week
        if len(j):
            self.r_mm.add(pid=j, start=friday + 3, end=friday + 3 + 7 * c["mm_weeks"] - 3)

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
        self.wait_mode[y6] = PLACE_HOME
        wt6 = np.flatnonzero((st == WAIT) & (self.ncy == 6) & (self.wait_mode != PLACE_AP))
        self.wait_mode[wt6] = PLACE_HOME

    def _record_open_roll_spells(self) -> None:
        """Spells on roll and CME/EHE spells open at the end of the window (no end date)."""
        st = self.state
        self._enrolment_rows(np.flatnonzero(st == ON_ROLL), NAT, -1)
        self._missing_rows(np.flatnonzero((st == CME) | (st == EHE)), NAT)
