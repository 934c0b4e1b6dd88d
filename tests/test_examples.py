"""Every example in examples/ runs end to end (on a small synthetic authority)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("[0-9][0-9]_*.py"))


def test_examples_are_numbered_by_task():
    assert [p.name[:2] for p in EXAMPLES] == [f"{i:02d}" for i in range(1, len(EXAMPLES) + 1)]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(example, tmp_path):
    env = {**os.environ, "RISKSCREEN_EXAMPLE_PUPILS": "3000", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "an example should show its results"
