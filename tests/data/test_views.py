"""Histories reached one way: in memory or opened from a folder, the same dates and hashes."""

from __future__ import annotations

import pandas as pd
import pytest

import riskscreen
from riskscreen.data import DataValidationError, LinkedHistories, as_histories


def test_an_opened_folder_reads_nothing_until_used_and_matches_memory(histories, tmp_path):
    folder = histories.save(tmp_path / "la")
    opened = LinkedHistories.open(folder)
    assert opened.folder == folder and histories.folder is None
    assert "attendance" not in vars(opened)  # not read yet
    assert opened.end_of_data() == histories.end_of_data()
    assert opened.fingerprint() == histories.fingerprint()
    pd.testing.assert_frame_equal(opened.summary(), histories.summary())
    assert "attendance" not in vars(opened)  # dates, hashes and summary came from DuckDB
    assert repr(opened) == repr(histories)
    pd.testing.assert_frame_equal(opened.attendance, histories.attendance)
    assert "attendance" in vars(opened)  # read on first access, then kept
    assert opened.validate() is opened  # custom sources of a folder validate too
    assert list(opened.custom) == ["police_notices"]
    pd.testing.assert_frame_equal(
        opened.custom["police_notices"][0], histories.custom["police_notices"][0]
    )


def test_as_histories_is_the_one_door(histories, tmp_path):
    assert as_histories(histories, owner="x") is histories
    folder = histories.save(tmp_path / "la")
    assert as_histories(str(folder), owner="x").folder == folder
    with pytest.raises(TypeError, match="'histories' parameter of build_features must be"):
        as_histories({"pupils": histories.pupils}, owner="build_features")
    (folder / "exclusions.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="table 'exclusions' file"):
        as_histories(folder, owner="x")


def test_fingerprint_is_about_content_not_order_or_dtype_spelling(histories):
    base = histories.fingerprint()
    assert set(base["tables"]) == {*histories.tables(), "custom:police_notices"}
    assert len(base["combined"]) == 16
    shuffled = histories.copy()
    shuffled.exclusions = shuffled.exclusions.iloc[::-1].reset_index(drop=True)
    shuffled.pupils = shuffled.pupils[list(shuffled.pupils.columns)[::-1]]
    shuffled.attendance["period_start"] = shuffled.attendance["period_start"].astype(
        "datetime64[ns]"
    )
    assert shuffled.fingerprint() == base
    changed = histories.copy()
    changed.exclusions.loc[0, "sessions"] = 9.0
    fp = changed.fingerprint()
    assert fp["combined"] != base["combined"]
    assert fp["tables"]["exclusions"] != base["tables"]["exclusions"]
    assert fp["tables"]["pupils"] == base["tables"]["pupils"]
    # a repeated row counts (hashes are summed, not cancelled)
    doubled = histories.copy()
    doubled.exclusions = pd.concat([doubled.exclusions] * 3, ignore_index=True)
    with pytest.raises(DataValidationError, match="duplicate_key"):
        doubled.fingerprint()  # the fingerprint is of valid data only
    with riskscreen.config_context(validate=False):
        assert doubled.fingerprint()["tables"]["exclusions"] != base["tables"]["exclusions"]


def test_fingerprint_holds_no_identifier(histories):
    text = str(histories.fingerprint())
    for name in ("Hillside", "Brook", "domestic_abuse"):
        assert name not in text


def test_end_of_data_is_the_latest_event_or_knowledge_date_never_a_planned_end(histories):
    h = histories.copy()
    first, last = h.date_range()
    assert last == h.end_of_data()
    # the latest event start is the missing-education spell of 1 March 2023, after the
    # last attendance period; its end (1 May 2023) is a spell end and does not count
    assert last == pd.Timestamp("2023-03-01")
    assert first == min(h.enrolments["entry_date"].min(), h.sen["start_date"].min())
    h.fsm.loc[len(h.fsm)] = {
        "pupil_id": 2,
        "start_date": pd.Timestamp("2022-09-01"),
        "end_date": pd.Timestamp("2030-08-31"),
    }
    assert h.end_of_data() == last  # a planned end in 2030 says nothing about the data
    # custom sources count: a later police notification moves the end of data
    police = h.custom["police_notices"][0].copy()
    police.loc[len(police)] = [1, pd.Timestamp("2023-06-30"), "missing_episode"]
    h.remove_source("police_notices").add_source("police_notices", police)
    assert h.end_of_data() == pd.Timestamp("2023-06-30")
    # so do knowledge dates: a row recorded later than anything happened
    h.exclusions["recorded_date"] = h.exclusions["start_date"] + pd.Timedelta(days=200)
    assert h.end_of_data() == h.exclusions["recorded_date"].max()
    assert LinkedHistories().end_of_data() is None
