"""Fixtures of the intervention tests: one small screened authority, shared per session."""

from __future__ import annotations

import pytest
from _semisynthetic import make_design
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The nuisance models are small: BLAS threads only contend with the other test worker."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session")
def design():
    """Seed 0 of the semi-synthetic design (see _semisynthetic), with help cutting
    suspensions' hazard to 0.3 while active."""
    return make_design(0)


@pytest.fixture(scope="session")
def screening(design):
    """The list of the seed-0 authority at 2021-01-04 (capacity 10%)."""
    return design.screening
