"""Loaders of the statutory returns on small files shaped like the public validators' examples.

The fixtures in ``fixtures/returns_examples`` were rebuilt by hand in the shapes
of the sector's example files (school census LA extracts, the CIN census XML,
the SSDA903 CSV pair and XML), including the faults those examples carry: an
assessment dated after the reference date, an unknown assessment factor, a
lunchtime exclusion, a school known only by a local code, an episode that ends
the day it starts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from riskscreen.data import LinkedHistories, ReturnsError, ReturnsReport, read_returns

pytest.importorskip(
    "splink", reason="read_returns links with Splink: pip install 'riskscreen[linkage]'"
)

EXAMPLES = Path(__file__).parent / "fixtures" / "returns_examples"
KEY = "0123456789abcdef-test-key"


@pytest.fixture(scope="module")
def loaded():
    return read_returns(EXAMPLES, key=KEY)


def test_example_shapes_load_into_valid_histories(loaded):
    histories, report = loaded
    assert isinstance(histories, LinkedHistories) and isinstance(report, ReturnsReport)
    histories.validate()
    # three census pupils kept (one without a UPN, one at an unknown school rejected)
    assert len(histories.enrolments) == 3
    assert set(histories.enrolments["school_id"]) == {100004, 100005, 100007}
    # extended ethnicity codes roll up to the main codes (ANEP -> AOTH, MBOE -> MOTH)
    assert {"AOTH", "WOTH"} <= set(histories.pupils["ethnicity"])
    # absence from the session details: authorised I + E, unauthorised G; # not counted
    att = histories.attendance.set_index("school_id")
    assert att.loc[100007, "sessions_authorised_absent"] == 6
    assert att.loc[100007, "sessions_unauthorised_absent"] == 3
    assert att.loc[100007, "sessions_possible"] == 136
    # the spring census reports the autumn term (1 August - 31 December)
    assert att.loc[100007, "period_end"] == pd.Timestamp("2024-12-31")
    x = histories.exclusions.set_index("school_id")
    assert x.loc[100005, "kind"] == "permanent" and pd.isna(x.loc[100005, "sessions"])
    assert x.loc[100007, "reason"] == "DB" and x.loc[100007, "reason_2"] == "PA"


def test_cin_and_903_become_social_care_episodes(loaded):
    histories, _ = loaded
    sc = histories.social_care
    assert set(sc["kind"]) == {"referral", "assessment", "cin_plan", "cp_plan", "looked_after"}
    assessment = sc[sc["kind"] == "assessment"].iloc[0]
    assert assessment["assessment_factors"] == "1C,6B"  # RB is not a factor code
    assert assessment["need_code"] == "N4"  # the case's need code
    cp = sc[sc["kind"] == "cp_plan"].iloc[0]
    assert cp["abuse_category"] == "PHY"
    la = sc[sc["kind"] == "looked_after"].sort_values("start_date")
    # 903 DEC is the day the episode ceased: the last day is the day before
    first = la.iloc[0]
    assert first["start_date"] == pd.Timestamp("2016-07-21")
    assert first["end_date"] == pd.Timestamp("2017-04-23")
    # section 47 enquiries have no canonical table: a custom source
    s47, source = histories.custom["section47"]
    assert len(s47) == 1 and source.date_column == "date"


def test_every_rejected_row_is_named_and_counted(loaded):
    _, report = loaded
    r = report.rejections
    expected = {
        ("school_census/2025_spring_pupilonroll.csv", "NativeId", "code"),
        ("school_census/2025_spring_pupilonroll.csv", "upn", "required"),
        ("school_census/2025_spring_termlyexclusionsonroll.csv", "category", "code"),
        ("school_census/2025_spring_termlyexclusionsonroll.csv", "reason2", "code"),
        ("school_census/2025_spring_termlyexclusionsonroll.csv", "pupilonrolltableid", "orphan"),
        ("school_census/2025_spring_termlysessiondetailsonroll.csv", "attendancereason", "code"),
        ("school_census/2025_spring_fsmperiod.csv", "fsmenddate", "date_order"),
        ("cin_census/CIN_Census_2024.xml", "AssessmentActualStartDate", "date"),
        ("cin_census/CIN_Census_2024.xml", "LAchildID", "required"),
        ("ssda903/2017_episodes.csv", "DEC", "date_order"),
        ("ssda903/2017_episodes.csv", "PLACE", "code"),
        ("registers/missing_education.csv", "start_date", "date"),
        ("registers/missing_education.csv", "kind", "code"),
    }
    got = set(zip(r["file"], r["column"], r["rule"], strict=True))
    assert expected <= got
    assert (r["n_rows"] >= 1).all()
    assert report.n_rejected == int(r.loc[r["rule"] != "ignored_value", "n_rows"].sum())
    # messages give positions, never values
    text = report.to_markdown()
    for value in ("SUR6465", "FOR9344", "M820000000010", "2014-04-25", "RS1 2AB", "SCH9"):
        assert value not in text


def test_strict_raises_naming_file_table_column_and_rows():
    with pytest.raises(ReturnsError) as info:
        read_returns(EXAMPLES, key=KEY, strict=True)
    message = str(info.value)
    assert "school_census/2025_spring_pupilonroll.csv, table pupilonroll, column upn" in message
    assert "data rows 3" in message


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "returns"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_a_missing_required_column_is_an_error_naming_it(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "school_census" / "2025_spring_pupilonroll.csv"
    frame = pd.read_csv(path, dtype=str).drop(columns="entrydate")
    frame.to_csv(path, index=False)
    with pytest.raises(ReturnsError, match=r"pupilonroll.csv, table pupilonroll, column entrydate"):
        read_returns(folder, key=KEY)


def test_broken_xml_is_an_error_naming_file_and_line(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "cin_census" / "CIN_Census_2024.xml"
    path.write_text(path.read_text()[:1500])
    with pytest.raises(ReturnsError, match=r"CIN_Census_2024.xml.*broken at line \d+"):
        read_returns(folder, key=KEY)


def _as_year(folder: Path, prefix: str) -> Path:
    census = folder / "school_census"
    for path in census.glob("2025_spring_*.csv"):
        path.rename(census / path.name.replace("2025_spring", prefix))
    return census / f"{prefix}_termlyexclusionsonroll.csv"


def test_exclusions_of_2019_20_have_one_reason_from_the_old_list(tmp_path):
    folder = _copy(tmp_path)
    x = _as_year(folder, "2020_spring")  # reports the autumn term of 2019/20
    frame = pd.read_csv(x, dtype=str).rename(columns={"reason1": "reason"})
    frame.loc[0, "reason"] = "OT"  # "other": valid until 2020/21
    frame.drop(columns=["reason2", "reason3"]).to_csv(x, index=False)
    histories, report = read_returns(folder, key=KEY)
    assert "OT" in set(histories.exclusions["reason"])
    assert histories.exclusions["reason_2"].isna().all()


def test_exclusions_of_2020_21_need_reason1(tmp_path):
    folder = _copy(tmp_path)
    x = _as_year(folder, "2021_spring")  # reports the autumn term of 2020/21
    frame = pd.read_csv(x, dtype=str).rename(columns={"reason1": "reason"})
    frame.to_csv(x, index=False)
    with pytest.raises(ReturnsError, match="column reason1"):
        read_returns(folder, key=KEY)


def test_cin_sex_code_list_changes_in_2024_25(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "cin_census" / "CIN_Census_2024.xml"
    text = path.read_text().replace("<ReferenceDate>2024-03-31", "<ReferenceDate>2025-03-31")
    (folder / "cin_census" / "CIN_Census_2025.xml").write_text(text)
    path.unlink()
    _, report = read_returns(folder, key=KEY)
    r = report.rejections
    sex = r[(r["column"] == "Sex") & (r["rule"] == "ignored_value")]
    assert len(sex) == 1 and "2024/25" in sex["expected"].iloc[0]


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="'key' parameter of read_returns .* at least 16"):
        read_returns(EXAMPLES, key="short")
    with pytest.raises(ValueError, match="'threshold'"):
        read_returns(EXAMPLES, key=KEY, threshold=1.5)
    with pytest.raises(FileNotFoundError):
        read_returns(EXAMPLES / "nowhere", key=KEY)


def test_report_renders_every_way_with_small_counts_suppressed(loaded):
    _, report = loaded
    frame = report.to_frame()
    assert list(frame.columns) == ["section", "item", "count"]
    assert (frame["count"] == "c").any()  # counts under 5 are not shown
    md, page = report.to_markdown(), report.to_html()
    assert "### Linkage to the school census, by source" in md
    assert page.startswith("<div>") and "<table" in page
    assert report._repr_html_() == page
    assert "ReturnsReport(" in repr(report)
