"""ModelCard.from_run: every section, numbers equal to the objects they came from."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from conftest import MISSING_RULE

from riskscreen.evaluation import METRICS
from riskscreen.evaluation._disclosure import count_text
from riskscreen.model_cards import AUTHORITY_FIELDS, TO_COMPLETE, ModelCard

SECTIONS = [
    "model_details",
    "intended_use",
    "factors",
    "metrics",
    "baselines",
    "data",
    "quantitative_analyses",
    "features",
    "ethical_considerations",
    "human_oversight",
    "authority",
]


def interval_text(table, row, metric, digits=3):
    v, lo, hi = (table.loc[row, f"{metric}{s}"] for s in ("", "_low", "_high"))
    return f"{v:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def texts(card):
    return {"md": card.to_markdown(), "html": card.to_html(), "json": card.to_json()}


def field_value(section, label):
    for block in section.blocks:
        for f in getattr(block, "fields", ()):
            if f.label == label:
                return f.value
    raise KeyError(label)


def test_every_section_in_order_in_every_rendering(run):
    card = run.card
    assert [s.key for s in card.sections] == SECTIONS
    rendered = texts(card)
    for section in card.sections:
        assert section.blocks, section.key
        assert f"## {section.title}" in rendered["md"]
        assert f'<section id="{section.key}">' in rendered["html"]
    assert [s["key"] for s in json.loads(rendered["json"])["sections"]] == SECTIONS


def test_model_details_come_from_the_fitted_screener(run):
    from riskscreen import __version__
    from riskscreen.model_cards._facts import spec_hash

    card, screener = run.card, run.screener
    details = card.section("model_details")
    info = screener.model_info_
    assert field_value(details, "riskscreen version") == __version__
    assert field_value(details, "Fit date") == info["fit_timestamp"]
    assert field_value(details, "Parameters hash") == info["params_hash"]
    assert field_value(details, "Data fingerprint") == info["data_fingerprint"]
    assert field_value(details, "Feature-spec hash") == spec_hash(screener.spec_)
    assert info["model_class"] in field_value(details, "Model type")
    rounds = screener.early_stopping_["best_iteration"]
    assert f"{rounds} rounds" in field_value(details, "Boosting rounds")
    hyper = details.blocks[1]
    assert dict(hyper.rows)["n_estimators"] == str(screener.model_.get_params()["n_estimators"])
    assert dict(hyper.rows)["learning_rate"] == str(screener.model_.get_params()["learning_rate"])
    # the spec hash follows the spec: another spec, another hash
    assert spec_hash(screener.spec_.select(screener.spec_.names[:3])) != spec_hash(screener.spec_)


def test_intended_and_out_of_scope_uses(run):
    section = run.card.section("intended_use")
    text = " ".join(b.text for b in section.blocks if b.kind == "paragraph")
    assert "assistive early help" in text and "panel" in text
    (bullets,) = [b for b in section.blocks if b.kind == "bullets"]
    assert bullets.title == "Out-of-scope uses"
    out = " ".join(bullets.items)
    for words in (
        "Exclusion",
        "admission",
        "Punitive",
        "without human review",
        "another authority",
    ):
        assert words in out


def test_metrics_at_capacity_equal_the_comparison(run):
    card, comparison = run.card, run.comparison
    table, ref = comparison.table, comparison.reference
    m = card.data["metrics"]
    assert m["reference"] == ref == run.screener.model_info_["model_name"]
    for metric in METRICS:
        for scorer in table.index:
            got = m["scorers"][scorer][metric]
            assert got["value"] == pytest.approx(table.loc[scorer, metric], nan_ok=True)
            assert got["low"] == pytest.approx(table.loc[scorer, f"{metric}_low"])
            assert got["high"] == pytest.approx(table.loc[scorer, f"{metric}_high"])
        assert m["estimates"][metric] == m["scorers"][ref][metric]
    assert (m["k"], m["n"], m["n_positive"]) == (comparison.k, comparison.n, comparison.n_positive)
    # the same numbers, as read, in every rendering
    precision = interval_text(table, ref, "precision_at_k")
    rendered = texts(card)
    for kind in ("md", "html"):
        assert precision in rendered[kind], kind
        assert comparison.sentences()[0] in rendered[kind]
    assert count_text(comparison.n) in rendered["md"]
    metric_rows = dict((r[0], r[1]) for r in card.section("metrics").blocks[1].rows)
    assert metric_rows["precision@k"] == precision
    assert metric_rows["ROC AUC"] == interval_text(table, ref, "roc_auc")


def test_several_test_dates_each_with_its_own_list(run):
    from _linked_histories import TEST_DATE

    comparison = run.screener.evaluate(
        run.histories, ["2023-02-01", TEST_DATE], n_bootstrap=10, sensitive_features=None
    )
    card = ModelCard.from_run(run.screener, comparison, figures=False)
    table = next(
        b
        for b in card.section("metrics").blocks
        if b.kind == "table" and b.rows[0][0] == "2023-02-01"
    )
    assert [r[0] for r in table.rows] == list(comparison.by_date) == ["2023-02-01", TEST_DATE]
    for row in table.rows:
        c = comparison.by_date[row[0]]
        assert row[2] == interval_text(c.table, c.reference, "precision_at_k")
    assert card.data["audit"] is None and card.data["metrics"]["by_date"][TEST_DATE]["k"] == c.k


def test_baselines_with_paired_verdicts_and_the_one_that_could_not_run(run):
    card, comparison = run.card, run.comparison
    section = card.section("baselines")
    tables = [b for b in section.blocks if b.kind == "table"]
    scorers = {row[0]: row for row in tables[0].rows}
    assert set(scorers) == {*comparison.table.index, MISSING_RULE}
    assert scorers[MISSING_RULE][1] == f"not available: {comparison.unavailable[MISSING_RULE]}"
    for scorer in comparison.table.index:
        assert scorers[scorer][1] == interval_text(comparison.table, scorer, "precision_at_k")
    verdicts = {(r[0], r[1]): r[3] for r in tables[1].rows}
    for (scorer, metric), row in comparison.differences.iterrows():
        label = {"precision_at_k": "precision@k", "roc_auc": "ROC AUC"}.get(metric)
        if label:
            assert verdicts[(scorer, label)] == row["verdict"]
    words = [b for b in section.blocks if b.kind == "bullets" and b.title == "In words"][0]
    assert list(words.items) == [*comparison.sentences(), *comparison.verdicts()]
    assert card.data["metrics"]["not_available"] == comparison.unavailable


def test_data_section_sizes_equal_the_datasets(run):
    card, train, test, screener = run.card, run.train, run.test, run.screener
    rows = {r["as_of_date"]: r for r in card.data["data"]["as_of_dates"]}
    reports = pd.concat([train.label_report_unsuppressed, test.label_report_unsuppressed])
    assert set(rows) == {str(d.date()) for d in reports.index}
    for date, report in reports.iterrows():
        row = rows[str(date.date())]
        for col in ("n_cohort", "n_positive", "n_negative", "n_censored", "n_unknown"):
            expected = int(report[col])
            assert row[col] == (expected if expected == 0 or expected >= 5 else None), col
    roles = {d: r["role"] for d, r in rows.items()}
    assert {d for d, r in roles.items() if r == "training"} == set(screener.train_dates_)
    assert {d for d, r in roles.items() if r == "calibration"} == set(screener.calibration_dates_)
    assert [d for d, r in roles.items() if r == "test"] == [str(test.as_of_dates[0].date())]
    data = card.data["data"]
    assert data["n_train_rows"] == screener.n_train_rows_
    assert data["end_of_data"] == str(test.end_of_data.date())
    sources = {s["table"]: s["n_rows"] for s in data["sources"]}
    for name, t in train.fingerprint["tables"].items():
        assert sources[name] == (t["rows"] if t["rows"] == 0 or t["rows"] >= 5 else None)
    md = card.to_markdown()
    cohort = int(test.label_report_unsuppressed["n_cohort"].iloc[0])
    assert f"| {str(test.as_of_dates[0].date())} | test | {cohort:,} |" in md
    assert "a suspension starting in the window" in data["label_definition"]
    assert "censored" in data["censoring"]


def test_quantitative_analyses_equal_the_audit(run):
    card, audit = run.card, run.audit
    a = card.data["audit"]
    assert audit is not None and a["n_disparities_tested"] == int(
        audit.disparities["p_value"].notna().sum()
    )
    outside = audit.disparities[audit.disparities["outside_band"]]
    assert len(a["outside_band"]) == len(outside)
    for o in a["outside_band"]:
        row = outside.loc[(o["attribute"], o["group"], o["metric"])]
        assert o["low"] == pytest.approx(row["ratio_low"])
        assert o["high"] == pytest.approx(row["ratio_high"])
    assert a["intersections"] and all(" & " in i for i in a["intersections"])
    assert set(a["attributes"]) >= {"sex", "ethnicity"}
    by_group = {(r["attribute"], r["group"]): r for r in a["by_group"]}
    for (attr, group), row in audit.by_group.iterrows():
        got = by_group[(attr, group)]
        assert got["recall"]["low"] == pytest.approx(row["recall_low"], nan_ok=True)
        assert got["n"] == (None if pd.isna(row["n"]) else int(row["n"]))
    section = card.section("quantitative_analyses")
    table = next(b for b in section.blocks if b.kind == "table" and "by group" in b.title)
    shown = {(r[0], r[1]) for r in table.rows}
    assert shown == set(audit.by_group.index)
    md = card.to_markdown()
    assert f"{a['n_disparities_tested']} tested" in md
    ece = interval_text(run.comparison.table, run.comparison.reference, "ece")
    assert ece in md
    # factors name every attribute and intersection audited, with its reference group
    factors = card.section("factors").blocks[1]
    assert [r[0] for r in factors.rows] == [*a["attributes"], *a["intersections"]]


def test_audit_from_the_comparison_or_given(run):
    without = dataclasses.replace(run.comparison, audit=None)
    none = ModelCard.from_run(run.screener, without, figures=False)
    assert none.data["audit"] is None
    # without the Datasets: what the screener recorded at fit, the rest not given
    table = next(b for b in none.section("data").blocks if b.kind == "table")
    first = table.rows[0]
    assert first[:3] == (run.screener.train_dates_[0], "training", "n/a")
    assert first[5] == str(run.screener.n_censored_[run.screener.train_dates_[0]])
    assert "No fairness audit" in none.section("factors").blocks[0].text
    given = ModelCard.from_run(run.screener, without, run.audit, figures=False)
    assert given.data["audit"]["by_group"] == run.card.data["audit"]["by_group"]


def test_features_in_words_with_the_explanations_importance(run):
    card, e = run.card, run.explanation
    importance = card.data["features"]["importance"]
    assert [r["group"] for r in importance] == list(e.importance.index)
    assert [r["mean_abs"] for r in importance] == pytest.approx(list(e.importance["mean_abs"]))
    described = run.screener.spec_.describe().set_index("name")["description"]
    top = importance[0]
    members = e.groups.loc[e.groups["group"] == top["group"], "feature"].unique()
    assert top["features"] == [described[f] for f in members]
    section = card.section("features")
    table = section.blocks[1]
    assert table.rows[0][1] == top["group"] and table.rows[0][2] == f"{top['mean_abs']:.4f}"
    spec_rows = {r[0] for r in section.blocks[2].rows}
    assert spec_rows == {c.removesuffix("__missing") for c in run.screener.feature_names_}


def test_ethics_and_oversight(run):
    items = " ".join(run.card.section("ethical_considerations").blocks[0].items)
    assert "school decisions, not only behaviour" in items
    assert "under-recorded" in items
    assert f"{len(run.audit.unreliable_groups())} groups are too small" in items
    oversight = run.card.section("human_oversight")
    assert "Override both ways" in " ".join(oversight.blocks[0].items)


def test_authority_fields_are_marked_until_given(run):
    card = run.card
    assert card.authority == dict.fromkeys(AUTHORITY_FIELDS)
    labels = card.to_complete
    for key in ("owner", "dpia_reference", "review_date"):
        assert AUTHORITY_FIELDS[key][0] in labels
    rendered = texts(card)
    assert rendered["md"].count(f"[{TO_COMPLETE}]") == len(
        [f for s in card.sections for f in s.fields_to_complete]
    )
    assert rendered["html"].count('class="to-complete"') >= len(labels)
    fields = [
        f
        for s in json.loads(rendered["json"])["sections"]
        for b in s["blocks"]
        if b["kind"] == "fields"
        for f in b["fields"]
    ]
    owner = next(f for f in fields if f.get("key") == "owner")
    assert owner["to_complete"] is True and owner["value"] is None

    filled = ModelCard.from_run(
        run.screener,
        run.comparison,
        figures=False,
        authority={
            "owner": "Director of Children's Services",
            "dpia_reference": "DPIA-2025-014",
            "review_date": pd.Timestamp("2026-09-01").date(),
        },
    )
    assert filled.authority["review_date"] == "2026-09-01"
    assert AUTHORITY_FIELDS["owner"][0] not in filled.to_complete
    md = filled.to_markdown()
    assert "**Owner (senior responsible owner):** Director of Children's Services" in md
    assert "DPIA-2025-014" in filled.to_html()
    with pytest.raises(ValueError, match="unknown field.*'ownr'.*known fields"):
        ModelCard.from_run(run.screener, run.comparison, authority={"ownr": "x"})


def walk_counts(obj, path=""):
    """(path, value) of every count in the card's JSON data."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if (k.startswith("n_") or k == "k") and isinstance(v, (int, float, type(None))):
                yield f"{path}.{k}", v
            yield from walk_counts(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk_counts(v, f"{path}[{i}]")


def test_no_count_under_five_is_shown(run):
    # an evaluation with 3 censored pupils, and a test date with 2 censored
    comparison = dataclasses.replace(run.comparison, n_censored=3)
    report = run.test.label_report_unsuppressed.copy()
    report["n_censored"] = 2
    report["n_negative"] -= 2
    test = dataclasses.replace(run.test, label_report_unsuppressed=report)
    card = ModelCard.from_run(
        run.screener, comparison, train_data=run.train, test_data=test, figures=False
    )
    counts = dict(walk_counts(card.data))
    assert counts, "no count found"
    small = {p: v for p, v in counts.items() if v is not None and 0 < v < 5}
    assert small == {}
    assert card.data["metrics"]["n_censored"] is None
    assert "- **Pupils with an unknown outcome (censored):** fewer than 5" in card.to_markdown()
    row = next(r for r in card.data["data"]["as_of_dates"] if r["role"] == "test")
    # the small count is hidden, and so is the next smallest in the row (it would give it away)
    assert row["n_censored"] is None and row["n_positive"] is None
    assert row["positive_rate"] is None
    table = next(b for b in card.section("data").blocks if b.kind == "table")
    test_row = next(r for r in table.rows if r[1] == "test")
    assert test_row[3] == test_row[5] == test_row[7] == "c"


def test_figures_drawn_once_and_optional(run):
    card = run.card
    names = [f.name for f in card.figures]
    assert names == [
        "precision_recall_at_k",
        "scorers",
        "calibration",
        "disparities_recall",
        "importance",
    ]
    for f in card.figures:
        assert f.svg.lstrip().startswith("<?xml") and f.svg.rstrip().endswith("</svg>")
    bare = ModelCard.from_run(run.screener, run.comparison, figures=False)
    assert bare.figures == [] and "<svg" not in bare.to_html()


def test_repr_html_is_a_fragment_with_the_sections(run):
    fragment = run.card._repr_html_()
    assert "<html" not in fragment and "<section" in fragment and "<svg" in fragment
    assert "riskscreen lightgbm screener for suspension" in repr(run.card)


def test_refuses_objects_of_another_run(run, linked):
    from riskscreen import Screener
    from riskscreen.features import build_dataset

    with pytest.raises(ValueError, match="'comparison' parameter.*Comparison"):
        ModelCard.from_run(run.screener, run.comparison.table)
    other = Screener(model="scorecard", n_bootstrap=5).fit(run.train)
    with pytest.raises(ValueError, match="reference scorer is 'lightgbm'.*'scorecard'"):
        ModelCard.from_run(other, run.comparison)
    with pytest.raises(ValueError, match="explanation was made with another screener"):
        ModelCard.from_run(
            other, other.evaluate(run.test, n_bootstrap=5), explanation=run.explanation
        )
    absence = build_dataset(
        run.histories, [run.train.as_of_dates[-1]], outcome="persistent_absence"
    )
    with pytest.raises(ValueError, match="'train_data'.*labelled 'persistent_absence'"):
        ModelCard.from_run(run.screener, run.comparison, train_data=absence)
    assert np.isfinite(run.card.data["metrics"]["estimates"]["roc_auc"]["value"])
    with pytest.raises(KeyError, match="No section 'nope'"):
        run.card.section("nope")
