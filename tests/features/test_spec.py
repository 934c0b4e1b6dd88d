from __future__ import annotations

import numpy as np
import pytest

from riskscreen.features import Col, Feature, FeatureSpec


def test_feature_validation_messages():
    with pytest.raises(ValueError, match="'name' parameter of Feature must be snake_case"):
        Feature("Suspensions 1y", "exclusions", "count")
    with pytest.raises(ValueError, match="'aggregate' parameter of Feature 'x'"):
        Feature("x", "exclusions", "median")
    with pytest.raises(ValueError, match="'window' parameter of Feature 'x'.*'3 months'"):
        Feature("x", "exclusions", "count", "3 months")
    with pytest.raises(ValueError, match="'column' parameter of Feature 'x' is required"):
        Feature("x", "exclusions", "sum")
    with pytest.raises(ValueError, match="'denominator' parameter"):
        Feature("x", "attendance", "rate", column="sessions_possible")
    with pytest.raises(ValueError, match="'monotone' parameter"):
        Feature("x", "exclusions", "count", monotone=2)
    with pytest.raises(ValueError, match="'impute' parameter"):
        Feature("x", "exclusions", "max", column="sessions", impute="mean")
    with pytest.raises(ValueError, match="'where' parameter"):
        Feature("x", "exclusions", "count", where="kind = 'suspension'")
    with pytest.raises(ValueError, match="'compare_window' parameter"):
        Feature("x", "exclusions", "count", compare_window="forever")


def test_where_forms_are_equivalent():
    a = Feature("x", "exclusions", "count", where={"kind": "suspension", "reason": ["PP", "PA"]})
    b = Feature(
        "x",
        "exclusions",
        "count",
        where=[Col("kind") == "suspension", Col("reason").isin(["PA", "PP"])],
    )
    assert a.where == b.where
    assert a.columns_used() == {"kind", "reason"}


def test_condition_words_and_combinators():
    c = (Col("kind") == "cp_plan") & ~(Col("abuse_category") == None)  # noqa: E711
    assert c.words() == "(kind == cp_plan) and (not (abuse_category is null))"
    with pytest.raises(ValueError, match="Col needs one or more column names"):
        Col()


def test_spec_names_indicators_describe_and_monotone():
    spec = FeatureSpec(
        (
            Feature("n_1y", "exclusions", "count", "1Y", "Suspensions in a year", monotone=1),
            Feature("last", "exclusions", "days_since_last", monotone=-1),
            Feature("m", "exclusions", "max", column="sessions", indicator=False, impute=-1),
        )
    )
    assert spec.names == ["n_1y", "last", "m"]
    assert spec.output_names() == ["n_1y", "last", "last__missing", "m"]
    d = spec.describe()
    assert list(d.columns[:6]) == ["name", "description", "source", "aggregate", "window", "filter"]
    assert "imputation" in d.columns
    assert d.loc[0, "description"] == "Suspensions in a year"
    assert d.loc[0, "imputation"] == "none (never missing)"
    assert d.loc[1, "imputation"] == "3650.0 + indicator"
    assert d.loc[2, "imputation"] == "-1"
    assert spec.monotone_constraints() == {"n_1y": 1, "last": -1, "last__missing": 0, "m": 0}
    assert "Suspensions in a year" in spec._repr_html_()
    assert spec.select(["m", "n_1y"]).names == ["m", "n_1y"]
    assert len(spec + [Feature("z", "sen", "active")]) == 4
    with pytest.raises(KeyError, match="No feature named 'nope'"):
        spec["nope"]


def test_auto_description_reads_as_words():
    f = Feature("n", "exclusions", "count", "1Y", where=Col("kind") == "suspension")
    assert f.description == (
        "Number of events in exclusions where kind == suspension, "
        "in the 12 months before the screening date"
    )


def test_duplicate_names_rejected():
    with pytest.raises(ValueError, match="duplicate feature names"):
        FeatureSpec((Feature("a", "sen", "active"), Feature("a", "fsm", "active")))
    with pytest.raises(ValueError, match="must hold Feature objects"):
        FeatureSpec(("a",))


def test_impute_nan_keeps_the_feature_missing():
    from _feature_histories import AS_OF, histories, on_roll, pupil

    from riskscreen.features import build_features

    spec = FeatureSpec(
        [Feature("mean_sessions", "exclusions", "mean", column="sessions", impute=float("nan"))]
    )
    h = histories(
        pupils=[pupil(1), pupil(2)],
        enrolments=[on_roll(1), on_roll(2)],
        exclusions=[{"pupil_id": 1, "start_date": "2021-05-01", "sessions": 4.0}],
    )
    X = build_features(h, [AS_OF], spec)
    assert X["mean_sessions"].iloc[0] == 4.0 and np.isnan(X["mean_sessions"].iloc[1])
    assert X["mean_sessions__missing"].tolist() == [0.0, 1.0]
