"""One duration type and one as-of-date normaliser for every public entry point."""

from __future__ import annotations

import datetime
import re

import pandas as pd
import pytest

import riskscreen
from riskscreen import Duration, Screener, parse_duration
from riskscreen._time import as_of_date, as_of_dates, label_window_complete
from riskscreen.features import Feature, make_labels
from riskscreen.training import LGBMRiskModel, TemporalSplit


@pytest.mark.parametrize(
    ("text", "n", "unit", "sql"),
    [
        ("28D", 28, "D", "INTERVAL '28' DAY"),
        ("12W", 12, "W", "INTERVAL '84' DAY"),
        ("6m", 6, "M", "INTERVAL '6' MONTH"),
        (" 1Y ", 1, "Y", "INTERVAL '1' YEAR"),
        ("2Y", 2, "Y", "INTERVAL '2' YEAR"),
    ],
)
def test_parse_duration(text, n, unit, sql):
    d = parse_duration(text)
    assert (d.n, d.unit) == (n, unit)
    assert d.interval_sql() == sql
    assert d.start_sql("a") == f"(a - {sql})"
    assert d.end_sql("a") == f"(a + {sql})"


def test_all_only_where_allowed():
    d = parse_duration("all", allow_all=True)
    assert d.is_all and d.start_sql("a") is None and d.words() == "all time"
    assert parse_duration(d, allow_all=True) is d
    with pytest.raises(ValueError, match="'horizon' parameter of make_labels"):
        parse_duration("all", parameter="horizon", owner="make_labels")


def test_timedeltas_of_whole_days_are_durations():
    assert parse_duration(pd.Timedelta("365D")) == Duration(365, "D")
    assert parse_duration(datetime.timedelta(weeks=2)) == Duration(14, "D")
    with pytest.raises(ValueError, match="positive duration"):
        parse_duration(pd.Timedelta("36h"))


@pytest.mark.parametrize(
    "bad", ["28", "D28", "0D", "-3M", "1.5Y", "12 weeks", "2QS", "", None, 28, "MS"]
)
def test_unknown_strings_are_rejected(bad):
    with pytest.raises(ValueError, match=r"'window' parameter of Feature must be a positive"):
        parse_duration(bad, parameter="window", owner="Feature")


def test_equal_lengths_are_equal_durations():
    assert parse_duration("1Y") == parse_duration("12M") and parse_duration("2W") == Duration(
        14, "D"
    )
    assert parse_duration("1Y") != parse_duration("365D")  # a leap year is 366 days
    assert len({parse_duration("1Y"), parse_duration("12M"), parse_duration("52W")}) == 2
    assert parse_duration("1Y").text == "1Y"  # shown as written


def test_words_and_calendar_arithmetic():
    assert parse_duration("1Y").words() == "12 months"
    assert parse_duration("13W").words() == "13 weeks"
    assert parse_duration("1D").words() == "1 day"
    # calendar months clip to the end of a shorter month, as DuckDB's INTERVAL does
    assert parse_duration("1M").after("2023-01-31") == pd.Timestamp("2023-02-28")
    assert parse_duration("12M").after("2023-06-01") == parse_duration("1Y").after("2023-06-01")
    assert parse_duration("28D").before("2023-03-01") == pd.Timestamp("2023-02-01")


def _message(call) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def test_every_public_entry_point_accepts_the_same_durations():
    for text in ("12M", "1Y", "365D", "52W"):
        assert Screener(horizon=text)._check_params() == parse_duration(text)
        TemporalSplit(horizon=text).holdout(["2020-01-01", "2022-01-01"])
        Feature("x", "exclusions", "count", text)
    assert LGBMRiskModel().get_params()  # no horizon on a model any more
    assert "horizon" not in LGBMRiskModel().get_params()


def test_every_public_entry_point_rejects_2qs_with_the_same_message(linked):
    messages = {
        "Screener": _message(lambda: Screener(horizon="2QS").fit(linked, ["2021-01-04"])),
        "TemporalSplit": _message(
            lambda: TemporalSplit(horizon="2QS").holdout(["2020-01-01", "2022-01-01"])
        ),
        "make_labels": _message(lambda: make_labels(linked, ["2021-01-04"], horizon="2QS")),
    }
    shapes = {re.sub(r" of \w+\.?\w* must", " of OWNER must", m) for m in messages.values()}
    assert len(shapes) == 1, messages
    (shape,) = shapes
    assert shape == (
        "The 'horizon' parameter of OWNER must be a positive duration such as '28D', '12W', "
        "'6M' or '1Y' (a whole number followed by D, W, M or Y). Got '2QS' instead."
    )
    for owner, message in messages.items():
        assert f"of {owner} must" in message


def test_labels_accept_months_and_years_like_the_screener(linked):
    a = make_labels(linked, ["2021-01-04"], horizon="12M")
    b = make_labels(linked, ["2021-01-04"], horizon="1Y")
    pd.testing.assert_series_equal(a, b)


def test_as_of_dates_are_normalised_once():
    got = as_of_dates(["2023-01-09 13:30", pd.Timestamp("2022-09-01"), "2023-01-09"], owner="x")
    assert list(got) == [pd.Timestamp("2022-09-01"), pd.Timestamp("2023-01-09")]
    assert str(got.dtype) == "datetime64[us]"
    aware = as_of_dates(["2023-01-09T23:30:00+01:00"], owner="x")
    assert list(aware) == [pd.Timestamp("2023-01-09")]
    assert as_of_date("2023-06-01", owner="x") == pd.Timestamp("2023-06-01")
    with pytest.raises(ValueError, match="'as_of_date' parameter of x must be one date"):
        as_of_date(["2023-06-01", "2023-07-01"], owner="x")
    with pytest.raises(ValueError, match="'as_of_dates' parameter of x must be dates"):
        as_of_dates(["not a date"], owner="x")
    with pytest.raises(ValueError, match="at least one date"):
        as_of_dates([], owner="x")


def test_label_window_complete_is_one_rule():
    h = parse_duration("28D")
    assert label_window_complete("2023-01-01", h, pd.Timestamp("2023-01-28"))
    assert not label_window_complete("2023-01-01", h, pd.Timestamp("2023-01-27"))
    assert not label_window_complete("2023-01-01", h, None)


def test_top_level_exports():
    assert riskscreen.parse_duration is parse_duration
    assert "Duration" in riskscreen.__all__
