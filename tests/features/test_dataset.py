"""build_dataset: cohort, features, labels and groups from one read, equal to the parts."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from riskscreen import parse_duration
from riskscreen.features import (
    Dataset,
    build_cohort,
    build_dataset,
    build_features,
    make_labels,
    protect_label_report,
    protected_characteristics,
)

DATES = ["2020-06-01", "2021-06-01", "2023-09-01"]


@pytest.fixture(scope="module")
def data(linked):
    return build_dataset(linked, DATES, outcome="suspension", horizon="1Y", sensitive=True)


def test_the_parts_equal_the_separate_calls(data, linked):
    assert isinstance(data, Dataset)
    pd.testing.assert_frame_equal(data.X, build_features(linked, DATES))
    pd.testing.assert_frame_equal(data.cohort, build_cohort(linked, DATES))
    with pytest.raises(ValueError, match="runs past the end of data 2024-07-31"):
        make_labels(linked, DATES, outcome="suspension", horizon="1Y")
    y = make_labels(linked, DATES[:2], outcome="suspension", horizon="1Y")
    pd.testing.assert_series_equal(data.complete().y, y)
    pd.testing.assert_frame_equal(data.sensitive, protected_characteristics(linked, data.X.index))
    assert data.horizon == parse_duration("12M") and data.outcome == "suspension"
    assert data.end_of_data == linked.end_of_data() == pd.Timestamp("2024-07-31")
    assert data.fingerprint == linked.fingerprint()


def test_incomplete_label_windows_are_found_and_dropped_with_a_note(data):
    assert data.incomplete_dates == [pd.Timestamp("2023-09-01")]
    assert data.label_report["window_complete"].tolist() == [True, True, False]
    complete = data.complete()
    assert complete.as_of_dates == [pd.Timestamp("2020-06-01"), pd.Timestamp("2021-06-01")]
    assert len(complete.X) == len(complete.y) == len(complete.cohort) == len(complete.sensitive)
    assert complete.X.index.equals(complete.y.index)
    assert "2023-09-01 dropped" in complete.notes[0]
    one = data.select_dates("2021-06-01")
    assert one.as_of_dates == [pd.Timestamp("2021-06-01")]
    assert list(one.label_report.index) == [pd.Timestamp("2021-06-01")]
    # the report a person reads hides what the raw view shows
    raw = data.label_report_unsuppressed.copy()
    raw["n_censored"] = [0, 2, 0]  # two pupils censored on the second date
    raw["n_negative"] -= raw["n_censored"]
    planted = dataclasses.replace(data, label_report_unsuppressed=raw)
    shown = planted.label_report
    pd.testing.assert_frame_equal(shown, protect_label_report(raw))
    counts = ["n_cohort", "n_positive", "n_negative", "n_censored", "n_unknown"]
    # the two censored are hidden, and with them the unknown: the cohort less the
    # pupils with a known label (shown by any evaluation of the date) is public
    assert shown.loc["2021-06-01", counts].isna().tolist() == [False, False, False, True, True]
    assert shown["suppressed"].tolist() == [False, True, False]
    assert shown.loc["2021-06-01", "positive_rate"] == raw.loc["2021-06-01", "positive_rate"]
    assert shown.loc["2021-06-01", "n_cohort"] == raw.loc["2021-06-01", "n_cohort"]
    assert not ((shown[counts] > 0) & (shown[counts] < 5)).fillna(False).to_numpy().any()
    assert shown["suppressed"].tolist() == raw[counts].isin(range(1, 5)).any(axis=1).tolist()
    assert "outcome='suspension' (1Y)" in repr(data)


def test_parameters_are_checked_before_reading(linked):
    with pytest.raises(ValueError, match="'outcome' parameter of build_dataset"):
        build_dataset(linked, DATES, outcome="exclusion")
    with pytest.raises(ValueError, match="'horizon' parameter of build_dataset"):
        build_dataset(linked, DATES, outcome="suspension", horizon="2QS")
    with pytest.raises(ValueError, match="'dtype' parameter of build_dataset"):
        build_dataset(linked, DATES, dtype="int8")
    unlabelled = build_dataset(linked, DATES[:1])
    assert unlabelled.y is None and unlabelled.incomplete_dates == []
