"""Tracking a Screener fitted on real layers; nothing identifying reaches the store."""

import hashlib
import io
import json
import os
import pathlib
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
from _linked_histories import FIT_DATES, TEST_DATE

from riskscreen import Screener
from riskscreen.tracking import ArtifactIntegrityError, UnsafeObjectError, load_screener, track
from riskscreen.tracking._format import dumps, loads

KEY = "the authority's signing key"


class _Evil:
    """Unpickling this writes a file: proof that a loader ran code from the artefact."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.write_text, (pathlib.Path(self.path), "pwned"))


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
        key=KEY,
    )
    assert run.signed and len(run.sha256) == 64
    assert (store / "mlflow.db").exists()
    # tracking went through its own client: MLflow's process-wide settings are untouched
    assert (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")) == before

    loaded = load_screener(run.screener_uri, store=store, key=KEY)
    again = loaded.score(histories, TEST_DATE)
    pd.testing.assert_frame_equal(again.frame, screening.frame)
    by_registry = load_screener("models:/riskscreen-test/1", store=store, sha256=run.sha256)
    np.testing.assert_array_equal(
        by_registry.score(histories, TEST_DATE).frame["score"], screening.frame["score"]
    )
    by_logged_model = load_screener(run.model_uri, store=store, key=KEY)
    np.testing.assert_array_equal(
        by_logged_model.score(histories, TEST_DATE).frame["score"], screening.frame["score"]
    )
    from mlflow.tracking import MlflowClient

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
    assert any(p.name == "screener.rss" for p in files)
    assert not [p for p in files if p.suffix in (".pkl", ".pickle")]  # nothing that runs code
    assert any(p.name == "feature_spec.csv" for p in files)
    for p in files:
        raw = p.read_bytes()
        for secret in (UPN, NAME, DOB, "Quillfeather"):
            assert secret.encode() not in raw, (secret, p)


@pytest.fixture(scope="module")
def scorecard(linked):
    return Screener(model="scorecard", n_bootstrap=10).fit(linked, FIT_DATES)


def _run_artifact(tmp_path):
    (saved,) = [p for p in (tmp_path / "artifacts").rglob("screener.rss") if "screener" in p.parts]
    return saved


def test_tampered_artifact_is_refused_even_with_its_stored_hash_rewritten(
    scorecard, linked, tmp_path
):
    from mlflow.tracking import MlflowClient

    from riskscreen.tracking._track import SHA_TAG

    run = track(scorecard, linked, store=tmp_path, key=KEY)
    saved = _run_artifact(tmp_path)
    # an attacker who can write the store replaces the file and rewrites the hash beside it
    evil = tmp_path / "pwned"
    payload = pickle.dumps(_Evil(str(evil)))
    saved.write_bytes(payload)
    client = MlflowClient(run.tracking_uri)
    client.set_tag(run.run_id, SHA_TAG, hashlib.sha256(payload).hexdigest())
    for kwargs in ({"key": KEY}, {"sha256": run.sha256}):
        with pytest.raises(ArtifactIntegrityError, match="Refusing to load"):
            load_screener(run.screener_uri, store=tmp_path, **kwargs)
    with pytest.raises(ArtifactIntegrityError, match="pass key= .* or sha256="):
        load_screener(run.screener_uri, store=tmp_path)
    # even the right hash of a pickle loads nothing: the format is never unpickled
    with pytest.raises(ArtifactIntegrityError, match="Not a riskscreen saved object"):
        load_screener(run.screener_uri, store=tmp_path, sha256=hashlib.sha256(payload).hexdigest())
    assert not evil.exists()  # no code from the artefact ran
    with pytest.raises(ValueError, match="'uri'"):
        load_screener("s3://bucket/model", store=tmp_path, key=KEY)


def test_a_forged_state_cannot_name_a_class_outside_the_allow_list(scorecard):
    assert loads(dumps(scorecard)).train_dates_ == scorecard.train_dates_
    tree = {
        "format": "riskscreen.saved-object/1",
        "object": {"__object__": "os:system", "state": {}},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("state.json", json.dumps(tree))
        arrays = io.BytesIO()
        np.savez(arrays)
        zf.writestr("arrays.npz", arrays.getvalue())
    with pytest.raises(ArtifactIntegrityError, match="'os:system'.* not on the list"):
        loads(buffer.getvalue())


def test_models_holding_functions_are_refused_at_tracking_with_a_clear_error(linked, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    model = make_pipeline(
        FunctionTransformer(lambda X: np.nan_to_num(X)), StandardScaler(), LogisticRegression()
    )
    screener = Screener(model=model, n_bootstrap=5).fit(linked, FIT_DATES)
    with pytest.raises(UnsafeObjectError, match="a function or a class of another library"):
        track(screener, store=tmp_path)


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
    run = track(scorecard, store=tmp_path / "store", register_as="riskscreen-registry", key=KEY)
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
