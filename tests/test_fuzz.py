"""Fuzz: corrupted inputs on every entry path give riskscreen's own clear errors, or are valid.

Each example corrupts a small valid authority (tests/_linked_histories.py) in one
of many ways and drives it through one entry path. Whatever comes out must be
either a result (and then the data must pass ``validate()``: nothing invalid is
accepted silently) or an exception raised by riskscreen's own code, never an
error from deep inside pandas, DuckDB or pyarrow. Counts are printed at the end
(``pytest -s``) for the record.
"""

from __future__ import annotations

import collections
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _linked_histories import FIT_DATES, TEST_DATE, risky_histories
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from riskscreen import Screener
from riskscreen.cli import app
from riskscreen.data import LinkedHistories
from riskscreen.features import build_features, make_labels

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
OUTCOMES: collections.Counter = collections.Counter()
BASE = risky_histories(80, seed=3)
RIVERSIDE = str(Path(__file__).resolve().parent.parent / "riskscreen")
TABLES = ("pupils", "enrolments", "attendance", "exclusions", "schools")


def _corrupt(h: LinkedHistories, how: str, table: str, rng: np.random.Generator):
    frame = getattr(h, table).copy()
    if len(frame) == 0:
        return h
    col = frame.columns[int(rng.integers(len(frame.columns)))]
    rows = frame.index[rng.integers(0, len(frame), max(1, len(frame) // 10))]
    if how == "missing":
        frame[col] = frame[col].astype(object)
        frame.loc[rows, col] = None
    elif how == "text":
        frame[col] = frame[col].astype(object)
        frame.loc[rows, col] = "Zebedee Quillfeather"
    elif how == "title_case" and frame[col].dtype == "str":
        frame[col] = frame[col].str.title()
    elif how == "negative" and frame[col].dtype.kind in "iuf":
        frame.loc[rows, col] = -frame.loc[rows, col] - 3
    elif how == "drop_column":
        frame = frame.drop(columns=col)
    elif how == "duplicate":
        frame = pd.concat([frame, frame.loc[rows]], ignore_index=True)
    elif how == "time_of_day" and frame[col].dtype.kind == "M":
        frame.loc[rows, col] = frame.loc[rows, col] + pd.Timedelta(hours=9)
    elif how == "zoned" and frame[col].dtype.kind == "M":
        frame[col] = frame[col].dt.tz_localize("UTC")
    elif how == "far_future" and frame[col].dtype.kind == "M":
        frame.loc[rows, col] = pd.Timestamp("2199-01-01")
    elif how == "float_ids" and col.endswith("_id"):
        frame[col] = frame[col].astype(float) + 0.5
    elif how == "not_a_frame":
        frame = frame.to_dict()
    out = h.copy(deep=False)
    setattr(out, table, frame)
    return out


CORRUPTION = st.tuples(
    st.sampled_from(
        [
            "missing",
            "text",
            "title_case",
            "negative",
            "drop_column",
            "duplicate",
            "time_of_day",
            "zoned",
            "far_future",
            "float_ids",
            "not_a_frame",
        ]
    ),
    st.sampled_from(TABLES),
    st.integers(0, 2**16),
)


def _raised_by_riskscreen(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(RIVERSIDE)


def _run(path: str, call, histories) -> None:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the point is to see what comes out
        assert _raised_by_riskscreen(exc), (path, type(exc), str(exc)[:300])
        assert "Quillfeather" not in str(exc), (path, str(exc)[:300])
        OUTCOMES[(path, type(exc).__name__)] += 1
    else:
        # accepted: then the data must be valid (nothing invalid goes through silently)
        if isinstance(histories, LinkedHistories):
            assert histories.is_valid(), path
        OUTCOMES[(path, "accepted")] += 1


@SETTINGS
@given(corruption=CORRUPTION)
def test_features_and_labels(corruption):
    how, table, seed = corruption
    h = _corrupt(BASE, how, table, np.random.default_rng(seed))
    _run("build_features", lambda: build_features(h, ["2021-02-01"]), h)
    _run("make_labels", lambda: make_labels(h, ["2021-02-01"], "suspension"), h)


@SETTINGS
@given(corruption=CORRUPTION)
def test_screener_fit_and_score(corruption, fitted):
    how, table, seed = corruption
    h = _corrupt(BASE, how, table, np.random.default_rng(seed))
    _run("Screener.fit", lambda: Screener(n_bootstrap=2).fit(h, FIT_DATES), h)
    _run("Screener.score", lambda: fitted.score(h, TEST_DATE), h)


@SETTINGS
@given(corruption=CORRUPTION)
def test_from_frames_and_read_csv(corruption, tmp_path_factory):
    how, table, seed = corruption
    h = _corrupt(BASE, how, table, np.random.default_rng(seed))
    frames = {n: f for n, f in h.tables().items() if isinstance(f, pd.DataFrame)}
    as_text = {n: f.astype(str) for n, f in frames.items()}
    _run("from_frames", lambda: LinkedHistories.from_frames(as_text), None)
    folder = tmp_path_factory.mktemp("csv")
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    _run("read_csv", lambda: LinkedHistories.read_csv(folder), None)


@SETTINGS
@given(
    damage=st.sampled_from(["flip", "truncate", "delete", "manifest", "garbage"]),
    table=st.sampled_from(TABLES),
    seed=st.integers(0, 2**16),
)
def test_load_open_and_cli_validate(damage, table, seed, tmp_path_factory):
    folder = BASE.save(tmp_path_factory.mktemp("saved") / "la")
    file = folder / f"{table}.parquet"
    rng = np.random.default_rng(seed)
    data = bytearray(file.read_bytes())
    if damage == "flip":
        i = int(rng.integers(len(data)))
        data[i] ^= 1 << int(rng.integers(8))
        file.write_bytes(bytes(data))
    elif damage == "truncate":
        file.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "delete":
        file.unlink()
    elif damage == "manifest":
        (folder / "manifest.json").write_text('{"format": "riskscreen.LinkedHistories", ')
    else:
        file.write_bytes(rng.bytes(len(data)))
    _run("load", lambda: LinkedHistories.load(folder), None)
    _run("open", lambda: LinkedHistories.open(folder), None)
    _run("build_features(folder)", lambda: build_features(folder, ["2021-02-01"]), None)
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1 and result.output.startswith("Error: "), result.output
    assert "Traceback" not in result.output
    OUTCOMES[("riskscreen validate", "refused")] += 1


@pytest.fixture(scope="module")
def fitted():
    return Screener(n_bootstrap=2).fit(BASE, FIT_DATES)


def test_zz_report_counts():
    """Print what the fuzz saw (run with -s); every path was exercised."""
    for (path, outcome), n in sorted(OUTCOMES.items()):
        print(f"fuzz: {path:24s} {outcome:28s} {n}")
    paths = {p for p, _ in OUTCOMES}
    if paths:  # the count test runs after the others in this module's worker
        assert {"build_features", "make_labels", "from_frames", "read_csv", "load"} <= paths
