"""One test per command of the monthly run: what it writes, and a bad input it refuses."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from _cli_cases import D1, D2, KNOWN, NO_KEY, invoke, one_error_line, with_line

from riskscreen.interventions import SnapshotStore


@pytest.fixture(scope="module")
def listed(fitted, tmp_path_factory):
    """An output folder with the lists of D1 and D2 (score) and the packs of D1 (panel)."""
    out = tmp_path_factory.mktemp("listed")
    common = ["--config", fitted.config, "--model", fitted.model_uri, "--out", out]
    for date in (D1, D2):
        result = invoke("score", "--as-of", date, *common)
        assert result.exit_code == 0, result.output
    result = invoke("panel", "--as-of", D1, *common)
    assert result.exit_code == 0, result.output
    return out


def _common(fitted, out):
    return ["--config", fitted.config, "--model", fitted.model_uri, "--out", out]


# -- features ---------------------------------------------------------------------------------
def test_features_writes_rows_per_pupil_and_date_with_the_label(fitted, tmp_path):
    out = tmp_path / "features.parquet"
    result = invoke(
        "features", "--config", fitted.config, "--as-of", "2023-01-09", "--as-of", KNOWN,
        "--outcome", "suspension", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "with the label 'suspension' within 12M" in result.output  # [screener] horizon
    table = pd.read_parquet(out)
    assert {"pupil_id", "as_of_date", "label"} <= set(table.columns)
    assert set(pd.DatetimeIndex(table["as_of_date"]).date.astype(str)) == {"2023-01-09", KNOWN}
    assert table["label"].astype("boolean").sum() > 0
    assert f"to {out}" in result.output


def test_features_without_an_outcome_is_written_out_of_core(fitted, tmp_path):
    out = tmp_path / "x.parquet"
    result = invoke("features", "--data", fitted.data, "--as-of", D1, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert "label" not in table.columns and len(table) > 500


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--as-of", "2023-02-30", "--outcome", "suspension"],
            "--as-of must be a date written YYYY-MM-DD",
        ),
        (["--as-of", D1, "--outcome", "suspensions"], "The 'outcome' parameter of"),
    ],
)
def test_features_refuses_a_bad_date_or_an_unknown_outcome(fitted, tmp_path, args, expected):
    out = tmp_path / "f.parquet"
    result = invoke("features", "--data", fitted.data, *args, "--out", out)
    assert expected in one_error_line(result)
    assert not out.exists()


def test_features_names_a_missing_histories_folder(tmp_path):
    result = invoke(
        "features", "--data", tmp_path / "nowhere", "--as-of", D1, "--out", tmp_path / "f.parquet"
    )
    assert "nowhere" in one_error_line(result)


# -- score ------------------------------------------------------------------------------------
def test_score_keeps_the_list_and_never_replaces_it(fitted, listed):
    stored = SnapshotStore(listed / "snapshots").list()
    assert sorted(stored["as_of_date"].dt.date.astype(str)) == [D1, D2]
    again = invoke("score", "--as-of", D1, *_common(fitted, listed))
    line = one_error_line(again)
    assert f"the list of {D1}" in line and "never replaced" in line
    assert len(SnapshotStore(listed / "snapshots")) == 2


def test_score_checks_the_model_before_loading_it(fitted, tmp_path):
    args = ["score", "--as-of", D1, *_common(fitted, tmp_path / "out")]
    line = one_error_line(invoke(*args, key=NO_KEY))
    assert "RISKSCREEN_SIGNING_KEY is not set" in line and "--sha256" in line
    line = one_error_line(invoke(*args, key="another authority's key"))
    assert "signature does not match the signing key" in line
    assert not (tmp_path / "out" / "snapshots").exists()
    # the sha256 the authority kept is the other way to check it
    kept = invoke(*args, "--sha256", fitted.sha256, key=NO_KEY)
    assert kept.exit_code == 0, kept.output
    assert "checked against the sha256 given" in kept.output
    assert "high" in kept.stdout and "n_flagged" in kept.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--as-of", "08/01/2024"], "--as-of must be a date written YYYY-MM-DD"),
        (
            ["--as-of", D1, "--model", "runs:/0123456789abcdef0123456789abcdef/screener"],
            "not found",
        ),
        (["--as-of", D1, "--model", "screener.pkl"], "The 'uri' parameter of load_screener"),
    ],
)
def test_score_refuses_bad_dates_and_unknown_models(fitted, tmp_path, args, expected):
    result = invoke("score", "--config", fitted.config, "--out", tmp_path / "out", *args)
    assert expected in one_error_line(result)


def test_score_finds_the_last_fit_of_the_config_when_writing_elsewhere(fitted, tmp_path):
    out = tmp_path / "elsewhere"
    result = invoke("score", "--config", fitted.config, "--as-of", D1, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"from the last fit ({fitted.output / 'model.json'})" in result.output
    assert len(SnapshotStore(out / "snapshots")) == 1


def test_score_without_a_model_says_where_one_comes_from(fitted, tmp_path):
    result = invoke("score", "--data", fitted.data, "--as-of", D1, "--out", tmp_path / "out")
    line = one_error_line(result)
    assert "no model to load: pass --model URI" in line and "riskscreen fit --config" in line
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.json").write_text("{not json")
    result = invoke("score", "--data", fitted.data, "--as-of", D1, "--out", tmp_path / "out")
    assert "model.json is not a model record written by `riskscreen fit`" in one_error_line(result)


# -- audit ------------------------------------------------------------------------------------
def test_audit_writes_the_fairness_audit_and_the_comparison(fitted, tmp_path):
    result = invoke("audit", "--as-of", KNOWN, *_common(fitted, tmp_path))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "audits" / KNOWN
    page = (folder / "fairness_audit.html").read_text()
    assert "<html" in page.lower() and "sen_status" in page
    table = pd.read_csv(folder / "comparison.csv", index_col=0)
    assert {"scorecard", "prior_suspensions"} <= set(table.index)
    assert result.stdout.startswith("Fairness audit for suspension")
    assert "(20 resamples of pupils)" in result.stdout  # [audit] n_bootstrap of the config


def test_audit_refuses_a_date_whose_outcomes_are_not_known_yet(fitted, tmp_path):
    line = one_error_line(invoke("audit", "--as-of", D1, *_common(fitted, tmp_path)))
    assert "label window of as_of_date 2024-01-08 runs past the end of data" in line
    line = one_error_line(invoke("audit", "--as-of", "2023-06-31", *_common(fitted, tmp_path)))
    assert "--as-of must be a date written YYYY-MM-DD" in line and "'2023-06-31'" in line
    assert not (tmp_path / "audits").exists()


# -- explain ----------------------------------------------------------------------------------
def test_explain_writes_reasons_for_the_stored_list(fitted, listed):
    result = invoke("explain", "--as-of", D2, *_common(fitted, listed))
    assert result.exit_code == 0, result.output
    reasons = pd.read_csv(listed / "explanations" / D2 / "reasons.csv")
    flagged = SnapshotStore(listed / "snapshots").load(D2).frame["flagged"]
    assert reasons["pupil_id"].nunique() == int(flagged.sum())  # [explain] default: the flags
    assert set(reasons["rank"]) == {1, 2, 3}  # n_reasons = 3
    assert reasons["text"].str.contains("risk").all()
    importance = pd.read_csv(listed / "explanations" / D2 / "importance.csv", index_col=0)
    assert importance["mean_abs"].is_monotonic_decreasing


def test_explain_needs_a_stored_list(fitted, listed):
    line = one_error_line(invoke("explain", "--as-of", "2024-03-04", *_common(fitted, listed)))
    assert "no list of 2024-03-04 is stored" in line and "score that date first" in line
    line = one_error_line(invoke("explain", "--as-of", "4 March", *_common(fitted, listed)))
    assert "--as-of must be a date written YYYY-MM-DD" in line


# -- panel ------------------------------------------------------------------------------------
def test_panel_packs_say_what_changed_since_the_previous_packs(fitted, listed):
    first = pd.read_csv(next((listed / "packs" / D1).glob("panel_*_school_*.csv")))
    assert set(first["Since last panel"]) == {"first list"}
    result = invoke("panel", "--as-of", D2, *_common(fitted, listed))
    assert result.exit_code == 0, result.output
    assert f"since {D1}:" in result.output
    packs = list((listed / "packs" / D2).glob("panel_*_school_*.csv"))
    changes = pd.concat(pd.read_csv(p) for p in packs)["Since last panel"]
    assert "first list" not in set(changes)
    assert (
        changes.isin(["same place", "new to the list"]).any()
        or changes.str.match(r"(up|down) from \d+").any()
    )
    summary = pd.read_csv(listed / "packs" / D2 / f"panel_{D2}_summary.csv", encoding="utf-8-sig")
    assert "New to the list" in summary.columns and "Left the list" in summary.columns
    assert {f"panel_{D2}_list.csv"} <= {p.name for p in (listed / "packs" / D2).iterdir()}


@pytest.mark.parametrize(
    ("previous", "expected"),
    [("2024-13-01", "--previous must be a date written YYYY-MM-DD"), ("2023-11-06", "no file")],
)
def test_panel_refuses_a_bad_previous_date(fitted, listed, previous, expected):
    result = invoke("panel", "--as-of", D2, "--previous", previous, *_common(fitted, listed))
    assert expected in one_error_line(result)


# -- card -------------------------------------------------------------------------------------
def test_card_writes_the_model_card_and_the_transparency_record(fitted, tmp_path):
    result = invoke("card", "--as-of", KNOWN, *_common(fitted, tmp_path))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "model_card" / KNOWN
    assert {"model_card.md", "model_card.html", "model_card.json", "atrs_record.md"} <= {
        p.name for p in folder.iterdir()
    }
    card = (folder / "model_card.md").read_text()
    assert "Head of Early Help (example)" in card  # [card.authority] of the config
    assert "Fitted on synthetic data" in card  # [card] caveats
    assert "fields to complete by the authority" in result.output


def test_card_names_a_bad_card_key(fitted, tmp_path):
    bad = with_line(fitted.config, "caveats = ", "caveat = ", tmp_path / "c.toml")
    line = one_error_line(invoke("card", "--as-of", KNOWN, "--config", bad, "--out", tmp_path))
    assert "config key 'card.caveat' is not a ModelCard.from_run parameter; known: " in line
    assert "caveats" in line


# -- compare ----------------------------------------------------------------------------------
def test_compare_two_stored_lists(fitted, listed):
    result = invoke("compare", "--config", fitted.config, "--out", listed, D1, D2)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Lists of {D1} and {D2}: Jaccard ")
    summary = (listed / "comparisons" / f"{D1}_to_{D2}.md").read_text()
    assert "Rank correlation" in summary
    moves = pd.read_csv(listed / "comparisons" / f"{D1}_to_{D2}_moves.csv")
    assert set(moves["list"]) <= {"entered", "left"}
    version = SnapshotStore(listed / "snapshots").list()["model_version"].iloc[0]
    by_version = invoke("compare", "--out", listed, f"{D1}/{version}", f"{D2}/{version}")
    assert by_version.exit_code == 0, by_version.output


def test_several_models_lists_of_one_date_are_told_apart(fitted, listed, tmp_path):
    import shutil
    from dataclasses import replace

    shutil.copytree(listed / "snapshots", tmp_path / "snapshots")
    store = SnapshotStore(tmp_path / "snapshots")
    mine = store.load(D1)
    other = replace(mine, model_info={**mine.model_info, "fit_timestamp": "another fit"})
    store.save(other, version="000")  # another model's list of the same date, listed first
    line = one_error_line(invoke("compare", "--out", tmp_path, D1, D2))
    assert f"2 models' lists of {D1} are stored" in line and f"name one as {D1}/<model" in line
    assert invoke("compare", "--out", tmp_path, f"{D1}/000", D2).exit_code == 0
    # explain picks the list its own model made
    result = invoke("explain", "--as-of", D1, *_common(fitted, tmp_path))
    assert result.exit_code == 0, result.output


def test_quiet_logs_warnings_only(listed):
    loud = invoke("compare", "--out", listed, D1, D2)
    quiet = invoke("-q", "compare", "--out", listed, D1, D2)
    assert quiet.exit_code == 0, quiet.output
    assert " INFO Compared: " in loud.output and " INFO " not in quiet.output
    assert quiet.stdout == loud.stdout


@pytest.mark.parametrize(
    ("lists", "expected"),
    [
        ([D2, D1], "BEFORE (2024-02-05) must be earlier than AFTER (2024-01-08)"),
        ([D1, "2024-03-04"], "no list of 2024-03-04 is stored"),
        ([f"{D1}/nomodel", D2], "no list of 2024-01-08 by model nomodel"),
        (["2024-1-8", D2], "BEFORE must be a date written YYYY-MM-DD"),
    ],
)
def test_compare_refuses_lists_it_cannot_find(listed, lists, expected):
    assert expected in one_error_line(invoke("compare", "--out", listed, *lists))


# -- decisions --------------------------------------------------------------------------------
def _fill(pack, decision, action=None, row_offset=1, column="Decision"):
    wb = openpyxl.load_workbook(pack)
    ws = wb["Panel list"]
    header = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "Rank")
    col = {ws.cell(row=header, column=j).value: j for j in range(1, ws.max_column + 1)}
    ws.cell(row=header + row_offset, column=col[column], value=decision)
    if action is not None:
        ws.cell(row=header + row_offset, column=col["Action"], value=action)
    wb.save(pack)
    return ws.cell(row=header + row_offset, column=col["Reference"]).value


def test_decisions_are_read_back_and_edits_refused(listed, tmp_path):
    import shutil

    packs = tmp_path / "packs"
    shutil.copytree(listed / "packs" / D1, packs)
    pack = sorted(packs.glob("panel_*_school_*.xlsx"))[0]
    _fill(pack, "Offer support", "Attendance support")
    result = invoke("decisions", packs, "--meeting-date", "2024-01-15")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(packs / "decisions.csv")
    assert (table["decision"] == "Offer support").sum() == 1
    rows = pd.read_csv(packs / "decisions_interventions.csv")
    assert rows[["kind", "start_date"]].values.tolist() == [["attendance_support", "2024-01-15"]]
    # an edited reference is refused, with the school, row and column named (not the cell)
    reference = _fill(pack, 999_999_999, column="Reference", row_offset=1)
    line = one_error_line(invoke("decisions", packs))
    assert "row" in line and "Reference" in line and str(reference) not in line


def test_decisions_names_a_missing_folder(tmp_path):
    line = one_error_line(invoke("decisions", tmp_path / "nowhere"))
    assert "no file or folder" in line and "nowhere" in line
