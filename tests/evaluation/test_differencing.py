"""No suppressed count of one evaluation can be worked back from its other published figures.

The check is independent of the suppression code: every published figure that
counts pupils with the outcome is written as its own 0/1 (or tie-share) vector
over the individual pupils with the outcome, and a hidden figure is recoverable
exactly when its vector is a linear combination of the published ones (adding
and subtracting published figures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.evaluation import protect_cells
from riskscreen.evaluation._bands import deciles
from riskscreen.evaluation._ranking import flag_weights
from riskscreen.features import build_dataset

FIT = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
TEST = "2023-06-01"


def in_span(row, published) -> bool:
    if not published:
        return not np.any(row)
    P = np.vstack(published)
    coef, *_ = np.linalg.lstsq(P.T, row, rcond=None)
    return bool(np.abs(P.T @ coef - row).max() < 1e-8)


@pytest.fixture(scope="module")
def evaluation():
    # big enough that one decile alone is small (primary suppression would not do)
    h = make_linked_histories(n_pupils=5000, seed=3)
    train = build_dataset(h, FIT, outcome="suspension")
    test = build_dataset(h, [TEST], outcome="suspension")
    screener = Screener(model="scorecard", n_bootstrap=20).fit(train)
    return screener, test, screener.evaluate(test)


def test_no_hidden_outcome_count_is_a_sum_or_difference_of_published_ones(evaluation):
    screener, test, comparison = evaluation
    y = test.y.reindex(test.X.index).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    positive = np.nan_to_num(y) > 0
    Xm = screener._model_X(test.X)
    raw, proba = screener._scores(Xm)
    scores = {screener._model_name(): raw}
    scores |= {name: b.decision_function(Xm) for name, b in screener.baselines_.items()}
    pupils = test.X.index.get_level_values("pupil_id").to_numpy()
    levels = {
        "band": np.asarray(screener._bands_of(raw, proba, pupils), dtype=object),
        "decile": deciles(raw),
    }
    figures = {}
    for name, s in scores.items():
        shown = name not in comparison.withheld
        assert shown == (not np.isnan(comparison.table.loc[name, "precision_at_k"]))
        figures[("tp", name)] = (flag_weights(s, screener.capacity)[positive], shown)
    figures[("total",)] = (np.ones(positive.sum()), True)  # the header's count
    bands = comparison.bands
    for grouping, lv in levels.items():
        for level in pd.unique(lv):
            shown = not pd.isna(bands.loc[(grouping, level), "n_outcome"])
            figures[(grouping, level)] = ((lv[positive] == level).astype(float), shown)
            if shown:  # the published number is the count it stands for
                assert bands.loc[(grouping, level), "n_outcome"] == (lv[positive] == level).sum()
    published = [vec for vec, shown in figures.values() if shown]
    hidden = {key: vec for key, (vec, shown) in figures.items() if not shown}
    assert hidden, "the authority should have something to hide"
    for key, vec in hidden.items():
        assert not in_span(vec, published), f"{key} can be worked back"
    # every count under 5 is hidden
    for key, (vec, shown) in figures.items():
        if 0 < vec.sum() < 5:
            assert not shown, key


def test_the_printed_and_written_forms_show_nothing_hidden(evaluation, tmp_path):
    _, _, comparison = evaluation
    text = str(comparison) + comparison.to_markdown() + comparison.to_html()
    frame = comparison.to_frame()
    frame.to_csv(tmp_path / "comparison.csv")
    written = pd.read_csv(tmp_path / "comparison.csv", index_col=0)
    for name in comparison.withheld:
        assert np.isnan(written.loc[name, "precision_at_k"])
        assert np.isnan(written.loc[name, "recall_at_k"])
        assert f"{name}: how many of its list" in text
    hidden = comparison.bands[comparison.bands["n_outcome"].isna()]
    assert hidden["observed_rate"].isna().all()  # the rate would give the count away


def test_secondary_suppression_reaches_across_tables():
    # two bands and three deciles over the same pupils: band A = deciles 1+2,
    # band B = decile 3. Decile 1 is small; hiding decile 2 alone is not enough,
    # since decile 1 = band A - decile 2: band A must go too, or decile 2 with it.
    weights = [
        [1, 0, 0],  # decile 1
        [0, 1, 0],  # decile 2
        [0, 0, 1],  # decile 3
        [1, 1, 0],  # band A
        [0, 0, 1],  # band B
        [1, 1, 1],  # total
    ]
    values = [3, 20, 30, 23, 30, 53]
    hide = protect_cells(
        weights,
        values,
        can_hide=[True] * 5 + [False],
        kinds=["decile"] * 3 + ["band"] * 2 + ["total"],
    )
    assert hide[0] and not hide[5]
    published = [np.array(w, float) for w, h in zip(weights, hide, strict=True) if not h]
    for w, h in zip(weights, hide, strict=True):
        if h:
            assert not in_span(np.array(w, float), published)


def test_the_screening_summary_hides_small_band_counts(evaluation):
    screener, test, _ = evaluation
    screening = screener.score(test)
    raw = screening.frame.groupby("band", observed=False)["flagged"].agg(["size", "sum"])
    summary = screening.summary()
    for band, (n, flagged) in raw.iterrows():
        if 0 < flagged < 5:
            assert pd.isna(summary.loc[band, "n_flagged"]) and summary.loc[band, "suppressed"]
        if 0 < n < 5:
            assert pd.isna(summary.loc[band, "n_pupils"])
            assert np.isnan(summary.loc[band, "mean_probability"])
    shown = summary["n_flagged"].dropna()
    assert (shown == raw.loc[shown.index, "sum"]).all()
    # the medium band holds none of a 5% list, the low band none: zeros are shown
    assert summary["n_flagged"].notna().sum() >= 2
