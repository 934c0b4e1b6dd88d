"""Benchmark: fit and predict time of the riskscreen models.

Builds the synthetic local authority (default 50,000 pupils), features and
labels at 6 as-of dates, then times, on that matrix and on a 1,000,000-row
matrix *synthesised by resampling its rows with replacement* (as-of dates kept,
so LightGBM's temporal early stopping still applies):

- ``LGBMRiskModel`` fitted as the Screener fits it (defaults: 1 thread,
  deterministic; rounds chosen by early stopping on the latest as-of date, held
  out by ``TemporalSplit.holdout`` with a 365-day horizon, then a refit on every
  date), ``LogisticScorecard`` (10 quantile bins + tail bins, L2 logistic), each
  also with the default spec's monotone hints (as the Screener fits them), and the
  monotone scorecard with its L-BFGS-B fallback for comparison with the projected
  Newton solver it uses (``benchmarks/scorecard.py`` compares the solvers);
- the reference: scikit-learn ``StandardScaler`` + ``LogisticRegression`` on the
  raw features (missing values set to 0), reported as ratio = time / reference time.

Run: ``python benchmarks/training.py`` (``--pupils 10000 --rows 200000`` for a
quick run; ``--models Scorecard`` to time only the scorecards). Prints a table;
not a timed test.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

DATES = ["2020-10-01", "2021-02-01", "2021-06-01", "2021-10-01", "2022-02-01", "2022-06-01"]


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def build(n_pupils: int, seed: int):
    from riskscreen import features as F
    from riskscreen.datasets import make_linked_histories

    t_gen, h = timed(lambda: make_linked_histories(n_pupils=n_pupils, seed=seed))
    t0 = time.perf_counter()
    cohort = F.build_cohort(h, DATES)
    X = F.build_features(h, DATES, cohort=cohort)
    y = F.make_labels(h, DATES, cohort=cohort)
    t_feat = time.perf_counter() - t0
    keep = y.notna().to_numpy()
    return X[keep].astype("float64"), y[keep].astype(int), t_gen, t_feat


def resample(X: pd.DataFrame, y: pd.Series, n_rows: int, seed: int):
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.integers(0, len(X), n_rows))  # sorted: as-of dates stay in order
    idx = pd.MultiIndex.from_arrays(
        [np.arange(n_rows), X.index.get_level_values("as_of_date")[rows]],
        names=["pupil_id", "as_of_date"],
    )
    return (
        pd.DataFrame(X.to_numpy()[rows], columns=X.columns, index=idx),
        pd.Series(y.to_numpy()[rows], index=idx),
    )


def _lbfgsb_scorecard(hints, X, y):
    """The scorecard's monotone fit with the first solver (bounded L-BFGS-B from zero)."""
    from riskscreen.training import LogisticScorecard, _scorecard

    width, _scorecard._NEWTON_MAX_WIDTH = _scorecard._NEWTON_MAX_WIDTH, 0
    try:
        return LogisticScorecard(monotone_constraints=hints).fit(X, y)
    finally:
        _scorecard._NEWTON_MAX_WIDTH = width


def lgbm_as_screener(X, y, hints=None):
    """LGBMRiskModel with its rounds chosen on a later date, then refitted (as the Screener)."""
    from riskscreen.training import LGBMRiskModel, TemporalSplit

    dates = X.index.get_level_values("as_of_date")
    inner, held = TemporalSplit(horizon="365D").holdout(dates.unique(), n_test=1)
    a, b = dates.isin(inner), dates.isin(held)
    probe = LGBMRiskModel(monotone_constraints=hints).fit(X[a], y[a], eval_set=(X[b], y[b]))
    return LGBMRiskModel(
        probe.best_iteration_, monotone_constraints=hints, early_stopping_rounds=None
    ).fit(X, y)


def bench(X, y, label: str, only: tuple[str, ...] = ("LGBM", "Scorecard")) -> list[dict]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from riskscreen.features import default_spec
    from riskscreen.training import LogisticScorecard

    hints = {k: v for k, v in default_spec().monotone_constraints().items() if k in X.columns}
    X_raw = X.fillna(0.0)
    models = {
        "LogisticRegression (reference)": (
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
                X_raw, y
            ),
            X_raw,
        ),
        "LGBMRiskModel": (lambda: lgbm_as_screener(X, y), X),
        "LGBMRiskModel (monotone hints)": (lambda: lgbm_as_screener(X, y, hints), X),
        "LogisticScorecard": (lambda: LogisticScorecard().fit(X, y), X),
        "LogisticScorecard (monotone hints)": (
            lambda: LogisticScorecard(monotone_constraints=hints).fit(X, y),
            X,
        ),
        "LogisticScorecard (monotone hints, L-BFGS-B)": (
            lambda: _lbfgsb_scorecard(hints, X, y),
            X,
        ),
    }
    models = {
        name: spec
        for name, spec in models.items()
        if name.startswith("LogisticRegression") or any(m in name for m in only)
    }
    rows = []
    ref_fit = ref_pred = None
    for name, (fit, data) in models.items():
        t_fit, model = timed(fit)
        t_pred, _ = timed(lambda m=model, d=data: m.predict_proba(d), repeat=3)
        if ref_fit is None:
            ref_fit, ref_pred = t_fit, t_pred
        extra = ""
        if name.startswith("LGBMRiskModel"):
            extra = f"{model.best_iteration_} rounds"
        elif name.startswith("LogisticScorecard"):
            extra = f"{int(np.ravel(model.n_iter_)[0])} iterations"
        rows.append(
            {
                "data": label,
                "model": name,
                "fit_s": t_fit,
                "fit_ratio": t_fit / ref_fit,
                "predict_s": t_pred,
                "predict_ratio": t_pred / ref_pred,
                "rows_per_s_predict": len(data) / t_pred,
                "note": extra,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--models",
        nargs="+",
        default=["LGBM", "Scorecard"],
        help="time only models whose name contains one of these (the reference always runs)",
    )
    args = parser.parse_args()
    only = tuple(args.models)

    X, y, t_gen, t_feat = build(args.pupils, args.seed)
    print(
        f"Synthetic LA: {args.pupils:,} pupils generated in {t_gen:.1f}s; features + labels at "
        f"{len(DATES)} as-of dates in {t_feat:.1f}s -> {X.shape[0]:,} rows x {X.shape[1]} "
        f"features, outcome rate {y.mean():.3f}"
    )
    rows = bench(
        X, y, f"{args.pupils // 1000}k pupils x {len(DATES)} dates ({len(X):,} rows)", only
    )
    X_big, y_big = resample(X, y, args.rows, args.seed)
    rows += bench(X_big, y_big, f"{args.rows:,} rows (resampled)", only)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Peak resident memory: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
