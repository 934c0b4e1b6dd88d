"""LinkedHistories: custom sources, summary and reprs, copies, building from CSV."""

from __future__ import annotations

import pandas as pd
import pytest
from _data_histories import dates, ints, texts

from riskscreen.data import CustomSource, DataValidationError, LinkedHistories, table_schema

# --------------------------------------------------------------------------- add_source


def test_add_source_returns_self_and_defaults_value_columns(histories):
    notes = pd.DataFrame(
        {"pupil_id": ints(2), "date": dates("2023-03-01"), "risk": texts("high"), "n": ints(3)}
    )
    assert histories.add_source("youth_justice", notes) is histories
    frame, source = histories.custom["youth_justice"]
    assert frame is notes
    assert source == CustomSource(value_columns=("risk", "n"))
    histories.validate()


def test_add_source_with_spells_and_explicit_value_columns(histories):
    housing = pd.DataFrame(
        {
            "child": ints(3),
            "from": dates("2022-01-01"),
            "to": dates("2022-06-30"),
            "band": texts("A"),
            "note": texts("x"),
        }
    )
    histories.add_source(
        "housing",
        housing,
        id_column="child",
        date_column="from",
        end_date_column="to",
        value_columns=["band"],
    )
    assert histories.custom["housing"][1] == CustomSource("child", "from", "to", ("band",))
    histories.validate()


@pytest.mark.parametrize("name", ["pupils", "attendance", "exclusions"])
def test_add_source_rejects_canonical_names(histories, name):
    frame = histories.custom["police_notices"][0]
    with pytest.raises(ValueError, match=f"named '{name}': it is a canonical table"):
        histories.add_source(name, frame)


@pytest.mark.parametrize("name", ["", "2fast", "has space", "../escape", None])
def test_add_source_rejects_names_that_are_not_identifiers(histories, name):
    frame = histories.custom["police_notices"][0]
    with pytest.raises(ValueError, match="must be an identifier"):
        histories.add_source(name, frame)


def test_add_source_rejects_an_attached_name(histories):
    frame = histories.custom["police_notices"][0]
    with pytest.raises(ValueError, match="already attached"):
        histories.add_source("police_notices", frame)
    histories.remove_source("police_notices").add_source("police_notices", frame)
    with pytest.raises(KeyError, match="No custom source named 'nope'"):
        histories.remove_source("nope")


def test_add_source_checks_the_named_columns(histories):
    frame = pd.DataFrame({"pupil_id": ints(1), "when": dates("2023-01-01")})
    with pytest.raises(ValueError, match="'date_column' of custom source 'x'.*Got 'date'"):
        histories.add_source("x", frame)
    with pytest.raises(ValueError, match="'value_columns'.*Not found: score"):
        histories.add_source("x", frame, date_column="when", value_columns=["score"])
    with pytest.raises(TypeError, match="must be a pandas DataFrame. Got list"):
        histories.add_source("x", [1, 2])


# --------------------------------------------------------------------------- summary / reprs


def test_summary_counts_rows_pupils_and_dates(histories):
    summary = histories.summary()
    assert list(summary.columns) == ["rows", "pupils", "columns", "first_date", "last_date"]
    assert list(summary.index) == [*histories.tables(), "police_notices"]
    exclusions = summary.loc["exclusions"]
    assert exclusions["rows"] == 4
    assert exclusions["pupils"] == 2
    assert exclusions["first_date"] == pd.Timestamp("2023-01-10")
    assert exclusions["last_date"] == pd.Timestamp("2023-02-10")
    # Spells: the range covers end dates too.
    assert summary.loc["missing_education", "last_date"] == pd.Timestamp("2023-05-01")
    assert pd.isna(summary.loc["schools", "pupils"])
    assert summary.loc["police_notices", "rows"] == 2


def test_summary_of_empty_histories():
    summary = LinkedHistories().summary()
    assert (summary["rows"] == 0).all()
    assert summary["first_date"].isna().all()


def test_summary_survives_broken_tables(histories):
    histories.fsm = "not a table"
    histories.sen["start_date"] = histories.sen["start_date"].astype(str)
    summary = histories.summary()
    assert pd.isna(summary.loc["fsm", "rows"])
    assert pd.isna(summary.loc["sen", "first_date"])


def test_repr_and_html_repr(histories):
    text = repr(histories)
    assert text.startswith("LinkedHistories(3 pupils; rows: pupils=3")
    assert "police_notices=2" in text
    html = histories._repr_html_()
    assert html.count("<tr>") == 1 + 11
    assert "<td>exclusions</td><td>4</td><td>6</td><td>2</td><td>2023-01-10 to 2023-02-10</td>" in (
        html
    )
    assert "police_notices <em>(custom)</em>" in html


def test_n_pupils_and_copy(histories):
    assert histories.n_pupils == 3
    copied = histories.copy()
    copied.exclusions.loc[0, "kind"] = "permanent"
    copied.custom["police_notices"][0].loc[0, "kind"] = "other"
    assert histories.exclusions.loc[0, "kind"] == "suspension"
    assert histories.custom["police_notices"][0].loc[0, "kind"] == "domestic_abuse"
    copied.validate()


def test_table_schema_is_built_from_the_declarations():
    schema = table_schema("exclusions")
    assert list(schema.columns) == [
        "pupil_id",
        "school_id",
        "start_date",
        "kind",
        "sessions",
        "reason",
        "reason_2",
        "reason_3",
    ]
    assert schema.columns["sessions"].nullable
    assert not schema.columns["reason_2"].required
    with pytest.raises(ValueError, match="Unknown canonical table 'exclusion'"):
        table_schema("exclusion")


# --------------------------------------------------------------------------- from_frames / CSV


def test_from_frames_coerces_text_to_canonical_dtypes():
    pupils = pd.DataFrame(
        {
            "pupil_id": ["1", "2"],
            "birth_month": ["2010-03-01", "01/09/2011"],
            "sex": ["F", "M"],
            "ethnicity": ["WBRI", "BCRB"],
            "first_language": ["ENG", None],
            "idaci_decile": ["3", None],
        }
    )
    exclusions = pd.DataFrame(
        {
            "pupil_id": ["1"],
            "school_id": [100.0],
            "start_date": ["10/01/2023"],
            "kind": ["suspension"],
            "sessions": ["2"],
            "reason": ["DB"],
        }
    )
    histories = LinkedHistories.from_frames({"pupils": pupils, "exclusions": exclusions})
    assert histories.pupils.dtypes.astype(str).tolist() == [
        "int64",
        "datetime64[us]",
        "str",
        "str",
        "str",
        "Int64",
    ]
    assert histories.pupils.loc[1, "birth_month"] == pd.Timestamp("2011-09-01")
    assert histories.exclusions.loc[0, "start_date"] == pd.Timestamp("2023-01-10")
    assert histories.exclusions["school_id"].dtype == "int64"
    assert histories.exclusions["sessions"].dtype == "float64"


def test_from_frames_reports_values_it_cannot_read():
    fsm = pd.DataFrame(
        {"pupil_id": ["1", "2", "x"], "start_date": ["2020-01-01", "31/02/2020", "2020-01-01"]}
    )
    fsm["end_date"] = None
    with pytest.raises(DataValidationError) as info:
        LinkedHistories.from_frames({"fsm": fsm}, validate=False)
    problems = {(p.table, p.column, p.rule, p.rows) for p in info.value.problems}
    # "x" is a text key, so every key stays text, as given: nothing to convert there
    assert problems == {("fsm", "start_date", "unreadable", (1,))}
    assert "'31/*******'" in str(info.value)  # a possible date of birth is masked
    assert "31/02/2020" not in str(info.value)


def test_keys_are_kept_as_given_and_one_kind_for_every_table():
    pupils = pd.DataFrame({"pupil_id": ["017", "A9"]})
    fsm = pd.DataFrame({"pupil_id": ["017"], "start_date": ["2020-01-01"], "end_date": [None]})
    h = LinkedHistories.from_frames({"pupils": pupils, "fsm": fsm})
    assert h.pupils["pupil_id"].tolist() == ["017", "A9"]  # never renumbered or hashed
    assert h.fsm["pupil_id"].tolist() == ["017"]
    numbers = LinkedHistories.from_frames(
        {"pupils": pd.DataFrame({"pupil_id": ["17", "9"]}), "fsm": fsm.assign(pupil_id=["17"])}
    )
    assert numbers.pupils["pupil_id"].dtype == "int64" and numbers.fsm["pupil_id"].tolist() == [17]


def test_from_frames_rejects_unknown_tables():
    with pytest.raises(ValueError, match="Unknown table name.*'pupil'"):
        LinkedHistories.from_frames({"pupil": pd.DataFrame()})


def test_read_csv_round_trips_a_csv_export(histories, tmp_path):
    for name, frame in histories.tables().items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    loaded = LinkedHistories.read_csv(tmp_path)
    for name, frame in histories.tables().items():
        pd.testing.assert_frame_equal(loaded.tables()[name], frame, check_dtype=True)


def test_read_csv_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LinkedHistories.read_csv(tmp_path / "nope")
    (tmp_path / "pupils.csv").write_text("pupil_id\n1\n")
    with pytest.raises(FileNotFoundError, match=r"pupils\.csv is a file; give the folder"):
        LinkedHistories.read_csv(tmp_path / "pupils.csv")
    (tmp_path / "pupils.csv").unlink()
    with pytest.raises(FileNotFoundError, match="No canonical CSV file"):
        LinkedHistories.read_csv(tmp_path)
