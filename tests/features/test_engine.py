"""Hand-computed values for every aggregate, window and boundary of the engine.

The story (as-of date Monday 10 January 2022; everyone born October 2010, so in Y6):
- pupil 1 has suspensions on 20 Dec 2021 (2 sessions, DB), 15 Nov 2021 (4, PP),
  1 Mar 2021 (6, VA) and 1 Oct 2019 (1, DB), a permanent exclusion on 1 Jun 2021,
  and a suspension ON the as-of date (10 sessions) that must never be seen;
- pupil 1 has three finished attendance weeks and one that ends on the as-of date;
- pupils 1-3 have SEN spells with ends before, on and after the as-of date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _feature_histories import AS_OF, histories, on_roll, pupil

import riskscreen
from riskscreen.data import CustomSource, DataValidationError
from riskscreen.features import (
    Col,
    Feature,
    FeatureSpec,
    build_cohort,
    build_features,
    default_spec,
    write_features,
)


def _story(**extra):
    tables = dict(
        pupils=[pupil(i) for i in (1, 2, 3, 4, 5)],
        enrolments=[
            on_roll(1),
            on_roll(2),
            on_roll(3),
            on_roll(4, school=200),
            on_roll(5, leaving_date="2021-10-01", leaving_reason="transfer"),
        ],
        exclusions=[
            {"pupil_id": 1, "start_date": "2021-12-20", "sessions": 2.0, "reason": "DB"},
            {"pupil_id": 1, "start_date": "2021-11-15", "sessions": 4.0, "reason": "PP"},
            {"pupil_id": 1, "start_date": "2021-03-01", "sessions": 6.0, "reason": "VA"},
            {"pupil_id": 1, "start_date": "2019-10-01", "sessions": 1.0, "reason": "DB"},
            {"pupil_id": 1, "start_date": "2022-01-10", "sessions": 10.0, "reason": "DB"},
            {
                "pupil_id": 1,
                "start_date": "2021-06-01",
                "kind": "permanent",
                "sessions": None,
                "reason": "PA",
            },
            {"pupil_id": 2, "start_date": "2021-05-05", "sessions": 3.0, "reason": "DB"},
            {"pupil_id": 5, "start_date": "2021-09-01", "sessions": 2.0, "reason": "DB"},
        ],
        attendance=[
            _week(1, "2021-12-06", "2021-12-10", 10, 1, 2),
            _week(1, "2021-12-13", "2021-12-17", 10, 0, 0),
            _week(1, "2022-01-04", "2022-01-07", 8, 0, 4),
            _week(1, "2022-01-06", "2022-01-10", 10, 0, 10, school=200),
            _week(1, "2022-01-10", "2022-01-14", 10, 0, 10),
        ],
        sen=[
            {
                "pupil_id": 1,
                "start_date": "2020-01-01",
                "end_date": "2020-12-31",
                "provision": "K",
                "primary_need": "MLD",
            },
            {"pupil_id": 1, "start_date": "2021-01-01", "provision": "E"},
            {"pupil_id": 1, "start_date": "2022-01-10", "provision": "K"},
            {"pupil_id": 2, "start_date": "2021-06-01", "end_date": "2022-01-10", "provision": "E"},
            {"pupil_id": 3, "start_date": "2021-12-01", "end_date": "2022-01-09", "provision": "K"},
        ],
    )
    tables.update(extra)
    return histories(**tables)


def _week(pid, start, end, possible, auth, unauth, school=100):
    return {
        "pupil_id": pid,
        "school_id": school,
        "period_start": start,
        "period_end": end,
        "sessions_possible": possible,
        "sessions_authorised_absent": auth,
        "sessions_unauthorised_absent": unauth,
    }


SUSP = Col("kind") == "suspension"


def _one(feature: Feature, h=None, dates=(AS_OF,)) -> pd.DataFrame:
    X = build_features(h or _story(), list(dates), FeatureSpec((feature,)))
    return X


def _col(X, name, as_of=AS_OF):
    return X.xs(as_of, level="as_of_date")[name].to_dict()


# -- windows and boundaries ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("window", "first_day_in"),
    [
        ("28D", "2021-12-13"),
        ("12W", "2021-10-18"),
        ("6M", "2021-07-10"),
        ("1Y", "2021-01-10"),
        ("2Y", "2020-01-10"),
    ],
)
def test_window_is_half_open(window, first_day_in):
    inside = pd.Timestamp(first_day_in)
    h = _story(
        exclusions=[
            {"pupil_id": 1, "start_date": inside},
            {"pupil_id": 2, "start_date": inside - pd.Timedelta(days=1)},
            {"pupil_id": 3, "start_date": AS_OF},
            {"pupil_id": 4, "start_date": AS_OF - pd.Timedelta(days=1)},
            {"pupil_id": 4, "start_date": "2019-09-02"},
        ]
    )
    X = _one(Feature("n", "exclusions", "count", window), h)
    assert _col(X, "n") == {1: 1.0, 2: 0.0, 3: 0.0, 4: 1.0}


def test_all_window_sees_everything_before_as_of():
    X = _one(Feature("n", "exclusions", "count", "all", where=SUSP))
    assert _col(X, "n") == {1: 4.0, 2: 1.0, 3: 0.0, 4: 0.0}


# -- event aggregates -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("aggregate", "window", "kwargs", "expected_p1"),
    [
        ("count", "1Y", {}, 3.0),
        ("any", "1Y", {}, 1.0),
        ("sum", "1Y", {"column": "sessions"}, 12.0),
        ("mean", "1Y", {"column": "sessions"}, 4.0),
        ("max", "1Y", {"column": "sessions"}, 6.0),
        ("min", "1Y", {"column": "sessions"}, 2.0),
        ("days_since_last", "all", {}, 21.0),
        ("days_since_first", "all", {}, 832.0),
        ("current", "all", {"column": "sessions"}, 2.0),
        ("count", "28D", {}, 1.0),
        ("sum", "12W", {"column": "sessions"}, 6.0),
    ],
)
def test_event_aggregates(aggregate, window, kwargs, expected_p1):
    X = _one(Feature("f", "exclusions", aggregate, window, where=SUSP, **kwargs))
    assert _col(X, "f")[1] == pytest.approx(expected_p1)


def test_missing_values_are_imputed_with_indicator():
    X = _one(Feature("f", "exclusions", "mean", "1Y", column="sessions", where=SUSP, impute=-1))
    assert _col(X, "f") == {1: 4.0, 2: 3.0, 3: -1.0, 4: -1.0}
    assert _col(X, "f__missing") == {1: 0.0, 2: 0.0, 3: 1.0, 4: 1.0}
    # days_since_* default to 3650 ("never" = long ago)
    X = _one(Feature("d", "exclusions", "days_since_last", "all", where=SUSP))
    assert _col(X, "d") == {1: 21.0, 2: 250.0, 3: 3650.0, 4: 3650.0}
    assert _col(X, "d__missing") == {1: 0.0, 2: 0.0, 3: 1.0, 4: 1.0}


def test_counts_have_no_indicator_and_indicator_can_be_switched_off():
    X = _one(Feature("n", "exclusions", "count", "1Y"))
    assert list(X.columns) == ["n"]
    X = _one(Feature("m", "exclusions", "max", "1Y", column="sessions", indicator=False))
    assert list(X.columns) == ["m"]


def test_rate_ratio_of_sums_and_windows_on_period_end():
    attended = {
        "sessions_possible": 1,
        "sessions_authorised_absent": -1,
        "sessions_unauthorised_absent": -1,
    }
    spec = FeatureSpec(
        (
            Feature(
                "att_4w",
                "attendance",
                "rate",
                "28D",
                column=attended,
                denominator="sessions_possible",
                impute=0.5,
            ),
            Feature(
                "unauth_1y",
                "attendance",
                "rate",
                "1Y",
                column="sessions_unauthorised_absent",
                denominator="sessions_possible",
            ),
            Feature(
                "att_1y",
                "attendance",
                "rate",
                "1Y",
                column=attended,
                denominator="sessions_possible",
            ),
        )
    )
    X = build_features(_story(), [AS_OF], spec)
    # 28D starts 13 Dec: the week ending 10 Dec is out, weeks ending on/after 10 Jan are out
    assert _col(X, "att_4w")[1] == pytest.approx(14 / 18)
    assert _col(X, "unauth_1y")[1] == pytest.approx(6 / 28)
    assert _col(X, "att_1y")[1] == pytest.approx(21 / 28)
    # no possible sessions -> stated imputation + indicator
    assert _col(X, "att_4w")[2] == 0.5
    assert _col(X, "att_4w__missing") == {1: 0.0, 2: 1.0, 3: 1.0, 4: 1.0}


def test_trend_is_least_squares_slope_per_28_days():
    spec = FeatureSpec(
        (
            Feature(
                "t_rate",
                "attendance",
                "trend",
                "1Y",
                column="sessions_unauthorised_absent",
                denominator="sessions_possible",
            ),
            Feature("t_count", "attendance", "trend", "1Y", column="sessions_unauthorised_absent"),
        )
    )
    X = build_features(_story(), [AS_OF], spec)
    # x = days from as-of to period_end: -31, -24, -3; y = 0.2, 0, 0.5 -> slope 5/13 per 28 days
    assert _col(X, "t_rate")[1] == pytest.approx(5 / 13)
    assert _col(X, "t_count")[1] == pytest.approx(36 / 13)
    assert _col(X, "t_rate__missing") == {1: 0.0, 2: 1.0, 3: 1.0, 4: 1.0}


def test_compare_window_and_threshold():
    absent = {"sessions_authorised_absent": 1, "sessions_unauthorised_absent": 1}
    spec = FeatureSpec(
        (
            Feature(
                "chg",
                "attendance",
                "rate",
                "28D",
                column=absent,
                denominator="sessions_possible",
                compare_window="1Y",
            ),
            Feature(
                "pa",
                "attendance",
                "rate",
                "1Y",
                column=absent,
                denominator="sessions_possible",
                threshold=0.10,
            ),
            Feature(
                "pa_high",
                "attendance",
                "rate",
                "1Y",
                column=absent,
                denominator="sessions_possible",
                threshold=0.5,
            ),
        )
    )
    X = build_features(_story(), [AS_OF], spec)
    assert _col(X, "chg")[1] == pytest.approx(4 / 18 - 7 / 28)
    assert _col(X, "pa")[1] == 1.0
    assert _col(X, "pa_high")[1] == 0.0


def test_filters_any_column_and_contains_code():
    spec = FeatureSpec(
        (
            Feature(
                "db", "exclusions", "count", "all", where=SUSP & (Col("reason", "reason_2") == "DB")
            ),
            Feature(
                "assault", "exclusions", "count", "all", where=Col("reason").isin(["PP", "PA"])
            ),
            Feature("not_db", "exclusions", "count", "all", where=Col("reason") != "DB"),
            Feature("perm", "exclusions", "count", "all", where={"kind": "permanent"}),
        )
    )
    h = _story(
        exclusions=[
            {"pupil_id": 1, "start_date": "2021-12-20", "reason": "VA", "reason_2": "DB"},
            {"pupil_id": 1, "start_date": "2021-11-15", "reason": "PP", "reason_2": None},
            {
                "pupil_id": 1,
                "start_date": "2021-06-01",
                "kind": "permanent",
                "reason": "PA",
                "sessions": None,
            },
        ]
    )
    X = build_features(h, [AS_OF], spec)
    assert _col(X, "db")[1] == 1.0
    assert _col(X, "assault")[1] == 2.0
    assert _col(X, "not_db")[1] == 3.0  # main reason is VA, PP, PA
    assert _col(X, "perm")[1] == 1.0
    sc = [
        {
            "pupil_id": 1,
            "kind": "assessment",
            "start_date": "2021-01-05",
            "end_date": "2021-02-01",
            "assessment_factors": "4A,10A",
        },
        {
            "pupil_id": 2,
            "kind": "assessment",
            "start_date": "2021-01-05",
            "end_date": "2021-02-01",
            "assessment_factors": "14A, 1A",
        },
    ]
    spec = FeatureSpec(
        (
            Feature(
                "f4a",
                "social_care",
                "any",
                "all",
                where=Col("assessment_factors").contains_code("4A"),
            ),
            Feature(
                "f1a",
                "social_care",
                "any",
                "all",
                where=Col("assessment_factors").contains_code("1A"),
            ),
        )
    )
    X = build_features(_story(social_care=sc), [AS_OF], spec)
    assert _col(X, "f4a") == {1: 1.0, 2: 0.0, 3: 0.0, 4: 0.0}  # "14A" does not contain "4A"
    assert _col(X, "f1a") == {1: 0.0, 2: 1.0, 3: 0.0, 4: 0.0}


# -- spells ---------------------------------------------------------------------------------------
def test_spell_aggregates():
    spec = FeatureSpec(
        (
            Feature("ehcp_now", "sen", "active", "all", where=Col("provision") == "E"),
            Feature("sen_now", "sen", "active", "all"),
            Feature("days_1y", "sen", "days_active", "1Y"),
            Feature("days_all", "sen", "days_active", "all"),
            Feature("started_1y", "sen", "spell_count", "1Y"),
            Feature("started_2y", "sen", "spell_count", "2Y"),
            Feature("ended_all", "sen", "ended_count", "all"),
            Feature("since_start", "sen", "days_since_start", "all"),
            Feature("since_end", "sen", "days_since_end", "all"),
        )
    )
    X = build_features(_story(), [AS_OF], spec)
    # pupil 2's spell ends ON the as-of date: still active; pupil 3's ended the day before
    assert _col(X, "ehcp_now") == {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0}
    assert _col(X, "sen_now") == {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0}
    assert _col(X, "days_1y") == {1: 365.0, 2: 223.0, 3: 40.0, 4: 0.0}
    # pupil 1: 366 days in 2020 (leap year) + 374 since 1 Jan 2021
    assert _col(X, "days_all") == {1: 366.0 + 374.0, 2: 223.0, 3: 40.0, 4: 0.0}
    assert _col(X, "started_1y") == {1: 0.0, 2: 1.0, 3: 1.0, 4: 0.0}
    assert _col(X, "started_2y") == {1: 1.0, 2: 1.0, 3: 1.0, 4: 0.0}
    assert _col(X, "ended_all") == {1: 1.0, 2: 0.0, 3: 1.0, 4: 0.0}
    assert _col(X, "since_start") == {1: 374.0, 2: 223.0, 3: 40.0, 4: 3650.0}
    assert _col(X, "since_end") == {1: 375.0, 2: 3650.0, 3: 1.0, 4: 3650.0}
    assert _col(X, "since_end__missing") == {1: 0.0, 2: 1.0, 3: 0.0, 4: 1.0}


def test_spell_aggregate_on_event_table_is_an_error():
    with pytest.raises(ValueError, match="needs a source of spells"):
        _one(Feature("x", "exclusions", "active", "all"))


# -- cohort and school context --------------------------------------------------------------------
def test_cohort_value_and_school_rate():
    spec = FeatureSpec(
        (
            Feature("ncyear", "cohort", "value", column="ncyear"),
            Feature("school_rate", "exclusions", "school_rate", "1Y", where=SUSP),
        )
    )
    X = build_features(_story(), [AS_OF], spec)
    assert _col(X, "ncyear") == {1: 6.0, 2: 6.0, 3: 6.0, 4: 6.0}
    # school 100: 5 suspensions in the year before (incl. pupil 5 who has left) / 3 on roll
    assert _col(X, "school_rate") == pytest.approx({1: 5 / 3, 2: 5 / 3, 3: 5 / 3, 4: 0.0})


# -- custom sources -------------------------------------------------------------------------------
def test_custom_event_and_spell_sources():
    police = pd.DataFrame(
        {
            "child": pd.Series([1, 1, 2, 1], dtype="int64"),
            "when": pd.to_datetime(["2021-12-01", "2021-02-01", "2021-12-30", "2022-01-10"]),
            "severity": [3.0, 1.0, 5.0, 9.0],
            "kind": ["arrest", "notice", "arrest", "arrest"],
        }
    )
    housing = pd.DataFrame(
        {
            "pupil_id": pd.Series([1, 2], dtype="int64"),
            "start": pd.to_datetime(["2021-12-01", "2021-01-01"]),
            "end": pd.to_datetime([None, "2021-06-30"]),
        }
    )
    custom = {
        "police": (police, CustomSource("child", "when", None, ("severity",))),
        "housing": (housing, CustomSource("pupil_id", "start", "end", ())),
    }
    spec = FeatureSpec(
        (
            Feature("police_6m", "police", "count", "6M"),
            Feature("arrests_all", "police", "count", "all", where=Col("kind") == "arrest"),
            Feature("severity_max", "police", "max", "all", column="severity"),
            Feature("temp_housing_now", "housing", "active", "all"),
            Feature("temp_housing_days_1y", "housing", "days_active", "1Y"),
        )
    )
    X = build_features(_story(custom=custom), [AS_OF], spec)
    assert _col(X, "police_6m") == {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0}
    assert _col(X, "arrests_all") == {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0}
    assert _col(X, "severity_max") == {1: 3.0, 2: 5.0, 3: 0.0, 4: 0.0}
    assert _col(X, "temp_housing_now") == {1: 1.0, 2: 0.0, 3: 0.0, 4: 0.0}
    # pupil 2: 10 Jan 2021 .. 30 Jun 2021 inclusive = 172 days
    assert _col(X, "temp_housing_days_1y") == {1: 40.0, 2: 172.0, 3: 0.0, 4: 0.0}


# -- many as-of dates, order, Parquet -------------------------------------------------------------
def test_many_as_of_dates_sorted_output_and_parquet_folder(tmp_path):
    h = _story()
    dates = ["2022-01-10", "2021-06-01", "2021-12-01"]
    X = build_features(h, dates)
    assert list(X.columns) == default_spec().output_names()
    assert X.index.names == ["pupil_id", "as_of_date"]
    flat = X.index.to_frame(index=False)
    assert flat.equals(flat.sort_values(["as_of_date", "pupil_id"], ignore_index=True))
    assert (X.dtypes == "float64").all()
    assert set(X.index.get_level_values("as_of_date")) == set(pd.to_datetime(dates))
    folder = h.save(tmp_path / "h")
    with riskscreen.config_context(memory_limit="500MB", temp_directory=tmp_path / "tmp"):
        X2 = build_features(folder, dates)
    pd.testing.assert_frame_equal(X, X2)
    out = write_features(folder, dates, tmp_path / "X.parquet")
    X3 = pd.read_parquet(out).set_index(["pupil_id", "as_of_date"])
    pd.testing.assert_frame_equal(X, X3, check_index_type=False)
    # a folder that was not written by LinkedHistories.save is refused, not half-read
    for name, table in h.tables().items():
        table.to_parquet(tmp_path / f"{name}.parquet")
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        build_features(tmp_path, dates)


def test_saved_histories_folder_with_custom_source(tmp_path):
    h = _story(
        custom={
            "police": (
                pd.DataFrame(
                    {
                        "pupil_id": pd.Series([1, 2], dtype="int64"),
                        "when": pd.to_datetime(["2021-12-01", "2020-01-01"]).astype(
                            "datetime64[us]"
                        ),
                    }
                ),
                CustomSource("pupil_id", "when", None, ()),
            )
        }
    )
    h.save(tmp_path / "h")
    spec = FeatureSpec((Feature("police_1y", "police", "count", "1Y"),))
    X = build_features(tmp_path / "h", [AS_OF], spec)
    pd.testing.assert_frame_equal(X, build_features(h, [AS_OF], spec))
    assert _col(X, "police_1y") == {1: 1.0, 2: 0.0, 3: 0.0, 4: 0.0}


# -- errors ---------------------------------------------------------------------------------------
def test_unknown_table_or_column_names_it():
    with pytest.raises(ValueError, match=r"'source' parameter.*'exclusion'"):
        _one(Feature("x", "exclusion", "count", "1Y"))
    with pytest.raises(ValueError, match=r"table 'exclusions' has no column 'sesions'"):
        _one(Feature("x", "exclusions", "sum", "1Y", column="sesions"))
    with pytest.raises(ValueError, match=r"no column 'knd'"):
        _one(Feature("x", "exclusions", "count", "1Y", where=Col("knd") == "suspension"))
    with pytest.raises(ValueError, match=r"unknown code\(s\) \['suspention'\]"):
        _one(Feature("x", "exclusions", "count", "1Y", where=Col("kind") == "suspention"))
    with pytest.raises(ValueError, match="must be numeric"):
        _one(Feature("x", "exclusions", "sum", "1Y", column="reason"))


def test_missing_event_dates_name_table_column_and_rows():
    h = _story()
    h.exclusions.loc[[2, 5], "start_date"] = pd.NaT
    with pytest.raises(DataValidationError, match=r"exclusions.start_date: 2 rows \(index 2, 5\)"):
        build_features(h, [AS_OF])
    with (
        riskscreen.config_context(validate=False),
        pytest.raises(ValueError, match=r"'exclusions', column 'start_date': 2 row.*2, 5"),
    ):
        build_features(h, [AS_OF])


def test_as_of_dates_outside_data_range():
    with pytest.raises(ValueError, match=r"'as_of_dates' parameter.*within the data.*2030-01-01"):
        build_features(_story(), ["2030-01-01"])
    with pytest.raises(ValueError, match=r"'as_of_dates' parameter.*within the data"):
        build_features(_story(), ["2015-09-01"])
    with pytest.raises(ValueError, match="'as_of_dates' parameter"):
        build_features(_story(), ["not a date"])
    with pytest.raises(ValueError, match="'spec' parameter"):
        build_features(_story(), [AS_OF], spec=[Feature("n", "exclusions", "count")])


def test_as_of_on_first_day_after_data_is_allowed():
    h = histories(extract=False, pupils=[pupil(1)], enrolments=[on_roll(1)])
    spec = FeatureSpec((Feature("n", "exclusions", "count"),))
    X = build_features(h, ["2019-09-02"], spec)
    assert X.empty  # on roll from 1 Sep: joined before 2 Sep, but only Y4 in 2019/20
    with pytest.raises(ValueError, match=r"in \(2019-09-01, 2019-09-02\]"):
        build_features(h, ["2019-09-03"], spec)
    assert np.isfinite(X["n"]).all()


# -- knowledge dates ------------------------------------------------------------------------------
def _dates(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype="object")).astype("datetime64[us]")


def _known_story():
    """Pupil 1: suspensions on 1 Nov (never dated as recorded), 1 Dec (recorded 5 Dec),
    20 Dec 2021 (recorded ON the as-of date) and 5 Jan 2022 (recorded 1 Feb 2022).
    Pupil 2: an SEN spell 1 Sep - 31 Dec 2021 whose end was recorded on 20 Jan 2022.
    Pupil 3: an SEN spell from 1 Jun 2021 first recorded on 15 Jan 2022.
    Pupil 4 left school on 1 Dec 2021, recorded 20 Jan 2022; pupil 5 joined on
    1 Sep 2021, recorded 15 Jan 2022."""
    h = histories(
        pupils=[pupil(i) for i in (1, 2, 3, 4, 5)],
        enrolments=[
            on_roll(1),
            on_roll(2),
            on_roll(3),
            on_roll(4, leaving_date="2021-12-01", leaving_reason="transfer"),
            on_roll(5, entry="2021-09-01"),
        ],
        exclusions=[
            {"pupil_id": 1, "start_date": d}
            for d in ("2021-11-01", "2021-12-01", "2021-12-20", "2022-01-05")
        ],
        sen=[
            {"pupil_id": 2, "start_date": "2021-09-01", "end_date": "2021-12-31"},
            {"pupil_id": 3, "start_date": "2021-06-01"},
        ],
    )
    h.exclusions["recorded_date"] = _dates([None, "2021-12-05", "2022-01-10", "2022-02-01"])
    h.sen["recorded_date"] = _dates([None, "2022-01-15"])
    h.sen["end_recorded_date"] = _dates(["2022-01-20", None])
    n = len(h.enrolments)  # the last row is the extract's marker spell
    h.enrolments["recorded_date"] = _dates([None] * 4 + ["2022-01-15"] + [None] * (n - 5))
    h.enrolments["end_recorded_date"] = _dates([None] * 3 + ["2022-01-20"] + [None] * (n - 4))
    return h


LATER = pd.Timestamp("2022-02-02")


def test_knowledge_dates_hide_rows_recorded_on_or_after_as_of():
    spec = FeatureSpec(
        (
            Feature("susp_all", "exclusions", "count", "all"),
            Feature("susp_since_last", "exclusions", "days_since_last", "all"),
            Feature("sen_now", "sen", "active", "all"),
            Feature("sen_days_1y", "sen", "days_active", "1Y"),
            Feature("sen_ended", "sen", "ended_count", "all"),
            Feature("sen_since_end", "sen", "days_since_end", "all"),
        )
    )
    X = build_features(_known_story(), [AS_OF, LATER], spec)
    # pupil 4 left before the as-of date but it was recorded after: still on roll then;
    # pupil 5 joined before it but was recorded after: not yet on roll
    assert X.xs(AS_OF, level="as_of_date").index.tolist() == [1, 2, 3, 4]
    assert X.xs(LATER, level="as_of_date").index.tolist() == [1, 2, 3, 5]
    now = X.xs(AS_OF, level="as_of_date")
    later = X.xs(LATER, level="as_of_date")
    # 1 Nov (no recorded date) and 1 Dec count; 20 Dec (recorded on the as-of date) does not
    assert now.loc[1, "susp_all"] == 2.0
    assert now.loc[1, "susp_since_last"] == 40.0  # 1 Dec 2021 -> 10 Jan 2022
    assert later.loc[1, "susp_all"] == 4.0
    assert later.loc[1, "susp_since_last"] == 28.0  # 5 Jan -> 2 Feb 2022
    # pupil 2: the end (31 Dec) was not known on 10 Jan, so the spell is open then
    assert now.loc[2, ["sen_now", "sen_days_1y", "sen_ended"]].tolist() == [1.0, 131.0, 0.0]
    assert now.loc[2, "sen_since_end__missing"] == 1.0
    assert later.loc[2, ["sen_now", "sen_days_1y", "sen_ended"]].tolist() == [0.0, 122.0, 1.0]
    assert later.loc[2, "sen_since_end"] == 33.0  # 31 Dec -> 2 Feb
    # pupil 3: the spell was unknown on 10 Jan, known (and open) on 2 Feb
    assert now.loc[3, ["sen_now", "sen_days_1y"]].tolist() == [0.0, 0.0]
    assert later.loc[3, ["sen_now", "sen_days_1y"]].tolist() == [1.0, 246.0]


def test_knowledge_dates_in_school_rate_current_and_custom_sources():
    h = _known_story()
    police = pd.DataFrame(
        {
            "pupil_id": pd.Series([1, 1, 2], dtype="int64"),
            "date": _dates(["2021-10-01", "2021-11-01", "2021-12-01"]),
            "score": [1.0, 2.0, 3.0],
            "recorded_date": _dates(["2021-10-02", "2022-01-11", None]),
        }
    )
    h.custom["police"] = (police, CustomSource("pupil_id", "date", None, ("score",)))
    spec = FeatureSpec(
        (
            Feature("police_n", "police", "count", "all"),
            Feature("police_now", "police", "current", "all", column="score"),
            Feature("rate", "exclusions", "school_rate", "1Y"),
        )
    )
    X = build_features(h, [AS_OF], spec)
    assert _col(X, "police_n") == {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0}
    assert _col(X, "police_now") == {1: 1.0, 2: 3.0, 3: 0.0, 4: 0.0}
    # school 100: 2 suspensions known / 4 pupils known to be on roll (1-4; 5 not yet)
    assert _col(X, "rate") == pytest.approx({1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5})


def test_knowledge_date_columns_must_be_dates_and_end_recorded_only_on_spells():
    h = _known_story()
    h.exclusions["recorded_date"] = "2021-01-01"
    with pytest.raises(ValueError, match="'exclusions', column 'recorded_date'.*must hold dates"):
        build_features(h, [AS_OF], FeatureSpec((Feature("n", "exclusions", "count", "all"),)))
    h = _known_story()
    h.exclusions["end_recorded_date"] = h.exclusions["recorded_date"]
    with pytest.raises(ValueError, match="'end_recorded_date' but holds events"):
        build_features(h, [AS_OF], FeatureSpec((Feature("n", "exclusions", "count", "all"),)))


def test_batches_of_as_of_dates_give_the_same_result(tmp_path, monkeypatch):
    from riskscreen.features import _run

    h = _story()
    dates = [AS_OF, pd.Timestamp("2021-06-14"), pd.Timestamp("2021-11-01")]
    spec = default_spec()
    one_query = build_features(h, dates, spec)
    monkeypatch.setattr(_run, "BATCH_ROWS", 1)  # one as-of date per query
    batched = build_features(h, dates, spec)
    pd.testing.assert_frame_equal(batched, one_query)
    assert batched.index.get_level_values("as_of_date").is_monotonic_increasing
    path = write_features(h, dates, tmp_path / "X.parquet", spec)
    written = pd.read_parquet(path).set_index(["pupil_id", "as_of_date"])
    pd.testing.assert_frame_equal(written, one_query, check_index_type=False)


def test_a_large_date_is_split_into_queries_of_about_equal_rows(monkeypatch):
    # a date just over a multiple of BATCH_ROWS is not split once more into a small
    # remainder (which reads the same row groups as a full query); the rows of a split
    # date are shared evenly, and the features are those of one query
    from riskscreen.datasets import make_linked_histories
    from riskscreen.features import _run
    from riskscreen.features._session import Session

    h = make_linked_histories(n_pupils=120, n_years=2, seed=3)
    date = h.attendance["period_end"].max().normalize()
    spec = default_spec()
    whole = build_features(h, [date], spec)
    n = len(whole)
    assert n > 40

    def sizes(rows):
        monkeypatch.setattr(_run, "BATCH_ROWS", rows)
        with Session(h, owner="test") as session:
            return [sum(k for _, k in b[3]) for b in _run._batches(session.prepare([date]))]

    # within BATCH_SLACK of the rows: one query; just over twice: two, not three
    assert sizes(int(n / (1 + _run.BATCH_SLACK)) + 1) == [n]
    assert sorted(sizes(n // 2 - 1)) == [n // 2, n - n // 2]
    split = sizes(n // 3)  # three queries within one row of each other
    assert sum(split) == n and max(split) - min(split) <= 1 and len(split) == 3
    monkeypatch.setattr(_run, "BATCH_ROWS", n // 2 - 1)
    pd.testing.assert_frame_equal(build_features(h, [date], spec), whole)


def _run_features(h, dates, spec):
    from riskscreen.features._run import run_features
    from riskscreen.features._session import Session

    with Session(h, owner="test") as session:
        return run_features(session.prepare(dates), spec)


def test_result_is_filled_in_place_across_batches_and_record_batches(monkeypatch):
    from riskscreen.features import _run

    h = _story()
    dates = [AS_OF, pd.Timestamp("2021-06-14"), pd.Timestamp("2021-11-01")]
    spec = default_spec()
    one_query = _run_features(h, dates, spec)
    monkeypatch.setattr(_run, "BATCH_ROWS", 2)  # several queries per as-of date
    monkeypatch.setattr(_run, "_FETCH_ROWS", 1)  # several record batches per query
    batched = _run_features(h, dates, spec)
    pd.testing.assert_frame_equal(batched, one_query)
    assert list(batched.columns) == spec.output_names()
    assert batched.index.names == ["pupil_id", "as_of_date"]
    assert batched.index.levels[0].dtype == "int64"
    assert batched.index.levels[1].dtype == "datetime64[us]"
    assert (batched.dtypes == "float64").all()
    # one block, no concatenated copies: a column is a view of the frame's array
    values = batched.to_numpy()
    assert values.shape == (len(batched), len(spec.output_names()))
    assert np.shares_memory(values, batched.iloc[:, 0].to_numpy())


def test_a_school_rate_is_computed_once_for_all_the_batches(monkeypatch):
    # the extra CTEs that do not read the cohort (a school's rate, its roll) are the
    # same for every batch: made once into tables the batches' queries read, dropped after;
    # a source's aggregates are made once per set of dates for the pupils of its batches
    from riskscreen.features import _run
    from riskscreen.features._run import run_features
    from riskscreen.features._session import Session

    h = _story()
    dates = [AS_OF, pd.Timestamp("2021-06-14"), pd.Timestamp("2021-11-01")]
    spec = default_spec()
    one_query = _run_features(h, dates, spec)
    seen = []
    fetch = _run.fetch_batches
    monkeypatch.setattr(_run, "BATCH_ROWS", 2)  # several queries per as-of date
    monkeypatch.setattr(_run, "SHARED_SOURCE_ROWS", 0)  # every source counts as big
    monkeypatch.setattr(
        _run, "fetch_batches", lambda s, sql, *a: seen.append(sql) or fetch(s, sql, *a)
    )
    with Session(h, owner="test") as session:
        batched = run_features(session.prepare(dates), spec, plan="by_date")
        left = session.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_rt\\_%' ESCAPE '\\'"
        ).fetchall()
    pd.testing.assert_frame_equal(batched, one_query)
    assert "school_roll AS (SELECT * FROM _rt_school_roll)" in seen[0]
    assert "COUNT(DISTINCT" not in seen[0]  # the roll's own SQL is not run per batch
    # and the events are aggregated once per set of dates for all its batches' pupils
    assert "agg_attendance AS (SELECT * FROM _rt_agg_attendance)" in seen[0]
    assert "agg_exclusions AS (SELECT * FROM _rt_agg_exclusions)" in seen[0]
    assert left == []
    # sources of few rows are joined in each query
    monkeypatch.setattr(_run, "SHARED_SOURCE_ROWS", 10**6)
    seen.clear()
    with Session(h, owner="test") as session:
        small = run_features(session.prepare(dates), spec, plan="by_date")
    pd.testing.assert_frame_equal(small, one_query)
    assert "_rt_agg_" not in seen[0] and "_rt_school_roll" in seen[0]


def test_dtype_float32_halves_the_result_and_bad_dtype_is_named():
    h = _story()
    dates = [AS_OF, pd.Timestamp("2021-11-01")]
    X64 = build_features(h, dates)
    X32 = build_features(h, dates, dtype="float32")
    assert (X32.dtypes == "float32").all()
    pd.testing.assert_frame_equal(X32, X64.astype("float32"))
    with pytest.raises(ValueError, match="'dtype' parameter of build_features"):
        build_features(h, dates, dtype="int64")


def test_empty_cohort_gives_an_empty_frame_with_every_column():
    h = _story()
    cohort = build_cohort(h, [AS_OF]).iloc[:0]
    X = build_features(h, [AS_OF], cohort=cohort)
    assert X.shape == (0, len(default_spec().output_names()))
    assert list(X.columns) == default_spec().output_names()
    assert X.index.names == ["pupil_id", "as_of_date"]
    assert (X.dtypes == "float64").all()


@pytest.mark.parametrize("wrong", [-1, 3])
def test_a_row_count_mismatch_is_a_loud_internal_error(monkeypatch, wrong):
    # one feature row per cohort row is the engine's invariant; breaking it must not
    # pass silently (no rows duplicated or lost)
    from riskscreen.features import _run

    h = _story()
    dates = [AS_OF, pd.Timestamp("2021-06-14"), pd.Timestamp("2021-11-01")]
    fetch = _run.fetch_batches
    monkeypatch.setattr(_run, "BATCH_ROWS", 2)
    monkeypatch.setattr(
        _run, "fetch_batches", lambda s, sql, b, n, d, p: fetch(s, sql, b, n + wrong, d, p)
    )
    with pytest.raises(RuntimeError, match="one row per cohort row"):
        _run_features(h, dates, default_spec())


def test_the_parquet_writer_thread_writes_in_order_and_raises_its_error():
    # row groups are written on a thread of their own: in the order given, and an error
    # there is raised on the caller's thread (at the next write or at close)
    from riskscreen.features._run import _ThreadedWriter

    class Writer:
        def __init__(self, fail_at=None):
            self.got, self.closed, self.fail_at = [], False, fail_at

        def write_table(self, table, row_group_size=None):
            if len(self.got) == self.fail_at:
                raise OSError("disk full")
            self.got.append((table, row_group_size))

        def close(self):
            self.closed = True

    inner = Writer()
    writer = _ThreadedWriter(inner, depth=2)
    for k in range(10):
        writer.write_table(k, row_group_size=k + 1)
    writer.close()
    assert inner.got == [(k, k + 1) for k in range(10)] and inner.closed
    failing = Writer(fail_at=3)
    writer = _ThreadedWriter(failing, depth=2)
    with pytest.raises(OSError, match="disk full"):
        try:
            for k in range(10):
                writer.write_table(k)
        finally:  # as write_batches does
            writer.close()
    assert failing.closed and len(failing.got) == 3
