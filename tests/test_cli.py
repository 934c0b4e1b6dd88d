"""The command line: every command has --help with an example, and --version works."""

from __future__ import annotations

from pathlib import Path

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
    for command in ("synth", "validate", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["synth", "validate", "demo"])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"riskscreen {command}" in result.stdout


def test_synth_rejects_nonpositive_pupils(tmp_path):
    result = runner.invoke(app, ["synth", "--pupils", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert not (tmp_path / "x").exists()


def test_synth_turns_library_errors_into_a_clean_message(tmp_path):
    result = runner.invoke(app, ["synth", "--pupils", "3", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "n_pupils" in result.output
    assert not (tmp_path / "x").exists()


def test_synth_writes_a_folder_that_loads_and_validates(tmp_path):
    from riskscreen.data import LinkedHistories

    out = tmp_path / "la"
    result = runner.invoke(
        app, ["synth", "--pupils", "600", "--years", "2", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    loaded = LinkedHistories.load(out)
    loaded.validate()
    assert loaded.exclusions.shape[0] > 0
    assert f"Wrote {out}" in result.output


def test_validate_reports_every_problem_in_a_saved_folder(tmp_path):
    from riskscreen.datasets import make_linked_histories

    histories = make_linked_histories(n_pupils=300, n_years=1, seed=2)
    good = histories.save(tmp_path / "good")
    result = runner.invoke(app, ["validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output

    histories.exclusions.loc[histories.exclusions.index[:2], "kind"] = "detention"
    histories.sen.loc[histories.sen.index[:1], "provision"] = "S"
    bad = histories.save(tmp_path / "bad")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "exclusions.kind" in result.output
    assert "sen.provision" in result.output


def test_validate_names_a_missing_folder(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "nowhere" in result.output


@pytest.mark.parametrize("case", ["a-file", "a-foreign-folder", "unwritable"])
def test_bad_output_paths_give_one_clear_line_not_a_traceback(tmp_path, case):
    if case == "a-file":
        out = tmp_path / "x.txt"
        out.write_text("keep me")
    elif case == "a-foreign-folder":
        out = tmp_path / "mine"
        out.mkdir()
        (out / "thesis.docx").write_text("keep me")
    else:
        out = Path("/proc/riskscreen-cannot-write-here")
    result = runner.invoke(app, ["synth", "--pupils", "300", "--years", "1", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    if case != "unwritable":
        assert "keep me" in (
            out.read_text() if out.is_file() else (out / "thesis.docx").read_text()
        )


def test_demo_refuses_nonsense_before_any_work(tmp_path):
    result = runner.invoke(app, ["demo", "--seed", "-1", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2 and "greater than or equal to 0" in result.output
    (tmp_path / "f").write_text("x")
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "f")])
    assert result.exit_code == 1 and "is a file" in result.output
    assert not (tmp_path / "d").exists()


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "f").write_text("x")
    result = runner.invoke(app, ["--debug", "demo", "--out", str(tmp_path / "f")])
    assert result.exit_code == 1 and isinstance(result.exception, FileExistsError)
