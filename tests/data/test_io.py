"""LinkedHistories.save / load: exact round trips, layout, clear errors, atomic writes."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from riskscreen.data import LinkedHistories, _io


def assert_same_histories(left: LinkedHistories, right: LinkedHistories) -> None:
    for name, frame in left.tables().items():
        pd.testing.assert_frame_equal(
            right.tables()[name], frame, check_dtype=True, check_index_type=True
        )
    assert list(right.custom) == list(left.custom)
    for name, (frame, source) in left.custom.items():
        loaded, loaded_source = right.custom[name]
        pd.testing.assert_frame_equal(loaded, frame, check_dtype=True, check_index_type=True)
        assert loaded_source == source


def test_round_trip_is_exact(histories, tmp_path):
    # A non-default index must come back too.
    histories.exclusions = histories.exclusions.set_axis(
        pd.Index([101, 102, 103, 104], name="exclusion_row")
    )
    histories.add_source(
        "housing",
        pd.DataFrame(
            {
                "pupil_id": pd.Series([1, 2], dtype="int64"),
                "start": pd.Series(pd.to_datetime(["2021-01-01", "2022-02-01"])).astype(
                    "datetime64[us]"
                ),
                "end": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us]"),
                "band": pd.Series(["A", None], dtype="str"),
                "score": pd.array([1, None], dtype="Int64"),
                "flag": pd.Series([True, False]),
                "weight": pd.Series([0.5, np.nan]),
            }
        ),
        date_column="start",
        end_date_column="end",
    )
    path = histories.save(tmp_path / "la")
    loaded = LinkedHistories.load(path)
    assert_same_histories(histories, loaded)
    loaded.validate()
    assert loaded.pupils.dtypes.astype(str).tolist() == [
        "int64",
        "datetime64[us]",
        "str",
        "str",
        "str",
        "Int64",
    ]


def test_round_trip_of_empty_tables(tmp_path):
    empty = LinkedHistories()
    empty.add_source(
        "notes",
        pd.DataFrame(
            {
                "pupil_id": pd.Series([], dtype="int64"),
                "date": pd.Series([], dtype="datetime64[us]"),
                "text": pd.Series([], dtype="str"),
            }
        ),
    )
    loaded = LinkedHistories.load(empty.save(tmp_path / "empty"))
    assert_same_histories(empty, loaded)
    assert loaded.n_pupils == 0


def test_round_trip_keeps_object_columns(histories, tmp_path):
    histories.sen["primary_need"] = histories.sen["primary_need"].astype(object)
    loaded = LinkedHistories.load(histories.save(tmp_path / "la"))
    assert loaded.sen["primary_need"].dtype == object
    assert_same_histories(histories, loaded)


def test_folder_layout_and_manifest(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    assert files == sorted(
        ["manifest.json", "custom/police_notices.parquet"]
        + [f"{name}.parquet" for name in histories.tables()]
    )
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "riskscreen.LinkedHistories"
    assert manifest["format_version"] == 2
    assert manifest["problems"] == 0
    digest = hashlib.sha256((path / "exclusions.parquet").read_bytes()).hexdigest()
    assert manifest["tables"]["exclusions"]["sha256"] == digest
    assert isinstance(manifest["riskscreen_version"], str)
    assert manifest["tables"]["exclusions"]["rows"] == 4
    assert manifest["tables"]["exclusions"]["file"] == "exclusions.parquet"
    assert manifest["custom"]["police_notices"]["source"] == {
        "id_column": "pupil_id",
        "date_column": "date",
        "end_date_column": None,
        "value_columns": ["kind"],
    }
    # The feature engine may read a table directly.
    direct = pd.read_parquet(path / "attendance.parquet")
    pd.testing.assert_frame_equal(direct, histories.attendance)


def test_load_without_manifest_names_the_file(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    (path / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"manifest\.json is missing"):
        LinkedHistories.load(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LinkedHistories.load(tmp_path / "nowhere")
    (tmp_path / "one.parquet").write_bytes(b"PAR1")
    with pytest.raises(FileNotFoundError, match=r"one\.parquet is a file; a saved"):
        LinkedHistories.load(tmp_path / "one.parquet")


def test_load_with_a_missing_table_names_the_file(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    (path / "sen.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"table 'sen' file .*sen\.parquet is missing"):
        LinkedHistories.load(path)


def test_load_with_a_missing_custom_table_names_the_file(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    (path / "custom" / "police_notices.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"custom/police_notices\.parquet is missing"):
        LinkedHistories.load(path)


def test_load_detects_a_table_that_does_not_match_the_manifest(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    histories.fsm.iloc[:0].to_parquet(path / "fsm.parquet")
    for read in (LinkedHistories.load, LinkedHistories.open):
        with pytest.raises(ValueError, match="'fsm' file .* does not match the sha256"):
            read(path)


def test_every_single_bit_flip_in_every_file_is_refused(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    files = sorted(path.rglob("*.parquet"))
    assert len(files) == 11
    rng = np.random.default_rng(0)
    for file in files:
        original = file.read_bytes()
        for _ in range(3):
            data = bytearray(original)
            i = int(rng.integers(len(data)))
            data[i] ^= 1 << int(rng.integers(8))
            file.write_bytes(bytes(data))
            for read in (LinkedHistories.load, LinkedHistories.open):
                with pytest.raises(ValueError, match="does not match the sha256"):
                    read(path)
        file.write_bytes(original)
    LinkedHistories.load(path).validate()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: "{not json", "Cannot read"),
        (lambda m: json.dumps([1, 2]), "is not a LinkedHistories manifest"),
        (lambda m: json.dumps({**m, "tables": []}), "is malformed"),
        (lambda m: json.dumps({**m, "format_version": 1}), "keeps no checksums"),
        (
            lambda m: json.dumps({**m, "tables": {**m["tables"], "fsm": {"file": "fsm.parquet"}}}),
            "no file and sha256 entry for table 'fsm'",
        ),
    ],
    ids=["not-json", "not-a-manifest", "tables-not-an-object", "old-format", "no-checksum"],
)
def test_a_malformed_manifest_is_a_clear_error_on_every_route(histories, tmp_path, edit, message):
    path = histories.save(tmp_path / "la")
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(edit(manifest))
    for read in (LinkedHistories.load, LinkedHistories.open):
        with pytest.raises(ValueError, match=message):
            read(path)


def test_load_refuses_a_newer_format(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="format_version 99"):
        LinkedHistories.load(path)


# --------------------------------------------------------------------------- atomic writes


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_saving_over_a_saved_folder_replaces_it(histories, tmp_path):
    path = tmp_path / "la"
    histories.save(path)
    histories.exclusions = histories.exclusions.iloc[:1]
    histories.remove_source("police_notices")
    histories.save(path)
    loaded = LinkedHistories.load(path)
    assert len(loaded.exclusions) == 1
    assert loaded.custom == {}
    assert not (path / "custom").exists()
    assert leftovers(tmp_path) == []


def test_overwrite_false_refuses_to_replace(histories, tmp_path):
    path = histories.save(tmp_path / "la")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        histories.save(path, overwrite=False)


def test_a_folder_that_is_not_a_saved_histories_is_never_replaced(histories, tmp_path):
    path = tmp_path / "my_documents"
    path.mkdir()
    (path / "thesis.docx").write_text("precious")
    with pytest.raises(FileExistsError, match="not a saved LinkedHistories"):
        histories.save(path)
    assert (path / "thesis.docx").read_text() == "precious"
    file = tmp_path / "a_file"
    file.write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        histories.save(file)


def test_saving_into_an_existing_empty_folder(histories, tmp_path):
    path = tmp_path / "empty"
    path.mkdir()
    assert_same_histories(histories, LinkedHistories.load(histories.save(path)))


def test_a_failure_mid_write_leaves_the_previous_folder_intact(histories, tmp_path, monkeypatch):
    path = histories.save(tmp_path / "la")
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    real_write = _io._write_frame

    def write_then_fail(frame, file, table):
        if table == "sen":
            raise OSError("disk full")
        real_write(frame, file, table)

    monkeypatch.setattr(_io, "_write_frame", write_then_fail)
    histories.exclusions = histories.exclusions.iloc[:1]
    with pytest.raises(OSError, match="disk full"):
        histories.save(path)
    after = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    assert after == before
    assert leftovers(tmp_path) == []
    assert len(LinkedHistories.load(path).exclusions) == 4


def test_an_unsaveable_table_leaves_no_half_written_folder(histories, tmp_path):
    histories.interventions["kind"] = pd.Series([object()], dtype=object)
    with pytest.raises(ValueError, match="Cannot save table 'interventions'"):
        histories.save(tmp_path / "la")
    assert list(tmp_path.iterdir()) == []
