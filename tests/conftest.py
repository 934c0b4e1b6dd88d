"""Fixtures shared by every test folder (the histories are described in _linked_histories)."""

from __future__ import annotations

import pytest
from _linked_histories import risky_histories

from riskscreen.data import LinkedHistories


@pytest.fixture(scope="session")
def linked() -> LinkedHistories:
    """The hand-built authority of :func:`risky_histories` (read-only: do not modify)."""
    return risky_histories()
