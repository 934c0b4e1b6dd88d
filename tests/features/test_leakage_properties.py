"""Property tests: features never see the future, labels never see the past, order never matters.

- Appending arbitrary events dated on or after the as-of date, to any table,
  never changes any feature.
- Appending arbitrary events dated at any time (before the as-of date too) but
  *recorded* (``recorded_date``) on or after the as-of date never changes any
  feature.
- Shuffling the rows of every table never changes any feature.
- Appending arbitrary events (and spells that end) before the as-of date never
  changes any label.

The appended events are arbitrary, so they may break the data model's rules
(e.g. two attendance rows for the same week); the properties are about the
engine's time semantics, so validation is switched off here
(``riskscreen.config_context(validate=False)``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _feature_histories import AS_OF, frame, histories, on_roll, pupil
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
from riskscreen.features import Col, Feature, FeatureSpec, build_features, default_spec, make_labels

PUPILS = [1, 2, 3, 4, 5, 6]


@pytest.fixture(autouse=True)
def _engine_semantics_only():
    with riskscreen.config_context(validate=False):
        yield


SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _custom_frame(rows):
    return pd.DataFrame(
        {
            "pupil_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "date": pd.to_datetime(pd.Series([r[1] for r in rows], dtype="object")).astype(
                "datetime64[us]"
            ),
            "score": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )


def _base() -> LinkedHistories:
    h = histories(
        # pupil 7 (born 1990) is never in a cohort; generated events may name them
        pupils=[pupil(i, "2009-03-01" if i % 2 else "2010-10-01") for i in PUPILS]
        + [pupil(7, "1990-01-01")],
        enrolments=[
            on_roll(1),
            on_roll(2, entry="2021-02-01", school=200, part_time=True),
            on_roll(3, leaving_date="2022-03-01", leaving_reason="other_la"),
            on_roll(4, leaving_date="2021-12-01", leaving_reason="transfer"),
            on_roll(4, entry="2021-12-02", school=200),
            on_roll(5),
            on_roll(6, leaving_date="2022-02-01", leaving_reason="unknown"),
        ],
        exclusions=[
            {"pupil_id": 1, "start_date": "2021-12-20", "reason": "DB"},
            {"pupil_id": 1, "start_date": "2021-03-01", "reason": "PP", "sessions": 5.0},
            {
                "pupil_id": 2,
                "start_date": "2020-11-11",
                "kind": "permanent",
                "reason": "PA",
                "sessions": None,
            },
            {"pupil_id": 5, "start_date": "2022-05-05", "reason": "VA"},
        ],
        attendance=[
            {
                "pupil_id": p,
                "period_start": pd.Timestamp(s),
                "period_end": pd.Timestamp(s) + pd.Timedelta(days=4),
                "sessions_possible": 10,
                "sessions_authorised_absent": a,
                "sessions_unauthorised_absent": u,
            }
            for p, s, a, u in [
                (1, "2021-11-29", 1, 2),
                (1, "2021-12-06", 0, 0),
                (1, "2022-01-03", 0, 3),
                (2, "2021-12-06", 2, 2),
                (3, "2021-06-07", 0, 0),
                (1, "2022-01-17", 2, 2),
                (5, "2022-01-10", 1, 1),
                (5, "2022-01-17", 0, 2),
            ]
        ],
        sen=[
            {"pupil_id": 1, "start_date": "2020-01-01", "end_date": "2021-01-01"},
            {"pupil_id": 1, "start_date": "2021-01-02", "provision": "E"},
            {"pupil_id": 3, "start_date": "2021-09-01", "end_date": "2022-06-01"},
        ],
        fsm=[
            {"pupil_id": 2, "start_date": "2016-01-01", "end_date": "2019-01-01"},
            {"pupil_id": 5, "start_date": "2021-01-01"},
        ],
        social_care=[
            {
                "pupil_id": 2,
                "kind": "cp_plan",
                "start_date": "2021-03-01",
                "abuse_category": "NEG",
                "assessment_factors": "4A,10A",
            },
            {
                "pupil_id": 4,
                "kind": "looked_after",
                "start_date": "2020-03-01",
                "end_date": "2021-03-01",
                "placement_type": "U6",
            },
            {
                "pupil_id": 4,
                "kind": "referral",
                "start_date": "2021-10-01",
                "end_date": "2021-10-02",
            },
        ],
        missing_education=[
            {"pupil_id": 6, "kind": "ehe", "start_date": "2019-01-01", "end_date": "2019-06-01"}
        ],
        custom={
            "police": (
                _custom_frame([(1, "2021-10-01", 2.0), (3, "2020-01-01", 1.0)]),
                CustomSource("pupil_id", "date", None, ("score",)),
            )
        },
    )
    return h


EXTRA_SPEC = FeatureSpec(
    (
        Feature("sess_mean", "exclusions", "mean", "2Y", column="sessions"),
        Feature("sess_min", "exclusions", "min", "all", column="sessions"),
        Feature("first_excl", "exclusions", "days_since_first", "all"),
        Feature("cur_sess", "exclusions", "current", "all", column="sessions"),
        Feature(
            "unauth_trend",
            "attendance",
            "trend",
            "12W",
            column="sessions_unauthorised_absent",
            denominator="sessions_possible",
        ),
        Feature("sen_ended", "sen", "days_since_end", "all"),
        Feature("sc_ended", "social_care", "ended_count", "2Y"),
        Feature("police_max", "police", "max", "6M", column="score"),
        Feature("police_n", "police", "count", "all", where=Col("score") != 0),
    )
)
SPEC = default_spec() + EXTRA_SPEC
DATES = [AS_OF, pd.Timestamp("2021-06-14")]

_BASE_X = {}


def _features(h):
    return build_features(h, DATES, SPEC)


def _base_features():
    if "X" not in _BASE_X:
        _BASE_X["X"] = _features(_base())
    return _BASE_X["X"]


# -- strategies -----------------------------------------------------------------------------------
def _event(table: str, lo: pd.Timestamp, hi: pd.Timestamp, end_before=None):
    days = (hi - lo).days
    start = st.integers(0, days).map(lambda d: lo + pd.Timedelta(days=d))
    pid = st.sampled_from(PUPILS + [7])
    dur = st.one_of(st.none(), st.integers(0, 400))

    def end_of(s, n):
        if n is None:
            return None if end_before is None else end_before - pd.Timedelta(days=1)
        e = s + pd.Timedelta(days=n)
        if end_before is not None and e >= end_before:
            e = end_before - pd.Timedelta(days=1)
        return max(e, s)

    if table == "exclusions":
        return st.builds(
            lambda p, s, k, r, n: {
                "pupil_id": p,
                "start_date": s,
                "kind": k,
                "reason": r,
                "sessions": None if k == "permanent" else float(n),
                "school_id": 100,
            },
            pid,
            start,
            st.sampled_from(["suspension", "permanent"]),
            st.sampled_from(sorted(EXCLUSION_REASON_CODES)),
            st.integers(1, 20),
        )
    if table == "attendance":
        return st.builds(
            lambda p, s, n, a, u: {
                "pupil_id": p,
                "school_id": 100,
                "period_start": s,
                "period_end": s + pd.Timedelta(days=n),
                "sessions_possible": 10,
                "sessions_authorised_absent": a,
                "sessions_unauthorised_absent": u,
            },
            pid,
            start,
            st.integers(0, 90),
            st.integers(0, 5),
            st.integers(0, 5),
        )
    if table == "enrolments":
        return st.builds(
            lambda p, s, n, r, pt, sch: {
                "pupil_id": p,
                "school_id": sch,
                "entry_date": s,
                "leaving_date": end_of(s, n),
                "leaving_reason": None if end_of(s, n) is None else r,
                "part_time": pt,
            },
            pid,
            start,
            dur,
            st.sampled_from(sorted(LEAVING_REASON_CODES)),
            st.booleans(),
            st.sampled_from([100, 200, 300]),
        )
    if table == "sen":
        return st.builds(
            lambda p, s, n, pr, nd: {
                "pupil_id": p,
                "start_date": s,
                "end_date": end_of(s, n),
                "provision": pr,
                "primary_need": nd,
            },
            pid,
            start,
            dur,
            st.sampled_from(["K", "E"]),
            st.sampled_from(sorted(SEN_NEED_CODES)),
        )
    if table == "fsm":
        return st.builds(
            lambda p, s, n: {"pupil_id": p, "start_date": s, "end_date": end_of(s, n)},
            pid,
            start,
            dur,
        )
    if table == "social_care":
        return st.builds(
            lambda p, s, n, k, ab, f: {
                "pupil_id": p,
                "kind": k,
                "start_date": s,
                "end_date": end_of(s, n),
                "abuse_category": ab,
                "assessment_factors": f,
            },
            pid,
            start,
            dur,
            st.sampled_from(sorted(SOCIAL_CARE_KINDS)),
            st.sampled_from(sorted(ABUSE_CATEGORY_CODES)),
            st.sampled_from(["4A", "10A,24A", "11A, 13A", None]),
        )
    if table == "missing_education":
        return st.builds(
            lambda p, s, n, k: {
                "pupil_id": p,
                "kind": k,
                "start_date": s,
                "end_date": end_of(s, n),
                "reason": None,
            },
            pid,
            start,
            dur,
            st.sampled_from(["cme", "ehe"]),
        )
    assert table == "police"
    return st.builds(lambda p, s, v: (p, s, v), pid, start, st.floats(0, 10))


TABLES = [
    "exclusions",
    "attendance",
    "enrolments",
    "sen",
    "fsm",
    "social_care",
    "missing_education",
    "police",
]


def _appended(lo, hi, end_before=None):
    return st.fixed_dictionaries(
        {t: st.lists(_event(t, lo, hi, end_before), max_size=4) for t in TABLES}
    )


def _with(h: LinkedHistories, extra: dict) -> LinkedHistories:
    tables = h.tables()
    for t, rows in extra.items():
        if rows and t != "police":
            tables[t] = pd.concat([tables[t], frame(t, rows)], ignore_index=True)
    police, src = h.custom["police"]
    if extra.get("police"):
        police = pd.concat([police, _custom_frame(extra["police"])], ignore_index=True)
    return LinkedHistories(**tables, custom={"police": (police, src)})


# -- properties -----------------------------------------------------------------------------------
@SETTINGS
@given(extra=_appended(min(DATES), pd.Timestamp("2023-06-01")))
def test_events_on_or_after_as_of_never_change_features(extra):
    # events are dated on/after the EARLIEST as-of date, so the later as-of date sees some of
    # them; compare only the rows of the earliest date, and separately all rows when events are
    # on/after the latest date
    X = _features(_with(_base(), extra))
    base = _base_features()
    first = min(DATES)
    pd.testing.assert_frame_equal(
        X.xs(first, level="as_of_date", drop_level=False),
        base.xs(first, level="as_of_date", drop_level=False),
    )


@SETTINGS
@given(extra=_appended(max(DATES), pd.Timestamp("2023-06-01")))
def test_events_after_latest_as_of_never_change_any_row(extra):
    pd.testing.assert_frame_equal(_features(_with(_base(), extra)), _base_features())


def _recorded_late(lo: pd.Timestamp, hi: pd.Timestamp):
    """Events dated any time from 2016, each recorded on a day in [lo, hi]."""
    rec = st.integers(0, (hi - lo).days).map(lambda d: lo + pd.Timedelta(days=d))
    return st.fixed_dictionaries(
        {
            t: st.lists(st.tuples(_event(t, pd.Timestamp("2016-01-01"), hi), rec), max_size=4)
            for t in TABLES
        }
    )


def _with_recorded(h: LinkedHistories, extra: dict) -> LinkedHistories:
    """``h`` plus the rows of ``extra``, with a ``recorded_date`` column (NaT for old rows)."""
    tables = h.tables()
    for t, rows in extra.items():
        if rows and t != "police":
            new = frame(t, [r for r, _ in rows])
            new["recorded_date"] = pd.Series([d for _, d in rows], dtype="datetime64[us]")
            tables[t] = pd.concat([tables[t], new], ignore_index=True)
    police, src = h.custom["police"]
    if extra.get("police"):
        new = _custom_frame([r for r, _ in extra["police"]])
        new["recorded_date"] = pd.Series([d for _, d in extra["police"]], dtype="datetime64[us]")
        police = pd.concat([police, new], ignore_index=True)
    return LinkedHistories(**tables, custom={"police": (police, src)})


@SETTINGS
@given(extra=_recorded_late(min(DATES), pd.Timestamp("2023-06-01")))
def test_events_recorded_on_or_after_as_of_never_change_features(extra):
    # recorded on/after the EARLIEST as-of date, whatever their event dates: compare the rows
    # of that date (the later date may legitimately see some of them)
    X = _features(_with_recorded(_base(), extra))
    base = _base_features()
    first = min(DATES)
    pd.testing.assert_frame_equal(
        X.xs(first, level="as_of_date", drop_level=False),
        base.xs(first, level="as_of_date", drop_level=False),
    )


@SETTINGS
@given(extra=_recorded_late(max(DATES), pd.Timestamp("2023-06-01")))
def test_events_recorded_after_latest_as_of_never_change_any_row(extra):
    pd.testing.assert_frame_equal(_features(_with_recorded(_base(), extra)), _base_features())


@settings(max_examples=8, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffling_rows_never_changes_features(seed):
    rng = np.random.default_rng(seed)
    h = _base()
    tables = {
        name: t.sample(frac=1.0, random_state=rng).reset_index(drop=True)
        for name, t in h.tables().items()
    }
    police, src = h.custom["police"]
    police = police.sample(frac=1.0, random_state=rng).reset_index(drop=True)
    shuffled = LinkedHistories(**tables, custom={"police": (police, src)})
    pd.testing.assert_frame_equal(_features(shuffled), _base_features())


_BASE_Y = {}


def _labels(h):
    return {
        o: make_labels(h, [AS_OF], outcome=o)
        for o in ("suspension", "permanent_exclusion", "missing_education", "persistent_absence")
    }


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(extra=_appended(pd.Timestamp("2016-01-01"), AS_OF - pd.Timedelta(days=1), AS_OF))
def test_events_before_as_of_never_change_labels(extra):
    if "y" not in _BASE_Y:
        _BASE_Y["y"] = _labels(_base())
    got = _labels(_with(_base(), extra))
    for outcome, y in _BASE_Y["y"].items():
        pd.testing.assert_series_equal(got[outcome], y)
