"""explain() on a fitted screener: whom it explains, what it returns, how it renders."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from _explain_cases import TEST_DATE, screened, synthetic

from riskscreen.explain import Explanation, explain
from riskscreen.explain._columns import resolve_columns
from riskscreen.explain._context import spell_starts
from riskscreen.explain._reasons import reason_table


def test_all_pupils_with_the_top_reasons_and_global_importance():
    screener, screening = screened("lightgbm")
    e = explain(screener, screening, n_reasons=2)
    assert isinstance(e, Explanation)
    assert e.values.index.equals(screening.frame.index)
    assert list(e.values.columns) == screener.feature_names_
    assert set(e.reasons.columns) == {
        "pupil_id",
        "rank",
        "group",
        "direction",
        "contribution",
        "text",
    }
    assert e.reasons.groupby("pupil_id")["rank"].max().max() == 2
    assert e.n_importance_rows == len(screening.frame)
    assert e.importance["mean_abs"].is_monotonic_decreasing
    # the global importance of a group is the mean |sum of its columns|
    g = e.importance.index[0]
    assert e.importance.loc[g, "mean_abs"] == pytest.approx(e.group_values()[g].abs().mean())
    # each reason's contribution is its group's value for that pupil
    first = e.reasons.iloc[0]
    assert first["contribution"] == pytest.approx(
        e.group_values().loc[first["pupil_id"], first["group"]]
    )
    assert first["direction"] in ("raises risk", "lowers risk")
    assert first["text"].endswith(f"({first['direction']})")


def test_flagged_pupils_only_with_importance_from_a_sample():
    screener, screening = screened("lightgbm")
    e = explain(screener, screening, pupils="flagged", importance_sample=500)
    assert set(e.values.index) == set(screening.flagged().index)
    assert e.n_importance_rows == 500
    assert e.reasons_wide().shape == (len(e.values), 3)
    pupil = e.values.index[0]
    table = e.pupil(pupil)
    assert table["contribution"].abs().is_monotonic_decreasing
    assert table["contribution"].sum() + e.base_value == pytest.approx(
        screening.frame.loc[pupil, "score"]
    )


def test_pupils_are_chosen_by_id_and_unknown_ids_are_not_echoed():
    screener, screening = screened("scorecard")
    chosen = screening.frame.index[:7]
    e = explain(screener, screening, pupils=list(chosen))
    assert set(e.values.index) == set(chosen)
    with pytest.raises(ValueError, match="1 pupil") as info:
        explain(screener, screening, pupils=[424242424])
    assert "424242424" not in str(info.value)
    with pytest.raises(KeyError) as info:
        e.pupil(424242424)
    assert "424242424" not in str(info.value)
    with pytest.raises(ValueError, match="n_reasons"):
        explain(screener, screening, n_reasons=0)
    with pytest.raises(ValueError, match="'pupils'"):
        explain(screener, screening, pupils="some")


def test_renderers_and_atomic_csv(tmp_path):
    screener, screening = screened("scorecard")
    e = explain(screener, screening, pupils="flagged")
    md = e.to_markdown()
    assert "log-odds" in md and "| group |" in md
    assert e.to_html().startswith("<div>") and e._repr_html_() == e.to_html()
    assert repr(e).startswith("<Explanation")
    reasons = pd.read_csv(e.write_csv(tmp_path / "reasons.csv"))
    assert len(reasons) == len(e.reasons)
    values = pd.read_csv(e.write_csv(tmp_path / "values.csv", what="values"), index_col=0)
    assert values.shape == e.values.shape
    with pytest.raises(ValueError, match="'what'"):
        e.write_csv(tmp_path / "x.csv", what="rows")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reasons.csv", "values.csv"]


def test_no_reason_names_ethnicity_or_sex_by_default():
    for model in ("lightgbm", "scorecard"):
        screener, screening = screened(model)
        e = explain(screener, screening)
        words = " ".join(e.reasons["text"].cat.categories).lower()
        assert not re.search(r"ethnic|\bsex\b|\bmale\b|female|gender|\bboy|\bgirl", words)
        assert not e.groups["protected"].any()


def test_protected_inputs_chosen_explicitly_are_named_as_such(caplog):
    from riskscreen import Screener
    from riskscreen.features import build_dataset

    h = synthetic()
    dates = ["2021-02-01", "2021-06-01", "2022-06-01"]
    data = build_dataset(h, dates, outcome="suspension", use_protected=("sex",))
    scored = build_dataset(h, [TEST_DATE], outcome="suspension", use_protected=("sex",))
    assert "used as model inputs" in caplog.text  # the choice is logged where it is made
    screener = Screener(model="scorecard", n_bootstrap=5).fit(data)
    e = explain(screener, screener.score(scored))
    assert e.groups.loc["sex_m", "protected"]
    assert any("protected characteristics" in n.lower() for n in e.notes)
    texts = e.reasons.loc[e.reasons["group"] == "sex", "text"].astype(str)
    assert len(texts) and texts.str.startswith("recorded sex (a protected characteristic").all()


def test_open_spells_say_since_when_from_the_histories():
    h = synthetic()
    screener, screening = screened("lightgbm")
    X = screening.features.droplevel("as_of_date")
    on_plan = X.index[X["cp_plan_now"] == 1][:5]
    assert len(on_plan) > 0
    frame = screening.frame.loc[on_plan]
    columns = resolve_columns(screener.feature_names_, screener.spec_)
    starts = spell_starts(h, frame, screening.as_of_date, columns)
    names = screener.feature_names_
    values = np.zeros((len(on_plan), len(names)))
    values[:, names.index("cp_plan_now")] = 1.0
    data = X.loc[on_plan, names].to_numpy()
    table = reason_table(
        values, data, columns, on_plan, as_of=screening.as_of_date, n_reasons=1, starts=starts
    )
    sc = h.social_care
    for pupil, text in zip(table["pupil_id"], table["text"].astype(str), strict=True):
        plans = sc[(sc["pupil_id"] == pupil) & (sc["kind"] == "cp_plan")]
        began = plans.loc[plans["start_date"] < screening.as_of_date, "start_date"].max()
        assert text == f"on a child protection plan since {began:%B %Y} (raises risk)"
    # explain(..., histories=) passes the start dates of every open spell on
    e = explain(screener, screening, histories=h)
    words = pd.Series(e.reasons["text"].cat.categories)
    assert words.str.contains(r" since [A-Z][a-z]+ \d{4} \(", regex=True).any()


@pytest.mark.parametrize("model", ["lightgbm", "scorecard"])
def test_no_pupils_explained_still_gives_the_base_value(model):
    screener, screening = screened(model)
    empty = explain(screener, screening, pupils=[])
    assert empty.values.shape == (0, len(screener.feature_names_)) and empty.reasons.empty
    assert empty.base_value == pytest.approx(
        explain(screener, screening, pupils="flagged").base_value
    )
