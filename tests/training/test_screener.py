import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import riskscreen
from riskscreen.training import Comparison, Screener, Screening

FIT_DATES = ["2020-09-01", "2021-01-01", "2021-05-01", "2021-09-01", "2022-01-01", "2022-05-01"]


def fit(toy, **kw):
    return Screener(n_bootstrap=50, **kw).fit(toy, FIT_DATES)


def test_fit_splits_dates_by_horizon_and_records_validation(toy, toy_api):
    s = fit(toy)
    assert s.calibration_dates_ == ["2022-05-01"]
    assert s.train_dates_ == ["2020-09-01", "2021-01-01", "2021-05-01"]
    assert isinstance(s.validation_, Comparison)
    assert list(s.validation_.table.index) == [
        "lightgbm",
        "prior_suspensions",
        "attendance",
        "roni_checklist",
    ]
    assert s.model_.monotone_constraints_[:3] == [1, 1, -1]
    info = s.model_info_
    assert info["model_class"] == "LGBMRiskModel" and len(info["params_hash"]) == 16
    assert info["riskscreen_version"] == riskscreen.__version__


def test_score_returns_a_screening_with_ranks_bands_and_flags(toy, toy_api):
    s = fit(toy, model="scorecard", capacity=0.05)
    sc = s.score(toy, "2023-06-01")
    assert isinstance(sc, Screening)
    f = sc.to_frame()
    assert len(f) == 3000 and f.index.name == "pupil_id"
    assert {
        "school_id",
        "ncyear",
        "score",
        "probability",
        "decile",
        "band",
        "rank",
        "rank_in_school",
        "flagged",
    } <= set(f.columns)
    assert f["flagged"].sum() == sc.k == 150
    assert sorted(f["rank"]) == list(range(1, 3001))
    # flagged = the 150 highest scores
    assert f.loc[f["flagged"], "score"].min() >= f.loc[~f["flagged"], "score"].max()
    # rank within school restarts at 1 in every school
    assert (f.groupby("school_id")["rank_in_school"].min() == 1).all()
    assert f.groupby("band", observed=True)["probability"].mean().is_monotonic_increasing
    assert sc.features.shape[0] == 3000
    assert "| pupil_id |" in sc.to_markdown(5) and "<table" in sc._repr_html_()
    assert sc.model_info["model_class"] == "LogisticScorecard"


def test_per_school_capacity(toy, toy_api):
    s = fit(toy, model="scorecard", capacity=2, per_school=True)
    f = s.score(toy, "2023-06-01").to_frame()
    per_school = f.groupby("school_id")["flagged"].sum()
    assert (per_school == 2).all()
    assert (f.loc[f.flagged, "rank_in_school"] <= 2).all()


def test_evaluate_compares_with_baselines_and_bands(toy, toy_api):
    s = fit(toy, model="scorecard")
    comp = s.evaluate(toy, "2022-05-01", n_bootstrap=30)
    t = comp.to_frame()
    assert set(t.index) == {"scorecard", "prior_suspensions", "attendance", "roni_checklist"}
    assert (t["precision_at_k_low"] <= t["precision_at_k"]).all()
    rates = comp.bands.loc["band", "observed_rate"]
    assert rates.is_monotonic_increasing
    assert "of 10 pupils flagged" in str(comp)


def test_same_data_config_seed_give_identical_scores(toy, toy_api):
    a = fit(toy).score(toy, "2023-06-01").frame
    b = fit(toy).score(toy, "2023-06-01").frame
    pd.testing.assert_frame_equal(a, b)


def test_any_classifier_or_pipeline_can_be_the_model(toy, toy_api):
    pipe = make_pipeline(
        FunctionTransformer(lambda X: np.nan_to_num(X)), LogisticRegression(max_iter=2000)
    )
    s = fit(toy, model=pipe)
    assert s.model_info_["model_class"] == "Pipeline"
    assert s.score(toy, "2023-06-01").frame["probability"].between(0, 1).all()


def test_contract_and_errors(toy, toy_api):
    s = Screener(model="scorecard", capacity=10)
    assert vars(clone(s)) == vars(s)
    assert not [k for k in vars(s) if k.endswith("_")]
    s.set_params(capacity=0.1)
    assert s.get_params()["capacity"] == 0.1
    with pytest.raises(ValueError, match="'model'"):
        Screener(model="forest").fit(toy, FIT_DATES)
    with pytest.raises(ValueError, match="'calibration'"):
        Screener(calibration="beta").fit(toy, FIT_DATES)
    with pytest.raises(ValueError, match="horizon"):
        Screener(horizon="-1D").fit(toy, FIT_DATES)
    with pytest.raises(ValueError, match="complete"):
        Screener().fit(toy, ["2022-05-01"])
    with pytest.raises(ValueError, match="at least horizon"):
        Screener().fit(toy, ["2021-09-01", "2022-05-01"])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Screener().score(toy, "2023-06-01")


def test_baselines_whose_columns_are_missing_are_skipped_and_said(toy, toy_api, caplog):
    X = toy.X.drop(columns=["suspension_count_1y"])
    s = Screener(model="scorecard", n_bootstrap=10).fit_features(X, toy.y)
    assert "prior_suspensions" in s.baselines_skipped_
    assert "prior_suspensions" not in s.validation_.table.index
    assert "Rule baseline 'prior_suspensions' skipped" in caplog.text


def test_screening_writes_csv_atomically_and_renders(toy, toy_api, tmp_path):
    s = fit(toy, model="scorecard")
    sc = s.score(toy, "2023-06-01")
    path = sc.write_csv(tmp_path / "out" / "screening.csv")
    back = pd.read_csv(path)
    assert back["rank"].tolist() == sorted(back["rank"])
    assert back["pupil_id"].nunique() == len(sc.frame)
    assert [p.name for p in path.parent.iterdir()] == ["screening.csv"]  # no temp files
    assert path.stat().st_mode & 0o044  # readable like any other output, not 0600
    summary = sc.summary()
    assert summary["n_flagged"].sum() == sc.k
    assert "Screening for suspension" in repr(sc)
    from rich.console import Console

    console = Console(record=True, width=150)
    console.print(s.validation_.to_rich())
    assert "roni_checklist" in console.export_text()


def test_lightgbm_early_stopping_respects_the_label_horizon(toy, toy_api):
    s = fit(toy, model="lightgbm")
    assert s.model_.horizon == s.horizon
    stop = s.model_.early_stopping_
    dates = pd.to_datetime(s.train_dates_)
    if stop["used"]:
        (held_out,) = pd.to_datetime(stop["validation_dates"])
        n_clean = int(sum(d + pd.Timedelta(s.horizon) <= held_out for d in dates) * 3000)
        assert stop["n_train_rows"] == n_clean
    else:
        # no training date's label window closes before the held-out date
        held_out = dates.max()
        assert not any(d + pd.Timedelta(s.horizon) <= held_out for d in dates)


def test_evaluate_refuses_dates_the_model_has_seen_or_cannot_yet_label(toy, toy_api):
    s = fit(toy, model="scorecard")
    assert s.train_dates_[-1] == "2021-05-01"
    # 2021-09-01 lies inside the last training date's 365-day label window
    with pytest.raises(ValueError, match=r"label window of training date 2021-05-01"):
        s.evaluate(toy, "2021-09-01", n_bootstrap=10)
    # events are recorded up to 2023-12-31: a 365-day window from 2023-06-01 is incomplete
    later = type(toy)(**vars(toy))
    later.exclusions = pd.DataFrame({"start_date": pd.to_datetime(["2021-03-01", "2023-12-31"])})
    with pytest.raises(ValueError, match=r"runs past the last recorded date 2023-12-31"):
        s.evaluate(later, "2023-06-01", n_bootstrap=10)
    # the calibration date itself is allowed, and the overlap is stated
    comp = s.evaluate(later, "2022-05-01", n_bootstrap=10)
    assert any("overlap the calibration fold" in note for note in comp.notes)
