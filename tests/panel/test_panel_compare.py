"""Comparing the lists of two screenings, and of every consecutive pair of several."""

from __future__ import annotations

import pytest
from _panel_cases import tiny_screening

from riskscreen.panel import ListComparison, compare_lists, list_stability


def test_overlap_jaccard_entries_and_exits_with_why():
    # top 3 before: 1, 2, 3. After: 1 (same), 4 (new to the cohort), 5 (risk rose);
    # 2 left the cohort, 3's risk fell, and 6 stays off the list.
    before = tiny_screening("2023-01-01", {1: 9, 2: 8, 3: 7, 5: 1, 6: 2}, capacity=3)
    after = tiny_screening("2023-06-01", {1: 9, 3: 2, 4: 8, 5: 7, 6: 3}, capacity=3)
    c = compare_lists(before, after)
    assert isinstance(c, ListComparison)
    row = c.table.iloc[0]
    assert (row["k_before"], row["k_after"], row["overlap"]) == (3, 3, 1)
    assert row["jaccard"] == pytest.approx(1 / 5)
    assert dict(zip(c.entries["pupil_id"], c.entries["why"], strict=True)) == {
        4: "new to the cohort",
        5: "risk rose",
    }
    assert dict(zip(c.exits["pupil_id"], c.exits["why"], strict=True)) == {
        2: "left the cohort",
        3: "risk fell",
    }
    # pupils 1, 3, 5, 6 were screened both times; 1 and 5 rose, 3 fell
    assert -1 <= row["rank_correlation"] <= 1


def test_below_capacity_when_others_rise():
    before = tiny_screening("2023-01-01", {1: 9, 2: 8, 3: 1}, capacity=2)
    after = tiny_screening("2023-06-01", {1: 9, 2: 8, 3: 9.5}, capacity=2)
    c = compare_lists(before, after)
    assert c.exits["why"].tolist() == ["below capacity"]
    assert c.entries["why"].tolist() == ["risk rose"]


def test_counts_under_five_are_held_back_in_what_a_person_reads():
    before = tiny_screening("2023-01-01", {1: 9, 2: 8, 3: 7}, capacity=2)
    after = tiny_screening("2023-06-01", {1: 9, 2: 1, 3: 8}, capacity=2)
    c = compare_lists(before, after)
    md = c.to_markdown()
    assert "| c |" in md and "(c pupils on both)" in md
    assert c.to_html().startswith("<div>") and repr(c).startswith("<ListComparison")
    assert c.to_frame()["overlap"].iloc[0] == 1  # the analyst's table keeps the number


def test_every_consecutive_pair_is_compared_not_only_the_first():
    dates = ["2022-01-01", "2022-06-01", "2023-01-01", "2023-06-01"]
    screenings = [
        tiny_screening(d, {i: (i * (k + 3)) % 11 for i in range(1, 30)}, capacity=5)
        for k, d in enumerate(dates)
    ]
    table = list_stability(screenings)
    assert table["before"].tolist() == dates[:-1]
    assert table["after"].tolist() == dates[1:]
    assert table["k_after"].tolist() == [5, 5, 5]
    assert table["jaccard"].notna().all()
    with pytest.raises(ValueError, match="at least two"):
        list_stability(screenings[:1])


def test_a_list_length_instead_of_the_flags():
    before = tiny_screening("2023-01-01", {i: i for i in range(1, 21)}, capacity=2)
    after = tiny_screening("2023-06-01", {i: 21 - i for i in range(1, 21)}, capacity=2)
    c = compare_lists(before, after, k=0.5)
    assert c.table.loc[0, "k_before"] == 10 and c.table.loc[0, "overlap"] == 0
    assert c.table.loc[0, "rank_correlation"] == pytest.approx(-1.0)
