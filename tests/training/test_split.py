import numpy as np
import pandas as pd
import pytest

from riskscreen.training import TemporalSplit, TemporalSplitDisplay

DATES = pd.to_datetime(
    ["2019-09-01", "2020-01-01", "2020-05-01", "2020-09-01", "2021-01-01", "2021-09-01"]
)


def frame(dates=DATES, n=4):
    idx = pd.MultiIndex.from_product([range(n), dates], names=["pupil_id", "as_of_date"])
    return pd.DataFrame({"x": np.arange(len(idx), dtype=float)}, index=idx)


def test_no_train_label_window_reaches_test_date():
    X = frame()
    cv = TemporalSplit(n_splits=2, horizon="365D")
    dates = X.index.get_level_values("as_of_date")
    folds = list(cv.split(X))
    assert len(folds) == cv.get_n_splits(X) == 2
    for train, test in folds:
        test_dates = dates[test].unique()
        assert len(test_dates) == 1
        assert (dates[train] + pd.Timedelta("365D") <= test_dates[0]).all()
        assert set(train).isdisjoint(test)
    # the latest fold tests on the latest date
    assert dates[folds[-1][1]].unique()[0] == DATES[-1]
    # 2021-09-01 minus a year: 2019-09-01 .. 2020-09-01 qualify, 2021-01-01 does not
    assert sorted(dates[folds[-1][0]].unique()) == list(DATES[:4])


def test_groups_rows_order_does_not_matter():
    X = frame().sample(frac=1, random_state=0)
    groups = X.index.get_level_values("as_of_date")
    a = [(np.sort(tr), np.sort(te)) for tr, te in TemporalSplit(1).split(X)]
    b = [(np.sort(tr), np.sort(te)) for tr, te in TemporalSplit(1).split(groups=groups)]
    for (tra, tea), (trb, teb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(tra, trb)
        np.testing.assert_array_equal(tea, teb)


def test_training_history_limits_and_test_dates():
    X = frame()
    dates = X.index.get_level_values("as_of_date")
    ((train, test),) = TemporalSplit(test_dates=["2021-09-01"], max_train_dates=2).split(X)
    assert sorted(dates[train].unique()) == list(DATES[2:4])
    ((train, _),) = TemporalSplit(test_dates=["2021-09-01"], max_train_span="500D").split(X)
    assert dates[train].min() >= pd.Timestamp("2021-09-01") - pd.Timedelta("500D")
    assert TemporalSplit(test_dates=["2021-09-01", "2021-01-01"]).get_n_splits() == 2


def test_errors_are_clear():
    X = frame()
    with pytest.raises(ValueError, match="n_splits"):
        list(TemporalSplit(n_splits=0).split(X))
    with pytest.raises(ValueError, match="needs 9 test as-of dates"):
        list(TemporalSplit(n_splits=9).split(X))
    with pytest.raises(ValueError, match="horizon"):
        list(TemporalSplit(horizon="-3D").split(X))
    with pytest.raises(ValueError, match="absent"):
        list(TemporalSplit(test_dates=["2030-01-01"]).split(X))
    with pytest.raises(ValueError, match="as-of date"):
        list(TemporalSplit().split(np.zeros((4, 2))))


def test_holdout_is_the_temporal_rule_for_the_screener():
    cv = TemporalSplit(horizon="1Y")
    train, test = cv.holdout(DATES[::-1])  # order does not matter
    assert test == [DATES[-1]]
    assert train == list(DATES[:4])  # 2021-01-01 + 1Y > 2021-09-01
    train, test = cv.holdout(DATES, n_test=2)
    assert test == list(DATES[-2:]) and train == list(DATES[:2])
    assert cv.closes_before("2020-09-01", "2021-09-01")
    assert not cv.closes_before("2020-09-02", "2021-09-01")
    # calendar months: the 12M window of 31 Jan closes on 31 Jan a year on
    assert TemporalSplit(horizon="12M").closes_before("2021-01-31", "2022-01-31")
    with pytest.raises(ValueError, match="needs more than 1 as-of date"):
        cv.holdout(DATES[:1])
    with pytest.raises(ValueError, match="at least horizon='1Y'"):
        cv.holdout(["2021-01-01", "2021-09-01"])


def test_check_test_dates_refuses_dates_inside_a_training_window():
    cv = TemporalSplit(horizon="365D")
    cv.check_test_dates(["2020-01-01"], ["2020-12-31"])
    with pytest.raises(ValueError, match=r"\['2020-12-30'\] fall inside the 365D label window"):
        cv.check_test_dates(["2019-06-01", "2020-01-01"], ["2020-12-30", "2021-06-01"])


def test_cross_val_score_accepts_splitter():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    X = frame(n=40)
    y = (np.arange(len(X)) % 3 == 0).astype(int)
    scores = cross_val_score(LogisticRegression(), X, y, cv=TemporalSplit(2))
    assert len(scores) == 2


def test_display_plots_roles():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X = frame()
    disp = TemporalSplitDisplay.from_splitter(TemporalSplit(2), X)
    roles = disp.folds_.set_index(["fold", "as_of_date"])["role"]
    assert roles.loc[(1, DATES[-1])] == "test"
    assert roles.loc[(1, DATES[4])] == "gap"
    assert roles.loc[(0, DATES[-1])] == "unused"
    assert disp.ax_ is not None
