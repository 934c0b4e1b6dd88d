"""The notebooks in examples/ run end to end (on a small synthetic authority) and stay paired.

Each notebook is a percent-format script (``# %%`` cells) paired by jupytext with
an ``.ipynb`` of the same name: the script is run here, the notebook must hold
the same cells, without outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

import riskscreen

FOLDER = Path(__file__).parent.parent / "examples"
EXAMPLES = sorted(FOLDER.glob("[0-9][0-9]_*.py"))
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
OWN_CODE = (str(Path(riskscreen.__file__).parent) + os.sep, str(FOLDER) + os.sep)


def cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_examples_are_numbered_by_task():
    assert [p.name[:2] for p in EXAMPLES] == [f"{i:02d}" for i in range(1, len(EXAMPLES) + 1)]
    assert len(EXAMPLES) == 6


def test_every_script_has_its_notebook_and_every_notebook_its_script():
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_notebook_is_in_sync_with_its_script(example):
    script = jupytext.read(example)
    notebook = jupytext.read(example.with_suffix(".ipynb"))
    assert cells(notebook) == cells(script), (
        f"{example.with_suffix('.ipynb').name} differs from {example.name}: regenerate it "
        f"with `jupytext --sync examples/{example.name}`"
    )
    assert script.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code), (
        "commit the notebooks without outputs"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_notebook_opens_with_an_introduction_and_takes_its_size_from_the_environment(example):
    notebook = jupytext.read(example)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# {int(example.name[:2])}. ")
    words = " ".join(first.source.split())
    assert "**For**" in words and "**At the end you will have**" in words
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert len(markdown) >= 5, "explain each result in words between the code cells"
    assert 'os.environ.get("RISKSCREEN_EXAMPLE_PUPILS"' in example.read_text()


def test_readme_lists_every_notebook():
    readme = (FOLDER / "README.md").read_text()
    for example in EXAMPLES:
        assert f"`{example.name}`" in readme or f"({example.name})" in readme, example.name
    assert "jupytext" in readme


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(example, tmp_path):
    env = {
        **os.environ,
        "RISKSCREEN_EXAMPLE_PUPILS": "3000",
        "MPLBACKEND": "Agg",
        "TMPDIR": str(tmp_path),  # the folders the notebooks write go here
    }
    before = sorted(FOLDER.rglob("*"))
    result = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    own_warnings = [
        line
        for line in result.stderr.splitlines()
        if "Warning: " in line and line.startswith(OWN_CODE)
    ]
    assert not own_warnings, "warnings from riskscreen or the notebook itself:\n" + "\n".join(
        own_warnings
    )
    assert result.stdout.strip(), "an example should show its results"
    assert sorted(FOLDER.rglob("*")) == before, "examples write to a temporary folder only"
