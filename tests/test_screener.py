"""The Screener on real layers: data, features, labels, training, evaluation, no fakes.

The histories are the hand-built authority of ``conftest.risky_histories``.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from _linked_histories import FIT_DATES, TEST_DATE, risky_histories
from rich.console import Console
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import riskscreen
from riskscreen import Screener, Screening
from riskscreen.evaluation import Comparison
from riskscreen.features import Feature, FeatureSpec, build_dataset, default_spec

TRAIN = ["2019-10-01", "2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01"]


@pytest.fixture(scope="module")
def fitted(linked):
    """One fitted screener per model, shared by the read-only tests below."""
    return {
        model: Screener(model=model, n_bootstrap=20).fit(linked, FIT_DATES)
        for model in ("lightgbm", "scorecard")
    }


def test_fit_splits_dates_by_the_temporal_rule_and_records_validation(fitted):
    s = fitted["lightgbm"]
    assert s.calibration_dates_ == ["2022-06-01"]
    assert s.train_dates_ == TRAIN
    assert s.skipped_dates_ == []
    assert isinstance(s.validation_, Comparison)
    assert list(s.validation_.table.index) == [
        "lightgbm",
        "prior_suspensions",
        "attendance",
        "roni_checklist",
    ]
    hints = default_spec().monotone_constraints()
    assert s.model_.monotone_constraints_ == [hints[c] for c in s.feature_names_]
    info = s.model_info_
    assert info["model_class"] == "LGBMRiskModel" and len(info["params_hash"]) == 16
    assert info["riskscreen_version"] == riskscreen.__version__
    assert info["horizon"] == "365D" and info["outcome"] == "suspension"


def test_lightgbm_early_stopping_uses_a_later_date_whose_windows_have_closed(fitted, linked):
    stop = fitted["lightgbm"].early_stopping_
    assert stop["used"] and stop["validation_dates"] == ["2021-06-01"]
    # trained on the dates at least 365 days before 2021-06-01, then refitted on all six
    cohort = build_dataset(linked, TRAIN).cohort
    sizes = cohort.groupby(level="as_of_date").size()
    assert stop["n_train_rows"] == sizes.loc[:"2020-06-01"].sum()
    assert stop["n_validation_rows"] == sizes.loc["2021-06-01"]
    assert fitted["lightgbm"].model_.get_params()["n_estimators"] == stop["best_iteration"]


def test_score_returns_a_screening_with_ranks_bands_and_flags(fitted, linked):
    s = fitted["scorecard"]
    sc = s.score(linked, TEST_DATE)
    assert isinstance(sc, Screening)
    f = sc.to_frame()
    n = len(build_dataset(linked, [TEST_DATE]).X)
    assert len(f) == n and f.index.name == "pupil_id"
    expected = {"school_id", "ncyear", "score", "probability", "decile", "band"}
    assert expected | {"rank", "rank_in_school", "flagged"} <= set(f.columns)
    assert f["flagged"].sum() == sc.k == round(0.05 * n)
    assert sorted(f["rank"]) == list(range(1, n + 1))
    assert f.loc[f["flagged"], "score"].min() >= f.loc[~f["flagged"], "score"].max()
    assert (f.groupby("school_id")["rank_in_school"].min() == 1).all()
    assert f.groupby("band", observed=True)["probability"].mean().is_monotonic_increasing
    assert "| pupil_id |" in sc.to_markdown(5) and "<table" in sc._repr_html_()
    assert sc.model_info["model_class"] == "LogisticScorecard"


def test_per_school_capacity(linked):
    s = Screener(model="scorecard", capacity=2, per_school=True, n_bootstrap=5)
    f = s.fit(linked, FIT_DATES).score(linked, TEST_DATE).to_frame()
    assert (f.groupby("school_id")["flagged"].sum() == 2).all()
    assert (f.loc[f.flagged, "rank_in_school"] <= 2).all()


def test_evaluate_compares_with_baselines_and_bands(fitted, linked):
    comp = fitted["scorecard"].evaluate(linked, TEST_DATE, n_bootstrap=30)
    t = comp.to_frame()
    assert set(t.index) == {"scorecard", "prior_suspensions", "attendance", "roni_checklist"}
    assert (t["precision_at_k_low"] <= t["precision_at_k"]).all()
    assert comp.bands.loc["band", "observed_rate"].is_monotonic_increasing
    assert "of 10 pupils flagged" in str(comp)
    # the model learnt the rule: better than chance, and no worse than prior suspensions
    assert t.loc["scorecard", "roc_auc"] > 0.7
    assert t.loc["scorecard", "average_precision"] > t.loc["prior_suspensions", "average_precision"]


def test_same_data_config_seed_give_identical_scores(fitted, linked):
    a = fitted["lightgbm"].score(linked, TEST_DATE).frame
    b = Screener(n_bootstrap=20).fit(linked, FIT_DATES).score(linked, TEST_DATE).frame
    pd.testing.assert_frame_equal(a, b)


def test_a_folder_and_the_same_data_in_memory_give_the_same_screener(linked, tmp_path):
    # the end of data is 2024-07-31: the 365-day window of 2023-09-01 is incomplete,
    # and both routes must skip it the same way
    dates = [*FIT_DATES, "2023-09-01"]
    folder = linked.save(tmp_path / "la")
    a = Screener(n_bootstrap=10).fit(linked, dates)
    b = Screener(n_bootstrap=10).fit(folder, dates)
    assert a.skipped_dates_ == b.skipped_dates_ == ["2023-09-01"]
    assert a.calibration_dates_ == b.calibration_dates_ == ["2022-06-01"]
    assert a.data_fingerprint_ == b.data_fingerprint_
    assert a.data_fingerprint_["tables"]["attendance"]["rows"] == len(linked.attendance)
    pd.testing.assert_frame_equal(
        a.score(linked, TEST_DATE).frame, b.score(folder, TEST_DATE).frame
    )


def test_one_duckdb_session_per_fit(linked, monkeypatch):
    opened = []
    real = duckdb.connect

    def counting(*args, **kwargs):
        opened.append(kwargs.get("config"))
        return real(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    with riskscreen.config_context(memory_limit="2GB", threads=1):
        s = Screener(n_bootstrap=5).fit(linked, FIT_DATES)
    assert len(opened) == 1
    # the engine settings of the config context reach the one session
    assert opened[0] == {"memory_limit": "2GB", "threads": 1}
    opened.clear()
    s.score(linked, TEST_DATE)
    s.evaluate(linked, TEST_DATE, n_bootstrap=5)
    assert len(opened) == 2


def test_a_dataset_built_once_fits_like_the_histories(fitted, linked):
    data = build_dataset(linked, FIT_DATES, outcome="suspension", horizon="365D")
    s = Screener(model="scorecard", n_bootstrap=20).fit(data)
    assert s.train_dates_ == fitted["scorecard"].train_dates_
    assert s.data_fingerprint_ == fitted["scorecard"].data_fingerprint_
    test = build_dataset(linked, [TEST_DATE], outcome="suspension")
    pd.testing.assert_frame_equal(
        s.score(test).frame, fitted["scorecard"].score(linked, TEST_DATE).frame
    )
    assert (
        s.evaluate(test, n_bootstrap=5).n
        == fitted["scorecard"].evaluate(linked, TEST_DATE, n_bootstrap=5).n
    )
    with pytest.raises(ValueError, match="labelled with outcome 'permanent_exclusion'"):
        Screener(outcome="permanent_exclusion").fit(data)
    with pytest.raises(ValueError, match="horizon '365D'"):
        Screener(horizon="6M").fit(data)


def test_any_classifier_or_pipeline_can_be_the_model(linked):
    pipe = make_pipeline(
        FunctionTransformer(lambda X: np.nan_to_num(X)), StandardScaler(), LogisticRegression()
    )
    s = Screener(model=pipe, n_bootstrap=5).fit(linked, FIT_DATES)
    assert s.model_info_["model_class"] == "Pipeline"
    assert s.early_stopping_["used"] is False
    assert s.score(linked, TEST_DATE).frame["probability"].between(0, 1).all()


def _error(call) -> str:
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def test_contract_and_parameters_checked_before_any_data_are_read(linked, monkeypatch):
    s = Screener(model="scorecard", capacity=10)
    assert vars(clone(s)) == vars(s)
    assert not [k for k in vars(s) if k.endswith("_")]
    s.set_params(capacity=0.1)
    assert s.get_params()["capacity"] == 0.1
    monkeypatch.setattr(duckdb, "connect", None)  # reading data now would crash differently
    cases = {
        "'model' parameter of Screener": dict(model="forest"),
        "'calibration' parameter of Screener": dict(calibration="beta"),
        "'horizon' parameter of Screener": dict(horizon="-1D"),
        "'outcome' parameter of Screener": dict(outcome="cme"),
        "'capacity' parameter of Screener": dict(capacity=0),
        "'bands' parameter of Screener": dict(bands=(0.9, 0.8)),
        "'band_on' parameter of Screener": dict(band_on="rank"),
        "'validation_dates' parameter of Screener": dict(validation_dates=0),
        "'spec' parameter of Screener": dict(spec="default"),
    }
    for message, params in cases.items():
        assert message in _error(lambda p=params: Screener(**p).fit(linked, FIT_DATES))
    assert "'as_of_dates' parameter of Screener.fit" in _error(
        lambda: Screener().fit(linked, ["not a date"])
    )
    with pytest.raises(NotFittedError):
        Screener().score(linked, TEST_DATE)


def test_dates_that_cannot_train_are_refused_clearly(linked):
    assert "complete 365D label windows" in _error(lambda: Screener().fit(linked, ["2022-06-01"]))
    assert "at least horizon='365D'" in _error(
        lambda: Screener().fit(linked, ["2021-09-01", "2022-06-01"])
    )


def test_baselines_whose_columns_are_missing_are_skipped_and_said(linked, caplog):
    spec = FeatureSpec(
        [
            Feature("suspensions_all", "exclusions", "count", "all", monotone=1),
            Feature(
                "attendance_rate_1y",
                "attendance",
                "rate",
                "1Y",
                column={"sessions_possible": 1, "sessions_unauthorised_absent": -1},
                denominator="sessions_possible",
                impute=0.93,
                monotone=-1,
            ),
        ]
    )
    s = Screener(model="scorecard", spec=spec, n_bootstrap=5).fit(linked, FIT_DATES)
    assert set(s.baselines_skipped_) == {"prior_suspensions", "roni_checklist"}
    assert list(s.validation_.table.index) == ["scorecard", "attendance"]
    assert "Rule baseline 'prior_suspensions' not available" in caplog.text
    needs = s.baselines_skipped_["prior_suspensions"]
    assert needs == "needs suspension_count_1y, suspension_count_all"


def test_screening_writes_csv_atomically_and_renders(fitted, linked, tmp_path):
    s = fitted["scorecard"]
    sc = s.score(linked, TEST_DATE)
    path = sc.write_csv(tmp_path / "out" / "screening.csv")
    back = pd.read_csv(path)
    assert back["rank"].tolist() == sorted(back["rank"])
    assert back["pupil_id"].nunique() == len(sc.frame)
    assert [p.name for p in path.parent.iterdir()] == ["screening.csv"]  # no temp files
    assert path.stat().st_mode & 0o044  # readable like any other output, not 0600
    assert sc.summary()["n_flagged"].sum() == sc.k
    assert "Screening for suspension" in repr(sc)
    console = Console(record=True, width=150)
    console.print(s.validation_.to_rich())
    assert "roni_checklist" in console.export_text()


def test_evaluate_refuses_dates_the_model_has_seen_or_cannot_yet_label(fitted, linked):
    s = fitted["scorecard"]
    assert s.train_dates_[-1] == "2021-06-01"
    # 2021-09-01 lies inside the last training date's 365-day label window
    assert "label window of training date 2021-06-01" in _error(
        lambda: s.evaluate(linked, "2021-09-01", n_bootstrap=5)
    )
    # the end of data is 2024-07-31: a 365-day window from 2023-09-01 is incomplete
    assert "runs past the end of data 2024-07-31" in _error(
        lambda: s.evaluate(linked, "2023-09-01", n_bootstrap=5)
    )
    # a custom source recorded later moves the end of data, and the window completes
    later = risky_histories()
    notices = pd.DataFrame(
        {"pupil_id": [1], "date": pd.to_datetime(["2024-09-02"]).astype("datetime64[us]")}
    )
    later.add_source("police_notices", notices, value_columns=[])
    assert later.end_of_data() == pd.Timestamp("2024-09-02")
    assert s.evaluate(later, "2023-09-01", n_bootstrap=5).n > 0
    # the calibration date itself is allowed, and the overlap is stated
    comp = s.evaluate(linked, "2022-06-01", n_bootstrap=5)
    assert any("overlap the calibration fold" in note for note in comp.notes)
