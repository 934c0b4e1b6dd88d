"""Excel panel packs: written formatted and protected, read back checked cell by cell.

A pack is one workbook per school: the list (frozen header, printable landscape
on A4, one page wide, header repeated on every page), a "Left the list" sheet,
and a very hidden "riskscreen" sheet holding the pack's layout and a short keyed
hash of every cell the panel must not change. The list is protected (no
password: it guards against slips, not people) with only the decision columns
unlocked, and those have drop-downs. Reading back re-computes the hashes, so an
edited, reordered, added or deleted row is refused with the school, the row and
the column named -- never the cell's content, which may identify a pupil.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd

from riskscreen.panel._packs import ACTIONS, DECISION_COLUMNS, DECISIONS

LIST_SHEET, LEFT_SHEET, META_SHEET = "Panel list", "Left the list", "riskscreen"
FORMAT = "riskscreen panel pack 1"
_WIDTHS = {"Rank": 6, "Reference": 12, "NC year": 8, "Risk band": 10, "Since last panel": 16}
_WIDTHS.update({"Current involvement": 28, "Decision": 22, "Action": 26, "Review date": 12})
_WIDTHS.update({"Lead professional": 20, "Was ranked": 11, "Why": 18})


def openpyxl_module():
    try:
        import openpyxl
    except ImportError as exc:
        raise ImportError(
            "Excel panel packs need openpyxl, a dependency of riskscreen that is "
            "missing here: pip install openpyxl, or write formats=('html', 'csv')."
        ) from exc
    return openpyxl


def _norm(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def cell_hash(pack_id: str, column: str, value) -> str:
    text = f"{pack_id}\x1f{column}\x1f{_norm(value)}"
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _python(value):
    """A cell value openpyxl can write (numpy scalars and missing values converted)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _table(ws, frame: pd.DataFrame, top: int, *, styles) -> None:
    bold, fill, wrap, border = styles
    for j, name in enumerate(frame.columns, 1):
        cell = ws.cell(row=top, column=j, value=str(name))
        cell.font, cell.fill, cell.alignment, cell.border = bold, fill, wrap, border
        width = _WIDTHS.get(str(name), 38 if str(name).startswith("Reason") else 18)
        ws.column_dimensions[cell.column_letter].width = width
    for i, row in enumerate(frame.itertuples(index=False), top + 1):
        for j, value in enumerate(row, 1):
            cell = ws.cell(row=i, column=j, value=_python(value))
            cell.alignment, cell.border = wrap, border


def _title(ws, lines: list[str], ncol: int, bold) -> int:
    from openpyxl.styles import Alignment

    for i, line in enumerate(lines, 1):
        cell = ws.cell(row=i, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if i == 1:
            cell.font = bold
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=max(ncol, 1))
        ws.row_dimensions[i].height = 15 if i == 1 else 30
    return len(lines) + 2


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    return (
        Font(bold=True),
        PatternFill("solid", fgColor="DDE6F0"),
        Alignment(wrap_text=True, vertical="top"),
        Border(left=thin, right=thin, top=thin, bottom=thin),
    )


def _printable(ws, header: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header}:{header}"
    ws.print_options.gridLines = True


def write_pack_xlsx(path, pack, left, lines, *, meta: dict, identity_columns=()) -> None:
    """Write one school's pack to ``path`` (a temporary path: the caller renames it)."""
    openpyxl = openpyxl_module()
    from openpyxl.styles import Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    styles = _styles()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = LIST_SHEET
    header = _title(ws, lines, len(pack.columns), styles[0])
    _table(ws, pack, header, styles=styles)
    first, last = header + 1, header + max(len(pack), 1)
    letters = {
        name: ws.cell(row=header, column=j).column_letter for j, name in enumerate(pack.columns, 1)
    }
    for name in DECISION_COLUMNS:
        for r in range(first, header + len(pack) + 1):
            ws[f"{letters[name]}{r}"].protection = Protection(locked=False)
            if name == "Review date":
                ws[f"{letters[name]}{r}"].number_format = "DD/MM/YYYY"
    decision = DataValidation(
        type="list", formula1='"' + ",".join(DECISIONS) + '"', allow_blank=True
    )
    decision.error, decision.errorTitle = "Choose a decision from the list.", "Decision"
    action = DataValidation(type="list", formula1='"' + ",".join(ACTIONS) + '"', allow_blank=True)
    action.errorStyle, action.error = "warning", "Not a listed action: keep it anyway?"
    review = DataValidation(
        type="date", operator="greaterThan", formula1="DATE(2000,1,1)", allow_blank=True
    )
    review.error = "Enter a date, e.g. 01/09/2025."
    for dv, name in ((decision, "Decision"), (action, "Action"), (review, "Review date")):
        dv.showErrorMessage = True
        ws.add_data_validation(dv)
        dv.add(f"{letters[name]}{first}:{letters[name]}{last}")
    ws.freeze_panes = ws.cell(row=first, column=3)
    _printable(ws, header)
    ws.protection.sheet = True
    ws.protection.formatColumns = ws.protection.formatRows = False

    gone = wb.create_sheet(LEFT_SHEET)
    top = _title(
        gone, ["Pupils who left the list since the previous panel, and why."], 3, styles[0]
    )
    _table(gone, left, top, styles=styles)
    _printable(gone, top)
    gone.protection.sheet = True

    checked = [c for c in pack.columns if c not in DECISION_COLUMNS and c not in identity_columns]
    info = wb.create_sheet(META_SHEET)
    info.sheet_state = "veryHidden"
    layout = {
        **meta,
        "format": FORMAT,
        "header_row": header,
        "n_rows": len(pack),
        "columns": [str(c) for c in pack.columns],
        "checked": checked,
    }
    info.cell(row=1, column=1, value=json.dumps(layout))
    pack_id = meta["pack_id"]
    for i, row in enumerate(pack[checked].itertuples(index=False), 2):
        for j, (name, value) in enumerate(zip(checked, row, strict=True), 1):
            info.cell(row=i, column=j, value=cell_hash(pack_id, name, _python(value)))
    wb.save(path)


def read_pack_xlsx(path: Path) -> tuple[dict, pd.DataFrame, list[str]]:
    """The pack's layout, its rows (decision columns as filled in) and any problems."""
    openpyxl = openpyxl_module()
    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # zip or XML errors: not a workbook
        return (
            {},
            pd.DataFrame(),
            [f"{path.name}: not a readable Excel workbook ({type(exc).__name__})."],
        )
    if META_SHEET not in wb.sheetnames or LIST_SHEET not in wb.sheetnames:
        return (
            {},
            pd.DataFrame(),
            [f"{path.name}: not a riskscreen panel pack (its check sheet is missing)."],
        )
    info = wb[META_SHEET]
    try:
        meta = json.loads(info.cell(row=1, column=1).value)
        assert meta.get("format") == FORMAT
    except Exception:
        return (
            {},
            pd.DataFrame(),
            [f"{path.name}: the pack's check sheet was changed; it cannot be read."],
        )
    where = f"School {meta['school_id']} ({path.name})"
    ws = wb[LIST_SHEET]
    header, n, columns = meta["header_row"], meta["n_rows"], meta["columns"]
    problems = []
    seen = [ws.cell(row=header, column=j).value for j in range(1, len(columns) + 1)]
    for j, (got, want) in enumerate(zip(seen, columns, strict=True), 1):
        if got != want:
            letter = ws.cell(row=header, column=j).column_letter
            problems.append(
                f"{where}: row {header}, column {letter}: the heading '{want}' was changed."
            )
    if problems:
        return meta, pd.DataFrame(), problems
    cells = [
        [ws.cell(row=header + 1 + i, column=j).value for j in range(1, len(columns) + 1)]
        for i in range(n)
    ]
    rows = pd.DataFrame(cells, columns=columns, dtype=object)
    rows["excel_row"] = range(header + 1, header + 1 + n)
    for r in range(header + 1 + n, ws.max_row + 1):
        if any(
            ws.cell(row=r, column=j).value not in (None, "") for j in range(1, len(columns) + 1)
        ):
            problems.append(
                f"{where}: row {r} was added below the list; only the listed rows can be read."
            )
    stored = [
        [info.cell(row=2 + i, column=j).value for j in range(1, len(meta["checked"]) + 1)]
        for i in range(n)
    ]
    problems += _check_cells(rows, stored, meta, where)
    return meta, rows, problems


def _check_cells(rows: pd.DataFrame, stored, meta: dict, where: str) -> list[str]:
    pack_id, checked = meta["pack_id"], meta["checked"]
    ref = checked.index("Reference")
    want = [s[ref] for s in stored]
    got = [cell_hash(pack_id, "Reference", v) for v in rows["Reference"]]
    if got != want:
        first = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
        row = int(rows["excel_row"].iloc[first])
        if sorted(got) == sorted(want):
            return [
                f"{where}: row {row}, column 'Reference': the rows were reordered from this row "
                "on; sort the list by 'Rank' to put it back as written."
            ]
        return [
            f"{where}: row {row}, column 'Reference': this row is not the one written there "
            "(a row was deleted, inserted or replaced)."
        ]
    problems = []
    for i, row in enumerate(rows[checked].itertuples(index=False)):
        for name, value, expected in zip(checked, row, stored[i], strict=True):
            if cell_hash(pack_id, name, value) != expected:
                problems.append(
                    f"{where}: row {int(rows['excel_row'].iloc[i])}, column '{name}' was "
                    f"changed after the pack was written; only {', '.join(DECISION_COLUMNS)} "
                    "may be filled in."
                )
    return problems
