"""Shared synthetic data for the datasets tests (built once per test session)."""

from __future__ import annotations

import pytest

from riskscreen.datasets import make_linked_histories


@pytest.fixture(scope="session")
def histories_20k():
    """The calibration run: 20,000 pupils, five years, seed 1 (about 10 s)."""
    return make_linked_histories(n_pupils=20_000, seed=1)


@pytest.fixture(scope="session")
def small_with_truth():
    """A small authority with its truth: 2,400 pupils over two years."""
    return make_linked_histories(n_pupils=2_400, n_years=2, seed=3, return_truth=True)
