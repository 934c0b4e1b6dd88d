"""track(..., card=) and ModelCard.log: the card's files in the MLflow run."""

from __future__ import annotations

import pytest
from _linked_histories import FIT_DATES, TEST_DATE

from riskscreen import Screener
from riskscreen.model_cards import ModelCard
from riskscreen.tracking import track
from riskscreen.tracking._store import client

CARD_FILES = {
    "model_card/atrs_record.json",
    "model_card/atrs_record.md",
    "model_card/figures",
    "model_card/model_card.html",
    "model_card/model_card.json",
    "model_card/model_card.md",
}


@pytest.fixture(scope="module")
def fitted(linked):
    screener = Screener(model="scorecard", n_bootstrap=10).fit(linked, FIT_DATES)
    comparison = screener.evaluate(linked, TEST_DATE, n_bootstrap=10)
    return screener, comparison, ModelCard.from_run(screener, comparison)


def test_track_logs_the_card_with_the_run(fitted, tmp_path):
    screener, comparison, card = fitted
    run = track(screener, store=tmp_path / "store", evaluation=comparison, card=card)
    mlflow = client(run.tracking_uri)
    listed = {a.path for a in mlflow.list_artifacts(run.run_id, "model_card")}
    assert listed == CARD_FILES
    figures = {a.path for a in mlflow.list_artifacts(run.run_id, "model_card/figures")}
    assert figures == {f"model_card/figures/{f.name}.svg" for f in card.figures}
    local = mlflow.download_artifacts(run.run_id, "model_card/model_card.md", str(tmp_path))
    with open(local, encoding="utf-8") as fh:
        assert fh.read() == card.to_markdown(figure_dir="figures")
    # the other artefacts are logged as before
    assert {a.path for a in mlflow.list_artifacts(run.run_id)} >= {"model_card", "tables"}


def test_log_adds_the_card_to_a_run_and_track_refuses_another_screeners_card(
    fitted, linked, tmp_path
):
    screener, comparison, card = fitted
    run = track(screener, store=tmp_path / "store", evaluation=comparison)
    mlflow = client(run.tracking_uri)
    assert "model_card" not in {a.path for a in mlflow.list_artifacts(run.run_id)}
    assert card.log(run) == f"runs:/{run.run_id}/model_card"
    listed = {a.path for a in mlflow.list_artifacts(run.run_id, "model_card")}
    assert listed == CARD_FILES
    other = Screener(model="scorecard", n_bootstrap=10, capacity=0.1).fit(linked, FIT_DATES)
    assert card.describes(screener) and not card.describes(other)
    with pytest.raises(ValueError, match="'card' parameter of track"):
        track(other, store=tmp_path / "store2", card=card)
    assert not (tmp_path / "store2" / "artifacts").exists()  # refused before any run
