"""One run of the hand-built authority, with real identifiers planted in its input.

Every pupil has a text key ("PUPIL00001", ...) and the pupil with the most
suspensions before the test date -- the one most surely on the list and
explained -- has a UPN as its key. A name, a UPN and a full date of birth are
smuggled into extra columns of ``pupils`` and into a custom source. The card is
generated from that run, so every test can check that none of it comes out.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from _linked_histories import FIT_DATES, TEST_DATE

UPN = "A123456789012"
NAME = "Zebedee Quillfeather"
DOB = "2011-06-17"
KEY_PREFIX = "PUPIL"
#: A rule baseline that cannot run on the features (shown as "not available").
MISSING_RULE = "caseworker_rule"


def planted_histories(linked):
    """``linked`` with text keys, a UPN as one pupil's key, and identifiers in extra columns."""
    from riskscreen.data import LinkedHistories

    suspensions = linked.exclusions[linked.exclusions["start_date"] < pd.Timestamp(TEST_DATE)]
    riskiest = suspensions["pupil_id"].value_counts().idxmax()
    ids = linked.pupils["pupil_id"]
    keys = {i: f"{KEY_PREFIX}{int(i):05d}" for i in ids}
    keys[riskiest] = UPN
    tables = {}
    for name, frame in linked.tables().items():
        frame = frame.copy()
        if "pupil_id" in frame.columns:
            frame["pupil_id"] = frame["pupil_id"].map(keys).astype("str")
        tables[name] = frame
    pupils = tables["pupils"]
    pupils["upn"] = pd.Series([UPN] + [""] * (len(pupils) - 1), dtype="str")
    pupils["full_name"] = pd.Series([NAME] * len(pupils), dtype="str")
    pupils["date_of_birth"] = pd.Timestamp(DOB)
    histories = LinkedHistories(**tables)
    police = pd.DataFrame(
        {
            "pupil_id": pd.Series([UPN, keys[ids.iloc[1]]], dtype="str"),
            "date": pd.to_datetime(["2021-02-01", "2022-03-04"]).astype("datetime64[us]"),
            "officer_note": pd.Series([f"{NAME} seen", NAME], dtype="str"),
            "dob": pd.Series([DOB, DOB], dtype="str"),
        }
    )
    return histories.add_source("police", police, value_columns=[]).validate()


@pytest.fixture(scope="package")
def run(linked):
    """The run: datasets, screener, comparison (with its audit), screening, explanation, card."""
    from riskscreen import Screener
    from riskscreen.explain import explain
    from riskscreen.features import build_dataset
    from riskscreen.model_cards import ModelCard
    from riskscreen.training import FeatureRanker, default_baselines

    histories = planted_histories(linked)
    train = build_dataset(histories, FIT_DATES, outcome="suspension")
    test = build_dataset(histories, [TEST_DATE], outcome="suspension", sensitive=True)
    baselines = {**default_baselines(), MISSING_RULE: FeatureRanker("caseworker_concern")}
    screener = Screener(model="lightgbm", n_bootstrap=20, baselines=baselines).fit(train)
    comparison = screener.evaluate(test)
    screening = screener.score(test)
    explanation = explain(screener, screening, pupils="flagged", histories=histories)
    card = ModelCard.from_run(
        screener, comparison, explanation=explanation, train_data=train, test_data=test
    )
    return SimpleNamespace(
        histories=histories,
        train=train,
        test=test,
        screener=screener,
        comparison=comparison,
        audit=comparison.audit,
        screening=screening,
        explanation=explanation,
        card=card,
    )


@pytest.fixture(scope="package")
def written(run, tmp_path_factory):
    """The card and its record written to a folder: {kind: path}."""
    return run.card.write(tmp_path_factory.mktemp("card"))
