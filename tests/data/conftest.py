"""Fixtures for the data-model tests (the histories are described in _data_histories)."""

from __future__ import annotations

import pytest
from _data_histories import make_histories

from riskscreen.data import LinkedHistories


@pytest.fixture
def histories() -> LinkedHistories:
    """A fresh, valid small LinkedHistories (safe to modify)."""
    return make_histories()


@pytest.fixture(scope="session")
def histories_factory():
    """The builder itself, for tests (e.g. hypothesis) that need many fresh copies."""
    return make_histories
