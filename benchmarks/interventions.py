"""Benchmark: time and memory of intervention evaluation on a large synthetic authority.

Builds the synthetic local authority (default 20,000 pupils, three school years,
schools giving help to 4% of their roll each term), fits a scorecard for
suspension in the next 26 weeks, then times:

- saving one snapshot per list (three lists) to a :class:`SnapshotStore` and
  reading them back;
- :func:`build_study` for a screening outcome and for attendance (which also
  measures the two pre-periods for difference-in-differences);
- each estimator: IPW, AIPW (5 folds), regression discontinuity (score), DiD;

and reports the rows studied, the pupils helped, and each time as a ratio to
the reference: a plain difference of means with a statsmodels OLS fit on the
same rows. Peak memory (max RSS) is printed at the end.

Run: ``python benchmarks/interventions.py`` (``--pupils 5000`` for a quick run).
Prints a table; not a timed test.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FIT_DATES = ["2019-11-04", "2020-01-06", "2020-04-20", "2020-11-02"]
LISTS = ["2021-01-04", "2021-04-19", "2022-01-03"]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(n_pupils: int, seed: int) -> pd.DataFrame:
    import statsmodels.api as sm

    from riskscreen import Screener
    from riskscreen.datasets import make_linked_histories
    from riskscreen.interventions import (
        SnapshotStore,
        build_study,
        estimate_aipw,
        estimate_did,
        estimate_discontinuity,
        estimate_ipw,
    )

    rows = []
    t, histories = timed(
        lambda: make_linked_histories(
            n_pupils=n_pupils, n_years=3, seed=seed, intervention_capacity=0.04
        )
    )
    rows.append(("generate the authority", t, None, None))
    screener = Screener(model="scorecard", horizon="26W", capacity=0.05, n_bootstrap=1)
    t, _ = timed(lambda: screener.fit(histories, FIT_DATES))
    rows.append(("fit the scorecard", t, None, None))
    with tempfile.TemporaryDirectory() as tmp:
        store = SnapshotStore(Path(tmp) / "snapshots")
        screenings = [screener.score(histories, d) for d in LISTS]
        t, _ = timed(lambda: [store.save(s) for s in screenings])
        rows.append(("save 3 snapshots", t, None, None))
        t, _ = timed(store.snapshots)
        rows.append(("read 3 snapshots (sha256 checked)", t, None, None))
        t, study = timed(lambda: build_study(histories, store, horizon="26W"))
        rows.append(("build_study (suspension)", t, len(study), int(study.treated.sum())))
        t, attendance = timed(
            lambda: build_study(histories, store, outcome="attendance_rate", horizon="13W")
        )
        n_att = (len(attendance), int(attendance.treated.sum()))
        rows.append(("build_study (attendance, 3 periods)", t, *n_att))
        X = np.column_stack([np.ones(len(study)), study.treated.astype(float)])
        t_ref, _ = timed(lambda: sm.OLS(study.y, X).fit())
        rows.append(("reference: difference of means (OLS)", t_ref, len(study), None))
        flagged = study.frame["flagged"].to_numpy()
        panel = study.__class__(**{**study.__dict__, "frame": study.frame.assign(treated=flagged)})
        n = (len(study), int(study.treated.sum()))
        for name, fn, arg in (
            ("estimate_ipw", estimate_ipw, study),
            ("estimate_aipw (5 folds)", estimate_aipw, study),
            ("estimate_discontinuity (score)", estimate_discontinuity, panel),
            ("estimate_did", estimate_did, attendance),
        ):
            t, _ = timed(lambda fn=fn, arg=arg: fn(arg))
            rows.append((name, t, *(n_att if arg is attendance else n)))
    table = pd.DataFrame(rows, columns=["step", "seconds", "rows", "helped"])
    table = table.astype({"rows": "Int64", "helped": "Int64"})
    table["ratio_to_reference"] = (table["seconds"] / t_ref).round(1)
    table.loc[~table["step"].str.startswith(("estimate", "reference")), "ratio_to_reference"] = (
        np.nan
    )
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = main(args.pupils, args.seed)
    with pd.option_context("display.width", 120):
        print(table.round({"seconds": 3}).to_string(index=False))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:,.0f} MiB")
