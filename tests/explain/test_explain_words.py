"""Words for windows, times and numbers, filled once per distinct sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscreen.explain._reasons import top_groups
from riskscreen.explain._words import concat_text, fill, over_phrase, window_phrase


@pytest.mark.parametrize(
    ("window", "words"),
    [
        ("28D", "in the last 4 weeks"),
        ("13W", "in the last 13 weeks"),
        ("1W", "in the last week"),
        ("10D", "in the last 10 days"),
        ("1Y", "in the last 12 months"),
        ("2Y", "in the last 2 years"),
        ("6M", "in the last 6 months"),
        ("all", "on record"),
    ],
)
def test_window_phrases(window, words):
    assert window_phrase(window) == words


def test_over_phrases():
    assert over_phrase("13W") == "over the last 13 weeks"
    assert over_phrase("all") == "over all records"


def test_numbers_plurals_and_times_ago():
    got = fill("{n} suspension{s} {window}", np.array([0, 1, 2, 2.5, 1234]), window="1Y")
    assert list(got.astype(str)) == [
        "no suspensions in the last 12 months",
        "1 suspension in the last 12 months",
        "2 suspensions in the last 12 months",
        "2.5 suspensions in the last 12 months",
        "1,234 suspensions in the last 12 months",
    ]
    days = np.array([1, 5, 13, 14, 20, 60, 61, 400, 729, 730, 2000])
    assert list(fill("{ago}", days).astype(str)) == [
        "1 day ago",
        "5 days ago",
        "13 days ago",
        "2 weeks ago",
        "2 weeks ago",
        "8 weeks ago",
        "2 months ago",
        "13 months ago",
        "24 months ago",
        "2 years ago",
        "5 years ago",
    ]


def test_shares_changes_and_months():
    shares = fill("{pct}", np.array([0.0, 0.004, 0.81, 0.996, 1.0]))
    assert list(shares.astype(str)) == ["0%", "under 1%", "81%", "over 99%", "100%"]
    changes = fill("{change}", np.array([-0.14, 0.01, 0.0, 0.2]))
    assert list(changes.astype(str)) == [
        "down 14 points",
        "up 1 point",
        "unchanged",
        "up 20 points",
    ]
    months = np.array([2025 * 12 + 2, -1.0])  # March 2025, unknown
    got = fill("on a plan{since}", np.zeros(2), since_month=months)
    assert list(got.astype(str)) == ["on a plan since March 2025", "on a plan"]


def test_each_distinct_sentence_once():
    got = fill("{ago}", np.array([15.0, 16.0, 15.0, 400.0]))  # 15 and 16 days: "2 weeks ago"
    assert list(got.categories) == ["13 months ago", "2 weeks ago"]
    both = concat_text(got, pd.Categorical([" (raises risk)"] * 4))
    assert list(both.astype(str))[0] == "2 weeks ago (raises risk)"
    assert len(both.categories) == 2


def test_top_groups_largest_first_ties_to_the_first_group():
    rng = np.random.default_rng(0)
    values = np.round(rng.normal(size=(500, 7)), 1)  # many ties
    row, group = top_groups(values, 3)
    expected = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :3]
    assert np.array_equal(group.reshape(500, 3), expected)
    assert np.array_equal(row, np.repeat(np.arange(500), 3))
