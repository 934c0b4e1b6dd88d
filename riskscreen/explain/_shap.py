"""SHAP values of the model margin (log-odds): tree SHAP for LightGBM, exact linear SHAP.

* **LightGBM** (:class:`~riskscreen.training.LGBMRiskModel`, ``lightgbm.LGBMClassifier``
  or a ``Booster``): LightGBM's own ``pred_contrib`` -- path-dependent tree SHAP,
  exact for the trees, with the training cover of each node as the background. It
  is what ``shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")``
  computes (and agrees with shap's own implementation to 1e-12), without
  importing shap. Interventional tree SHAP is not offered: in current shap its
  values do not add up to the margin.
* **Scorecard** (:class:`~riskscreen.training.LogisticScorecard`): the margin is
  linear in the one-hot bins (or spline basis), so each feature's exact SHAP value
  is ``sum over its bins of coef * (bin - mean of the bin in the background)``. The
  background is the training rows (their bin counts are kept by the scorecard);
  for spline scorecards, the rows being explained.
* **Linear models** with ``coef_`` and ``intercept_``: ``coef * (x - mean x)``
  over the rows being explained.

Values always add up to the margin: ``values.sum(axis=1) + base_value ==
decision_function(X)``. A calibrated probability (isotonic or sigmoid map of the
margin) is not what is explained: the map is monotone, so the reasons for the
ranking are the reasons for the margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

TREE_METHOD = "tree SHAP (LightGBM pred_contrib, path-dependent)"
#: Largest tolerated gap between the values' sum and the model margin.
ADDITIVITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Contributions:
    """SHAP values of one model on some rows (a private building block of Explanation)."""

    values: np.ndarray
    base_value: float
    margin: np.ndarray
    method: str


def _lightgbm_parts(model):
    """(booster, num_iteration) of a LightGBM model, or None if it is not one."""
    estimator = getattr(model, "estimator_", model)  # LGBMRiskModel keeps LGBMClassifier
    booster = getattr(estimator, "booster_", None)
    if booster is None and type(estimator).__name__ == "Booster":
        booster = estimator
    if booster is None or not hasattr(booster, "predict"):
        return None
    rounds = getattr(model, "best_iteration_", None) or getattr(estimator, "best_iteration_", None)
    return booster, (int(rounds) if rounds else None)


def tree_contributions(
    model, X: np.ndarray, *, n_jobs: int | None = None, margin=None
) -> Contributions:
    """LightGBM's path-dependent tree SHAP (``pred_contrib``) and its margin.

    ``margin``: the model's raw score of the rows if already known (it is then not
    predicted again).
    """
    booster, rounds = _lightgbm_parts(model)
    threads = {} if n_jobs is None else {"num_threads": int(n_jobs)}
    if len(X) == 0:  # LightGBM cannot predict no rows; the base value is the same for all
        probe = booster.predict(
            np.full((1, X.shape[1]), np.nan), pred_contrib=True, num_iteration=rounds
        )
        base = float(np.asarray(probe)[0, -1])
        return Contributions(np.zeros((0, X.shape[1])), base, np.zeros(0), TREE_METHOD)
    out = booster.predict(X, pred_contrib=True, num_iteration=rounds, **threads)
    out = np.asarray(out.toarray() if sparse.issparse(out) else out, dtype=float)
    if out.shape[1] != X.shape[1] + 1:
        raise ValueError(
            "explain supports binary LightGBM models only; pred_contrib returned "
            f"{out.shape[1]} columns for {X.shape[1]} features."
        )
    values, base = out[:, :-1], out[:, -1]
    if margin is None:
        margin = booster.predict(X, raw_score=True, num_iteration=rounds, **threads)
    return Contributions(
        values=values,  # a view: no copy of an n x p matrix
        base_value=float(base[0]) if len(base) else 0.0,
        margin=np.asarray(margin, dtype=float),
        method=TREE_METHOD,
    )


def _scorecard_blocks(card) -> tuple[sparse.csr_matrix, np.ndarray | None]:
    """Design column -> feature membership, and the training mean of each design column."""
    if card.binning == "quantile":
        p = len(card.cuts_)
        widths = np.array([len(c) + 2 for c in card.cuts_])
        owner = np.repeat(np.arange(p), widths)
        counts = card.points_["n_train"].to_numpy(dtype=float)
        n_rows = counts[: widths[0]].sum()
        mean = counts / n_rows if n_rows > 0 else None
    else:
        p = card.n_features_in_
        n_basis = card.spline_.n_features_out_ // p
        owner = np.r_[np.repeat(np.arange(p), n_basis), np.arange(p)]
        mean = None
    blocks = sparse.csr_matrix(
        (np.ones(len(owner)), (np.arange(len(owner)), owner)), shape=(len(owner), p)
    )
    return blocks, mean


def scorecard_contributions(card, X: np.ndarray) -> Contributions:
    """Exact linear SHAP of a :class:`LogisticScorecard` on its binned design."""
    design = card._design(X)
    coef = np.asarray(card.coef_, dtype=float)
    blocks, mean = _scorecard_blocks(card)
    if mean is None:  # spline basis: the explained rows are the background
        mean = np.asarray(design.mean(axis=0)).ravel()
        background = "the rows explained"
    else:
        background = "the training rows"
    weighted = sparse.csr_matrix(design) @ sparse.diags(coef) @ blocks
    values = np.asarray(weighted.todense()) - (mean * coef) @ blocks
    base = float(card.intercept_ + mean @ coef)
    margin = np.asarray(design @ coef).ravel() + card.intercept_
    return Contributions(
        values=np.asarray(values, dtype=float),
        base_value=base,
        margin=margin,
        method=f"exact linear SHAP on the scorecard's bins (background: {background})",
    )


def linear_contributions(model, X: np.ndarray) -> Contributions:
    """Exact linear SHAP of a model with ``coef_``/``intercept_``, background = X."""
    coef = np.asarray(model.coef_, dtype=float).reshape(-1)
    if coef.shape[0] != X.shape[1]:
        raise ValueError(
            f"explain needs one coefficient per feature; the model has {coef.shape[0]} for "
            f"{X.shape[1]} features."
        )
    intercept = float(np.ravel(getattr(model, "intercept_", 0.0))[0])
    mean = X.mean(axis=0)
    return Contributions(
        values=(X - mean) * coef,
        base_value=float(intercept + mean @ coef),
        margin=X @ coef + intercept,
        method="exact linear SHAP (background: the rows explained)",
    )


def contributions(
    model, X: pd.DataFrame, *, n_jobs: int | None = None, margin=None
) -> Contributions:
    """SHAP values of ``model``'s margin on the rows of ``X`` (see the module docstring).

    ``margin``: the model's known margin of the rows (e.g. a screening's scores);
    the values are checked to add up to it (else to the margin computed here).
    """
    from riskscreen.training import LogisticScorecard

    arr = X.to_numpy(dtype=np.float64, copy=False)
    if isinstance(model, LogisticScorecard):
        out = scorecard_contributions(model, arr)
    elif _lightgbm_parts(model) is not None:
        out = tree_contributions(model, arr, n_jobs=n_jobs, margin=margin)
    elif hasattr(model, "coef_") and hasattr(model, "intercept_"):
        if np.isnan(arr).any():
            raise ValueError("explain: a linear model cannot explain rows with missing values.")
        out = linear_contributions(model, arr)
    else:
        raise TypeError(
            "explain supports LGBMRiskModel, LogisticScorecard, LightGBM models and linear "
            f"models with coef_ (or a Screener holding one). Got {type(model).__name__}."
        )
    check_additivity(out, margin)
    return out


def check_additivity(out: Contributions, margin=None) -> float:
    """Largest gap between ``values.sum + base_value`` and the margin; raise past 1e-6."""
    target = out.margin if margin is None else np.asarray(margin, dtype=float)
    if len(target) == 0:
        return 0.0
    gap = float(np.max(np.abs(out.values.sum(axis=1) + out.base_value - target)))
    if not gap <= ADDITIVITY_TOLERANCE:
        raise RuntimeError(
            f"SHAP values do not add up to the model margin (largest gap {gap:.2e} > "
            f"{ADDITIVITY_TOLERANCE:.0e}); the explanation would be wrong."
        )
    return gap
