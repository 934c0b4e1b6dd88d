"""The command line: every command has --help with an example, and --version works."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from riskscreen import __version__
from riskscreen.cli import app

runner = CliRunner()


def test_version_prints_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"riskscreen {__version__}"


def test_root_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["synth", "demo"])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"riskscreen {command}" in result.stdout


def test_synth_rejects_nonpositive_pupils(tmp_path):
    result = runner.invoke(app, ["synth", "--pupils", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert not (tmp_path / "x").exists()
