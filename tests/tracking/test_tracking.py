"""Tracking a Screener fitted on real layers; nothing identifying reaches the store."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from _linked_histories import FIT_DATES, TEST_DATE

from riskscreen import Screener
from riskscreen.tracking import ArtifactIntegrityError, load_screener, track

UPN = "A123456789012"
NAME = "Zebedee Quillfeather"
DOB = "2011-06-17"


def plant_identifiers(linked):
    """Real identifiers smuggled into the input: extra pupil columns and a custom source."""
    out = linked.copy()
    pupils = out.pupils
    pupils["upn"] = ""
    pupils["full_name"] = ""
    pupils["date_of_birth"] = pd.NaT
    pupils.loc[0, ["upn", "full_name"]] = [UPN, NAME]
    pupils.loc[0, "date_of_birth"] = pd.Timestamp(DOB)
    police = pd.DataFrame(
        {
            "pupil_id": [1],
            "date": pd.to_datetime(["2021-02-01"]).astype("datetime64[us]"),
            "officer_note": [NAME],
            "upn": [UPN],
            "dob": [DOB],
        }
    )
    return out.add_source("police", police, value_columns=[])


def test_tracked_fit_loads_back_with_identical_scores_and_leaks_nothing(linked, tmp_path):
    import mlflow

    histories = plant_identifiers(linked)
    screener = Screener(model="lightgbm", n_bootstrap=20).fit(histories, FIT_DATES)
    screening = screener.score(histories, TEST_DATE)
    evaluation = screener.evaluate(histories, TEST_DATE, n_bootstrap=20)
    before = (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI"))
    store = tmp_path / "store"
    run = track(
        screener,
        histories,
        run_name="test",
        store=store,
        evaluation=evaluation,
        screening=screening,
        register_as="riskscreen-test",
    )
    assert (store / "mlflow.db").exists()
    # tracking went through its own client: MLflow's process-wide settings are untouched
    assert (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")) == before

    loaded = load_screener(run.screener_uri, store=store)
    again = loaded.score(histories, TEST_DATE)
    pd.testing.assert_frame_equal(again.frame, screening.frame)
    by_registry = load_screener("models:/riskscreen-test/1", store=store)
    np.testing.assert_array_equal(
        by_registry.score(histories, TEST_DATE).frame["score"], screening.frame["score"]
    )
    by_logged_model = load_screener(run.model_uri, store=store)
    np.testing.assert_array_equal(
        by_logged_model.score(histories, TEST_DATE).frame["score"], screening.frame["score"]
    )

    # the MLflow model flavour loads by URI and predicts the calibrated probabilities
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(run.tracking_uri)
    try:
        model = mlflow.sklearn.load_model(run.model_uri)
    finally:
        mlflow.set_tracking_uri(None)
    X = screening.features[screener.feature_names_]
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], screening.frame["probability"])

    client = MlflowClient(tracking_uri=run.tracking_uri)
    info = client.get_run(run.run_id).info
    assert info.status == "FINISHED"
    data = client.get_run(run.run_id).data
    assert data.tags["riskscreen.model_class"] == "LGBMRiskModel"
    assert "test.lightgbm.precision_at_k" in data.metrics
    assert data.params["screener.model"] == "lightgbm"

    # no identifier anywhere: params, metrics, tags, and every file in the store
    blob = json.dumps([data.params, data.metrics, data.tags], default=str)
    for secret in (UPN, NAME, DOB, "Quillfeather", "17/06/2011"):
        assert secret not in blob
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.name == "screener.pkl" for p in files)
    assert any(p.name == "feature_spec.csv" for p in files)
    for p in files:
        raw = p.read_bytes()
        for secret in (UPN, NAME, DOB, "Quillfeather"):
            assert secret.encode() not in raw, (secret, p)


@pytest.fixture(scope="module")
def scorecard(linked):
    return Screener(model="scorecard", n_bootstrap=10).fit(linked, FIT_DATES)


def test_tampered_artifact_is_refused(scorecard, linked, tmp_path):
    run = track(scorecard, linked, store=tmp_path)
    (pkl,) = [p for p in tmp_path.rglob("screener.pkl")]
    pkl.write_bytes(pkl.read_bytes() + b"\x00")
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        load_screener(run.screener_uri, store=tmp_path)
    with pytest.raises(ValueError, match="'uri'"):
        load_screener("s3://bucket/model", store=tmp_path)


def test_fingerprint_ignores_identifier_columns_and_tracks_content(linked, scorecard):
    planted = plant_identifiers(linked)
    a, b = linked.fingerprint(), planted.fingerprint()
    # extra identifier columns never enter the pupils hash
    assert a["tables"]["pupils"] == b["tables"]["pupils"]
    assert "custom:police" in b["tables"] and b["tables"]["custom:police"]["rows"] == 1
    assert UPN not in json.dumps(b) and NAME not in json.dumps(b)
    assert scorecard.data_fingerprint_ == a
    assert scorecard.model_info_["data_fingerprint"] == a["combined"]


def test_registry_set_elsewhere_is_never_contacted(scorecard, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{elsewhere}")
    run = track(scorecard, store=tmp_path / "store", register_as="riskscreen-registry")
    assert run.registered_version == "1"
    assert not elsewhere.exists()
    from mlflow.tracking import MlflowClient

    local = f"sqlite:///{(tmp_path / 'store' / 'mlflow.db').resolve()}"
    versions = MlflowClient(local, registry_uri=local).search_model_versions(
        "name='riskscreen-registry'"
    )
    assert [int(v.version) for v in versions] == [1]
    # the caller's setting is left as it was
    assert os.environ["MLFLOW_REGISTRY_URI"] == f"sqlite:///{elsewhere}"
