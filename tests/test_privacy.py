"""Planted identifiers appear in no exception text, log line or output file."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from _linked_histories import FIT_DATES, TEST_DATE, risky_histories

from riskscreen import Screener
from riskscreen.data import DataValidationError, LinkedHistories
from riskscreen.features import build_features, make_labels

UPN = "A123456789012"
NAME = "Zebedee Quillfeather"
DOB = "2011-06-17"
POSTCODE = "SW1A 2AA"
SECRETS = (UPN, NAME, "Quillfeather", DOB, "17/06/2011", POSTCODE, "SW1A")


def _planted_everywhere(h: LinkedHistories) -> LinkedHistories:
    """Identifiers in every table: in extra columns, and in place of codes and dates."""
    h = h.copy()
    for frame in h.tables().values():
        if len(frame) == 0:
            continue
        frame["upn"] = UPN
        frame["legal_name"] = NAME
        frame["home_postcode"] = POSTCODE
        text_cols = [
            c
            for c in frame.columns
            if frame[c].dtype == "str" and c not in ("upn", "legal_name", "home_postcode")
        ]
        if text_cols:
            frame.loc[frame.index[:3], text_cols[0]] = [UPN, NAME, POSTCODE][: min(3, len(frame))]
        date_cols = [c for c in frame.columns if frame[c].dtype.kind == "M"]
        if date_cols:
            frame.loc[frame.index[:1], date_cols[0]] = pd.Timestamp(DOB)
    notices = pd.DataFrame(
        {"pupil_id": [1], "date": pd.to_datetime([DOB]).astype("datetime64[us]"), "note": [NAME]}
    )
    return h.add_source("police", notices, value_columns=["note"])


def _assert_clean(text: str) -> None:
    leaks = [s for s in SECRETS if s in text]
    assert leaks == [], leaks


def test_validation_errors_on_every_path_mask_planted_identifiers(caplog, tmp_path):
    planted = _planted_everywhere(risky_histories(60))
    calls = {
        "validate": planted.validate,
        "build_features": lambda: build_features(planted, ["2021-02-01"]),
        "make_labels": lambda: make_labels(planted, ["2021-02-01"]),
        "Screener.fit": lambda: Screener().fit(planted, FIT_DATES),
    }
    caplog.set_level(logging.DEBUG)
    for path, call in calls.items():
        with pytest.raises(DataValidationError) as info:
            call()
        text = str(info.value) + repr(info.value.to_frame().to_dict())
        assert "problem" in text, path  # the problems are reported ...
        _assert_clean(text)  # ... without the values that identify someone
    frames = {n: f.astype(str) for n, f in planted.tables().items()}
    with pytest.raises(DataValidationError) as info:
        LinkedHistories.from_frames(frames)
    _assert_clean(str(info.value))
    _assert_clean(caplog.text)


def test_outputs_of_a_run_on_data_with_identifier_columns_hold_none(caplog, tmp_path):
    from riskscreen.tracking import track

    clean = risky_histories(200)
    h = clean.copy()
    h.pupils["upn"] = UPN
    h.pupils["legal_name"] = NAME
    h.pupils["date_of_birth"] = pd.Timestamp(DOB)
    caplog.set_level(logging.DEBUG)
    screener = Screener(n_bootstrap=5).fit(h, FIT_DATES)
    screening = screener.score(h, TEST_DATE)
    comparison = screener.evaluate(h, TEST_DATE, n_bootstrap=5)
    written = screening.write_csv(tmp_path / "screening.csv")
    track(screener, h, store=tmp_path / "mlruns", evaluation=comparison, screening=screening)
    texts = [str(comparison), comparison.to_markdown(), comparison.to_html(), repr(screening)]
    texts += [screening.to_markdown(), screening.to_html(), caplog.text]
    for text in texts:
        _assert_clean(text)
    for file in tmp_path.rglob("*"):
        if file.is_file():
            raw = file.read_bytes()
            assert not [s for s in SECRETS if s.encode() in raw], file
    assert written.exists()
