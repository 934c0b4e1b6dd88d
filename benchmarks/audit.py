"""Benchmark: the fairness audit against fairlearn's MetricFrame, at 100k and 1M rows.

Builds synthetic screening rows itself (no files needed): one row per pupil, the
six sensitive columns of ``riskscreen.features.protected_characteristics`` -
sex (F, M and a few unknown), ethnicity (20 minor codes at published shares),
ethnicity_major, sen_status (none/K/E), fsm and social_care_status
(none/cin/cp/cla) - an outcome of about 10% that depends on some of them, a
score that depends on the outcome and on group, and the top 5% flagged.

Rows of the table, for each size:

- ``audit, point estimates``: ``FairnessAudit.from_predictions(..., n_bootstrap=0)``
  - every metric (10 rates with AUC and calibration) for every group of the six
  attributes and the two default intersections, the disparities with their tests,
  and the worst-off subgroup search over all attributes and pairs;
- ``audit, 200 bootstrap resamples``: the same with ``n_bootstrap=200`` (pupils
  resampled): every interval of every table;
- ``fairlearn MetricFrame, ethnicity``: 5 metrics (selection rate, TPR, FPR, FNR,
  precision) over the 20 ethnicity groups, timed in the same run on the same rows,
  with ``max |diff|``: the largest difference from the audit's own numbers for the
  same metrics and groups (0 means identical);
- at sizes up to ``--fairlearn-all`` rows also ``fairlearn MetricFrame, all
  groups``: one MetricFrame per attribute and intersection (8), the same 5 metrics.

``seconds`` is wall time (median of ``--repeat`` runs for the point estimates),
``cpu seconds`` the CPU time of this process over the same runs: on a busy
machine the wall time grows with the load and the CPU time much less, so both
are printed with the load average.

Run: ``python benchmarks/audit.py`` (``--sizes 100000 1000000``, ``--repeat 3``).
A benchmark: it prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

from riskscreen.data._codes import ETHNICITY_MAJOR
from riskscreen.evaluation import FairnessAudit

SHARES = {  # per cent of pupils (England, spring census), as in the synthetic authority
    "WBRI": 60.3,
    "WIRI": 0.27,
    "WIRT": 0.08,
    "WOTH": 6.5,
    "WROM": 0.32,
    "MWBC": 1.6,
    "MWBA": 1.0,
    "MWAS": 1.7,
    "MOTH": 2.9,
    "AIND": 4.2,
    "APKN": 4.7,
    "ABAN": 1.8,
    "AOTH": 2.3,
    "CHNE": 0.8,
    "BCRB": 0.9,
    "BAFR": 5.2,
    "BOTH": 0.8,
    "OOTH": 2.5,
    "REFU": 1.2,
    "NOBT": 0.5,
}
METRICS = ("selection_rate", "recall", "fpr", "fnr", "precision")
INTERSECTIONS = (("ethnicity_major", "sex"), ("sen_status", "fsm"))


def make_rows(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = np.array(list(SHARES))
    p = np.array(list(SHARES.values()))
    ethnicity = codes[rng.choice(len(codes), n, p=p / p.sum())]
    sens = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M", "U"], n, p=[0.488, 0.510, 0.002]),
            "ethnicity": ethnicity,
            "ethnicity_major": pd.Series(ethnicity).map(ETHNICITY_MAJOR).to_numpy(),
            "sen_status": rng.choice(["none", "K", "E"], n, p=[0.83, 0.13, 0.04]),
            "fsm": rng.random(n) < 0.24,
            "social_care_status": rng.choice(
                ["none", "cin", "cp", "cla"], n, p=[0.95, 0.035, 0.01, 0.005]
            ),
        }
    )
    logit = (
        -2.6
        + 0.5 * (sens["sex"] == "M")
        + 0.6 * (sens["sen_status"] != "none")
        + 0.4 * sens["fsm"]
        + 0.8 * (sens["social_care_status"] != "none")
    ).to_numpy()
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    score = logit + 1.2 * y + rng.normal(0, 1, n) + 0.2 * (sens["ethnicity_major"] == "Black")
    prob = 1 / (1 + np.exp(-(score - 1.2)))
    return y, score, prob, sens


def median_time(fn, repeat: int):
    """(median wall seconds, median CPU seconds of this process, last result)."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls)), float(np.median(cpus)), out


def fairlearn_frames(y, flagged, sens, columns_list):
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import precision_score

    metrics = {
        "selection_rate": selection_rate,
        "recall": true_positive_rate,
        "fpr": false_positive_rate,
        "fnr": false_negative_rate,
        "precision": lambda t, p: precision_score(t, p, zero_division=np.nan),
    }
    return [
        MetricFrame(metrics=metrics, y_true=y, y_pred=flagged, sensitive_features=sens[cols])
        for cols in columns_list
    ]


def max_difference(audit, frame, columns) -> float:
    ours = audit.by_group.xs(" & ".join(columns), level="attribute")
    theirs = frame.by_group.copy()
    theirs.index = [
        " & ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in theirs.index
    ]
    diff = ours[list(METRICS)].astype(float) - theirs.loc[ours.index, list(METRICS)].astype(float)
    return float(np.nanmax(np.abs(diff.to_numpy())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the point estimates")
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--fairlearn-all", type=int, default=100_000)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        y, score, prob, sens = make_rows(n)
        flagged = score >= np.sort(score)[-round(0.05 * n)]
        options = dict(sensitive_features=sens, flagged=flagged, y_prob=prob, small_count=1)
        point_s, point_cpu, audit = median_time(
            lambda options=options, y=y, score=score: FairnessAudit.from_predictions(
                y, score, n_bootstrap=0, **options
            ),
            args.repeat,
        )
        n_groups = len(audit.by_group)
        boot_s, boot_cpu, _ = median_time(
            lambda options=options, y=y, score=score: FairnessAudit.from_predictions(
                y, score, n_bootstrap=args.bootstrap, **options
            ),
            1,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fl_s, fl_cpu, frames = median_time(
                lambda y=y, f=flagged, s=sens: fairlearn_frames(y, f, s, [["ethnicity"]]), 1
            )
        diff = max_difference(audit, frames[0], ["ethnicity"])
        boot = f"audit, {args.bootstrap} bootstrap resamples"
        rows += [
            (n, "audit, point estimates", n_groups, point_s, point_cpu, point_s / fl_s, ""),
            (n, boot, n_groups, boot_s, boot_cpu, boot_s / fl_s, ""),
            (n, "fairlearn MetricFrame, ethnicity", 20, fl_s, fl_cpu, 1.0, f"{diff:.1e}"),
        ]
        if n <= args.fairlearn_all:
            columns = [[c] for c in sens.columns] + [list(t) for t in INTERSECTIONS]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                all_s, all_cpu, frames = median_time(
                    lambda y=y, f=flagged, s=sens, c=columns: fairlearn_frames(y, f, s, c), 1
                )
            diff = max(max_difference(audit, fr, c) for fr, c in zip(frames, columns, strict=True))
            rows.append(
                (
                    n,
                    "fairlearn MetricFrame, all groups",
                    n_groups - 1,
                    all_s,
                    all_cpu,
                    all_s / fl_s,
                    f"{diff:.1e}",
                )
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "rows",
            "what",
            "groups",
            "seconds",
            "cpu seconds",
            "ratio to fairlearn (ethnicity)",
            "max |diff|",
        ],
    )
    with pd.option_context("display.width", 140, "display.max_colwidth", 40):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"{os.cpu_count()} CPUs; load average {load[0]:.1f} (1 min), {load[2]:.1f} (15 min)")


if __name__ == "__main__":
    main()
