"""Benchmark: generating a synthetic local authority.

Each size is generated in a fresh Python subprocess so that its peak resident
memory (``resource.getrusage`` of that process) is honest. Two references are
measured in the same run:

- ``frame`` reference: in its own fresh subprocess, draw random numbers with
  numpy and build a pandas DataFrame of the same shape and dtypes as the
  generated attendance table (the least any generator of that table must do);
- ``scaling``: the first size is the reference for the larger ones (time and
  memory per pupil should stay flat).

Usage::

    python benchmarks/synth.py                      # 50k and 200k pupils, 5 years, weekly
    python benchmarks/synth.py --sizes 20000 50000 --period term
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_GENERATE = """
import json, resource, time
from riskscreen.datasets import make_linked_histories
t = time.perf_counter()
h = make_linked_histories(n_pupils={n}, n_years={years}, seed=0, attendance_period={period!r})
wall = time.perf_counter() - t
rows = {{name: len(frame) for name, frame in h.tables().items()}}
print(json.dumps({{"wall": wall, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rows": rows}}))
"""

_FRAME = """
import json, resource, time
import numpy as np, pandas as pd
t = time.perf_counter()
rng = np.random.default_rng(0)
n = {rows}
start = np.datetime64("2019-09-02") + 7 * rng.integers(0, 260, n).astype("timedelta64[D]")
frame = pd.DataFrame({{
    "pupil_id": rng.integers(0, 10**7, n),
    "school_id": rng.integers(0, 500, n),
    "period_start": start.astype("datetime64[us]"),
    "period_end": (start + np.timedelta64(4, "D")).astype("datetime64[us]"),
    "sessions_possible": np.full(n, 10, dtype="int64"),
    "sessions_authorised_absent": rng.binomial(10, 0.05, n).astype("int64"),
    "sessions_unauthorised_absent": rng.binomial(10, 0.02, n).astype("int64"),
}})
wall = time.perf_counter() - t
print(json.dumps({{"wall": wall, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--period", choices=["week", "term"], default="week")
    args = parser.parse_args(argv)

    rows = []
    base = None
    for n in args.sizes:
        gen = _run(_GENERATE.format(n=n, years=args.years, period=args.period))
        ref = _run(_FRAME.format(rows=gen["rows"]["attendance"]))
        if base is None:
            base = (gen["wall"] / n, gen["rss"] / n)
        rows.append((n, gen, ref))
    tables = list(rows[0][1]["rows"])
    head = (
        f"{'pupils':>8} {'years':>5} {'wall_s':>7} {'peak_MB':>8} {'ref_s':>6} {'ref_MB':>7} "
        f"{'x_ref':>6} {'s/pupil_vs_first':>16} {'MB/pupil_vs_first':>17}"
    )
    print(f"attendance_period={args.period!r}; ref = numpy+pandas build of an equally sized "
          "attendance frame in a fresh process; *_vs_first = per-pupil cost relative to the "
          "first size")  # fmt: skip
    print(head)
    for n, gen, ref in rows:
        print(
            f"{n:>8} {args.years:>5} {gen['wall']:>7.1f} {gen['rss'] / 1024:>8.0f} "
            f"{ref['wall']:>6.1f} {ref['rss'] / 1024:>7.0f} {gen['wall'] / ref['wall']:>6.1f} "
            f"{gen['wall'] / n / base[0]:>16.2f} {gen['rss'] / n / base[1]:>17.2f}"
        )
    print()
    print(f"{'rows':>20} " + " ".join(f"{n:>12}" for n, _, _ in rows))
    for t in tables:
        print(f"{t:>20} " + " ".join(f"{gen['rows'][t]:>12,}" for _, gen, _ in rows))


if __name__ == "__main__":
    main()
