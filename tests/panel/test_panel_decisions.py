"""Round trip: a pack written, decisions filled in Excel, read back; edits refused."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import openpyxl
import pandas as pd
import pytest
from _panel_cases import DATES, screened, synthetic

from riskscreen.panel import Decisions, read_decisions, write_packs


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A folder of Excel packs of the later screening (written once, copied per test)."""
    _, screenings, explanations = screened()
    folder = tmp_path_factory.mktemp("packs")
    write_packs(screenings[DATES[1]], explanations[DATES[1]], folder, formats=("xlsx",))
    return folder


@pytest.fixture()
def packs(written, tmp_path):
    folder = tmp_path / "packs"
    shutil.copytree(written, folder)
    return folder


def _largest(folder):
    """The school pack with the most rows, its sheet and its header row."""
    paths = sorted(folder.glob("panel_*_school_*.xlsx"))
    sizes = [openpyxl.load_workbook(p)["Panel list"].max_row for p in paths]
    return paths[sizes.index(max(sizes))]


def _open(path):
    wb = openpyxl.load_workbook(path)
    ws = wb["Panel list"]
    header = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "Rank")
    col = {ws.cell(row=header, column=j).value: j for j in range(1, ws.max_column + 1)}
    return wb, ws, header, col


def _school(path) -> int:
    return int(path.stem.split("_school_")[1])


def test_decisions_filled_in_excel_are_read_back(packs):
    path = _largest(packs)
    wb, ws, header, col = _open(path)
    first, second, third = header + 1, header + 2, header + 3
    refs = [ws.cell(row=r, column=col["Reference"]).value for r in (first, second, third)]
    ws.cell(row=first, column=col["Decision"], value="Offer support")
    ws.cell(row=first, column=col["Action"], value="Mentoring")
    ws.cell(row=first, column=col["Lead professional"], value="Head of year 9")
    ws.cell(row=first, column=col["Review date"], value=dt.datetime(2023, 9, 1))
    ws.cell(row=second, column=col["Decision"], value=" monitor ")  # case and spaces forgiven
    ws.cell(row=second, column=col["Review date"], value="15/09/2023")
    ws.cell(row=third, column=col["Decision"], value="Offer support")
    wb.save(path)

    decisions = read_decisions(packs, meeting_date="2023-06-20")
    assert isinstance(decisions, Decisions)
    table = decisions.table
    written = sum(
        openpyxl.load_workbook(p)["riskscreen"].max_row - 1
        for p in packs.glob("panel_*_school_*.xlsx")
    )
    assert len(table) == written  # every listed pupil, decided or not
    mine = table[table["school_id"] == _school(path)].set_index("pupil_id")
    assert mine.loc[refs[0], "decision"] == "Offer support"
    assert mine.loc[refs[0], "action"] == "Mentoring"
    assert mine.loc[refs[0], "lead_professional"] == "Head of year 9"
    assert mine.loc[refs[0], "review_date"] == pd.Timestamp("2023-09-01")
    assert mine.loc[refs[1], "decision"] == "Monitor"
    assert mine.loc[refs[1], "review_date"] == pd.Timestamp("2023-09-15")
    assert mine["list_rank"].loc[refs].tolist() == [1, 2, 3]
    assert table["decision"].notna().sum() == 3
    assert (table["as_of_date"] == pd.Timestamp(DATES[1])).all()
    interventions = decisions.interventions
    assert interventions.to_dict("list") == {
        "pupil_id": [refs[0], refs[2]],
        "kind": ["mentoring", "support_offered"],
        "start_date": [pd.Timestamp("2023-06-20")] * 2,
        "end_date": [pd.NaT] * 2,
    }
    # rows ready to append to the canonical interventions table
    canonical = synthetic().interventions
    assert list(interventions.columns) == list(canonical.columns)
    assert (interventions.dtypes == canonical.dtypes).all()
    summary = decisions.summary()
    assert summary.loc["Offer support", "pupils"] == "c"  # 2 pupils: suppressed
    assert "Decisions read from" in decisions.to_markdown()


def test_an_edited_row_is_refused_naming_school_row_and_column(packs):
    path = _largest(packs)
    wb, ws, header, col = _open(path)
    row = header + 2
    cell = ws.cell(row=row, column=col["Risk band"])
    cell.value = "low" if cell.value != "low" else "high"
    ws.cell(row=header + 1, column=col["Decision"], value="Monitor")  # allowed
    wb.save(path)
    with pytest.raises(ValueError) as info:
        read_decisions(path)
    message = str(info.value)
    assert f"School {_school(path)} ({path.name}): row {row}, column 'Risk band' was changed" in (
        message
    )
    assert message.count("was changed") == 1


def test_reordered_deleted_and_added_rows_are_refused(packs):
    path = _largest(packs)
    wb, ws, header, col = _open(path)
    a, b = header + 1, header + 2
    for j in range(1, ws.max_column + 1):
        x, y = ws.cell(row=a, column=j), ws.cell(row=b, column=j)
        x.value, y.value = y.value, x.value
    wb.save(path)
    with pytest.raises(ValueError, match=rf"row {a}, column 'Reference': the rows were reordered"):
        read_decisions(path)

    wb, ws, header, col = _open(path)
    ws.delete_rows(header + 1)
    wb.save(path)
    with pytest.raises(ValueError, match="is not the one written there"):
        read_decisions(path)

    other = sorted(packs.glob("panel_*_school_*.xlsx"))[0]
    wb, ws, header, col = _open(other)
    ws.cell(row=ws.max_row + 2, column=col["Reference"], value=123)
    wb.save(other)
    with pytest.raises(ValueError, match=r"row \d+ was added below the list"):
        read_decisions(other)


def test_bad_decisions_and_dates_are_refused(packs):
    path = _largest(packs)
    wb, ws, header, col = _open(path)
    ws.cell(row=header + 1, column=col["Decision"], value="Maybe later")
    ws.cell(row=header + 2, column=col["Review date"], value="next week")
    wb.save(path)
    with pytest.raises(ValueError) as info:
        read_decisions(packs)
    message = str(info.value)
    assert f"row {header + 1}, column 'Decision' is not one of the listed decisions" in message
    assert f"row {header + 2}, column 'Review date' is not a date" in message
    assert "Maybe later" not in message and "next week" not in message


def test_mismatched_packs_and_other_files_are_refused(packs, tmp_path):
    _, screenings, explanations = screened()
    write_packs(screenings[DATES[0]], explanations[DATES[0]], packs, formats=("xlsx",))
    with pytest.raises(ValueError, match="different screenings"):
        read_decisions(packs)
    stray = tmp_path / "panel_2023-06-01_school_1.xlsx"
    openpyxl.Workbook().save(stray)
    with pytest.raises(ValueError, match="not a riskscreen panel pack"):
        read_decisions(stray)
    path = _largest(packs)
    wb, ws, header, col = _open(path)
    ws.cell(row=header, column=col["Risk band"], value="Band")
    wb.save(path)
    with pytest.raises(ValueError, match="the heading 'Risk band' was changed"):
        read_decisions(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no panel packs"):
        read_decisions(tmp_path / "empty")


def test_the_excel_pack_is_frozen_printable_protected_with_drop_downs(written):
    path = _largest(written)
    wb, ws, header, col = _open(path)
    assert ws.freeze_panes == f"C{header + 1}"
    assert ws.print_title_rows == f"${header}:${header}"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.protection.sheet
    lists = {
        re.match(r"[A-Z]+", str(dv.sqref)).group(): dv for dv in ws.data_validations.dataValidation
    }
    decision = lists[ws.cell(row=header, column=col["Decision"]).column_letter]
    assert decision.type == "list" and "Offer support" in decision.formula1
    assert lists[ws.cell(row=header, column=col["Review date"]).column_letter].type == "date"
    first = header + 1
    assert not ws.cell(row=first, column=col["Decision"]).protection.locked
    assert ws.cell(row=first, column=col["Risk band"]).protection.locked
    assert wb["riskscreen"].sheet_state == "veryHidden"
    assert "Left the list" in wb.sheetnames
