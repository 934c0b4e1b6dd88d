import numpy as np
import pandas as pd
import pytest

from riskscreen.evaluation import SMALL_COUNT, suppress_small_counts


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
