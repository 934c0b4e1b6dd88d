"""The command line: every command has --help with an example, and --version works."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskscreen import __version__
from riskscreen.cli import app

runner = CliRunner()
COMMANDS = [
    "synth",
    "validate",
    "demo",
    "features",
    "fit",
    "score",
    "audit",
    "explain",
    "panel",
    "card",
    "compare",
    "decisions",
    "run",
]


def test_version_prints_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"riskscreen {__version__}"


def test_root_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert f"riskscreen {command}" in result.stdout


def test_help_shows_the_config_sections_it_names():
    # rich markup would swallow "[tracking]" and the like unless escaped
    result = runner.invoke(app, ["fit", "--help"])
    assert "Screener(**[screener]).fit(histories, [fit] as_of_dates)" in result.stdout
    assert "[tracking]" in result.stdout


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


def test_demo_passes_its_options_to_run_demo(tmp_path, monkeypatch):
    # the demo itself runs in tests/integration/test_demo.py; here, what the command does
    import riskscreen.demo

    calls = []
    monkeypatch.setattr(riskscreen.demo, "run_demo", lambda **kw: calls.append(kw))
    out = tmp_path / "d"
    result = runner.invoke(app, ["demo", "--out", str(out), "--pupils", "800", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert calls == [{"out": out, "n_pupils": 800, "seed": 4}]

    def refuse(**kw):
        raise ValueError("The 'n_pupils' parameter of run_demo is too small. Got 800.")

    monkeypatch.setattr(riskscreen.demo, "run_demo", refuse)
    result = runner.invoke(app, ["demo", "--out", str(out), "--pupils", "800"])
    assert result.exit_code == 1
    assert result.output == "Error: The 'n_pupils' parameter of run_demo is too small. Got 800.\n"


def test_an_unexpected_error_is_one_line_naming_it_as_a_bug(tmp_path, monkeypatch):
    import riskscreen.datasets

    def broken(**kw):
        raise RuntimeError("the engine failed\nwith a long story below")

    monkeypatch.setattr(riskscreen.datasets, "make_linked_histories", broken)
    args = ["synth", "--pupils", "300", "--out", str(tmp_path / "x")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (
        "Error: unexpected RuntimeError: the engine failed (a bug in riskscreen or a library "
        "it uses; run again with --debug for the traceback and report it).\n"
    )
    result = runner.invoke(app, ["--debug", *args])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "f").write_text("x")
    result = runner.invoke(app, ["--debug", "demo", "--out", str(tmp_path / "f")])
    assert result.exit_code == 1 and isinstance(result.exception, FileExistsError)


def test_debug_shows_the_traceback_of_the_monthly_commands_too(tmp_path):
    args = ["compare", "--out", str(tmp_path), "2024-01-08", "2024-02-05"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and result.output.startswith("Error: no list of 2024-01-08")
    result = runner.invoke(app, ["--debug", *args])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
