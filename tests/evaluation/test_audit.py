"""FairnessAudit: hand-computed confusion matrices, fairlearn's numbers, small groups, tests."""

import re

import numpy as np
import pandas as pd
import pytest

from riskscreen.evaluation import FairnessAudit
from riskscreen.evaluation._audit_render import group_display
from riskscreen.evaluation._audit_stats import METRIC_WORDS, adjust, two_proportion_p


def tiny():
    """Ten pupils, two groups; flags and outcomes chosen so every cell is known by hand.

    group a (6 pupils): outcomes 1 1 0 0 0 0, flags 1 0 1 0 0 0 -> tp 1, fn 1, fp 1, tn 3
    group b (4 pupils): outcomes 1 0 0 0,     flags 1 1 0 0     -> tp 1, fn 0, fp 1, tn 2
    """
    sens = pd.DataFrame({"grp": list("aaaaaabbbb")})
    y = np.array([1, 1, 0, 0, 0, 0, 1, 0, 0, 0])
    flagged = np.array([1, 0, 1, 0, 0, 0, 1, 1, 0, 0], dtype=bool)
    score = np.array([9, 3, 8, 2, 1, 0, 9, 8, 1, 0], dtype=float)
    return y, score, flagged, sens


def audit_of(y, score, flagged, sens, **kw):
    kw.setdefault("n_bootstrap", 30)
    return FairnessAudit.from_predictions(
        y, score, sensitive_features=sens, flagged=flagged, min_group_size=1, **kw
    )


def test_rates_equal_hand_computed_confusion_matrices():
    y, score, flagged, sens = tiny()
    a = audit_of(y, score, flagged, sens, intersections=None, search=False)
    g = a.by_group
    # counts under 5 are suppressed in what a person reads...
    assert pd.isna(g.loc[("grp", "a"), "n_flagged"]) and g.loc[("grp", "a"), "suppressed"]
    # ... so check the rates on a working table with nothing suppressed
    g = audit_of(y, score, flagged, sens, intersections=None, search=False, small_count=1).by_group
    a_row, b_row = g.loc[("grp", "a")], g.loc[("grp", "b")]
    assert (a_row["n"], a_row["n_outcome"], a_row["n_flagged"], a_row["n_flagged_outcome"]) == (
        6,
        2,
        2,
        1,
    )
    expected_a = dict(
        base_rate=2 / 6,
        selection_rate=2 / 6,
        recall=1 / 2,
        fnr=1 / 2,
        fpr=1 / 4,
        precision=1 / 2,
        false_omission_rate=1 / 4,
    )
    expected_b = dict(
        base_rate=1 / 4,
        selection_rate=2 / 4,
        recall=1.0,
        fnr=0.0,
        fpr=1 / 3,
        precision=1 / 2,
        false_omission_rate=0.0,
    )
    for m, v in expected_a.items():
        assert a_row[m] == pytest.approx(v), m
    for m, v in expected_b.items():
        assert b_row[m] == pytest.approx(v), m
    # AUC within a: positives score 9 and 3; negatives 8, 2, 1, 0 -> (4 + 3) / 8
    assert a_row["auc"] == pytest.approx(7 / 8)
    assert g.loc[("all", "all pupils"), "recall"] == pytest.approx(2 / 3)


def test_tie_aware_capacity_and_row_order_never_matter():
    rng = np.random.default_rng(3)
    n = 400
    sens = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "fsm": rng.random(n) < 0.3})
    y = (rng.random(n) < 0.2).astype(int)
    score = np.round(rng.random(n) + y, 1)  # many ties at any cut-off
    a = FairnessAudit.from_predictions(y, score, sensitive_features=sens, k=37, n_bootstrap=20)
    assert a.k == pytest.approx(37)
    perm = rng.permutation(n)
    b = FairnessAudit.from_predictions(
        y[perm], score[perm], sensitive_features=sens.iloc[perm], k=37, n_bootstrap=20
    )
    cols = ["n", "selection_rate", "recall", "fpr", "precision", "auc"]
    pd.testing.assert_frame_equal(a.by_group[cols], b.by_group[cols])


def test_point_estimates_identical_to_fairlearn():
    fl = pytest.importorskip("fairlearn.metrics")
    from sklearn.metrics import precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    n = 3000
    sens = pd.DataFrame(
        {
            "ethnicity_major": rng.choice(["White", "Black", "Asian", "Mixed"], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    y = (rng.random(n) < 0.15).astype(int)
    score = rng.random(n) + 0.6 * y
    flagged = score >= np.quantile(score, 0.9)
    audit = FairnessAudit.from_predictions(
        y,
        score,
        sensitive_features=sens,
        flagged=flagged,
        n_bootstrap=0,
        search=False,
        small_count=1,
    )

    def false_omission_rate(t, p):
        t, p = np.asarray(t), np.asarray(p)
        return ((t == 1) & (p == 0)).sum() / (p == 0).sum()

    metrics = {
        "selection_rate": fl.selection_rate,
        "recall": fl.true_positive_rate,
        "fnr": fl.false_negative_rate,
        "fpr": fl.false_positive_rate,
        "precision": lambda t, p: precision_score(t, p, zero_division=np.nan),
        "false_omission_rate": false_omission_rate,
        "base_rate": lambda t, p: np.mean(t),
        "n": fl.count,
    }
    for columns in (["ethnicity_major"], ["sex"], ["ethnicity_major", "sex"]):
        mf = fl.MetricFrame(
            metrics=metrics, y_true=y, y_pred=flagged.astype(int), sensitive_features=sens[columns]
        )
        ours = audit.by_group.xs(" & ".join(columns), level="attribute")
        theirs = mf.by_group.copy()
        theirs.index = [
            " & ".join(map(str, i)) if isinstance(i, tuple) else i for i in theirs.index
        ]
        for m in metrics:
            np.testing.assert_allclose(
                ours[m].astype(float).to_numpy(),
                theirs.loc[ours.index, m].astype(float),
                rtol=1e-12,
            )
        auc = fl.MetricFrame(
            metrics=roc_auc_score, y_true=y, y_pred=score, sensitive_features=sens[columns]
        ).by_group
        auc.index = [" & ".join(map(str, i)) if isinstance(i, tuple) else i for i in auc.index]
        np.testing.assert_allclose(ours["auc"].to_numpy(), auc.loc[ours.index], rtol=1e-12)


def small_group_audit(search=False):
    rng = np.random.default_rng(5)
    n = 600
    eth = np.where(np.arange(n) < 3, "Tiny", rng.choice(["White", "Black"], n, p=[0.8, 0.2]))
    sens = pd.DataFrame({"ethnicity_major": eth})
    y = (rng.random(n) < 0.2).astype(int)
    y[:3] = [1, 0, 0]
    score = rng.random(n) + y
    score[:3] = [5.0, 4.0, -1.0]  # two of the three tiny-group pupils are flagged
    return FairnessAudit.from_predictions(
        y, score, sensitive_features=sens, k=60, n_bootstrap=50, search=search
    )


def test_a_group_of_three_shows_suppressed_counts_unreliable_and_never_a_bare_rate():
    a = small_group_audit()
    row = a.by_group.loc[("ethnicity_major", "Tiny")]
    assert not row["reliable"] and row["suppressed"]
    for col in ("n", "n_outcome", "n_flagged", "n_flagged_outcome"):
        assert pd.isna(row[col]) or row[col] == 0, col
    for m in ("base_rate", "selection_rate", "recall", "precision", "fpr"):
        assert np.isnan(row[m]), m  # the rate would give the count away
    assert not np.isnan(row["selection_rate_low"])  # its interval is shown
    # ... unless it is one value: its one pupil with the outcome is flagged, so every
    # replicate's recall is 1 and "c (1.000-1.000)" would give the recall away
    assert np.isnan(row["recall_low"]) and np.isnan(row["recall_high"])
    shown = group_display(a).loc[("ethnicity_major", "Tiny")]
    assert shown[METRIC_WORDS["recall"]] == "c"  # hidden, not "n/a" (nothing to estimate)
    # secondary suppression: the next smallest group's pupil count is hidden too
    assert pd.isna(a.by_group.loc[("ethnicity_major", "Black"), "n"])
    # in every rendering the tiny group's rates appear only as 'c (low-high)' or 'n/a'
    text = str(a)
    tiny_lines = [line for line in text.splitlines() if "Tiny" in line and "0." in line]
    assert tiny_lines
    for line in tiny_lines:
        assert not re.search(r"(?<![\d(-])0\.\d{3}(?! ?\()(?!-)", line.split("Tiny", 1)[1]), line
    assert "ethnicity_major Tiny" in a.headline()
    d = a.disparities.xs(("ethnicity_major", "Tiny"), level=["attribute", "group"])
    assert d["ratio"].isna().all() and not d["reliable"].any()
    assert d["ratio_low"].notna().any()


def test_disparities_reference_band_tests_and_adjustment():
    rng = np.random.default_rng(8)
    n = 4000
    grp = rng.choice(["big", "mid", "small"], n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < 0.15).astype(int)
    score = rng.random(n) + y + 0.8 * (grp == "small")  # 'small' is flagged far more
    sens = pd.DataFrame({"g": grp})
    a = FairnessAudit.from_predictions(
        y, score, sensitive_features=sens, k=0.1, n_bootstrap=100, search=False
    )
    d = a.disparities
    assert set(d.loc["g"].index.get_level_values("group")) == {"mid", "small"}
    assert (d["reference"] == "big").all()
    sel = d.loc[("g", "small", "selection_rate")]
    assert sel["ratio"] > 2 and sel["ratio_low"] > 1.25 and sel["outside_band"]
    assert sel["p_adjusted"] < 0.001 and sel["test"] == "chi-square"
    mid = d.loc[("g", "mid", "selection_rate")]
    assert mid["ratio_low"] < 1 < mid["ratio_high"] and not mid["outside_band"]
    assert (d["p_adjusted"].dropna() >= d["p_value"].dropna()).all()
    # a chosen reference group and the Benjamini-Hochberg adjustment
    b = FairnessAudit.from_predictions(
        y,
        score,
        sensitive_features=sens,
        k=0.1,
        n_bootstrap=0,
        search=False,
        reference={"g": "mid"},
        p_adjust="bh",
    )
    assert (b.disparities["reference"] == "mid").all()
    assert "Benjamini-Hochberg" in " ".join(b.notes)


def test_adjustments_and_two_proportion_test_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.5])
    np.testing.assert_allclose(adjust(p, "holm"), [0.04, 0.09, 0.09, np.nan, 0.5])
    # BH: sorted 0.01, 0.03, 0.04, 0.5 times 4/rank = 0.04, 0.06, 0.053, 0.5, then running min
    np.testing.assert_allclose(adjust(p, "bh"), [0.04, 0.16 / 3, 0.16 / 3, np.nan, 0.5])
    from scipy.stats import chi2_contingency, fisher_exact

    pv, test = two_proportion_p([30, 2], [100, 10], [20, 8], [100, 12])
    assert pv[0] == pytest.approx(chi2_contingency([[30, 70], [20, 80]], correction=False)[1])
    assert test[0] == "chi-square" and test[1] == "Fisher exact"
    one_sided = min(fisher_exact([[2, 8], [8, 4]], alternative=a)[1] for a in ("less", "greater"))
    assert pv[1] == pytest.approx(min(1.0, 2 * one_sided))


def test_clustered_rows_use_bootstrap_tests_and_intersections_and_search():
    rng = np.random.default_rng(11)
    pupils = np.repeat(np.arange(1500), 2)  # two as-of dates per pupil
    n = len(pupils)
    person = pd.DataFrame(
        {
            "ethnicity_major": rng.choice(["White", "Black", "Asian"], 1500, p=[0.7, 0.2, 0.1]),
            "sex": rng.choice(["F", "M"], 1500),
            "sen_status": rng.choice(["none", "K", "E"], 1500, p=[0.8, 0.15, 0.05]),
            "fsm": rng.random(1500) < 0.3,
        }
    )
    sens = person.iloc[pupils].set_index(pd.Index(pupils, name="pupil_id"))
    y = (rng.random(n) < 0.15).astype(int)
    score = rng.random(n) + y - 0.6 * y * (sens["sex"].to_numpy() == "F")  # girls missed
    dates = np.tile(["2022-06-01", "2023-06-01"], 1500)
    a = FairnessAudit.from_predictions(
        y, score, sensitive_features=sens, k=0.1, as_of_dates=dates, n_bootstrap=60
    )
    assert a.k == pytest.approx(300)  # 10% at each date
    d = a.disparities
    assert d["test"].str.startswith("bootstrap Wald").all()
    assert ("ethnicity_major & sex", "Black & M") in a.by_group.index
    assert ("sen_status & fsm", "none & False") in a.by_group.index
    worst = a.worst_groups.loc["recall"]
    assert worst.index.get_level_values("group")[0].split(" & ").count("F") == 1
    assert worst["value"].iloc[0] < a.by_group.loc[("all", "all pupils"), "recall"]
    assert worst["p_adjusted"].iloc[0] < 0.05
    assert "fpr" in a.worst_groups.index.get_level_values("metric")


def test_per_school_capacity_splits_disparities_between_and_within_schools():
    # school 1 (20 pupils) has few of group b, school 2 (10 pupils) many; 2 places each.
    # School 1 flags two a; school 2 flags one b and one a.
    sens = pd.DataFrame({"g": ["a"] * 16 + ["b"] * 4 + ["b", "a"] + ["b"] * 7 + ["a"]})
    schools = np.r_[np.ones(20), np.full(10, 2)]
    score = np.r_[np.arange(20, 0, -1), np.arange(10, 0, -1)].astype(float)
    y = np.zeros(30)
    y[[0, 1, 20, 25]] = 1
    a = FairnessAudit.from_predictions(
        y,
        score,
        sensitive_features=sens,
        k=2,
        schools=schools,
        per_school=True,
        n_bootstrap=20,
        min_group_size=1,
        search=False,
        small_count=1,
    )
    s = a.schools.loc[("g", "b", "selection_rate")]
    rate_a, rate_b = 3 / 18, 1 / 12
    # expected under school rates: school 1 flags 2/20, school 2 2/10
    exp_a = (16 * 0.1 + 2 * 0.2) / 18
    exp_b = (4 * 0.1 + 8 * 0.2) / 12
    assert s["between_ratio"] == pytest.approx(exp_b / exp_a)
    assert s["within_ratio"] == pytest.approx((rate_b / exp_b) / (rate_a / exp_a))
    total = a.disparities.loc[("g", "b", "selection_rate"), "ratio"]
    assert s["between_ratio"] * s["within_ratio"] == pytest.approx(total)
    assert total == pytest.approx(rate_b / rate_a) == pytest.approx(0.5)
    assert s["between_ratio"] == pytest.approx(1.5)  # b attends the school with more places


def test_from_screening_audits_the_list_the_panel_sees(linked):
    from _linked_histories import FIT_DATES, TEST_DATE

    from riskscreen import Screener
    from riskscreen.features import build_dataset

    screener = Screener(model="scorecard", capacity=0.1, n_bootstrap=5).fit(linked, FIT_DATES)
    data = build_dataset(linked, [TEST_DATE], outcome="suspension", sensitive=True)
    screening = screener.score(data)
    y = data.y.copy()
    y.iloc[:7] = pd.NA  # seven pupils left: unknown outcome
    audit = FairnessAudit.from_screening(
        screening, y, sensitive_features=data.sensitive, n_bootstrap=20
    )
    unknown = int(y.droplevel("as_of_date").reindex(screening.frame.index).isna().sum())
    assert unknown >= 7
    assert audit.k == screening.k and audit.n == len(screening.frame) - unknown
    assert audit.n_unknown == unknown and any("unknown outcome" in n for n in audit.notes)
    assert any("as the panel sees it" in n for n in audit.notes)
    assert {"sex", "ethnicity", "ethnicity_major", "fsm"} <= set(
        audit.by_group.index.get_level_values("attribute")
    )
    # by key: the same audit with the rows shuffled
    shuffled = FairnessAudit.from_screening(
        screening,
        data.y.sample(frac=1, random_state=0).where(lambda s: ~s.index.isin(y.index[:7])),
        sensitive_features=data.sensitive.sample(frac=1, random_state=1),
        n_bootstrap=20,
    )
    cols = ["n", "recall", "selection_rate"]
    pd.testing.assert_frame_equal(audit.by_group[cols], shuffled.by_group[cols])


def test_no_pupil_key_reaches_any_output():
    from riskscreen._screening import Screening

    rng = np.random.default_rng(4)
    n = 300
    ids = pd.Index(7_310_000 + rng.choice(90_000, n, replace=False), name="pupil_id")
    frame = pd.DataFrame(
        {
            "school_id": rng.choice([101, 102, 103], n),
            "score": rng.random(n),
            "probability": rng.random(n) * 0.3,
            "flagged": False,
        },
        index=ids,
    )
    frame.loc[frame["score"].nlargest(30).index, "flagged"] = True
    screening = Screening(
        frame=frame,
        features=pd.DataFrame(index=ids),
        model_info={},
        as_of_date=pd.Timestamp("2023-06-01"),
        k=30,
        per_school=False,
        outcome="suspension",
    )
    y = pd.Series((rng.random(n) < 0.2).astype(int), index=ids)
    sens = pd.DataFrame({"sex": rng.choice(["F", "M"], n)}, index=ids)
    audit = FairnessAudit.from_screening(screening, y, sensitive_features=sens, n_bootstrap=10)
    everything = str(audit) + audit.to_markdown() + audit.to_html() + audit.headline()
    assert not any(str(i) in everything for i in ids)
    with pytest.raises(ValueError, match="shares no pupil") as err:
        FairnessAudit.from_screening(screening, y.set_axis(ids + 1), sensitive_features=sens)
    assert not any(str(i) in str(err.value) for i in ids)


def test_errors_name_the_parameter():
    y, score, flagged, sens = tiny()
    with pytest.raises(ValueError, match="'band' parameter of FairnessAudit.from_predictions"):
        FairnessAudit.from_predictions(y, score, sensitive_features=sens, k=2, band=(1.2, 0.8))
    with pytest.raises(ValueError, match="'p_adjust' parameter"):
        FairnessAudit.from_predictions(y, score, sensitive_features=sens, k=2, p_adjust="bonf")
    with pytest.raises(ValueError, match="'intersections' parameter"):
        FairnessAudit.from_predictions(
            y, score, sensitive_features=sens, k=2, intersections=[("grp", "nope")]
        )
    with pytest.raises(ValueError, match="'sensitive_features' parameter"):
        FairnessAudit.from_predictions(y, score, sensitive_features=sens.iloc[:5], k=2)
    with pytest.raises(ValueError, match="'reference' parameter .* group 'z'"):
        FairnessAudit.from_predictions(
            y, score, sensitive_features=sens, k=2, reference={"grp": "z"}
        )
    with pytest.raises(ValueError, match="capacity 'k'"):
        FairnessAudit.from_predictions(y, score, sensitive_features=sens)


def test_renders_as_text_markdown_and_a_self_contained_html_page(tmp_path):
    a = small_group_audit(search=True)
    md = a.to_markdown()
    assert "### Rates by group" in md and "| attribute |" in md
    assert "recall" in str(a) and "<table" in a._repr_html_()
    path = a.write_html(tmp_path / "audit.html")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 4
    for title in ("Rates by group", "Disparities", "Worst-off subgroups"):
        assert title in page
    # nothing fetched from a network: no script, stylesheet, image or font by URL
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert not re.search(r"(src|href)\s*=\s*['\"]?https?:", page)
    assert "url(http" not in page and "@import" not in page
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically
