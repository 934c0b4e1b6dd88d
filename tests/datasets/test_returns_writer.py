"""write_returns: the synthetic authority in the shapes of its statutory returns."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from riskscreen.data._returns_spec import valid_upn
from riskscreen.datasets import ReturnsTruth, make_linked_histories, write_returns


@pytest.fixture(scope="module")
def small():
    return make_linked_histories(n_pupils=600, n_years=2, start_year=2019, seed=4)


@pytest.fixture(scope="module")
def written(small, tmp_path_factory):
    folder = tmp_path_factory.mktemp("returns")
    return folder, write_returns(small, folder, seed=3)


def _digest(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_layout_follows_the_statutory_shapes(written):
    folder, truth = written
    assert isinstance(truth, ReturnsTruth)
    census = sorted(p.name for p in (folder / "school_census").glob("*_pupilonroll.csv"))
    # autumn, spring, summer of 2019/20 and 2020/21, then the autumn reporting the last summer
    assert census == [
        "2019_autumn_pupilonroll.csv",
        "2020_autumn_pupilonroll.csv",
        "2020_spring_pupilonroll.csv",
        "2020_summer_pupilonroll.csv",
        "2021_autumn_pupilonroll.csv",
        "2021_spring_pupilonroll.csv",
        "2021_summer_pupilonroll.csv",
    ]
    roll = pd.read_csv(folder / "school_census" / "2020_spring_pupilonroll.csv", dtype=str)
    assert {"pupilonrolltableid", "NativeId", "upn", "dob", "entrydate", "senprovision"} <= set(
        roll
    )
    assert roll["entrydate"].str.fullmatch(r"\d{4}-[A-Z][a-z]{2}-\d\d 00:00:00").all()
    assert roll["upn"].map(valid_upn).all()
    # 2019/20 exclusions carry one reason; from 2020/21 up to three
    old = pd.read_csv(folder / "school_census" / "2020_spring_termlyexclusionsonroll.csv")
    new = pd.read_csv(folder / "school_census" / "2021_spring_termlyexclusionsonroll.csv")
    assert "reason" in old and "reason1" not in old
    assert {"reason1", "reason2", "reason3"} <= set(new)
    for name in ("persons.csv",):
        assert (folder / "social_care" / name).is_file()
    for name in (
        "missing_education",
        "roll_deletions",
        "ap_placements",
        "early_help",
        "interventions",
    ):
        assert (folder / "registers" / f"{name}.csv").is_file()
    assert list((folder / "ssda903").glob("*_episodes.csv"))
    episodes = pd.read_csv(next((folder / "ssda903").glob("*_episodes.csv")), dtype=str)
    assert {"CHILD", "DECOM", "PLACE", "DEC", "REC"} <= set(episodes)


def test_cin_xml_uses_the_sex_element_of_its_year(small, tmp_path):
    h = make_linked_histories(n_pupils=600, n_years=1, start_year=2024, seed=2)
    write_returns(h, tmp_path, seed=1)
    tags = {}
    for path in (tmp_path / "cin_census").glob("*.xml"):
        root = ET.parse(path).getroot()
        year = int(root.find("Header/CollectionDetails/Year").text)
        ids = root.find("Children/Child/ChildIdentifiers")
        tags[year] = {c.tag for c in ids}
    assert "Sex" in tags[2025] and "GenderCurrent" not in tags[2025]
    assert "GenderCurrent" in tags[2024]


def test_same_seed_same_files_other_seed_other_identities(small, written, tmp_path):
    folder, _ = written
    write_returns(small, tmp_path / "again", seed=3)
    assert _digest(folder) == _digest(tmp_path / "again")
    write_returns(small, tmp_path / "other", seed=4)
    a = pd.read_csv(folder / "social_care" / "persons.csv")
    b = pd.read_csv(tmp_path / "other" / "social_care" / "persons.csv")
    assert not a["forename"].equals(b["forename"])


def test_truth_names_the_child_of_every_identity_row_and_its_noise(written):
    folder, truth = written
    r = truth.records
    assert set(r["source"]) == {
        "school_census",
        "cin_census",
        "ssda903",
        "social_care",
        "registers",
    }
    assert r.duplicated(["file", "row"]).sum() == 0
    persons = pd.read_csv(folder / "social_care" / "persons.csv", dtype=str)
    p = r[r["file"] == "social_care/persons.csv"].sort_values("row")
    assert len(p) == len(persons)
    # missing UPNs in the file are flagged in the truth, with a UPNunknown code
    missing = persons["upn"].isna().to_numpy()
    assert (p["upn_missing"].to_numpy() == missing).all()
    assert persons.loc[missing, "upn_unknown"].str.fullmatch(r"UN\d").all()
    # mistyped UPNs fail their check letter
    typo = p["upn_mistyped"].to_numpy()
    assert not persons.loc[typo, "upn"].map(valid_upn).any()
    assert truth.n_decoys > 0 and p["pupil_id"].isna().sum() == truth.n_decoys
    assert {
        "fsm: periods of pupils on no census roll at the time",
        "exclusions: reason recoded",
    } <= set(truth.lost)


def test_noise_rates_are_roughly_those_asked_for(small, tmp_path):
    truth = write_returns(small, tmp_path, seed=5, noise={"forename_typo": 0.5, "upn_missing": 0.0})
    sc = truth.records[truth.records["file"] == "social_care/persons.csv"]
    assert 0.35 < sc["forename_typo"].mean() < 0.65
    assert not sc["upn_missing"].any()


def test_parameters_are_checked(small, tmp_path):
    with pytest.raises(ValueError, match="'ssda903_format'"):
        write_returns(small, tmp_path, ssda903_format="json")
    with pytest.raises(ValueError, match="'decoys'"):
        write_returns(small, tmp_path, decoys=2)


def test_ssda903_can_be_written_as_xml(small, tmp_path):
    write_returns(small, tmp_path, seed=1, ssda903_format="xml")
    files = list((tmp_path / "ssda903").glob("*.xml"))
    assert files
    root = ET.parse(files[0]).getroot()
    assert root.tag == "EXPSSDA903"
    assert root.find("CHILD/HEADER/CHILDID") is not None
    assert root.find("CHILD/EPISODE/PL") is not None


def test_generator_has_special_schools_managed_moves_and_previously_looked_after():
    h = make_linked_histories(n_pupils=6_000, n_years=3, seed=2)
    phases = set(h.schools["phase"])
    assert {"primary", "secondary", "ap", "special"} <= phases
    special = h.schools.loc[h.schools["phase"] == "special", "school_id"]
    on = h.enrolments[h.enrolments["school_id"].isin(special)]
    assert on["pupil_id"].nunique() > 20
    sen = h.sen[h.sen["pupil_id"].isin(on["pupil_id"])]
    assert (sen["provision"] == "E").mean() > 0.9  # a place comes with an EHC plan
    mm = h.interventions[h.interventions["kind"] == "managed_move"]
    assert len(mm) > 0
    moved = h.enrolments.merge(mm[["pupil_id", "start_date"]], on="pupil_id")
    assert (moved["leaving_reason"] == "transfer").any()
    la = h.social_care[
        (h.social_care["kind"] == "looked_after")
        & (h.social_care["placement_type"] == "A4")
        & (h.social_care["end_date"] < pd.Timestamp("2019-09-02"))
    ]
    assert la["pupil_id"].nunique() > 10  # adopted before the window
    assert np.isfinite(h.pupils["birth_month"].astype("int64")).all()
