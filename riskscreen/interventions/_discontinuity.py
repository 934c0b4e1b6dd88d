"""Regression discontinuity at the capacity cut-off of a screening list (rdrobust, rddensity)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from riskscreen.evaluation import SMALL_COUNT
from riskscreen.interventions._deps import captured, require
from riskscreen.interventions._result import (
    AS_OF,
    EffectEstimate,
    TooFewPupilsError,
    cluster_codes,
    count_text,
    naive_difference,
)

RUNNING = ("score", "rank")
OWNER = "estimate_discontinuity"


@dataclass(frozen=True, repr=False)
class DiscontinuityEstimate(EffectEstimate):
    """The effect of help on pupils at the capacity cut-off of the lists.

    Attributes (besides those of every estimate)
    ----------
    running : {"score", "rank"}
        The running variable: distance of the risk score from the cut-off, or
        places above the cut-off in the ranking (positive = flagged).
    design : {"sharp", "fuzzy"}
        Sharp when help went exactly to the flagged pupils; fuzzy otherwise (the
        estimate is then for pupils whose help followed the list).
    bandwidth : tuple of float
        The data-driven (MSE-optimal) bandwidth below and above the cut-off.
    first_stage : float
        The jump in the share helped at the cut-off (1 for a sharp design).
    density_p_value : float
        Manipulation test (Cattaneo, Jansson and Ma): p-value for no jump in the
        density of the running variable at the cut-off.
    running_values : Series
        Each study row's running variable (NaN where its list had no cut-off).
    bins : DataFrame
        Binned means for the RD plot (bins of fewer than 5 pupils left out).
    fit : DataFrame
        The global polynomial fit of the RD plot on each side.
    """

    running: str = "score"
    design: str = "sharp"
    bandwidth: tuple = (np.nan, np.nan)
    first_stage: float = 1.0
    density_p_value: float = np.nan
    running_values: pd.Series = field(default_factory=pd.Series)
    bins: pd.DataFrame = field(default_factory=pd.DataFrame)
    fit: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    _COUNT_GROUPS = (("below cut-off", "above cut-off"),)

    def _population(self) -> str:
        who = (
            "pupils at the cut-off"
            if self.design == "sharp"
            else "pupils at the cut-off whose help followed the list"
        )
        return who

    def diagnostics(self) -> pd.DataFrame:
        rows = {
            "bandwidth below cut-off": self.bandwidth[0],
            "bandwidth above cut-off": self.bandwidth[1],
            "jump in share helped at cut-off": self.first_stage,
            "density test p-value (manipulation)": self.density_p_value,
        }
        return pd.DataFrame({"value": pd.Series(rows, dtype=float)})

    def plot(self, ax=None):
        """The RD plot: binned mean outcomes either side of the cut-off, with fits."""
        from riskscreen.interventions._plots import DiscontinuityDisplay

        return DiscontinuityDisplay.from_estimate(self).plot(ax=ax)


def running_variable(frame: pd.DataFrame, running: str, per_school: bool) -> tuple[pd.Series, int]:
    """Distance from each list's cut-off (positive = flagged), and lists without one.

    A list is one as-of date (and school, when capacity applied per school). The
    cut-off lies halfway between the lowest flagged and the highest unflagged
    pupil, on the score or on the rank (places above the cut-off).
    """
    keys = [frame.index.get_level_values(AS_OF)]
    if per_school:
        keys.append(frame["school_id"].to_numpy())
    flagged = frame["flagged"].astype(bool)
    g = frame.assign(_flag=flagged).groupby(keys, sort=False, dropna=False)
    n_flag = g["_flag"].transform("sum").to_numpy()
    size = g["_flag"].transform("size").to_numpy()
    usable = (n_flag > 0) & (n_flag < size)
    if running == "score":
        score = frame["score"].astype(float)
        low = score.where(flagged).groupby(keys, sort=False, dropna=False).transform("min")
        high = score.where(~flagged).groupby(keys, sort=False, dropna=False).transform("max")
        x = score - (low + high) / 2
    else:
        rank = frame["rank_in_school" if per_school else "rank"].astype(float)
        last = rank.where(flagged).groupby(keys, sort=False, dropna=False).transform("max")
        first = rank.where(~flagged).groupby(keys, sort=False, dropna=False).transform("min")
        x = (last + first) / 2 - rank
    x = pd.Series(np.where(usable, x, np.nan), index=frame.index, name="running")
    lists = pd.DataFrame({f"k{i}": np.asarray(k) for i, k in enumerate(keys)})
    n_lists = int(
        (~lists.assign(u=usable).groupby(list(lists.columns), dropna=False)["u"].any()).sum()
    )
    return x, n_lists


def estimate_discontinuity(
    study,
    *,
    running: str = "score",
    per_school: bool | None = None,
    min_pupils: int = 20,
    min_first_stage: float = 0.2,
    level: float = 0.95,
) -> DiscontinuityEstimate:
    """Regression discontinuity at the capacity cut-off: local polynomial, robust intervals.

    A list flags the k highest-risk pupils, so pupils just above and just below
    the cut-off are alike but for the flag: comparing their outcomes estimates
    the effect of help at the cut-off, whatever drove risk. The estimate is a
    local-linear fit either side of the cut-off with an MSE-optimal bandwidth
    and a triangular kernel, and a robust bias-corrected interval (Calonico,
    Cattaneo and Titiunik 2014), computed by ``rdrobust``; standard errors are
    clustered by pupil when pupils appear on several lists. When help did not
    follow the flag exactly the design is fuzzy and the flag instruments help.
    ``rddensity`` tests for manipulation of the running variable.

    Parameters
    ----------
    study : Study
        From :func:`build_study`; lists of several as-of dates (and schools) are
        pooled, each measured from its own cut-off.
    running : {"score", "rank"}, default "score"
        Distance of the risk score from the cut-off, or places above it.
    per_school : bool, optional
        Whether each school's list has its own cut-off (default: as the lists were made).
    min_pupils : int, default 20
        Refuse (:class:`TooFewPupilsError`) with fewer pupils either side of the
        cut-off, overall or inside the bandwidth.
    min_first_stage : float, default 0.2
        Refuse when help jumps by less than this at the cut-off (the list was not
        followed, so there is no discontinuity to learn from).
    level : float, default 0.95

    Returns
    -------
    DiscontinuityEstimate
    """
    if running not in RUNNING:
        raise ValueError(
            f"The 'running' parameter of {OWNER} must be 'score' or 'rank'. Got {running!r}."
        )
    if not (0 < level < 1):
        raise ValueError(f"The 'level' parameter of {OWNER} must be in (0, 1). Got {level!r}.")
    per_school = study.per_school if per_school is None else bool(per_school)
    x_all, no_cutoff = running_variable(study.frame, running, per_school)
    ok = x_all.notna().to_numpy()
    x = x_all.to_numpy()[ok]
    y = study.y[ok]
    t = study.treated[ok]
    above = x >= 0
    n_below, n_above = int((~above).sum()), int(above.sum())
    if min(n_below, n_above) < min_pupils:
        raise TooFewPupilsError(
            f"{OWNER} needs at least {min_pupils} pupils either side of the cut-off; the lists "
            f"hold {count_text(n_below)} below and {count_text(n_above)} above. Add as-of "
            "dates or pupils."
        )
    rdrobust = require("rdrobust", needed_for=OWNER)
    codes = cluster_codes(study.frame.index[ok])
    repeated = len(np.unique(codes)) < len(codes)
    opts = {"cluster": codes, "vce": "cr1"} if repeated else {}
    sharp = bool(np.array_equal(t, above))
    notes = []
    with captured() as messages:
        first = (
            1.0
            if sharp
            else float(rdrobust.rdrobust(t.astype(float), x, c=0, **opts).coef.iloc[0, 0])
        )
        if not sharp and first < min_first_stage:
            raise TooFewPupilsError(
                f"{OWNER}: the share of pupils helped jumps by only {first:.2f} at the cut-off "
                f"(at least {min_first_stage} needed): help did not follow the list, so the "
                "cut-off says nothing about its effect."
            )
        fit = rdrobust.rdrobust(
            y, x, c=0, fuzzy=None if sharp else t.astype(float), level=100 * level, **opts
        )
    n_h = [int(v) for v in fit.N_h]
    if min(n_h) < min_pupils:
        raise TooFewPupilsError(
            f"{OWNER}: the data-driven window around the cut-off holds {count_text(n_h[0])} "
            f"pupils below and {count_text(n_h[1])} above (at least {min_pupils} needed "
            "each side). Add as-of dates or pupils."
        )
    density = _density(x)
    bins, poly = _plot_data(rdrobust, y, x)
    notes.extend(f"rdrobust: {m}" for m in messages)
    if no_cutoff:
        notes.append(f"{no_cutoff} list(s) flagged everyone or no one and were left out.")
    if density < 0.05:
        notes.append(
            f"The density of the running variable jumps at the cut-off (p = {density:.3f}): "
            "check that scores were not adjusted to move pupils onto or off the list."
        )
    sub = replace(study, frame=study.frame[ok], confounders=study.confounders[ok])
    robust_low, robust_high = (float(v) for v in fit.ci.iloc[2])
    return DiscontinuityEstimate(
        method="RD",
        estimand="effect at the cut-off",
        outcome=study.outcome,
        outcome_kind=study.outcome_kind,
        horizon=study.horizon.text,
        estimate=float(fit.coef.iloc[0, 0]),
        se=float(fit.se.iloc[2, 0]),
        ci_low=robust_low,
        ci_high=robust_high,
        p_value=float(fit.pv.iloc[2, 0]),
        level=level,
        naive=naive_difference(sub, codes, level),
        counts={
            "below cut-off": n_below,
            "above cut-off": n_above,
            "below, inside bandwidth": n_h[0],
            "above, inside bandwidth": n_h[1],
        },
        running=running,
        design="sharp" if sharp else "fuzzy",
        bandwidth=(float(fit.bws.iloc[0, 0]), float(fit.bws.iloc[0, 1])),
        first_stage=first,
        density_p_value=density,
        running_values=x_all,
        bins=bins,
        fit=poly,
        notes=(
            "Point estimate: conventional local-linear; interval and p-value: robust "
            "bias-corrected (so the interval need not be centred on the estimate).",
            *notes,
        ),
    )


def _density(x: np.ndarray) -> float:
    rddensity = require("rddensity", needed_for=OWNER)
    with captured():
        try:
            result = rddensity.rddensity(X=x, c=0)
        except Exception:  # noqa: BLE001 - too few distinct values for the density fit
            return float("nan")
    return float(result.test["p_jk"])


def _plot_data(rdrobust, y: np.ndarray, x: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binned means and global fits of ``rdplot`` (computed only; drawn by the Display)."""
    with captured():
        out = rdrobust.rdplot(y, x, c=0, hide=True)
    bins = out.vars_bins.rename(
        columns={
            "rdplot_mean_x": "x",
            "rdplot_mean_y": "mean_outcome",
            "rdplot_ci_l": "ci_low",
            "rdplot_ci_r": "ci_high",
            "rdplot_N": "n",
        }
    )[["x", "mean_outcome", "ci_low", "ci_high", "n"]]
    bins = bins[bins["n"] >= SMALL_COUNT].drop(columns="n").reset_index(drop=True)
    fit = out.vars_poly.rename(columns={"rdplot_x": "x", "rdplot_y": "fit"})
    return bins, fit
