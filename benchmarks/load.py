"""Benchmark: loading and linking an authority's statutory returns (``read_returns``).

A synthetic authority is generated and written as its returns
(``write_returns``, with noisy identities) once per size; then, in a fresh Python
subprocess so that the peak resident memory (``VmHWM`` of that process; its
``ru_maxrss`` would include the parent's) is the load's own, ``read_returns``
reads, validates, links and pseudonymises it. Two references are measured the same way:

- ``csv``: reading every CSV file of the folder with pandas and nothing else
  (the least any loader must do);
- ``scaling``: the first size is the reference for the larger ones (time and
  memory per pupil should stay flat).

The linkage is scored against the writer's truth (precision and recall of the
links to each child's school-census record, for records with and without a UPN).

Usage::

    python benchmarks/load.py                          # 50,000 pupils over 5 years
    python benchmarks/load.py --sizes 10000 50000 --years 5
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_PEAK = """
def peak_kb():  # this process's own high-water mark (ru_maxrss would include the parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""

_LOAD = (
    _PEAK
    + """
import json, time
import riskscreen.data._returns as R
from riskscreen.data import read_returns
spent = {{}}
link = R.link
def timed_link(*a, **k):
    t = time.perf_counter()
    out = link(*a, **k)
    spent["link"] = time.perf_counter() - t
    return out
R.link = timed_link
t = time.perf_counter()
h, report = read_returns({folder!r}, key="benchmark-key-0123456789abcdef")
wall = time.perf_counter() - t
report.links.to_pickle({links!r})
print(json.dumps({{"wall": wall, "link": spent["link"], "rss": peak_kb(),
                  "rows": {{k: len(v) for k, v in h.tables().items()}},
                  "rejected": report.n_rejected, "method": report.training["method"]}}))
"""
)

_CSV = (
    _PEAK
    + """
import json, time
from pathlib import Path
import pandas as pd
t = time.perf_counter()
n = sum(len(pd.read_csv(p, dtype=str)) for p in Path({folder!r}).rglob("*.csv"))
wall = time.perf_counter() - t
print(json.dumps({{"wall": wall, "rss": peak_kb()}}))
"""
)


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _size(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main(argv: list[str] | None = None) -> None:
    from riskscreen.datasets import make_linked_histories, write_returns

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000])
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args(argv)
    rows, quality = [], {}
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / f"la_{n}"
            t = time.perf_counter()
            h = make_linked_histories(n_pupils=n, n_years=args.years, seed=0)
            gen = time.perf_counter() - t
            t = time.perf_counter()
            truth = write_returns(h, folder, seed=0)
            write = time.perf_counter() - t
            links = Path(tmp) / f"links_{n}.pkl"
            load = _run(_LOAD.format(folder=str(folder), links=str(links)))
            ref = _run(_CSV.format(folder=str(folder)))
            if base is None:
                base = (load["wall"] / n, load["rss"] / n)
            with open(links, "rb") as f:
                quality[n] = truth.linkage_quality(pickle.load(f))
            rows.append((n, gen, write, _size(folder), load, ref))
    print(
        "read_returns (load, validate, link, pseudonymise; link_s = the linkage alone) in a "
        "fresh process (peak_MB = its VmHWM); ref = pandas reading every CSV file of the "
        "folder; *_vs_first = per-pupil cost relative to the first size"
    )
    print(
        f"{'pupils':>8} {'years':>5} {'files_MB':>8} {'gen_s':>6} {'write_s':>7} "
        f"{'load_s':>7} {'link_s':>6} {'peak_MB':>8} {'ref_s':>6} {'ref_MB':>7} {'x_ref':>6} "
        f"{'s/pupil_vs_first':>16} {'MB/pupil_vs_first':>17}"
    )
    for n, gen, write, mb, load, ref in rows:
        print(
            f"{n:>8} {args.years:>5} {mb:>8.0f} {gen:>6.1f} {write:>7.1f} {load['wall']:>7.1f} "
            f"{load['link']:>6.1f} "
            f"{load['rss'] / 1024:>8.0f} {ref['wall']:>6.1f} {ref['rss'] / 1024:>7.0f} "
            f"{load['wall'] / ref['wall']:>6.1f} {load['wall'] / n / base[0]:>16.2f} "
            f"{load['rss'] / n / base[1]:>17.2f}"
        )
    for n, *_, load, _ in rows:
        print(f"\n{n} pupils: rows {load['rows']}; rejected {load['rejected']}; "
              f"linkage model: {load['method']}")  # fmt: skip
        q = quality[n]
        q = q[q["group"].isin(["all", "source", "ethnicity", "sex", "fsm"])]
        cols = ["subset", "group", "value", "records", "true_links", "precision", "recall"]
        print(q[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
