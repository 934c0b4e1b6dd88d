"""Propensity scores, cross-fitting, trimming, effective sample size and balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from riskscreen.interventions._result import OverlapError, TooFewPupilsError, count_text

ESTIMANDS = ("ATT", "ATE")


#: Default penalty on the other confounders, relative to the risk score's (see _inputs).
FEATURE_PENALTY = 100.0


def _scale(X, factor: float):
    return X * factor


def _inputs(columns, feature_penalty: float) -> ColumnTransformer:
    """The confounders standardised, the features other than the risk score shrunk.

    The list's score already summarises what predicts the outcome and what the list
    (and so, largely, the help) followed; the other features correct it where it
    misses something. Scaling them by ``1 / sqrt(feature_penalty)`` after
    standardising makes the ridge penalty on their coefficients ``feature_penalty``
    times the score's, so a model fitted on a few hundred helped pupils does not
    overfit dozens of features (which biases weighting towards the naive answer).
    """
    others = [c for c in columns if c != "score"]
    shrink = make_pipeline(
        StandardScaler(), FunctionTransformer(_scale, kw_args={"factor": feature_penalty**-0.5})
    )
    parts = [("features", shrink, others)]
    if "score" in columns:
        parts.insert(0, ("score", StandardScaler(), ["score"]))
    return ColumnTransformer(parts)


def default_propensity_model(columns, feature_penalty: float = FEATURE_PENALTY):
    """Logistic regression on the score and the (more strongly penalised) features."""
    return make_pipeline(
        _inputs(columns, feature_penalty), LogisticRegression(C=1.0, max_iter=5000)
    )


def default_outcome_model(kind: str, columns, feature_penalty: float = FEATURE_PENALTY):
    """The same inputs into logistic (0/1 outcomes) or ridge regression."""
    last = (
        LogisticRegression(C=1.0, max_iter=5000)
        if kind == "binary"
        else RidgeCV(alphas=np.logspace(-2, 3, 11))
    )
    return make_pipeline(_inputs(columns, feature_penalty), last)


def confounder_matrix(study, confounders, owner: str) -> pd.DataFrame:
    """The confounder columns to adjust for (all by default), constant columns left out."""
    X = study.confounders
    if confounders is not None:
        names = [confounders] if isinstance(confounders, str) else list(confounders)
        missing = [c for c in names if c not in X.columns]
        if missing or not names:
            raise ValueError(
                f"The 'confounders' parameter of {owner} must name columns of "
                f"study.confounders (e.g. 'score'). Got {missing or names!r} instead."
            )
        X = X[names]
    X = X.fillna(X.median()).fillna(0.0)
    varying = X.columns[X.std(ddof=0).to_numpy() > 0]
    return X[varying]


def check_groups(t: np.ndarray, min_pupils: int, owner: str) -> None:
    n_t, n_c = int(t.sum()), int((~t).sum())
    if n_t < min_pupils or n_c < min_pupils:
        raise TooFewPupilsError(
            f"{owner} needs at least {min_pupils} helped and {min_pupils} unhelped pupils; the "
            f"study has {count_text(n_t)} helped and {count_text(n_c)} unhelped. Add as-of "
            "dates or pupils, or lower min_pupils knowingly."
        )


def folds(t: np.ndarray, groups: np.ndarray, n_folds: int, random_state):
    """Cross-fitting folds: pupils split into folds stratified by whether they were
    ever helped, so a pupil's rows never straddle two folds."""
    n_groups = int(groups.max()) + 1
    ever = np.zeros(n_groups, dtype=int)
    np.maximum.at(ever, groups, t.astype(int))
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    fold_of = np.empty(n_groups, dtype=int)
    for i, (_, test) in enumerate(cv.split(np.zeros(n_groups), ever)):
        fold_of[test] = i
    row_fold = fold_of[groups]
    rows = np.arange(len(t))
    return [(rows[row_fold != i], rows[row_fold == i]) for i in range(n_folds)]


def _predict(model, X) -> np.ndarray:
    if is_classifier(model):
        return model.predict_proba(X)[:, 1]
    return np.asarray(model.predict(X), dtype=float)


def _fit_predict(model, X_fit, y_fit, X_out, binary: bool) -> np.ndarray:
    """Fit on some rows and predict others; a single-class 0/1 target predicts its mean."""
    if binary and len(np.unique(y_fit)) < 2:
        return np.full(len(X_out), float(np.mean(y_fit)) if len(y_fit) else 0.0)
    fitted = clone(model).fit(
        X_fit, y_fit.astype(int) if binary and is_classifier(model) else y_fit
    )
    return _predict(fitted, X_out)


def propensity(model, X: pd.DataFrame, t: np.ndarray, splits=None) -> np.ndarray:
    """P(helped | confounders): in sample, or out of fold when ``splits`` are given."""
    if splits is None:
        return _fit_predict(model, X, t, X, binary=True)
    e = np.empty(len(t))
    for train, test in splits:
        e[test] = _fit_predict(model, X.iloc[train], t[train], X.iloc[test], binary=True)
    return e


def outcome_predictions(model, X, y, t, splits, binary: bool, arms=(0, 1)) -> dict[int, np.ndarray]:
    """Out-of-fold predictions of the outcome without (0) and with (1) help."""
    out = {a: np.empty(len(y)) for a in arms}
    for train, test in splits:
        for a in arms:
            rows = train[t[train] == bool(a)]
            out[a][test] = _fit_predict(model, X.iloc[rows], y[rows], X.iloc[test], binary)
    return out


def trim_mask(e: np.ndarray, estimand: str, trim: float) -> np.ndarray:
    """Rows kept: ATT drops propensities above ``1 - trim`` (no comparable unhelped pupils);
    ATE also drops those below ``trim``."""
    keep = e <= 1 - trim
    if estimand == "ATE":
        keep &= e >= trim
    return keep


def weights(e: np.ndarray, t: np.ndarray, estimand: str) -> np.ndarray:
    """Inverse-probability weights: ATT = 1 for helped, e/(1-e) for unhelped; ATE = 1/e, 1/(1-e)."""
    e = np.clip(e, 1e-12, 1 - 1e-12)
    if estimand == "ATT":
        return np.where(t, 1.0, e / (1 - e))
    return np.where(t, 1 / e, 1 / (1 - e))


def effective_size(w: np.ndarray) -> float:
    """Kish's effective sample size of weights: (sum w)^2 / sum w^2."""
    return float(w.sum() ** 2 / (w**2).sum()) if len(w) and (w**2).sum() > 0 else 0.0


def check_overlap(t, keep, w, *, min_pupils: int, max_trimmed: float, owner: str) -> None:
    """Refuse (OverlapError) when trimming or the weights leave too little to compare."""
    n_t = int(t.sum())
    lost = int((t & ~keep).sum())
    if n_t and lost / n_t > max_trimmed:
        raise OverlapError(
            f"{owner}: overlap fails - {count_text(lost)} of {count_text(n_t)} helped pupils "
            "have a propensity beyond the trimming bound, so no comparable unhelped pupils "
            "exist for them. Help looks like a sharp cut-off on risk: use "
            "estimate_discontinuity, or raise 'trim' knowingly."
        )
    kt, kc = t & keep, ~t & keep
    ess_c = effective_size(w[kc])
    ess_t = effective_size(w[kt])
    if min(int(kt.sum()), int(kc.sum())) < min_pupils or min(ess_c, ess_t) < min_pupils:
        raise OverlapError(
            f"{owner}: overlap fails - after trimming, the weights rest on an effective "
            f"{ess_t:.0f} helped and {ess_c:.0f} unhelped pupils (at least {min_pupils} "
            "needed): the few unhelped pupils who resemble the helped ones would carry the "
            "whole estimate. Use estimate_discontinuity, or add pupils or as-of dates."
        )


def smd(X: pd.DataFrame, t: np.ndarray, w: np.ndarray | None = None) -> pd.Series:
    """Standardised mean differences (helped minus unhelped, optionally weighted), each
    divided by the unweighted pooled standard deviation."""
    Xv = X.to_numpy(dtype=float)
    sd = np.sqrt((Xv[t].var(axis=0) + Xv[~t].var(axis=0)) / 2)
    wt = np.ones(int(t.sum())) if w is None else w[t]
    wc = np.ones(int((~t).sum())) if w is None else w[~t]
    diff = np.average(Xv[t], axis=0, weights=wt) - np.average(Xv[~t], axis=0, weights=wc)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(sd > 0, diff / np.where(sd > 0, sd, 1.0), 0.0)
    return pd.Series(out, index=X.columns)
