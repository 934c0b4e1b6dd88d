"""A folder of CSV files: every problem names its file and line, nothing is ignored."""

from __future__ import annotations

import pandas as pd
import pytest

from riskscreen.data import DataValidationError, LinkedHistories

PUPILS = (
    "pupil_id,birth_month,sex,ethnicity,first_language,idaci_decile\n1,2010-03-01,F,WBRI,ENG,3\n"
)
FSM = "pupil_id,start_date,end_date\n1,06/09/2021,\n"


def write(folder, **files):
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def error(folder, **kwargs) -> str:
    with pytest.raises(DataValidationError) as info:
        LinkedHistories.read_csv(folder, **kwargs)
    return str(info.value)


def test_a_clean_folder_reads(tmp_path):
    h = LinkedHistories.read_csv(write(tmp_path / "la", **{"pupils.csv": PUPILS, "fsm.csv": FSM}))
    assert h.fsm["start_date"].tolist() == [pd.Timestamp("2021-09-06")]


def test_misnamed_files_are_errors_with_a_hint_never_ignored(tmp_path):
    folder = write(
        tmp_path / "la",
        **{
            "pupils.csv": PUPILS,
            "Exclusions.csv": "x\n",
            "exclusion.csv": "x\n",
            "notes.txt": "hi",
        },
    )
    text = error(folder)
    assert "Exclusions.csv" in text and "exclusion.csv" in text
    assert "did you mean exclusions.csv?" in text
    assert "notes.txt" not in text  # only CSV files are tables


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "pupils.csv: a header line naming the columns; got an empty file"),
        (PUPILS.encode() + b"2,2011-01-01,M,WBRI,ENG,4,extra\n", "same number of fields"),
        (PUPILS.replace("ENG", "EN\xc9").encode("latin-1"), "on line 2; pass encoding='cp1252'"),
    ],
    ids=["empty", "ragged", "latin-1"],
)
def test_unreadable_files_name_file_and_line(tmp_path, content, expected):
    text = error(write(tmp_path / "la", **{"pupils.csv": content}))
    assert expected in text and "pupils" in text


def test_semicolons_latin1_and_zoned_dates_can_be_read(tmp_path):
    pupils = PUPILS.replace(",", ";").replace("ENG", "EN\xc9")
    fsm = "pupil_id;start_date;end_date\n1;2021-09-05T23:30:00Z;2021-12-31T23:59:00+01:00\n"
    folder = write(
        tmp_path / "la", **{"pupils.csv": pupils.encode("cp1252"), "fsm.csv": fsm.encode("cp1252")}
    )
    h = LinkedHistories.read_csv(folder, encoding="cp1252")
    assert h.pupils["first_language"].tolist() == ["EN\xc9"]
    # 23:30 UTC on 5 Sep is 00:30 on 6 Sep in England (summer time)
    assert h.fsm["start_date"].tolist() == [pd.Timestamp("2021-09-06")]
    assert h.fsm["end_date"].tolist() == [pd.Timestamp("2021-12-31")]


def test_zoned_dates_in_frames_become_local_dates():
    pupils = pd.read_csv(pd.io.common.StringIO(PUPILS), dtype=str)
    fsm = pd.DataFrame(
        {
            "pupil_id": [1],
            "start_date": pd.to_datetime(["2023-06-30T23:30:00Z"]),
            "end_date": [pd.NaT],
        }
    )
    h = LinkedHistories.from_frames({"pupils": pupils, "fsm": fsm})
    assert h.fsm["start_date"].tolist() == [pd.Timestamp("2023-07-01")]
