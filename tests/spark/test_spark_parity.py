"""The Spark engine gives DuckDB's values, on real PySpark in local mode.

Every test here shares one SparkSession (the ``spark`` fixture) and so lives in
this one module: pytest-xdist keeps a module on one worker, so the suite starts
one JVM. The data are small: a hand-built authority whose rows sit on the
edges (``_edge_histories``) and a small synthetic authority.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sqlglot", reason="sqlglot comes with the spark extra")

from _edge_histories import (
    AS_OF,
    edge_histories,
    edge_scenarios,
    edge_spec,
    unvalidated_histories,
    unvalidated_scenarios,
)
from _mutations import breaking
from _parity import CURRENT, Scenario, differences, run

import riskscreen
from riskscreen.datasets import make_linked_histories
from riskscreen.features import (
    build_cohort,
    build_features,
    default_spec,
    make_labels,
    write_features,
)
from riskscreen.spark import _session as spark_session_module
from riskscreen.spark import _sql, group_confusion_counts

OUTCOMES = ("suspension", "permanent_exclusion", "missing_education", "persistent_absence")
LA_DATES = ["2020-10-05", "2021-02-01"]


#: The hand-built authorities, their scenarios and whether they are valid data.
EDGE_SETS = (
    ("edge", edge_histories, edge_scenarios, True),
    ("unvalidated", unvalidated_histories, unvalidated_scenarios, False),
)


def run_edge(spark=None, only=None) -> dict:
    """Every edge scenario (or those named in ``only``) on DuckDB or on ``spark``."""
    out = {}
    for name, histories, scenarios, validate in EDGE_SETS:
        chosen = [sc for sc in scenarios() if only is None or sc.name in only]
        if chosen:
            with riskscreen.config_context(validate=validate):
                got = run(histories(), chosen, spark=spark)
            got[f"{name}/end_of_data"] = got.pop("end_of_data")
            out.update(got)
    return out


@pytest.fixture(scope="module")
def edge():
    return edge_histories(), run_edge()


@pytest.fixture(scope="module")
def recorder():
    """Which constructs each scenario sent to Spark (filled as the parity runs go)."""
    return {}


def _recording(monkeypatch, seen: dict):
    real = spark_session_module.to_spark_sql

    def record(sql, **kwargs):
        seen.setdefault(CURRENT[0], set()).update(_sql.constructs(sql))
        return real(sql, **kwargs)

    monkeypatch.setattr(spark_session_module, "to_spark_sql", record)


@pytest.fixture(scope="module")
def edge_on_spark(spark, recorder):
    with pytest.MonkeyPatch.context() as mp:
        _recording(mp, recorder)
        return run_edge(spark)


@pytest.fixture(scope="module")
def la(tmp_path_factory):
    """A small synthetic authority, saved as a folder (Spark reads its Parquet files)."""
    path = tmp_path_factory.mktemp("la") / "la"
    make_linked_histories(n_pupils=500, n_years=3, seed=2).save(path)
    return riskscreen.data.LinkedHistories.open(path)


def _la_scenario():
    return Scenario(
        "la", LA_DATES, spec=default_spec(), outcomes=OUTCOMES, horizon="6M", protected=True
    )


# -- parity ------------------------------------------------------------------------------------
def test_edge_rows_sit_where_the_scenarios_say(edge):
    """The hand-built rows hit the edges (checked on DuckDB, whose values Spark must match)."""
    _, duck = edge
    X = duck["school/X"]
    leap, month_end, y11 = (pd.Timestamp(d) for d in AS_OF)
    # [as_of - 28D, as_of): 2020-02-29 and 2020-02-02 in; 2020-02-01 and the as-of date out
    assert X.loc[(1, leap), "excl_28d"] == 2
    # one year back from 2020-03-01 is 2019-03-01 (in), not 365 days (2019-03-02)
    assert X.loc[(1, leap), "excl_1y"] == 5
    assert X.loc[(1, month_end), "excl_1m"] == 1  # 2021-03-31 - 1M clips to 2021-02-28
    assert X.loc[(1, leap), "sen_now"] == 1  # ends on the as-of date: still open
    assert X.loc[(4, month_end), "sen_now"] == 1  # its end was recorded only later
    assert (7, leap) in X.index and X.loc[(7, leap), "excl_28d"] == 1  # recorded before
    assert (9, leap) not in X.index  # on roll, but recorded after the as-of date
    assert (6, y11) in X.index  # Year 11 ends exactly 3 months after 2022-05-31
    assert duck["orphan/error"].startswith(
        "ValueError: parity: The 'cohort' frame has 2 row(s) (1 pupil(s))"
    )
    assert (
        "in 'enrolments' / 'social_care' on an as-of date) has 2 row(s)"
        in (duck["orphan_rolls/error"])
    )
    assert duck["too_early/error"].startswith("ValueError: The 'as_of_dates' parameter")
    y = duck["school/y:suspension"]
    assert y.loc[(3, month_end)]  # censored, but the suspension happened first
    assert pd.isna(duck["school/y:permanent_exclusion"].loc[(3, month_end)])


def test_edge_scenarios_give_the_same_values_on_spark(edge, edge_on_spark):
    _, duck = edge
    assert len(duck) > 30
    assert differences(duck, edge_on_spark) == []


def test_default_spec_and_the_four_outcomes_agree_on_a_synthetic_authority(spark, la, recorder):
    duck = run(la, [_la_scenario()])
    with pytest.MonkeyPatch.context() as mp:
        _recording(mp, recorder)
        on_spark = run(la, [_la_scenario()], spark=spark)
    assert not any(key.endswith("error") for key in duck), duck.keys()
    for outcome in OUTCOMES:  # each outcome happens, and not to everyone
        y = duck[f"la/y:{outcome}"].dropna()
        assert 0 < y.sum() < len(y), outcome
    assert differences(duck, on_spark) == []


def test_every_proven_construct_was_compared(edge_on_spark, recorder):
    """The parity tests sent SQL holding every construct the engine accepts."""
    seen = set().union(*recorder.values())
    assert seen >= _sql.SEMANTICS, sorted(_sql.SEMANTICS - seen)
    assert seen <= _sql.PROVEN_CONSTRUCTS


# -- breaking a construct must break parity ----------------------------------------------------
#: Wrong translations a hand-written Spark port could easily make.
LIKELY_MISTAKES = ("Interval:YEAR", "DateDiff:DAY", "GTE")


def test_breaking_a_compiled_construct_makes_parity_fail(spark, edge, monkeypatch):
    """One year read as 365 days, DATEDIFF's arguments swapped, a window's start made strict."""
    from riskscreen.features._run import run_features
    from riskscreen.spark._session import SparkEngineSession

    histories, duck = edge
    spec = edge_spec().select(["excl_28d", "excl_1y", "excl_first", "sen_days_1y"])
    expected = duck["school/X"][spec.output_names()]
    with SparkEngineSession(histories, owner="parity", spark=spark) as session:
        session.prepare(AS_OF, None)  # the cohort, worked out once and kept
        pd.testing.assert_frame_equal(run_features(session, spec), expected)
        for construct in LIKELY_MISTAKES:
            monkeypatch.setattr(_sql, "REWRITES", [breaking(construct)])
            X = run_features(session, spec)
            assert differences({"X": expected}, {"X": X}), f"breaking {construct} went unnoticed"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # broken SQL may trip riskscreen's data checks
@pytest.mark.parametrize("construct", sorted(_sql.SEMANTICS))
def test_breaking_any_construct_makes_parity_fail(
    spark, edge, edge_on_spark, recorder, construct, monkeypatch
):
    """Every construct, broken in turn, changes a result (only scenarios that use it run)."""
    _, duck = edge
    keep = {name for name, used in recorder.items() if construct in used}
    assert keep, f"no edge scenario uses {construct}"
    monkeypatch.setattr(_sql, "REWRITES", [breaking(construct)])
    got = run_edge(spark, only=keep)
    expected = {k: v for k, v in duck.items() if k.split("/")[0] in keep or k in got}
    assert differences(expected, got), f"breaking {construct} went unnoticed"


# -- the public functions ----------------------------------------------------------------------
def test_public_functions_take_the_engine_as_a_parameter_or_setting(spark, edge, tmp_path):
    histories, _ = edge
    spec = edge_spec().select(["excl_1y", "excl_median", "sen_now", "police_current"])
    expected = build_features(histories, AS_OF[:2], spec, use_protected=("sex",), dtype="float32")
    got = build_features(
        histories, AS_OF[:2], spec, use_protected=("sex",), dtype="float32", engine=spark
    )
    pd.testing.assert_frame_equal(got, expected)
    with riskscreen.config_context(engine="spark", spark_session=spark):
        y, report = make_labels(histories, AS_OF[:2], "suspension", "6M", return_report=True)
        cohort = build_cohort(histories, AS_OF)
    y_duck, report_duck = make_labels(histories, AS_OF[:2], "suspension", "6M", return_report=True)
    pd.testing.assert_series_equal(y, y_duck)
    pd.testing.assert_frame_equal(report, report_duck)
    pd.testing.assert_frame_equal(cohort, build_cohort(histories, AS_OF))
    spec = spec.select(["excl_1y", "sen_now", "police_current"])
    folder = write_features(histories, AS_OF, tmp_path / "X_spark", spec, engine="spark")
    file = write_features(histories, AS_OF, tmp_path / "X.parquet", spec)
    on_spark = pd.read_parquet(folder).sort_values(["as_of_date", "pupil_id"])
    on_duck = pd.read_parquet(file)
    pd.testing.assert_frame_equal(
        on_spark.reset_index(drop=True), on_duck.reset_index(drop=True), check_dtype=False
    )
    assert folder.is_dir() and len(on_duck) == 23


def test_a_construct_spark_is_not_proven_on_is_refused_not_run(spark, edge, monkeypatch):
    histories, _ = edge
    monkeypatch.setattr(_sql, "SEMANTICS", _sql.SEMANTICS - {"Greatest"})
    monkeypatch.setattr(_sql, "PROVEN_CONSTRUCTS", _sql.PROVEN_CONSTRUCTS - {"Greatest"})
    spec = edge_spec().select(["sen_days_1y"])  # days_active: GREATEST(start, window start)
    with pytest.raises(_sql.UnprovenConstructError, match=r"\['Greatest'\]"):
        build_features(histories, AS_OF[:1], spec, engine=spark)
    assert not [v for v in spark.catalog.listTables() if v.name.startswith("riskscreen_")]


# -- the plan Spark chose ----------------------------------------------------------------------
def test_event_rows_cross_one_exchange_by_pupil_before_they_are_aggregated(spark, la):
    from riskscreen.spark._engine import feature_query
    from riskscreen.spark._plan import event_exchanges
    from riskscreen.spark._session import SparkEngineSession

    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "1kb")  # joins as at scale
    try:
        with SparkEngineSession(la, owner="test", spark=spark) as session:
            session.prepare(LA_DATES, None)
            plan = event_exchanges(feature_query(session, default_spec()))
    finally:
        spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")
    events = {"attendance", "exclusions", "enrolments", "sen", "fsm", "social_care"}
    assert events | {"missing_education"} <= set(plan["table"])
    assert (plan["exchanges"] <= 1).all(), plan
    moved = plan[plan["exchanges"] == 1]
    assert set(moved["table"]) >= events
    assert all(p == ["hashpartitioning(pupil_id, 1)"] for p in moved["partitioning"]), moved


# -- the audit's counts ------------------------------------------------------------------------
def _scores(n: int = 400) -> pd.DataFrame:
    """Scores with many ties (some at the cut-off), unknown outcomes and missing groups."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "as_of_date": np.repeat(pd.to_datetime(["2021-02-01", "2022-02-01"]), n // 2),
            "school": rng.choice([100, 200, 300], n),
            "score": rng.integers(0, 40, n) / 4.0,
            "y": pd.array(rng.random(n) < 0.2, dtype="boolean"),
            "sex": rng.choice(["F", "M"], n),
            "ethnicity": pd.array(rng.choice(["WBRI", "BAFR", "APKN", None], n), dtype="str"),
            "fsm": rng.random(n) < 0.3,
        }
    )
    frame.loc[rng.choice(n, 25, replace=False), "y"] = pd.NA
    frame.loc[:2, ["ethnicity", "sex", "y"]] = ["GRTH", "F", pd.NA]  # outcomes all unknown
    return frame


def _audit_counts(frame, k, sensitive, intersections, per_school) -> pd.DataFrame:
    """The counts riskscreen.evaluation's fairness audit computes (before suppression)."""
    from riskscreen.evaluation._audit import _flags
    from riskscreen.evaluation._audit_build import plan_audit
    from riskscreen.evaluation._audit_stats import statistics
    from riskscreen.evaluation._bootstrap import cluster_codes
    from riskscreen.evaluation._confusion import GroupCounts

    y = frame["y"].to_numpy(dtype=float, na_value=np.nan)
    score = frame["score"].to_numpy(dtype=float)
    schools = frame["school"].to_numpy(dtype=object)
    flags = _flags(score, k, None, schools, per_school, frame["as_of_date"], "test")
    known = ~np.isnan(y)
    engine = GroupCounts(
        y[known],
        flags[known],
        None,
        score[known],
        frame.loc[known, sensitive].reset_index(drop=True),
        cluster_codes(None, int(known.sum())),
    )
    plan = plan_audit(engine, sensitive, intersections, decompose=False, search=False)
    _, counts = statistics(engine, plan)
    rows = []
    for part, c in zip(plan.parts, counts, strict=True):
        for j, group in enumerate(part.labels):
            values = [c[key][j] for key in ("n", "pos", "flagged", "tp")]
            rows.append((part.name, group, *values))
    table = pd.DataFrame(
        rows, columns=["attribute", "group", "n", "n_outcome", "n_flagged", "n_flagged_outcome"]
    )
    return table.set_index(["attribute", "group"]), float(flags[~known].sum())


@pytest.mark.parametrize(
    ("k", "strata", "per_school"),
    [(0.1, ["as_of_date"], False), (3, ["as_of_date", "school"], True)],
    ids=["fraction-per-date", "count-per-school"],
)
def test_group_confusion_counts_equal_the_fairness_audits_and_collect_no_rows(
    spark, monkeypatch, k, strata, per_school
):
    import pyarrow as pa

    from riskscreen.evaluation import FairnessAudit
    from riskscreen.spark._session import SparkConnection

    frame = _scores()
    n = len(frame)
    sensitive, inter = ["sex", "ethnicity", "fsm"], [("ethnicity", "sex")]
    scores = SparkConnection(spark).from_arrow(pa.Table.from_pandas(frame, preserve_index=False))
    collected = []
    real_collect = type(scores).collect

    def counting_collect(self):
        rows = real_collect(self)
        collected.append(len(rows))
        return rows

    monkeypatch.setattr(type(scores), "collect", counting_collect)
    got = group_confusion_counts(
        scores,
        score="score",
        y_true="y",
        sensitive_features=sensitive,
        k=k,
        strata=strata,
        intersections=inter,
    )
    monkeypatch.undo()
    # only per-stratum totals and the counts came to the driver, never a row
    n_strata = frame.groupby(strata).ngroups
    assert max(collected) <= max(len(got), n_strata) and sum(collected) < n / 2

    expected, unknown_flagged = _audit_counts(frame, k, sensitive, inter, per_school)
    all_unknown = got["n"] == 0  # groups whose outcomes are all unknown: not in the audit
    assert list(got.index[~all_unknown]) == list(expected.index)  # same groups, same order
    assert list(got.index[all_unknown]) == [("ethnicity", "GRTH"), ("ethnicity & sex", "GRTH & F")]
    pd.testing.assert_frame_equal(
        got.loc[~all_unknown, expected.columns], expected, check_exact=False, rtol=1e-12
    )
    derived = got.loc[~all_unknown]
    fp = expected["n_flagged"] - expected["n_flagged_outcome"]
    assert np.allclose(derived["fp"], fp)
    assert np.allclose(derived["fn"], expected["n_outcome"] - expected["n_flagged_outcome"])
    assert np.allclose(derived["tn"], expected["n"] - expected["n_outcome"] - fp)
    everyone = got.loc[("all", "all pupils")]
    assert everyone["n_unknown"] == frame["y"].isna().sum()
    assert np.isclose(everyone["n_unknown_flagged"], unknown_flagged)

    # and the published audit (small counts suppressed) shows the same numbers where it shows any
    audit = FairnessAudit.from_predictions(
        frame["y"].to_numpy(dtype=float, na_value=np.nan),
        frame["score"].to_numpy(dtype=float),
        sensitive_features=frame[sensitive],
        k=k,
        as_of_dates=frame["as_of_date"],
        schools=frame["school"].to_numpy(dtype=object),
        per_school=per_school,
        intersections=inter,
        n_bootstrap=0,
        search=False,
    )
    shown = audit.by_group[list(expected.columns)].astype("Float64")
    mine = got.loc[shown.index, list(expected.columns)].astype("Float64")
    visible = shown.notna().to_numpy()
    assert visible.sum() > len(shown)  # most counts are shown
    assert np.allclose(mine.to_numpy(float)[visible], shown.to_numpy(float, na_value=0)[visible])


def test_group_confusion_counts_name_what_is_wrong(spark):
    scores = spark.createDataFrame([(1.0, 1, "F")], "score double, y int, sex string")
    with pytest.raises(ValueError, match="'sensitive_features' parameter.*'ethnicity'"):
        group_confusion_counts(
            scores, score="score", y_true="y", sensitive_features=["ethnicity"], k=1
        )
    with pytest.raises(ValueError, match="'k' parameter of group_confusion_counts"):
        group_confusion_counts(scores, score="score", y_true="y", sensitive_features=["sex"], k=0)
    with pytest.raises(ValueError, match="'intersections' parameter"):
        group_confusion_counts(
            scores,
            score="score",
            y_true="y",
            sensitive_features=["sex"],
            k=1,
            intersections=[("sex",)],
        )
    bad = spark.createDataFrame([(1.0, 2, "F")], "score double, y int, sex string")
    with pytest.raises(ValueError, match="'y_true' column 'y'.*1 value"):
        group_confusion_counts(bad, score="score", y_true="y", sensitive_features=["sex"], k=1)
