"""Benchmark the as-of-date feature engine on synthetic data read from Parquet.

For each size (default 100k and 1M pupils) and each number of as-of dates (1, 6 and 24:
the sweep), every case runs in a fresh subprocess so its peak RSS is its own:

- ``polars``         a hand-written Polars lazy query computing the same full default
                     spec for the same cohort (``benchmarks/_polars_reference.py``), the
                     reference the library is held to; checked equal by checksum;
- ``library``        build_features(folder, dates) with the default spec (plan "auto":
                     by date for few as-of dates, running totals for many);
- ``library-by-date`` the same with the plan by date forced (``feature_plan("by_date")``:
                     each as-of date joined with the events in its windows);
- ``library-running-totals`` the same with the plan for many as-of dates forced
                     (``feature_plan("running_totals")``: one pass over the events);
- ``library-to-parquet`` the same, written by DuckDB to Parquet (``write_features``)
                     instead of returned as a DataFrame: the out-of-core route;
- ``library-float32`` the same as ``library`` with ``dtype="float32"`` (half the
                     memory of the returned DataFrame);
- ``library-subset`` build_features with a 3-feature spec (suspension_count_1y,
                     attendance_rate_1y, fsm_now);
- ``hand-written``   one DuckDB query written by hand computing the same 3 features
                     for the same cohort.

``feats`` is the number of features in the spec, ``cols`` the columns of the output
(features plus their ``__missing`` indicators; pupil_id and as_of_date are the index
and not counted): the default spec has 52 features and 65 columns. The ratio column
is the case's time / polars for full-spec cases, library-subset / hand-written for the
subset. After the table, the sweep: each case's time per extra as-of date,
``(t(k) - t(1)) / (k - 1)``. Polars runs with ``POLARS_MAX_THREADS`` = ``--threads``.
Synthetic data come from ``riskscreen.datasets.make_linked_histories`` at ``--base``
pupils; larger sizes are made by tiling that base with shifted pupil_id / school_id
offsets, streamed to Parquet (so 1M pupils are 10 shifted copies of a 100k-pupil
authority; the output says so). Each copy's attendance comes week by week, so a row
group holds the rows of one copy's pupils: a query for a range of pupils skips the
other copies. ``--layout date`` sorts the whole attendance file by ``period_end``
instead (as a return written week by week would be), so every row group holds every
pupil: the layout where reading by batches of pupils costs most.

Usage::

    python benchmarks/features.py                      # 100k and 1M, weekly attendance
    python benchmarks/features.py --sizes 20000 --base 20000   # quick run
    python benchmarks/features.py --sizes 100000 --cases polars library \
        library-running-totals --n-dates 1 6 24          # the plans against Polars
    python benchmarks/features.py --sizes 1000000 --layout date --cases polars \
        library --n-dates 1                              # attendance sorted by date
    python benchmarks/features.py --sizes 1000000 --cases polars library \
        --n-dates 1 --repeat 3                           # medians of three runs in turn

``polars`` needs the ``bench`` extra (``pip install riskscreen[bench]``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

DATES_6 = ["2020-11-02", "2021-01-11", "2021-04-19", "2021-06-07", "2021-11-01", "2022-01-10"]
DATES_1 = ["2021-06-07"]
#: every fourth Monday from 12 Oct 2020 to 4 Jul 2022 (24 dates, none in early September)
DATES_24 = [f"{d:%Y-%m-%d}" for d in pd.date_range("2020-10-12", periods=24, freq="28D")]
FULL_SPEC_CASES = (
    "library",
    "library-by-date",
    "library-running-totals",
    "library-float32",
    "library-to-parquet",
    "polars",
)
EVENT_TABLES = (
    "enrolments",
    "attendance",
    "exclusions",
    "sen",
    "fsm",
    "social_care",
    "missing_education",
)
PUPIL_OFFSET = 100_000_000
SCHOOL_OFFSET = 10_000_000


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def make_folders(
    out: Path, sizes, base: int, period: str, years: int, layout: str = "pupil"
) -> dict[int, Path]:
    """Parquet folders per size: the generated base authority, tiled with shifted ids (and
    with ``layout="date"``, copies with the attendance sorted by date)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from riskscreen.data import TABLE_NAMES

    base_folder = out / f"n{base}_{period}_y{years}"
    if not (base_folder / "done").exists():
        from riskscreen.datasets import make_linked_histories

        t0 = time.perf_counter()
        h = make_linked_histories(
            n_pupils=base, seed=0, n_years=years, start_year=2019, attendance_period=period
        )
        print(f"# generated base of {base:,} pupils in {time.perf_counter() - t0:.0f}s", flush=True)
        h.save(base_folder)  # a saved folder: manifest.json and one Parquet file per table
        del h
        (base_folder / "done").write_text("1")
    folders = {}
    for n in sizes:
        copies = max(1, round(n / base))
        if copies == 1:
            folders[n] = base_folder
            continue
        folder = out / f"n{n}_{period}_y{years}"
        folders[n] = folder
        if (folder / "done").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for name in TABLE_NAMES:
            table = pq.read_table(base_folder / f"{name}.parquet")
            writer = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
            for i in range(copies):
                t = table
                for col, off in (("pupil_id", PUPIL_OFFSET), ("school_id", SCHOOL_OFFSET)):
                    if col in t.column_names and i:
                        idx = t.column_names.index(col)
                        t = t.set_column(idx, col, pc.add(t[col], pa.scalar(i * off, pa.int64())))
                writer.write_table(t, row_group_size=1_000_000)
            writer.close()
            del table
        from riskscreen.data._io import file_sha256

        manifest = json.loads((base_folder / "manifest.json").read_text())
        for entry in manifest["tables"].values():
            entry["rows"] *= copies
            if "sha256" in entry:  # saved folders are checksummed: record the tiled file's
                entry["sha256"] = file_sha256(folder / entry["file"])
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        (folder / "done").write_text(json.dumps({"copies": copies, "base": base}))
        print(f"# wrote {folder} ({copies} x {base:,} pupils)", flush=True)
    if layout == "date":
        folders = {n: sorted_by_date(folder, out) for n, folder in folders.items()}
    return folders


def sorted_by_date(folder: Path, out: Path) -> Path:
    """A copy of ``folder`` whose attendance is sorted by ``period_end`` (then school, pupil)."""
    import shutil

    import duckdb

    from riskscreen.data._io import file_sha256

    target = out / f"{folder.name}_by_date"
    if (target / "done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, entry in manifest["tables"].items():
        src, dst = folder / entry["file"], target / entry["file"]
        if name != "attendance":
            shutil.copyfile(src, dst)
            continue
        con = duckdb.connect(config={"memory_limit": "4GB", "temp_directory": str(out / "spill")})
        path = str(src).replace("'", "''")
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{path}') ORDER BY period_end, school_id, "
            f"pupil_id) TO '{str(dst).replace(chr(39), chr(39) * 2)}' "
            "(FORMAT PARQUET, ROW_GROUP_SIZE 1000000)"
        )
        con.close()
        entry["sha256"] = file_sha256(dst)
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (target / "done").write_text("1")
    print(f"# wrote {target} (attendance sorted by date)", flush=True)
    return target


# ------------------------------------------------------------------------------------------------
# cases (run in a child process)
# ------------------------------------------------------------------------------------------------
def subset_spec():
    from riskscreen.features import default_spec

    return default_spec().select(["suspension_count_1y", "attendance_rate_1y", "fsm_now"])


def hand_written_sql(folder: Path, dates) -> str:
    def t(name):
        return f"read_parquet('{folder / (name + '.parquet')}')"

    values = ", ".join(f"(TIMESTAMP '{d}')" for d in dates)
    ay = "(year({d}) - CASE WHEN month({d}) < 9 THEN 1 ELSE 0 END)"
    ncy = f"({ay.format(d='a.as_of_date')} - {ay.format(d='p.birth_month')} - 5)"
    return f"""
    WITH as_of_dates(as_of_date) AS (VALUES {values}),
    cohort AS (
        SELECT en.pupil_id, a.as_of_date, en.school_id
        FROM as_of_dates a JOIN {t("enrolments")} en
          ON en.entry_date < a.as_of_date
         AND (en.leaving_date IS NULL OR en.leaving_date >= a.as_of_date)
        JOIN {t("pupils")} p ON p.pupil_id = en.pupil_id
        WHERE {ncy} BETWEEN 5 AND 11
        QUALIFY row_number() OVER (PARTITION BY en.pupil_id, a.as_of_date
                                   ORDER BY en.entry_date DESC, en.school_id) = 1),
    susp AS (
        SELECT c.pupil_id, c.as_of_date, count(*) AS n
        FROM cohort c JOIN {t("exclusions")} e
          ON e.pupil_id = c.pupil_id AND e.start_date < c.as_of_date
         AND e.start_date >= c.as_of_date - INTERVAL 1 YEAR
        WHERE e.kind = 'suspension' GROUP BY ALL),
    att AS (
        SELECT c.pupil_id, c.as_of_date,
               sum(e.sessions_possible - e.sessions_authorised_absent
                   - e.sessions_unauthorised_absent) / nullif(sum(e.sessions_possible), 0) AS r
        FROM cohort c JOIN {t("attendance")} e
          ON e.pupil_id = c.pupil_id AND e.period_end < c.as_of_date
         AND e.period_end >= c.as_of_date - INTERVAL 1 YEAR
        GROUP BY ALL),
    fsm AS (
        SELECT DISTINCT c.pupil_id, c.as_of_date
        FROM cohort c JOIN {t("fsm")} f
          ON f.pupil_id = c.pupil_id AND f.start_date < c.as_of_date
         AND (f.end_date IS NULL OR f.end_date >= c.as_of_date))
    SELECT c.pupil_id, c.as_of_date,
           coalesce(susp.n, 0)::DOUBLE AS suspension_count_1y,
           coalesce(att.r, 0.93) AS attendance_rate_1y,
           (att.r IS NULL)::DOUBLE AS attendance_rate_1y__missing,
           (fsm.pupil_id IS NOT NULL)::DOUBLE AS fsm_now
    FROM cohort c
    LEFT JOIN susp USING (pupil_id, as_of_date)
    LEFT JOIN att USING (pupil_id, as_of_date)
    LEFT JOIN fsm USING (pupil_id, as_of_date)
    ORDER BY c.as_of_date, c.pupil_id
    """


def run_case(case: str, folder: Path, dates, memory_limit: str, threads: int, tmp: Path) -> dict:
    os.environ["POLARS_MAX_THREADS"] = str(threads)  # before polars is imported
    import duckdb  # imports are not timed: both sides pay the same interpreter start-up

    import riskscreen
    from riskscreen.features import build_features, default_spec, feature_plan, write_features

    if case == "polars":
        import polars as pl
        from _polars_reference import polars_features

        t0 = time.perf_counter()
        out = polars_features(folder, dates)
        wall = time.perf_counter() - t0
        rss = peak_rss_mb()
        values = out.drop("pupil_id", "as_of_date")
        checksum = float(values.select(pl.sum_horizontal(pl.all().sum())).item())
        return {
            "wall_s": wall,
            "peak_rss_mb": rss,
            "rows": out.height,
            "cols": values.width,
            "features": len(list(default_spec())),
            "checksum": checksum,
        }

    riskscreen.set_config(memory_limit=memory_limit, temp_directory=tmp, threads=threads)

    spec = subset_spec() if case in ("library-subset", "hand-written") else default_spec()
    n_features = len(list(spec))
    t0 = time.perf_counter()
    if case == "hand-written":
        con = duckdb.connect(
            config={"memory_limit": memory_limit, "threads": threads, "temp_directory": str(tmp)}
        )
        out = con.execute(hand_written_sql(folder, dates)).df()
        out = out.set_index(["pupil_id", "as_of_date"])
        con.close()
    elif case == "library-to-parquet":
        import pyarrow.parquet as pq

        path = write_features(folder, dates, tmp / f"X_{os.getpid()}.parquet")
        meta = pq.ParquetFile(path).metadata
        wall = time.perf_counter() - t0
        Path(path).unlink()
        return {
            "wall_s": wall,
            "peak_rss_mb": peak_rss_mb(),
            "rows": meta.num_rows,
            "cols": meta.num_columns - 2,  # less pupil_id, as_of_date
            "features": n_features,
            "checksum": 0.0,
        }
    else:
        plan = {"library-running-totals": "running_totals", "library-by-date": "by_date"}
        plan = plan.get(case, "auto")
        with feature_plan(plan):
            out = build_features(
                folder,
                dates,
                spec if case == "library-subset" else None,
                dtype="float32" if case == "library-float32" else "float64",
            )
    wall = time.perf_counter() - t0
    rss = peak_rss_mb()
    checksum = float(out.select_dtypes("number").sum().sum())
    return {
        "wall_s": wall,
        "peak_rss_mb": rss,
        "rows": len(out),
        "cols": out.shape[1],  # (pupil_id, as_of_date) is the index
        "features": n_features,
        "checksum": checksum,
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (VmHWM; reset by exec, unlike ru_maxrss)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def event_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(folder / f"{t}.parquet").metadata.num_rows for t in EVENT_TABLES)


def _median_run(runs: list[dict]) -> dict:
    """One case's runs as one: the median wall time, the largest peak, the first run's rest."""
    walls = sorted(r["wall_s"] for r in runs)
    mid = len(walls) // 2
    wall = walls[mid] if len(walls) % 2 else (walls[mid - 1] + walls[mid]) / 2
    return {**runs[0], "wall_s": wall, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--base", type=int, default=100_000, help="pupils generated, then tiled")
    p.add_argument("--period", choices=["week", "term"], default="week")
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--memory-limit", default="1GB")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--out", type=Path, default=Path("/tmp/riskscreen_bench"))
    p.add_argument(
        "--cases",
        nargs="+",
        default=[
            "polars",
            "library",
            "library-by-date",
            "library-running-totals",
            "library-float32",
            "library-to-parquet",
            "library-subset",
            "hand-written",
        ],
    )
    p.add_argument("--n-dates", type=int, nargs="+", default=[1, 6, 24], choices=[1, 6, 24])
    p.add_argument(
        "--layout",
        choices=["pupil", "date"],
        default="pupil",
        help="attendance as generated (each copy's pupils together) or sorted by date",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each case, the cases taken in turn; the table gives the median wall time "
        "and the largest peak (the machine's speed may drift between runs)",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        job = json.loads(args.child)
        res = run_case(
            job["case"],
            Path(job["folder"]),
            job["dates"],
            args.memory_limit,
            args.threads,
            Path(job["tmp"]),
        )
        print("RESULT " + json.dumps(res))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "spill").mkdir(exist_ok=True)
    folders = make_folders(args.out, args.sizes, args.base, args.period, args.years, args.layout)
    repeats = f", {args.repeat} runs in turn (median wall, largest peak)" if args.repeat > 1 else ""
    print(
        f"# synthetic data: make_linked_histories(n_pupils={args.base:,}, n_years={args.years}, "
        f"attendance_period={args.period!r}); sizes above the base are tiled copies with "
        f"shifted pupil_id/school_id, written to Parquet"
        f"{'; attendance sorted by period_end' if args.layout == 'date' else ''}. "
        "DuckDB memory_limit="
        f"{args.memory_limit}, threads={args.threads}; each case in a fresh subprocess{repeats}.",
        flush=True,
    )
    header = (
        f"{'pupils':>10} {'dates':>5} {'case':<22} {'rows out':>10} {'feats':>5} {'cols':>5} "
        f"{'wall s':>8} {'event rows/s':>14} {'peak RSS MiB':>12} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header), flush=True)
    sweep: dict = {}
    for n in args.sizes:
        folder = folders[n]
        n_events = event_rows(folder)
        for k in args.n_dates:
            dates = {1: DATES_1, 6: DATES_6, 24: DATES_24}[k]
            results = {}
            runs: dict = {case: [] for case in args.cases}
            failed: dict = {}
            for _ in range(max(1, args.repeat)):  # the cases in turn, run after run
                for case in args.cases:
                    job = {
                        "case": case,
                        "folder": str(folder),
                        "dates": dates,
                        "tmp": str(args.out / "spill"),
                    }
                    proc = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            json.dumps(job),
                            "--memory-limit",
                            args.memory_limit,
                            "--threads",
                            str(args.threads),
                        ],
                        capture_output=True,
                        text=True,
                    )
                    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
                    if proc.returncode or not line:
                        failed[case] = proc.stderr[-500:]
                    else:
                        runs[case].append(json.loads(line[0][7:]))
            for case in args.cases:
                if case in failed or not runs[case]:
                    print(f"{n:>10,} {k:>5} {case:<22} FAILED: {failed.get(case)}", flush=True)
                    continue
                r = _median_run(runs[case])
                results[case] = r
                sweep[(n, case, k)] = r["wall_s"]
                ratio = ""
                if case == "hand-written" and "library-subset" in results:
                    ratio = f"{results['library-subset']['wall_s'] / r['wall_s']:.2f}"
                if case in FULL_SPEC_CASES and case != "polars" and "polars" in results:
                    ratio = f"{r['wall_s'] / results['polars']['wall_s']:.2f}"
                print(
                    f"{n:>10,} {k:>5} {case:<22} {r['rows']:>10,} {r['features']:>5} "
                    f"{r['cols']:>5} "
                    f"{r['wall_s']:>8.1f} {n_events / r['wall_s']:>14,.0f} "
                    f"{r['peak_rss_mb']:>12,.0f} {ratio:>6}",
                    flush=True,
                )
            if {"library-subset", "hand-written"} <= set(results):
                a, b = results["library-subset"], results["hand-written"]
                same = abs(a["checksum"] - b["checksum"]) <= 1e-6 * max(1.0, abs(b["checksum"]))
                print(f"{'':>10} {'':>5} subset checksums agree: {same}", flush=True)
            if "polars" in results:
                b = results["polars"]
                for case in ("library", "library-by-date", "library-running-totals"):
                    if case in results:
                        a = results[case]
                        tol = 1e-9 * max(1.0, abs(b["checksum"]))
                        same = abs(a["checksum"] - b["checksum"]) <= tol
                        print(
                            f"{'':>10} {'':>5} {case} = polars by checksum: {same} "
                            f"({a['checksum']:.6f} vs {b['checksum']:.6f})",
                            flush=True,
                        )
    print(f"# event rows per size = rows of {', '.join(EVENT_TABLES)} in the Parquet folder")
    extra = [k for k in args.n_dates if k > 1]
    if 1 in args.n_dates and extra:
        print("\n# sweep: seconds per extra as-of date, (t(k) - t(1)) / (k - 1); ratio to polars")
        head = (
            f"{'pupils':>10} {'case':<24} "
            + " ".join(f"{f't({k})':>8}" for k in args.n_dates)
            + " "
            + " ".join(f"{f'+/date@{k}':>10}" for k in extra)
            + " "
            + " ".join(f"{f'ratio@{k}':>8}" for k in args.n_dates)
        )
        print(head)
        print("-" * len(head))
        for n in args.sizes:
            for case in args.cases:
                if case not in FULL_SPEC_CASES or (n, case, 1) not in sweep:
                    continue
                ts = [sweep.get((n, case, k)) for k in args.n_dates]
                per = [
                    (sweep[(n, case, k)] - sweep[(n, case, 1)]) / (k - 1)
                    if (n, case, k) in sweep
                    else None
                    for k in extra
                ]
                ratios = [
                    sweep[(n, case, k)] / sweep[(n, "polars", k)]
                    if (n, case, k) in sweep and (n, "polars", k) in sweep
                    else None
                    for k in args.n_dates
                ]
                cell = lambda v, w, f: f"{v:>{w}{f}}" if v is not None else f"{'-':>{w}}"  # noqa: E731
                print(
                    f"{n:>10,} {case:<24} "
                    + " ".join(cell(t, 8, ".1f") for t in ts)
                    + " "
                    + " ".join(cell(v, 10, ".2f") for v in per)
                    + " "
                    + " ".join(cell(v, 8, ".2f") for v in ratios),
                    flush=True,
                )


if __name__ == "__main__":
    main()
