import json

import numpy as np
import pandas as pd
import pytest

from riskscreen.data import CustomSource
from riskscreen.training import (
    ArtifactIntegrityError,
    Screener,
    data_fingerprint,
    load_screener,
    track,
)

FIT_DATES = ["2020-09-01", "2021-01-01", "2021-05-01", "2021-09-01", "2022-01-01", "2022-05-01"]
UPN = "A123456789012"
NAME = "Zebedee Quillfeather"
DOB = "2011-06-17"


def plant_identifiers(toy):
    """Real identifiers smuggled into the input: extra pupil columns and a custom source."""
    pupils = toy.pupils.copy()
    pupils["upn"] = ""
    pupils["full_name"] = ""
    pupils["date_of_birth"] = pd.NaT
    pupils.loc[0, ["upn", "full_name"]] = [UPN, NAME]
    pupils.loc[0, "date_of_birth"] = pd.Timestamp(DOB)
    police = pd.DataFrame(
        {
            "pupil_id": [1],
            "date": [pd.Timestamp("2021-02-01")],
            "officer_note": [NAME],
            "upn": [UPN],
            "dob": [DOB],
        }
    )
    out = type(toy)(**vars(toy))
    out.pupils = pupils
    out.custom = {"police": (police, CustomSource(value_columns=()))}
    return out


def test_tracked_fit_loads_back_with_identical_scores_and_leaks_nothing(toy, toy_api, tmp_path):
    histories = plant_identifiers(toy)
    screener = Screener(model="lightgbm", n_bootstrap=20).fit(histories, FIT_DATES)
    screening = screener.score(histories, "2023-06-01")
    evaluation = screener.evaluate(histories, "2022-05-01", n_bootstrap=20)
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

    loaded = load_screener(run.screener_uri, store=store)
    again = loaded.score(histories, "2023-06-01")
    pd.testing.assert_frame_equal(again.frame, screening.frame)
    by_registry = load_screener("models:/riskscreen-test/1", store=store)
    np.testing.assert_array_equal(
        by_registry.score(histories, "2023-06-01").frame["score"], screening.frame["score"]
    )
    by_logged_model = load_screener(run.model_uri, store=store)
    np.testing.assert_array_equal(
        by_logged_model.score(histories, "2023-06-01").frame["score"], screening.frame["score"]
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


def test_tampered_artifact_is_refused(toy, toy_api, tmp_path):
    screener = Screener(model="scorecard", n_bootstrap=10).fit(toy, FIT_DATES)
    run = track(screener, toy, store=tmp_path)
    (pkl,) = [p for p in tmp_path.rglob("screener.pkl")]
    pkl.write_bytes(pkl.read_bytes() + b"\x00")
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        load_screener(run.screener_uri, store=tmp_path)
    with pytest.raises(ValueError, match="'uri'"):
        load_screener("s3://bucket/model", store=tmp_path)


def test_fingerprint_ignores_identifier_columns_and_tracks_content(toy):
    planted = plant_identifiers(toy)
    a, b = data_fingerprint(toy), data_fingerprint(planted)
    # extra identifier columns never enter the pupils hash
    assert a["tables"]["pupils"] == b["tables"]["pupils"]
    assert "custom:police" in b["tables"] and b["tables"]["custom:police"]["rows"] == 1
    shuffled = type(toy)(**vars(toy))
    shuffled.pupils = toy.pupils.sample(frac=1, random_state=0)
    assert data_fingerprint(shuffled)["tables"]["pupils"] == a["tables"]["pupils"]
    changed = type(toy)(**vars(toy))
    changed.pupils = toy.pupils.assign(sex="F")
    assert data_fingerprint(changed)["combined"] != a["combined"]
    assert UPN not in json.dumps(b)


def test_registry_set_elsewhere_is_never_contacted(toy, toy_api, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{elsewhere}")
    screener = Screener(model="scorecard", n_bootstrap=10).fit(toy, FIT_DATES)
    run = track(screener, store=tmp_path / "store", register_as="riskscreen-registry")
    assert run.registered_version == "1"
    assert not elsewhere.exists()
    from mlflow.tracking import MlflowClient

    local = f"sqlite:///{(tmp_path / 'store' / 'mlflow.db').resolve()}"
    versions = MlflowClient(local, registry_uri=local).search_model_versions(
        "name='riskscreen-registry'"
    )
    assert [int(v.version) for v in versions] == [1]
    # the caller's setting is left as it was
    import os

    assert os.environ["MLFLOW_REGISTRY_URI"] == f"sqlite:///{elsewhere}"
