"""Round trip: synthetic authority -> statutory files -> read_returns -> the same histories.

One authority (1,500 pupils, three years) is written with noisy identities and read
back; the tests compare every canonical table with the original (ids mapped through
the writer's truth), measure the linkage against the truth, and look for the
identifiers of the files anywhere they must not be.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from riskscreen.data import read_returns
from riskscreen.data._returns_spec import census_day, reported_term, term_window
from riskscreen.datasets import make_linked_histories, write_returns

pytest.importorskip(
    "splink", reason="read_returns links with Splink: pip install 'riskscreen[linkage]'"
)

KEY = "roundtrip-test-key-0123456789"


@pytest.fixture(scope="module")
def trip(tmp_path_factory):
    original = make_linked_histories(n_pupils=1_500, n_years=3, seed=5)
    folder = tmp_path_factory.mktemp("returns")
    truth = write_returns(original, folder, seed=2)
    lookup = folder.parent / "identity_lookup.csv"
    logging.getLogger().setLevel(logging.DEBUG)
    handler = _Capture()
    logging.getLogger().addHandler(handler)
    try:
        loaded, report = read_returns(folder, key=KEY, identity_lookup=lookup)
    finally:
        logging.getLogger().removeHandler(handler)
    return original, truth, loaded, report, folder, lookup, handler.messages


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record) -> None:
        self.messages.append(record.getMessage())


def _id_map(truth, report) -> pd.Series:
    """Loaded pupil_id -> original pupil_id: the child most of its records belong to."""
    m = truth.records.merge(report.links, on=["source", "file", "row"])
    m = m.dropna(subset=["pupil_id_x"])
    return m.groupby("pupil_id_y")["pupil_id_x"].agg(lambda s: s.mode().iloc[0])


def _mapped(frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    out = frame.assign(pupil_id=frame["pupil_id"].map(ids))
    return out.dropna(subset=["pupil_id"]).astype({"pupil_id": "int64"})


def _diff(a: pd.DataFrame, b: pd.DataFrame) -> tuple[int, int]:
    cols = [c for c in a.columns if c in b.columns]
    m = a[cols].astype(str).merge(b[cols].astype(str), how="outer", indicator=True)
    return int((m["_merge"] == "left_only").sum()), int((m["_merge"] == "right_only").sum())


@pytest.mark.parametrize(
    "table", ["enrolments", "social_care", "missing_education", "interventions", "schools"]
)
def test_tables_come_back_exactly(trip, table):
    original, truth, loaded, report, *_ = trip
    ids = _id_map(truth, report)
    a = getattr(original, table)
    b = getattr(loaded, table) if table == "schools" else _mapped(getattr(loaded, table), ids)
    missing, extra = _diff(a, b)
    # only the children linkage got wrong (records without a UPN it missed) differ
    assert missing <= max(2, 0.02 * len(a)) and extra <= max(2, 0.005 * len(a)), (missing, extra)
    if table in ("enrolments", "schools"):  # census-born: exact
        assert missing == extra == 0


def test_rows_the_returns_cannot_carry_are_counted(trip):
    original, truth, loaded, report, *_ = trip
    ids = _id_map(truth, report)
    lost = truth.lost
    missing, extra = _diff(original.fsm, _mapped(loaded.fsm, ids))
    dropped = lost["fsm: periods of pupils on no census roll at the time"]
    open_ended = lost["fsm: ends no census saw (period left open)"]
    assert missing <= dropped + open_ended + 2 and extra <= open_ended + 2
    missing, extra = _diff(original.exclusions, _mapped(loaded.exclusions, ids))
    changed = (
        lost["exclusions: further reasons not in the return"] + lost["exclusions: reason recoded"]
    )
    assert missing == extra <= changed
    assert len(loaded.exclusions) == len(original.exclusions)
    # what read_returns merged or set aside is in its report
    tables = report.tables.set_index(["table", "what"])["rows"]
    assert tables[("enrolments", "census records of the same spell merged")] > 0
    assert tables[("social_care", "the same CIN episode in several years' returns (latest kept)")]


def test_attendance_comes_back_per_census_term(trip):
    original, truth, loaded, report, *_ = trip
    ids = _id_map(truth, report)
    a = original.attendance
    cols = ["sessions_possible", "sessions_authorised_absent", "sessions_unauthorised_absent"]
    b = _mapped(loaded.attendance, ids)
    pd.testing.assert_series_equal(
        a.groupby("pupil_id")[cols].sum().stack().sort_index(),
        b.groupby("pupil_id")[cols].sum().stack().sort_index(),
        check_names=False,
    )
    for _, row in b.head(50).iterrows():  # each row lies inside one census term
        start = row["period_start"]
        year = start.year - (start.month < 8)
        assert row["period_end"] <= pd.Timestamp(year + 1, 7, 31)


def test_sen_comes_back_as_census_days_show_it(trip):
    original, truth, loaded, report, *_ = trip
    ids = _id_map(truth, report)
    b = _mapped(loaded.sen, ids)
    for year, term in [(2020, "spring"), (2021, "autumn"), (2021, "summer")]:
        day = pd.Timestamp(census_day(year, term))

        def on(frame, day=day):
            open_ = frame[
                (frame["start_date"] <= day)
                & (frame["end_date"].isna() | (frame["end_date"] >= day))
            ]
            return (
                open_.sort_values("provision")
                .drop_duplicates("pupil_id")
                .set_index("pupil_id")["provision"]
            )

        e = original.enrolments
        roll = e[(e["entry_date"] <= day) & (e["leaving_date"].isna() | (e["leaving_date"] >= day))]
        pupils = roll["pupil_id"].unique()
        want, got = on(original.sen).reindex(pupils), on(b).reindex(pupils)
        assert (want.fillna("N") == got.fillna("N")).mean() > 0.995
    assert reported_term(2021, "autumn") == (2020, "summer")
    assert term_window(2020, "autumn")[1].month == 12


def test_linkage_meets_the_acceptance_figures(trip):
    original, truth, loaded, report, *_ = trip
    q = truth.linkage_quality(report.links).set_index(["subset", "group", "value"])
    assert q.loc[("UPN present", "all", "all"), "recall"] >= 0.99
    no_upn = q.loc[("no UPN", "all", "all")]
    assert no_upn["precision"] >= 0.99 and no_upn["recall"] >= 0.95
    # reported by group: ethnicity, sex and FSM all present
    groups = set(q.xs("no UPN").index.get_level_values("group"))
    assert {"ethnicity", "sex", "fsm", "source"} <= groups
    # decoys (children only in social care) are never given a school record
    assert report.linkage["no_school_record"].sum() >= truth.n_decoys
    assert report.training["labels"] >= 50
    assert report.training["method"].startswith("m from UPN-linked pairs")
    assert set(report.by_group["group"]) == {"ethnicity", "sex", "fsm"}
    assert len(report.weights) and len(report.review)


def _identifiers(folder) -> set[str]:
    """Every identifying value written into the files: UPNs, child ids, names, DOBs, postcodes."""
    found: set[str] = set()
    persons = pd.read_csv(folder / "social_care" / "persons.csv", dtype=str)
    for col in ("person_id", "forename", "surname", "dob", "upn", "postcode"):
        found |= set(persons[col].dropna())
    census = next((folder / "school_census").glob("*_pupilonroll.csv"))
    c = pd.read_csv(census, dtype=str)
    found |= set(c["upn"].dropna()) | set(c["dob"].dropna().str[:11])
    found |= {f"{a} {b}" for a, b in zip(c["forename"], c["surname"], strict=True)}
    return {v for v in found if len(v) >= 6}


def test_no_identifier_reaches_the_histories_the_report_or_the_logs(trip):
    original, truth, loaded, report, folder, lookup, logs = trip
    secrets = _identifiers(folder)
    assert len(secrets) > 500
    for name, frame in loaded.all_tables().items():
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype) == "str":
                assert not set(frame[col].dropna().astype(str)) & secrets, (name, col)
    assert "dob" not in loaded.pupils and "upn" not in loaded.pupils
    assert (loaded.pupils["birth_month"].dt.day == 1).all()
    assert loaded.pupils["postcode_sector"].str.fullmatch(r"RS\d+ \d").all()
    text = "\n".join(
        [report.to_markdown(), report.to_html(), json.dumps(report.training, default=str)]
        + [f.to_csv() for f in (report.links, report.review, report.rejections, report.files)]
        + logs
    )
    leaked = [s for s in secrets if s in text]
    assert not leaked, leaked[:5]
    # the identity lookup is written separately, and only where asked
    assert lookup.is_file() and not any(folder.rglob("identity_lookup*"))
    kept = pd.read_csv(lookup, dtype=str)
    assert set(kept["pupil_id"].astype(np.int64)) == set(loaded.pupils["pupil_id"])


def test_nothing_identifying_reaches_mlflow(trip, tmp_path):
    from riskscreen import Screener
    from riskscreen.tracking import track

    original, truth, loaded, report, folder, *_ = trip
    dates = ["2020-01-15", "2020-05-15", "2020-10-15", "2021-02-01"]
    screener = Screener(model="scorecard", n_bootstrap=10).fit(loaded, dates)
    track(screener, loaded, run_name="returns", store=tmp_path / "store")
    secrets = _identifiers(folder)
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert not [s for s in secrets if s.encode() in raw], path


def test_pupil_ids_are_stable_for_a_key_and_change_with_it(trip):
    original, truth, loaded, report, folder, *_ = trip
    again, _ = read_returns(folder, key=KEY)
    assert set(again.pupils["pupil_id"]) == set(loaded.pupils["pupil_id"])
    other, _ = read_returns(folder, key="another-key-for-this-test-0000")
    assert not set(other.pupils["pupil_id"]) & set(loaded.pupils["pupil_id"])
