import numpy as np
import pandas as pd
import pytest

from riskscreen.evaluation import SMALL_COUNT, suppress_parts, suppress_small_counts
from riskscreen.evaluation._disclosure import recoverable


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([120, 3, 40], [False, True, True]),  # a lone small count takes the next smallest
        ([120, 3, 4], [False, True, True]),  # two small counts protect each other
        ([0, 7, 8], [False, False, False]),  # a zero reveals no one
        ([2, 0, 0], [True, False, False]),  # nothing else to hide: the total shows it anyway
        ([5, 6, 7], [False, False, False]),  # the threshold itself is shown
    ],
)
def test_primary_and_secondary_suppression(counts, expected):
    assert suppress_small_counts(counts).tolist() == expected


def test_order_and_missing_values():
    counts = pd.array([40, pd.NA, 3, 120], dtype="Int64")
    assert suppress_small_counts(counts).tolist() == [True, False, True, False]
    perm = [3, 0, 2, 1]
    got = suppress_small_counts(np.asarray(counts, dtype=object)[perm].tolist())
    assert got.tolist() == [False, True, True, False]


def test_threshold_is_the_dfe_default_and_configurable():
    assert SMALL_COUNT == 5
    assert suppress_small_counts([9, 12, 30], threshold=10).tolist() == [True, True, False]
    with pytest.raises(ValueError, match="'threshold' parameter of suppress_small_counts"):
        suppress_small_counts([1, 2], threshold=0)


def test_suppress_table_hides_small_counts_per_block_and_withholds_revealing_rates():
    from riskscreen.evaluation import suppress_table

    t = pd.DataFrame(
        {
            "attribute": ["sex", "sex", "sex", "fsm", "fsm"],
            "n": [500, 480, 3, 700, 283],
            "n_outcome": [50, 40, 1, 60, 31],
        }
    )
    t["rate"] = t["n_outcome"] / t["n"]
    t["rate_low"] = t["rate"] - 0.01
    out = suppress_table(t, ["n", "n_outcome"], by="attribute", rates={"rate": ["n", "n_outcome"]})
    # within 'sex' the 3 and the next smallest (480) are hidden; 'fsm' untouched
    assert out["n"].isna().tolist() == [False, True, True, False, False]
    assert out["n_outcome"].isna().tolist() == [False, True, True, False, False]
    # a rate whose count is small is withheld; a secondarily hidden count keeps its rate
    assert out["rate"].isna().tolist() == [False, False, True, False, False]
    assert out["rate_low"].notna().all()  # intervals stay
    assert out["suppressed"].tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError, match="'threshold' parameter of suppress_table"):
        suppress_table(t, ["n"], threshold=0)


def test_suppress_table_drops_helper_columns_and_reads_fractional_counts():
    from riskscreen.evaluation import suppress_table

    t = pd.DataFrame({"n": [100.0, 50.0], "_hits": [2.5, 20.0], "rate": [0.025, 0.4]})
    out = suppress_table(t, ["n"], rates={"rate": ["_hits"]}, hidden=["_hits"])
    assert "_hits" not in out and np.isnan(out.loc[0, "rate"]) and out.loc[1, "rate"] == 0.4


def test_counts_in_sentences_never_show_a_small_number():
    from riskscreen.evaluation import compare_scores
    from riskscreen.evaluation._disclosure import count_text

    assert count_text(3) == "fewer than 5" and count_text(0) == "0" and count_text(5) == "5"
    y = np.r_[np.ones(3), np.zeros(197)]
    c = compare_scores(y, {"m": np.arange(200.0), "r": -np.arange(200.0)}, k=10, n_bootstrap=5)
    assert "fewer than 5 with the outcome" in str(c) and " 3 with the outcome" not in str(c)
    assert "Only fewer than 5 pupils" in str(c)


@pytest.mark.parametrize(
    ("row", "hidden"),
    [
        ((100, 3, 90, 7, 0), (False, True, False, True, False)),  # 3 + 7: 100 - 90 - 0
        ((100, 3, 60, 37, 0), (False, True, False, True, False)),  # the smallest other goes
        ((100, 0, 95, 5, 0), (False, False, False, False, False)),  # nothing small
        ((4, 1, 3, 0, 0), (True, True, True, False, False)),  # a small cohort is hidden
        ((100, 2, 4, 94, 0), (False, True, True, False, False)),  # two small protect each other
    ],
)
def test_suppress_parts_hides_so_no_part_is_the_total_less_the_others(row, hidden):
    cols = ["n", "a", "b", "c", "d"]
    table = pd.DataFrame([row], columns=cols)
    table["rate"] = table["a"] / (table["a"] + table["b"])
    out = suppress_parts(table, "n", cols[1:], rates={"rate": ["a", "b"]})
    assert out[cols].isna().iloc[0].tolist() == list(hidden)
    assert bool(out["suppressed"].iloc[0]) == any(hidden)
    assert pd.isna(out["rate"].iloc[0]) == (hidden[1] or hidden[2])
    shown = out[cols].iloc[0]
    assert all(pd.isna(v) or v == 0 or v >= SMALL_COUNT for v in shown)
    # adding and subtracting the shown figures never gives a hidden one
    weights = np.array([[1, 1, 1, 1], *np.eye(4)])
    published = weights[[not h for h in hidden]]
    for i in np.flatnonzero(hidden):
        if i > 0:  # a part, not a small total shown nowhere
            assert not recoverable(weights[i], published)


def test_suppress_parts_counts_sums_published_elsewhere():
    table = pd.DataFrame({"n": [100], "a": [3], "b": [60], "c": [37], "d": [0]})
    alone = suppress_parts(table, "n", ["a", "b", "c", "d"])
    assert alone[["a", "b", "c", "d"]].isna().iloc[0].tolist() == [True, False, True, False]
    # an evaluation shows a + b: hiding c no longer protects a, hiding b does
    out = suppress_parts(table, "n", ["a", "b", "c", "d"], shown_elsewhere=[("a", "b")])
    assert out[["a", "b", "c", "d"]].isna().iloc[0].tolist() == [True, True, False, False]
    published = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    assert not recoverable([1, 0, 0, 0], published)
    assert recoverable([1, 0, 0, 0], np.vstack([published, [0, 1, 0, 0]]))


def test_suppress_parts_keeps_missing_cells_and_the_index():
    table = pd.DataFrame(
        {"n": [50, 60], "a": [2.0, np.nan], "b": [48.0, 60.0]},
        index=pd.Index(["x", "y"], name="unit"),
    )
    out = suppress_parts(table, "n", ["a", "b"])
    assert out.index.equals(table.index)
    assert out["a"].isna().tolist() == [True, True] and out["b"].isna().tolist() == [True, False]
    assert str(out["n"].dtype) == "Int64" and out["n"].tolist() == [50, 60]
    assert out["suppressed"].tolist() == [True, False]
