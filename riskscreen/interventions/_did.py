"""Difference-in-differences on attendance before and after the help (statsmodels)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen.evaluation import SMALL_COUNT
from riskscreen.interventions._result import (
    AS_OF,
    EffectEstimate,
    TooFewPupilsError,
    cluster_codes,
    count_text,
    naive_difference,
    ols,
)

OWNER = "estimate_did"
PERIODS = {"outcome_pre2": "earlier period", "outcome_pre": "before", "outcome": "after"}


@dataclass(frozen=True, repr=False)
class DiDEstimate(EffectEstimate):
    """The change in the helped pupils' outcome beyond the unhelped pupils' change.

    Attributes (besides those of every estimate)
    ----------
    means : DataFrame
        Mean outcome of helped and unhelped pupils in each period (the earlier
        period only when the data reach back far enough).
    placebo : dict or None
        The same comparison one period earlier, before any help (``estimate``,
        ``ci_low``, ``ci_high``): an interval away from zero means the groups were
        already drifting apart, and the parallel-trends assumption is doubtful.
    """

    means: pd.DataFrame = field(default_factory=pd.DataFrame)
    placebo: dict | None = None
    notes: tuple[str, ...] = ()

    _COUNT_GROUPS = (("helped", "unhelped"),)

    def _population(self) -> str:
        return f"{self._count_words('helped')}pupils helped"

    def diagnostics(self) -> pd.DataFrame:
        rows = {
            "gap before help (helped - unhelped)": float(
                self.means.loc["helped", "before"] - self.means.loc["unhelped", "before"]
            )
        }
        if self.placebo is not None:
            rows["placebo estimate (earlier period)"] = self.placebo["estimate"]
            rows["placebo CI low"] = self.placebo["ci_low"]
            rows["placebo CI high"] = self.placebo["ci_high"]
        return pd.DataFrame({"value": pd.Series(rows, dtype=float)})

    def plot(self, ax=None):
        """Mean outcome of helped and unhelped pupils, period by period (a TrendsDisplay)."""
        from riskscreen.interventions._plots import TrendsDisplay

        return TrendsDisplay.from_estimate(self).plot(ax=ax)


def _fit(change: np.ndarray, t: np.ndarray, dates, groups, level: float):
    dummies = pd.get_dummies(pd.Series(dates), dtype=float).to_numpy()
    X = np.column_stack([t.astype(float), dummies])
    fit = ols(change, X, groups=groups, needed_for=OWNER)
    low, high = fit.conf_int(alpha=1 - level)[0]
    return fit, float(low), float(high)


def estimate_did(study, *, min_pupils: int = 20, level: float = 0.95) -> DiDEstimate:
    """Difference-in-differences: did the helped pupils' outcome change more?

    Each pupil's outcome after the list (``[as_of, as_of + horizon)``) minus the
    same measure before it (``outcome_pre``) is regressed on help with one
    intercept per as-of date (ordinary least squares in statsmodels, standard
    errors clustered by pupil): the two-period difference-in-differences. It
    assumes that, without help, helped and unhelped pupils would have changed
    alike (parallel trends). Pupils picked *because* their attendance had just
    dropped tend to recover anyway, which this assumption ignores; the placebo
    comparison one period earlier is reported to show such drifts.

    Parameters
    ----------
    study : Study
        Built with an attendance outcome (``outcome="attendance_rate"`` or
        ``"sessions_missed"``), so it holds ``outcome_pre``.
    min_pupils : int, default 20
        Refuse (:class:`TooFewPupilsError`) with fewer helped or unhelped pupils.
    level : float, default 0.95

    Returns
    -------
    DiDEstimate
    """
    if "outcome_pre" not in study.frame:
        raise ValueError(
            f"{OWNER} needs the outcome before the list as well as after: build the study with "
            "outcome='attendance_rate' or 'sessions_missed'."
        )
    if not (0 < level < 1):
        raise ValueError(f"The 'level' parameter of {OWNER} must be in (0, 1). Got {level!r}.")
    frame = study.frame
    ok = frame["outcome_pre"].notna().to_numpy()
    t = study.treated[ok]
    n_t, n_c = int(t.sum()), int((~t).sum())
    if min(n_t, n_c) < min_pupils:
        raise TooFewPupilsError(
            f"{OWNER} needs at least {min_pupils} helped and {min_pupils} unhelped pupils with "
            f"the outcome before and after; the study has {count_text(n_t)} helped and "
            f"{count_text(n_c)} unhelped."
        )
    sub = frame[ok]
    groups = cluster_codes(sub.index)
    dates = sub.index.get_level_values(AS_OF)
    change = (sub["outcome"] - sub["outcome_pre"]).to_numpy(dtype=float)
    fit, low, high = _fit(change, t, dates, groups, level)
    placebo = None
    notes = []
    if "outcome_pre2" in sub and sub["outcome_pre2"].notna().sum() >= 2 * min_pupils:
        has = sub["outcome_pre2"].notna().to_numpy()
        if min(int(t[has].sum()), int((~t[has]).sum())) >= min_pupils:
            before = (sub["outcome_pre"] - sub["outcome_pre2"]).to_numpy(dtype=float)[has]
            pfit, plow, phigh = _fit(before, t[has], dates[has], groups[has], level)
            placebo = {"estimate": float(pfit.params[0]), "ci_low": plow, "ci_high": phigh}
            if not plow <= 0 <= phigh:
                notes.append(
                    "Placebo: the helped pupils' outcome was already changing differently in "
                    "the period before the list, so the parallel-trends assumption is doubtful "
                    "(e.g. pupils chosen after a dip recover anyway)."
                )
    means = _means(sub, t)
    ok_study = _subset(study, ok)
    return DiDEstimate(
        method="DiD",
        estimand="ATT",
        outcome=study.outcome,
        outcome_kind=study.outcome_kind,
        horizon=study.horizon.text,
        estimate=float(fit.params[0]),
        se=float(fit.bse[0]),
        ci_low=low,
        ci_high=high,
        p_value=float(fit.pvalues[0]),
        level=level,
        naive=naive_difference(ok_study, groups, level),
        counts={"helped": n_t, "unhelped": n_c},
        means=means,
        placebo=placebo,
        notes=(
            "Outcome after minus before, regressed on help with an intercept per as-of date; "
            "standard errors clustered by pupil.",
            *notes,
        ),
    )


def _subset(study, ok):
    from dataclasses import replace

    return replace(study, frame=study.frame[ok], confounders=study.confounders[ok])


def _means(sub: pd.DataFrame, t: np.ndarray) -> pd.DataFrame:
    cols = [c for c in PERIODS if c in sub]
    groups = {"helped": t, "unhelped": ~t}
    out = pd.DataFrame(
        {name: sub.loc[mask, cols].mean() for name, mask in groups.items()}
    ).T.rename(columns=PERIODS)
    for name, mask in groups.items():
        if int(mask.sum()) < SMALL_COUNT:
            out.loc[name] = np.nan
    return out
