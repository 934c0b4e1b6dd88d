"""Names and UPNs appear only in school packs, and only when an identity lookup is passed."""

from __future__ import annotations

import logging
import re
import zipfile

import pandas as pd
import pytest
from _panel_cases import DATES, screened, synthetic

from riskscreen.data import LinkedHistories
from riskscreen.panel import read_decisions, write_packs

MARK = "Zqxplanted"


def _planted():
    """The synthetic histories with names and UPNs planted in the pupils table."""
    frames = synthetic().copy().tables()
    pupils = frames["pupils"]
    pupils["name"] = [f"{MARK} Child {i}" for i in range(len(pupils))]
    pupils["upn"] = [f"Q{900000000000 + i}" for i in range(len(pupils))]
    lookup = pupils.set_index("pupil_id")[["name", "upn"]]
    lookup.columns = ["Name", "UPN"]
    return LinkedHistories(**frames), lookup


def _texts(paths) -> dict[str, str]:
    out = {}
    for p in paths:
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                out[p.name] = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            out[p.name] = p.read_text(encoding="utf-8-sig")
    return out


@pytest.fixture(scope="module")
def planted():
    return _planted()


def test_planted_identifiers_are_absent_without_a_lookup(tmp_path, planted, caplog):
    histories, lookup = planted
    _, screenings, explanations = screened()
    caplog.set_level(logging.DEBUG)
    paths = write_packs(screenings[DATES[1]], explanations[DATES[1]], tmp_path, histories=histories)
    upn = re.compile(r"Q9\d{11}")
    for name, text in _texts(paths).items():
        assert MARK not in text, name
        assert not upn.search(text), name
    assert MARK not in caplog.text and not upn.search(caplog.text)


def test_a_lookup_prints_names_in_school_packs_only(tmp_path, planted):
    _, lookup = planted
    _, screenings, explanations = screened()
    paths = write_packs(screenings[DATES[1]], explanations[DATES[1]], tmp_path, identities=lookup)
    for name, text in _texts(paths).items():
        assert (MARK in text) == ("_school_" in name), name
    listed = pd.read_csv(next(p for p in paths if p.name.endswith("_list.csv")))
    assert "Name" not in listed.columns and "UPN" not in listed.columns
    csv = pd.read_csv(next(p for p in paths if p.suffix == ".csv" and "_school_" in p.name))
    assert list(csv.columns[:4]) == ["Rank", "Reference", "Name", "UPN"]
    assert csv["Name"].str.startswith(MARK).all()
    # the names are printed, not kept: the check sheet holds short hashes of other cells only
    workbook = next(p for p in paths if p.suffix == ".xlsx" and "_school_" in p.name)
    with zipfile.ZipFile(workbook) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        hidden = z.read(sheets[-1]).decode()
    assert MARK not in hidden
    # decisions read back carry the pseudonymous reference only
    decisions = read_decisions(tmp_path)
    assert MARK not in decisions.table.to_csv()


def test_the_lookup_is_checked_without_echoing_it(tmp_path, planted):
    _, lookup = planted
    _, screenings, explanations = screened()
    s, e = screenings[DATES[1]], explanations[DATES[1]]
    twice = pd.concat([lookup, lookup.head(1)])
    with pytest.raises(ValueError, match="repeated pupil ids") as info:
        write_packs(s, e, tmp_path, identities=twice)
    assert MARK not in str(info.value)
    with pytest.raises(ValueError, match="clash"):
        write_packs(s, e, tmp_path, identities=lookup.rename(columns={"Name": "Risk band"}))
    with pytest.raises(ValueError, match="indexed by pupil_id"):
        write_packs(s, e, tmp_path, identities=["a"])
