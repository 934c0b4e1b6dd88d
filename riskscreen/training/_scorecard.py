"""Logistic scorecard: binned features + regularised logistic regression, read as points."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from riskscreen.evaluation._disclosure import suppress_table
from riskscreen.training._base import LogOddsClassifierMixin, monotone_vector


class LogisticScorecard(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """Binned features and an L2-regularised logistic regression, read as points.

    Each feature is cut into bins (quantile bins; a feature with few distinct
    values gets one bin per value; missing values get their own bin). A logistic
    regression on the one-hot bins gives one coefficient per bin, which is shown
    as *points* scaled like a credit scorecard (PDO style): within each feature
    the lowest-risk bin scores 0, and ``pdo`` more points double the odds of the
    outcome. The score is ``base_points_ + sum of the pupil's bin points`` and a
    score of ``base_score`` corresponds to odds of ``base_odds`` (default 1:49,
    a 2% risk); higher points mean higher risk.

    ``binning="spline"`` replaces bins by a cubic spline basis per feature (smooth
    effects); ``points_`` then lists each feature's points at its quantile grid.

    Parameters
    ----------
    n_bins : int, default=10
        Maximum quantile bins per feature (spline: number of knots).
    binning : {"quantile", "spline"}, default="quantile"
    C : float, default=0.1
        Inverse L2 regularisation strength of the logistic regression. With ~60
        features of ~12 bins each, strong shrinkage (0.1) ranked the top 5% better
        than C=1 on every synthetic LA tried (8k-10k pupils, two seeds).
    pdo : float, default=20
        Points to double the odds.
    base_score : float, default=200
    base_odds : float, default=1/49
    max_iter : int, default=1000
    tail_quantiles : tuple of float, default=(0.95, 0.99)
        Extra quantile cut points, so the riskiest few percent - where a panel's
        capacity falls - get bins of their own.
    monotone_constraints : dict, sequence or feature spec, optional
        ``{feature: +1 | -1}``: points may only rise (+1) or fall (-1) from bin to
        bin of that feature (quantile binning only), as for :class:`LGBMRiskModel`.

    Attributes
    ----------
    points_ : DataFrame
        feature, bin, lower, upper, points (and n_train: training rows in the bin).
    base_points_ : float
    scorecard_ : DataFrame
        ``points_`` with a first "base points" row; :meth:`to_frame` is the card
        to print (small counts hidden).
    classes_, feature_names_in_, n_features_in_, coef_, intercept_

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"absence": rng.random(500)})
    >>> y = (rng.random(500) < X["absence"] * 0.5).astype(int)
    >>> card = LogisticScorecard(n_bins=4).fit(X, y)
    >>> card.points_["points"].iloc[-1] > card.points_["points"].iloc[0]
    True
    """

    def __init__(
        self,
        n_bins: int = 10,
        *,
        binning: str = "quantile",
        C: float = 0.1,
        pdo: float = 20.0,
        base_score: float = 200.0,
        base_odds: float = 1 / 49,
        max_iter: int = 1000,
        tail_quantiles: tuple[float, ...] = (0.95, 0.99),
        monotone_constraints=None,
    ) -> None:
        self.n_bins = n_bins
        self.binning = binning
        self.C = C
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.max_iter = max_iter
        self.tail_quantiles = tail_quantiles
        self.monotone_constraints = monotone_constraints

    # -- binning -------------------------------------------------------------------------
    def _fit_bins(self, X: np.ndarray) -> None:
        self.cuts_, self.bin_labels_, self.missing_code_ = [], [], []
        for j in range(X.shape[1]):
            x = X[:, j]
            has_missing = bool(np.isnan(x).any())
            x = x[~np.isnan(x)]
            values = np.unique(x)
            if values.size <= self.n_bins:
                cuts = (values[1:] + values[:-1]) / 2
                labels = [f"= {_fmt(v)}" for v in values]
            else:
                levels = np.linspace(0, 1, self.n_bins + 1)[1:-1]
                levels = np.union1d(levels, [q for q in self.tail_quantiles if 0 < q < 1])
                qs = np.quantile(x, levels, method="lower")
                cuts = np.unique(qs)
                # a cut at the minimum would leave an empty first bin
                cuts = cuts[cuts > values[0]]
                edges = np.r_[-np.inf, cuts, np.inf]
                labels = [
                    f"[{_fmt(lo)}, {_fmt(hi)})" if np.isfinite(lo) else f"< {_fmt(hi)}"
                    for lo, hi in zip(edges[:-1], edges[1:], strict=True)
                ]
                labels[-1] = f">= {_fmt(edges[-2])}" if len(edges) > 2 else "all"
            if values.size == 0:
                cuts, labels = np.array([]), ["all"]
            cuts = np.asarray(cuts, dtype=float)
            self.cuts_.append(cuts)
            self.bin_labels_.append(labels + ["missing"])
            # no missing values in training: a later missing value joins the commonest bin
            if has_missing or x.size == 0:
                self.missing_code_.append(len(cuts) + 1)
            else:
                codes = np.searchsorted(cuts, x, side="right")
                self.missing_code_.append(int(np.bincount(codes).argmax()))

    def _bin_codes(self, X: np.ndarray) -> sparse.csr_matrix:
        n, offset = X.shape[0], 0
        cols = np.empty((n, len(self.cuts_)), dtype=np.int64)
        for j, cuts in enumerate(self.cuts_):
            x = X[:, j]
            code = np.searchsorted(cuts, x, side="right")
            cols[:, j] = np.where(np.isnan(x), self.missing_code_[j], code) + offset
            offset += len(cuts) + 2
        # one entry per feature and row, columns ascending: CSR without a COO sort
        indptr = np.arange(n + 1) * cols.shape[1]
        return sparse.csr_matrix((np.ones(cols.size), cols.ravel(), indptr), shape=(n, offset))

    def _fit_splines(self, X: np.ndarray) -> None:
        from sklearn.preprocessing import SplineTransformer

        self.medians_ = np.array(
            [
                np.nanmedian(X[:, j]) if np.isfinite(X[:, j]).any() else 0.0
                for j in range(X.shape[1])
            ]
        )
        filled = np.where(np.isnan(X), self.medians_, X)
        self.spline_ = SplineTransformer(
            n_knots=max(2, int(self.n_bins)), degree=3, knots="quantile", extrapolation="constant"
        ).fit(filled)

    def _design(self, X: np.ndarray):
        if self.binning == "quantile":
            return self._bin_codes(X)
        filled = np.where(np.isnan(X), self.medians_, X)
        missing = np.isnan(X).astype(float)
        return np.hstack([self.spline_.transform(filled), missing])

    # -- estimator API ---------------------------------------------------------------------
    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        if self.binning not in ("quantile", "spline"):
            raise ValueError(
                "The 'binning' parameter of LogisticScorecard must be 'quantile' or 'spline'. "
                f"Got {self.binning!r} instead."
            )
        if not isinstance(self.n_bins, (int, np.integer)) or self.n_bins < 2:
            raise ValueError(
                "The 'n_bins' parameter of LogisticScorecard must be an integer >= 2. "
                f"Got {self.n_bins!r} instead."
            )
        if not self.pdo > 0:
            raise ValueError(
                f"The 'pdo' parameter of LogisticScorecard must be positive. Got {self.pdo!r}."
            )
        X, y_enc, names = self._validate_binary(X, y)
        if self.binning == "quantile":
            self._fit_bins(X)
        else:
            self._fit_splines(X)
        design = self._design(X)
        monotone = monotone_vector(self.monotone_constraints, names, owner="LogisticScorecard")
        self.monotone_constraints_ = monotone
        if monotone is not None and any(monotone):
            if self.binning != "quantile":
                raise ValueError(
                    "The 'monotone_constraints' parameter of LogisticScorecard needs "
                    f"binning='quantile'. Got binning={self.binning!r}."
                )
            self._fit_monotone(design, y_enc, monotone)
        else:
            logreg = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(design, y_enc)
            self.coef_ = logreg.coef_.ravel()
            self.intercept_ = float(logreg.intercept_[0])
            self.n_iter_ = logreg.n_iter_
        self._make_points(X, design)
        return self

    def _fit_monotone(self, design, y: np.ndarray, monotone: list[int]) -> None:
        """L2 logistic regression whose bin coefficients rise (or fall) with the bins.

        Constrained features are coded as signed steps ``+-1[bin >= b]`` (sign of the
        hint) with non-negative coefficients, so points can only rise (+1) or fall
        (-1) from bin to bin; the missing bin stays free. Unconstrained features keep
        one-hot coding. The objective is ``C * log-loss + ||w||^2 / 2`` over these
        coefficients (for a constrained feature the penalty falls on its bin-to-bin
        steps); the intercept is not penalised. Solved by projected Newton on the
        sparse step design (:mod:`riskscreen.training._scorecard_solver`).
        """
        from riskscreen.training._scorecard_solver import fit_nonneg_logistic

        rows, cols, signs, nonneg = [], [], [], []
        offset = out = 0
        for j, labels in enumerate(self.bin_labels_):
            width = len(labels)
            n_bins = width - 1  # the last column is the missing bin
            if monotone[j]:
                for c in range(1, n_bins):  # onehot column c feeds steps 1..c
                    rows += [offset + c] * c
                    cols += list(range(out, out + c))
                    signs += [float(np.sign(monotone[j]))] * c
                nonneg += [True] * (n_bins - 1)
                out += n_bins - 1
                rows.append(offset + n_bins)  # missing bin: free
                cols.append(out)
                signs.append(1.0)
                nonneg.append(False)
                out += 1
            else:
                rows += list(range(offset, offset + width))
                cols += list(range(out, out + width))
                signs += [1.0] * width
                nonneg += [False] * width
                out += width
            offset += width
        T = sparse.csr_matrix((signs, (rows, cols)), shape=(offset, out))
        method = "newton" if out + 1 <= _NEWTON_MAX_WIDTH else "lbfgsb"
        x, n_iter, converged = fit_nonneg_logistic(
            design, y, np.array(nonneg), float(self.C), int(self.max_iter), T=T, method=method
        )
        if not converged:
            from sklearn.exceptions import ConvergenceWarning

            warnings.warn(
                f"LogisticScorecard: the monotone fit did not converge in "
                f"max_iter={self.max_iter} iterations; increase max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.coef_ = np.asarray(T @ x[:-1]).ravel()
        self.intercept_ = float(x[-1])
        self.n_iter_ = np.array([n_iter])

    def _make_points(self, X: np.ndarray, design) -> None:
        factor = self.pdo / np.log(2)
        names = (
            list(self.feature_names_in_)
            if hasattr(self, "feature_names_in_")
            else [f"x{j}" for j in range(X.shape[1])]
        )
        rows = []
        shift_total = 0.0
        if self.binning == "quantile":
            counts = np.asarray(design.sum(axis=0)).ravel()
            offset = 0
            for j, labels in enumerate(self.bin_labels_):
                width = len(labels)
                coefs = self.coef_[offset : offset + width]
                seen = counts[offset : offset + width] > 0
                low = coefs[seen].min() if seen.any() else 0.0
                shift_total += low
                edges = np.r_[-np.inf, self.cuts_[j], np.inf]
                for b, label in enumerate(labels):
                    is_missing = b == width - 1
                    coef_b = coefs[self.missing_code_[j]] if is_missing else coefs[b]
                    rows.append(
                        {
                            "feature": names[j],
                            "bin": label,
                            "lower": np.nan if is_missing else edges[b],
                            "upper": np.nan if is_missing else edges[b + 1],
                            "points": factor * (coef_b - low),
                            "n_train": int(counts[offset + b]),
                        }
                    )
                offset += width
        else:
            n_basis = self.spline_.n_features_out_ // X.shape[1]
            n_out = self.spline_.n_features_out_
            all_basis = self.spline_.transform(np.where(np.isnan(X), self.medians_, X))
            grid_q = np.linspace(0, 1, self.n_bins + 1)
            for j in range(X.shape[1]):
                block = slice(j * n_basis, (j + 1) * n_basis)
                xj = X[:, j]
                finite = xj[~np.isnan(xj)]
                grid = np.unique(np.quantile(finite, grid_q)) if finite.size else np.array([0.0])
                probe = np.tile(self.medians_, (len(grid), 1))
                probe[:, j] = grid
                contrib = self.spline_.transform(probe)[:, block] @ self.coef_[block]
                miss = self.coef_[n_out + j]
                # feature j's contribution over the training rows anchors 0 points
                train_contrib = all_basis[:, block] @ self.coef_[block] + miss * np.isnan(xj)
                low = float(train_contrib.min())
                shift_total += low
                for g, c in zip(grid, contrib, strict=True):
                    rows.append(
                        {
                            "feature": names[j],
                            "bin": f"x = {_fmt(g)}",
                            "lower": g,
                            "upper": g,
                            "points": factor * (c - low),
                            "n_train": np.nan,
                        }
                    )
                rows.append(
                    {
                        "feature": names[j],
                        "bin": "missing",
                        "lower": np.nan,
                        "upper": np.nan,
                        "points": factor * (_median_contrib(self, j, n_basis) + miss - low),
                        "n_train": int(np.isnan(xj).sum()),
                    }
                )
        self.points_ = pd.DataFrame(rows)
        self.base_points_ = float(
            self.base_score + factor * (self.intercept_ + shift_total - np.log(self.base_odds))
        )
        self.scorecard_ = pd.concat(
            [
                pd.DataFrame(
                    [
                        {
                            "feature": "(base points)",
                            "bin": "",
                            "lower": np.nan,
                            "upper": np.nan,
                            "points": self.base_points_,
                            "n_train": np.nan,
                        }
                    ]
                ),
                self.points_,
            ],
            ignore_index=True,
        )

    def to_frame(self) -> pd.DataFrame:
        """The scorecard as a person may read it: base points, then points per feature bin.

        ``n_train`` (training rows in the bin) passes the small-number rule: counts
        of 1-4 are hidden (<NA>), with the next smallest bin of the same feature,
        since a feature's bins add up to the training rows; ``suppressed`` marks
        those rows. ``points_`` keeps the raw counts for the analyst.
        """
        check_is_fitted(self, "scorecard_")
        return suppress_table(self.scorecard_, ["n_train"], by="feature")

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the outcome."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return np.asarray(self._design(X) @ self.coef_).ravel() + self.intercept_

    def score_points(self, X) -> np.ndarray:
        """Total scorecard points (``base_score`` at odds ``base_odds``; +pdo doubles odds)."""
        logit = self.decision_function(X)
        return self.base_score + self.pdo / np.log(2) * (logit - np.log(self.base_odds))


#: Wider monotone designs are fitted by L-BFGS-B: projected Newton builds a dense
#: width x width Hessian (width^2 per row and iteration).
_NEWTON_MAX_WIDTH = 1500


def _median_contrib(card: LogisticScorecard, j: int, n_basis: int) -> float:
    probe = card.medians_[None, :].copy()
    basis = card.spline_.transform(probe)[:, j * n_basis : (j + 1) * n_basis]
    return float((basis @ card.coef_[j * n_basis : (j + 1) * n_basis])[0])


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return str(v)
    return f"{v:.4g}"
