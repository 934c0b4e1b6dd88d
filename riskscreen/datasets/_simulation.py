"""The weekly simulation of a synthetic local authority.

:class:`Simulation` combines the phases, each a mixin in its own module:
set-up (:mod:`._population`), the family processes run every calendar week
(:mod:`._family`), and, every school week, the school roll (:mod:`._roll`),
behaviour, exclusions and absence (:mod:`._behaviour`) and the schools'
intervention (:mod:`._interventions`). Everything is a numpy array over all
pupils; the only Python loop is over weeks. The phases append their output to
:class:`~._arrays.Rows`, which :func:`~._assembly.assemble` turns into tables.
"""

from __future__ import annotations

import math

import numpy as np

from riskscreen.datasets._arrays import Rows
from riskscreen.datasets._behaviour import BehaviourMixin
from riskscreen.datasets._calendar import Calendar, build_calendar
from riskscreen.datasets._constants import BURN_IN_WEEKS, ON_ROLL
from riskscreen.datasets._family import FamilyMixin
from riskscreen.datasets._interventions import InterventionMixin
from riskscreen.datasets._population import PopulationMixin
from riskscreen.datasets._roll import RollMixin
from riskscreen.datasets._settings import Settings

# Independent random streams, one per process, so that changing one process (or
# label_bias, which only changes recording) leaves the draws of the others alone.
_STREAMS = ["pop", "need", "fsm", "sc", "school", "absence", "incident", "px", "record",
            "detail", "exit", "intervention", "sen", "special", "plaa", "managed"]  # fmt: skip


class Simulation(PopulationMixin, FamilyMixin, RollMixin, BehaviourMixin, InterventionMixin):
    """One synthetic local authority, simulated week by week.

    Parameters
    ----------
    settings : Settings
        The validated parameters of ``make_linked_histories``.
    """

    def __init__(self, settings: Settings) -> None:
        s = settings
        self.settings = s
        self.n0 = s.n_pupils
        self.start_year = s.start_year
        self.n_years = s.n_years
        self.label_bias = s.label_bias
        self.keep_truth = s.return_truth
        self.term_mode = s.attendance_period == "term"
        self.hr = s.intervention_effect
        self.log_hr = math.log(self.hr) if self.hr > 0 else -np.inf
        self.int_weeks = s.intervention_weeks
        self.int_capacity = s.intervention_capacity
        self.cal: Calendar = build_calendar(s.start_year, s.n_years, BURN_IN_WEEKS)
        seeds = np.random.SeedSequence(s.seed).spawn(len(_STREAMS))
        self.rng = {k: np.random.default_rng(q) for k, q in zip(_STREAMS, seeds, strict=True)}
        self._make_schools(s.n_schools)
        self._make_pupils()
        self._init_state()
        if self.term_mode:
            self._init_term_attendance()
        self._init_rows()

    def _init_rows(self) -> None:
        """The output rows of each table, with the dtypes they are collected as."""
        i8, i16, i32, i64 = np.int8, np.int16, np.int32, np.int64
        self.r_enrol = Rows(pid=i64, school=i64, entry=i64, leave=i64, reason=i64, part_time=bool)
        self.r_att = Rows(pid=i32, school=i32, week=i16, possible=i8, auth=i8, unauth=i8)
        self.r_term = Rows(
            pid=i64, school=i64, first=i64, last=i64, possible=i64, auth=i64, unauth=i64
        )
        self.r_excl = Rows(
            pid=i64, school=i64, day=i64, kind=i64, sessions=float, r1=i64, r2=i64, r3=i64
        )
        self.r_fsm = Rows(pid=i64, start=i64, end=i64)
        self.r_mm = Rows(pid=i64, start=i64, end=i64)
        self.r_sc = Rows(pid=i64, kind=i64, start=i64, end=i64, need=i64, abuse=i64, placement=i64)
        self.r_me = Rows(pid=i64, kind=i64, start=i64, end=i64, reason=i64)
        self.r_int = Rows(
            pid=i64, school=i64, kind=i64, start=i64, end=i64, score=float, loghaz=float
        )
        # the truth only
        self.r_week = Rows(
            pid=i64,
            school=i64,
            week=i64,
            need=np.float32,
            p_inc=np.float32,
            p_susp=np.float32,
            p_px=np.float32,
            treated=bool,
        )
        self.r_inc = Rows(pid=i64, school=i64, day=i64, p_rec=float, outcome=i64)
        self._plaa_history()

    def run(self) -> None:
        """Simulate every calendar week, then record the spells still open."""
        cal = self.cal
        for w in range(cal.n_weeks):
            monday = int(cal.monday[w])
            self._step_need(w)
            self._step_fsm(w, monday)
            self._step_social_care(w, monday)
            if cal.sessions[w] > 0:
                self._step_school(w, monday)
        self._finish()

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

    def _finish(self) -> None:
        """Record the spells still open at the end of the window (no end date)."""
        if self.term_mode:
            self._flush(np.flatnonzero(self.acc_on))
        self._record_open_roll_spells()
        self._record_open_family_spells()
