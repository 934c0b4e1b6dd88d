"""The help intervention schools offer, at the start of each term.

About half of the mainstream schools offer it each term. A school sees each
pupil's behaviour risk with noise and gives the intervention to its
highest-scoring pupils who are not already treated, up to
``intervention_capacity`` of its roll (mentoring more often in secondaries,
early help more often in primaries). While active, the intervention multiplies
the hazard of behaviour incidents (hence of suspensions and permanent
exclusions) and of unexplained exits by ``intervention_effect``.
"""

from __future__ import annotations

import numpy as np


class InterventionMixin:
    """Selection of the treated pupils; rows of the ``interventions`` table."""

    def _interventions(self, w, monday, on, sch, log_inc) -> None:
        """Offering schools choose their highest-scoring pupils, up to their capacity."""
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
