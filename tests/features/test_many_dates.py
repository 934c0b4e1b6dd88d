"""The plan for many as-of dates (running totals) gives the features of the plan by date.

Random histories, drawn from a seed that hypothesis chooses, put events on the
edges that matter: exactly on a window's first day and on the as-of date, the
day before, leap days (as-of dates 29 Feb and 1 Mar 2020, 28 Feb 2021, whose
"1Y" and "6M" windows start on clipped days), knowledge dates after the event
date (and before it), spells opening and closing on the as-of date, ends known
later than they happened, and pupils with no events at all. Every feature of the
default spec and of a spec with every other aggregate must come out identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _feature_histories import frame, histories, on_roll, pupil
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskscreen
from riskscreen.data import CustomSource, LinkedHistories
from riskscreen.data._codes import (
    ABUSE_CATEGORY_CODES,
    EXCLUSION_REASON_CODES,
    LEAVING_REASON_CODES,
    SEN_NEED_CODES,
    SOCIAL_CARE_KINDS,
)
from riskscreen.features import (
    Col,
    Feature,
    FeatureSpec,
    build_features,
    default_spec,
    feature_plan,
    write_features,
)
from riskscreen.features._many_dates import choose_plan

DATES = pd.to_datetime(["2020-02-29", "2020-03-01", "2021-02-28", "2022-01-10", "2023-06-01"])
#: window lengths of the specs (and a day either side of them)
EDGES = [pd.DateOffset(days=d) for d in (0, 1, 28, 84, 91, 365, 366)] + [
    pd.DateOffset(months=m) for m in (6, 12, 24, 72)
]
PUPILS = list(range(1, 9))  # pupil 8 has no events at all

EXTRA_SPEC = FeatureSpec(
    (
        Feature("sess_mean", "exclusions", "mean", "2Y", column="sessions"),
        Feature("sess_min", "exclusions", "min", "all", column="sessions"),
        Feature("sess_max_6m", "exclusions", "max", "6M", column="sessions"),
        Feature("sess_sum_1y", "exclusions", "sum", "1Y", column="sessions"),
        Feature("first_excl", "exclusions", "days_since_first", "all"),
        Feature("first_excl_2y", "exclusions", "days_since_first", "2Y"),
        Feature("last_excl_1y", "exclusions", "days_since_last", "1Y"),
        Feature("any_excl_28d", "exclusions", "any", "28D"),
        Feature("cur_sess", "exclusions", "current", "all", column="sessions"),
        Feature(
            "unauth_trend",
            "attendance",
            "trend",
            "12W",
            column="sessions_unauthorised_absent",
            denominator="sessions_possible",
        ),
        Feature("possible_12w", "attendance", "sum", "12W", column="sessions_possible"),
        Feature(
            "half_absent_6m",
            "attendance",
            "sum",
            "6M",
            column={"sessions_authorised_absent": 0.5, "sessions_unauthorised_absent": 1.0},
        ),
        Feature("sen_ended", "sen", "days_since_end", "all"),
        Feature("sen_ended_1y", "sen", "days_since_end", "1Y"),
        Feature("sen_started", "sen", "days_since_start", "all"),
        Feature("sen_ended_n_6m", "sen", "ended_count", "6M"),
        Feature("sc_ended", "social_care", "ended_count", "2Y"),
        Feature("sc_ended_all", "social_care", "ended_count", "all"),
        Feature("sc_days_1y", "social_care", "days_active", "1Y"),
        Feature("sc_spells_28d", "social_care", "spell_count", "28D"),
        Feature("fsm_days_all", "fsm", "days_active", "all"),
        Feature("police_max", "police", "max", "6M", column="score"),
        Feature("police_n", "police", "count", "all", where=Col("score") != 0),
        Feature("police_sum_1y", "police", "sum", "1Y", column="n"),
        Feature("police_score_1y", "police", "sum", "1Y", column="score"),
        Feature("police_rate_1y", "police", "rate", "1Y", column="n", denominator="n"),
        Feature("police_any_13w", "police", "any", "13W", compare_window="1Y"),
        Feature("police_last", "police", "days_since_last", "all"),
        Feature("episodes_active", "episodes", "active", "all"),
        Feature("episodes_ended_1y", "episodes", "ended_count", "1Y"),
        Feature("episodes_n_2y", "episodes", "spell_count", "2Y"),
        Feature("episodes_days_6m", "episodes", "days_active", "6M"),
    )
)
SPEC = default_spec() + EXTRA_SPEC


@pytest.fixture(autouse=True)
def _engine_semantics_only():
    # random rows may break the data model's rules; the plans must still agree
    with riskscreen.config_context(validate=False):
        yield


def _day(rng, edges: bool = True) -> pd.Timestamp:
    """A day on an edge of some as-of date's window (or next to it), or any day."""
    if edges and rng.random() < 0.6:
        d = DATES[rng.integers(len(DATES))] - EDGES[rng.integers(len(EDGES))]
        return d + pd.Timedelta(days=int(rng.integers(-1, 2)) if rng.random() < 0.3 else 0)
    return pd.Timestamp("2014-01-01") + pd.Timedelta(days=int(rng.integers(0, 3500)))


def _known(rng, date: pd.Timestamp):
    """A knowledge date: none, the day itself, later (often on an as-of date), or earlier."""
    u = rng.random()
    if u < 0.4:
        return None
    if u < 0.55:
        return date
    if u < 0.75:
        return DATES[rng.integers(len(DATES))] + pd.Timedelta(days=int(rng.integers(-1, 2)))
    return date + pd.Timedelta(days=int(rng.integers(-30, 400)))


def _end(rng, start: pd.Timestamp):
    u = rng.random()
    if u < 0.25:
        return None
    if u < 0.5:  # on or next to an as-of date
        return DATES[rng.integers(len(DATES))] + pd.Timedelta(days=int(rng.integers(-1, 2)))
    return start + pd.Timedelta(days=int(rng.integers(-3, 900)))


def _spells(rng, n, **cols):
    rows = []
    for _ in range(n):
        start = _day(rng)
        end = _end(rng, start)
        row = {"pupil_id": int(rng.choice(PUPILS[:-1])), "start_date": start, "end_date": end}
        row.update({k: (v(rng) if callable(v) else v) for k, v in cols.items()})
        rows.append((row, _known(rng, start), None if end is None else _known(rng, end)))
    return rows


def _with_knowledge(name, rows, *, spells: bool) -> pd.DataFrame:
    out = frame(name, [r for r, *_ in rows])
    out["recorded_date"] = pd.Series([k for _, k, *_ in rows], dtype="datetime64[us]")
    if spells:
        out["end_recorded_date"] = pd.Series([k for *_, k in rows], dtype="datetime64[us]")
    return out


def _random_histories(seed: int) -> LinkedHistories:
    rng = np.random.default_rng(seed)
    pick = lambda values: lambda r: str(r.choice(sorted(values)))  # noqa: E731
    reasons = sorted(EXCLUSION_REASON_CODES)
    excl = []
    for _ in range(int(rng.integers(10, 40))):
        start = _day(rng)
        row = {
            "pupil_id": int(rng.choice(PUPILS[:-1])),
            "start_date": start,
            "kind": "suspension" if rng.random() < 0.8 else "permanent",
            "sessions": None if rng.random() < 0.2 else float(rng.integers(1, 9)) / 2,
            "reason": str(rng.choice(reasons)),
            "reason_2": None if rng.random() < 0.6 else str(rng.choice(reasons)),
            "school_id": int(rng.choice([100, 200])),
        }
        excl.append((row, _known(rng, start)))
    att = []
    for p in PUPILS[:-1]:
        for _ in range(int(rng.integers(3, 25))):
            end = _day(rng)
            possible = int(rng.integers(0, 11))
            auth = int(rng.integers(0, possible + 1))
            row = {
                "pupil_id": p,
                "period_start": end - pd.Timedelta(days=4),
                "period_end": end,
                "sessions_possible": possible,
                "sessions_authorised_absent": auth,
                "sessions_unauthorised_absent": int(rng.integers(0, possible - auth + 1)),
            }
            att.append((row, _known(rng, end)))
    enrol = []
    for _ in range(int(rng.integers(0, 10))):
        entry = _day(rng)
        leave = _end(rng, entry)
        row = on_roll(
            int(rng.choice(PUPILS[:-1])),
            entry=entry,
            school=int(rng.choice([100, 200])),
            leaving_date=leave,
            leaving_reason=None if leave is None else str(rng.choice(sorted(LEAVING_REASON_CODES))),
            part_time=bool(rng.random() < 0.3),
        )
        enrol.append((row, _known(rng, entry), None if leave is None else _known(rng, leave)))
    base = [(on_roll(p, entry="2015-09-01"), None, None) for p in PUPILS]
    factors = ["4A", "10A", "4A,10A", "3A, 24A", None]
    tables = {
        "pupils": [pupil(p, "2009-10-01" if p % 2 else "2008-03-01") for p in PUPILS],
        "exclusions": excl,
        "attendance": att,
        "enrolments": base + enrol,
        "sen": _spells(
            rng,
            int(rng.integers(3, 12)),
            provision=pick({"K", "E"}),
            primary_need=pick(SEN_NEED_CODES),
        ),
        "fsm": _spells(rng, int(rng.integers(2, 10))),
        "social_care": _spells(
            rng,
            int(rng.integers(10, 30)),
            kind=pick(SOCIAL_CARE_KINDS),
            abuse_category=lambda r: None if r.random() < 0.5 else pick(ABUSE_CATEGORY_CODES)(r),
            assessment_factors=lambda r: factors[r.integers(len(factors))],
        ),
        "missing_education": _spells(rng, int(rng.integers(2, 6)), kind=pick({"cme", "ehe"})),
    }
    h = histories(pupils=tables["pupils"])
    frames = h.tables()
    for t, rows in tables.items():
        if t == "pupils" or not rows:
            continue
        new = _with_knowledge(t, rows, spells=t not in ("exclusions", "attendance"))
        frames[t] = pd.concat([frames[t], new], ignore_index=True)
    police = []
    for _ in range(int(rng.integers(5, 20))):
        date = _day(rng)
        police.append(
            {
                "pupil_id": int(rng.choice(PUPILS[:-1])),
                "date": date,
                "score": float(rng.integers(0, 5)) / 4,
                "n": int(rng.integers(0, 3)),
                "recorded_date": _known(rng, date),
            }
        )
    police = pd.DataFrame(police, columns=["pupil_id", "date", "score", "n", "recorded_date"])
    police = police.astype(
        {
            "pupil_id": "int64",
            "date": "datetime64[us]",
            "score": "float64",
            "n": "int64",
            "recorded_date": "datetime64[us]",
        }
    )
    episodes = []
    for row, known, end_known in _spells(rng, int(rng.integers(2, 10))):
        episodes.append({**row, "recorded_date": known, "end_recorded_date": end_known})
    episodes = pd.DataFrame(
        episodes,
        columns=["pupil_id", "start_date", "end_date", "recorded_date", "end_recorded_date"],
    ).astype({"pupil_id": "int64"} | {c: "datetime64[us]" for c in ("start_date", "end_date")})
    for c in ("recorded_date", "end_recorded_date"):
        episodes[c] = episodes[c].astype("datetime64[us]")
    return LinkedHistories(
        **frames,
        custom={
            "police": (police, CustomSource("pupil_id", "date", None, ("score", "n"))),
            "episodes": (episodes, CustomSource("pupil_id", "start_date", "end_date", ())),
        },
    )


def _both_plans(h, dates=DATES, spec=SPEC):
    with feature_plan("by_date"):
        by_date = build_features(h, dates, spec)
    with feature_plan("running_totals"):
        running = build_features(h, dates, spec)
    return by_date, running


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_running_totals_equal_the_plan_by_date_on_random_histories(seed):
    by_date, running = _both_plans(_random_histories(seed))
    assert len(by_date) == len(DATES) * len(PUPILS)
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)


@pytest.mark.parametrize("cells", [True, False])
def test_counts_in_the_grids_cells_equal_counts_row_by_row(monkeypatch, cells):
    from riskscreen.features import _many_dates

    # sources few pupils have rows in: counts worked out per cell and date, then taken
    # by each row; the others (and all, when forced) row by row
    calls = {"cells": 0, "rows": 0}
    cell_counts, counts = _many_dates._cell_counts, _many_dates._counts

    def by_cell(*args):
        calls["cells"] += 1
        return cell_counts(*args)

    def by_row(*args):
        calls["rows"] += 1
        return counts(*args)

    monkeypatch.setattr(_many_dates, "_cell_counts", by_cell)
    monkeypatch.setattr(_many_dates, "_counts", by_row)
    if not cells:
        monkeypatch.setattr(_many_dates, "_cell_counts", None)
        lookups = _many_dates._lookups
        monkeypatch.setattr(_many_dates, "_lookups", lambda *a: lookups(*a[:-2], {}, a[-1]))
    by_date, running = _both_plans(_random_histories(4))
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    assert calls["rows"] > 0 and (calls["cells"] > 0) == cells


def test_pupil_without_events_and_a_single_date_agree():
    h = _random_histories(7)
    by_date, running = _both_plans(h, DATES[:1])
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    # pupil 8 has no events: counts 0, recency imputed
    row = running.xs(8, level="pupil_id").iloc[0]
    assert row["suspension_count_all"] == 0 and row["days_since_last_suspension"] == 3650


@pytest.mark.parametrize("order", ["pupil_id", "date"])
def test_running_totals_do_not_depend_on_the_order_of_the_source_rows(order):
    # rows that come pupil by pupil or by date (e.g. a census's weekly attendance) add up
    # in the same grid of points x pupils: the same features
    h = _random_histories(5)
    frames = h.tables()
    keys = {"attendance": "period_end", "exclusions": "start_date", "social_care": "start_date"}
    for name, date in keys.items():
        by = ["pupil_id", date] if order == "pupil_id" else [date, "pupil_id"]
        frames[name] = frames[name].sort_values(by, kind="stable", ignore_index=True)
    shuffled = LinkedHistories(**frames, custom=h.custom)
    by_date, running = _both_plans(shuffled)
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    with feature_plan("running_totals"):
        pd.testing.assert_frame_equal(build_features(h, DATES, SPEC), running, check_exact=True)


@pytest.mark.parametrize(
    "max_rows, max_grid, small", [(15, 2**40, 10**6), (10**6, 400, 10**6), (15, 2**40, 0)]
)
def test_the_plans_agree_batch_by_batch_and_written_to_parquet(
    tmp_path, monkeypatch, max_rows, max_grid, small
):
    import pyarrow.parquet as pq

    from riskscreen.features import _many_dates, _run

    # many batches of pupils (all dates each): bounded by their rows, or by the memory of
    # a grid of running totals (pupils x points)
    monkeypatch.setattr(_run, "BATCH_ROWS", 15)
    # by date: every source aggregated once per set of dates for all its queries' pupils
    monkeypatch.setattr(_run, "SHARED_SOURCE_ROWS", 0)
    monkeypatch.setattr(_many_dates, "RT_BATCH_ROWS", max_rows)
    monkeypatch.setattr(_many_dates, "RT_GRID_BYTES", max_grid)
    # sources read once and sliced per batch, or read per batch
    monkeypatch.setattr(_many_dates, "RT_SMALL_ROWS", small)
    # Parquet dictionaries chosen by the first date's rows (however few)
    monkeypatch.setattr(_run, "DICTIONARY_SAMPLE", 2)
    h = _random_histories(11)
    by_date, running = _both_plans(h)
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    most = 0
    for spec in (default_spec().select(["suspension_count_1y", "fsm_now"]), SPEC):
        with feature_plan("running_totals"):
            path = write_features(h, DATES, tmp_path / "X.parquet", spec)
        # a batch of pupils at a time, date by date: one as-of date per row group
        meta = pq.ParquetFile(path).metadata
        col = meta.schema.to_arrow_schema().get_field_index("as_of_date")
        groups = [meta.row_group(g).column(col).statistics for g in range(meta.num_row_groups)]
        assert len(groups) == 1 or all(g.min == g.max for g in groups)  # one batch: one group
        if len(groups) > 1:  # a date's pupils are all distinct, its date is one value
            encodings = {
                name: meta.row_group(0).column(j).encodings
                for j, name in enumerate(meta.schema.names)
            }
            assert not any("DICTIONARY" in e for e in encodings["pupil_id"])
            assert any("DICTIONARY" in e for e in encodings["as_of_date"])
        most = max(most, len(groups))
        written = pd.read_parquet(path).sort_values(["as_of_date", "pupil_id"])
        written = written.set_index(["pupil_id", "as_of_date"])
        expected = by_date[written.columns]
        pd.testing.assert_frame_equal(written, expected, check_exact=True, check_index_type=False)
    assert most > len(DATES)  # several batches were written, date by date


def _with_text_ids(h: LinkedHistories) -> LinkedHistories:
    """The same histories with pseudonymised (text) pupil identifiers."""
    frames = {
        name: t.assign(pupil_id=[f"x{int(v):04d}" for v in t["pupil_id"]]) if "pupil_id" in t else t
        for name, t in h.tables().items()
    }
    custom = {
        name: (t.assign(pupil_id=[f"x{int(v):04d}" for v in t["pupil_id"]]), source)
        for name, (t, source) in h.custom.items()
    }
    return LinkedHistories(**frames, custom=custom)


@pytest.mark.parametrize(
    "ids, n_runs",
    [
        (np.arange(10, 60, 3), 1),
        (np.r_[np.arange(5, 40, 2), np.arange(10**9, 10**9 + 50, 7), [2**62]], 3),
        (np.r_[-(2**62), np.arange(-20, 20, 4), 2**62], 3),  # gaps beyond int64
    ],
)
def test_pupil_numbers_from_a_table_of_ids_match_a_search(ids, n_runs):
    import duckdb
    import pyarrow as pa

    from riskscreen.features._many_dates import _id_runs, _id_table, _numbers

    rng = np.random.default_rng(1)
    uniq = np.unique(ids).astype(np.int64)
    runs = _id_runs(uniq)
    assert runs is not None and len(runs[0]) == n_runs
    # the pupils' ids and ids between them that are not pupils, in any order
    between = np.unique(rng.integers(uniq[0], uniq[-1], 200, endpoint=True))
    pid = rng.permutation(np.r_[uniq, uniq, between])
    table, position, params = _id_table(uniq, runs, "e.pid")
    assert not any(str(v) in position for v in uniq if abs(v) >= 10**4)  # ids: parameters
    con = duckdb.connect()
    con.register("ids", pa.table({"pid": pid}))
    place = con.sql(f"SELECT {position} AS pos FROM ids AS e", params=params)
    place = place.fetchnumpy()["pos"]
    at = np.searchsorted(uniq, pid)
    expected = np.where(uniq[np.minimum(at, len(uniq) - 1)] == pid, at, len(uniq))
    np.testing.assert_array_equal(table[place], expected)
    # the same table numbers a batch's cohort rows in NumPy: every row a pupil's, every
    # pupil with a row, else None (the rows are then sorted, and a wrong one reported)
    rows = rng.permutation(np.r_[uniq, uniq])
    np.testing.assert_array_equal(_numbers(rows, uniq), np.searchsorted(uniq, rows))
    strays = np.setdiff1d(between, uniq)
    assert len(strays) and _numbers(pid, uniq) is None  # ids that are no pupil's
    assert _numbers(rows[rows != uniq[len(uniq) // 2]], uniq) is None  # a pupil without rows
    assert _numbers(np.r_[rows, uniq[-1] + 1], uniq) is None  # beyond the last run
    assert _numbers(np.r_[rows, uniq[0] - 1], uniq) is None  # before the first


def test_ids_spread_thinly_are_joined_not_tabled():
    from riskscreen.features._many_dates import DENSE_RUNS, _id_runs

    rng = np.random.default_rng(2)
    hashed = np.unique(rng.integers(-(2**63), 2**63 - 1, 1000, dtype=np.int64))
    assert _id_runs(hashed) is None  # keyed hashes: a run each
    assert _id_runs(np.arange(DENSE_RUNS) * 10**6) is not None  # as many runs as allowed
    assert _id_runs(np.arange(DENSE_RUNS + 1) * 10**6) is None  # more
    assert _id_runs(np.arange(0, 10**7, 1000)) is None  # one run, too sparse
    assert _id_runs(np.array(["a", "b"])) is None  # text: joined by DuckDB


def test_batches_bounded_by_the_rows_they_read_from_a_source(monkeypatch):
    from riskscreen.features import _many_dates

    # sources read per batch, at most ~40 rows each: batches of a few pupils
    monkeypatch.setattr(_many_dates, "RT_SMALL_ROWS", 0)
    monkeypatch.setattr(_many_dates, "RT_SOURCE_ROWS", 40)
    batches = []
    prepare = _many_dates._prepare_batch
    monkeypatch.setattr(
        _many_dates,
        "_prepare_batch",
        lambda session, comp, batch, *a, **kw: (
            batches.append(batch) or prepare(session, comp, batch, *a, **kw)
        ),
    )
    h = _random_histories(6)
    by_date, running = _both_plans(h)
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    bounded, batches[:] = len(batches), []
    monkeypatch.setattr(_many_dates, "RT_SOURCE_ROWS", 10**9)
    with feature_plan("running_totals"):
        build_features(h, DATES, SPEC)
    assert len(batches) == 1 < bounded  # one batch unbounded, several within the bound


def test_parquet_dictionaries_only_for_columns_with_few_values(monkeypatch):
    import pyarrow as pa

    from riskscreen.features import _run

    rng = np.random.default_rng(0)
    n = 40
    table = pa.table({"count": rng.integers(0, 2, n), "rate": rng.random(n)})
    assert _run.dictionary_columns(table) is True  # too few rows to judge: all
    monkeypatch.setattr(_run, "DICTIONARY_SAMPLE", n)
    assert _run.dictionary_columns(table) == ["count"]  # 2 values in 40: at most 1 in 20


@pytest.mark.parametrize("small", [0, 10**9])
def test_the_plans_agree_on_text_pupil_ids(monkeypatch, small):
    from riskscreen.features import _many_dates

    monkeypatch.setattr(_many_dates, "RT_BATCH_ROWS", 12)  # several batches of text ids
    # text ids are matched by DuckDB (whole numbers: by pandas), read per batch or once
    monkeypatch.setattr(_many_dates, "RT_SMALL_ROWS", small)
    h = _with_text_ids(_random_histories(5))
    by_date, running = _both_plans(h)
    assert running.index.get_level_values("pupil_id")[0].startswith("x")
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)


@pytest.mark.parametrize("dense", [True, False])
def test_events_of_a_pupil_outside_the_cohort_between_a_batchs_pupils_are_left_out(
    monkeypatch, dense
):
    from riskscreen.features import _many_dates

    # pupil 4 has events but is never on roll; the batch of pupils 3 and 5 reads the rows
    # of the ids between them, then leaves pupil 4's out (numbered by a table of the ids
    # in NumPy, or joined with the pupils by DuckDB when the ids are spread too thinly)
    monkeypatch.setattr(_many_dates, "RT_BATCH_ROWS", 8)
    monkeypatch.setattr(_many_dates, "RT_SMALL_ROWS", 0)
    if not dense:
        monkeypatch.setattr(_many_dates, "DENSE_SPAN", 0)
        monkeypatch.setattr(_many_dates, "DENSE_SLACK", 0)
    calls = []
    real = _many_dates._rows_sql
    monkeypatch.setattr(
        _many_dates, "_rows_sql", lambda *a, **k: calls.append(a[3]) or real(*a, **k)
    )
    h = _random_histories(3)
    frames = h.tables()
    frames["enrolments"] = frames["enrolments"][frames["enrolments"]["pupil_id"] != 4]
    h = LinkedHistories(**frames, custom=h.custom)
    assert (h.attendance["pupil_id"] == 4).any()
    by_date, running = _both_plans(h)
    assert 4 not in running.index.get_level_values("pupil_id")
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    # (a source without rows is read once: "_rt_all")
    assert set(calls) - {"_rt_all"} == ({None} if dense else {"_rt_pupils"})


def test_auto_plan_uses_running_totals_for_many_dates_and_large_cohorts(monkeypatch):
    from riskscreen.features import _many_dates

    assert choose_plan("auto", 24, 10**6, "f") == "running_totals"
    assert choose_plan("auto", 1, 10**6, "f") == "by_date"
    assert choose_plan("auto", 5, 10**6, "f") == "by_date"
    assert choose_plan("auto", 24, 10, "f") == "by_date"
    assert choose_plan("auto", 24, 10**6, "f") == "running_totals"
    assert choose_plan("by_date", 24, 10**6, "f") == "by_date"
    with feature_plan("running_totals"):
        assert choose_plan(None, 1, 10, "f") == "running_totals"
    with pytest.raises(ValueError, match="'plan' parameter of f must be one of"):
        choose_plan("fast", 1, 1, "f")
    monkeypatch.setattr(_many_dates, "AUTO_RUNNING_TOTALS", False)
    assert choose_plan("auto", 24, 10**6, "f") == "by_date"


def test_doubles_reads_arrow_buffers_with_missing_values_and_offsets():
    import pyarrow as pa

    from riskscreen.features._run import doubles

    values = [1.5, None, 3.0, None, 5.0, 6.0, None, 8.0, 9.0, None, 11.0]
    arr = pa.array(values, type=pa.float64())
    expected = np.array([np.nan if v is None else v for v in values])
    np.testing.assert_array_equal(doubles(arr), expected)
    for start in (1, 3, 9):  # slices share the buffers at an offset (not a byte boundary)
        np.testing.assert_array_equal(doubles(arr.slice(start)), expected[start:])
        np.testing.assert_array_equal(doubles(arr.slice(start, 2)), expected[start : start + 2])
    np.testing.assert_array_equal(doubles(pa.array([2.0, 4.0])), [2.0, 4.0])  # no bitmap
    assert np.isnan(doubles(pa.array([None, None], type=pa.float64()))).all()
    assert len(doubles(pa.array([None, None]))) == 2  # a column of type null


def test_running_totals_on_an_empty_cohort_give_the_empty_matrix(tmp_path):
    from riskscreen.features import SchoolCohort

    h = _random_histories(3)
    nobody = SchoolCohort(ncyears=(13, 13))  # the pupils are in Years 5-12 at these dates
    with feature_plan("running_totals"):
        X = build_features(h, DATES, SPEC, cohort=nobody)
        path = write_features(h, DATES, tmp_path / "X.parquet", SPEC, cohort=nobody)
    assert X.empty and list(X.columns) == [c for c in _both_plans(h, DATES[:1])[0].columns]
    assert pd.read_parquet(path).empty


def test_rows_out_of_order_are_an_internal_error_not_a_silent_shuffle(monkeypatch, tmp_path):
    import pyarrow as pa

    from riskscreen.features import _many_dates

    features_of = _many_dates._features_of

    def shuffled(*args, **kwargs):  # the batch's rows, by pupil only
        reader = features_of(*args, **kwargs)
        table = pa.Table.from_batches(list(reader), reader.schema)
        table = table.sort_by([("pupil_id", "descending")])
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())

    monkeypatch.setattr(_many_dates, "_features_of", shuffled)
    monkeypatch.setattr(_many_dates, "RT_BATCH_ROWS", 12)  # several batches, written in parts
    h = _random_histories(2)
    with feature_plan("running_totals"), pytest.raises(RuntimeError, match="out of order"):
        build_features(h, DATES, default_spec())
    with feature_plan("running_totals"), pytest.raises(RuntimeError, match="out of order"):
        write_features(h, DATES, tmp_path / "X.parquet", default_spec())


def test_a_batchs_cohort_rows_are_put_in_order_before_the_schools_rate_is_joined(monkeypatch):
    # the cohort's table is scanned in no particular order: a batch's rows are put in
    # (as-of date, pupil) order in NumPy, then the shared extras (the school's rate) joined
    from riskscreen.features import _many_dates, _session

    real_prepare, real_joined = _session.Session.prepare, _many_dates._joined
    real_from_grid = _many_dates._from_grid
    scanned, joined, grids = [], [], []

    def shuffled_prepare(self, *args, **kwargs):
        out = real_prepare(self, *args, **kwargs)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _rt_shuffled AS SELECT * FROM _cohort_all "
            "ORDER BY hash(pupil_id * 7919 + epoch(as_of_date))"
        )
        self.con.execute("CREATE OR REPLACE TEMP TABLE _cohort_all AS SELECT * FROM _rt_shuffled")
        self.con.execute("DROP TABLE _rt_shuffled")
        rows = self.con.execute("SELECT as_of_date, pupil_id FROM _cohort_all").fetchall()
        scanned.append(rows == sorted(rows))
        return out

    def spy_joined(con, cohort, name, on):
        keys = list(
            zip(cohort["as_of_date"].to_pylist(), cohort["pupil_id"].to_pylist(), strict=True)
        )
        joined.append(keys == sorted(keys))
        return real_joined(con, cohort, name, on)

    def spy_from_grid(grid, school, row_date, name="grid"):  # (the rows' dates: in order)
        joined.append(bool(np.all(np.diff(row_date) >= 0)))
        grids.append(name)
        return real_from_grid(grid, school, row_date)

    monkeypatch.setattr(_session.Session, "prepare", shuffled_prepare)
    monkeypatch.setattr(_many_dates, "_joined", spy_joined)
    monkeypatch.setattr(_many_dates, "_from_grid", spy_from_grid)
    monkeypatch.setattr(_many_dates, "RT_BATCH_ROWS", 12)  # several batches
    h = _random_histories(3)
    by_date, running = _both_plans(h)
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    assert scanned and not any(scanned)  # the scan came out of order
    assert len(joined) > 1 and all(joined)  # every batch was in order when joined
    assert grids  # (the school's rate taken from its grid, not joined by DuckDB)


def test_a_schools_rate_from_its_grid_equals_duckdbs_join():
    # the shared table of a school's rate, one row per school and as-of date, taken by each
    # cohort row in NumPy: the values DuckDB's join gives (null: no school, or no row)
    import duckdb
    import pyarrow as pa

    from riskscreen.features._many_dates import _BY_SCHOOL, _from_grid, _joined, _school_grid

    rng = np.random.default_rng(4)
    dates = np.array(["2021-01-04", "2021-03-01", "2021-06-07"], dtype="datetime64[D]")
    days = dates.astype(np.int64)
    schools = np.array([3, 10, 11, 500, 2**40])
    table = [(d, s, float(rng.random())) for d in dates for s in schools if rng.random() < 0.8]
    table.append((dates[0], None, 0.5))  # a missing school matches no row
    con = duckdb.connect()
    rate = pa.table(
        {
            "as_of_date": pa.array(np.array([d for d, _, _ in table], dtype="datetime64[us]")),
            "school_id": pa.array([s for _, s, _ in table], type=pa.int64()),
            "v": [v for _, _, v in table],
        }
    )
    con.register("_rt_school_0", rate)
    n = 400
    row_date = np.sort(rng.integers(0, len(dates), n))
    school = pa.array(
        rng.choice(np.r_[schools, 4, 12], n).astype(np.int64), mask=rng.random(n) < 0.1
    )
    cohort = pa.table(
        {"as_of_date": pa.array(dates[row_date].astype("datetime64[us]")), "school_id": school}
    )
    grid = _school_grid(con, "school_0", days)
    got = _from_grid(grid, pa.chunked_array([school]), row_date)
    want = _joined(con, cohort, "school_0", _BY_SCHOOL.format(name="school_0"))
    assert got.equals(want.combine_chunks()) and 0 < got.null_count < n
    gap = rate.set_column(2, "v", pa.array([None, *rate["v"].to_pylist()[1:]], pa.float64()))
    con.register("_rt_school_0", gap)
    assert _school_grid(con, "school_0", days) is None  # a missing rate: left to DuckDB
    twice = pa.concat_tables([rate, rate.slice(0, 1)])  # a school with two rows on a date
    con.register("_rt_school_0", twice)
    with pytest.raises(RuntimeError, match="several rows"):
        _school_grid(con, "school_0", days)


def test_the_small_sources_timelines_read_together_are_those_read_one_by_one(monkeypatch):
    # each small source is read in one query for all its timelines (their own rows, days and
    # values): the rows each timeline's own query gives
    from riskscreen.features import _many_dates

    real = _many_dates._all_rows
    sizes = []

    def checked(con, timelines, pts):
        real(con, timelines, pts)
        sizes.append(len(timelines))
        for t in timelines:
            value_cols = t.values(t.recipes(t.complete))
            sql = _many_dates._rows_sql(t, pts[t.name], value_cols, "_rt_all")
            want = con.sql(sql).to_arrow_table().to_pandas()
            rows, idx = t.cached
            got = rows.to_pandas().assign(idx=idx)[list(want.columns)]
            assert len(got) == len(want)
            assert set(got.columns) == {"idx", "day", *value_cols.values()}
            key = list(want.columns)
            want = want.sort_values(key).reset_index(drop=True)
            got = got.sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want, check_dtype=False)

    monkeypatch.setattr(_many_dates, "_all_rows", checked)
    by_date, running = _both_plans(_random_histories(6))
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    assert max(sizes) >= 4  # (social care's four timelines in one query)


@pytest.mark.parametrize("n_keys", [1_000, 10**9])  # by a table of the keys, by a sort
def test_the_order_of_distinct_keys_sorts_them_and_equal_keys_are_refused(n_keys):
    from riskscreen.features._many_dates import _order_of

    rng = np.random.default_rng(n_keys)
    key = rng.choice(n_keys, 600, replace=False).astype(np.int64)
    np.testing.assert_array_equal(key[_order_of(key, n_keys)], np.sort(key))
    key[5] = key[400]
    assert _order_of(key, n_keys) is None


def test_a_shared_extra_joins_each_row_once_or_is_an_internal_error():
    import duckdb
    import pyarrow as pa

    from riskscreen.features._many_dates import _joined

    con = duckdb.connect()
    cohort = pa.table({"school_id": [3, 1, 2, 1], "as_of_date": [1, 1, 1, 2]})
    con.register("_rt_rate", pa.table({"school_id": [1, 3, 1], "as_of_date": [1, 1, 2]}))
    con.execute("CREATE TABLE _rt_rate_v AS SELECT *, school_id / 10 AS v FROM _rt_rate")
    on = "r.school_id = c.school_id AND r.as_of_date = c.as_of_date"
    got = _joined(con, cohort, "rate_v", on.replace("r.", "rate_v."))
    assert got.to_pylist() == [0.3, 0.1, None, 0.1]  # school 2 has no rate: null
    con.execute("INSERT INTO _rt_rate_v VALUES (1, 1, 0.5)")  # two rates for a row
    with pytest.raises(RuntimeError, match="several rows for a cohort row"):
        _joined(con, cohort, "rate_v", on.replace("r.", "rate_v."))


@pytest.mark.parametrize("plan", ["by_date", "running_totals"])
@pytest.mark.parametrize("change", [-1, 1])
def test_a_query_losing_or_adding_rows_is_a_loud_internal_error(monkeypatch, plan, change):
    import pyarrow as pa

    from riskscreen.features import _many_dates, _run

    def wrong(make):  # the query's rows with a row lost, or with one row twice
        def wrapped(*args, **kwargs):
            reader = make(*args, **kwargs)
            table = pa.Table.from_batches(list(reader), reader.schema)
            table = table.slice(0, len(table) - 1) if change < 0 else pa.concat_tables([table] * 2)
            return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())

        return wrapped

    # the plan by date's query, and running totals' projection
    monkeypatch.setattr(_run, "arrow_reader", wrong(_run.arrow_reader))
    monkeypatch.setattr(_many_dates, "_features_of", wrong(_many_dates._features_of))
    with feature_plan(plan), pytest.raises(RuntimeError, match="one row per cohort row"):
        build_features(_random_histories(4), DATES, default_spec())


@pytest.mark.parametrize("span", [400, 10**7])
def test_buckets_from_the_table_of_days_match_a_binary_search(span):
    # the table of days (short spans) and the search (long spans) give the same buckets
    from riskscreen.features._many_dates import _buckets, _Buffers

    rng = np.random.default_rng(span)
    pts = np.unique(rng.integers(-span // 2, span // 2, 30))
    day = rng.integers(-span, span, 5_000).astype(np.int32)
    day[:3] = pts[:3]  # on a point: counted from the next point on
    expected = np.searchsorted(pts, day, side="right")
    np.testing.assert_array_equal(_buckets(pts, day), expected)
    assert len(_buckets(pts, day[:0])) == 0
    # times a grid's width, into memory kept from batch to batch (a larger batch before)
    scratch = _Buffers()
    scratch.get(" bucket", 9_000, np.int64).fill(-1)
    got = _buckets(pts, day, 1_000_003, scratch)
    assert got.dtype == np.int64 and len(got) == len(day)
    np.testing.assert_array_equal(got, expected.astype(np.int64) * 1_000_003)


def test_running_totals_beyond_the_whole_numbers_of_floats_stay_exact():
    # totals within +-2**24 are looked up as floats (exact), larger ones as doubles
    h = _random_histories(3)
    police, source = h.custom["police"]
    police = police.assign(n=police["n"] * (2**31 + 1) * np.where(police.index % 2, 1, -1))
    h = LinkedHistories(**h.tables(), custom={**h.custom, "police": (police, source)})
    by_date, running = _both_plans(h)
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    assert running["police_sum_1y"].abs().max() > 2**24  # the doubles were used
    assert running["police_n"].max() < 2**24  # and the floats, in the same run


@pytest.mark.parametrize("scale, kinds", [(1, {"float32"}), (2**17 + 1, {"float32", "float64"})])
def test_sums_of_columns_add_up_in_floats_only_where_exact(monkeypatch, scale, kinds):
    # a sum of columns (attendance's sessions present: possible less absent) adds up the
    # grids of its columns as floats when their largest totals add up to at most 2**23,
    # else as doubles: the features are the plan by date's either way
    from riskscreen.features import _many_dates

    h = _random_histories(7)
    frames = h.tables()
    cols = ["sessions_possible", "sessions_authorised_absent", "sessions_unauthorised_absent"]
    frames["attendance"] = frames["attendance"].assign(
        **{c: frames["attendance"][c] * scale for c in cols}
    )
    got = []
    real = _many_dates._lin_dtype

    def lin_dtype(*args):
        got.append(np.dtype(real(*args)).name)
        return got[-1]

    monkeypatch.setattr(_many_dates, "_lin_dtype", lin_dtype)
    by_date, running = _both_plans(LinkedHistories(**frames, custom=h.custom))
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    assert set(got) == kinds


def test_the_bound_of_a_sum_of_float_grids_is_the_sum_of_their_largest_totals():
    from riskscreen.features._many_dates import _lin_dtype

    half = float(2**22)
    grids = {  # 2 points x 2 pupils: the pupils' totals are the last point's row
        "a": np.array([0, 1, half, 2], dtype=np.float32),
        "b": np.array([5, 0, half, 0], dtype=np.float32),
        "c": np.array([0, 0, 1, 1], dtype=np.float32),
        "d": np.array([0, 0, 1, 1], dtype=np.float64),
    }
    assert _lin_dtype([(1, "a"), (-1, "b")], grids, (2, 2)) == np.float32  # 2**23
    assert _lin_dtype([(1, "a"), (-1, "b"), (1, "c")], grids, (2, 2)) == np.float64
    assert _lin_dtype([(1, "c"), (1, "d")], grids, (2, 2)) == np.float64  # doubles
    # the totals are the last point's, not the first's
    first = {"e": np.array([2.0**24, 0, 1, 1], dtype=np.float32)}
    assert _lin_dtype([(1, "c"), (1, "e")], {**grids, **first}, (2, 2)) == np.float32


def test_running_sums_are_floats_only_where_they_are_exact():
    from riskscreen.features._many_dates import _running_sums

    shape = (4, 3)  # points x slots
    big = float(2**23 - 1)

    def run(bins, rows):
        expected = np.cumsum(np.asarray(bins, dtype=np.float64).reshape(shape), axis=0)
        got = _running_sums(np.array(bins), shape, rows).reshape(shape)
        np.testing.assert_array_equal(got.astype(np.float64), expected)
        return got.dtype

    counts = np.arange(12)
    assert run(counts, int(counts.sum())) == np.float32  # counts of few rows
    # of more rows than floats hold: floats where the totals stay within 2**23 (each
    # pupil's rows are few), doubles where they do not
    assert run(counts, 2**23 + 1) == np.float32
    assert run(np.where(np.arange(12) % 2, big, 1.0), 2**24) == np.float64
    # scratch bins (kept=False) are never the grid returned
    bins = np.where(np.arange(12) % 2, big, 1.0)
    got = _running_sums(bins, shape, True, kept=False)
    assert got.dtype == np.float64 and not np.shares_memory(got, bins)
    sums = np.arange(12, dtype=np.float64)
    assert run(sums, True) == np.float32
    assert run(sums - 5, True) == np.float64  # negative values: partial sums unbounded
    # every bucket exact as a float, but a total beyond 2**23: doubles, still exact
    assert run(np.where(np.arange(12) % 2, big, 1.0), True) == np.float64
    assert run(np.full(12, 2.0**24), True) == np.float64  # buckets beyond floats


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("saved", [False, True])
def test_sums_of_columns_agree_with_and_without_missing_values(
    tmp_path, monkeypatch, missing, saved
):
    # a sum of columns that are never missing is the sum of their running totals; with a
    # missing value in a row it is added up on its own, as the plan by date does. Saved
    # (Parquet) and taken for large, a source's statistics tell which columns are complete
    from riskscreen.features import _many_dates

    h = _random_histories(13)
    frames = h.tables()
    if missing:
        att = frames["attendance"].astype({"sessions_authorised_absent": "Float64"})
        att.loc[att.index[::3], "sessions_authorised_absent"] = pd.NA
        frames["attendance"] = att
    h = LinkedHistories(**frames, custom=h.custom)
    if saved:
        h = LinkedHistories.open(h.save(tmp_path / "h"))
        monkeypatch.setattr(_many_dates, "RT_SMALL_ROWS", 0)
    found = []
    real = _many_dates._survey

    def survey(con, t, pts):
        out = real(con, t, pts)
        found.append(out[0])
        return out

    proven = []  # columns the statistics showed complete
    no_null = _many_dates._no_null
    monkeypatch.setattr(_many_dates, "_no_null", lambda s: proven.append(no_null(s)) or no_null(s))
    monkeypatch.setattr(_many_dates, "_survey", survey)
    by_date, running = _both_plans(h)
    assert any(proven) is saved
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    seen = set().union(*found)
    assert ('e."sessions_authorised_absent"' in seen) is not missing
    assert 'e."sessions_possible"' in seen


def test_linear_terms_read_sums_of_columns_only():
    from riskscreen.features._compile import quantity_sql
    from riskscreen.features._many_dates import _linear_terms

    both = quantity_sql({"a": 1, "b b": -1.0, 'c"': 1})
    assert _linear_terms(both) == ((1, 'e."a"'), (-1, 'e."b b"'), (1, 'e."c"""'))
    assert _linear_terms(quantity_sql("a")) == ((1, 'e."a"'),)
    for other in ({"a": 0.5, "b": 1}, {"a": -1, "b": 1}, {"a": 2}):
        assert _linear_terms(quantity_sql(other)) is None
    assert _linear_terms("1") is None
    assert _linear_terms('CASE WHEN x THEN e."a" END') is None


@pytest.mark.parametrize("recorded", [True, False])
def test_rows_known_late_are_added_in_only_where_there_are_any(monkeypatch, recorded):
    # where no row is known late (e.g. no spell ends before it starts, no knowledge dates)
    # the query joining such rows by date is skipped, and the features are the same
    from riskscreen.features import _many_dates

    h = _random_histories(17)
    frames = h.tables()
    if not recorded:
        frames = {
            name: t.drop(columns=["recorded_date", "end_recorded_date"], errors="ignore")
            for name, t in frames.items()
        }
    skipped, sides = [], set()
    real = _many_dates._prepare_batch

    def prepare(*args, **kw):
        skipped.append(args[-1])
        sides.update(args[1].side_rows)  # the compiler's side CTEs over rows known late
        return real(*args, **kw)

    monkeypatch.setattr(_many_dates, "_prepare_batch", prepare)
    by_date, running = _both_plans(LinkedHistories(**frames, custom=h.custom))
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    late = {name for names in skipped for name in names}
    assert late and late < sides  # some were skipped, the others ran


def test_counts_worked_out_in_numpy_follow_the_sql_they_replace():
    # CASE WHEN n > 0 THEN s END with n and s sums of lookups with signs: floats when
    # every lookup is a float (exact whole numbers), doubles otherwise; missing where n <= 0
    from riskscreen.features._many_dates import _FLOAT_WHOLE, _Buffers, _counts

    rng = np.random.default_rng(0)
    big = float(_FLOAT_WHOLE)
    a = rng.integers(0, 5, 1000).astype(np.float32)
    b = rng.integers(0, 5, 1000).astype(np.float32)
    c = np.where(a > 0, big, 0).astype(np.float32)  # the largest floats allowed
    d = np.where(b > 0, -big, 0).astype(np.float32)
    values = {"a": a, "b": b, "c": c, "d": d, "c64": c.astype(np.float64) + 0.5}
    n = ((1, "a"), (-1, "b"))

    def run(n, s):
        got = _counts("x", n, s, values, _Buffers(), _Buffers())
        return got.type, got.to_numpy(zero_copy_only=False)

    kind, got = run(n, ((1, "c"), (-1, "d")))
    n64 = a.astype(np.float64) - b
    want = np.where(n64 > 0, c.astype(np.float64) - d, np.nan)
    assert kind == "float" and np.array_equal(got, want, equal_nan=True)
    assert (want[n64 > 0] == 2 * big).any()  # a sum of two beyond 2**23 stayed exact
    kind, got = run(n, None)  # a flag: 1 where n > 0
    assert np.array_equal(got, np.where(n64 > 0, 1.0, np.nan), equal_nan=True)
    kind, got = run(n, n)  # the count itself
    assert np.array_equal(got, np.where(n64 > 0, n64, np.nan), equal_nan=True)
    kind, got = run(n, ((1, "c64"),))  # a double among the lookups: doubles
    assert kind == "double"
    assert np.array_equal(got, np.where(n64 > 0, values["c64"], np.nan), equal_nan=True)
    kind, got = run(((1, "a"), (1, "b"), (-1, "c")), None)  # three terms: doubles
    assert kind == "double"
    assert np.array_equal(got, np.where(n64 + 2 * b - c > 0, 1.0, np.nan), equal_nan=True)


def test_batches_prepared_on_their_own_thread_come_in_order_and_stop_cleanly():
    # the next batch is prepared while the one before is read (at most two in flight);
    # its NumPy work (the function prepare returns) is done by whichever thread is free
    # first, once; an error while preparing or in
    # that work is raised to the reader, and closing the readers stops the thread
    # without preparing the rest
    import threading

    import pyarrow as pa

    from riskscreen.features._many_dates import _features_of, _pipeline

    def sql(con, table):  # the features of a batch's cohort rows, by DuckDB
        return _features_of(con, "SELECT k * 10 AS v FROM _rt_cohort", None, table)

    calls, finished, lock = [], [], threading.Lock()

    def prepare(batch, k):
        with lock:
            calls.append((batch, k))
            n = len(calls)
        if batch == "fail":
            raise OSError("no such file")

        def finish():
            with lock:
                finished.append((batch, threading.current_thread().name))
            if batch == "bad":
                raise ValueError("bad numbers")
            return pa.table({"k": [n]})

        return finish

    batches = ["a", "b", "c", "d"]
    readers = _pipeline(batches, prepare, sql)
    got = [[v for rb in reader for v in rb.column("v").to_pylist()] for reader in readers]
    assert got == [[10], [20], [30], [40]]
    assert calls == [("a", 0), ("b", 1), ("c", 0), ("d", 1)]  # buffer sets alternate
    assert sorted(b for b, _ in finished) == batches  # each batch's work done once
    for bad, error in (("fail", OSError), ("bad", ValueError)):
        calls.clear()
        with pytest.raises(error):
            list(_pipeline(["a", bad, "c", "d"], prepare, sql))
        assert [b for b, _ in calls][:2] == ["a", bad]
        assert len(calls) <= 3  # at most the batch after the error prepared
    calls.clear()
    readers = _pipeline(["a"] * 20, prepare, sql)
    list(next(readers))
    readers.close()  # e.g. the writer failed: the thread stops, two batches at most ahead
    assert 1 <= len(calls) <= 3
    assert not [t for t in threading.enumerate() if t.name == "riskscreen-batches"]


def test_a_batch_s_work_runs_once_whichever_thread_asks_first():
    import threading

    from riskscreen.features._many_dates import _Job

    runs = []
    job = _Job(lambda: runs.append(1) or "table")
    threads = [threading.Thread(target=job.run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert job.result() == "table" and runs == [1]
    failing = _Job(lambda: 1 / 0)
    failing.run()  # the error is kept, not raised on the thread that ran it
    with pytest.raises(ZeroDivisionError):
        failing.result()


@pytest.mark.parametrize("numpy", [True, False])
def test_the_projection_in_numpy_gives_duckdbs_features_in_memory_and_in_parquet(
    tmp_path, monkeypatch, numpy
):
    import pyarrow as pa
    import pyarrow.compute as pc

    from riskscreen.features import _many_dates, _project

    # several batches, each projected in slices of a few rows (several per as-of date);
    # every slice by NumPy, or (no projection compiled) every batch by DuckDB
    monkeypatch.setattr(_many_dates, "RT_BATCH_ROWS", 15)
    monkeypatch.setattr(_many_dates, "PROJECT_ROWS", 4)
    calls = {"numpy": 0, "duckdb": 0, "whole": 0, "nan": 0}
    write = _project.Projection._write

    def counted(self, table, *args, **kwargs):
        # the columns the projection takes for whole numbers (never NaN) are so
        for name in self.whole & set(table.column_names):
            if pa.types.is_floating(table[name].type):
                assert not pc.any(pc.is_nan(table[name])).as_py(), name
                calls["whole"] += 1
        # the columns marked as holding NaN where missing (copied out as they are) do so
        for field in table.schema:
            if field.metadata and field.metadata.get(_project.NAN_MISSING):
                column = table[field.name].combine_chunks()
                data = np.frombuffer(column.buffers()[1], dtype=column.type.to_pandas_dtype())
                data = data[column.offset : column.offset + len(column)]
                missing = column.is_null().to_numpy(zero_copy_only=False)
                np.testing.assert_array_equal(np.isnan(data), missing, err_msg=field.name)
                calls["nan"] += 1
        out = write(self, table, *args, **kwargs)
        calls["numpy" if out is not None else "duckdb"] += 1
        return out

    monkeypatch.setattr(_project.Projection, "_write", counted)
    if not numpy:
        monkeypatch.setattr(_project.Projection, "compile", classmethod(lambda cls, *a: None))
    h = _random_histories(5)
    for spec in (SPEC, default_spec()):
        with feature_plan("by_date"):
            expected = build_features(h, DATES, spec)
        with feature_plan("running_totals"):
            got = build_features(h, DATES, spec)
            path = write_features(h, DATES, tmp_path / "X.parquet", spec)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        with feature_plan("running_totals"):  # written into a matrix of floats: rounded once
            floats = build_features(h, DATES, spec, dtype="float32")
        pd.testing.assert_frame_equal(floats, expected.astype("float32"), check_exact=True)
        written = pd.read_parquet(path).sort_values(["as_of_date", "pupil_id"])  # batch by batch
        written = written.set_index(["pupil_id", "as_of_date"])
        pd.testing.assert_frame_equal(written, expected, check_exact=True, check_index_type=False)
    if numpy:  # the compiler's projections are all understood
        assert calls["numpy"] > 2 * len(DATES) and calls["duckdb"] == 0
        assert calls["whole"] > calls["numpy"] and calls["nan"] > calls["numpy"]
    else:
        assert calls == {"numpy": 0, "duckdb": 0, "whole": 0, "nan": 0}


def test_batches_end_where_no_row_group_spans_when_they_can():
    # pupils 100-129; row groups holding pupils 100-109 (two, e.g. by date), 110-121, 122-129
    from riskscreen.features._many_dates import _chunks, _clean_cuts

    ids = np.arange(100, 130)
    clean = _clean_cuts(ids, np.array([110, 100, 100, 122]), np.array([121, 109, 109, 129]))
    assert np.flatnonzero(clean).tolist() == [9, 21]  # after pupils 109 and 121
    rows = np.full(30, 10)
    # batches of 80 rows, up to 120 to end cleanly: 100 rows, 120 rows, and the rest
    assert np.bincount(_chunks(rows, 80, 10**6, clean, 1.5)).tolist() == [10, 12, 8]
    # no more than 80 rows: plain ends, a clean one where it keeps half the rows or more
    assert np.bincount(_chunks(rows, 80, 10**6, clean, 1.0)).tolist() == [8, 8, 6, 8]
    # at most 5 pupils a batch, whatever the row groups
    assert np.bincount(_chunks(rows, 80, 5, clean, 1.5)).max() == 5
    # no clean end: the batches as without row groups
    spanned = _clean_cuts(ids, np.array([100, 105]), np.array([129, 110]))
    assert not spanned.any()
    np.testing.assert_array_equal(_chunks(rows, 80, 10**6, spanned, 1.5), _chunks(rows, 80, 10**6))
    # a row group without statistics spans every pupil
    lowest, highest = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    assert not _clean_cuts(ids, np.array([lowest]), np.array([highest])).any()


def test_batches_follow_the_row_groups_of_a_saved_source(tmp_path, monkeypatch):
    # attendance saved pupil by pupil in row groups of a few pupils: into memory the
    # batches end between row groups, and the features are those of the plan by date
    from riskscreen.data import _io
    from riskscreen.features import _many_dates

    write = _io._write_frame

    def in_groups(frame, file, table):
        if table != "attendance":
            return write(frame, file, table)
        frame = frame.sort_values(["pupil_id", "period_end"], kind="stable")
        frame.to_parquet(file, engine="pyarrow", row_group_size=37)

    monkeypatch.setattr(_io, "_write_frame", in_groups)
    h = LinkedHistories.open(_random_histories(8).save(tmp_path / "h"))
    monkeypatch.setattr(_many_dates, "RT_SMALL_ROWS", 0)  # attendance read batch by batch
    monkeypatch.setattr(_many_dates, "RT_BATCH_ROWS", 10)
    seen = []
    chunks = _many_dates._chunks

    def spied(rows, max_rows, most, clean=None, slack=1.0):
        out = chunks(rows, max_rows, most, clean, slack)
        seen.append((clean, out, chunks(rows, max_rows, most)))
        return out

    monkeypatch.setattr(_many_dates, "_chunks", spied)
    by_date, running = _both_plans(h)
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    (clean, chunk, plain), *_ = seen
    assert clean is not None and clean.any() and not clean.all()
    # the last pupil of every batch but the last: more end cleanly than without row groups
    ends, plain_ends = np.flatnonzero(np.diff(chunk)), np.flatnonzero(np.diff(plain))
    assert clean[ends].sum() > clean[plain_ends].sum()


def test_an_output_mapped_ahead_keeps_what_is_written_meanwhile(monkeypatch):
    # the memory of the output matrix is mapped by a thread of its own (Linux) while the
    # batches are planned and written: it never writes a value
    import threading

    from riskscreen.features import _run

    monkeypatch.setattr(_run, "PREFAULT_BYTES", 0)
    values = _run.populated((400_000, 16), np.float32)
    assert values.shape == (400_000, 16) and values.dtype == np.float32
    assert values.flags.f_contiguous
    values[:] = np.arange(16, dtype=np.float32)  # written at once, while it may run
    for thread in threading.enumerate():
        if thread.name == "riskscreen-output":
            thread.join()
    expected = np.broadcast_to(np.arange(16, dtype=np.float32), values.shape)
    np.testing.assert_array_equal(values, expected)
    # and through the engine: its matrix is the one filled
    made, real = [], _run.populated

    def spied(shape, dtype):
        made.append(real(shape, dtype))
        return made[-1]

    monkeypatch.setattr(_run, "populated", spied)
    by_date, running = _both_plans(_random_histories(9))
    pd.testing.assert_frame_equal(running, by_date, check_exact=True)
    assert len(made) == 1 and np.shares_memory(running.to_numpy(), made[0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_schools_roll_by_running_counts_is_the_compiled_joins(monkeypatch, seed):
    # a school's roll, worked out once for all the dates on DuckDB as two running counts
    # per school, is the compiled CTE's table (enrolments joined with every open date):
    # knowledge dates, overlapping spells and spells ending before they start included
    import contextlib

    from riskscreen.features import _many_dates, _run

    h = _random_histories(seed)
    frames = h.tables()
    en = frames["enrolments"]
    odd = en.iloc[:2].copy()  # a spell ending before it starts, and one of no end
    odd["leaving_date"] = [odd["entry_date"].iloc[0] - pd.Timedelta(days=3), pd.NaT]
    frames["enrolments"] = pd.concat([en, odd], ignore_index=True)
    h = LinkedHistories(**frames, custom=h.custom)
    seen = []
    real = _run.shared_tables

    @contextlib.contextmanager
    def checked(con, comp):
        with real(con, comp):
            if "school_roll" in comp.shared_extra:
                counted = con.execute("SELECT * FROM _rt_school_roll ORDER BY ALL").fetchall()
                joined = _many_dates._with_extra(comp, "school_roll")
                joined += dict(comp.extra_ctes)["school_roll"]
                assert "school_roll" in comp.shared_bodies  # the table made by the counts
                seen.append((counted, con.execute(f"{joined} ORDER BY ALL").fetchall()))
            yield

    monkeypatch.setattr(_run, "shared_tables", checked)
    with feature_plan("running_totals"), riskscreen.config_context(validate=False):
        build_features(h, DATES, default_spec())
    assert len(seen) == 1
    counted, joined = seen[0]
    assert counted == joined and len(joined) > len(DATES)
