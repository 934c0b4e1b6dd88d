"""Semi-synthetic studies on the synthetic LA in which both potential outcomes are known.

The generator's own schools choose whom to help from a *latent* view of risk
that no analyst could see, and it keeps no record of what would have happened
without help. To check estimators against an exact truth we therefore take a
synthetic authority generated *without* interventions (every outcome is the
outcome without help, Y(0)), screen it, assign help ourselves from what was
known at the as-of date, and apply the generator's own kind of effect to
suspensions: while help is active (26 weeks from its start) each suspension is
kept with probability ``hazard_ratio`` and otherwise never happens. Thinning
events this way multiplies their hazard by exactly ``hazard_ratio``, the
generator's ``intervention_effect``.

The same random draws give every pupil's Y(1), so the true effect on the helped
(or at the cut-off) is computed on exactly the pupils an estimate is about.
Two assignments are made from one authority:

* ``noisy`` -- the top ``share`` of pupils by risk score plus noise: a noisy view
  of risk up to a capacity (for weighting estimators);
* ``cutoff`` -- exactly the pupils the list flagged at capacity (for regression
  discontinuity).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from riskscreen import Screener
from riskscreen.data import LinkedHistories
from riskscreen.datasets import make_linked_histories
from riskscreen.interventions import build_study

AS_OF = pd.Timestamp("2021-01-04")
HORIZON = "26W"
START = AS_OF + pd.Timedelta(days=7)
END = START + pd.Timedelta(weeks=26)  # help is active in [START, END)
CENSOR = ("other_la", "abroad")


def authority(seed: int, n_pupils: int) -> LinkedHistories:
    """Two school years of a synthetic authority with no help given (every outcome is Y(0))."""
    return make_linked_histories(n_pupils=n_pupils, n_years=2, seed=seed, intervention_capacity=0.0)


@functools.lru_cache(maxsize=1)
def screener() -> Screener:
    """A cheap scorecard fitted once (seed 0) and reused to screen every other seed."""
    return Screener(model="scorecard", horizon="26W", capacity=0.10, n_bootstrap=1).fit(
        authority(0, 2000), ["2019-11-04", "2020-01-06", "2020-11-02"]
    )


def suspension_labels(histories, pupils, kept=None) -> pd.Series:
    """The suspension label in [AS_OF, AS_OF + 26W), as make_labels defines it, in pandas.

    ``kept`` marks which rows of the exclusions table happened (default all).
    """
    window_end = AS_OF + pd.Timedelta(weeks=26)
    ex = histories.exclusions
    happened = np.ones(len(ex), bool) if kept is None else kept
    hit = (
        happened
        & (ex["kind"] == "suspension").to_numpy()
        & (ex["start_date"] >= AS_OF).to_numpy()
        & (ex["start_date"] < window_end).to_numpy()
    )
    any_event = pd.Index(ex["pupil_id"][hit].unique())
    en = histories.enrolments
    gone = (
        en["leaving_reason"].isin(CENSOR)
        & (en["leaving_date"] >= AS_OF)
        & (en["leaving_date"] < window_end)
    )
    censored = pd.Index(en["pupil_id"][gone].unique())
    y = pd.Series(pupils.isin(any_event), index=pupils, dtype="float64")
    y[~pupils.isin(any_event) & pupils.isin(censored)] = np.nan
    return y


@dataclass
class Design:
    """One authority, screened, with both potential outcomes of every pupil on the list."""

    base: object  # the Study built by the library on the authority without help
    y0: pd.Series  # indexed by pupil_id
    y1: pd.Series
    noisy: np.ndarray  # treated under the noisy assignment, aligned to base.frame
    flagged: np.ndarray  # treated under the cut-off assignment
    thinned: np.ndarray  # rows of the exclusions table removed when help is given
    histories: LinkedHistories
    screening: object

    def study(self, assignment: str, *, null: bool = False):
        """The study an analyst would see under an assignment (``null``: help does nothing)."""
        treated = self.noisy if assignment == "noisy" else self.flagged
        pupils = self.base.frame.index.get_level_values("pupil_id")
        y = np.where(treated & (not null), self.y1.reindex(pupils), self.y0.reindex(pupils))
        keep = ~np.isnan(y)
        frame = self.base.frame.assign(treated=treated, outcome=y)[keep]
        return replace(self.base, frame=frame, confounders=self.base.confounders[keep])

    def effect(self, rows: pd.Index) -> np.ndarray:
        """Y(1) - Y(0) of the given study rows."""
        pupils = rows.get_level_values("pupil_id")
        return (self.y1.reindex(pupils) - self.y0.reindex(pupils)).to_numpy(dtype=float)

    def observed_histories(self, assignment: str) -> tuple[LinkedHistories, pd.DataFrame]:
        """The histories an analyst would hold, with the interventions table of an assignment."""
        treated = self.noisy if assignment == "noisy" else self.flagged
        helped = self.base.frame.index.get_level_values("pupil_id")[treated]
        ex = self.histories.exclusions
        drop = self.thinned & ex["pupil_id"].isin(helped).to_numpy()
        interventions = pd.DataFrame(
            {
                "pupil_id": helped,
                "kind": "mentoring",
                "start_date": START,
                "end_date": END - pd.Timedelta(days=1),
            }
        )
        tables = {**self.histories.tables(), "exclusions": ex[~drop]}
        return LinkedHistories(**{**tables, "interventions": interventions}), interventions


def make_design(
    seed: int,
    *,
    hazard_ratio: float = 0.3,
    noise: float = 1.0,
    share: float = 0.08,
    n_pupils: int = 2000,
) -> Design:
    """A fresh authority (``seed``), screened at AS_OF, with both assignments and Y(0), Y(1)."""
    histories = authority(seed, n_pupils)
    screening = screener().score(histories, AS_OF)
    base = build_study(
        histories, screening, outcome="suspension", horizon=HORIZON, exclude_prior=False
    )
    rng = np.random.default_rng(10_000 + seed)
    score = base.frame["score"].to_numpy(dtype=float)
    seen = score + rng.normal(0.0, noise * score.std(), len(score))
    noisy = np.zeros(len(score), dtype=bool)
    noisy[np.argsort(-seen, kind="stable")[: round(share * len(score))]] = True
    ex = histories.exclusions
    active = (
        (ex["kind"] == "suspension") & (ex["start_date"] >= START) & (ex["start_date"] < END)
    ).to_numpy()
    thinned = active & (rng.random(len(ex)) >= hazard_ratio)
    pupils = screening.frame.index
    return Design(
        base=base,
        y0=suspension_labels(histories, pupils),
        y1=suspension_labels(histories, pupils, kept=~thinned),
        noisy=noisy,
        flagged=base.frame["flagged"].to_numpy(dtype=bool),
        thinned=thinned,
        histories=histories,
        screening=screening,
    )


def rd_truth(design: Design, estimate) -> float:
    """The true effect at the cut-off: a local-linear fit of every pupil's Y(1) - Y(0) at 0.

    Every pupil's effect is known on both sides, so the same triangular kernel and
    bandwidth as the estimate give the effect at the cut-off without a discontinuity.
    """
    x = estimate.running_values.to_numpy(dtype=float)
    tau = design.effect(estimate.running_values.index)
    h = float(np.mean(estimate.bandwidth))
    ok = ~np.isnan(x) & ~np.isnan(tau) & (np.abs(x) < h)
    w = 1 - np.abs(x[ok]) / h
    X = np.column_stack([np.ones(ok.sum()), x[ok]])
    beta = np.linalg.lstsq(X * np.sqrt(w)[:, None], tau[ok] * np.sqrt(w), rcond=None)[0]
    return float(beta[0])


def attendance_study(design: Design, allocation, *, gain: float, horizon: str = "13W"):
    """An attendance study of a trial allocation (the pupils it names, helped or not),
    where help turns each unauthorised absence of the helped into attendance with
    probability ``gain`` while active. Returns (study, true effect on the helped),
    both potential outcomes measured by the library itself."""
    assignment = allocation.assignment
    helped = assignment.index[assignment.to_numpy()].get_level_values("pupil_id")
    att = design.histories.attendance
    rng = np.random.default_rng(int(helped.to_numpy().sum()) % 2**32)
    converted = rng.binomial(att["sessions_unauthorised_absent"].to_numpy(), gain)
    hit = (
        att["pupil_id"].isin(helped) & (att["period_start"] >= START) & (att["period_start"] < END)
    ).to_numpy()
    improved = att.copy()
    unauth = improved["sessions_unauthorised_absent"].to_numpy().copy()
    unauth[hit] -= converted[hit].astype(unauth.dtype)
    improved["sessions_unauthorised_absent"] = unauth
    tables = design.histories.tables()
    kwargs = {"outcome": "attendance_rate", "horizon": horizon, "treatment": assignment}
    observed = LinkedHistories(**{**tables, "attendance": improved})
    study = build_study(observed, design.screening, **kwargs)
    if gain == 0:
        return study, 0.0  # the observed histories are the histories without help
    without = build_study(design.histories, design.screening, **kwargs)
    rows = study.frame.index[study.treated]
    truth = float(
        (study.frame.loc[rows, "outcome"] - without.frame["outcome"].reindex(rows)).mean()
    )
    return study, truth
