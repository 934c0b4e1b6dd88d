"""Snapshots: every list kept as issued, immutable, checked on load, metadata-only in MLflow."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from riskscreen.interventions import Snapshot, SnapshotIntegrityError, SnapshotStore


def test_a_saved_snapshot_reads_back_identically(screening, tmp_path):
    store = SnapshotStore(tmp_path / "snaps")
    saved = store.save(screening)
    back = store.load("2021-01-04")
    pd.testing.assert_frame_equal(back.frame, saved.frame)
    pd.testing.assert_frame_equal(back.features, screening.features)
    assert back.k == screening.k and back.per_school == screening.per_school
    assert back.model_version == saved.model_version
    assert back.saved_at == saved.saved_at and set(back.sha256) == {
        "scores.parquet",
        "features.parquet",
    }
    # keyed by (pupil_id, as_of_date), the key every join uses
    assert list(back.frame.index.names) == ["pupil_id", "as_of_date"]
    assert (back.frame.index.get_level_values("as_of_date") == pd.Timestamp("2021-01-04")).all()
    assert back.frame["flagged"].sum() == screening.k


def test_snapshots_are_never_replaced(screening, tmp_path):
    store = SnapshotStore(tmp_path)
    store.save(screening)
    with pytest.raises(FileExistsError, match="never replaced"):
        store.save(screening)
    # another model's list of the same date is filed beside it, and loading asks which
    store.save(screening, version="challenger")
    assert len(store) == 2
    with pytest.raises(ValueError, match="pass version="):
        store.load("2021-01-04")
    assert store.load("2021-01-04", version="challenger").model_version == "challenger"
    assert [s.model_version for s in store.snapshots(version="challenger")] == ["challenger"]
    with pytest.raises(KeyError, match="No snapshot of as-of date 2022-01-04"):
        store.load("2022-01-04")


def test_files_are_read_only_and_a_changed_file_is_refused(screening, tmp_path):
    store = SnapshotStore(tmp_path)
    saved = store.save(screening)
    folder = tmp_path / "2021-01-04" / saved.model_version
    assert not os.access(folder / "scores.parquet", os.W_OK) or os.geteuid() == 0
    assert oct((folder / "scores.parquet").stat().st_mode & 0o777) == "0o444"
    frame = pd.read_parquet(folder / "scores.parquet")
    frame.loc[frame.index[0], "flagged"] = not frame["flagged"].iloc[0]
    os.chmod(folder / "scores.parquet", 0o644)
    frame.to_parquet(folder / "scores.parquet")
    with pytest.raises(SnapshotIntegrityError, match="scores.parquet no longer matches"):
        store.load("2021-01-04")


def test_an_incomplete_write_is_not_a_snapshot(screening, tmp_path):
    store = SnapshotStore(tmp_path)
    snap = Snapshot.from_screening(screening)
    folder = tmp_path / "2021-01-04" / snap.model_version
    folder.mkdir(parents=True)
    snap.frame.to_parquet(folder / "scores.parquet")  # a crash before the manifest
    assert len(store) == 0 and store.list().empty
    store.save(screening)  # the half-written folder does not block a real save
    assert len(store) == 1


def test_listing_and_renderings_name_no_pupil(screening, tmp_path):
    store = SnapshotStore(tmp_path)
    snap = store.save(screening)
    listing = store.list()
    assert listing.loc[0, "k"] == screening.k and listing.loc[0, "n_pupils"] == len(snap.frame)
    pupils = {str(p) for p in screening.frame.index}
    manifest = (tmp_path / "2021-01-04" / snap.model_version / "snapshot.json").read_text()
    for text in (snap.to_markdown(), snap.to_html(), repr(snap), manifest, repr(store)):
        assert not any(p in text for p in pupils)
    meta = json.loads(manifest)
    assert meta["k"] == screening.k and meta["as_of_date"] == "2021-01-04"
    summary = snap.summary()
    assert int(summary["n_pupils"].sum(skipna=True)) <= len(snap.frame)
    assert summary["n_flagged"].isna().sum() != 1  # secondary suppression


def test_a_snapshot_is_not_made_from_something_else():
    with pytest.raises(ValueError, match="needs a Screening"):
        Snapshot.from_screening(pd.DataFrame({"score": [1.0]}))


def test_saving_to_a_tracked_run_logs_metadata_only(screening, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    from riskscreen.tracking import local_tracking_uri
    from riskscreen.tracking._store import client, quiet

    uri = local_tracking_uri(tmp_path / "mlruns")
    with quiet():  # MLflow's own deprecation notices
        c = client(uri)
        exp = c.create_experiment("snapshots", artifact_location=(tmp_path / "art").as_uri())
        run_id = c.create_run(exp).info.run_id

    class Run:  # the two attributes of riskscreen.tracking.TrackedRun that are used
        tracking_uri = uri

    Run.run_id = run_id
    snap = SnapshotStore(tmp_path / "snaps").save(screening, run=Run())
    logged = [a.path for a in c.list_artifacts(run_id, "snapshots")]
    assert logged == [f"snapshots/2021-01-04_{snap.model_version}.json"]
    with quiet():
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=logged[0], tracking_uri=uri, dst_path=str(tmp_path / "dl")
        )
    with open(local) as fh:
        text = fh.read()
    assert json.loads(text)["sha256"] == snap.sha256
    assert not any(str(p) in text for p in screening.frame.index)
    tags = c.get_run(run_id).data.tags
    assert tags["riskscreen.snapshot.2021-01-04"].startswith(snap.model_version)
