"""A small synthetic authority, the example config and a screener fitted through the CLI."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from riskscreen.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "monthly_run.toml"
KEY = "the authority's signing key (tests only)"
#: Two monthly panels after the fit dates of the example config (data end in August 2024).
D1, D2 = "2024-01-08", "2024-02-05"
#: A date whose 12-month label window has closed: for audit and card.
KNOWN = "2023-06-01"
NO_KEY = object()

runner = CliRunner()


def invoke(*args, key=KEY):
    """Run the CLI in-process; the signing key in the environment (or unset with NO_KEY)."""
    env = {"RISKSCREEN_SIGNING_KEY": None if key is NO_KEY else key}
    return runner.invoke(app, [str(a) for a in args], env=env)


def one_error_line(result) -> str:
    """The one 'Error: ...' message of a failed command, exit code 1 and no traceback.

    The message is one line, or (a list of problems) one line and the problems under it.
    """
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    return "\n".join(lines[errors[0] :])


@dataclass
class Workspace:
    """The folder of the example config: synthetic_la/, mlruns/, riskscreen_output/."""

    base: Path
    config: Path
    data: Path
    output: Path
    model_uri: str
    sha256: str
    outputs: list = field(default_factory=list)


def make_workspace(base: Path) -> Workspace:
    """`riskscreen synth` then `riskscreen fit --config` with the example config."""
    config = base / "monthly_run.toml"
    shutil.copy(EXAMPLE, config)
    data = base / "synthetic_la"
    synth = invoke("synth", "--pupils", 1500, "--years", 5, "--seed", 1, "--out", data)
    assert synth.exit_code == 0, synth.output
    fit = invoke("fit", "--config", config)
    assert fit.exit_code == 0, fit.output
    output = base / "riskscreen_output"
    record = json.loads((output / "model.json").read_text())
    assert fit.stdout.startswith(f"Model: {record['model_uri']}")
    return Workspace(
        base=base,
        config=config,
        data=data,
        output=output,
        model_uri=record["model_uri"],
        sha256=record["sha256"],
        outputs=[synth.output, fit.output],
    )


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def with_line(config: Path, old: str, new: str, target: Path) -> Path:
    """A copy of ``config`` with one line changed (the line must be there)."""
    text = config.read_text()
    assert re.search(rf"^{re.escape(old)}", text, flags=re.M), old
    return write_config(target, re.sub(rf"^{re.escape(old)}", new, text, count=1, flags=re.M))
