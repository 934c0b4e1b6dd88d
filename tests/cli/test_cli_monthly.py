"""The monthly panel run end to end, from the example config, with no notebook.

synth -> fit --config (the session fixture) -> run --as-of D1 -> run --as-of D2 (compares
with D1, packs say what changed) -> decisions read back from the filled-in packs.
"""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
from _cli_cases import D1, D2, NO_KEY, invoke, one_error_line

from riskscreen.interventions import SnapshotStore


def _pack_csvs(folder):
    return pd.concat(
        pd.read_csv(p, encoding="utf-8-sig") for p in sorted(folder.glob("panel_*_school_*.csv"))
    )


def _decide(pack) -> None:
    """The panel offers attendance support to the first pupil of one school's pack."""
    wb = openpyxl.load_workbook(pack)
    ws = wb["Panel list"]
    header = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "Rank")
    col = {ws.cell(row=header, column=j).value: j for j in range(1, ws.max_column + 1)}
    ws.cell(row=header + 1, column=col["Decision"], value="Offer support")
    ws.cell(row=header + 1, column=col["Action"], value="Mentoring")
    ws.cell(row=header + 2, column=col["Decision"], value="Monitor")
    wb.save(pack)


def test_monthly_cycle_from_the_example_config(fitted):
    out, outputs = fitted.output, list(fitted.outputs)
    assert (out / "model.json").is_file() and (fitted.base / "mlruns" / "mlflow.db").is_file()

    # month 1: the first list
    first = invoke("run", "--config", fitted.config, "--as-of", D1)
    outputs.append(first.output)
    assert first.exit_code == 0, first.output
    assert f"Panel packs: {out / 'packs' / D1}" in first.stdout
    for step in ("Loaded model", "Scored", "Explained", "Wrote panel packs", "Saved the list"):
        assert step in first.output, step
    assert "these packs are the first list" in first.output
    assert set(_pack_csvs(out / "packs" / D1)["Since last panel"]) == {"first list"}
    log = (out / "logs" / f"run_{D1}.log").read_text()
    assert "Saved the list as snapshot" in log and f"Monthly run for {D1} done" in log

    # month 2: compared with month 1; the packs say what changed
    second = invoke("run", "--config", fitted.config, "--as-of", D2)
    outputs.append(second.output)
    assert second.exit_code == 0, second.output
    assert f"Lists of {D1} and {D2}: Jaccard" in second.stdout
    assert (out / "comparisons" / f"{D1}_to_{D2}.md").is_file()
    changes = _pack_csvs(out / "packs" / D2)["Since last panel"]
    assert "first list" not in set(changes)
    assert changes.str.fullmatch(r"new to the list|same place|(up|down) from \d+").all()
    summary = pd.read_csv(out / "packs" / D2 / f"panel_{D2}_summary.csv", encoding="utf-8-sig")
    total = summary.set_index("School").loc["All schools"]
    moves = pd.read_csv(out / "comparisons" / f"{D1}_to_{D2}_moves.csv")
    entered = int((moves["list"] == "entered").sum())
    assert total["New to the list"] in (str(entered), "c")
    stored = SnapshotStore(out / "snapshots").list()
    assert sorted(stored["as_of_date"].dt.date.astype(str)) == [D1, D2]

    # a month is run once: running it again is refused and changes nothing
    again = invoke("run", "--config", fitted.config, "--as-of", D1)
    assert "never replaced" in one_error_line(again)
    assert len(SnapshotStore(out / "snapshots")) == 2
    assert "never replaced" in (out / "logs" / f"run_{D1}.log").read_text()

    # after the panel met: its decisions read back from the filled-in Excel packs
    pack = max(
        (out / "packs" / D2).glob("panel_*_school_*.xlsx"),
        key=lambda p: openpyxl.load_workbook(p)["Panel list"].max_row,
    )
    _decide(pack)
    read = invoke("decisions", out / "packs" / D2)
    outputs.append(read.output)
    assert read.exit_code == 0, read.output
    decisions = pd.read_csv(out / "packs" / D2 / "decisions.csv")
    assert decisions["decision"].value_counts().to_dict() == {"Offer support": 1, "Monitor": 1}
    assert len(decisions) == int(total["On the list"])
    rows = pd.read_csv(out / "packs" / D2 / "decisions_interventions.csv")
    assert rows[["kind", "start_date"]].values.tolist() == [["mentoring", D2]]

    # no pupil's key in anything a person reads on the terminal or in the logs
    logs = [p.read_text() for p in (out / "logs").glob("*.log")]
    text = "\n".join(outputs + logs)
    pupils = SnapshotStore(out / "snapshots").load(D2).frame.index.get_level_values("pupil_id")
    leaked = [p for p in pupils if re.search(rf"\b{p}\b", text)]
    assert not leaked, f"{len(leaked)} pupil ids in the output or logs"


def test_run_says_what_to_do_without_the_signing_key(fitted, tmp_path):
    result = invoke("run", "--config", fitted.config, "--as-of", D1, "--out", tmp_path, key=NO_KEY)
    line = one_error_line(result)
    assert "RISKSCREEN_SIGNING_KEY is not set" in line and "signing key" in line
    assert not (tmp_path / "snapshots").exists()
    assert "RISKSCREEN_SIGNING_KEY is not set" in (tmp_path / "logs" / f"run_{D1}.log").read_text()


def test_run_refuses_a_bad_date_and_needs_a_config(fitted, tmp_path):
    line = one_error_line(invoke("run", "--config", fitted.config, "--as-of", "1/2/2024"))
    assert "--as-of must be a date written YYYY-MM-DD" in line
    missing = invoke("run", "--as-of", D1)
    assert missing.exit_code == 2 and "--config" in missing.output
    assert "not found" in one_error_line(
        invoke("run", "--config", tmp_path / "x.toml", "--as-of", D1)
    )
