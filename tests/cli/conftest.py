"""Fixtures of the command-line tests: the example config fitted once per session."""

from __future__ import annotations

import pytest
from _cli_cases import Workspace, make_workspace


@pytest.fixture(scope="session")
def fitted(tmp_path_factory) -> Workspace:
    """synth (1,500 pupils) and fit --config with examples/monthly_run.toml, via the CLI.

    Read-only for the tests: commands that write pass ``--out`` a folder of their own,
    except the end-to-end test, which owns the config's output folder.
    """
    return make_workspace(tmp_path_factory.mktemp("monthly"))
