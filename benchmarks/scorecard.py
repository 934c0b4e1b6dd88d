"""Benchmark: the monotone LogisticScorecard's solver against alternatives and LightGBM.

Builds synthetic data of the demo's design itself (no files needed): 57,327 rows at
5 as-of dates, 65 features - 8 correlated attendance/absence rates (12-13 bins),
6 other continuous features (two with missing values, one mostly zero), 12 counts,
30 binary flags, 8 missing-value indicators and a year group - about 370 bins, 51
monotone hints and a ~6% outcome. ``--wide`` instead makes all 65 features
continuous (~13 bins each, ~850 bins: the Newton Hessian costs width^2 per row).
``--demo PREFIX`` reads saved demo data instead (``PREFIX_X.parquet``,
``PREFIX_y.parquet``, ``PREFIX_monotone.json``).

Every row fits ``LogisticScorecard(monotone_constraints=hints)`` (defaults: C=0.1,
10 quantile bins + tail bins) end to end - binning, solve, points - with one
solver swapped in:

- ``projected Newton (shipped)``: :func:`riskscreen.training._scorecard_solver.
  fit_nonneg_logistic` (sparse step design, exact gradient, Hessian from row
  blocks, box QP by Cholesky + NNLS);
- ``previous _box_newton``: the solver it replaced (copied below: dense float32
  copy of the design, Hessian rebuilt every iteration, inner L-BFGS-B per step);
- ``scipy L-BFGS-B``: bounded L-BFGS-B on the same sparse step design;
- ``glum IRLS-CD``: ``glum.GeneralizedLinearRegressor`` with ``lower_bounds``, on
  the same design (only if glum is installed; ``gradient_tol=1e-6``: at 1e-4 its
  points were 0.68 off on the demo data);

plus two references that fit other models: an unconstrained ``KBinsDiscretizer
(10 quantile bins, one-hot) + LogisticRegression(C=0.1)`` and the one to beat,
LightGBM as ``LGBMRiskModel`` fits it (``num_leaves=15, learning_rate=0.05,
min_child_samples=100, reg_lambda=1, deterministic, force_row_wise, 1 thread``,
monotone hints with the "advanced" method; early stopping on the last as-of date
with 30 rounds' patience, then a refit on all rows).

Prints: solver, fit seconds (median of ``--repeat``, runs interleaved so load drift
hits all rows alike), ratio to LightGBM, max |points difference| against the
previous solver's points table (same bins), the objective ``C * log-loss +
||w||^2 / 2`` over the step coefficients, and iterations. Run:
``python benchmarks/scorecard.py`` (``--wide``, ``--demo /tmp/scorecard``). A
benchmark: it prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from scipy import sparse

# -- data ------------------------------------------------------------------------------


def make_data(n_rows: int = 57_327, seed: int = 0, wide: bool = False):
    """Synthetic screening rows like the demo's: X (65 columns), y, hints, as-of dates."""
    rng = np.random.default_rng(seed)
    n = n_rows
    dates = np.sort(rng.integers(0, 5, n))
    need = rng.normal(size=n)  # a latent risk shared by many features
    cols, hints = {}, {}
    logit = 0.9 * need

    def add(name, values, hint):
        cols[name] = np.asarray(values, dtype=float)
        hints[name] = hint
        return cols[name]

    if wide:
        for j in range(65):
            hint = (1, -1, 0)[j % 3]
            x = add(f"x{j:02d}", np.round(0.6 * need + rng.normal(size=n), 3), hint)
            logit = logit + 0.15 * hint * (j % 5 != 4) * np.clip(x, -2, 3)
    else:
        for w, noise in enumerate((0.6, 0.45, 0.3, 0.2)):  # 12 attendance columns
            absence = np.clip(0.05 + 0.04 * need + noise * 0.08 * rng.normal(size=n), 0, 1)
            add(f"attendance_{w}", np.round(1 - absence, 3), -1)
            add(f"absence_{w}", np.round(absence * rng.uniform(0.3, 0.7, n), 3), 1)
            add(f"attendance_{w}__missing", rng.random(n) < 0.02, 0)
        logit = logit + 3.0 * (absence - 0.05)
        add("days_on_roll", np.round(rng.gamma(2, 400, n) * np.exp(-0.2 * need)), -1)
        add("days_on_roll__missing", np.zeros(n), 0)
        gap = add("days_since_suspension", np.where(rng.random(n) < 0.9, np.nan, 1.0), -1)
        gap *= np.round(rng.gamma(2, 150, n))
        add("days_since_suspension__missing", np.isnan(gap), 0)
        sen = add("days_since_sen", np.where(rng.random(n) < 0.8, np.nan, 1.0), 0)
        sen *= np.round(rng.gamma(2, 300, n))
        add("days_since_sen__missing", np.isnan(sen), 0)
        add("school_rate", np.round(rng.beta(2, 60, n), 3), 1)
        add("school_rate__missing", np.zeros(n), 0)
        add("attendance_change", np.round(rng.normal(0, 0.05, n) - 0.01 * need, 3), -1)
        days = np.where(rng.random(n) < 0.97, 0.0, np.round(rng.gamma(1, 200, n)))
        logit = logit + 0.8 * (add("looked_after_days", days, 1) > 0)
        for k in range(12):  # counts
            counts = rng.poisson((0.05 + 0.3 * k / 11) * np.exp(0.5 * need))
            logit = logit + 0.15 * np.minimum(add(f"count_{k}", counts, int(k < 10)), 4)
        for k in range(30):  # flags, rare to common; every 7th has no effect
            flag = rng.random(n) < (0.005 + 0.3 * (k / 29) ** 2) * np.exp(0.4 * need) / 1.1
            effect = 0.0 if k % 7 == 6 else 0.15 + 0.5 * (1 - k / 29)
            logit = logit + effect * add(f"flag_{k}", flag, int(k < 28))
        year = add("ncyear", rng.integers(7, 14, n), 0)
        logit = logit + 0.05 * (year - 10)
    X = pd.DataFrame(cols)
    assert X.shape[1] == 65, X.shape
    lo, hi = -20.0, 5.0  # the intercept for a ~6% outcome rate
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if (1 / (1 + np.exp(-(mid + logit)))).mean() < 0.06 else (lo, mid)
    y = (rng.random(n) < 1 / (1 + np.exp(-(lo + logit)))).astype(int)
    return X, y, {k: v for k, v in hints.items() if v}, dates


def load_demo(prefix: str):
    X = pd.read_parquet(f"{prefix}_X.parquet")
    y = pd.read_parquet(f"{prefix}_y.parquet")
    with open(f"{prefix}_monotone.json") as f:
        hints = {k: v for k, v in json.load(f).items() if v}
    ids = ["pupil_id", "as_of_date"]
    label = [c for c in y.columns if c not in ids][0]
    dates = pd.to_datetime(X["as_of_date"]).rank(method="dense").to_numpy()
    X = X.drop(columns=ids)
    return X, y[label].to_numpy().astype(int), {k: v for k, v in hints.items() if k in X}, dates


# -- solvers (same signature as fit_nonneg_logistic) -------------------------------------


def glum_solver(X, y, nonneg, C, max_iter, *, T, **_):
    from glum import GeneralizedLinearRegressor

    Z = sparse.csc_matrix(X @ T)

    glm = GeneralizedLinearRegressor(
        family="binomial",
        alpha=1.0 / (C * Z.shape[0]),  # glum: mean deviance / 2 + alpha ||w||^2 / 2
        l1_ratio=0.0,
        lower_bounds=np.where(nonneg, 0.0, -np.inf),
        gradient_tol=1e-6,
        max_iter=max_iter,
    ).fit(Z, y)
    return np.r_[glm.coef_, glm.intercept_], int(glm.n_iter_), True


# -- the previous solver (riskscreen before this change), for comparison ------------------


def previous_fit_monotone(self, design, y, monotone):
    rows, cols, lower, upper = [], [], [], []
    offset = out = 0
    for j, labels in enumerate(self.bin_labels_):
        width = len(labels)
        n_bins = width - 1
        if monotone[j]:
            for c in range(1, n_bins):
                rows += [offset + c] * c
                cols += list(range(out, out + c))
            lo, hi = (0.0, np.inf) if monotone[j] > 0 else (-np.inf, 0.0)
            lower += [lo] * (n_bins - 1)
            upper += [hi] * (n_bins - 1)
            out += n_bins - 1
            rows.append(offset + n_bins)
            cols.append(out)
            lower.append(-np.inf)
            upper.append(np.inf)
            out += 1
        else:
            rows += list(range(offset, offset + width))
            cols += list(range(out, out + width))
            lower += [-np.inf] * width
            upper += [np.inf] * width
            out += width
        offset += width
    T = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(offset, out))
    lower = np.array([*lower, -np.inf])
    upper = np.array([*upper, np.inf])
    y = np.asarray(y, dtype=np.float64)
    x, n_iter = _previous_box_newton(design, y, T, lower, upper, float(self.C), int(self.max_iter))
    self.coef_ = np.asarray(T @ x[:-1]).ravel()
    self.intercept_ = float(x[-1])
    self.n_iter_ = np.array([n_iter])


def _previous_box_newton(design, y, T, lower, upper, C, max_iter, tol=1e-9):
    from scipy.optimize import minimize

    def bounds_of(lo_, hi_):
        return [
            (None if np.isinf(a) else float(a), None if np.isinf(b) else float(b))
            for a, b in zip(lo_, hi_, strict=True)
        ]

    n, _ = design.shape
    m = T.shape[1]
    scale = 1.0 / (C * n)

    def fg(x):
        w = x[:-1]
        z = design @ (T @ w) + x[-1]
        loss = np.logaddexp(0.0, z) - y * z
        p = np.exp(-np.logaddexp(0.0, -z))
        r = p - y
        grad = np.empty_like(x)
        grad[:-1] = C * (T.T @ (design.T @ r)) + w
        grad[-1] = C * r.sum()
        return scale * (C * loss.sum() + 0.5 * w @ w), scale * grad, p

    sub = np.unique(np.linspace(0, n - 1, min(n, 100_000)).astype(np.int64))
    A = np.hstack([design[sub].toarray(), np.ones((len(sub), 1))]).astype(np.float32)
    Ta = sparse.block_diag([T, sparse.identity(1)], format="csr").toarray()
    penalty = np.r_[np.ones(m), 0.0]
    x = np.clip(np.zeros(m + 1), lower, upper)
    f, g, p = fg(x)
    n_iter = 0
    while n_iter < max_iter:
        pg = np.abs(x - np.clip(x - g, lower, upper)).max()
        if pg <= tol:
            break
        n_iter += 1
        ps = p[sub]
        h = (C * ps * (1.0 - ps) * (n / len(sub))).astype(np.float32)
        H = Ta.T @ (A.T @ (A * h[:, None])).astype(np.float64) @ Ta
        H = scale * (H + np.diag(penalty))
        step = minimize(
            lambda d, H=H, g=g: (g @ d + 0.5 * d @ (H @ d), g + H @ d),
            np.zeros_like(x),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds_of(lower - x, upper - x),
            options={"maxiter": 20_000, "ftol": 1e-15, "gtol": max(1e-13, 1e-2 * min(1, pg) * pg)},
        ).x
        slope = g @ step
        alpha = 1.0
        while True:
            x_new = np.clip(x + alpha * step, lower, upper)
            f_new, g_new, p_new = fg(x_new)
            if f_new <= f + 1e-4 * alpha * slope or alpha < 1e-10:
                break
            alpha /= 2
        done = f - f_new <= 1e-15 * max(1.0, abs(f))
        if f_new <= f:
            x, f, g, p = x_new, f_new, g_new, p_new
        if done:
            break
    return x, n_iter


# -- fits ------------------------------------------------------------------------------


def fit_scorecard(X, y, hints, solver: str):
    from riskscreen.training import _scorecard_solver
    from riskscreen.training._scorecard import LogisticScorecard

    card = LogisticScorecard(monotone_constraints=hints)
    if solver == "shipped":
        return card.fit(X, y)
    if solver == "previous":
        saved = LogisticScorecard._fit_monotone
        LogisticScorecard._fit_monotone = previous_fit_monotone
        try:
            return card.fit(X, y)
        finally:
            LogisticScorecard._fit_monotone = saved
    saved = _scorecard_solver.fit_nonneg_logistic

    def lbfgsb_solver(X, y, nonneg, C, max_iter, *, T, **_):
        return saved(X, y, nonneg, C, max_iter, T=T, method="lbfgsb")

    _scorecard_solver.fit_nonneg_logistic = {"lbfgsb": lbfgsb_solver, "glum": glum_solver}[solver]
    try:
        return card.fit(X, y)
    finally:
        _scorecard_solver.fit_nonneg_logistic = saved


def fit_kbins_logreg(X, y):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import KBinsDiscretizer

    return make_pipeline(
        SimpleImputer(strategy="median"),
        KBinsDiscretizer(n_bins=10, encode="onehot", strategy="quantile", subsample=None),
        LogisticRegression(C=0.1, max_iter=1000),
    ).fit(X, y)


def fit_lightgbm(X, y, hints, dates):
    import lightgbm as lgb

    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 100,
        "lambda_l2": 1.0,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": 0,
        "verbosity": -1,
        "monotone_constraints": [int(hints.get(c, 0)) for c in X.columns],
        "monotone_constraints_method": "advanced",
    }
    Xa = X.to_numpy(dtype=float)
    val = dates == dates.max()
    booster = lgb.train(
        params,
        lgb.Dataset(Xa[~val], y[~val]),
        num_boost_round=400,
        valid_sets=[lgb.Dataset(Xa[val], y[val])],
        callbacks=[lgb.early_stopping(30, verbose=False)],
    )
    rounds = max(1, booster.best_iteration or 400)
    lgb.train(params, lgb.Dataset(Xa, y), num_boost_round=rounds)
    return rounds


def objective(card, X, y) -> float:
    """``C * log-loss + ||w||^2 / 2`` over the step coefficients of a fitted card."""
    z = card.decision_function(X)
    value = card.C * np.sum(np.logaddexp(0.0, z) - y * z)
    offset = 0
    for j, labels in enumerate(card.bin_labels_):
        w = card.coef_[offset : offset + len(labels)]
        offset += len(labels)
        free = w if not card.monotone_constraints_[j] else np.r_[np.diff(w[:-1]), w[-1]]
        value += 0.5 * free @ free
    return float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=57_327)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wide", action="store_true", help="65 continuous features")
    parser.add_argument("--demo", help="read PREFIX_X.parquet, PREFIX_y.parquet, ...")
    parser.add_argument("--skip", nargs="*", default=[], help="solvers to leave out")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    if args.demo:
        X, y, hints, dates = load_demo(args.demo)
        label = f"demo data {args.demo}"
    else:
        X, y, hints, dates = make_data(args.rows, args.seed, args.wide)
        label = "synthetic, wide" if args.wide else "synthetic, demo-like"
    runs = {
        "LightGBM (reference to beat)": lambda: fit_lightgbm(X, y, hints, dates),
        "projected Newton (shipped)": lambda: fit_scorecard(X, y, hints, "shipped"),
        "previous _box_newton": lambda: fit_scorecard(X, y, hints, "previous"),
        "scipy L-BFGS-B": lambda: fit_scorecard(X, y, hints, "lbfgsb"),
        "glum IRLS-CD (bounds)": lambda: fit_scorecard(X, y, hints, "glum"),
        "KBins + LogisticRegression": lambda: fit_kbins_logreg(X, y),
    }
    try:
        import glum  # noqa: F401
    except ImportError:
        runs.pop("glum IRLS-CD (bounds)")
    runs = {k: v for k, v in runs.items() if not any(s in k for s in args.skip)}
    times: dict[str, list[float]] = {k: [] for k in runs}
    fitted: dict[str, object] = {}
    for _ in range(args.repeat):  # interleaved: load drift hits every solver alike
        for name, run in runs.items():
            t0 = time.perf_counter()
            fitted[name] = run()
            times[name].append(time.perf_counter() - t0)

    n_bins = sum(len(b) for b in fitted["projected Newton (shipped)"].bin_labels_)
    print(
        f"{label}: {len(X):,} rows x {X.shape[1]} features, {n_bins} bins, "
        f"{len(hints)} monotone hints, outcome rate {y.mean():.3f}; "
        f"median of {args.repeat} fits"
    )
    lgbm = float(np.median(times["LightGBM (reference to beat)"]))
    base = fitted.get("previous _box_newton")
    rows = []
    for name, model in fitted.items():
        row = {"solver": name, "fit_s": float(np.median(times[name]))}
        row["vs_LightGBM"] = row["fit_s"] / lgbm
        row["max_abs_points_diff"] = row["objective"] = np.nan
        row["iterations"] = model if isinstance(model, int) else ""
        if hasattr(model, "points_"):
            if base is not None:
                diff = model.points_["points"].to_numpy() - base.points_["points"].to_numpy()
                row["max_abs_points_diff"] = float(np.abs(diff).max())
            row["objective"] = objective(model, X, y)
            row["iterations"] = int(model.n_iter_[0])
        elif name.startswith("KBins"):
            row["iterations"] = int(model[-1].n_iter_[0])
        rows.append(row)
    table = pd.DataFrame(rows)
    table["iterations"] = table["iterations"].replace("", "-")
    fmt = {
        "fit_s": "{:.2f}".format,
        "vs_LightGBM": "{:.2f}x".format,
        "max_abs_points_diff": "{:.2g}".format,
        "objective": "{:.8f}".format,
    }
    print(table.to_string(index=False, formatters=fmt, na_rep="-"))
    print("iterations: Newton/L-BFGS-B/IRLS iterations; LightGBM: boosting rounds of the refit")


if __name__ == "__main__":
    main()
