"""End to end on the synthetic local authority: features -> screener -> evaluation ->
MLflow -> load back; and the demo. One session-scoped synthetic LA keeps this fast."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

N_PUPILS = 8000
SEED = 0
FIT_DATES = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
TEST_DATE = "2023-06-01"
UPN = "A123456789012"
NAME = "Zebedee Quillfeather"
DOB = "2011-06-17"
BASELINES = ("prior_suspensions", "attendance", "roni_checklist")


@pytest.fixture(scope="module")
def histories():
    from riskscreen.datasets import make_linked_histories

    return make_linked_histories(n_pupils=N_PUPILS, seed=SEED)


@pytest.fixture(scope="module")
def data(histories):
    from riskscreen.features import build_dataset

    train = build_dataset(histories, FIT_DATES, outcome="suspension")
    test = build_dataset(histories, [TEST_DATE], outcome="suspension")
    return train, test


@pytest.fixture(scope="module")
def lightgbm(histories):
    from riskscreen import Screener

    # the full path: Screener builds its own features and labels
    return Screener(model="lightgbm", n_bootstrap=100).fit(histories, FIT_DATES)


@pytest.fixture(scope="module")
def scorecard(data):
    from riskscreen import Screener

    # the features built once, shared by several models
    return Screener(model="scorecard", n_bootstrap=100).fit(data[0])


@pytest.mark.parametrize("model", ["lightgbm", "scorecard"])
def test_models_beat_every_rule_baseline_on_a_later_date(model, request, data, capsys):
    screener = request.getfixturevalue(model)
    comparison = screener.evaluate(data[1])
    print(comparison)  # the comparison, with bootstrap intervals, in the test log
    table = comparison.to_frame()
    assert "of 10 pupils flagged, about" in capsys.readouterr().out
    assert comparison.k == round(0.05 * comparison.n)
    for baseline in BASELINES:
        assert table.loc[model, "precision_at_k"] > table.loc[baseline, "precision_at_k"]
        assert table.loc[model, "average_precision"] > table.loc[baseline, "average_precision"]
    assert table.loc[model, "precision_at_k_low"] < table.loc[model, "precision_at_k"]
    assert table.loc[model, "precision_at_k"] < table.loc[model, "precision_at_k_high"]
    # calibrated on 2022-06-01, tested a year later: honest level for ~4,700 pupils
    # (0.02 is the target at the default 20,000; the demo reports it)
    assert table.loc[model, "ece"] <= 0.03
    rates = comparison.bands.loc["band", "observed_rate"]
    assert rates["low"] < rates["medium"] < rates["high"]


def test_full_path_score_and_evaluate_match_prebuilt_features(lightgbm, histories, data):
    test = data[1]
    screening = lightgbm.score(histories, TEST_DATE)
    same = lightgbm.score(test)
    pd.testing.assert_frame_equal(screening.frame, same.frame)
    f = screening.to_frame()
    assert f["flagged"].sum() == round(0.05 * len(f))
    assert f["school_id"].notna().all() and f["ncyear"].between(5, 11).all()
    assert lightgbm.train_dates_ == FIT_DATES[:5]
    assert lightgbm.calibration_dates_ == FIT_DATES[5:]
    # early stopping holds out 2021-06-01 and trains only on dates whose label
    # windows have closed by then (2020-02-01 and 2020-06-01)
    stop = lightgbm.early_stopping_
    assert stop["used"] and stop["validation_dates"] == ["2021-06-01"]
    comparison = lightgbm.evaluate(histories, TEST_DATE, n_bootstrap=20)
    # the list the panel sees: pupils with an unknown outcome keep their places
    assert comparison.n == len(test.y) and comparison.n_censored == int(test.y.isna().sum())


def test_reproducible_scores(data, scorecard):
    from riskscreen import Screener

    train, test = data
    again = Screener(model="scorecard", n_bootstrap=100).fit(train)
    pd.testing.assert_frame_equal(again.score(test).frame, scorecard.score(test).frame)


def planted(histories):
    """A UPN, a name and a full date of birth smuggled into the input."""
    from riskscreen.features import Feature, default_spec

    h = histories.copy()
    pupils = h.pupils
    pupils["upn"] = "X000000000000"
    pupils["legal_name"] = "Nobody"
    pupils["date_of_birth"] = pd.Timestamp("2010-01-01")
    pupils.loc[pupils.index[0], ["upn", "legal_name"]] = [UPN, NAME]
    pupils.loc[pupils.index[0], "date_of_birth"] = pd.Timestamp(DOB)
    h.pupils = pupils
    ids = pupils["pupil_id"].to_numpy()[:50]
    police = pd.DataFrame(
        {
            "pupil_id": ids,
            "date": pd.Timestamp("2021-01-15"),
            "notifications": 1,
            "officer_note": f"seen with {NAME}",
            "upn": UPN,
            "dob": DOB,
        }
    )
    h.add_source("police", police, value_columns=["notifications"])
    spec = default_spec() + [
        Feature(
            "police_notifications",
            "police",
            "count",
            window="1Y",
            description="Police notifications in the last year",
            monotone=1,
        )
    ]
    return h, spec


def test_tracked_fit_loads_back_identically_and_logs_no_identifiers(histories, tmp_path):
    from mlflow.tracking import MlflowClient

    from riskscreen import Screener
    from riskscreen.tracking import load_screener, track

    h, spec = planted(histories)
    screener = Screener(model="lightgbm", spec=spec, n_bootstrap=20).fit(h, FIT_DATES)
    assert "police_notifications" in screener.feature_names_
    assert "yot_police" not in screener.baselines_["roni_checklist"].criteria_skipped_
    evaluation = screener.evaluate(h, TEST_DATE, n_bootstrap=20)
    screening = screener.score(h, TEST_DATE)
    store = tmp_path / "mlruns"
    run = track(
        screener,
        h,
        run_name="pii-check",
        store=store,
        evaluation=evaluation,
        screening=screening,
        register_as="riskscreen-suspension",
        key="k",
    )

    loaded = load_screener(run.screener_uri, store=store, sha256=run.sha256)
    pd.testing.assert_frame_equal(loaded.score(h, TEST_DATE).frame, screening.frame)
    from_registry = load_screener("models:/riskscreen-suspension/1", store=store, key="k")
    np.testing.assert_array_equal(
        from_registry.score(h, TEST_DATE).frame["score"],
        screening.frame["score"],
    )

    data = MlflowClient(tracking_uri=run.tracking_uri).get_run(run.run_id).data
    blob = json.dumps([data.params, data.metrics, data.tags], default=str)
    secrets = (UPN, NAME, DOB, "Quillfeather", "17/06/2011", "20110617")
    assert not [s for s in secrets if s in blob]
    files = [p for p in store.rglob("*") if p.is_file()]
    assert len(files) > 5
    leaks = [(s, str(p)) for p in files for s in secrets if s.encode() in p.read_bytes()]
    assert leaks == []


def test_demo_runs_end_to_end(tmp_path):
    from rich.console import Console

    from riskscreen.demo import run_demo

    console = Console(record=True, width=120)
    result = run_demo(out=tmp_path, n_pupils=3000, seed=0, n_bootstrap=20, console=console)
    text = console.export_text()
    assert "prior_suspensions" in text and "of 10 pupils flagged" in text
    csv = pd.read_csv(result.screening_csv)
    assert {"pupil_id", "school_id", "score", "probability", "band", "flagged"} <= set(csv)
    assert csv["flagged"].sum() == result.screening.k
    assert (tmp_path / "mlruns" / "mlflow.db").exists()
    assert list(result.comparison.table.index[:2]) == ["lightgbm", "scorecard"]
    # only pseudonymous ids and derived numbers are written
    forbidden = {"upn", "name", "date_of_birth", "postcode", "birth_month"}
    assert not forbidden & {c.lower() for c in csv.columns}
    # every flag has reasons in words, and each school with flags has its panel pack,
    # the test date's saying what changed since the previous panel
    reasons = result.explanation.reasons_wide()
    assert set(reasons.index) == set(
        result.screening.frame.index[result.screening.frame["flagged"]]
    )
    assert (reasons["reason_1"] != "").all()
    assert "Reasons for one flagged pupil:" in text and "Panel packs for" in text
    names = {p.name for p in result.pack_paths}
    schools = result.screening.to_frame().query("flagged")["school_id"].dropna().unique()
    for school in schools:
        assert {
            f"panel_2023-06-01_school_{school}.{ext}" for ext in ("xlsx", "html", "csv")
        } <= names
    assert (tmp_path / "panel_packs" / "2023-02-01").is_dir()
    from riskscreen.panel import read_decisions

    decisions = read_decisions(tmp_path / "panel_packs" / "2023-06-01")
    assert len(decisions.table) == result.screening.k
    # the model card, the ATRS record, the lists' snapshots and the front page
    assert {"html", "markdown", "json", "record_markdown"} <= set(result.card_paths)
    card = result.card_paths["markdown"].read_text()
    assert "## Metrics at capacity" in card and "out-of-scope" in card.lower()
    from riskscreen.interventions import SnapshotStore

    snaps = SnapshotStore(tmp_path / "snapshots").list()
    assert sorted(snaps["as_of_date"].dt.strftime("%Y-%m-%d")) == ["2023-02-01", "2023-06-01"]
    page = result.index_html.read_text()
    assert "<svg" in page and "http://" not in page and "https://" not in page
    import re

    links = re.findall(r'href="([^"#]+)"', page)
    assert len(links) >= 8 and all((tmp_path / href).is_file() for href in links)
    precision = result.comparison.table.loc["lightgbm", "precision_at_k"]
    assert f"{precision:.3f}" in page
    # a rerun into the same folder works (snapshots of the same lists are kept)
    run_demo(out=tmp_path, n_pupils=3000, seed=0, n_bootstrap=20, console=Console(record=True))
