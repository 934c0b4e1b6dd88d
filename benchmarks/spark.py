"""Benchmark the Spark engine beside DuckDB on the same Parquet folder, in the same run.

Both engines write the default spec's feature matrix for the school cohort to
Parquet (``write_features``: DuckDB one file, Spark a folder of part files), from
the same saved synthetic authority, with the same number of cores. The ratio
(Spark / DuckDB), not a win, is the point: on one machine DuckDB is the engine;
Spark is for data that does not fit one. The outputs are then compared value by
value (Spark with its default settings: code generation on, adaptive execution).

Printed:

- the table of wall times (Spark twice: a first run on the ``--base`` authority
  warms the JVM, which compiles and loads much of Spark then; the second is timed);
- the plan Spark ran for the timed write (the exchanges of adaptive execution's
  final plan, from Spark's status API) and, from the query's plan, the exchanges
  each event table's rows cross before they are aggregated to one row per cohort
  row (``riskscreen.spark._plan``);
- the Spark stages' measured costs (executor time per partition task, shuffle
  bytes, from Spark's status API);
- a projection to national scale (``--national-pupils`` x ``--national-years``) on
  a cluster of ``--cluster-cores`` cores from those per-partition costs.

The data: ``riskscreen.datasets.make_linked_histories`` at ``--base`` pupils, tiled
with shifted ids up to ``--pupils`` (as in ``benchmarks/features.py``).

Usage::

    python benchmarks/spark.py                      # quick: 100k pupils, 1 date
    python benchmarks/spark.py --pupils 1000000     # the 1M-pupil measurement
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from features import EVENT_TABLES, make_folders  # noqa: E402  (benchmarks/features.py)

DATES = ["2021-06-07", "2022-01-10", "2021-01-11", "2020-11-02"]


def _rows(folder: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    return {
        name: pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows
        for name in ("pupils", *EVENT_TABLES)
    }


def reseal(folder: Path) -> None:
    """Record the tiled files' sha256 in the manifest (copied from the base folder's)."""
    from riskscreen.data._io import file_sha256

    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    changed = False
    for entry in manifest["tables"].values():
        digest = file_sha256(folder / entry["file"])
        changed |= entry.get("sha256") != digest
        entry["sha256"] = digest
    if changed:
        path.write_text(json.dumps(manifest, indent=2))


def run_duckdb(folder: Path, dates, out: Path, cores: int) -> float:
    import riskscreen
    from riskscreen.features import write_features

    t0 = time.perf_counter()
    with riskscreen.config_context(threads=cores, temp_directory=out.parent):
        write_features(folder, dates, out)
    return time.perf_counter() - t0


def run_spark(spark, folder: Path, dates, out: Path) -> float:
    from riskscreen.features import write_features

    t0 = time.perf_counter()
    write_features(folder, dates, out, engine=spark)
    return time.perf_counter() - t0


def compare(duck_file: Path, spark_folder: Path) -> tuple[int, int, float]:
    """(rows DuckDB, rows Spark, largest absolute difference of any feature value)."""
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(duck_file).sort_values(["as_of_date", "pupil_id"], ignore_index=True)
    b = pd.read_parquet(spark_folder).sort_values(["as_of_date", "pupil_id"], ignore_index=True)
    if len(a) != len(b) or (a["pupil_id"].to_numpy() != b["pupil_id"].to_numpy()).any():
        return len(a), len(b), float("inf")
    x, y = a.iloc[:, 2:].to_numpy(float), b[a.columns[2:]].to_numpy(float)
    same_nan = np.isnan(x) == np.isnan(y)
    diff = np.nanmax(np.abs(np.where(np.isnan(x), 0, x) - np.where(np.isnan(y), 0, y)))
    return len(a), len(b), float(diff) if same_nan.all() else float("inf")


def plan_summary(spark, folder: Path, dates):
    """The event tables' exchanges in the plan of the feature query, and the plan's text."""
    from riskscreen.features import default_spec
    from riskscreen.spark._engine import feature_query
    from riskscreen.spark._plan import event_exchanges
    from riskscreen.spark._session import SparkEngineSession

    with SparkEngineSession(folder, owner="benchmark", spark=spark) as session:
        session.prepare(dates, None)
        frame = feature_query(session, default_spec())
        table = event_exchanges(frame)
        text = frame._jdf.queryExecution().executedPlan().toString()
    return table, text


def stage_costs(spark, since: int) -> list[dict]:
    """Completed stages after stage ``since``, from Spark's REST status API."""
    url = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    if not url:
        return []
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete") as r:
        stages = json.load(r)
    out = []
    for s in stages:
        if s["stageId"] <= since:
            continue
        out.append(
            {
                "stage": s["stageId"],
                "tasks": s["numTasks"],
                "executor_s": s["executorRunTime"] / 1000.0,
                "input_mb": s["inputBytes"] / 2**20,
                "shuffle_read_mb": s["shuffleReadBytes"] / 2**20,
                "shuffle_write_mb": s["shuffleWriteBytes"] / 2**20,
                "name": s["name"][:40],
            }
        )
    return sorted(out, key=lambda s: s["stage"])


def final_plan(spark) -> str:
    """The physical plan of Spark's latest SQL execution as it ran (REST status API)."""
    url = spark.sparkContext.uiWebUrl
    if not url:
        return ""
    app = spark.sparkContext.applicationId
    query = "details=true&planDescription=true&offset=0&length=100000"
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/sql?{query}") as r:
        runs = json.load(r)
    return max(runs, key=lambda e: e["id"])["planDescription"] if runs else ""


def exchange_counts(plan: str) -> dict[str, int]:
    """The exchanges a formatted plan ran, by kind and partitioning.

    Read from adaptive execution's final plans only (not the initial plans printed
    beside them) and not inside a cached table (the cohort, computed before).
    """
    import re

    tree, _, details = plan.partition("\n\n(")
    arguments = {}
    for block in ("(" + details).split("\n\n"):
        head = re.match(r"\((\d+)\) (BroadcastExchange|Exchange)\b", block)
        if head:
            args = re.search(r"Arguments: (\w+partitioning\((?:[^()]|\([^()]*\))*\))", block)
            arguments[head.group(1)] = re.sub(r"#\d+L?", "", args.group(1)) if args else ""
    counts: dict[str, int] = {}
    scopes: list[tuple[int, bool]] = []  # (indent, skipped) of the enclosing markers
    for line in tree.splitlines():
        body = line.lstrip(" :+-*")
        indent = len(line) - len(body)
        while scopes and scopes[-1][0] >= indent:
            scopes.pop()
        if body.startswith(("== Initial Plan ==", "InMemoryRelation")):
            scopes.append((indent, True))
            continue
        if body.startswith("== Final Plan =="):
            scopes.append((indent, False))
            continue
        node = re.match(r"(BroadcastExchange|Exchange) \((\d+)\)", body)
        if node and not any(skip for _, skip in scopes):
            kind = f"{node.group(1)} {arguments.get(node.group(2), '')}".strip()
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def last_stage(spark) -> int:
    url = spark.sparkContext.uiWebUrl
    if not url:
        return -1
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages") as r:
        return max((s["stageId"] for s in json.load(r)), default=-1)


def project(stages: list[dict], args, n_dates: int, wall_s: float) -> None:
    """Print the stages' measured costs and project them to national scale on a cluster.

    Stages of one task (the session's checks, date range and small lookups) cost
    about the same at any size: counted once, as measured. Stages spread over
    partitions read, join and aggregate the data: with partitions of the same size
    (the same pupil-years each), a stage has ``scale`` times as many tasks, run in
    waves of ``--cluster-cores``, each wave as long as this run's task. The driver's
    own time (planning the query, scheduling: the run's wall time less what its
    executors did) is added as measured.
    """
    import math

    pupil_years = args.pupils * args.years / 1e6
    data = [s for s in stages if s["tasks"] > 1]
    fixed_s = sum(s["executor_s"] for s in stages if s["tasks"] == 1)
    data_s = sum(s["executor_s"] for s in data)
    shuffle = sum(s["shuffle_write_mb"] for s in stages)
    driver_s = max(0.0, wall_s - data_s / args.cores - fixed_s)
    print("\n# Spark stages of the timed run (executor time summed over tasks)")
    print(f"{'stage':>5} {'tasks':>6} {'exec_s':>8} {'s/task':>7} {'shuf_w_mb':>10}  name")
    for s in data:
        print(
            f"{s['stage']:>5} {s['tasks']:>6} {s['executor_s']:>8.1f} "
            f"{s['executor_s'] / s['tasks']:>7.2f} {s['shuffle_write_mb']:>10.0f}  {s['name']}"
        )
    n_fixed = len(stages) - len(data)
    print(f"{'':>5} {n_fixed:>6} {fixed_s:>8.1f} {'':>7} {'':>10}  one-task stages (fixed cost)")
    print(
        f"# partitioned stages: {data_s:.0f} executor-s in {sum(s['tasks'] for s in data)} tasks "
        f"({args.pupils * args.years / (args.partitions or 4 * args.cores):,.0f} pupil-years a "
        f"shuffle partition); shuffle written {shuffle:,.0f} MB; driver {driver_s:.0f}s"
    )
    national = args.national_pupils * args.national_years / 1e6
    scale = national / pupil_years
    cores = args.cluster_cores
    tasks = waves_s = 0.0
    for s in data:
        n = math.ceil(s["tasks"] * scale)
        tasks += n
        waves_s += math.ceil(n / cores) * s["executor_s"] / s["tasks"]
    total_min = (waves_s + fixed_s + driver_s) / 60
    print(
        f"# projection: {args.national_pupils / 1e6:.0f}M pupils x {args.national_years} years = "
        f"{national:.0f}M pupil-years ({scale:.0f} x this run), {n_dates} as-of date(s), "
        f"partitions of the same size: {tasks:,.0f} tasks, "
        f"{data_s * scale / 3600:.1f} executor-hours; on {cores} cores "
        f"{waves_s / 60:.1f} min of task waves + {fixed_s:.0f}s one-task stages + "
        f"{driver_s:.0f}s driver = about {total_min:.1f} min per run (at this machine's speed "
        f"per core), shuffle about {shuffle * scale / 1024:,.0f} GB"
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pupils", type=int, default=100_000, help="pupils (default 100k: quick)")
    p.add_argument("--base", type=int, default=100_000, help="generated pupils, tiled up")
    p.add_argument("--years", type=int, default=3, help="years of history generated")
    p.add_argument("--period", default="week", choices=["week", "term"])
    p.add_argument("--dates", type=int, default=1, help="as-of dates (1-4)")
    p.add_argument("--cores", type=int, default=2, help="cores for both engines")
    p.add_argument("--memory", default="6g", help="Spark driver memory (local mode)")
    p.add_argument("--partitions", type=int, default=None, help="Spark shuffle partitions")
    p.add_argument("--out", type=Path, default=Path("benchmarks/.data"))
    p.add_argument("--plan-out", type=Path, default=None, help="write the physical plan here")
    p.add_argument("--national-pupils", type=int, default=9_000_000)
    p.add_argument("--national-years", type=int, default=10)
    p.add_argument("--cluster-cores", type=int, default=256)
    args = p.parse_args(argv)

    dates = DATES[: max(1, min(args.dates, len(DATES)))]
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = sorted({args.base, args.pupils})
    folders = make_folders(args.out, sizes, args.base, args.period, args.years)
    folder = folders[args.pupils]
    if folder != folders[args.base]:
        reseal(folder)
    rows = _rows(folder)
    print(f"# data: {folder} ({args.years} years, {args.period}ly attendance)")
    print("# rows: " + ", ".join(f"{k}={v:,}" for k, v in rows.items()))
    work = args.out / "spark_outputs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()

    results = []
    t_duck = run_duckdb(folder, dates, work / "X_duckdb.parquet", args.cores)
    results.append(("duckdb", t_duck))

    from riskscreen.spark import local_spark_session

    t0 = time.perf_counter()
    spark = local_spark_session(
        args.cores,
        shuffle_partitions=args.partitions or 4 * args.cores,
        driver_memory=args.memory,
        app_name="riskscreen-benchmark",
        config={"spark.ui.enabled": "true"},  # its REST API gives the stages' costs
    )
    t_start = time.perf_counter() - t0
    # the JVM's first run compiles and loads much of Spark: warm it on the base authority
    warm = folders.get(args.base, folder)
    t_first = run_spark(spark, warm, dates, work / "X_spark_warm")
    before = last_stage(spark)
    t_second = run_spark(spark, folder, dates, work / "X_spark")
    stages = stage_costs(spark, before)
    ran = final_plan(spark)
    warm_name = f"spark, warm-up ({args.base // 1000}k)" if warm != folder else "spark, first run"
    results += [(warm_name, t_first), ("spark", t_second)]
    n_duck, n_spark, diff = compare(work / "X_duckdb.parquet", work / "X_spark")

    print(
        f"\n# {args.pupils:,} pupils, {len(dates)} as-of date(s), default spec, "
        f"{args.cores} cores each; Spark session start {t_start:.1f}s (not counted)"
    )
    print(f"{'engine':<24} {'rows':>10} {'wall_s':>8} {'ratio':>7}")
    for name, t in results:
        n = n_spark if name == "spark" else n_duck if name == "duckdb" else None
        ratio = f"{t / t_duck:>7.1f}" if n is not None else f"{'-':>7}"
        print(f"{name:<24} {'' if n is None else f'{n:,}':>10} {t:>8.1f} {ratio}")
    print(f"# values: {n_duck:,} rows on both engines, largest difference {diff:.2e}")

    print("\n# the plan Spark ran for the timed write (adaptive execution's final plan):")
    for kind, n in exchange_counts(ran).items():
        print(f"  {n:>3} x {kind}")
    table, text = plan_summary(spark, folder, dates)
    print("\n# plan: exchanges each event table's rows cross before they are aggregated")
    for r in table.itertuples():
        print(f"  {r.table:<18} {r.exchanges}  {', '.join(r.partitioning) or '-'}")
    if args.plan_out is not None:
        args.plan_out.write_text(f"{text}\n\n== final plan of the timed write ==\n{ran}\n")
        print(f"# physical plans written to {args.plan_out}")

    if stages:
        project(stages, args, len(dates), t_second)
        if args.plan_out is not None:
            stages_file = args.plan_out.with_suffix(".stages.json")
            stages_file.write_text(json.dumps(stages, indent=1))
    spark.stop()


if __name__ == "__main__":
    main()
