"""Benchmark: SHAP values and reasons in words for 50,000 and 1,000,000 scored pupils.

Builds the demo's synthetic local authority (default 20,000 pupils, seed 0) and
fits the demo's LightGBM screener on its fit dates (``riskscreen.demo``), once with
the default learning rate (0.05) and once with 0.1 (fewer trees), and reports the
trees, leaves, mean leaf depth and average precision of each at the test date.
The test date's cohort is then *resampled with replacement* (new pupil ids, the
same schools) into screenings of 50,000 and 1,000,000 pupils, scored by the
screener, and timed on ``--threads`` threads (default 2):

- ``pred_contrib`` -- LightGBM's own tree SHAP on the same model and rows, the
  reference (``booster.predict(X, pred_contrib=True)``);
- ``explain(all)`` -- :func:`riskscreen.explain.explain` for every pupil: SHAP
  values, additivity check, global importance and the top 3 reasons in words;
- ``reasons only`` -- the reasons-in-words step alone, on those SHAP values;
- ``explain(flagged)`` -- the panel's path: reasons for the flagged pupils and the
  global importance from a sample of 10,000 pupils.

"cpu s" is the CPU time of all the process's threads during a step: on a shared
machine the wall-clock seconds grow with other load, the CPU seconds do not.
Memory is the largest rise of the process's resident set during a step (sampled
every 10 ms). Run ``python benchmarks/explain.py`` (``--pupils 5000 --sizes 20000``
for a quick run). Prints a table; not a timed test.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import replace

import numpy as np
import pandas as pd


class PeakMemory:
    """The largest rise of resident memory (MB) while the block runs (Linux /proc)."""

    def __enter__(self):
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _rss(self) -> float:
        try:
            with open("/proc/self/statm") as f:
                pages = int(f.read().split()[1])
        except OSError:  # not Linux: no sampling, report nothing
            return float("nan")
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.rise = self.peak - self.start
        return False


def measure(fn):
    """(wall seconds, CPU seconds of all threads, peak memory rise in MB, result)."""
    with PeakMemory() as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return seconds, cpu, mem.rise, out


def tree_shape(model) -> tuple[int, int, float]:
    """(trees, max leaves, mean leaf depth) of the rounds a LGBMRiskModel uses."""
    dump = model.estimator_.booster_.dump_model(num_iteration=model.best_iteration_)
    depths, leaves = [], 0

    def walk(node, depth):
        if "leaf_index" in node or "leaf_value" in node and "split_index" not in node:
            depths.append(depth)
            return 1
        return walk(node["left_child"], depth + 1) + walk(node["right_child"], depth + 1)

    for tree in dump["tree_info"]:
        leaves = max(leaves, walk(tree["tree_structure"], 0))
    return len(dump["tree_info"]), leaves, float(np.mean(depths))


def fit(train, test, learning_rate: float, seed: int):
    from riskscreen import Screener
    from riskscreen.evaluation import average_precision
    from riskscreen.training import LGBMRiskModel

    model = "lightgbm"
    if learning_rate != 0.05:
        model = LGBMRiskModel(
            learning_rate=learning_rate, monotone_constraints=train.spec, random_state=seed
        )
    screener = Screener(model=model, n_bootstrap=1, random_state=seed).fit(train)
    y = test.y.reindex(test.X.index)
    keep = y.notna().to_numpy()
    score = screener.score(test).frame["score"].to_numpy()
    ap = average_precision(y[keep].astype(int).to_numpy(), score[keep])
    return screener, ap


def resample(test, n: int, seed: int):
    """A one-date Dataset of ``n`` pupils drawn with replacement from ``test``."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(test.X), n)
    dates = test.X.index.get_level_values("as_of_date")[rows]
    index = pd.MultiIndex.from_arrays(
        [np.arange(1, n + 1, dtype=np.int64), dates], names=["pupil_id", "as_of_date"]
    )
    X = pd.DataFrame(test.X.to_numpy()[rows], columns=test.X.columns, index=index)
    cohort = pd.DataFrame(
        {c: test.cohort[c].to_numpy()[rows] for c in test.cohort.columns}, index=index
    )
    return replace(test, X=X, cohort=cohort, y=None, label_report_unsuppressed=None, sensitive=None)


def time_size(screener, test, n: int, label: str, args) -> list[dict]:
    """The four timed steps on a resampled screening of ``n`` pupils."""
    from riskscreen.explain import explain
    from riskscreen.explain._columns import resolve_columns
    from riskscreen.explain._reasons import reason_table

    screening = screener.score(resample(test, n, args.seed))
    X = screening.features[screener.feature_names_].to_numpy(dtype=np.float64)
    booster = screener.model_.estimator_.booster_
    rounds = screener.model_.best_iteration_
    columns = resolve_columns(screener.feature_names_, screener.spec_)

    def reference():
        return booster.predict(
            X, pred_contrib=True, num_iteration=rounds, num_threads=args.threads
        ).shape

    ref_s, ref_cpu, ref_mb, _ = measure(reference)
    all_s, all_cpu, all_mb, e = measure(lambda: explain(screener, screening, n_jobs=args.threads))

    def words():
        return reason_table(
            e.values.to_numpy(),
            e.data.to_numpy(),
            columns,
            e.values.index,
            as_of=screening.as_of_date,
        ).shape

    why_s, why_cpu, why_mb, _ = measure(words)
    gap = e.max_additivity_error
    e = None  # free the explanation before the next step
    flag_s, flag_cpu, flag_mb, k = measure(
        lambda: len(explain(screener, screening, pupils="flagged", n_jobs=args.threads).values)
    )
    rows = []
    for step, s, cpu, mb, n_rows in (
        ("pred_contrib (reference)", ref_s, ref_cpu, ref_mb, n),
        ("explain(all): SHAP + reasons", all_s, all_cpu, all_mb, n),
        ("  of which reasons in words", why_s, why_cpu, why_mb, n),
        (f"explain(flagged: {k:,}) + importance", flag_s, flag_cpu, flag_mb, k),
    ):
        rows.append(
            {
                "pupils": f"{n:,}",
                "model": label,
                "step": step,
                "seconds": round(s, 2),
                "cpu s": round(cpu, 2),
                "rows/s": f"{n_rows / s:,.0f}",
                "x pred_contrib": round(s / ref_s, 2),
                "peak MB": round(mb),
                "additivity": f"{gap:.0e}" if step.startswith("explain(all") else "",
            }
        )
    return rows


def run(args) -> pd.DataFrame:
    from riskscreen.datasets import make_linked_histories
    from riskscreen.demo import CALIBRATION_DATE, TEST_DATE, TRAIN_DATES
    from riskscreen.features import build_dataset

    t0 = time.perf_counter()
    histories = make_linked_histories(n_pupils=args.pupils, seed=args.seed)
    train = build_dataset(histories, [*TRAIN_DATES, CALIBRATION_DATE], outcome="suspension")
    test = build_dataset(histories, [TEST_DATE], outcome="suspension")
    print(
        f"Synthetic LA of {args.pupils:,} pupils, features and labels: "
        f"{time.perf_counter() - t0:.1f}s; test cohort {len(test.X):,} pupils."
    )
    rows = []
    for rate in args.learning_rates:
        screener, ap = fit(train, test, rate, args.seed)
        trees, leaves, depth = tree_shape(screener.model_)
        label = f"lr {rate} ({trees} trees x {leaves} leaves, depth {depth:.1f}, AP {ap:.3f})"
        print(f"Model {label}", flush=True)
        for n in args.sizes:
            rows += time_size(screener, test, n, label, args)
            done = pd.DataFrame(rows[-4:])[["pupils", "step", "seconds", "cpu s", "peak MB"]]
            print(done.to_string(index=False, header=False), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=20_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 1_000_000])
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    table = run(parser.parse_args())
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
