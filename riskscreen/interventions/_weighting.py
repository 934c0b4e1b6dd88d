"""Inverse-probability weighting and augmented IPW (doubly robust, cross-fitted)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen.interventions._overlap import (
    ESTIMANDS,
    FEATURE_PENALTY,
    check_groups,
    check_overlap,
    confounder_matrix,
    default_outcome_model,
    default_propensity_model,
    effective_size,
    folds,
    outcome_predictions,
    propensity,
    smd,
    trim_mask,
    weights,
)
from riskscreen.interventions._result import (
    EffectEstimate,
    cluster_codes,
    naive_difference,
    ols,
)

#: An absolute standardised mean difference above this is a visible imbalance.
SMD_THRESHOLD = 0.1


@dataclass(frozen=True, repr=False)
class WeightingEstimate(EffectEstimate):
    """An IPW or AIPW effect estimate with its overlap and balance diagnostics.

    Attributes (besides those of every estimate)
    ----------
    propensity : Series
        Each study row's estimated probability of help given the confounders
        (out of fold for AIPW), indexed like the study.
    treated : Series of bool
        Whether each row was helped.
    weights : Series
        The weight of each row in the estimate (0 where trimmed).
    kept : Series of bool
        Rows inside the trimming bounds: the population the estimate is about.
    balance : DataFrame
        Per confounder, the standardised mean difference before and after weighting.
    trim : float
    effective_sizes : dict
        Kish's effective sample size of the helped and unhelped pupils.
    """

    propensity: pd.Series = field(default_factory=pd.Series)
    treated: pd.Series = field(default_factory=pd.Series)
    weights: pd.Series = field(default_factory=pd.Series)
    kept: pd.Series = field(default_factory=pd.Series)
    balance: pd.DataFrame = field(default_factory=pd.DataFrame)
    trim: float = 0.05
    effective_sizes: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    _COUNT_GROUPS = (
        ("helped (kept)", "helped (trimmed)"),
        ("unhelped (kept)", "unhelped (trimmed)"),
    )

    def _population(self) -> str:
        if self.estimand == "ATT":
            return f"{self._count_words('helped (kept)')}pupils helped"
        return "all pupils within the overlap bounds"

    def diagnostics(self) -> pd.DataFrame:
        """Overlap and balance in figures (counts of pupils: see counts_frame)."""
        bal = self.balance
        rows = {"trimming bound": self.trim}
        if self.estimand == "ATE":  # for ATT every helped pupil weighs 1: it is a count
            rows["effective helped pupils"] = self.effective_sizes.get("helped")
        rows |= {
            "effective unhelped pupils": self.effective_sizes.get("unhelped"),
            "largest |SMD| before weighting": float(bal["smd_before"].abs().max()),
            "largest |SMD| after weighting": float(bal["smd_after"].abs().max()),
            f"confounders with |SMD| > {SMD_THRESHOLD} after": float(
                (bal["smd_after"].abs() > SMD_THRESHOLD).sum()
            ),
        }
        return pd.DataFrame({"value": pd.Series(rows, dtype=float)})

    def plot_overlap(self, ax=None):
        """Propensity distributions of helped and unhelped pupils (a PropensityDisplay)."""
        from riskscreen.interventions._plots import PropensityDisplay

        return PropensityDisplay.from_estimate(self).plot(ax=ax)

    def plot_balance(self, ax=None, max_confounders: int = 20):
        """Love plot of standardised mean differences before and after (a BalanceDisplay)."""
        from riskscreen.interventions._plots import BalanceDisplay

        return BalanceDisplay.from_estimate(self, max_confounders=max_confounders).plot(ax=ax)


def _check(study, estimand, trim, n_folds, level, owner, feature_penalty=1.0):
    if not (isinstance(feature_penalty, (int, float)) and feature_penalty > 0):
        raise ValueError(
            f"The 'feature_penalty' parameter of {owner} must be a positive number. "
            f"Got {feature_penalty!r} instead."
        )
    if estimand not in ESTIMANDS:
        raise ValueError(
            f"The 'estimand' parameter of {owner} must be 'ATT' (effect on the pupils helped) "
            f"or 'ATE' (effect on everyone). Got {estimand!r} instead."
        )
    if not (isinstance(trim, (int, float)) and 0 <= trim < 0.5):
        raise ValueError(f"The 'trim' parameter of {owner} must be in [0, 0.5). Got {trim!r}.")
    if not (isinstance(n_folds, int) and n_folds >= 2):
        raise ValueError(f"The 'n_folds' parameter of {owner} must be an integer >= 2.")
    if not (0 < level < 1):
        raise ValueError(f"The 'level' parameter of {owner} must be in (0, 1). Got {level!r}.")
    if study.outcome_kind == "binary" and not np.isin(study.y, (0.0, 1.0)).all():
        raise ValueError(f"{owner}: a binary outcome must be 0/1.")


def _finish(
    study, method, estimand, fit_or_params, e, w, keep, t, X, level, trim, groups, notes
) -> WeightingEstimate:
    est, se, low, high, p = fit_or_params
    balance = pd.DataFrame(
        {
            "smd_before": smd(X, t),
            "smd_after": smd(X[keep], t[keep], w[keep]),
        }
    )
    balance.index.name = "confounder"
    index = study.frame.index
    counts = {
        "helped (kept)": int((t & keep).sum()),
        "unhelped (kept)": int((~t & keep).sum()),
        "helped (trimmed)": int((t & ~keep).sum()),
        "unhelped (trimmed)": int((~t & ~keep).sum()),
    }
    return WeightingEstimate(
        method=method,
        estimand=estimand,
        outcome=study.outcome,
        outcome_kind=study.outcome_kind,
        horizon=study.horizon.text,
        estimate=est,
        se=se,
        ci_low=low,
        ci_high=high,
        p_value=p,
        level=level,
        naive=naive_difference(study, groups, level),
        counts=counts,
        propensity=pd.Series(e, index=index, name="propensity"),
        treated=pd.Series(t, index=index, name="treated"),
        weights=pd.Series(np.where(keep, w, 0.0), index=index, name="weight"),
        kept=pd.Series(keep, index=index, name="kept"),
        balance=balance,
        trim=float(trim),
        effective_sizes={
            "helped": effective_size(w[t & keep]),
            "unhelped": effective_size(w[~t & keep]),
        },
        notes=tuple(notes),
    )


def _summary(fit, index: int, level: float):
    low, high = fit.conf_int(alpha=1 - level)[index]
    return (
        float(fit.params[index]),
        float(fit.bse[index]),
        float(low),
        float(high),
        float(fit.pvalues[index]),
    )


def estimate_ipw(
    study,
    *,
    estimand: str = "ATT",
    confounders=None,
    propensity_model=None,
    feature_penalty: float = FEATURE_PENALTY,
    trim: float = 0.05,
    max_trimmed: float = 0.5,
    min_pupils: int = 20,
    level: float = 0.95,
) -> WeightingEstimate:
    """Inverse-probability-weighted effect of help, with overlap and balance diagnostics.

    The propensity of help is modelled from the confounders (the risk score and the
    features known at the as-of date); rows whose propensity lies beyond the
    trimming bound are left out and counted; the effect is the weighted difference
    of mean outcomes (a weighted least-squares fit in statsmodels, standard errors
    clustered by pupil, the propensity taken as known).

    Parameters
    ----------
    study : Study
        From :func:`build_study`.
    estimand : {"ATT", "ATE"}, default "ATT"
        The effect on the pupils helped, or on every pupil (which needs helped and
        unhelped pupils at every level of risk: rarely so for a screening list).
    confounders : list of str, optional
        Columns of ``study.confounders`` to adjust for (default all).
    propensity_model : scikit-learn classifier, optional
        Default: logistic regression on the standardised confounders, the features
        other than the risk score penalised ``feature_penalty`` times more.
    feature_penalty : float, default 100
        How much more strongly the default models penalise the features than the
        risk score (1 treats them alike; worth lowering with thousands of pupils
        helped, or when help followed something the score does not see).
    trim : float, default 0.05
        Propensities above ``1 - trim`` (and, for ATE, below ``trim``) are trimmed.
    max_trimmed : float, default 0.5
        Refuse (:class:`OverlapError`) when a larger share of helped pupils is trimmed.
    min_pupils : int, default 20
        Refuse when fewer helped or unhelped pupils (or an effective sample size
        smaller than this) remain.
    level : float, default 0.95

    Returns
    -------
    WeightingEstimate
    """
    owner = "estimate_ipw"
    _check(study, estimand, trim, 2, level, owner, feature_penalty)
    t = study.treated
    check_groups(t, min_pupils, owner)
    X = confounder_matrix(study, confounders, owner)
    model = (
        default_propensity_model(X.columns, feature_penalty)
        if propensity_model is None
        else propensity_model
    )
    e = propensity(model, X, t)
    keep = trim_mask(e, estimand, trim)
    w = weights(e, t, estimand)
    check_overlap(t, keep, w, min_pupils=min_pupils, max_trimmed=max_trimmed, owner=owner)
    groups = cluster_codes(study.frame.index)
    design = np.column_stack([np.ones(int(keep.sum())), t[keep].astype(float)])
    fit = ols(study.y[keep], design, weights=w[keep], groups=groups[keep], needed_for=owner)
    notes = [
        "The interval treats the estimated propensity as known (weighted least squares "
        "with standard errors clustered by pupil); the AIPW estimate accounts for it."
    ]
    return _finish(
        study,
        "IPW",
        estimand,
        _summary(fit, 1, level),
        e,
        w,
        keep,
        t,
        X,
        level,
        trim,
        groups,
        notes,
    )


def estimate_aipw(
    study,
    *,
    estimand: str = "ATT",
    confounders=None,
    propensity_model=None,
    outcome_model=None,
    feature_penalty: float = FEATURE_PENALTY,
    n_folds: int = 5,
    trim: float = 0.05,
    max_trimmed: float = 0.5,
    min_pupils: int = 20,
    level: float = 0.95,
    random_state: int | None = 0,
) -> WeightingEstimate:
    """Augmented IPW (doubly robust, cross-fitted) effect of help.

    The propensity and the outcome without help (and, for ATE, with help) are
    modelled on the confounders in ``n_folds`` folds (stratified by help, a pupil's
    rows never split between folds) and predicted out of fold. The estimate is the
    mean of the doubly robust scores (Robins, Rotnitzky and Zhao 1994; the cross-
    fitted form of Chernozhukov et al. 2018; for ATT with normalised weights); its
    interval comes from their influence function, fitted as a mean in statsmodels
    with standard errors clustered by pupil. It stays consistent when either the
    propensity or the outcome model is right.

    Parameters
    ----------
    study : Study
    estimand : {"ATT", "ATE"}, default "ATT"
    confounders : list of str, optional
        Columns of ``study.confounders`` (default all).
    propensity_model : scikit-learn classifier, optional
        Default: as in :func:`estimate_ipw`.
    outcome_model : scikit-learn classifier or regressor, optional
        Default: logistic (0/1 outcomes) or ridge regression on the same inputs.
    feature_penalty : float, default 100
        As in :func:`estimate_ipw`.
    n_folds : int, default 5
    trim, max_trimmed, min_pupils, level :
        As in :func:`estimate_ipw`.
    random_state : int or None, default 0
        Seeds the folds.

    Returns
    -------
    WeightingEstimate
    """
    owner = "estimate_aipw"
    _check(study, estimand, trim, n_folds, level, owner, feature_penalty)
    t = study.treated
    y = study.y
    check_groups(t, max(min_pupils, n_folds), owner)
    X = confounder_matrix(study, confounders, owner)
    groups = cluster_codes(study.frame.index)
    splits = folds(t, groups, n_folds, random_state)
    pmodel = (
        default_propensity_model(X.columns, feature_penalty)
        if propensity_model is None
        else propensity_model
    )
    omodel = (
        default_outcome_model(study.outcome_kind, X.columns, feature_penalty)
        if outcome_model is None
        else outcome_model
    )
    e = propensity(pmodel, X, t, splits)
    keep = trim_mask(e, estimand, trim)
    w = weights(e, t, estimand)
    check_overlap(t, keep, w, min_pupils=min_pupils, max_trimmed=max_trimmed, owner=owner)
    arms = (0,) if estimand == "ATT" else (0, 1)
    m = outcome_predictions(omodel, X, y, t, splits, study.outcome_kind == "binary", arms)
    tk, yk, wk, ek = t[keep], y[keep], w[keep], e[keep]
    if estimand == "ATT":
        r = yk - m[0][keep]
        share_t = tk.mean()
        wc = np.where(tk, 0.0, wk)
        mu_t = r[tk].mean()
        mu_c = (wc * r).sum() / wc.sum()
        theta = mu_t - mu_c
        influence = tk * (r - mu_t) / share_t - wc * (r - mu_c) / wc.mean()
    else:
        m0, m1 = m[0][keep], m[1][keep]
        score = m1 - m0 + tk * (yk - m1) / ek - (~tk) * (yk - m0) / (1 - ek)
        theta = score.mean()
        influence = score - theta
    pseudo = theta + influence
    fit = ols(pseudo, np.ones((len(pseudo), 1)), groups=groups[keep], needed_for=owner)
    notes = [
        f"Cross-fitted in {n_folds} folds (a pupil's rows stay in one fold); interval from "
        "the influence function with standard errors clustered by pupil."
    ]
    return _finish(
        study,
        "AIPW",
        estimand,
        _summary(fit, 0, level),
        e,
        w,
        keep,
        t,
        X,
        level,
        trim,
        groups,
        notes,
    )
